"""Chapter 9, many-to-one: which language a surname comes from, a character LSTM against n-gram counts.

The LSTM (:class:`~lstm_course.nn.SequenceRegressor`) reads a name's one-hot characters and classifies it from
its last real step. The baseline needs no recurrence: counts of the character 1- to 3-grams of the name (word
boundaries marked) fed to a multinomial logistic regression (scikit-learn). Both see the same training names
and are scored on the same held-out names.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from lstm_course.experiments.threads import torch_threads
from lstm_course.nn import SequenceRegressor
from lstm_course.tasks.surnames import LANGUAGES, PAD, Surnames, encode_names, load_surnames, split
from lstm_course.train import TrainConfig, course_device, fit


@dataclass(frozen=True)
class SurnameConfig:
    """The classifier and its data (how it trains is a TrainConfig)."""

    cell: str = "lstm"  # "rnn" | "lstm" | "gru"
    hidden_size: int = 64  # H
    batch_size: int = 64  # names per step
    per_language: int = 400  # names per language at most
    test_fraction: float = 0.2  # held-out names
    ngram_max: int = 3  # the baseline counts character n-grams of n = 1 .. ngram_max
    threads: int | None = 1  # torch threads while training; None leaves it


def surname_training(**changes) -> TrainConfig:
    """How the chapter trains the surname classifier: Adam at 1e-2, clipped at norm 1, 500 steps, seed 0."""
    return replace(
        TrainConfig(steps=500, lr=1e-2, clip=1.0, seed=0, device=course_device(), progress=None), **changes
    )


@dataclass
class SurnameResult:
    """Test accuracies, the LSTM's confusion matrix and the names it gets wrong."""

    test_names: list[str]
    test_labels: np.ndarray  # (N,) true language index
    lstm_predictions: np.ndarray  # (N,)
    baseline_predictions: np.ndarray  # (N,)
    lstm_accuracy: float
    baseline_accuracy: float
    majority_accuracy: float  # always answering the most frequent training language
    confusion: np.ndarray  # (L, L) counts: row = true language, column = the LSTM's answer
    train_names: int
    losses: list[float]
    seconds: float  # CPU seconds of the LSTM's training and the baseline's fit together


def _one_hot(x: Tensor, size: int) -> Tensor:
    """Character indices (T, B) -> (T, B, size) float, the padding index 0 as a zero vector."""
    return F.one_hot(x, size).float() * (x != PAD).unsqueeze(-1)


def _logits(model: SequenceRegressor, x: Tensor, vocab: int) -> Tensor:
    """x (T, B) padded character indices -> (B, L) logits, read at each name's last real character."""
    lengths = (x != PAD).sum(dim=0).cpu()
    return model(_one_hot(x, vocab), lengths=lengths)


def ngram_baseline(train: Surnames, test: Surnames, ngram_max: int = 3, seed: int = 0) -> np.ndarray:
    """The baseline's predicted language (N_test,) from character n-gram counts and logistic regression."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    vectorizer = CountVectorizer(analyzer="char_wb", ngram_range=(1, ngram_max), lowercase=False)
    features = vectorizer.fit_transform(train.names)
    # one BLAS thread: on a shared machine, threads that wait for each other cost ten times the CPU time
    with threadpool_limits(limits=1):
        classifier = LogisticRegression(max_iter=1000, random_state=seed).fit(features, train.labels)
    return classifier.predict(vectorizer.transform(test.names)).astype(np.int64)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, classes: int) -> np.ndarray:
    """(classes, classes) counts: entry [true, predicted]."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def run_surnames(
    config: SurnameConfig = SurnameConfig(), training: TrainConfig | None = None
) -> SurnameResult:
    """Train the character LSTM and fit the n-gram baseline on the same names; score both on held-out ones."""
    training = surname_training() if training is None else training
    data = load_surnames(config.per_language, seed=training.seed)
    train, test = split(data, config.test_fraction)
    vocab = len(data.chars) + 1  # + the padding index
    x_train, _ = encode_names(train.names, data.chars)  # (T, N)
    x_test, _ = encode_names(test.names, data.chars)

    def batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        picked = rng.integers(0, len(train.names), size=config.batch_size)
        x = x_train[:, picked]
        return x[: int((x != PAD).sum(axis=0).max())], train.labels[picked]  # trim the all-padding rows

    def loss(model: SequenceRegressor, x: Tensor, y: Tensor) -> Tensor:
        return F.cross_entropy(_logits(model, x, vocab), y)

    start = time.process_time()
    with torch_threads(config.threads):
        torch.manual_seed(training.seed)
        model = SequenceRegressor(config.cell, vocab, config.hidden_size, len(LANGUAGES), fast=True)
        history = fit(model, batch, loss, training)
        model.eval()
        with torch.no_grad():
            lstm_predictions = _logits(model, torch.as_tensor(x_test), vocab).argmax(dim=-1).numpy()
    baseline_predictions = ngram_baseline(train, test, config.ngram_max, training.seed)
    seconds = time.process_time() - start
    majority = int(np.bincount(train.labels).argmax())
    return SurnameResult(
        test_names=test.names,
        test_labels=test.labels,
        lstm_predictions=lstm_predictions,
        baseline_predictions=baseline_predictions,
        lstm_accuracy=float((lstm_predictions == test.labels).mean()),
        baseline_accuracy=float((baseline_predictions == test.labels).mean()),
        majority_accuracy=float((test.labels == majority).mean()),
        confusion=confusion_matrix(test.labels, lstm_predictions, len(LANGUAGES)),
        train_names=len(train.names),
        losses=history.loss,
        seconds=seconds,
    )
