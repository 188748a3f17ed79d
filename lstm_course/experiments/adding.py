"""The adding problem, learned by a tanh RNN or an LSTM from ``lstm_course.nn`` through ``fit``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from lstm_course.experiments.implementations import check_implementation, with_implementation
from lstm_course.experiments.threads import torch_threads
from lstm_course.nn import SequenceRegressor, set_forget_bias
from lstm_course.tasks import adding_batch
from lstm_course.train import History, TrainConfig, course_device, fit


class AddingRun(NamedTuple):
    """A trained model, its History, and the first step where the mean loss fell below ``threshold``."""

    model: torch.nn.Module
    history: History
    crossed: int | None
    threshold: float


def adding_batches(batch_size: int, T: int) -> Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]:
    """A ``batch_fn`` for ``fit``: rng -> adding-problem batch (x (T, B, 2), y (B, 1)), B = ``batch_size``."""

    def batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        return adding_batch(batch_size, T, rng)

    return batch


def mse(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The ``loss_fn`` for ``fit``: mean squared error of ``model(x)`` (B, 1) against ``y`` (B, 1)."""
    return F.mse_loss(model(x), y)


def marker_lags(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How many steps before the last step each marked number is read, from a batch x (T, B, 2).

    Returns (first, second), each (B,): the lag of the earlier and of the later marked step. The answer is
    read from the final hidden state, so ``first`` is the distance a model must carry the first number.
    """
    T = x.shape[0]
    sequences, steps = np.nonzero(x[:, :, 1].T == 1)  # (sequence, marked step) pairs, steps in order
    if not np.array_equal(sequences, np.repeat(np.arange(x.shape[1]), 2)):
        raise ValueError("marker_lags: every sequence must have exactly two markers")
    marked = steps.reshape(x.shape[1], 2)  # (B, 2): earlier, later
    return T - 1 - marked[:, 0], T - 1 - marked[:, 1]


def first_below(losses: Sequence[float], threshold: float, window: int = 50) -> int | None:
    """The first step (1-based) where the mean of the last ``window`` losses is below ``threshold``."""
    v = np.asarray(losses, dtype=np.float64)
    if v.size < window:
        return None
    means = np.convolve(v, np.ones(window) / window, mode="valid")  # means[k] covers steps k+1 .. k+window
    below = np.flatnonzero(means < threshold)
    return int(below[0] + window) if below.size else None


@dataclass(frozen=True)
class AddingConfig:
    """The model and the task of one adding-problem run (how it trains is a TrainConfig)."""

    cell: str = "lstm"  # "rnn" | "lstm" | "gru"
    T: int = 100  # sequence length: the first marked number is read T/2 to T - 1 steps before the end
    hidden_size: int = 64  # H
    batch_size: int = 64  # sequences per step
    forget_bias: float | None = None  # set b_if + b_hf of an LSTM to this; None keeps torch's init
    threshold: float = 0.01  # `crossed` reports the first step whose trailing mean loss is below it
    # "fast" | "plain" | "torch" (lstm_course.experiments.implementations). torch.nn trains these shapes
    # fastest on one thread (H = 64, B = 64, T = 100: LSTM 29 against our fast path's 54 ms a step, RNN 16
    # against 17).
    implementation: str = "torch"
    threads: int | None = 1  # torch threads while training (tiny models: one is fastest); None leaves it

    def __post_init__(self) -> None:
        check_implementation(self.implementation)


def adding_model(config: AddingConfig) -> torch.nn.Module:
    """The untrained regressor of ``config``, forget bias set; seed torch first."""
    model: torch.nn.Module = SequenceRegressor(config.cell, 2, config.hidden_size, 1)
    model = with_implementation(model, config.implementation)
    if config.forget_bias is not None:
        set_forget_bias(model, config.forget_bias)
    return model


def adding_training(**changes) -> TrainConfig:
    """How the chapters train on the adding problem, with ``changes`` to any TrainConfig field.

    Adam at 3e-3, clipped at norm 1, at most 3000 steps, stopping once the mean of the last 50 losses is below
    0.01; seed 0, on ``course_device()``. ``target_loss=None`` trains for all the steps.
    """
    defaults = TrainConfig(
        steps=3000,
        lr=3e-3,
        clip=1.0,
        seed=0,
        device=course_device(),
        target_loss=0.01,
        target_window=50,
    )
    return replace(defaults, **changes)


def train_adding(config: AddingConfig = AddingConfig(), training: TrainConfig | None = None) -> AddingRun:
    """Train a ``config.cell`` regressor on adding problems of length ``config.T`` with ``fit``.

    ``training`` defaults to :func:`adding_training`; its seed also seeds the model's initial weights.
    Training stops after ``training.steps``, or once the trailing mean loss is below ``training.target_loss``.
    ``crossed`` is None if the loss never got below ``config.threshold``.
    """
    training = adding_training() if training is None else training
    torch.manual_seed(training.seed)
    model = adding_model(config)
    with torch_threads(config.threads):
        history = fit(model, adding_batches(config.batch_size, config.T), mse, training)
    crossed = first_below(history.loss, config.threshold, window=training.target_window)
    return AddingRun(model, history, crossed, config.threshold)
