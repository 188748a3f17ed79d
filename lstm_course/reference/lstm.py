"""The LSTM, exactly as ``torch.nn.LSTM``: forward and hand-written backward, per step and per sequence.

Letters: T time steps, B batch, D input features, H hidden units. Parameters use torch's names and layout, the
four gates stacked in the order i, f, g, o (G = 4): weight_ih (4H, D), weight_hh (4H, H), bias_ih (4H,),
bias_hh (4H,).

    a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh          (4H pre-activations, split into a_i, a_f, a_g, a_o)
    i_t = sigma(a_i)   f_t = sigma(a_f)   g_t = tanh(a_g)   o_t = sigma(a_o)
    c_t = f_t * c_{t-1} + i_t * g_t
    h_t = o_t * tanh(c_t)

The step functions say this line by line, and the sequence functions loop over them, as the book shows.
``lstm_vectorised.py`` computes the same numbers faster for the benchmark; the tests check that they agree.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..cellspec import SPECS
from . import _validate as validate
from .activations import sigmoid

SPEC = SPECS["lstm"]  # gates i, f, g, o; states h, c


class LSTMStepCache(NamedTuple):
    """What :func:`lstm_step_backward` needs from one step (all (B, H) except x and params)."""

    x: np.ndarray  # (B, D) input x_t
    h_prev: np.ndarray  # h_{t-1}
    c_prev: np.ndarray  # c_{t-1}
    i: np.ndarray  # input gate
    f: np.ndarray  # forget gate
    g: np.ndarray  # candidate cell values
    o: np.ndarray  # output gate
    tanh_c: np.ndarray  # tanh(c_t)
    params: dict[str, np.ndarray]


class LSTMCache(NamedTuple):
    """What :func:`lstm_backward` needs from a sequence: one step cache per time step."""

    steps: list[LSTMStepCache]  # T caches, in time order

    @property
    def gates(self) -> np.ndarray:
        """(T, B, 4H) the activated gates [i, f, g, o] of every step, stacked (for plots)."""
        return np.stack([np.concatenate([step.i, step.f, step.g, step.o], axis=1) for step in self.steps])

    @property
    def h(self) -> np.ndarray:
        """(T + 1, B, H) the hidden states h_0 .. h_T, stacked (for plots)."""
        last = self.steps[-1]
        return np.stack([step.h_prev for step in self.steps] + [last.o * last.tanh_c])  # h = o * tanh(c)

    @property
    def c(self) -> np.ndarray:
        """(T + 1, B, H) the cell states c_0 .. c_T, stacked (for plots)."""
        last = self.steps[-1]
        c_T = last.f * last.c_prev + last.i * last.g  # c = f * c_prev + i * g
        return np.stack([step.c_prev for step in self.steps] + [c_T])


def lstm_step_forward(
    x_t: np.ndarray, h_prev: np.ndarray | None, c_prev: np.ndarray | None, params: dict
) -> tuple[np.ndarray, np.ndarray, LSTMStepCache]:
    """One LSTM step (gate order i, f, g, o, as torch).

    a = x_t W_ih^T + b_ih + h_prev W_hh^T + b_hh; i, f, o = sigma(a_i, a_f, a_o); g = tanh(a_g);
    c = f * c_prev + i * g; h = o * tanh(c).

    Args:
        x_t: (B, D) the input at this step.
        h_prev: (B, H) the previous hidden state (None: zeros).
        c_prev: (B, H) the previous cell state (None: zeros).
        params: weight_ih (4H, D), weight_hh (4H, H), bias_ih (4H,), bias_hh (4H,).

    Returns:
        h: (B, H), c: (B, H), and the cache for :func:`lstm_step_backward`.
    """
    x_t, (h_prev, c_prev), p = validate.step_inputs(SPEC, x_t, (h_prev, c_prev), params)
    H = h_prev.shape[1]
    a = x_t @ p["weight_ih"].T + p["bias_ih"] + h_prev @ p["weight_hh"].T + p["bias_hh"]  # (B, 4H)
    i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H : 2 * H]), sigmoid(a[:, 3 * H :])
    g = np.tanh(a[:, 2 * H : 3 * H])
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    return h, c, LSTMStepCache(x_t, h_prev, c_prev, i, f, g, o, tanh_c, p)


def lstm_step_backward(
    dh: np.ndarray, dc: np.ndarray, cache: LSTMStepCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Backward through one LSTM step, given dh = dL/dh (B, H) and dc = dL/dc (B, H) from later steps.

    Returns:
        dx_t (B, D), dh_prev (B, H), dc_prev (B, H), and grads: a dict with the keys and shapes of params.
    """
    validate.check_cache(cache, LSTMStepCache, "lstm_step_forward")
    x, h_prev, c_prev, i, f, g, o, tanh_c, p = cache
    dh, dc = validate.state_grads({"dh": dh, "dc": dc}, like=i)
    do = dh * tanh_c  # h = o * tanh(c)
    dc = dc + dh * o * (1 - tanh_c**2)  # h = o * tanh(c)
    df = dc * c_prev  # c = f * c_prev + i * g
    di = dc * g  # c = f * c_prev + i * g
    dg = dc * i  # c = f * c_prev + i * g
    dc_prev = dc * f  # c = f * c_prev + i * g
    # (B, 4H) dL/da, the four gates' blocks side by side as in a
    da = np.concatenate(
        [
            di * i * (1 - i),  # i = sigma(a_i)
            df * f * (1 - f),  # f = sigma(a_f)
            dg * (1 - g**2),  # g = tanh(a_g)
            do * o * (1 - o),  # o = sigma(a_o)
        ],
        axis=1,
    )
    grads = {
        "weight_ih": da.T @ x,  # a = x W_ih^T + ...
        "weight_hh": da.T @ h_prev,  # a = ... + h_prev W_hh^T
        "bias_ih": da.sum(axis=0),  # a = ... + b_ih
        "bias_hh": da.sum(axis=0),  # a = ... + b_hh
    }
    dx = da @ p["weight_ih"]  # a = x W_ih^T + ...
    dh_prev = da @ p["weight_hh"]  # a = ... + h_prev W_hh^T
    return dx, dh_prev, dc_prev, grads


