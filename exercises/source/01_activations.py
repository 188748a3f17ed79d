# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Exercise 1: activations and a dense layer
#
# Every recurrent cell in this course is built from three activations and one dense layer. You write them
# here, and a check compares each with the course's reference on fresh random inputs every time you run it.
#
# **How to work.** Replace each `raise NotImplementedError(...)` with your code, then run the check cell below
# it. A passing check prints one line such as `✓ sigmoid: 5/5 checks passed`. A failing one raises an error
# whose first line names the mistake and whose last line gives the seed to reproduce it. Leave the check cells
# as they are: grading reruns them.
#
# Shapes use N (rows, e.g. the batch), D (input features), M (output features). Use NumPy only.

# %%
import numpy as np

from lstm_course.checks.activations import (
    check_dense_backward,
    check_dense_forward,
    check_sigmoid,
    check_softmax,
    check_tanh_derivative,
)

# %% [markdown]
# ## 1. A sigmoid that never overflows
#
# $\sigma(x) = 1 / (1 + e^{-x})$. Written literally, `np.exp(-x)` overflows for $x = -1000$ and NumPy warns.
# Take the exponential only of $-|x|$: for $x \ge 0$ use $1/(1 + e^{-x})$, and for $x < 0$ the equal
# $e^{x}/(1 + e^{x})$. Keep the input's shape and float dtype.


# %%
def sigmoid(x: np.ndarray) -> np.ndarray:
    """sigma(x) = 1 / (1 + exp(-x)) elementwise, for x of any shape, without overflow."""
    ### BEGIN SOLUTION
    z = np.exp(-np.abs(x))  # in (0, 1]: never overflows
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z)).astype(x.dtype, copy=False)
    ### END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
check_sigmoid(sigmoid)

# %% [markdown]
# ## 2. The derivative of tanh, written in its output
#
# Backward passes keep the activation's output $y = \tanh(x)$, not its input. Write $d\tanh(x)/dx$ in terms
# of $y$.


# %%
def tanh_derivative(y: np.ndarray) -> np.ndarray:
    """Given y = tanh(x) of any shape, return d tanh(x) / dx = 1 - y**2."""
    ### BEGIN SOLUTION
    return 1 - y * y
    ### END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
check_tanh_derivative(tanh_derivative)

# %% [markdown]
# ## 3. Softmax along an axis
#
# $\mathrm{softmax}(x)_k = e^{x_k} / \sum_j e^{x_j}$ along `axis`. Logits of 1000 overflow `np.exp`;
# subtracting the maximum along the axis first changes nothing in the result and keeps every exponent $\le 0$.


# %%
def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax of x along ``axis``; every slice along it sums to 1. Same shape as x."""
    ### BEGIN SOLUTION
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)
    ### END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
check_softmax(softmax)

# %% [markdown]
# ## 4. A dense layer, forward and backward
#
# With torch's layout the weight is (M, D): $\text{out} = x W^\top + b$. The forward returns the output and a
# *cache*, whatever the backward needs. Given $\partial L/\partial\,\text{out}$ (`dout`, shape (N, M)), the
# backward returns $\partial L/\partial x$, $\partial L/\partial W$ and $\partial L/\partial b$, each with the
# shape of what it differentiates.


# %%
def dense_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, tuple]:
    """out = x @ weight.T + bias. x (N, D), weight (M, D), bias (M,) -> out (N, M), cache."""
    ### BEGIN SOLUTION
    out = x @ weight.T + bias
    return out, (x, weight)
    ### END SOLUTION


def dense_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dout (N, M) -> dx (N, D), dweight (M, D), dbias (M,)."""
    ### BEGIN SOLUTION
    x, weight = cache
    dx = dout @ weight  # out = x W^T + b
    dweight = dout.T @ x  # out = x W^T + b
    dbias = dout.sum(axis=0)  # b is added to every row
    return dx, dweight, dbias
    ### END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
check_dense_forward(dense_forward)

# %%
# NBVAL_CHECK_OUTPUT
check_dense_backward(dense_forward, dense_backward)

# %% [markdown]
# Every check passed? Then continue with the chapter on recurrent networks and exercise 2.
