"""Chapter 7's encoder-decoder on the date task: training, greedy and beam decoding, exposure bias, length.

The model is :class:`~lstm_course.nn.seq2seq.Seq2Seq` over the characters of :mod:`lstm_course.tasks.dates`,
trained with ``fit`` and teacher forcing on random batches of the training split (encoded once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from lstm_course.experiments.threads import torch_threads
from lstm_course.nn.seq2seq import Seq2Seq
from lstm_course.tasks.dates import (
    TARGET_LENGTH,
    DatePair,
    DatesConfig,
    DateSplits,
    Vocab,
    encode_batch,
    make_date_splits,
    source_vocab,
    target_vocab,
)
from lstm_course.train import History, TrainConfig, course_device, fit

MAX_OUTPUT = TARGET_LENGTH + 1  # the ten characters of an ISO date, then EOS


@dataclass(frozen=True)
class Seq2SeqDatesConfig:
    """The model and its batches (how it trains is a TrainConfig)."""

    hidden_size: int = 64  # H of encoder and decoder
    embedding_dim: int = 32  # E of source and target characters
    cell: str = "lstm"  # "lstm" | "gru"
    attention: str | None = None  # None: the encoder's final state is the only bridge
    reverse_source: bool = False  # read each source backwards (Sutskever et al. 2014)
    batch_size: int = 64  # pairs per step
    threads: int | None = 1  # torch threads while training; None leaves it
    dates: DatesConfig = field(default_factory=DatesConfig)  # the splits

    def __post_init__(self) -> None:
        for name in ("hidden_size", "embedding_dim", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Seq2SeqDatesConfig.{name} must be a positive int, got {value!r}")
        if not isinstance(self.reverse_source, bool):
            raise TypeError(f"Seq2SeqDatesConfig.reverse_source must be a bool, got {self.reverse_source!r}")


def dates_training(**changes) -> TrainConfig:
    """How the chapter trains: Adam at 5e-3, clipped at norm 1, 400 steps; seed 0, on ``course_device()``."""
    return replace(TrainConfig(steps=400, lr=5e-3, seed=0, device=course_device(), progress=None), **changes)


class DateData(NamedTuple):
    """The splits and their two vocabularies."""

    splits: DateSplits
    src_vocab: Vocab
    tgt_vocab: Vocab


def date_data(dates: DatesConfig = DatesConfig()) -> DateData:  # noqa: B008 (frozen, immutable)
    """Make the splits and the vocabularies (about a second of CPU for the default sizes)."""
    splits = make_date_splits(dates)
    return DateData(splits, source_vocab(splits), target_vocab())


def new_model(config: Seq2SeqDatesConfig, data: DateData) -> Seq2Seq:
    """An untrained model for the data's vocabularies (fast path: encoder, and decoder without attention)."""
    return Seq2Seq(
        len(data.src_vocab), len(data.tgt_vocab), config.hidden_size, cell=config.cell,
        attention=config.attention, embedding_dim=config.embedding_dim, fast=True,
    )  # fmt: skip


def source_lengths(src: torch.Tensor) -> torch.Tensor:
    """(B,) the real length of each column of src (S, B): PAD never occurs inside a source."""
    return (src != Vocab.PAD).sum(dim=0)


def decoder_inputs(tgt_out: torch.Tensor) -> torch.Tensor:
    """tgt_in (T, B) from tgt_out (T, B): BOS, then the targets shifted right (EOS read as PAD)."""
    shifted = tgt_out[:-1].masked_fill(tgt_out[:-1] == Vocab.EOS, Vocab.PAD)
    return torch.cat([torch.full_like(tgt_out[:1], Vocab.BOS), shifted])


def seq2seq_loss(model: Seq2Seq, src: torch.Tensor, tgt_out: torch.Tensor) -> torch.Tensor:
    """Teacher forcing: the cross-entropy of every target character and EOS given the true ones before it."""
    logits, _ = model(src, decoder_inputs(tgt_out), source_lengths(src))  # (T, B, V)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1), ignore_index=Vocab.PAD)


