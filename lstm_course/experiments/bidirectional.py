"""Chapter 6's bidirectional experiments: tagging that needs right context, padding, and a "language model".

The tagger is :class:`~lstm_course.nn.SequenceTagger` over one-hot words of :mod:`lstm_course.tasks.tagging`,
one direction or two, trained with ``fit`` on padded batches with ``lengths=`` (read off the ``<pad>``
column).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from lstm_course.experiments.threads import torch_threads
from lstm_course.nn import SequenceTagger
from lstm_course.tasks.tagging import (
    CHARS,
    IGNORE,
    TAGS,
    VOCAB,
    WORD_INDEX,
    CharBatch,
    TaggingBatch,
    char_batch,
    char_batch_of,
    lengths_from_x,
    pad_batch,
    sentence,
    tagging_batch,
)
from lstm_course.train import History, TrainConfig, course_device, fit


@dataclass(frozen=True)
class TaggingConfig:
    """The tagger and its sentences (how it trains is a TrainConfig)."""

    bidirectional: bool = True  # K = 2 directions, or 1
    cell: str = "lstm"  # "rnn" | "lstm" | "gru"
    hidden_size: int = 24  # H per direction
    batch_size: int = 32  # sentences per step
    max_gap: int = 6  # filler words between the ambiguous word and its deciding word, at most
    threads: int | None = 1  # torch threads while training (tiny models: one is fastest); None leaves it


def tagging_training(**changes) -> TrainConfig:
    """How the chapter trains its taggers, with ``changes`` to any TrainConfig field.

    Adam at 1e-2, clipped at norm 1, 300 steps; seed 0, on ``course_device()``.
    """
    return replace(TrainConfig(steps=300, lr=1e-2, seed=0, device=course_device()), **changes)


def _lengths(x: torch.Tensor) -> torch.Tensor:
    """(B,) real lengths of a one-hot batch x (T, B, V)."""
    return (x[:, :, WORD_INDEX["<pad>"]] == 0).sum(dim=0).cpu()


def tagging_loss(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the tag logits (T, B, C) at the real steps; the padded batch runs with lengths=."""
    logits = model(x, lengths=_lengths(x))
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=IGNORE)


def train_tagger(
    config: TaggingConfig = TaggingConfig(), training: TrainConfig | None = None
) -> tuple[SequenceTagger, History]:
    """Train a tagger on random tagging batches: (model, History). The training seed seeds the weights."""
    training = tagging_training() if training is None else training
    torch.manual_seed(training.seed)
    model = SequenceTagger(
        config.cell, len(VOCAB), config.hidden_size, len(TAGS), bidirectional=config.bidirectional, fast=True
    )

    def batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        sentences = tagging_batch(config.batch_size, rng, max_gap=config.max_gap)
        return sentences.x, sentences.y

    with torch_threads(config.threads):
        return model, fit(model, batch, tagging_loss, training)


def tag_predictions(model: torch.nn.Module, x: np.ndarray, *, use_lengths: bool = True) -> np.ndarray:
    """(T, B) the most likely tag at every step; ``use_lengths=False`` runs the padded batch as it is."""
    param = next(model.parameters())
    inputs = torch.as_tensor(x, device=param.device, dtype=param.dtype)
    lengths = torch.as_tensor(lengths_from_x(x)) if use_lengths else None
    with torch.no_grad():
        return model(inputs, lengths=lengths).argmax(dim=-1).cpu().numpy()


def _share(correct: np.ndarray, selected: np.ndarray) -> tuple[float, int]:
    """(accuracy over the selected entries, how many), nan when none is selected."""
    count = int(selected.sum())
    return (float(correct[selected].mean()) if count else float("nan"), count)


def accuracy_by_lookahead(model: torch.nn.Module, batch: TaggingBatch) -> dict[int, tuple[float, int]]:
    """{lookahead: (accuracy, count)}: how far ahead the deciding word is (0: the words so far decide)."""
    correct = tag_predictions(model, batch.x) == batch.y
    real = batch.y != IGNORE
    return {int(k): _share(correct, real & (batch.lookahead == k)) for k in np.unique(batch.lookahead[real])}


def accuracy_by_position(model: torch.nn.Module, batch: TaggingBatch) -> tuple[np.ndarray, np.ndarray]:
    """(accuracy (T,), count (T,)) of the tags at each position in the sentence, real words only."""
    correct = tag_predictions(model, batch.x) == batch.y
    real = batch.y != IGNORE
    counts = real.sum(axis=1)
    hits = (correct & real).sum(axis=1)
    return np.where(counts > 0, hits / np.maximum(counts, 1), np.nan), counts


