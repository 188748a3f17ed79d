# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Exercise 6: the GRU, one step and through time
#
# You write the GRU step forward and backward, then the full sequence forward and backward, in NumPy. Each
# check compares your function with the course's reference on fresh random inputs and names the mistake when
# they differ (another paper's convention, z and 1 - z swapped, a bias in the wrong place, a gradient not
# carried back in time...).
#
# **How to work.** Replace each `raise NotImplementedError(...)` with your code and run the check below it.
# Leave the check cells as they are.
#
# Letters: T time steps, B batch, D input features, H hidden units. Parameters use torch's layout, three gates
# stacked in the order **r, z, n**: `weight_ih` (3H, D), `weight_hh` (3H, H), `bias_ih` (3H,), `bias_hh`
# (3H,). Split $x_t W_{ih}^\top + b_{ih}$ into the (B, H) blocks $x_r, x_z, x_n$ and
# $h_{t-1} W_{hh}^\top + b_{hh}$ into $h_r, h_z, h_n$. In torch's convention
#
# $$r = \sigma(x_r + h_r),\quad z = \sigma(x_z + h_z),\quad n = \tanh(x_n + r \odot h_n),\qquad
#   h_t = (1 - z) \odot n + z \odot h_{t-1}.$$
#
# The reset gate multiplies the recurrent part *after* the matmul, bias $b_{hn}$ included, and $z$ is the
# share of the *old* state that is kept. Papers and Keras also use other conventions (chapter 5 shows them);
# the checks expect torch's.

# %%
import numpy as np

from lstm_course.checks.gru import (
    check_gru_backward,
    check_gru_forward,
    check_gru_step_backward,
    check_gru_step_forward,
)
from lstm_course.reference import sigmoid

# %% [markdown]
# ## 1. One step forward
#
# Return h and a cache with whatever your backward needs. Keep $h_n$ (the recurrent part of the candidate,
# before $r$ scales it): the backward needs it.


# %%
def gru_step_forward(x_t: np.ndarray, h_prev: np.ndarray, params: dict) -> tuple[np.ndarray, tuple]:
    """x_t (B, D), h_prev (B, H) -> h (B, H), cache."""
    ### BEGIN SOLUTION
    H = h_prev.shape[1]
    ax = x_t @ params["weight_ih"].T + params["bias_ih"]  # (B, 3H): x_r, x_z, x_n
    ah = h_prev @ params["weight_hh"].T + params["bias_hh"]  # (B, 3H): h_r, h_z, h_n
    r = sigmoid(ax[:, :H] + ah[:, :H])
    z = sigmoid(ax[:, H : 2 * H] + ah[:, H : 2 * H])
    h_n = ah[:, 2 * H :]
    n = np.tanh(ax[:, 2 * H :] + r * h_n)
    h = (1 - z) * n + z * h_prev
    return h, (x_t, h_prev, r, z, n, h_n, params)
    ### END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
check_gru_step_forward(gru_step_forward)

# %% [markdown]
# ## 2. One step backward
#
# Given `dh` $=\partial L/\partial h_t$, return $\partial L/\partial x_t$, $\partial L/\partial h_{t-1}$ and
# the parameter gradients. $h_{t-1}$ reaches $h_t$ on two paths: directly through $z \odot h_{t-1}$, and
# through the matmuls of all three gates. The input and recurrent sides now get *different* gradients in the
# $n$ block, because $r$ scales only the recurrent side.


# %%
def gru_step_backward(dh: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, dict]:
    """dh (B, H) -> dx_t (B, D), dh_prev (B, H), grads (dict like params)."""
    ### BEGIN SOLUTION
    x_t, h_prev, r, z, n, h_n, params = cache
    dn = dh * (1 - z)  # h = (1 - z) n + z h_prev
    dz = dh * (h_prev - n)  # h = (1 - z) n + z h_prev
    da_n = dn * (1 - n**2)  # n = tanh(a_n)
    dr = da_n * h_n  # a_n = x_n + r h_n
    da_r = dr * r * (1 - r)  # r = sigmoid(a_r)
    da_z = dz * z * (1 - z)  # z = sigmoid(a_z)
    dax = np.concatenate([da_r, da_z, da_n], axis=1)  # (B, 3H) input side
    dah = np.concatenate([da_r, da_z, da_n * r], axis=1)  # (B, 3H) recurrent side: r scales h_n
    grads = {
        "weight_ih": dax.T @ x_t,
        "weight_hh": dah.T @ h_prev,
        "bias_ih": dax.sum(axis=0),
        "bias_hh": dah.sum(axis=0),
    }
    dh_prev = dh * z + dah @ params["weight_hh"]  # the direct path, then the matmuls
    return dax @ params["weight_ih"], dh_prev, grads
    ### END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
check_gru_step_backward(gru_step_forward, gru_step_backward)

# %% [markdown]
# ## 3. The sequence forward
#
# Loop your step over time; `h0` None means zeros. Return `out` (T, B, H) (every h), the final state `h_T` and
# a cache.


# %%
def gru_forward(
    x: np.ndarray, params: dict, h0: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, list]:
    """x (T, B, D) -> out (T, B, H), h_T (B, H), cache."""
    ### BEGIN SOLUTION
    T, B, _ = x.shape
    H = params["weight_hh"].shape[1]
    h = np.zeros((B, H)) if h0 is None else h0
    out, caches = np.empty((T, B, H)), []
    for t in range(T):
        h, cache = gru_step_forward(x[t], h, params)
        out[t] = h
        caches.append(cache)
    return out, h, caches
    ### END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
check_gru_forward(gru_forward)

# %% [markdown]
# ## 4. Backpropagation through time
#
# Step t receives `dout[t]` plus what step t+1 sent back to $h_t$. There is no cell state: the GRU's memory
# path is the direct term $z \odot h_{t-1}$, so `dh_prev` carries it.


# %%
def gru_backward(
    dout: np.ndarray, cache: list, dh_T: np.ndarray | None = None
) -> tuple[np.ndarray, dict, np.ndarray]:
    """dout (T, B, H), dh_T (B, H) or None -> dx (T, B, D), grads (summed over time), dh0 (B, H)."""
    ### BEGIN SOLUTION
    T = dout.shape[0]
    dh_next = np.zeros_like(dout[0]) if dh_T is None else dh_T
    dx, grads = None, None
    for t in reversed(range(T)):
        dx_t, dh_next, step_grads = gru_step_backward(dout[t] + dh_next, cache[t])
        if dx is None:
            dx = np.empty((T, *dx_t.shape))
            grads = {key: np.zeros_like(value) for key, value in step_grads.items()}
        dx[t] = dx_t
        for key in grads:
            grads[key] += step_grads[key]
    return dx, grads, dh_next
    ### END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
check_gru_backward(gru_forward, gru_backward)

# %% [markdown]
# All four pass? Chapter 5 compares your cell with the LSTM on the same tasks.
