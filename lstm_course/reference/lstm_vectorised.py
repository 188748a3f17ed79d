"""The LSTM over a sequence, vectorised and in place: the same numbers as ``lstm.lstm_forward``, faster.

This is the benchmark version (``bench/bench.py`` times it against ``torch.nn.LSTM``); the book
shows the plain loop over the step functions in ``lstm.py``, and the tests check that the two agree.

Letters: T time steps, B batch, D input features, H hidden units; parameters as in ``lstm.py`` (G = 4, gates
i, f, g, o). What makes it faster: one matrix product for the input projection of all steps, one 4H-wide
recurrent product per step, every buffer allocated once before the loop, feature-major (4H, B) blocks inside
the loop so that each gate is a run of whole rows, and the weight gradients gathered by one product after the
loop.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..cellspec import SPECS
from . import _validate as validate
from .activations import sigmoid_

SPEC = SPECS["lstm"]


class LSTMVectorisedCache(NamedTuple):
    """What :func:`lstm_backward_vectorised` needs from a sequence."""

    x: np.ndarray  # (T, B, D) inputs
    h: np.ndarray  # (T + 1, B, H) h_0 .. h_T
    c: np.ndarray  # (T + 1, B, H) c_0 .. c_T
    gates: np.ndarray  # (T, B, 4H) activated gates [i, f, g, o] per step
    params: dict[str, np.ndarray]


def lstm_forward_vectorised(
    x: np.ndarray, params: dict, h0: np.ndarray | None = None, c0: np.ndarray | None = None
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], LSTMVectorisedCache]:
    """Run the LSTM over a sequence: the numbers of :func:`~lstm_course.reference.lstm_forward`, vectorised.

    Args:
        x: (T, B, D) the inputs, time-major.
        params: weight_ih (4H, D), weight_hh (4H, H), bias_ih (4H,), bias_hh (4H,).
        h0, c0: (B, H) the initial states; None means zeros.

    Returns:
        out: (T, B, H) the hidden states h_1..h_T, a read-only view into the cache (writing to it would
        corrupt the backward pass; copy it first);
        (h_T, c_T): (B, H) each, the final states (copies); the cache for :func:`lstm_backward_vectorised`.
    """
    x, (h0, c0), p = validate.sequence_inputs(SPEC, x, (h0, c0), params)
    (T, B, _), H, dtype = x.shape, h0.shape[1], x.dtype
    W_ih, W_hh = p["weight_ih"], p["weight_hh"]

    # Feature-major inside the loop: each step's arrays are (features, B), so every gate is a block of whole
    # rows and every elementwise operation runs over contiguous memory (column slices of (B, 4H) are slower).
    # h_0..h_T stay batch-major: h is the output, and dW_hh reads it so.
    h = np.empty((T + 1, B, H), dtype)
    c = np.empty((T + 1, H, B), dtype)  # c_0..c_T feature-major
    h[0], c[0] = h0, c0.T
    h_t, tanh_c, i_times_g = np.empty((H, B), dtype), np.empty((H, B), dtype), np.empty((H, B), dtype)
    recurrent = np.empty((4 * H, B), dtype)  # W_hh h_{t-1}
    gates = np.matmul(W_ih, x.transpose(0, 2, 1))  # (T, 4H, B): W_ih x_t for every step at once
    gates += (p["bias_ih"] + p["bias_hh"])[:, None]  # ... + b_ih + b_hh
    for t in range(T):
        a = gates[t]  # (4H, B), activated in place: afterwards it holds [i, f, g, o]
        a += np.matmul(W_hh, h[t].T, out=recurrent)  # a_t = ... + W_hh h_{t-1}
        sigmoid_(a[: 2 * H])  # i, f = sigma(a_i, a_f)
        np.tanh(a[2 * H : 3 * H], out=a[2 * H : 3 * H])  # g = tanh(a_g)
        sigmoid_(a[3 * H :])  # o = sigma(a_o)
        i, f, g, o = a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]
        np.multiply(f, c[t], out=c[t + 1])  # c_t = f * c_{t-1} ...
        c[t + 1] += np.multiply(i, g, out=i_times_g)  # ... + i * g
        np.tanh(c[t + 1], out=tanh_c)
        np.multiply(o, tanh_c, out=h_t)  # h_t = o * tanh(c_t)
        h[t + 1] = h_t.T

    # the cache holds (T, B, .) views of the feature-major arrays; the backward transposes them back
    cache = LSTMVectorisedCache(x, h, c.transpose(0, 2, 1), gates.transpose(0, 2, 1), p)
    out = h[1:]
    out.flags.writeable = False  # a view of the cache: an in-place edit would silently corrupt the backward
    return out, (h[T].copy(), c[T].T.copy()), cache


def lstm_backward_vectorised(
    dout: np.ndarray,
    cache: LSTMVectorisedCache,
    dh_T: np.ndarray | None = None,
    dc_T: np.ndarray | None = None,
) -> tuple[np.ndarray, dict, tuple[np.ndarray, np.ndarray]]:
    """Backpropagation through time for :func:`lstm_forward_vectorised`, in place.

    Args:
        dout: (T, B, H) dL/d out_t for every step.
        cache: from :func:`lstm_forward_vectorised`.
        dh_T, dc_T: (B, H) extra gradients flowing into the final states h_T, c_T (None: zero).

    Returns:
        dx: (T, B, D); grads: dict like params (summed over time); (dh0, dc0): (B, H) each.
    """
    validate.check_cache(cache, LSTMVectorisedCache, "lstm_forward_vectorised")
    x, h, c, gates, p = cache
    (T, B, D), H, dtype = x.shape, h.shape[2], h.dtype
    dout, (dh_T, dc_T) = validate.sequence_grads(SPEC, dout, (dh_T, dc_T), (T, B, H), dtype)
    # feature-major, as in the forward: views of the cache, and copies of the incoming gradients
    gates_f, c_f = gates.transpose(0, 2, 1), c.transpose(0, 2, 1)  # (T, 4H, B), (T + 1, H, B)
    dh, dc = np.array(dh_T.T, order="C"), np.array(dc_T.T, order="C")  # (H, B) dL/dh_t, dL/dc_t
    da = np.empty((4 * H, T, B), dtype)  # dL/da_t for every step: da[:, t] = da_t; (4H, T*B) after the loop
    da_t = np.empty((4 * H, B), dtype)
    scratch_if, scratch = np.empty((2 * H, B), dtype), np.empty((H, B), dtype)
    tanh_c = np.empty((H, B), dtype)
    di, df, dg, do = da_t[:H], da_t[H : 2 * H], da_t[2 * H : 3 * H], da_t[3 * H :]
    for t in reversed(range(T)):
        a = gates_f[t]  # (4H, B) the activated gates [i, f, g, o]
        i, f, g, o = a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]
        np.tanh(c_f[t + 1], out=tanh_c)  # recomputed: cheaper than keeping (T, H, B) more memory
        dh += dout[t].T  # h_t feeds out_t and step t + 1
        np.multiply(dh, tanh_c, out=do)  # h = o * tanh(c)
        # dL/dc through h = o * tanh(c) is dh * o * (1 - tanh(c)^2): dh is scaled in place (it is not
        # needed any more; the product with W_hh below overwrites it with dL/dh_{t-1})
        dh *= o
        dh *= np.subtract(1, np.multiply(tanh_c, tanh_c, out=scratch), out=scratch)
        dc += dh  # dc = dc + dh * o * (1 - tanh(c)^2)
        np.multiply(dc, c_f[t], out=df)  # c = f * c_prev + i * g
        np.multiply(dc, g, out=di)  # c = f * c_prev + i * g
        np.multiply(dc, i, out=dg)  # c = f * c_prev + i * g
        dc *= f  # dc_prev: c = f * c_prev + i * g
        # i, f = sigma(a_i, a_f)
        da_t[: 2 * H] *= np.multiply(np.subtract(1, a[: 2 * H], out=scratch_if), a[: 2 * H], out=scratch_if)
        dg *= np.subtract(1, np.multiply(g, g, out=scratch), out=scratch)  # g = tanh(a_g)
        do *= np.multiply(np.subtract(1, o, out=scratch), o, out=scratch)  # o = sigma(a_o)
        np.matmul(p["weight_hh"].T, da_t, out=dh)  # a = ... + W_hh h_prev
        da[:, t] = da_t

    da_flat = da.reshape(4 * H, T * B)  # the columns are every (t, b) pair
    dx = (da_flat.T @ p["weight_ih"]).reshape(T, B, D)  # a = W_ih x + ...
    db = da_flat.sum(axis=1)  # a = ... + b_ih + b_hh
    grads = {
        "weight_ih": da_flat @ x.reshape(T * B, D),  # a = W_ih x + ...
        "weight_hh": da_flat @ h[:T].reshape(T * B, H),  # a = ... + W_hh h_prev
        "bias_ih": db,
        "bias_hh": db.copy(),
    }
    return dx, grads, (dh.T.copy(), dc.T.copy())
