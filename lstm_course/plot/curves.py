"""Learning curves: one line per run, an optional baseline, optional smoothing and log scale."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes


def moving_average(values: Sequence[float], window: int) -> np.ndarray:
    """The trailing mean over ``window`` points (shorter at the start), same length as ``values``."""
    if not isinstance(window, (int, np.integer)) or window < 1:
        raise ValueError(f"smooth must be a positive int, got {window!r}")
    v = np.asarray(values, dtype=np.float64)
    if window == 1 or v.size == 0:
        return v
    csum = np.cumsum(np.insert(v, 0, 0.0))
    idx = np.arange(1, v.size + 1)
    start = np.maximum(idx - window, 0)
    return (csum[idx] - csum[start]) / (idx - start)


def plot_learning_curves(
    curves: Mapping[str, Sequence[float]],
    ax: Axes | None = None,
    *,
    baseline: float | None = None,
    baseline_label: str | None = None,
    logy: bool = False,
    smooth: int = 1,
) -> Axes:
    """Plot one loss curve per label against the training step.

    Args:
        curves: label -> the loss per step (a list, a NumPy array or ``History.loss``).
        ax: the Axes to draw on; a new figure when None.
        baseline: a horizontal reference line, e.g. the loss of always predicting the mean.
        baseline_label: the legend text of the baseline ("baseline" when None).
        logy: a logarithmic y-axis (all plotted values must then be positive).
        smooth: the width of a trailing moving average applied to every curve (1: raw).

    Returns:
        The Axes, with a legend, "step" on x and "loss" on y.
    """
    if not isinstance(curves, Mapping) or not curves:
        raise ValueError("curves must be a non-empty dict mapping a label to a sequence of losses")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.6))
    for label, values in curves.items():
        y = moving_average(values, smooth)
        if y.ndim != 1:
            raise ValueError(f"curves[{label!r}] must be one-dimensional, got shape {y.shape}")
        if logy and np.any(y[np.isfinite(y)] <= 0):
            raise ValueError(f"curves[{label!r}] has values <= 0, which a log y-axis cannot show")
        ax.plot(np.arange(1, y.size + 1), y, label=str(label), linewidth=1.2)
    if baseline is not None:
        ax.axhline(baseline, color="0.4", linestyle="--", linewidth=1.0, label=baseline_label or "baseline")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss" if smooth == 1 else f"loss (mean of last {smooth} steps)")
    ax.legend(frameon=False)
    ax.grid(True, alpha=0.3)
    return ax
