"""The vanilla (Elman) RNN, exactly as ``torch.nn.RNN`` with tanh: forward and hand-written backward.

Letters: T time steps, B batch, D input features, H hidden units. Parameters use torch's names and layout
(G = 1): weight_ih (H, D), weight_hh (H, H), bias_ih (H,), bias_hh (H,).

    h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..cellspec import SPECS
from . import _validate as validate

SPEC = SPECS["rnn"]  # one gate, one state h


class RNNStepCache(NamedTuple):
    """What :func:`rnn_step_backward` needs from one step."""

    x: np.ndarray  # (B, D) input x_t
    h_prev: np.ndarray  # (B, H) h_{t-1}
    h: np.ndarray  # (B, H) h_t
    params: dict[str, np.ndarray]


class RNNCache(NamedTuple):
    """What :func:`rnn_backward` needs from a sequence: one step cache per time step."""

    steps: list[RNNStepCache]  # T caches, in time order


def rnn_step_forward(
    x_t: np.ndarray, h_prev: np.ndarray | None, params: dict
) -> tuple[np.ndarray, RNNStepCache]:
    """One RNN step: h = tanh(x_t W_ih^T + b_ih + h_prev W_hh^T + b_hh).

    Args:
        x_t: (B, D) the input at this step.
        h_prev: (B, H) the previous hidden state (None: zeros).
        params: weight_ih (H, D), weight_hh (H, H), bias_ih (H,), bias_hh (H,).

    Returns:
        h: (B, H) the new hidden state, and the cache for :func:`rnn_step_backward`.
    """
    x_t, (h_prev,), p = validate.step_inputs(SPEC, x_t, (h_prev,), params)
    a = x_t @ p["weight_ih"].T + p["bias_ih"] + h_prev @ p["weight_hh"].T + p["bias_hh"]  # (B, H)
    h = np.tanh(a)
    # the cache keeps its own h: an in-place edit of the returned one cannot change the backward
    return h.copy(), RNNStepCache(x_t, h_prev, h, p)


def rnn_step_backward(dh: np.ndarray, cache: RNNStepCache) -> tuple[np.ndarray, np.ndarray, dict]:
    """Backward through one RNN step, given dh = dL/dh (B, H).

    Returns:
        dx_t (B, D), dh_prev (B, H), and grads: a dict with the same keys and shapes as params.
    """
    validate.check_cache(cache, RNNStepCache, "rnn_step_forward")
    x, h_prev, h, p = cache
    (dh,) = validate.state_grads({"dh": dh}, like=h)
    da = dh * (1 - h * h)  # h = tanh(a)
    grads = {
        "weight_ih": da.T @ x,  # a = x W_ih^T + ...
        "weight_hh": da.T @ h_prev,  # a = ... + h_prev W_hh^T
        "bias_ih": da.sum(axis=0),  # a = ... + b_ih
        "bias_hh": da.sum(axis=0),  # a = ... + b_hh
    }
    dx = da @ p["weight_ih"]  # a = x W_ih^T + ...
    dh_prev = da @ p["weight_hh"]  # a = ... + h_prev W_hh^T
    return dx, dh_prev, grads


def rnn_forward(
    x: np.ndarray, params: dict, h0: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, RNNCache]:
    """Run the RNN over a sequence: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), t = 1..T.

    Args:
        x: (T, B, D) the inputs, time-major.
        params: weight_ih (H, D), weight_hh (H, H), bias_ih (H,), bias_hh (H,).
        h0: (B, H) the initial hidden state; None means zeros.

    Returns:
        out: (T, B, H) every hidden state h_1..h_T; h_T: (B, H) the last one;
        and the cache for :func:`rnn_backward`.
    """
    x, (h,), p = validate.sequence_inputs(SPEC, x, (h0,), params)
    out, steps = np.empty((*x.shape[:2], p["weight_hh"].shape[1]), dtype=x.dtype), []  # (T, B, H)
    for t in range(x.shape[0]):
        h, step = rnn_step_forward(x[t], h, p)
        out[t] = h
        steps.append(step)
    return out, h, RNNCache(steps)


def rnn_backward(
    dout: np.ndarray, cache: RNNCache, dh_T: np.ndarray | None = None
) -> tuple[np.ndarray, dict, np.ndarray]:
    """Backpropagation through time for :func:`rnn_forward`.

    Args:
        dout: (T, B, H) dL/d out_t for every step.
        cache: from :func:`rnn_forward`.
        dh_T: (B, H) an extra gradient flowing into the last state h_T (None: zero).

    Returns:
        dx: (T, B, D); grads: dict like params (summed over time); dh0: (B, H) dL/dh0.
    """
    steps = validate.sequence_cache(cache, RNNCache, RNNStepCache, "rnn_forward")
    T, (B, H), dtype = len(steps), steps[0].h.shape, steps[0].h.dtype
    dout, (dh_next,) = validate.sequence_grads(SPEC, dout, (dh_T,), (T, B, H), dtype)
    dx = np.empty((T, B, steps[0].x.shape[1]), dtype=dtype)
    grads = {key: np.zeros_like(value) for key, value in steps[0].params.items()}
    for t in reversed(range(T)):
        dh = dout[t] + dh_next  # h_t feeds out_t and h_{t+1}
        dx[t], dh_next, step_grads = rnn_step_backward(dh, steps[t])
        for key in grads:
            grads[key] += step_grads[key]  # the same weights are used at every step
    return dx, grads, dh_next
