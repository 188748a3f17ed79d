# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Exercise 8: attention, forward and backward, with a mask
#
# You write the masked softmax, then scaled dot-product attention and additive (Bahdanau) attention, each
# forward and backward, in NumPy. Each check compares your function with the course's reference on fresh
# random inputs and names the mistake when they differ (the softmax over the wrong axis, the mask applied
# after the softmax, the missing $1/\sqrt{d}$, a transposed score matrix, the softmax's gradient taken
# element-wise...).
#
# **How to work.** Replace each `raise NotImplementedError(...)` with your code and run the check below it.
# Leave the check cells as they are.
#
# Letters: B batch, Tq queries, Tk keys, Dk the query and key size, Dv the value size. Batches come first:
# `query` (B, Tq, Dk), `keys` (B, Tk, Dk), `values` (B, Tk, Dv). A `mask` is boolean, (B, Tq, Tk) or
# broadcastable to it, such as a padding mask (B, 1, Tk); **True means the query may attend to that key**.
# `mask=None` means attend everywhere. Chapter 8 derives every equation used here:
#
# $$\alpha_{ij} = \frac{\exp e_{ij}}{\sum_{k:\,m_{ik}} \exp e_{ik}} \ \ (\alpha_{ij} = 0 \text{ where }
#   m_{ij} \text{ is False}),\qquad c_i = \sum_j \alpha_{ij} v_j .$$

# %%
import numpy as np

from lstm_course.checks.attention import (
    check_additive_attention_backward,
    check_additive_attention_forward,
    check_dot_product_attention_backward,
    check_dot_product_attention_forward,
    check_masked_softmax,
)

# %% [markdown]
# ## 1. The masked softmax
#
# Normalise each row of `scores` (B, Tq, Tk) over the **keys**. A masked score must get weight exactly 0:
# set it to $-\infty$ *before* the softmax, so $\exp(-\infty) = 0$ and the remaining weights still sum to
# one. Subtract each row's maximum before `np.exp`, or large scores overflow. (Every case gives each query
# at least one key.)


# %%
def masked_softmax(scores: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """scores (B, Tq, Tk), mask (broadcastable, True = may attend) or None -> weights (B, Tq, Tk)."""
    ### BEGIN SOLUTION
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    shifted = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)
    ### END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
check_masked_softmax(masked_softmax)

# %% [markdown]
# ## 2. Scaled dot-product attention, forward
#
# $$e_{ij} = \frac{q_i \cdot k_j}{\sqrt{D_k}},\qquad \alpha = \mathrm{softmax}(e),\qquad c = \alpha V .$$
#
# For a batch, `query @ keys.transpose(0, 2, 1)` gives the (B, Tq, Tk) scores. Return the context (B, Tq, Dv),
# the weights (B, Tq, Tk) and a cache for the backward.


# %%
def dot_product_attention_forward(
    query: np.ndarray, keys: np.ndarray, values: np.ndarray, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, tuple]:
    """query (B, Tq, Dk), keys (B, Tk, Dk), values (B, Tk, Dv) -> context (B, Tq, Dv), weights, cache."""
    ### BEGIN SOLUTION
    scale = 1 / np.sqrt(keys.shape[2])
    scores = (query @ keys.transpose(0, 2, 1)) * scale  # (B, Tq, Tk)
    weights = masked_softmax(scores, mask)
    context = weights @ values  # (B, Tq, Dv)
    return context, weights, (query, keys, values, weights, scale)
    ### END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
check_dot_product_attention_forward(dot_product_attention_forward)

# %% [markdown]
# ## 3. Scaled dot-product attention, backward
#
# Given `dcontext` $=\partial L/\partial c$ (B, Tq, Dv), return $\partial L/\partial q$, $\partial L/\partial
# k$, $\partial L/\partial v$. The step that needs care is the softmax: each weight in a row depends on
# *every* score of that row, so its Jacobian is not diagonal:
#
# $$\frac{\partial L}{\partial e_{ij}} = \alpha_{ij}\Big(\frac{\partial L}{\partial \alpha_{ij}} - \sum_k
#   \frac{\partial L}{\partial \alpha_{ik}}\,\alpha_{ik}\Big).$$
#
# Masked entries have $\alpha_{ij} = 0$, so they get no gradient by themselves.


