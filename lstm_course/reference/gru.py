"""The GRU, exactly as ``torch.nn.GRU``: forward and hand-written backward, per step and per sequence.

Letters: T time steps, B batch, D input features, H hidden units. Parameters use torch's names and layout, the
three gates stacked in the order r, z, n (G = 3): weight_ih (3H, D), weight_hh (3H, H), bias_ih (3H,),
bias_hh (3H,).

    r_t = sigma(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z_t = sigma(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))      (the reset gate acts after the matmul)
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..cellspec import SPECS
from . import _validate as validate
from .activations import sigmoid

SPEC = SPECS["gru"]  # gates r, z, n; one state h


class GRUStepCache(NamedTuple):
    """What :func:`gru_step_backward` needs from one step (all (B, H) except x and params)."""

    x: np.ndarray  # (B, D) input x_t
    h_prev: np.ndarray  # h_{t-1}
    r: np.ndarray  # reset gate
    z: np.ndarray  # update gate
    n: np.ndarray  # candidate state
    hn: np.ndarray  # W_hn h_{t-1} + b_hn, before the reset gate scales it
    params: dict[str, np.ndarray]


class GRUCache(NamedTuple):
    """What :func:`gru_backward` needs from a sequence: one step cache per time step."""

    steps: list[GRUStepCache]  # T caches, in time order


def gru_step_forward(
    x_t: np.ndarray, h_prev: np.ndarray | None, params: dict
) -> tuple[np.ndarray, GRUStepCache]:
    """One GRU step (gate order r, z, n, as torch).

    r = sigma(x W_ir^T + b_ir + h_prev W_hr^T + b_hr); z = sigma(x W_iz^T + b_iz + h_prev W_hz^T + b_hz);
    n = tanh(x W_in^T + b_in + r * (h_prev W_hn^T + b_hn)); h = (1 - z) * n + z * h_prev.

    Args:
        x_t: (B, D) the input at this step.
        h_prev: (B, H) the previous hidden state (None: zeros).
        params: weight_ih (3H, D), weight_hh (3H, H), bias_ih (3H,), bias_hh (3H,).

    Returns:
        h: (B, H) the new hidden state, and the cache for :func:`gru_step_backward`.
    """
    x_t, (h_prev,), p = validate.step_inputs(SPEC, x_t, (h_prev,), params)
    H = h_prev.shape[1]
    ax = x_t @ p["weight_ih"].T + p["bias_ih"]  # (B, 3H) input parts [r, z, n]
    ah = h_prev @ p["weight_hh"].T + p["bias_hh"]  # (B, 3H) recurrent parts [r, z, n]
    r = sigmoid(ax[:, :H] + ah[:, :H])
    z = sigmoid(ax[:, H : 2 * H] + ah[:, H : 2 * H])
    hn = ah[:, 2 * H :]
    n = np.tanh(ax[:, 2 * H :] + r * hn)
    h = (1 - z) * n + z * h_prev
    return h, GRUStepCache(x_t, h_prev, r, z, n, hn, p)


def gru_step_backward(dh: np.ndarray, cache: GRUStepCache) -> tuple[np.ndarray, np.ndarray, dict]:
    """Backward through one GRU step, given dh = dL/dh (B, H).

    Returns:
        dx_t (B, D), dh_prev (B, H), and grads: a dict with the keys and shapes of params.
    """
    validate.check_cache(cache, GRUStepCache, "gru_step_forward")
    x, h_prev, r, z, n, hn, p = cache
    (dh,) = validate.state_grads({"dh": dh}, like=n)
    dn = dh * (1 - z)  # h = (1 - z) * n + z * h_prev
    dz = dh * (h_prev - n)  # h = (1 - z) * n + z * h_prev
    dh_prev = dh * z  # h = (1 - z) * n + z * h_prev
    dan = dn * (1 - n * n)  # n = tanh(a_n), a_n = ax_n + r * hn
    dr = dan * hn  # a_n = ax_n + r * hn
    dhn = dan * r  # a_n = ax_n + r * hn
    dar = dr * r * (1 - r)  # r = sigma(a_r)
    daz = dz * z * (1 - z)  # z = sigma(a_z)
    dax = np.concatenate([dar, daz, dan], axis=1)  # (B, 3H) ax = x W_ih^T + b_ih
    dah = np.concatenate([dar, daz, dhn], axis=1)  # (B, 3H) ah = h_prev W_hh^T + b_hh
    grads = {
        "weight_ih": dax.T @ x,  # ax = x W_ih^T + b_ih
        "weight_hh": dah.T @ h_prev,  # ah = h_prev W_hh^T + b_hh
        "bias_ih": dax.sum(axis=0),
        "bias_hh": dah.sum(axis=0),
    }
    dx = dax @ p["weight_ih"]  # ax = x W_ih^T + b_ih
    dh_prev = dh_prev + dah @ p["weight_hh"]  # ah = h_prev W_hh^T + b_hh
    return dx, dh_prev, grads


def gru_forward(
    x: np.ndarray, params: dict, h0: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, GRUCache]:
    """Run the GRU over a sequence: :func:`gru_step_forward` for t = 1..T.

    Args:
        x: (T, B, D) the inputs, time-major.
        params: weight_ih (3H, D), weight_hh (3H, H), bias_ih (3H,), bias_hh (3H,).
        h0: (B, H) the initial hidden state; None means zeros.

    Returns:
        out: (T, B, H) every hidden state h_1..h_T; h_T: (B, H) the last one;
        and the cache for :func:`gru_backward`.
    """
    x, (h,), p = validate.sequence_inputs(SPEC, x, (h0,), params)
    out, steps = np.empty((*x.shape[:2], p["weight_hh"].shape[1]), dtype=x.dtype), []  # (T, B, H)
    for t in range(x.shape[0]):
        h, step = gru_step_forward(x[t], h, p)
        out[t] = h
        steps.append(step)
    return out, h, GRUCache(steps)


def gru_backward(
    dout: np.ndarray, cache: GRUCache, dh_T: np.ndarray | None = None
) -> tuple[np.ndarray, dict, np.ndarray]:
    """Backpropagation through time for :func:`gru_forward`.

    Args:
        dout: (T, B, H) dL/d out_t for every step.
        cache: from :func:`gru_forward`.
        dh_T: (B, H) an extra gradient flowing into the last state h_T (None: zero).

    Returns:
        dx: (T, B, D); grads: dict like params (summed over time); dh0: (B, H) dL/dh0.
    """
    steps = validate.sequence_cache(cache, GRUCache, GRUStepCache, "gru_forward")
    T, (B, H), dtype = len(steps), steps[0].n.shape, steps[0].n.dtype
    dout, (dh_next,) = validate.sequence_grads(SPEC, dout, (dh_T,), (T, B, H), dtype)
    dx = np.empty((T, B, steps[0].x.shape[1]), dtype=dtype)
    grads = {key: np.zeros_like(value) for key, value in steps[0].params.items()}
    for t in reversed(range(T)):
        dh = dout[t] + dh_next  # h_t feeds out_t and h_{t+1}
        dx[t], dh_next, step_grads = gru_step_backward(dh, steps[t])
        for key in grads:
            grads[key] += step_grads[key]  # the same weights are used at every step
    return dx, grads, dh_next
