"""The adding problem (Hochreiter & Schmidhuber 1997, experiment 4 in the form of Le et al. 2015)."""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

#: MSE of always predicting the mean target 1: the variance of the sum of two U(0, 1) numbers is 2/12.
ADDING_BASELINE_MSE = 1.0 / 6.0


def adding_batch(
    batch_size: int, T: int, rng: np.random.Generator, dtype: DTypeLike = np.float32
) -> tuple[np.ndarray, np.ndarray]:
    """A batch of the adding problem: sum the two values whose marker is 1.

    Each step carries two features: a value drawn from U(0, 1) and a marker. Exactly two markers are 1,
    one in the first half of the sequence and one in the second, so the answer depends on inputs
    about T/2 steps apart. Predicting the mean (1.0) scores :data:`ADDING_BASELINE_MSE` = 1/6.

    Args:
        batch_size: B, the number of sequences.
        T: the sequence length, at least 2.
        rng: the random generator.
        dtype: the float dtype of both arrays.

    Returns:
        x: (T, B, 2), features [value, marker] per step.
        y: (B, 1), the sum of the two marked values.
    """
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if not isinstance(T, (int, np.integer)) or T < 2:
        raise ValueError(f"T must be an int >= 2, got {T!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    values = rng.random((T, batch_size))
    half = T // 2
    first = rng.integers(0, half, size=batch_size)
    second = rng.integers(half, T, size=batch_size)
    markers = np.zeros((T, batch_size))
    cols = np.arange(batch_size)
    markers[first, cols] = 1.0
    markers[second, cols] = 1.0
    x = np.stack([values, markers], axis=-1).astype(dtype)
    y = (values[first, cols] + values[second, cols])[:, None].astype(dtype)
    return x, y
