"""Chapter 8's experiments on the date task: attention against the plain encoder-decoder, alignments, masks.

The models and their training are chapter 7's (:mod:`lstm_course.experiments.seq2seq_dates`); this module adds
what attention makes visible: where each output character looked (the alignment), and what happens when the
decoder may attend to padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch

from lstm_course.experiments.seq2seq_dates import MAX_OUTPUT, DateData
from lstm_course.experiments.threads import torch_threads
from lstm_course.nn.seq2seq import Seq2Seq
from lstm_course.tasks.dates import DatePair, Vocab, encode_batch, exact_match


def _require_attention(model: Seq2Seq) -> None:
    if not isinstance(model, Seq2Seq) or model.attention is None:
        raise ValueError("model must be a Seq2Seq with attention (attention='additive' or 'dot')")


def greedy_decode(
    model: Seq2Seq, src: torch.Tensor, src_lengths: torch.Tensor, *, mask_padding: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Greedy decoding for MAX_OUTPUT steps: -> (tokens (T, B), weights (B, T, S)).

    ``mask_padding=False`` drops the attention mask only: the encoder still reads each source to its length,
    but the decoder may attend to the padded steps after it.
    """
    _require_attention(model)
    model.eval()
    with torch.no_grad(), torch_threads(1):
        keys, mask, state = model.encode(src, src_lengths)  # keys (B, S, H), mask (B, 1, S)
        mask = mask if mask_padding else None
        token = torch.full((src.shape[1],), Vocab.BOS, dtype=torch.long)
        tokens, weights = [], []
        for _ in range(MAX_OUTPUT):
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
    tokens, weights = greedy_decode(model, batch.src, batch.src_lengths)
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
            tokens, weights = greedy_decode(model, src, batch.src_lengths, mask_padding=mask_padding)
            texts = [data.tgt_vocab.decode(column) for column in tokens.T.tolist()]
            scores[mask_padding] = (exact_match(texts, targets), weights)
        padded = torch.arange(src.shape[0])[None, :] >= batch.src_lengths[:, None]  # (B, S)
        on_padding = float((scores[False][1] * padded[:, None, :]).sum(-1).mean())
        rows.append(PaddingRow(extra, scores[True][0], scores[False][0], on_padding))
    return rows


__all__ = ["Alignment", "PaddingRow", "alignment", "greedy_decode", "padding_effect"]
