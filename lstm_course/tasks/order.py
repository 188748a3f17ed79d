"""Which came first? A task whose answer depends on order only.

Each sequence holds two marker tokens, A (index 0) and B (index 1), at random distinct positions among
filler tokens (indices 2 .. V-1). The label is 1 when A comes before B. Every sequence of one class has a
twin in the other with the same tokens, so a model that sees only which tokens occur (a bag of tokens) is at
chance, 0.5, whatever its size. A model that sees only the last W tokens can be sure only when a marker falls
in its window; when neither does, it can only guess.
"""

from __future__ import annotations

import numpy as np

TOKEN_A = 0
TOKEN_B = 1


def order_batch(
    batch_size: int, T: int, rng: np.random.Generator, vocab_size: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    """A batch of the which-came-first task.

    Args:
        batch_size: B, the number of sequences.
        T: the sequence length, at least 2.
        rng: the random generator.
        vocab_size: V, at least 3: A, B and V-2 filler tokens.

    Returns:
        x: (T, B) int64 token indices.
        y: (B,) int64, 1 when A occurs before B, else 0.
    """
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if not isinstance(T, (int, np.integer)) or T < 2:
        raise ValueError(f"T must be an int >= 2, got {T!r}")
    if not isinstance(vocab_size, (int, np.integer)) or vocab_size < 3:
        raise ValueError(f"vocab_size must be an int >= 3, got {vocab_size!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    x = rng.integers(2, vocab_size, size=(T, batch_size))
    # two distinct positions per sequence: the first uniformly, the second uniformly among the others
    pos_a = rng.integers(0, T, size=batch_size)
    pos_b = (pos_a + rng.integers(1, T, size=batch_size)) % T
    cols = np.arange(batch_size)
    x[pos_a, cols] = TOKEN_A
    x[pos_b, cols] = TOKEN_B
    y = (pos_a < pos_b).astype(np.int64)
    return x.astype(np.int64), y


def one_hot(indices: np.ndarray, vocab_size: int, dtype: type = np.float32) -> np.ndarray:
    """One-hot vectors: (...) int indices -> (..., V)."""
    idx = np.asarray(indices)
    if not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"indices must be integers, got dtype {idx.dtype}")
    if idx.size and (idx.min() < 0 or idx.max() >= vocab_size):
        raise ValueError(f"indices must lie in [0, {vocab_size}), got range [{idx.min()}, {idx.max()}]")
    return np.eye(vocab_size, dtype=dtype)[idx]


def window_accuracy_bound(T: int, window: int) -> float:
    """The best accuracy of any model that sees only the last ``window`` of T tokens.

    When at least one marker is in the window the answer is known: both there, read the order; only B
    there, A came earlier (1); only A there, B came earlier (0). When neither is, the best is a guess (0.5).
    The two positions are a uniform pair of distinct positions.
    """
    if not 1 <= window <= T:
        raise ValueError(f"window must lie in [1, T={T}], got {window}")
    outside = T - window
    p_neither = outside * (outside - 1) / (T * (T - 1))
    return 1.0 - 0.5 * p_neither
