"""Exploding gradients in training, with and without gradient-norm clipping.

A tanh RNN whose recurrent matrix starts with spectral radius 2 trains on the adding problem with plain
SGD. The same run (same seed, same batches) is repeated with ``clip``: only the length of each step differs.
"""

from __future__ import annotations

import numpy as np
import torch

from lstm_course.experiments.adding import adding_batches, mse
from lstm_course.experiments.gradient_flow import with_spectral_radius
from lstm_course.experiments.threads import torch_threads
from lstm_course.nn import SequenceRegressor
from lstm_course.tasks import adding_batch
from lstm_course.train import History, TrainConfig, fit


def exploding_rnn(hidden_size: int, radius: float, seed: int) -> SequenceRegressor:
    """A tanh-RNN regressor for the adding problem whose W_hh (H, H) has spectral radius ``radius``."""
    torch.manual_seed(seed)
    model = SequenceRegressor("rnn", 2, hidden_size, 1)
    with torch.no_grad():
        w = with_spectral_radius(model.rnn.weight_hh_l0.double().numpy(), radius)
        model.rnn.weight_hh_l0.copy_(torch.from_numpy(w))
    return model


def train_with_and_without_clipping(
    *,
    radius: float = 2.0,
    T: int = 100,
    hidden_size: int = 64,
    lr: float = 0.05,
    steps: int = 200,
    batch_size: int = 32,
    clip: float = 1.0,
    seed: int = 0,
    device: str | None = "cpu",
    threads: int | None = 1,
) -> dict[str, History]:
    """Train the same exploding RNN twice with SGD, without and with clipping at ``clip``.

    Returns:
        {"no clipping": History, f"clipped at {clip:g}": History}; a run whose loss or gradient stops
        being finite ends there with ``stopped == "nonfinite"``.
    """
    batch = adding_batches(batch_size, T)
    runs = {}
    for label, max_norm in (("no clipping", None), (f"clipped at {clip:g}", clip)):
        config = TrainConfig(
            steps=steps,
            lr=lr,
            optimizer="sgd",
            clip=max_norm,
            seed=seed,
            device=device,
            progress=False,
            on_nonfinite="stop",
        )
        with torch_threads(threads):  # tiny models: one thread is fastest
            runs[label] = fit(exploding_rnn(hidden_size, radius, seed), batch, mse, config)
    return runs


def first_gradient_norm(
    radius: float, *, T: int = 100, hidden_size: int = 64, batch_size: int = 32, seed: int = 0
) -> float:
    """The norm of the very first gradient (float32) of the exploding RNN: may already be inf."""
    model = exploding_rnn(hidden_size, radius, seed)
    x, y = adding_batch(batch_size, T, np.random.default_rng(seed))
    with torch_threads(1):
        mse(model, torch.from_numpy(x), torch.from_numpy(y)).backward()
    squares = [p.grad.double().pow(2).sum() for p in model.parameters()]
    return float(torch.stack(squares).sum().sqrt())
