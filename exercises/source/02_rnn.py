# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Exercise 2: the RNN, one step and through time
#
# You write the vanilla RNN step forward and backward, then run it over a sequence and backpropagate through
# time (BPTT). Each check compares your function with the course's reference on fresh random inputs.
#
# **How to work.** Replace each `raise NotImplementedError(...)` with your code and run the check below it. A
# failing check names the mistake on its first line and gives the seed to reproduce it on its last. Leave the
# check cells as they are.
#
# Letters: T time steps, B batch, D input features, H hidden units. Parameters use torch's names and layout:
# `weight_ih` (H, D), `weight_hh` (H, H), `bias_ih` (H,), `bias_hh` (H,), and
#
# $$h_t = \tanh(x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh}).$$

# %%
import numpy as np

from lstm_course.checks.rnn import (
    check_rnn_backward,
    check_rnn_forward,
    check_rnn_step_backward,
    check_rnn_step_forward,
)

# %% [markdown]
# ## 1. One step forward
#
# Return the new hidden state and a cache: whatever your backward will need (a tuple is fine).


# %%
def rnn_step_forward(x_t: np.ndarray, h_prev: np.ndarray, params: dict) -> tuple[np.ndarray, tuple]:
    """x_t (B, D), h_prev (B, H) -> h (B, H) = tanh(x_t W_ih^T + b_ih + h_prev W_hh^T + b_hh), cache."""
    ### BEGIN SOLUTION
    a = x_t @ params["weight_ih"].T + params["bias_ih"] + h_prev @ params["weight_hh"].T + params["bias_hh"]
    h = np.tanh(a)
    return h, (x_t, h_prev, h, params)
    ### END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
check_rnn_step_forward(rnn_step_forward)

# %% [markdown]
# ## 2. One step backward
#
# Given `dh` $= \partial L/\partial h$, return $\partial L/\partial x_t$, $\partial L/\partial h_{t-1}$ and a
# dict of parameter gradients with the same keys and shapes as `params`. Go back through the tanh first: with
# $h = \tanh(a)$, $\partial h/\partial a = 1 - h^2$.


# %%
def rnn_step_backward(dh: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, dict]:
    """dh (B, H) -> dx_t (B, D), dh_prev (B, H), grads (dict like params)."""
    ### BEGIN SOLUTION
    x_t, h_prev, h, params = cache
    da = dh * (1 - h * h)  # h = tanh(a)
    grads = {
        "weight_ih": da.T @ x_t,  # a = x_t W_ih^T + ...
        "weight_hh": da.T @ h_prev,  # a = ... + h_prev W_hh^T
        "bias_ih": da.sum(axis=0),
        "bias_hh": da.sum(axis=0),
    }
    return da @ params["weight_ih"], da @ params["weight_hh"], grads
    ### END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
check_rnn_step_backward(rnn_step_forward, rnn_step_backward)

# %% [markdown]
# ## 3. The sequence forward
#
# Loop your step over time. `x` is time-major (T, B, D); `h0` None means zeros. Return every hidden state
# `out` (T, B, H), the last one `h_T`, and a cache (for instance the list of step caches).


# %%
def rnn_forward(
    x: np.ndarray, params: dict, h0: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, list]:
    """x (T, B, D), h0 (B, H) or None -> out (T, B, H), h_T (B, H), cache."""
    ### BEGIN SOLUTION
    T, B, _ = x.shape
    H = params["weight_hh"].shape[1]
    h = np.zeros((B, H)) if h0 is None else h0
    out, caches = np.empty((T, B, H)), []
    for t in range(T):
        h, cache = rnn_step_forward(x[t], h, params)
        out[t] = h
        caches.append(cache)
    return out, h, caches
    ### END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
check_rnn_forward(rnn_forward)

# %% [markdown]
# ## 4. Backpropagation through time
#
# `dout[t]` is $\partial L/\partial h_t$ from the loss at step t; `dh_T` an extra gradient into the last
# state. Walk back from t = T-1 to 0: step t receives `dout[t]` plus the gradient that step t+1 sent back to
# $h_t$. The same weights serve every step, so their gradients add up over time.


# %%
def rnn_backward(
    dout: np.ndarray, cache: list, dh_T: np.ndarray | None = None
) -> tuple[np.ndarray, dict, np.ndarray]:
    """dout (T, B, H), dh_T (B, H) or None -> dx (T, B, D), grads (summed over time), dh0 (B, H)."""
    ### BEGIN SOLUTION
    T = dout.shape[0]
    dh_next = np.zeros_like(dout[0]) if dh_T is None else dh_T
    dx, grads = None, None
    for t in reversed(range(T)):
        dx_t, dh_next, step_grads = rnn_step_backward(
            dout[t] + dh_next, cache[t]
        )  # h_t feeds out_t and h_{t+1}
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
check_rnn_backward(rnn_forward, rnn_backward)

# %% [markdown]
# All four pass? The next chapter asks what happens to that gradient over many steps; exercise 3 measures it.
