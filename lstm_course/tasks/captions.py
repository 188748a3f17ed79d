"""Captions of tiled digits: 2 to 4 scikit-learn digits side by side, captioned in words ("three one four").

``sklearn.datasets.load_digits`` bundles 1,797 handwritten digits of 8 x 8 pixels (CC BY 4.0, UCI). A strip
places ``digits`` of them left to right with a random gap of 0 to ``max_gap`` blank columns before each, on a
canvas of fixed width, so the k-th digit does not sit at a fixed column. Pixels are scaled to [0, 1]. The
caption is the digits' words followed by ``<eos>``; the first ``train_images`` digits feed the training
strips and the rest the test strips, so a test strip never shows an image seen in training.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

WORDS = (
    "<pad>",
    "<bos>",
    "<eos>",
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
)
PAD, BOS, EOS = 0, 1, 2
DIGIT_WORD = 3  # the word index of digit d is DIGIT_WORD + d
SIDE = 8  # pixels per side of one digit


def canvas_width(max_digits: int, max_gap: int) -> int:
    """Columns of a strip wide enough for ``max_digits`` digits, each after a gap of up to ``max_gap``."""
    return max_digits * (SIDE + max_gap)


class DigitImages(NamedTuple):
    """scikit-learn's digits split once: images (N, 8, 8) in [0, 1] and their digit (N,)."""

    train_images: np.ndarray
    train_digits: np.ndarray
    test_images: np.ndarray
    test_digits: np.ndarray


def load_digit_images(train_images: int = 1400) -> DigitImages:
    """The first ``train_images`` digits for training strips, the remaining ones for test strips."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    if isinstance(train_images, bool) or not isinstance(train_images, int):
        raise TypeError(f"train_images must be an int, got {train_images!r}")
    if not 0 < train_images < len(digits.target):
        raise ValueError(f"train_images must lie in (0, {len(digits.target)}), got {train_images}")
    images = digits.images / 16.0  # (N, 8, 8), the pixels count 0..16
    target = digits.target.astype(np.int64)
    return DigitImages(
        images[:train_images], target[:train_images], images[train_images:], target[train_images:]
    )


class CaptionBatch(NamedTuple):
    """Strips and their captions."""

    images: np.ndarray  # (B, 8, W) float, the strips
    columns: np.ndarray  # (W, B, 8) float, the same strips as a sequence of pixel columns
    captions: (
        np.ndarray
    )  # (L, B) int64 word indices, <eos> after the last digit, then <pad>; L = max_digits + 1
    digits: np.ndarray  # (B, max_digits) the digits shown, -1 where a strip has fewer
    starts: np.ndarray  # (B, max_digits) the first column of each digit, -1 where a strip has fewer


def caption_batch(
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    rng: np.random.Generator,
    min_digits: int = 2,
    max_digits: int = 4,
    max_gap: int = 2,
) -> CaptionBatch:
    """``batch_size`` random strips of min_digits..max_digits images drawn from ``images`` (N, 8, 8)."""
    if not 1 <= min_digits <= max_digits:
        raise ValueError(f"need 1 <= min_digits <= max_digits, got {min_digits} and {max_digits}")
    if isinstance(max_gap, bool) or not isinstance(max_gap, int) or max_gap < 0:
        raise ValueError(f"max_gap must be an int >= 0, got {max_gap!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if images.ndim != 3 or images.shape[1:] != (SIDE, SIDE) or len(images) != len(labels):
        raise ValueError(
            f"images must be (N, 8, 8) with N labels, got {images.shape} and {len(labels)} labels"
        )
    width = canvas_width(max_digits, max_gap)
    strips = np.zeros((batch_size, SIDE, width))
    captions = np.full((max_digits + 1, batch_size), PAD, dtype=np.int64)
    digits = np.full((batch_size, max_digits), -1, dtype=np.int64)
    starts = np.full((batch_size, max_digits), -1, dtype=np.int64)
    for b in range(batch_size):
        count = int(rng.integers(min_digits, max_digits + 1))
        column = 0
        for k, picked in enumerate(rng.integers(0, len(images), size=count)):
            column += int(rng.integers(0, max_gap + 1))
            strips[b, :, column : column + SIDE] = images[picked]
            digits[b, k], starts[b, k] = labels[picked], column
            captions[k, b] = DIGIT_WORD + labels[picked]
            column += SIDE
        captions[count, b] = EOS
    return CaptionBatch(strips, strips.transpose(2, 0, 1).copy(), captions, digits, starts)


def caption_words(indices) -> str:
    """The words of a caption up to (not including) <eos>: "three one four"."""
    words = []
    for index in np.asarray(indices, dtype=np.int64).ravel():
        if index == EOS:
            break
        words.append(WORDS[index])
    return " ".join(words)
