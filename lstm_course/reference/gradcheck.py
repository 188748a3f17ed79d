"""Central-difference gradient checking: the test every hand-written backward function must pass."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """dF/dx by central differences: (f(x + eps e_k) - f(x - eps e_k)) / (2 eps) for every entry k of x.

    Args:
        f: a function of no arguments returning a scalar; it must read ``x`` (a closure over it).
        x: a float array of any shape, perturbed in place one entry at a time and restored exactly.
        eps: the step; 1e-6 suits float64 (in float32 the differences drown in rounding).

    Returns:
        An array of x's shape and dtype.
    """
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        kind = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(f"x must be a float ndarray that f reads (it is perturbed in place), got {kind}")
    if not x.flags.writeable:
        raise ValueError("x must be writeable: it is perturbed in place")
    grad = np.zeros_like(x)
    for k in np.ndindex(x.shape):
        old = x[k]
        x[k] = old + eps
        plus = float(f())  # f(x + eps e_k)
        x[k] = old - eps
        minus = float(f())  # f(x - eps e_k)
        x[k] = old
        grad[k] = (plus - minus) / (2 * eps)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / (||a|| + ||b||), Frobenius norms; 0.0 when both are zero.

    Taken over whole arrays, not entry by entry, so entries that are zero up to rounding do not dominate.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)
