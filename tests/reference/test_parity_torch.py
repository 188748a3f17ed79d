"""Parity with torch.nn.RNN / LSTM / GRU in float64: outputs, final states and every gradient.

Weights are copied with the reference's own conversion helpers, in both directions.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from lstm_course import reference as ref
from lstm_course.cellspec import SPECS
from lstm_course.reference import cells

torch = pytest.importorskip("torch")

MODULES = {cell: cell.upper() for cell in cells.CELLS}  # torch.nn's class for each registered cell
SHAPES = [(1, 1, 1, 1), (1, 3, 2, 5), (4, 1, 3, 1), (5, 3, 4, 6), (7, 2, 1, 3)]  # (T, B, D, H)
TOL = 1e-9


def _rel(a, b) -> float:
    return ref.relative_error(a, b.detach().numpy() if hasattr(b, "detach") else b)


def _torch_states(states):
    """torch's convention: one state bare, several as a tuple."""
    return tuple(states) if len(states) > 1 else states[0]


def _as_list(states):
    """The other way: torch's (or multilayer_forward's) states as a list."""
    return list(states) if isinstance(states, tuple) else [states]


def _torch_run(cell, module, x, states, dout, dstates):
    """torch's outputs and the gradients of sum(dout * out) + sum(dstates * final states)."""
    tx = torch.from_numpy(x).requires_grad_()
    tstates = [torch.from_numpy(s).requires_grad_() for s in states]
    out, final = module(tx, _torch_states(tstates))
    final = _as_list(final)
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
    states = [rng.normal(size=(num_layers * K, B, H)) for _ in SPECS[cell].states]
    dout = rng.normal(size=(T, B, K * H))
    dstates = [rng.normal(size=s.shape) for s in states]

    kwargs = {f"{name}0": state for name, state in zip(SPECS[cell].states, states, strict=True)}
    out, final, cache = ref.multilayer_forward(
        cell, x, params, num_layers=num_layers, bidirectional=bidirectional, **kwargs
    )
    dx, grads, dinit = ref.multilayer_backward(dout, cache, *dstates)
    final, dinit = _as_list(final), _as_list(dinit)

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


VECTORISED = {"lstm": (ref.lstm_forward_vectorised, ref.lstm_backward_vectorised)}  # the benchmark's


@pytest.mark.parametrize(
    ("cell", "implementation"),
    [(cell, "loop") for cell in MODULES] + [(cell, "vectorised") for cell in VECTORISED],
)
def test_single_layer_functions_match_torch(cell, implementation, rng):
    """The sequence functions (the book's loop over the step, and the vectorised LSTM) against torch.nn."""
    T, B, D, H = 6, 3, 4, 5
    module = getattr(torch.nn, MODULES[cell])(D, H).double()
    params = ref.layer_params(ref.params_from_state_dict(module.state_dict()), 0)
    x = rng.normal(size=(T, B, D))
    states = [rng.normal(size=(B, H)) for _ in SPECS[cell].states]
    dout = rng.normal(size=(T, B, H))
    dstates = [rng.normal(size=(B, H)) for _ in states]
    if implementation == "loop":
        out, final, cache = cells.sequence_forward(cell, x, params, states)
        dx, grads, dinit = cells.sequence_backward(cell, dout, cache, dstates)
    else:
        forward, backward = VECTORISED[cell]
        out, final, cache = forward(x, params, *states)
        dx, grads, dinit = backward(dout, cache, *dstates)
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
