"""Bar charts of scores per model, with optional reference lines (chance, a theoretical bound)."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes


def plot_scores(
    scores: Mapping[str, float],
    ax: Axes | None = None,
    *,
    references: Mapping[str, float] | None = None,
    ylabel: str = "accuracy",
    ylim: tuple[float, float] | None = (0.0, 1.05),
    annotate: bool = True,
) -> Axes:
    """One bar per model, its score written on top, and a dashed line per reference value.

    Args:
        scores: model name -> score (e.g. held-out accuracy).
        ax: the Axes to draw on; a new figure when None.
        references: label -> value, each drawn as a horizontal dashed line (e.g. {"chance": 0.5}).
        ylabel: the y-axis label.
        ylim: the y-axis limits; None lets matplotlib choose.
        annotate: write each score above its bar.

    Returns:
        The Axes.
    """
    if not isinstance(scores, Mapping) or not scores:
        raise ValueError("scores must be a non-empty dict mapping a model name to a number")
    values = np.asarray([float(v) for v in scores.values()])
    if not np.isfinite(values).all():
        raise ValueError(f"scores must be finite, got {dict(scores)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.6))
    positions = np.arange(len(values))
    bars = ax.bar(positions, values, color="tab:blue", width=0.6)
    ax.set_xticks(positions, [str(k) for k in scores], rotation=0)
    styles = ["--", ":", "-."]
    for k, (label, value) in enumerate((references or {}).items()):
        ax.axhline(value, color="0.35", linestyle=styles[k % len(styles)], linewidth=1.0, label=label)
    if annotate:
        for bar, value in zip(bars, values, strict=True):
            ax.annotate(
                f"{value:.3f}",
                (bar.get_x() + bar.get_width() / 2, value),
                ha="center",
                va="bottom",
                xytext=(0, 2),
                textcoords="offset points",
                fontsize=9,
            )
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_ylabel(ylabel)
    if references:
        ax.legend(frameon=False, loc="upper left", fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
    return ax