def random_batches(pairs: Sequence[DatePair], data: DateData, config: Seq2SeqDatesConfig):
    """batch_fn(rng) for fit: batch_size pairs drawn at random, with replacement, from pairs encoded once.

    Returns (src (S, B), tgt_out (T, B)), S the batch's longest source. (Batches of one source length, drawn
    from the split sorted by length, ran 10% faster here but learned far slower: 56% exact match after 600
    steps against 74%.)
    """
    if not pairs:
        raise ValueError("pairs must hold at least one DatePair")
    encoded = encode_batch(pairs, data.src_vocab, data.tgt_vocab, reverse_source=config.reverse_source)

    def batch(rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        chosen = torch.as_tensor(rng.integers(len(pairs), size=config.batch_size))
        longest = int(encoded.src_lengths[chosen].max())
        return encoded.src[:longest, chosen], encoded.tgt_out[:, chosen]

    return batch


def train_dates_model(
    config: Seq2SeqDatesConfig, data: DateData, training: TrainConfig | None = None
) -> tuple[Seq2Seq, History]:
    """Train on data's training split: (model, History). The training seed seeds the weights."""
    training = dates_training() if training is None else training
    torch.manual_seed(training.seed)
    model = new_model(config, data)
    batch = random_batches(data.splits.train, data, config)
    with torch_threads(config.threads):
        return model, fit(model, batch, seq2seq_loss, training)


def _columns(ids: torch.Tensor, vocab: Vocab) -> list[str]:
    """The text of every column of ids (T, B)."""
    return [vocab.decode(column) for column in ids.T.tolist()]


def predict(
    model: Seq2Seq, pairs: Sequence[DatePair], data: DateData, *, reverse_source: bool = False,
    beam_size: int = 1,
) -> list[str]:  # fmt: skip
    """The decoded target of every pair: greedy (beam_size 1) or beam search."""
    batch = encode_batch(pairs, data.src_vocab, data.tgt_vocab, reverse_source=reverse_source)
    with torch_threads(1):
        if beam_size == 1:
            tokens, _ = model.greedy_decode(batch.src, MAX_OUTPUT, Vocab.BOS, Vocab.EOS, batch.src_lengths)
            return _columns(tokens, data.tgt_vocab)
        found = model.beam_search(batch.src, MAX_OUTPUT, Vocab.BOS, Vocab.EOS, beam_size, batch.src_lengths)
    return [data.tgt_vocab.decode(tokens) for tokens in found.tokens]


class PositionAccuracy(NamedTuple):
    """Per output position (T = 11: ten characters, then EOS), the share of pairs right there."""

    teacher_forced: np.ndarray  # (T,) given the true characters before it
    free_running: np.ndarray  # (T,) given the model's own greedy characters before it
    after_error: np.ndarray  # (T,) free running, among pairs with an earlier wrong character (nan if none)
    after_error_count: np.ndarray  # (T,) how many pairs that is


def position_accuracy(
    model: Seq2Seq, pairs: Sequence[DatePair], data: DateData, *, reverse_source: bool = False
) -> PositionAccuracy:
    """Exposure bias, measured: the same model scored on the true prefix and on its own prefix."""
    batch = encode_batch(pairs, data.src_vocab, data.tgt_vocab, reverse_source=reverse_source)
    model.eval()
    with torch.no_grad(), torch_threads(1):
        logits, _ = model(batch.src, batch.tgt_in, batch.src_lengths)
        forced = (logits.argmax(dim=-1) == batch.tgt_out).numpy()  # (T, B)
        tokens, _ = model.greedy_decode(batch.src, MAX_OUTPUT, Vocab.BOS, None, batch.src_lengths)
    free = (tokens == batch.tgt_out).numpy()  # (T, B)
    earlier_error = np.cumsum(~free, axis=0) - ~free > 0  # (T, B): some position before t was wrong
    counts = earlier_error.sum(axis=1)
    hits = (free & earlier_error).sum(axis=1)
    after = np.where(counts > 0, hits / np.maximum(counts, 1), np.nan)
    return PositionAccuracy(forced.mean(axis=1), free.mean(axis=1), after, counts)


class LengthRow(NamedTuple):
    """Exact match of the pairs whose sources have lengths in [low, high]."""

    low: int
    high: int
    exact: float
    pairs: int  # how many test pairs fall in the bin


def accuracy_by_length(
    predictions: Sequence[str], pairs: Sequence[DatePair], edges: Sequence[int]
) -> list[LengthRow]:
    """Exact match per source-length bin [edges[k], edges[k+1] - 1]; empty bins are left out."""
    if len(predictions) != len(pairs):
        raise ValueError(
            f"predictions and pairs must be equally long, got {len(predictions)} and {len(pairs)}"
        )
    if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
        raise ValueError(f"edges must be at least two increasing lengths, got {list(edges)}")
    rows = []
    for low, end in zip(edges, edges[1:], strict=False):
        chosen = [p == pair.target for p, pair in zip(predictions, pairs, strict=True)
                  if low <= len(pair.source) < end]  # fmt: skip
        if chosen:
            rows.append(LengthRow(low, end - 1, float(np.mean(chosen)), len(chosen)))
    return rows


__all__ = [
    "DateData",
    "LengthRow",
    "PositionAccuracy",
    "Seq2SeqDatesConfig",
    "accuracy_by_length",
    "date_data",
    "dates_training",
    "decoder_inputs",
    "random_batches",
    "new_model",
    "position_accuracy",
    "predict",
    "seq2seq_loss",
    "source_lengths",
    "train_dates_model",
]
