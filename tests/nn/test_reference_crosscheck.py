"""lstm_course.nn against the NumPy reference (lstm_course.reference): same weights, same numbers, float64.

The reference is the oracle here: forward outputs, final states and every gradient of its hand-written BPTT
must equal autograd through our modules (plain and fast paths).
"""

import numpy as np
import pytest
import torch

import lstm_course.nn as our
from lstm_course import reference as ref

T, B, D, H = 5, 3, 4, 6
CELLS = {"rnn": our.RNN, "lstm": our.LSTM, "gru": our.GRU}


@pytest.mark.parametrize("fast", [False, True], ids=["plain", "fast"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_multilayer_matches_reference(cell, bidirectional, fast, rng):
    L, K = 2, 2 if bidirectional else 1
    module = CELLS[cell](D, H, L, bidirectional=bidirectional, dtype=torch.float64, fast=fast)
    params = ref.params_from_state_dict(module.state_dict())
    x = rng.standard_normal((T, B, D))
    h0 = rng.standard_normal((L * K, B, H))
    c0 = rng.standard_normal((L * K, B, H)) if cell == "lstm" else None
    dout = rng.standard_normal((T, B, K * H))
    dh_n = rng.standard_normal((L * K, B, H))

    out_np, state_np, cache = ref.multilayer_forward(
        cell, x, params, num_layers=L, bidirectional=bidirectional, h0=h0, c0=c0
    )
    dc_n = rng.standard_normal((L * K, B, H)) if cell == "lstm" else None
    dx_np, grads_np, dstate_np = ref.multilayer_backward(dout, cache, dh_n, dc_n)

    xt = torch.tensor(x, requires_grad=True)
    states = [torch.tensor(h0, requires_grad=True)] + (
        [torch.tensor(c0, requires_grad=True)] if c0 is not None else []
    )
    out, state = module(xt, tuple(states) if cell == "lstm" else states[0])
    finals = state if cell == "lstm" else (state,)
    loss = (out * torch.tensor(dout)).sum() + (finals[0] * torch.tensor(dh_n)).sum()
    if cell == "lstm":
        loss = loss + (finals[1] * torch.tensor(dc_n)).sum()
    loss.backward()

    np.testing.assert_allclose(out.detach().numpy(), out_np, rtol=0, atol=1e-9)
    for a, b in zip(finals, state_np if cell == "lstm" else (state_np,), strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b, rtol=0, atol=1e-9)
    np.testing.assert_allclose(xt.grad.numpy(), dx_np, rtol=0, atol=1e-9)
    for s, d in zip(states, dstate_np if cell == "lstm" else (dstate_np,), strict=True):
        np.testing.assert_allclose(s.grad.numpy(), d, rtol=0, atol=1e-9)
    grads = {name: p.grad.numpy() for name, p in module.named_parameters()}
    assert set(grads) == set(grads_np)
    for name, g in grads.items():
        np.testing.assert_allclose(g, grads_np[name], rtol=0, atol=1e-9, err_msg=name)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_reference_params_load_into_our_modules(cell, rng):
    """A NumPy init_params dict loads into our single-layer module (suffix _l0) and runs identically."""
    params = ref.init_params(cell, D, H, rng)
    module = CELLS[cell](D, H, dtype=torch.float64)
    module.load_state_dict({f"{k}_l0": torch.from_numpy(v) for k, v in params.items()})
    x = rng.standard_normal((T, B, D))
    forward = {"rnn": ref.rnn_forward, "lstm": ref.lstm_forward, "gru": ref.gru_forward}[cell]
    out_np = forward(x, params)[0]
    out, _ = module(torch.from_numpy(x))
    np.testing.assert_allclose(out.detach().numpy(), out_np, rtol=0, atol=1e-12)
    back = ref.params_from_state_dict(module.state_dict(), cell=cell)
    np.testing.assert_array_equal(back["weight_ih_l0"], params["weight_ih"])
