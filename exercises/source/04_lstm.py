# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Exercise 4: the LSTM, one step and through time
#
# You write the LSTM step forward and backward, then the full sequence forward and backward, in NumPy. Each
# check compares your function with the course's reference on fresh random inputs and names the mistake when
# they differ (swapped gates, a missing forget gate, a wrong derivative, a gradient not carried back in
# time...).
#
# **How to work.** Replace each `raise NotImplementedError(...)` with your code and run the check below it.
# Leave the check cells as they are.
#
# Letters: T time steps, B batch, D input features, H hidden units. Parameters use torch's layout, four gates
# stacked in the order **i, f, g, o**: `weight_ih` (4H, D), `weight_hh` (4H, H), `bias_ih` (4H,), `bias_hh`
# (4H,). With $a = x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh}$ split into four (B, H) blocks,
#
# $$i = \sigma(a_i),\quad f = \sigma(a_f),\quad g = \tanh(a_g),\quad o = \sigma(a_o),\qquad
#   c_t = f \odot c_{t-1} + i \odot g,\qquad h_t = o \odot \tanh(c_t).$$

# %%
import numpy as np

from lstm_course.checks.lstm import (
    check_lstm_backward,
    check_lstm_forward,
    check_lstm_step_backward,
    check_lstm_step_forward,
)
from lstm_course.reference import sigmoid

# %% [markdown]
# ## 1. One step forward
#
# Return h, c and a cache with whatever your backward needs. `sigmoid` is imported from the reference (you
# wrote your own in exercise 1).


# %%
def lstm_step_forward(
    x_t: np.ndarray, h_prev: np.ndarray, c_prev: np.ndarray, params: dict
) -> tuple[np.ndarray, np.ndarray, tuple]:
    """x_t (B, D), h_prev (B, H), c_prev (B, H) -> h (B, H), c (B, H), cache."""
    ### BEGIN SOLUTION
    H = h_prev.shape[1]
    a = x_t @ params["weight_ih"].T + params["bias_ih"] + h_prev @ params["weight_hh"].T + params["bias_hh"]
    i, f = sigmoid(a[:, :H]), sigmoid(a[:, H : 2 * H])
    g, o = np.tanh(a[:, 2 * H : 3 * H]), sigmoid(a[:, 3 * H :])
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    return h, c, (x_t, h_prev, c_prev, i, f, g, o, tanh_c, params)
    ### END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
check_lstm_step_forward(lstm_step_forward)

# %% [markdown]
# ## 2. One step backward
#
# Given `dh` $=\partial L/\partial h_t$ and `dc` $=\partial L/\partial c_t$ from later steps, return
# $\partial L/\partial x_t$, $\partial L/\partial h_{t-1}$, $\partial L/\partial c_{t-1}$ and the parameter
# gradients. The cell receives gradient from two places: `dc`, and `dh` through $h = o \odot \tanh(c)$.


# %%
def lstm_step_backward(
    dh: np.ndarray, dc: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """dh (B, H), dc (B, H) -> dx_t (B, D), dh_prev (B, H), dc_prev (B, H), grads (dict like params)."""
    ### BEGIN SOLUTION
    x_t, h_prev, c_prev, i, f, g, o, tanh_c, params = cache
    do = dh * tanh_c  # h = o tanh(c)
    dc = dc + dh * o * (1 - tanh_c**2)  # h = o tanh(c): c also reaches the loss through h
    da = np.concatenate(
        [
            dc * g * i * (1 - i),  # c = f c_prev + i g, i = sigmoid(a_i)
            dc * c_prev * f * (1 - f),  # f = sigmoid(a_f)
            dc * i * (1 - g**2),  # g = tanh(a_g)
            do * o * (1 - o),  # o = sigmoid(a_o)
        ],
        axis=1,
    )  # (B, 4H)
    grads = {
        "weight_ih": da.T @ x_t,
        "weight_hh": da.T @ h_prev,
        "bias_ih": da.sum(axis=0),
        "bias_hh": da.sum(axis=0),
    }
    return da @ params["weight_ih"], da @ params["weight_hh"], dc * f, grads
    ### END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
check_lstm_step_backward(lstm_step_forward, lstm_step_backward)

# %% [markdown]
# ## 3. The sequence forward
#
# Loop your step over time; `h0`, `c0` None mean zeros. Return `out` (T, B, H) (every h), the final state
# `(h_T, c_T)` and a cache.


# %%
def lstm_forward(
    x: np.ndarray, params: dict, h0: np.ndarray | None = None, c0: np.ndarray | None = None
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], list]:
    """x (T, B, D) -> out (T, B, H), (h_T (B, H), c_T (B, H)), cache."""
    ### BEGIN SOLUTION
    T, B, _ = x.shape
    H = params["weight_hh"].shape[1]
    h = np.zeros((B, H)) if h0 is None else h0
    c = np.zeros((B, H)) if c0 is None else c0
    out, caches = np.empty((T, B, H)), []
    for t in range(T):
        h, c, cache = lstm_step_forward(x[t], h, c, params)
        out[t] = h
        caches.append(cache)
    return out, (h, c), caches
    ### END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
check_lstm_forward(lstm_forward)

# %% [markdown]
# ## 4. Backpropagation through time
#
# As for the RNN, step t receives `dout[t]` plus what step t+1 sent back to $h_t$; the LSTM also carries
# $\partial L/\partial c_t$ back in time, and that path, scaled only by the forget gates, is what keeps the
# gradient alive over long spans.


# %%
def lstm_backward(
    dout: np.ndarray, cache: list, dh_T: np.ndarray | None = None, dc_T: np.ndarray | None = None
) -> tuple[np.ndarray, dict, tuple[np.ndarray, np.ndarray]]:
    """dout (T, B, H), dh_T, dc_T (B, H) or None -> dx (T, B, D), grads (summed over time), (dh0, dc0)."""
    ### BEGIN SOLUTION
    T = dout.shape[0]
    dh_next = np.zeros_like(dout[0]) if dh_T is None else dh_T
    dc_next = np.zeros_like(dout[0]) if dc_T is None else dc_T
    dx, grads = None, None
    for t in reversed(range(T)):
        dx_t, dh_next, dc_next, step_grads = lstm_step_backward(dout[t] + dh_next, dc_next, cache[t])
        if dx is None:
            dx = np.empty((T, *dx_t.shape))
            grads = {key: np.zeros_like(value) for key, value in step_grads.items()}
        dx[t] = dx_t
        for key in grads:
            grads[key] += step_grads[key]
    return dx, grads, (dh_next, dc_next)
    ### END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
check_lstm_backward(lstm_forward, lstm_backward)

# %% [markdown]
# All four pass? Exercise 5 trains an LSTM on the adding problem.
