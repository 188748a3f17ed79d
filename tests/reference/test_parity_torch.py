"""Parity with torch.nn.RNN / LSTM / GRU in float64: outputs, final states and every gradient.

Weights are copied with the reference's own conversion helpers, in both directions.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from lstm_course import reference as ref

torch = pytest.importorskip("torch")

MODULES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}
SHAPES = [(1, 1, 1, 1), (1, 3, 2, 5), (4, 1, 3, 1), (5, 3, 4, 6), (7, 2, 1, 3)]  # (T, B, D, H)
TOL = 1e-9


def _rel(a, b) -> float:
    return ref.relative_error(a, b.detach().numpy() if hasattr(b, "detach") else b)


def _torch_run(cell, module, x, states, dout, dstates):
    """torch's outputs and the gradients of sum(dout * out) + sum(dstates * final states)."""
    tx = torch.from_numpy(x).requires_grad_()
    tstates = [torch.from_numpy(s).requires_grad_() for s in states]
    out, final = module(tx, tuple(tstates) if cell == "lstm" else tstates[0])
    final = list(final) if cell == "lstm" else [final]
    loss = (out * torch.from_numpy(dout)).sum()
    loss = loss + sum((f * torch.from_numpy(d)).sum() for f, d in zip(final, dstates, strict=True))
    loss.backward()
    return out, final, tx.grad, [s.grad for s in tstates]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "T{}B{}D{}H{}".format(*s))
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("cell", list(MODULES))
def test_multilayer_matches_torch(cell, num_layers, bidirectional, shape):
    T, B, D, H = shape
    rng = np.random.default_rng(zlib.crc32(repr((cell, num_layers, bidirectional, shape)).encode()))
    torch.manual_seed(int(rng.integers(2**31)))
    module = getattr(torch.nn, MODULES[cell])(
        D, H, num_layers=num_layers, bidirectional=bidirectional
    ).double()
    params = ref.params_from_state_dict(module.state_dict())
    K = 2 if bidirectional else 1
    x = rng.normal(size=(T, B, D))
    states = [rng.normal(size=(num_layers * K, B, H)) for _ in range(2 if cell == "lstm" else 1)]
    dout = rng.normal(size=(T, B, K * H))
    dstates = [rng.normal(size=s.shape) for s in states]

    kwargs = {"h0": states[0], "c0": states[1]} if cell == "lstm" else {"h0": states[0]}
    out, final, cache = ref.multilayer_forward(
        cell, x, params, num_layers=num_layers, bidirectional=bidirectional, **kwargs
    )
    dx, grads, dinit = ref.multilayer_backward(dout, cache, *dstates)
    final = list(final) if cell == "lstm" else [final]
    dinit = list(dinit) if cell == "lstm" else [dinit]

    t_out, t_final, t_dx, t_dinit = _torch_run(cell, module, x, states, dout, dstates)
    assert _rel(out, t_out) < TOL
    for ours, theirs in zip(final, t_final, strict=True):
        assert _rel(ours, theirs) < TOL
    assert _rel(dx, t_dx) < TOL
    for ours, theirs in zip(dinit, t_dinit, strict=True):
        assert _rel(ours, theirs) < TOL
    torch_params = dict(module.named_parameters())
    assert set(grads) == set(torch_params)
    for key, param in torch_params.items():
        assert _rel(grads[key], param.grad) < TOL, key


@pytest.mark.parametrize("cell", list(MODULES))
def test_single_layer_functions_match_torch(cell, rng, api):
    T, B, D, H = 6, 3, 4, 5
    module = getattr(torch.nn, MODULES[cell])(D, H).double()
    params = ref.layer_params(ref.params_from_state_dict(module.state_dict()), 0)
    x = rng.normal(size=(T, B, D))
    states = [rng.normal(size=(B, H)) for _ in range(api.n_states(cell))]
    dout = rng.normal(size=(T, B, H))
    dstates = [rng.normal(size=(B, H)) for _ in states]
    out, final, cache = api.seq_forward(cell, x, params, states)
    dx, grads, dinit = api.seq_backward(cell, dout, cache, dstates)
    t_out, t_final, t_dx, t_dinit = _torch_run(
        cell, module, x, [s[None] for s in states], dout, [d[None] for d in dstates]
    )
    assert _rel(out, t_out) < TOL and _rel(dx, t_dx) < TOL
    for ours, theirs in zip(final, t_final, strict=True):
        assert _rel(ours, theirs[0]) < TOL
    for ours, theirs in zip(dinit, t_dinit, strict=True):
        assert _rel(ours, theirs[0]) < TOL
    for key, param in module.named_parameters():
        assert _rel(grads[key.removesuffix("_l0")], param.grad) < TOL, key


@pytest.mark.parametrize("cell", list(MODULES))
def test_reference_weights_load_into_torch(cell, rng):
    """The other direction: init in NumPy, state_dict_from_params, load into torch.nn, same outputs."""
    params = ref.init_multilayer_params(cell, 3, 4, rng, num_layers=2, bidirectional=True)
    state = {key: torch.from_numpy(value) for key, value in ref.state_dict_from_params(params).items()}
    module = getattr(torch.nn, MODULES[cell])(3, 4, num_layers=2, bidirectional=True).double()
    module.load_state_dict(state)  # strict: every key and shape must match
    x = rng.normal(size=(5, 2, 3))
    out, _, _ = ref.multilayer_forward(cell, x, params, num_layers=2, bidirectional=True)
    t_out, _ = module(torch.from_numpy(x))
    assert _rel(out, t_out) < TOL
