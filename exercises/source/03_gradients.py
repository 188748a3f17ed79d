# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Exercise 3: exploding and vanishing gradients
#
# Two tools for the gradients of recurrent networks: clipping their norm, which tames explosions, and
# measuring how the gradient of a loss at the last step shrinks as it travels back in time.
#
# **How to work.** Replace each `raise NotImplementedError(...)` with your code and run the check below it. A
# failing check names the mistake on its first line and gives the seed to reproduce it on its last. Leave the
# check cells as they are.

# %%
import numpy as np

from lstm_course.checks.gradients import check_clip_grad_norm, check_hidden_gradient_norms
from lstm_course.reference import rnn_step_backward, rnn_step_forward

# %% [markdown]
# ## 1. Clipping the total norm
#
# Like `torch.nn.utils.clip_grad_norm_`: the total norm is the L2 norm of all gradients together, $\lVert
# g\rVert = \sqrt{\sum_k \sum_{ij} (g_k)_{ij}^2}$. When it exceeds `max_norm`, scale **every** array by the
# same factor `max_norm / (total_norm + 1e-6)`, in place; otherwise leave them alone. Return the total norm
# measured before clipping.


# %%
def clip_grad_norm(grads: dict, max_norm: float) -> float:
    """Scale ``grads`` in place so their joint L2 norm is at most max_norm; return the norm before."""
    ### BEGIN SOLUTION
    total = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
    factor = max_norm / (total + 1e-6)
    if factor < 1:
        for g in grads.values():
            g *= factor
    return total
    ### END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
check_clip_grad_norm(clip_grad_norm)

# %% [markdown]
# ## 2. How far back does the gradient reach?
#
# Run the RNN over `x` with the reference's `rnn_step_forward` (keep each step's cache), take the loss $L =
# \sum h_T$ (so $\partial L/\partial h_{T-1} = 1$ everywhere, with time indexed 0..T-1), and walk back with
# `rnn_step_backward`, recording $\lVert \partial L/\partial h_t\rVert$ (the Frobenius norm over (B, H)) for
# every t. No other loss term enters, so only the recurrent path carries the gradient.


# %%
def hidden_gradient_norms(params: dict, x: np.ndarray, h0: np.ndarray | None = None) -> np.ndarray:
    """x (T, B, D) -> norms (T,): norms[t] = ||dL/dh_t|| for L = sum(h_{T-1}), the last hidden state."""
    ### BEGIN SOLUTION
    T, B, _ = x.shape
    H = params["weight_hh"].shape[1]
    h = np.zeros((B, H)) if h0 is None else h0
    caches = []
    for t in range(T):
        h, cache = rnn_step_forward(x[t], h, params)
        caches.append(cache)
    dh, norms = np.ones((B, H)), np.zeros(T)
    for t in reversed(range(T)):
        norms[t] = np.linalg.norm(dh)  # dL/dh_t
        _, dh, _ = rnn_step_backward(dh, caches[t])  # dL/dh_{t-1}
    return norms
    ### END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
check_hidden_gradient_norms(hidden_gradient_norms)

# %% [markdown]
# Try it yourself: with small recurrent weights the norms fall geometrically as t goes back; with large ones
# they can grow. Plot `np.log10(norms)` against t for a few weight scales.
