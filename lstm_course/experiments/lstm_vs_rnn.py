"""LSTM versus tanh RNN, side by side: size, speed, accuracy at short and long lags, gradient decay."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import numpy as np
import torch

from lstm_course.experiments.gates import accuracy_by_lag
from lstm_course.experiments.gradient_flow import decay_per, jacobian_norms
from lstm_course.experiments.threads import torch_threads
from lstm_course.tasks.grammar import GrammarBatch


def parameter_count(model: torch.nn.Module) -> int:
    """The number of trainable scalars in ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def seconds_per_step(
    model: torch.nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    loss_fn: Callable[[torch.nn.Module, torch.Tensor, torch.Tensor], torch.Tensor],
    repeats: int = 5,
) -> float:
    """The median wall time of one forward + backward pass of ``loss_fn`` on the batch (x, y)."""
    x_t, y_t = torch.as_tensor(x), torch.as_tensor(y)
    times = []
    with torch_threads(1):  # as the experiments train: tiny models run fastest on one thread
        for _ in range(repeats + 1):  # the first pass warms up and is dropped
            start = time.perf_counter()
            model.zero_grad()
            loss_fn(model, x_t, y_t).backward()
            times.append(time.perf_counter() - start)
    model.zero_grad()
    return float(np.median(times[1:]))


def comparison_rows(
    models: Mapping[str, torch.nn.Module],
    test: GrammarBatch,
    loss_fn: Callable[[torch.nn.Module, torch.Tensor, torch.Tensor], torch.Tensor],
    decay_per_10: Mapping[str, float],
    *,
    short: tuple[int, int] = (0, 4),
    long: tuple[int, int] = (12, 100),
    timing_batch: int = 32,
) -> dict[str, dict[str, float]]:
    """One column per model: parameters, ms per training step (one thread, the first ``timing_batch`` stories
    of ``test``), accuracy on ``test`` at short and long lags (lags in [lo, hi)), and the gradient's decay
    factor per 10 steps (given, from ``gradient_flow``)."""
    rows: dict[str, dict[str, float]] = {}
    for label, model in models.items():
        acc = accuracy_by_lag(model, test, bins=(short[0], short[1], long[0], long[1]))
        short_key, long_key = f"{short[0]}-{short[1] - 1}", f"{long[0]}-{long[1] - 1}"
        rows[label] = {
            "parameters": parameter_count(model),
            "ms per step": 1e3
            * seconds_per_step(model, test.x[:, :timing_batch], test.y[:, :timing_batch], loss_fn),
            f"accuracy, lag {short[0]}-{short[1] - 1}": acc[short_key][0],
            f"accuracy, lag {long[0]}+": acc[long_key][0],
            "gradient x per 10 steps": decay_per_10[label],
        }
    return rows


def trained_gradient_decay(model: torch.nn.Module, x: np.ndarray, every: int = 10) -> float:
    """Factor per ``every`` steps of ||dh_T/dx_t|| of a trained one-layer model (its ``.cell`` and ``.rnn``,
    as :class:`~lstm_course.nn.SequenceTagger`) on x (T, D)."""
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    cell = getattr(model, "cell", None)
    if not isinstance(cell, str):
        raise TypeError(f"model must name its cell in .cell ('rnn', 'lstm' or 'gru'), got {cell!r}")
    params = {n: getattr(model.rnn, f"{n}_l0").detach().cpu().double().numpy() for n in names}
    return decay_per(jacobian_norms(cell, params, x).input, every=every)