# %%
def dot_product_attention_backward(
    dcontext: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dcontext (B, Tq, Dv) -> dquery (B, Tq, Dk), dkeys (B, Tk, Dk), dvalues (B, Tk, Dv)."""
    ### BEGIN SOLUTION
    query, keys, values, weights, scale = cache
    dweights = dcontext @ values.transpose(0, 2, 1)  # c = alpha V
    dvalues = weights.transpose(0, 2, 1) @ dcontext  # c = alpha V
    dscores = weights * (dweights - np.sum(dweights * weights, axis=-1, keepdims=True))  # alpha = softmax(e)
    dscores = dscores * scale  # e = scale q k^T
    return dscores @ keys, dscores.transpose(0, 2, 1) @ query, dvalues
    ### END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
check_dot_product_attention_backward(dot_product_attention_forward, dot_product_attention_backward)

# %% [markdown]
# ## 4. Additive (Bahdanau) attention, forward
#
# The score is a small network: $e_{ij} = v^\top \tanh(W_q q_i + W_k k_j)$, with `params` holding `W_q`
# (A, Dq), `W_k` (A, Dk) and `v` (A,). The query and key sizes may now differ. Broadcast the projections
# to (B, Tq, Tk, A): `(query @ W_q.T)[:, :, None, :] + (keys @ W_k.T)[:, None, :, :]`. Keep the tanh
# (B, Tq, Tk, A) in the cache.


# %%
def additive_attention_forward(
    query: np.ndarray, keys: np.ndarray, values: np.ndarray, params: dict, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, tuple]:
    """query (B, Tq, Dq), keys (B, Tk, Dk), values (B, Tk, Dv) -> context (B, Tq, Dv), weights, cache."""
    ### BEGIN SOLUTION
    W_q, W_k, v = params["W_q"], params["W_k"], params["v"]
    hidden = np.tanh((query @ W_q.T)[:, :, None, :] + (keys @ W_k.T)[:, None, :, :])  # (B, Tq, Tk, A)
    scores = hidden @ v  # (B, Tq, Tk)
    weights = masked_softmax(scores, mask)
    context = weights @ values
    return context, weights, (query, keys, values, weights, hidden, params)
    ### END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
check_additive_attention_forward(additive_attention_forward)

# %% [markdown]
# ## 5. Additive attention, backward
#
# Return `dquery`, `dkeys`, `dvalues` and `grads`, a dict with the keys `W_q`, `W_k`, `v`. After the softmax
# (as in 3, without the scale), go back through $e = \text{hidden}\cdot v$ and $\text{hidden} =
# \tanh(\text{pre})$. The query's projection was broadcast over the keys and the key's over the queries, so
# sum `dpre` (B, Tq, Tk, A) over the axis each one was broadcast along.


# %%
def additive_attention_backward(
    dcontext: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """dcontext (B, Tq, Dv) -> dquery (B, Tq, Dq), dkeys (B, Tk, Dk), dvalues (B, Tk, Dv), grads."""
    ### BEGIN SOLUTION
    query, keys, values, weights, hidden, params = cache
    dweights = dcontext @ values.transpose(0, 2, 1)  # c = alpha V
    dvalues = weights.transpose(0, 2, 1) @ dcontext  # c = alpha V
    dscores = weights * (dweights - np.sum(dweights * weights, axis=-1, keepdims=True))  # alpha = softmax(e)
    dv = np.einsum("bij,bija->a", dscores, hidden)  # e = hidden . v
    dpre = dscores[..., None] * params["v"] * (1 - hidden**2)  # hidden = tanh(pre)
    dq_proj, dk_proj = dpre.sum(axis=2), dpre.sum(axis=1)  # pre = W_q q_i + W_k k_j
    grads = {
        "W_q": np.einsum("bia,bid->ad", dq_proj, query),
        "W_k": np.einsum("bja,bjd->ad", dk_proj, keys),
        "v": dv,
    }
    return dq_proj @ params["W_q"], dk_proj @ params["W_k"], dvalues, grads
    ### END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
check_additive_attention_backward(additive_attention_forward, additive_attention_backward)

# %% [markdown]
# All five pass? Chapter 8 puts additive attention into the encoder–decoder of chapter 7 and draws where it
# looks.
