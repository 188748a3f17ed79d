"""The vanilla (Elman) RNN, exactly as ``torch.nn.RNN`` with tanh: forward and hand-written backward.

Letters: T time steps, B batch, D input features, H hidden units. Parameters use torch's names and layout
(G = 1): weight_ih (H, D), weight_hh (H, H), bias_ih (H,), bias_hh (H,).

    h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from . import _validate as v


class RNNStepCache(NamedTuple):
    """What :func:`rnn_step_backward` needs from one step."""

    x: np.ndarray  # (B, D) input x_t
    h_prev: np.ndarray  # (B, H) h_{t-1}
    h: np.ndarray  # (B, H) h_t
    params: dict[str, np.ndarray]


class RNNCache(NamedTuple):
    """What :func:`rnn_backward` needs from a sequence: one step cache per time step."""

    steps: list[RNNStepCache]  # T caches, in time order


def _step_inputs(x_t: Any, h_prev: Any, params: Any) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    params, sizes = v.cell_params(params, 1)
    x_t = v.as_array("x_t", x_t)
    v.check_shape("x_t", x_t, ("B", "D"), sizes)
    dtype = v.float_dtype(x_t, *params.values())
    h_prev = v.state("h_prev", h_prev, x_t.shape[0], sizes["H"], dtype)
    return x_t.astype(dtype, copy=False), h_prev, v.cast_params(params, dtype)


def rnn_step_forward(x_t: np.ndarray, h_prev: np.ndarray, params: dict) -> tuple[np.ndarray, RNNStepCache]:
    """One RNN step: h = tanh(x_t W_ih^T + b_ih + h_prev W_hh^T + b_hh).

    Args:
        x_t: (B, D) the input at this step.
        h_prev: (B, H) the previous hidden state (None: zeros).
        params: weight_ih (H, D), weight_hh (H, H), bias_ih (H,), bias_hh (H,).

    Returns:
        h: (B, H) the new hidden state, and the cache for :func:`rnn_step_backward`.
    """
    x_t, h_prev, p = _step_inputs(x_t, h_prev, params)
    a = x_t @ p["weight_ih"].T + p["bias_ih"] + h_prev @ p["weight_hh"].T + p["bias_hh"]  # (B, H)
    h = np.tanh(a)
    return h, RNNStepCache(x_t, h_prev, h, p)


def rnn_step_backward(dh: np.ndarray, cache: RNNStepCache) -> tuple[np.ndarray, np.ndarray, dict]:
    """Backward through one RNN step, given dh = dL/dh (B, H).

    Returns:
        dx_t (B, D), dh_prev (B, H), and grads: a dict with the same keys and shapes as params.
    """
    x, h_prev, h, p = cache
    dh = v.as_float("dh", dh, h.dtype)
    v.check_shape("dh", dh, ("B", "H"), {"B": h.shape[0], "H": h.shape[1]})
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
    p, sizes = v.cell_params(params, 1)
    x = v.sequence("x", x, sizes)
    dtype = v.float_dtype(x, *p.values())
    h = v.state("h0", h0, x.shape[1], sizes["H"], dtype)
    x, p = x.astype(dtype, copy=False), v.cast_params(p, dtype)
    out, steps = np.empty((*x.shape[:2], sizes["H"]), dtype=dtype), []
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
    steps = cache.steps
    T, (B, H) = len(steps), steps[0].h.shape
    dtype = steps[0].h.dtype
    dout = v.as_float("dout", dout, dtype)
    v.check_shape("dout", dout, ("T", "B", "H"), {"T": T, "B": B, "H": H})
    dh_next = v.optional_grad("dh_T", dh_T, (B, H), "B,H", dtype)
    dx = np.empty((T, B, steps[0].x.shape[1]), dtype=dtype)
    grads = {key: np.zeros_like(value) for key, value in steps[0].params.items()}
    for t in reversed(range(T)):
        dh = dout[t] + dh_next  # h_t feeds out_t and h_{t+1}
        dx[t], dh_next, step_grads = rnn_step_backward(dh, steps[t])
        for key in grads:
            grads[key] += step_grads[key]  # the same weights are used at every step
    return dx, grads, dh_next
