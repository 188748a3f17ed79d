"""Offline text for character-level language models: CPython's own help topics.

``pydoc_data.topics`` ships with every CPython (PSF licence): the text of ``help("topic")``, about 465 K
characters of technical English mixed with code. Nothing is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def pydoc_text() -> str:
    """The help topics of the running Python, joined by blank lines in sorted key order."""
    import pydoc_data.topics as topics

    return "\n\n".join(topics.topics[key] for key in sorted(topics.topics))


@dataclass(frozen=True)
class CharVocab:
    """A character vocabulary: ``chars[i]`` is the character with index i."""

    chars: str

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        """The sorted set of characters in ``text``."""
        if not isinstance(text, str) or not text:
            raise ValueError("text must be a non-empty str")
        return cls("".join(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """Character indices (len(text),) as int64; an unknown character raises a KeyError naming it."""
        lookup = {ch: i for i, ch in enumerate(self.chars)}
        try:
            return np.fromiter((lookup[ch] for ch in text), dtype=np.int64, count=len(text))
        except KeyError as err:
            raise KeyError(f"character {err.args[0]!r} is not in the vocabulary") from None

    def decode(self, indices) -> str:
        """The text of a sequence of indices."""
        idx = np.asarray(indices, dtype=np.int64).ravel()
        if idx.size and (idx.min() < 0 or idx.max() >= len(self.chars)):
            raise ValueError(
                f"indices must lie in [0, {len(self.chars)}), got range [{idx.min()}, {idx.max()}]"
            )
        return "".join(self.chars[i] for i in idx)


def char_lm_batch(
    data: np.ndarray, batch_size: int, T: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Random windows of an encoded text for next-character prediction.

    Args:
        data: (N,) int character indices, N > T.
        batch_size: B, the number of windows.
        T: the window length.
        rng: the random generator.

    Returns:
        x: (T, B) int64, the characters at positions s .. s+T-1 of each window.
        y: (T, B) int64, the characters one step later (s+1 .. s+T): y[t] is the target after reading x[:t+1].
    """
    data = np.asarray(data)
    if data.ndim != 1 or not np.issubdtype(data.dtype, np.integer):
        raise ValueError(f"data must be a 1-D integer array, got shape {data.shape} and dtype {data.dtype}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if not isinstance(T, (int, np.integer)) or T < 1 or T >= data.size:
        raise ValueError(f"T must be an int in [1, len(data)) = [1, {data.size}), got {T!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    starts = rng.integers(0, data.size - T, size=batch_size)
    offsets = np.arange(T)[:, None]  # (T, 1)
    x = data[starts[None, :] + offsets].astype(np.int64)  # (T, B)
    y = data[starts[None, :] + offsets + 1].astype(np.int64)  # (T, B)
    return x, y


def unigram_entropy(data: np.ndarray, vocab_size: int) -> float:
    """The cross-entropy in nats of always predicting the characters' overall frequencies."""
    counts = np.bincount(np.asarray(data).ravel(), minlength=vocab_size).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())
