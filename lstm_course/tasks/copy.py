"""The copy task: read a few symbols, wait through a delay, then write them back in order.

A sequence is ``length`` symbols (one of ``symbols`` each), then ``delay`` blank steps whose last one is the
"go" marker, then ``length`` blank steps during which the model must write the symbols it read, in order.
Guessing scores 1 / ``symbols``. Input channels: one per symbol, then blank, then go.
"""

from __future__ import annotations

import numpy as np

IGNORE = -100  # the target of a step that is not scored (torch's cross_entropy ignore_index)


def _positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def copy_batch(
    batch_size: int, length: int, delay: int, rng: np.random.Generator, symbols: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    """A batch of the copy task.

    Returns:
        x: (T, B, symbols + 2) float32 one-hot inputs, T = 2 * length + delay.
        y: (T, B) int64 targets: the symbol to write at the last ``length`` steps, IGNORE elsewhere.
    """
    B, length, delay = (
        _positive("batch_size", batch_size),
        _positive("length", length),
        _positive("delay", delay),
    )
    symbols = _positive("symbols", symbols)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    T, blank, go = 2 * length + delay, symbols, symbols + 1
    tokens = rng.integers(0, symbols, size=(length, B))
    channel = np.full((T, B), blank)
    channel[:length] = tokens
    channel[length + delay - 1] = go
    x = np.eye(symbols + 2, dtype=np.float32)[channel]  # (T, B, symbols + 2)
    y = np.full((T, B), IGNORE, dtype=np.int64)
    y[length + delay :] = tokens
    return x, y
