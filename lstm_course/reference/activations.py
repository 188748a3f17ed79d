"""Activations and their derivatives, written so that no input overflows.

Every function takes an array of any shape and returns one of the same shape and float dtype
(integers are treated as float64). Input holding NaN or inf raises ValueError naming ``x`` (or ``y``), the
package's rule for non-finite input; any finite input gives a finite output without a warning.
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


def _check_axis(x: np.ndarray, axis: object) -> None:
    """ValueError naming ``axis`` unless it is an int in [-ndim, ndim) (TypeError unless an int)."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be an int, got {type(axis).__name__} {axis!r}")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis must be in [-{x.ndim}, {x.ndim}) for x of shape {x.shape}, got {axis}")


def _shifted(x: np.ndarray, axis: int) -> np.ndarray:
    """x - max(x) along ``axis``: every entry <= 0, the largest exactly 0.

    For input spanning the whole float range (say -1e308 and 1e308) the difference overflows to -inf, whose
    exp is 0: the right limit, so that overflow is expected and not warned about.
    """
    with np.errstate(over="ignore"):
        return x - np.max(x, axis=axis, keepdims=True)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """softmax(x)_k = exp(x_k - m) / sum_j exp(x_j - m) along ``axis``, m = max_j x_j (no overflow).

    An empty array (for example an axis of size 0) gives an empty array of the same shape.
    """
    x = as_float("x", x)
    _check_axis(x, axis)
    if x.size == 0:
        return x.copy()
    e = np.exp(_shifted(x, axis))  # the largest term is exp(0) = 1, so the sum is in [1, n]
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """log softmax(x)_k = (x_k - m) - log sum_j exp(x_j - m) along ``axis``, m = max_j x_j.

    An empty array (for example an axis of size 0) gives an empty array of the same shape.
    """
    x = as_float("x", x)
    _check_axis(x, axis)
    if x.size == 0:
        return x.copy()
    shifted = _shifted(x, axis)
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