class PaddingRow(NamedTuple):
    """One amount of padding: accuracy with and without ``lengths=``, and how far outputs move."""

    extra: int  # padding steps added after the longest sentence
    with_lengths: float  # tag accuracy on real words, lengths= given
    without_lengths: float  # the same, the padded batch run as if padding were words
    ambiguous_without: float  # accuracy on the ambiguous words only, without lengths=
    max_change_with: float  # max |logit change| against each sentence run alone, with lengths=
    max_change_without: float  # the same without lengths=


def _logits(model: torch.nn.Module, x: np.ndarray, lengths) -> np.ndarray:
    param = next(model.parameters())
    with torch.no_grad():
        return model(torch.as_tensor(x, dtype=param.dtype), lengths=lengths).cpu().numpy()


def padding_effect(
    model: torch.nn.Module, rng: np.random.Generator, *, sentences: int = 200, extras=(0, 5, 20)
) -> list[PaddingRow]:
    """Run the same sentences padded by ``extras`` steps beyond the longest, with and without ``lengths=``.

    The reference is each sentence run alone, unpadded: with ``lengths=`` the padded batch must give its
    logits exactly (to float rounding); without, the reverse direction starts on the padding.
    """
    drawn = [sentence(rng) for _ in range(sentences)]
    alone = [_logits(model, pad_batch([s]).x, None)[:, 0] for s in drawn]  # each (T_b, C)
    longest = max(len(s.words) for s in drawn)
    rows = []
    for extra in extras:
        batch = pad_batch(drawn, longest + extra)
        real, lengths = batch.y != IGNORE, torch.as_tensor(batch.lengths)
        results = {}
        for name, given in (("with", lengths), ("without", None)):
            logits = _logits(model, batch.x, given)  # (T, B, C)
            correct = logits.argmax(axis=-1) == batch.y
            change = max(
                float(np.abs(logits[: len(s.words), b] - alone[b]).max()) for b, s in enumerate(drawn)
            )
            results[name] = (float(correct[real].mean()), float(correct[batch.ambiguous].mean()), change)
        rows.append(
            PaddingRow(
                extra,
                results["with"][0],
                results["without"][0],
                results["without"][1],
                results["with"][2],
                results["without"][2],
            )
        )
    return rows


# ---- the bidirectional "language model" ------------------------------------------------------------------


def char_loss(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the next-character logits (T, B, C) at the real steps, run with ``lengths=``."""
    lengths = (x[:, :, 0] == 0).sum(dim=0).cpu()  # index 0 of CHARS pads
    logits = model(x, lengths=lengths)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=IGNORE)


def train_language_model(
    config: TaggingConfig = TaggingConfig(), training: TrainConfig | None = None
) -> tuple[SequenceTagger, History]:
    """Train a character model to predict the next character of the tagging sentences: (model, History).

    With ``config.bidirectional`` its reverse direction reads the sentence from the right, the character to
    predict included.
    """
    training = tagging_training() if training is None else training
    torch.manual_seed(training.seed)
    model = SequenceTagger(
        config.cell, len(CHARS), config.hidden_size, len(CHARS), bidirectional=config.bidirectional, fast=True
    )

    def batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        sentences = char_batch(config.batch_size, rng, max_gap=config.max_gap)
        return sentences.x, sentences.y

    with torch_threads(config.threads):
        return model, fit(model, batch, char_loss, training)


def next_char_accuracy(model: torch.nn.Module, batch: CharBatch) -> float:
    """Share of real steps (all but the last of each text) where the argmax is the character that follows."""
    param = next(model.parameters())
    with torch.no_grad():
        logits = model(torch.as_tensor(batch.x, dtype=param.dtype), lengths=torch.as_tensor(batch.lengths))
    scored = batch.y != IGNORE
    return float((logits.argmax(dim=-1).numpy() == batch.y)[scored].mean())


def random_texts(count: int, length: int, rng: np.random.Generator) -> list[str]:
    """Texts of characters drawn uniformly from CHARS (no padding): nothing in them can be predicted."""
    return ["".join(rng.choice(list(CHARS[1:]), size=length)) for _ in range(count)]


def greedy_continuation(model: torch.nn.Module, prompt: str, length: int) -> str:
    """Generate ``length`` characters one at a time: feed the text so far, append the most likely next one.

    This is how a language model generates. A bidirectional model has to be run on a text whose last character
    has nothing to its right, which it never saw in training.
    """
    text = prompt
    for _ in range(length):
        batch = char_batch_of([text])
        param = next(model.parameters())
        with torch.no_grad():
            logits = model(torch.as_tensor(batch.x, dtype=param.dtype))
        text += CHARS[int(logits[-1, 0].argmax())]
    return text[len(prompt) :]