def lstm_forward(
    x: np.ndarray, params: dict, h0: np.ndarray | None = None, c0: np.ndarray | None = None
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], LSTMCache]:
    """Run the LSTM over a sequence: :func:`lstm_step_forward` for t = 1..T.

    Args:
        x: (T, B, D) the inputs, time-major.
        params: weight_ih (4H, D), weight_hh (4H, H), bias_ih (4H,), bias_hh (4H,).
        h0, c0: (B, H) the initial states; None means zeros.

    Returns:
        out: (T, B, H) every hidden state h_1..h_T; (h_T, c_T): (B, H) each, the final states;
        and the cache for :func:`lstm_backward`.
    """
    x, (h, c), p = validate.sequence_inputs(SPEC, x, (h0, c0), params)
    out, steps = np.empty((*x.shape[:2], h.shape[1]), dtype=x.dtype), []  # (T, B, H)
    for t in range(x.shape[0]):
        h, c, step = lstm_step_forward(x[t], h, c, p)
        out[t] = h
        steps.append(step)
    return out, (h, c), LSTMCache(steps)


def lstm_backward(
    dout: np.ndarray, cache: LSTMCache, dh_T: np.ndarray | None = None, dc_T: np.ndarray | None = None
) -> tuple[np.ndarray, dict, tuple[np.ndarray, np.ndarray]]:
    """Backpropagation through time for :func:`lstm_forward`: :func:`lstm_step_backward` for t = T..1.

    Args:
        dout: (T, B, H) dL/d out_t for every step.
        cache: from :func:`lstm_forward`.
        dh_T, dc_T: (B, H) extra gradients flowing into the final states h_T, c_T (None: zero).

    Returns:
        dx: (T, B, D); grads: dict like params (summed over time); (dh0, dc0): (B, H) each.
    """
    steps = validate.sequence_cache(cache, LSTMCache, LSTMStepCache, "lstm_forward")
    T, (B, H), dtype = len(steps), steps[0].i.shape, steps[0].i.dtype
    dout, (dh_next, dc_next) = validate.sequence_grads(SPEC, dout, (dh_T, dc_T), (T, B, H), dtype)
    dx = np.empty((T, B, steps[0].x.shape[1]), dtype=dtype)
    grads = {key: np.zeros_like(value) for key, value in steps[0].params.items()}
    for t in reversed(range(T)):
        dh = dout[t] + dh_next  # h_t feeds out_t and h_{t+1}; c_t feeds only c_{t+1}
        dx[t], dh_next, dc_next, step_grads = lstm_step_backward(dh, dc_next, steps[t])
        for key in grads:
            grads[key] += step_grads[key]  # the same weights are used at every step
    return dx, grads, (dh_next, dc_next)
