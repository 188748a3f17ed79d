"""Fuzz the NumPy reference: every registered cell, activations, layers, converters and optimisers.

Each test draws shapes (0 and 1 included), dtypes, layouts and values (tiny to 1e30, NaN, inf) and asserts
the contract of ``fuzz_contract``; where the answer is defined it is compared with another implementation.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from fuzz_contract import arrays, is_finite, obeys_contract
from hypothesis import given
from hypothesis import strategies as st

from lstm_course import reference as ref
from lstm_course.nn.cells import MODES
from lstm_course.reference import cells

CELLS = tuple(cells.CELLS)  # a new cell is fuzzed as soon as it is registered
TORCH_MODE = {spec.spec.name: mode for mode, spec in reversed(MODES.items())}  # "rnn" -> "RNN_TANH"
sizes = st.integers(0, 3)
features = st.integers(1, 3)


@st.composite
def cell_case(draw, cell: str):
    """x (T, B, D), the initial states and params of ``cell``, any of them possibly bad."""
    T, B, D, H = draw(sizes), draw(sizes), draw(features), draw(features)
    gates = cells.lookup(cell).spec.num_gates
    x = draw(arrays((T, B, D)))
    states = tuple(draw(st.none() | arrays((B, H))) for _ in cells.lookup(cell).spec.states)
    params = {
        "weight_ih": draw(arrays((gates * H, D), poison=True)),
        "weight_hh": draw(arrays((gates * H, H))),
        "bias_ih": draw(arrays((gates * H,))),
        "bias_hh": draw(arrays((gates * H,))),
    }
    mutation = draw(st.sampled_from(["none", "none", "extra key", "missing key", "wrong shape", "int x"]))
    if mutation == "extra key":
        params["weight_xx"] = np.zeros(1)
    elif mutation == "missing key":
        del params["bias_hh"]
    elif mutation == "wrong shape":
        params["weight_hh"] = params["weight_hh"][:, :-1]
    elif mutation == "int x":
        x = (np.arange(x.size).reshape(x.shape) % 5 - 2).astype(np.int64)
    return x, states, params


NAMES = [r"\bx\b", r"h0", r"c0", r"params", r"weight", r"bias", r"dout", r"d\w+_T"]


def _torch_reference(cell: str, x, params, states):
    """torch.nn's answer for the same weights (float64), via this package's torch registry step."""
    entry = MODES[TORCH_MODE[cell]]
    tensors = {k: torch.tensor(np.array(v, np.float64)) for k, v in params.items()}
    weights = tuple(tensors[k] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    H = tensors["weight_hh"].shape[1]
    state = tuple(
        torch.zeros(x.shape[1], H, dtype=torch.float64)
        if s is None
        else torch.tensor(np.array(s, np.float64))
        for s in states
    )
    outs = []
    for x_t in torch.tensor(np.array(x, np.float64)).unbind(0):
        state = entry.run_step(x_t, state, weights)
        outs.append(state[0])
    return torch.stack(outs).numpy(), tuple(s.numpy() for s in state)


@pytest.mark.parametrize("cell", CELLS)
@given(data=st.data())
def test_cell_sequence_forward_and_backward(cell, data):
    x, states, params = data.draw(cell_case(cell))
    ok, result = obeys_contract(
        lambda: cells.sequence_forward(cell, x, params, states), (x, states, params), NAMES
    )
    if not ok:
        return
    out, final, cache = result
    assert is_finite(x, params, *[s for s in states if s is not None]), "non-finite input was accepted"
    expected_out, expected_final = _torch_reference(cell, x, params, states)
    tolerance = 1e-5 if out.dtype == np.float32 else 1e-9
    np.testing.assert_allclose(out, expected_out, rtol=tolerance, atol=tolerance)
    for got, want in zip(final, expected_final, strict=True):
        np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance)
    dout = data.draw(arrays(out.shape))
    dfinal = tuple(data.draw(st.none() | arrays(s.shape)) for s in final)
    ok, grads = obeys_contract(
        lambda: cells.sequence_backward(cell, dout, cache, dfinal), (dout, dfinal), NAMES
    )
    if ok:
        assert is_finite(dout, *[d for d in dfinal if d is not None]), "a non-finite gradient was accepted"


@pytest.mark.parametrize("cell", CELLS)
@given(data=st.data())
def test_cell_step_forward_and_backward(cell, data):
    x, states, params = data.draw(cell_case(cell))
    x_t = x[0] if x.ndim == 3 and x.shape[0] else np.zeros(x.shape[1:])  # (B, D), B = 0 included
    ok, result = obeys_contract(
        lambda: cells.step_forward(cell, x_t, states, params),
        (x_t, states, params),
        [*NAMES, r"x_t", r"_prev"],
    )
    if not ok:
        return
    new, cache = result
    dstates = tuple(data.draw(arrays(s.shape)) for s in new)
    ok, _ = obeys_contract(lambda: cells.step_backward(cell, dstates, cache), dstates, [r"\bd(h|c)\b"])
    if ok:
        assert is_finite(*dstates)


@given(
    x=st.integers(0, 3).flatmap(lambda n: arrays((n, 3), dtypes=(np.float64, np.float32, np.int32))),
    axis=st.sampled_from([0, 1, -1, 2, -3]),
    function=st.sampled_from([ref.softmax, ref.log_softmax, ref.sigmoid, ref.tanh]),
)
def test_activations(x, axis, function):
    call = (
        (lambda: function(x, axis=axis))
        if function in (ref.softmax, ref.log_softmax)
        else lambda: function(x)
    )
    ok, y = obeys_contract(call, x, [r"\bx\b", r"axis"])
    if ok:
        assert y.shape == x.shape and is_finite(x)
        if function is ref.softmax and x.size:
            np.testing.assert_allclose(y.sum(axis=axis), 1.0, rtol=1e-5)


@given(data=st.data())
def test_dense_and_losses(data):
    N, D, M = data.draw(sizes), data.draw(features), data.draw(features)
    x, weight, bias = data.draw(arrays((N, D))), data.draw(arrays((M, D))), data.draw(arrays((M,)))
    ok, result = obeys_contract(
        lambda: ref.dense_forward(x, weight, bias), (x, weight, bias), [r"\bx\b", "weight", "bias"]
    )
    if ok:
        out, cache = result
        ok, _ = obeys_contract(lambda: ref.dense_backward(np.ones_like(out), cache), (), ["dout"])
    pred, target = data.draw(arrays((N, M))), data.draw(arrays((N, M)))
    obeys_contract(lambda: ref.mse_loss(pred, target), (pred, target), ["pred", "target", "loss"])
    targets = np.asarray(data.draw(st.lists(st.integers(-1, M), min_size=N, max_size=N)), dtype=np.int64)
    obeys_contract(lambda: ref.cross_entropy_loss(pred, targets), (pred, targets), ["logits", "targets"])


KEYS = st.sampled_from(
    ["weight_ih", "weight_hh_l0", "weight_ih_l0", "bias_ih_l0", "bias_hh_l0", "bias_hh_l1", "x", 3]
)


@given(data=st.data())
def test_converters(data):
    cell = data.draw(st.sampled_from(CELLS))
    params = ref.init_multilayer_params(
        cell, 2, 3, np.random.default_rng(0), num_layers=data.draw(st.integers(1, 2))
    )
    mutation = data.draw(st.sampled_from(["none", "drop", "add", "reshape", "single", "tensor"]))
    if mutation == "drop":
        params.pop(data.draw(st.sampled_from(sorted(params))))
    elif mutation == "add":
        params[data.draw(KEYS)] = np.zeros(2)
    elif mutation == "reshape":
        key = data.draw(st.sampled_from(sorted(params)))
        params[key] = params[key].reshape(-1)
    elif mutation == "single":
        params = ref.layer_params(params, 0) | ({"extra": 1} if data.draw(st.booleans()) else {})
    elif mutation == "tensor":
        dtype = data.draw(st.sampled_from([torch.float32, torch.bfloat16, torch.float64]))
        params = {
            k: torch.as_tensor(v).to(dtype).requires_grad_(data.draw(st.booleans()))
            for k, v in params.items()
        }
    names = [r"params", r"state_dict", r"weight", r"bias", r"key"]
    ok, out = obeys_contract(lambda: ref.state_dict_from_params(params), params, names)
    if ok:
        back = ref.params_from_state_dict(out)
        assert set(back) == set(out)


@given(data=st.data())
def test_optimisers(data):
    shape = (data.draw(sizes), data.draw(features))
    params = {"w": np.array(data.draw(arrays(shape, poison=False)), dtype=np.float64)}
    grads = {"w": data.draw(arrays(shape))}
    betas = data.draw(st.sampled_from([(0.9, 0.999), (0.9,), (1.0, 0.5), (float("nan"), 0.5), "ab"]))
    ok, optimiser = obeys_contract(lambda: ref.Adam(params, lr=1e-3, betas=betas), (), ["betas", "lr"])
    if ok:
        obeys_contract(lambda: optimiser.step(grads), grads, [r"grads"])
