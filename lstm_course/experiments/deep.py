"""Chapter 6's stacking experiment: what 1, 2 and 3 layers do on one task, over seeds.

The task is a running sum modulo ``modulus``: digits x_t in [0, m) arrive one per step, and at every step the
model must output (x_1 + ... + x_t) mod m. It needs memory (the sum so far) and a nonlinear update of it at
every step (a rotation among m states picked by the digit), which is what extra layers are said to help with.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from lstm_course.experiments.threads import torch_threads
from lstm_course.nn import SequenceTagger
from lstm_course.train import TrainConfig, course_device, fit


def running_sum_batch(
    batch_size: int, T: int, rng: np.random.Generator, modulus: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """x (T, B, m) one-hot digits, float32; y (T, B) int64, the running sum of the digits mod m."""
    digits = rng.integers(0, modulus, size=(T, batch_size))
    targets = np.cumsum(digits, axis=0) % modulus
    return np.eye(modulus, dtype=np.float32)[digits], targets.astype(np.int64)


@dataclass(frozen=True)
class DepthConfig:
    """The stacked tagger and its task (how it trains is a TrainConfig)."""

    num_layers: int = 1  # L
    cell: str = "lstm"  # "rnn" | "lstm" | "gru"
    hidden_size: int = 16  # H in every layer
    modulus: int = 3  # m: the digits and the sum live in [0, m)
    T: int = 12  # steps per sequence
    batch_size: int = 32  # sequences per step
    threads: int | None = 1  # torch threads while training; None leaves it


def depth_training(**changes) -> TrainConfig:
    """How the chapter trains the stacked models: Adam at 1e-2, clipped at 1, 200 steps."""
    return replace(TrainConfig(steps=200, lr=1e-2, seed=0, device=course_device()), **changes)


def sum_loss(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the per-step logits (T, B, m) against the running sums (T, B)."""
    logits = model(x)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


class DepthRun(NamedTuple):
    """One trained stack: its depth, seed, test accuracy, mean loss over the last 20 steps, ms per step."""

    num_layers: int
    seed: int
    accuracy: float
    final_loss: float
    ms_per_step: float


def train_depth(config: DepthConfig, training: TrainConfig) -> tuple[SequenceTagger, DepthRun]:
    """Train one stack on running sums and test it on 500 fresh sequences: (model, DepthRun)."""
    torch.manual_seed(training.seed)
    model = SequenceTagger(
        config.cell,
        config.modulus,
        config.hidden_size,
        config.modulus,
        num_layers=config.num_layers,
        fast=True,
    )

    def batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        return running_sum_batch(config.batch_size, config.T, rng, config.modulus)

    with torch_threads(config.threads):
        history = fit(model, batch, sum_loss, training)
    x, y = running_sum_batch(500, config.T, np.random.default_rng(10_000 + training.seed), config.modulus)
    with torch.no_grad():
        predicted = model(torch.as_tensor(x)).argmax(dim=-1).numpy()
    return model, DepthRun(
        config.num_layers,
        training.seed,
        float((predicted == y).mean()),
        float(np.mean(history.loss[-20:])),
        1e3 * history.seconds / max(history.steps, 1),
    )


def depth_sweep(
    depths=(1, 2, 3),
    seeds=(0, 1, 2),
    config: DepthConfig = DepthConfig(),
    training: TrainConfig | None = None,
) -> list[DepthRun]:
    """Train every depth with every seed (same data stream per seed); one DepthRun each."""
    training = depth_training() if training is None else training
    runs = []
    for num_layers in depths:
        for seed in seeds:
            runs.append(train_depth(replace(config, num_layers=num_layers), replace(training, seed=seed))[1])
    return runs


def summarise(runs: list[DepthRun]) -> dict[int, dict[str, float]]:
    """Per depth: mean, min and max test accuracy over seeds, seeds solved (accuracy > 0.99), ms per step."""
    summary = {}
    for depth in sorted({run.num_layers for run in runs}):
        accuracies = np.array([run.accuracy for run in runs if run.num_layers == depth])
        summary[depth] = {
            "mean": float(accuracies.mean()),
            "min": float(accuracies.min()),
            "max": float(accuracies.max()),
            "solved": int((accuracies > 0.99).sum()),
            "seeds": len(accuracies),
            "ms/step": float(np.median([run.ms_per_step for run in runs if run.num_layers == depth])),
        }
    return summary
