"""Chapter 9, one-to-many: a strip of 2 to 4 handwritten digits captioned in words, with attention.

The captioner reads the strip as a sequence of patches of pixel columns (a bidirectional LSTM: each patch's
key knows its neighbours on both sides), then writes the caption word by word with an LSTM cell that attends
over the patches (additive attention, as in the decoder step of ``lstm_course.nn.seq2seq.Seq2Seq``). No
convolution anywhere.
The baseline has no recurrence and no attention: one logistic regression per caption position on the raw
pixels of the whole strip (the word at that position, or <eos>, or nothing).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lstm_course.experiments.threads import torch_threads
from lstm_course.nn import LSTM
from lstm_course.nn.attention import AdditiveAttention
from lstm_course.nn.cells import LSTMCell
from lstm_course.tasks.captions import (
    BOS,
    EOS,
    PAD,
    SIDE,
    WORDS,
    CaptionBatch,
    caption_batch,
    load_digit_images,
)
from lstm_course.train import TrainConfig, course_device, fit


def patches(columns: Tensor, width: int) -> Tensor:
    """Pixel columns (W, B, 8) -> (W / width, B, 8 width): each patch is ``width`` neighbouring columns."""
    W, B, side = columns.shape
    if W % width:
        raise ValueError(f"the strip's {W} columns do not split into patches of width {width}")
    return (
        columns.reshape(W // width, width, B, side).permute(0, 2, 1, 3).reshape(W // width, B, width * side)
    )


class DigitCaptioner(nn.Module):
    """Columns (W, B, 8) -> caption logits (L, B, V) and attention weights (B, L, P) over W / patch patches.

    Letters: W (columns), P (patches), B (batch), H (hidden size), L (caption words), V (vocabulary).
    """

    def __init__(
        self, hidden_size: int = 32, embedding_dim: int = 16, attention_size: int = 32, patch: int = 2
    ) -> None:
        super().__init__()
        H = hidden_size
        self.patch = patch
        self.encoder = LSTM(SIDE * patch, H, bidirectional=True, fast=True)  # keys (P, B, 2H)
        self.embedding = nn.Embedding(len(WORDS), embedding_dim)
        self.decoder = LSTMCell(embedding_dim + 2 * H, H)
        self.attention = AdditiveAttention(H, 2 * H, attention_size)
        self.out = nn.Linear(H + 2 * H, len(WORDS))

    def step(self, word: Tensor, state: tuple[Tensor, Tensor], keys: Tensor):
        """word (B,) -> (logits (B, V), new state, weights (B, P)); the query is the previous h."""
        context, weights = self.attention(state[0].unsqueeze(1), keys, keys)  # (B, 1, 2H), (B, 1, P)
        context = context.squeeze(1)
        state = self.decoder(torch.cat([self.embedding(word), context], dim=-1), state)
        return self.out(torch.cat([state[0], context], dim=-1)), state, weights.squeeze(1)

    def forward(self, columns: Tensor, words_in: Tensor) -> tuple[Tensor, Tensor]:
        """Teacher forcing: columns (W, B, 8), words_in (L, B) (the caption shifted right, <bos> first)."""
        keys = self.encoder(patches(columns, self.patch))[0].transpose(0, 1)  # (B, P, 2H)
        B, H = columns.shape[1], self.decoder.hidden_size
        state = (columns.new_zeros(B, H), columns.new_zeros(B, H))
        logits, weights = [], []
        for word in words_in.unbind(0):
            out, state, w = self.step(word, state, keys)
            logits.append(out)
            weights.append(w)
        return torch.stack(logits), torch.stack(weights, dim=1)

    @torch.no_grad()
    def caption(self, columns: Tensor, length: int) -> tuple[Tensor, Tensor]:
        """Greedy captions (length, B) and their attention weights (B, length, P); each word fed back."""
        keys = self.encoder(patches(columns, self.patch))[0].transpose(0, 1)
        B, H = columns.shape[1], self.decoder.hidden_size
        state = (columns.new_zeros(B, H), columns.new_zeros(B, H))
        word = torch.full((B,), BOS, dtype=torch.long)
        words, weights = [], []
        for _ in range(length):
            logits, state, w = self.step(word, state, keys)
            word = logits.argmax(dim=-1)
            words.append(word)
            weights.append(w)
        return torch.stack(words), torch.stack(weights, dim=1)


def shifted_right(captions: np.ndarray) -> np.ndarray:
    """The decoder's inputs (L, B): <bos>, then the caption without its last word."""
    return np.concatenate([np.full((1, captions.shape[1]), BOS, dtype=np.int64), captions[:-1]])


def up_to_eos(captions: np.ndarray) -> np.ndarray:
    """captions (L, B) with every word after the first <eos> set to <pad> (what a caption means)."""
    ended = np.cumsum(captions == EOS, axis=0) - (captions == EOS) > 0  # (L, B) True after an <eos>
    return np.where(ended, PAD, captions)


