"""Exploding gradients in training, with and without gradient-norm clipping.

A tanh RNN whose recurrent matrix starts with spectral radius 2 trains on the adding problem with plain
SGD. The same run (same seed, same batches) is repeated clipped at ``TrainConfig.clip``: only the length of
each step differs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from lstm_course.experiments.adding import adding_batches, mse
from lstm_course.experiments.gradient_flow import with_spectral_radius
from lstm_course.experiments.threads import torch_threads
from lstm_course.nn import SequenceRegressor
from lstm_course.tasks import adding_batch
from lstm_course.train import History, TrainConfig, course_device, fit


@dataclass(frozen=True)
class ClippingConfig:
    """The exploding RNN and its task (how it trains, and the clipping norm, are a TrainConfig)."""

    radius: float = 2.0  # spectral radius of the initial W_hh: above 1 the gradient explodes
    T: int = 100  # adding-problem length
    hidden_size: int = 64  # H
    batch_size: int = 32  # sequences per step
    threads: int | None = 1  # torch threads while training (tiny models: one is fastest); None leaves it


def clipping_training(**changes) -> TrainConfig:
    """How the chapter trains the exploding RNN, with ``changes`` to any TrainConfig field.

    Plain SGD at 0.05 for 200 steps, the clipped run at norm 1; a non-finite loss or gradient ends a run
    (``on_nonfinite="stop"``); seed 0, on ``course_device()``.
    """
    defaults = TrainConfig(
        steps=200,
        lr=0.05,
        optimizer="sgd",
        clip=1.0,
        seed=0,
        device=course_device(),
        on_nonfinite="stop",
    )
    return replace(defaults, **changes)


def exploding_rnn(hidden_size: int, radius: float, seed: int) -> SequenceRegressor:
    """A tanh-RNN regressor for the adding problem whose W_hh (H, H) has spectral radius ``radius``."""
    torch.manual_seed(seed)
    model = SequenceRegressor("rnn", 2, hidden_size, 1)
    with torch.no_grad():
        weight_hh = model.rnn.get_parameter("weight_hh_l0")  # (H, H)
        w = with_spectral_radius(weight_hh.double().numpy(), radius)
        weight_hh.copy_(torch.from_numpy(w))
    return model


def train_with_and_without_clipping(
    config: ClippingConfig = ClippingConfig(), training: TrainConfig | None = None
) -> dict[str, History]:
    """Train the same exploding RNN twice, without clipping and clipped at ``training.clip``.

    ``training`` defaults to :func:`clipping_training`; its seed also seeds the initial weights.

    Returns:
        {"no clipping": History, f"clipped at {clip:g}": History}; a run whose loss or gradient stops
        being finite ends there with ``stopped == "nonfinite"`` (with the default ``on_nonfinite``).
    """
    training = clipping_training() if training is None else training
    if training.clip is None:
        raise ValueError("train_with_and_without_clipping: training.clip must be a norm, got None")
    batch = adding_batches(config.batch_size, config.T)
    runs = {}
    for label, max_norm in (("no clipping", None), (f"clipped at {training.clip:g}", training.clip)):
        with torch_threads(config.threads):
            model = exploding_rnn(config.hidden_size, config.radius, training.seed)
            runs[label] = fit(model, batch, mse, replace(training, clip=max_norm))
    return runs


def first_gradient_norm(config: ClippingConfig = ClippingConfig(), seed: int = 0) -> float:
    """The norm of the very first gradient (float32) of the exploding RNN: may already be inf."""
    model = exploding_rnn(config.hidden_size, config.radius, seed)
    x, y = adding_batch(config.batch_size, config.T, np.random.default_rng(seed))
    with torch_threads(config.threads):
        mse(model, torch.from_numpy(x), torch.from_numpy(y)).backward()
    squares = []
    for name, parameter in model.named_parameters():
        if parameter.grad is None:
            raise RuntimeError(f"first_gradient_norm: {name} got no gradient")
        squares.append(parameter.grad.double().pow(2).sum())
    return float(torch.stack(squares).sum().sqrt())
