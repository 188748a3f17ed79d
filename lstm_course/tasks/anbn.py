"""Counting: strings aⁿbⁿ, and at every b the question "is this the last b?".

A recurrent model answers it for every n only if it counts the a's and then counts down (Weiss et al. 2018:
an LSTM can, with its unbounded cell; a GRU, whose state is bounded, cannot in general). A model trained on
n <= N that answers right for larger n has generalised the count.
"""

from __future__ import annotations

import numpy as np

IGNORE = -1.0  # the target of a step that is not scored (an a, or padding)


def anbn_batch(ns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The strings aⁿbⁿ for each n in ``ns`` (B,), padded with zero inputs to T = 2 max(n).

    Returns:
        x (T, B, 2) float32 one-hot inputs (channel 0 is a, channel 1 is b; padding is all zero), and y (T, B)
        float32: at each b, 1.0 if it is the last one (as many b's as a's so far) else 0.0; IGNORE at every a
        and at padding.
    """
    ns = np.asarray(ns)
    if ns.ndim != 1 or ns.size == 0 or not np.issubdtype(ns.dtype, np.integer) or ns.min() < 1:
        raise ValueError(f"ns must be a non-empty 1-d array of ints >= 1, got {ns!r}")
    T, B = 2 * int(ns.max()), ns.size
    t = np.arange(T)[:, None]  # (T, 1)
    is_a, is_b = t < ns[None, :], (t >= ns[None, :]) & (t < 2 * ns[None, :])
    x = np.zeros((T, B, 2), dtype=np.float32)
    x[..., 0], x[..., 1] = is_a, is_b
    y = np.where(is_b, (t == 2 * ns[None, :] - 1).astype(np.float32), IGNORE).astype(np.float32)
    return x, y


def random_ns(batch_size: int, max_n: int, rng: np.random.Generator) -> np.ndarray:
    """(B,) values of n drawn uniformly from 1 .. ``max_n``."""
    if batch_size < 1 or max_n < 1:
        raise ValueError(f"batch_size and max_n must be >= 1, got {batch_size!r}, {max_n!r}")
    return rng.integers(1, max_n + 1, size=batch_size)