def scores(predicted: np.ndarray, batch: CaptionBatch) -> tuple[float, float]:
    """(word accuracy over the digits shown, caption accuracy: every word and the <eos> right)."""
    predicted = up_to_eos(predicted)
    shown = batch.digits.T >= 0  # (max_digits, B)
    words = float((predicted[:-1] == batch.captions[:-1])[shown].mean())
    whole = float((predicted == batch.captions).all(axis=0).mean())
    return words, whole


def pixel_baseline(train: CaptionBatch, test: CaptionBatch, seed: int = 0) -> np.ndarray:
    """The baseline's captions (L, B_test): per position, a logistic regression on the strip's raw pixels."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    x_train = train.images.reshape(len(train.images), -1)  # (B, 8 W)
    x_test = test.images.reshape(len(test.images), -1)
    predicted = np.empty_like(test.captions)
    with threadpool_limits(limits=1):
        for position in range(len(train.captions)):
            classifier = LogisticRegression(max_iter=300, random_state=seed)
            classifier.fit(x_train, train.captions[position])
            predicted[position] = classifier.predict(x_test)
    return predicted


@dataclass(frozen=True)
class CaptionConfig:
    """The captioner and its strips (how it trains is a TrainConfig)."""

    hidden_size: int = 32  # H of the decoder and of each encoder direction
    embedding_dim: int = 16  # size of a word's embedding
    attention_size: int = 32  # A of the additive attention
    patch: int = 2  # columns per patch: the encoder reads and the decoder attends over W / patch patches
    batch_size: int = 64  # strips per step
    min_digits: int = 2
    max_digits: int = 4
    max_gap: int = 2  # blank columns before each digit, at most
    baseline_strips: int = 2000  # training strips of the pixel baseline
    test_strips: int = 1000
    threads: int | None = 1  # torch threads while training; None leaves it


def caption_training(**changes) -> TrainConfig:
    """How the chapter trains the captioner: Adam at 1e-2, clipped at norm 1, 300 steps, seed 0."""
    return replace(
        TrainConfig(steps=300, lr=1e-2, clip=1.0, seed=0, device=course_device(), progress=None), **changes
    )


@dataclass
class CaptionResult:
    """Scores of the captioner and the baseline on the same test strips, and one strip's attention."""

    word_accuracy: float
    caption_accuracy: float
    baseline_word_accuracy: float
    baseline_caption_accuracy: float
    test: CaptionBatch  # the test strips
    predicted: np.ndarray  # (L, B) the captioner's captions
    baseline_predicted: np.ndarray  # (L, B)
    weights: np.ndarray  # (B, L, P) the captioner's attention over the patches while writing each word
    losses: list[float]
    seconds: float  # CPU seconds: training, captioning the test strips and the baseline


def run_captions(
    config: CaptionConfig = CaptionConfig(), training: TrainConfig | None = None
) -> CaptionResult:
    """Train the captioner on fresh strips each step; score it and the baseline on the same test strips."""
    training = caption_training() if training is None else training
    images = load_digit_images()
    shape = {"min_digits": config.min_digits, "max_digits": config.max_digits, "max_gap": config.max_gap}

    def batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        strips = caption_batch(images.train_images, images.train_digits, config.batch_size, rng, **shape)
        return strips.columns, strips.captions

    def loss(model: nn.Module, columns: Tensor, captions: Tensor) -> Tensor:
        words_in = torch.cat([torch.full_like(captions[:1], BOS), captions[:-1]])
        logits, _ = model(columns, words_in)  # (L, B, V)
        return F.cross_entropy(logits.reshape(-1, len(WORDS)), captions.reshape(-1), ignore_index=PAD)

    rng = np.random.default_rng(training.seed + 1)
    test = caption_batch(images.test_images, images.test_digits, config.test_strips, rng, **shape)
    start = time.process_time()
    with torch_threads(config.threads):
        torch.manual_seed(training.seed)
        model = DigitCaptioner(config.hidden_size, config.embedding_dim, config.attention_size, config.patch)
        history = fit(model, batch, loss, training)
        model.eval()
        predicted, weights = model.caption(
            torch.as_tensor(test.columns, dtype=torch.float32), len(test.captions)
        )
    baseline_rng = np.random.default_rng(training.seed + 2)
    baseline_train = caption_batch(
        images.train_images, images.train_digits, config.baseline_strips, baseline_rng, **shape
    )
    baseline_predicted = pixel_baseline(baseline_train, test, training.seed)
    seconds = time.process_time() - start
    word_accuracy, caption_accuracy = scores(predicted.numpy(), test)
    baseline_word, baseline_caption = scores(baseline_predicted, test)
    return CaptionResult(
        word_accuracy=word_accuracy,
        caption_accuracy=caption_accuracy,
        baseline_word_accuracy=baseline_word,
        baseline_caption_accuracy=baseline_caption,
        test=test,
        predicted=predicted.numpy(),
        baseline_predicted=baseline_predicted,
        weights=weights.numpy(),
        losses=history.loss,
        seconds=seconds,
    )
