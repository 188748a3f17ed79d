"""The forget gate's initial bias, trained: how many steps an LSTM needs to solve the adding problem.

For each forget bias (torch's default init, whose b_if + b_hf is about 0, then 1 and 2) and each seed, one
LSTM trains on the adding problem until the mean of its last 50 losses is below the threshold, or for at most
``steps`` steps. The runs are independent, so they run in ``workers`` processes at once.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from lstm_course.experiments.adding import AddingConfig, adding_training, train_adding
from lstm_course.experiments.implementations import check_implementation
from lstm_course.train import TrainConfig


class SolveRun(NamedTuple):
    """One run: its forget bias (None: torch's init), seed, first step below the threshold (None: not within
    the budget), steps trained and seconds."""

    bias: float | None
    seed: int
    solved_at: int | None
    steps: int
    seconds: float


@dataclass(frozen=True)
class ForgetBiasConfig:
    """The runs of the experiment (the model and the task; how each run trains is a TrainConfig)."""

    biases: tuple[float | None, ...] = (None, 1.0, 2.0)  # None keeps torch's init: b_if + b_hf is about 0
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)  # one run per bias and seed; the seed fixes weights and batches
    T: int = 100  # sequence length of the adding problem
    hidden_size: int = 32  # H
    batch_size: int = 128  # sequences per step (at 32, no run solved within 800 steps: measured)
    workers: int = 2  # processes that train runs at the same time (each with one torch thread)
    implementation: str = "torch"  # "fast" | "plain" | "torch": torch.nn.LSTM trains this shape fastest

    def __post_init__(self) -> None:
        check_implementation(self.implementation)


def forget_bias_training(**changes) -> TrainConfig:
    """How each run trains: :func:`~lstm_course.experiments.adding.adding_training` (Adam, clipped at norm 1,
    stopping once the mean of the last 50 losses is below 0.01) with Adam at 1e-2 and at most 800 steps."""
    return replace(adding_training(lr=1e-2, steps=800), **changes)


def bias_label(bias: float | None) -> str:
    """The column label of a forget bias: "torch default (about 0)" for None, else "bias 1" etc."""
    return "torch default (about 0)" if bias is None else f"bias {bias:g}"


def _one_run(config: ForgetBiasConfig, training: TrainConfig, bias: float | None, seed: int) -> SolveRun:
    adding = AddingConfig(
        "lstm",
        T=config.T,
        hidden_size=config.hidden_size,
        batch_size=config.batch_size,
        forget_bias=bias,
        threads=1,
        implementation=config.implementation,
    )
    start = time.perf_counter()
    run = train_adding(adding, replace(training, seed=seed))
    return SolveRun(bias, seed, run.crossed, run.history.steps, time.perf_counter() - start)


def steps_to_solve(
    config: ForgetBiasConfig = ForgetBiasConfig(), training: TrainConfig | None = None
) -> list[SolveRun]:
    """Train one LSTM per (bias, seed) of ``config``; the runs in the order bias by bias, seed by seed.

    ``training`` defaults to :func:`forget_bias_training`; each run replaces its seed. With ``workers`` > 1
    the runs go to that many forked processes; the results do not depend on it.
    """
    training = forget_bias_training() if training is None else training
    jobs = [(bias, seed) for bias in config.biases for seed in config.seeds]
    if config.workers <= 1:
        return [_one_run(config, training, bias, seed) for bias, seed in jobs]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=config.workers, mp_context=context) as pool:
        futures = [pool.submit(_one_run, config, training, bias, seed) for bias, seed in jobs]
        return [f.result() for f in futures]


def solve_columns(runs: Sequence[SolveRun], budget: int) -> dict[str, dict[str, object]]:
    """The table of :func:`steps_to_solve`: one column per bias; a row per seed (the step it solved at, None
    if not within ``budget`` steps), then how many solved and the median step (None if half or more did
    not)."""
    columns: dict[str, dict[str, object]] = {}
    for bias in dict.fromkeys(r.bias for r in runs):
        mine = [r for r in runs if r.bias == bias]
        column: dict[str, object] = {f"seed {r.seed}": r.solved_at for r in mine}
        column["solved"] = f"{sum(r.solved_at is not None for r in mine)} of {len(mine)}"
        column[f"median steps (budget {budget})"] = median_steps(mine)
        columns[bias_label(bias)] = column
    return columns


def median_steps(runs: Sequence[SolveRun]) -> float | None:
    """The median step at which ``runs`` solved, counting unsolved runs as later than any; None if the median
    run did not solve."""
    ranked = sorted((np.inf if r.solved_at is None else r.solved_at) for r in runs)
    median = float(np.median(ranked))
    return None if not np.isfinite(median) else median


def solved_counts(runs: Sequence[SolveRun]) -> Mapping[float | None, int]:
    """{bias: how many of its runs solved}."""
    counts: dict[float | None, int] = {}
    for r in runs:
        counts[r.bias] = counts.get(r.bias, 0) + (r.solved_at is not None)
    return counts
