"""Activations and their derivatives, written so that no input overflows.

Every function takes an array of any shape and returns one of the same shape and float dtype
(integers are treated as float64).
"""

from __future__ import annotations

import numpy as np

from ._validate import as_float


def sigmoid(x: np.ndarray) -> np.ndarray:
    """sigma(x) = 1 / (1 + exp(-x)), for x of any shape, without overflow.

    exp is only ever taken of -|x| <= 0, so it lies in (0, 1]:
    sigma(x) = 1 / (1 + exp(-x)) for x >= 0 and exp(x) / (1 + exp(x)) for x < 0.
    """
    x = as_float("x", x)
    z = np.exp(-np.abs(x))  # in (0, 1], never overflows
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z)).astype(x.dtype, copy=False)


def tanh(x: np.ndarray) -> np.ndarray:
    """tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x)), for x of any shape (NumPy's is already stable)."""
    return np.tanh(as_float("x", x))


def sigmoid_derivative(y: np.ndarray) -> np.ndarray:
    """d sigma / dx written in the output: given y = sigma(x), returns y * (1 - y)."""
    y = as_float("y", y)
    return y * (1 - y)


def tanh_derivative(y: np.ndarray) -> np.ndarray:
    """d tanh / dx written in the output: given y = tanh(x), returns 1 - y**2."""
    y = as_float("y", y)
    return 1 - y * y


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """softmax(x)_k = exp(x_k - m) / sum_j exp(x_j - m) along ``axis``, m = max_j x_j (no overflow)."""
    x = as_float("x", x)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """log softmax(x)_k = (x_k - m) - log sum_j exp(x_j - m) along ``axis``, m = max_j x_j."""
    x = as_float("x", x)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def sigmoid_(a: np.ndarray) -> np.ndarray:
    """In place: a <- sigma(a) through the identity sigma(a) = (1 + tanh(a / 2)) / 2 (stable, no temporaries).

    Used by the vectorised sequence functions; the step functions use :func:`sigmoid`.
    """
    a *= 0.5
    np.tanh(a, out=a)
    a += 1.0
    a *= 0.5
    return a
