"""The LSTM, exactly as ``torch.nn.LSTM``: forward and hand-written backward, per step and per sequence.

Letters: T time steps, B batch, D input features, H hidden units. Parameters use torch's names and layout, the
four gates stacked in the order i, f, g, o (G = 4): weight_ih (4H, D), weight_hh (4H, H), bias_ih (4H,),
bias_hh (4H,).

    a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh          (4H pre-activations, split into a_i, a_f, a_g, a_o)
    i_t = sigma(a_i)   f_t = sigma(a_f)   g_t = tanh(a_g)   o_t = sigma(a_o)
    c_t = f_t * c_{t-1} + i_t * g_t
    h_t = o_t * tanh(c_t)

The step functions say this line by line. The sequence functions compute the same numbers faster: one
matrix product for the input projection of all steps, one 4H-wide recurrent product per step, every buffer
allocated once before the loop, and the weight gradients gathered by one product after the loop. The tests
check that they equal a loop over the steps.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from . import _validate as v
from .activations import sigmoid, sigmoid_


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
    """What :func:`lstm_backward` needs from a sequence."""

    x: np.ndarray  # (T, B, D) inputs
    h: np.ndarray  # (T + 1, B, H) h_0 .. h_T
    c: np.ndarray  # (T + 1, B, H) c_0 .. c_T
    gates: np.ndarray  # (T, B, 4H) activated gates [i, f, g, o] per step
    params: dict[str, np.ndarray]


def lstm_step_forward(
    x_t: np.ndarray, h_prev: np.ndarray, c_prev: np.ndarray, params: dict
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
    p, sizes = v.cell_params(params, 4)
    x_t = v.as_array("x_t", x_t)
    v.check_shape("x_t", x_t, ("B", "D"), sizes)
    dtype = v.float_dtype(x_t, *p.values())
    B, H = x_t.shape[0], sizes["H"]
    h_prev, c_prev = v.state("h_prev", h_prev, B, H, dtype), v.state("c_prev", c_prev, B, H, dtype)
    x_t, p = x_t.astype(dtype, copy=False), v.cast_params(p, dtype)

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
    x, h_prev, c_prev, i, f, g, o, tanh_c, p = cache
    B, H = i.shape
    dh = v.as_float("dh", dh, i.dtype)
    v.check_shape("dh", dh, ("B", "H"), {"B": B, "H": H})
    dc = v.as_float("dc", dc, i.dtype)
    v.check_shape("dc", dc, ("B", "H"), {"B": B, "H": H})

    do = dh * tanh_c  # h = o * tanh(c)
    dc = dc + dh * o * (1 - tanh_c**2)  # h = o * tanh(c)
    df = dc * c_prev  # c = f * c_prev + i * g
    di = dc * g  # c = f * c_prev + i * g
    dg = dc * i  # c = f * c_prev + i * g
    dc_prev = dc * f  # c = f * c_prev + i * g
    da = np.concatenate(
        [
            di * i * (1 - i),  # i = sigma(a_i)
            df * f * (1 - f),  # f = sigma(a_f)
            dg * (1 - g**2),  # g = tanh(a_g)
            do * o * (1 - o),  # o = sigma(a_o)
        ],
        axis=1,
    )  # (B, 4H)
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
    """Run the LSTM over a sequence: the step of :func:`lstm_step_forward` for t = 1..T, vectorised.

    Args:
        x: (T, B, D) the inputs, time-major.
        params: weight_ih (4H, D), weight_hh (4H, H), bias_ih (4H,), bias_hh (4H,).
        h0, c0: (B, H) the initial states; None means zeros.

    Returns:
        out: (T, B, H) the hidden states h_1..h_T, a read-only view into the cache (writing to it would
        corrupt the backward pass; copy it first);
        (h_T, c_T): (B, H) each, the final states; the cache for :func:`lstm_backward`.
    """
    p, sizes = v.cell_params(params, 4)
    x = v.sequence("x", x, sizes)
    dtype = v.float_dtype(x, *p.values())
    (T, B, _), H = x.shape, sizes["H"]
    x, p = x.astype(dtype, copy=False), v.cast_params(p, dtype)
    W_ih, W_hh = p["weight_ih"], p["weight_hh"]

    # Feature-major inside the loop: each step's arrays are (features, B), so every gate is a block of whole
    # rows and every elementwise operation runs over contiguous memory (column slices of (B, 4H) are slower).
    h = np.empty((T + 1, B, H), dtype)  # h_0..h_T batch-major: it is the output, and dW_hh reads it so
    c = np.empty((T + 1, H, B), dtype)  # c_0..c_T feature-major
    h[0], c[0] = v.state("h0", h0, B, H, dtype), v.state("c0", c0, B, H, dtype).T
    h_t, tanh_c, ig = np.empty((H, B), dtype), np.empty((H, B), dtype), np.empty((H, B), dtype)
    rec = np.empty((4 * H, B), dtype)
    gates = np.matmul(W_ih, x.transpose(0, 2, 1))  # (T, 4H, B): W_ih x_t for every step at once
    gates += (p["bias_ih"] + p["bias_hh"])[:, None]  # ... + b_ih + b_hh
    for t in range(T):
        a = gates[t]  # (4H, B), activated in place: afterwards it holds [i, f, g, o]
        a += np.matmul(W_hh, h[t].T, out=rec)  # a_t = ... + W_hh h_{t-1}
        sigmoid_(a[: 2 * H])  # i, f
        np.tanh(a[2 * H : 3 * H], out=a[2 * H : 3 * H])  # g
        sigmoid_(a[3 * H :])  # o
        i, f, g, o = a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]
        np.multiply(f, c[t], out=c[t + 1])  # c_t = f * c_{t-1} ...
        c[t + 1] += np.multiply(i, g, out=ig)  # ... + i * g
        np.tanh(c[t + 1], out=tanh_c)
        np.multiply(o, tanh_c, out=h_t)  # h_t = o * tanh(c_t)
        h[t + 1] = h_t.T

    # the cache holds (T, B, .) views of the feature-major arrays; lstm_backward transposes them back
    cache = LSTMCache(x, h, c.transpose(0, 2, 1), gates.transpose(0, 2, 1), p)
    out = h[1:]
    out.flags.writeable = False  # a view of the cache: an in-place edit would silently corrupt lstm_backward
    return out, (h[T].copy(), c[T].T.copy()), cache


def _check_sequence_grads(dout: Any, dh_T: Any, dc_T: Any, cache: LSTMCache) -> tuple[np.ndarray, ...]:
    (T, B, _), H = cache.gates.shape, cache.h.shape[2]
    dtype = cache.h.dtype
    dout = v.as_float("dout", dout, dtype)
    v.check_shape("dout", dout, ("T", "B", "H"), {"T": T, "B": B, "H": H})
    dh = v.optional_grad("dh_T", dh_T, (B, H), "B,H", dtype).copy()
    dc = v.optional_grad("dc_T", dc_T, (B, H), "B,H", dtype).copy()
    return dout, dh, dc


def lstm_backward(
    dout: np.ndarray, cache: LSTMCache, dh_T: np.ndarray | None = None, dc_T: np.ndarray | None = None
) -> tuple[np.ndarray, dict, tuple[np.ndarray, np.ndarray]]:
    """Backpropagation through time for :func:`lstm_forward`: :func:`lstm_step_backward` over t, vectorised.

    Args:
        dout: (T, B, H) dL/d out_t for every step.
        cache: from :func:`lstm_forward`.
        dh_T, dc_T: (B, H) extra gradients flowing into the final states h_T, c_T (None: zero).

    Returns:
        dx: (T, B, D); grads: dict like params (summed over time); (dh0, dc0): (B, H) each.
    """
    x, h, c, gates, p = cache
    (T, B, D), H = x.shape, h.shape[2]
    dout, dh, dc = _check_sequence_grads(dout, dh_T, dc_T, cache)
    # feature-major, as in lstm_forward: views of the cache, copies of the incoming gradients
    gates_f, c_f = gates.transpose(0, 2, 1), c.transpose(0, 2, 1)  # (T, 4H, B), (T + 1, H, B)
    dh, dc = np.ascontiguousarray(dh.T), np.ascontiguousarray(dc.T)  # (H, B) dL/dh_t, dL/dc_t
    da = np.empty((4 * H, T, B), h.dtype)  # dL/da_t for every step: da[:, t] = da_t; (4H, T*B) after the loop
    da_t, tmp2 = np.empty((4 * H, B), h.dtype), np.empty((2 * H, B), h.dtype)
    tanh_c, tmp = np.empty((H, B), h.dtype), np.empty((H, B), h.dtype)
    di, df, dg, do = da_t[:H], da_t[H : 2 * H], da_t[2 * H : 3 * H], da_t[3 * H :]
    for t in reversed(range(T)):
        a = gates_f[t]  # (4H, B) the activated gates [i, f, g, o]
        i, f, g, o = a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]
        np.tanh(c_f[t + 1], out=tanh_c)  # recomputed: cheaper than keeping (T, H, B) more memory
        dh += dout[t].T  # h_t feeds out_t and step t + 1
        np.multiply(dh, tanh_c, out=do)  # h = o * tanh(c)
        dh *= o  # dh now holds dh * o (it is overwritten below anyway)
        dh *= np.subtract(1, np.multiply(tanh_c, tanh_c, out=tmp), out=tmp)
        dc += dh  # h = o * tanh(c): dc += dh * o * (1 - tanh(c)^2)
        np.multiply(dc, c_f[t], out=df)  # c = f * c_prev + i * g
        np.multiply(dc, g, out=di)
        np.multiply(dc, i, out=dg)
        dc *= f  # dc_prev
        da_t[: 2 * H] *= np.multiply(
            np.subtract(1, a[: 2 * H], out=tmp2), a[: 2 * H], out=tmp2
        )  # i, f = sigma
        dg *= np.subtract(1, np.multiply(g, g, out=tmp), out=tmp)  # g = tanh(a_g)
        do *= np.multiply(np.subtract(1, o, out=tmp), o, out=tmp)  # o = sigma(a_o)
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
