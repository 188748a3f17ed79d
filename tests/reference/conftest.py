"""Fixtures for the reference tests: one calling convention over the three cells, and a gradient checker."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
import pytest

from lstm_course import reference as ref

CELLS = ("rnn", "lstm", "gru")


def _seq_forward(cell: str, x, p, states=None):
    """out, [h_T] or [h_T, c_T], cache, for any cell; states: [h0] or [h0, c0] or None."""
    states = states or [None, None]
    if cell == "lstm":
        out, (h, c), cache = ref.lstm_forward(x, p, states[0], states[1])
        return out, [h, c], cache
    forward = {"rnn": ref.rnn_forward, "gru": ref.gru_forward}[cell]
    out, h, cache = forward(x, p, states[0])
    return out, [h], cache


def _seq_backward(cell: str, dout, cache, dstates=None):
    """dx, grads, [dh0] or [dh0, dc0]."""
    dstates = dstates or [None, None]
    if cell == "lstm":
        dx, grads, (dh0, dc0) = ref.lstm_backward(dout, cache, dstates[0], dstates[1])
        return dx, grads, [dh0, dc0]
    backward = {"rnn": ref.rnn_backward, "gru": ref.gru_backward}[cell]
    dx, grads, dh0 = backward(dout, cache, dstates[0])
    return dx, grads, [dh0]


def _step_forward(cell: str, x_t, states, p):
    """[h] or [h, c], cache."""
    if cell == "lstm":
        h, c, cache = ref.lstm_step_forward(x_t, states[0], states[1], p)
        return [h, c], cache
    forward = {"rnn": ref.rnn_step_forward, "gru": ref.gru_step_forward}[cell]
    h, cache = forward(x_t, states[0], p)
    return [h], cache


def _step_backward(cell: str, dstates, cache):
    """dx_t, [dh_prev] or [dh_prev, dc_prev], grads."""
    if cell == "lstm":
        dx, dh, dc, grads = ref.lstm_step_backward(dstates[0], dstates[1], cache)
        return dx, [dh, dc], grads
    backward = {"rnn": ref.rnn_step_backward, "gru": ref.gru_step_backward}[cell]
    dx, dh, grads = backward(dstates[0], cache)
    return dx, [dh], grads


def n_states(cell: str) -> int:
    return 2 if cell == "lstm" else 1


@pytest.fixture
def api() -> SimpleNamespace:
    """One calling convention for the three cells' step and sequence functions."""
    return SimpleNamespace(
        seq_forward=_seq_forward,
        seq_backward=_seq_backward,
        step_forward=_step_forward,
        step_backward=_step_backward,
        n_states=n_states,
    )


def _check_gradients(loss: Callable[[], float], pairs: dict[str, tuple[np.ndarray, np.ndarray]], tol=1e-6):
    """For each name: (array the loss reads, its analytic gradient); central differences must agree."""
    for name, (array, analytic) in pairs.items():
        assert analytic.shape == array.shape, f"{name}: gradient shape {analytic.shape} != {array.shape}"
        numeric = ref.numerical_gradient(loss, array)
        error = ref.relative_error(analytic, numeric)
        assert error < tol, f"{name}: relative error {error:.2e} >= {tol:.0e}"
        assert np.abs(numeric).max() > 0, f"{name}: the numerical gradient is zero, the check proves nothing"


@pytest.fixture
def check_gradients() -> Callable:
    """check_gradients(loss, {name: (array, analytic gradient)}): relative error < 1e-6 in float64."""
    return _check_gradients
