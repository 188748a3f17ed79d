"""Chapter 8's experiments on the date task: attention against the plain encoder-decoder, alignments, masks.

The models and their training are chapter 7's (:mod:`lstm_course.experiments.seq2seq_dates`); this module adds
the multi-date task on which the encoder-decoder falls with length (each source holds one or two dates, so
what the final state must carry grows with the source), and what attention makes visible: where each output
character looked (the alignment), and what happens when the decoder may attend to padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch

from lstm_course.experiments.seq2seq_dates import MAX_OUTPUT, DateData
from lstm_course.experiments.threads import torch_threads
from lstm_course.nn.seq2seq import Seq2Seq
from lstm_course.tasks.dates import (
    TARGET_SEPARATOR,
    DatePair,
    DatesConfig,
    Vocab,
    date_count,
    encode_batch,
    exact_match,
    make_date_splits,
    source_vocab,
    target_vocab,
)

#: Chapter 8's multi-date task: one or two dates per source, in two locales (so a few hundred steps learn it).
MULTI_DATES = DatesConfig(
    n_train=6000,
    n_valid=100,
    n_test=800,
    n_long=0,
    long_min_chars=1000,
    seed=8,
    locales=("en_GB", "de_DE"),
    max_dates=2,
)


def multi_date_data(dates: DatesConfig = MULTI_DATES) -> DateData:
    """The splits of a multi-date task and their vocabularies (the target's includes the space)."""
    if not isinstance(dates, DatesConfig):
        raise TypeError(f"dates must be a DatesConfig, got {type(dates).__name__}")
    splits = make_date_splits(dates)
    return DateData(splits, source_vocab(splits), target_vocab(dates.max_dates))


def output_steps(pairs: Sequence[DatePair]) -> int:
    """Decoding steps for the most dates among pairs: 11 per date (ten characters, then a space or EOS)."""
    if not pairs:
        raise ValueError("pairs must hold at least one DatePair")
    return MAX_OUTPUT * max(date_count(pair) for pair in pairs)


def predict_dates(model: Seq2Seq, pairs: Sequence[DatePair], data: DateData) -> list[str]:
    """Greedy outputs for pairs of one or more dates (any model, with attention or without)."""
    batch = encode_batch(pairs, data.src_vocab, data.tgt_vocab)
    model.eval()
    with torch.no_grad(), torch_threads(1):
        tokens, _ = model.greedy_decode(
            batch.src, output_steps(pairs), Vocab.BOS, Vocab.EOS, batch.src_lengths
        )
    return [data.tgt_vocab.decode(column) for column in tokens.T.tolist()]


class CountRow(NamedTuple):
    """Accuracy of the pairs holding ``dates`` dates."""

    dates: int  # k, the dates in each source
    exact: float  # the whole target right
    per_date: float  # the share of the k dates right, each at its place
    pairs: int  # how many pairs hold k dates


def accuracy_by_count(predictions: Sequence[str], pairs: Sequence[DatePair]) -> list[CountRow]:
    """Exact match and per-date accuracy for each number of dates k present in pairs, k ascending."""
    if len(predictions) != len(pairs) or not pairs:
        raise ValueError(
            "predictions and pairs must be equally long and non-empty, "
            f"got {len(predictions)} and {len(pairs)}"
        )
    rows = []
    for k in sorted({date_count(pair) for pair in pairs}):
        chosen = [
            (p, pair.target) for p, pair in zip(predictions, pairs, strict=True) if date_count(pair) == k
        ]
        exact = float(np.mean([p == t for p, t in chosen]))
        written = [p.split(TARGET_SEPARATOR) for p, _ in chosen]
        hits = [
            np.mean([i < len(w) and w[i] == d for i, d in enumerate(t.split(TARGET_SEPARATOR))])
            for w, (_, t) in zip(written, chosen, strict=True)
        ]
        rows.append(CountRow(k, exact, float(np.mean(hits)), len(chosen)))
    return rows


def _require_attention(model: Seq2Seq) -> None:
    if not isinstance(model, Seq2Seq) or model.attention is None:
        raise ValueError("model must be a Seq2Seq with attention (attention='additive' or 'dot')")


def greedy_decode(
    model: Seq2Seq, src: torch.Tensor, src_lengths: torch.Tensor, *, mask_padding: bool = True,
    max_output: int = MAX_OUTPUT,
) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """Greedy decoding for max_output steps: -> (tokens (T, B), weights (B, T, S)).

    ``mask_padding=False`` drops the attention mask only: the encoder still reads each source to its length,
    but the decoder may attend to the padded steps after it.
    """
    _require_attention(model)
    if isinstance(max_output, bool) or not isinstance(max_output, int) or max_output < 1:
        raise ValueError(f"max_output must be a positive int, got {max_output!r}")
    model.eval()
    with torch.no_grad(), torch_threads(1):
        keys, mask, state = model.encode(src, src_lengths)  # keys (B, S, H), mask (B, 1, S)
        mask = mask if mask_padding else None
        token = torch.full((src.shape[1],), Vocab.BOS, dtype=torch.long)
        tokens, weights = [], []
        for _ in range(max_output):
            logits, state, step_weights = model.step(token, state, keys, mask)
            token = logits.argmax(dim=-1)
            tokens.append(token)
            weights.append(step_weights)
    return torch.stack(tokens), torch.stack(weights, dim=1)


class Alignment(NamedTuple):
    """Where each output character looked: weights[t, j] over the source's characters."""

    source: str
    output: str  # the greedy output, up to EOS
    weights: np.ndarray  # (len(output), len(source))


def alignment(model: Seq2Seq, pair: DatePair, data: DateData) -> Alignment:
    """The greedy output for one pair and its attention weights (rows: output characters)."""
    batch = encode_batch([pair], data.src_vocab, data.tgt_vocab)
    tokens, weights = greedy_decode(model, batch.src, batch.src_lengths, max_output=output_steps([pair]))
    output = data.tgt_vocab.decode(tokens[:, 0].tolist())
    return Alignment(pair.source, output, weights[0, : len(output), : len(pair.source)].numpy())


class PaddingRow(NamedTuple):
    """Exact match with extra padding after every source, with and without the attention mask."""

    extra: int  # PAD steps added after the longest source
    masked: float  # exact match, the decoder attends to real characters only
    unmasked: float  # the same model and batch, the mask dropped
    weight_on_padding: float  # unmasked: the mean attention weight that lands on PAD steps


def padding_effect(
    model: Seq2Seq, pairs: Sequence[DatePair], data: DateData, extras: Sequence[int] = (0, 10, 40)
) -> list[PaddingRow]:
    """Decode the same pairs, padded by ``extras`` more steps, with the mask and without it."""
    _require_attention(model)
    if any(isinstance(e, bool) or not isinstance(e, int) or e < 0 for e in extras):
        raise ValueError(f"extras must be ints >= 0, got {list(extras)}")
    batch = encode_batch(pairs, data.src_vocab, data.tgt_vocab)
    targets = [pair.target for pair in pairs]
    rows = []
    for extra in extras:
        src = torch.cat([batch.src, torch.full((extra, batch.src.shape[1]), Vocab.PAD)])  # (S + extra, B)
        scores = {}
        for mask_padding in (True, False):
            tokens, weights = greedy_decode(
                model, src, batch.src_lengths, mask_padding=mask_padding, max_output=output_steps(pairs)
            )
            texts = [data.tgt_vocab.decode(column) for column in tokens.T.tolist()]
            scores[mask_padding] = (exact_match(texts, targets), weights)
        padded = torch.arange(src.shape[0])[None, :] >= batch.src_lengths[:, None]  # (B, S)
        on_padding = float((scores[False][1] * padded[:, None, :]).sum(-1).mean())
        rows.append(PaddingRow(extra, scores[True][0], scores[False][0], on_padding))
    return rows


__all__ = [
    "MULTI_DATES",
    "Alignment",
    "CountRow",
    "PaddingRow",
    "accuracy_by_count",
    "alignment",
    "greedy_decode",
    "multi_date_data",
    "output_steps",
    "padding_effect",
    "predict_dates",
]
