"""The adding problem, learned by a tanh RNN or an LSTM from ``lstm_course.nn`` through ``fit``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from lstm_course.experiments.threads import torch_threads
from lstm_course.nn import SequenceRegressor, set_forget_bias
from lstm_course.tasks import adding_batch
from lstm_course.train import History, TrainConfig, fit


class AddingRun(NamedTuple):
    """A trained model, its History, and the first step where the mean loss fell below ``threshold``."""

    model: SequenceRegressor
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


def first_below(losses: Sequence[float], threshold: float, window: int = 50) -> int | None:
    """The first step (1-based) where the mean of the last ``window`` losses is below ``threshold``."""
    v = np.asarray(losses, dtype=np.float64)
    if v.size < window:
        return None
    means = np.convolve(v, np.ones(window) / window, mode="valid")  # means[k] covers steps k+1 .. k+window
    below = np.flatnonzero(means < threshold)
    return int(below[0] + window) if below.size else None


def train_adding(
    cell: str,
    *,
    T: int = 100,
    hidden_size: int = 64,
    steps: int = 3000,
    lr: float = 3e-3,
    batch_size: int = 64,
    clip: float | None = 1.0,
    forget_bias: float | None = None,
    threshold: float = 0.01,
    stop_at_threshold: bool = True,
    time_limit_s: float | None = None,
    seed: int = 0,
    fast: bool = True,
    device: str | None = "cpu",
    threads: int | None = 1,
) -> AddingRun:
    """Train a ``cell`` ("rnn", "lstm", "gru") regressor with Adam on adding problems of length ``T``.

    Training stops after ``steps``, after ``time_limit_s`` seconds, or (``stop_at_threshold``) once the
    mean of the last 50 losses is below ``threshold``. ``crossed`` is None if it never got there.
    """
    torch.manual_seed(seed)
    model = SequenceRegressor(cell, 2, hidden_size, 1, fast=fast)
    if forget_bias is not None:
        set_forget_bias(model, forget_bias)
    config = TrainConfig(
        steps=steps,
        lr=lr,
        clip=clip,
        seed=seed,
        device=device,
        progress=False,
        time_limit_s=time_limit_s,
        target_loss=threshold if stop_at_threshold else None,
        target_window=50,
    )
    with torch_threads(threads):  # tiny models: one thread is fastest
        history = fit(model, adding_batches(batch_size, T), mse, config)
    return AddingRun(model, history, first_below(history.loss, threshold), threshold)
