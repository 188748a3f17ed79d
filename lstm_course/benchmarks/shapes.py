"""The shapes the benchmarks time: the book's experiments, read from their config dataclasses, and two large.

A shape is (B, T, D, H): batch, time steps, input features, hidden units of one recurrent layer.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from lstm_course.experiments.adding import AddingConfig
from lstm_course.experiments.applications_generation import GenerationConfig
from lstm_course.experiments.forget_bias import ForgetBiasConfig
from lstm_course.experiments.gru_stories import CuisineConfig
from lstm_course.tasks.cuisine import cuisine_batch

# distinct characters in the first GenerationConfig.max_chars characters of the plays: the one-hot input size
# of chapter 9's language models (tests/benchmarks/test_shapes.py checks it against the text)
GENERATION_VOCAB = 69


class BenchShape(NamedTuple):
    """One shape to time and where it comes from."""

    label: str  # short name shown in the tables
    B: int
    T: int
    D: int
    H: int

    @property
    def dims(self) -> tuple[int, int, int, int]:
        """(B, T, D, H)."""
        return (self.B, self.T, self.D, self.H)


def book_shapes() -> list[BenchShape]:
    """The book's shapes: chapters 4 (forget bias, adding problem), 5 and 9, then two large ones."""
    forget_bias, adding, cuisine = ForgetBiasConfig(), AddingConfig(), CuisineConfig()
    generation = GenerationConfig().model
    # chapter 5's stories are padded to the longest in the batch: T of its first training batch
    cuisine_T = cuisine_batch(cuisine.batch_size, np.random.default_rng(0), cuisine.max_fillers).x.shape[0]
    return [
        BenchShape("ch4 forget bias", forget_bias.batch_size, forget_bias.T, 2, forget_bias.hidden_size),
        BenchShape("ch4 adding", adding.batch_size, adding.T, 2, adding.hidden_size),
        BenchShape("ch5 stories", cuisine.batch_size, cuisine_T, cuisine.embedding_size, cuisine.hidden_size),
        BenchShape(
            "ch9 generation", generation.batch_size, generation.T, GENERATION_VOCAB, generation.hidden_size
        ),
        BenchShape("large", 64, 100, 64, 128),
        BenchShape("larger", 128, 200, 128, 256),
    ]


def parse_shape(text: str) -> BenchShape:
    """A shape from "B,T,D,H", labelled "given"; ValueError naming ``text`` otherwise."""
    parts = text.split(",") if isinstance(text, str) else []
    if len(parts) != 4 or not all(part.strip().isdigit() and int(part) > 0 for part in parts):
        raise ValueError(f"shape must be four positive integers B,T,D,H, got {text!r}")
    B, T, D, H = (int(part) for part in parts)
    return BenchShape("given", B, T, D, H)
