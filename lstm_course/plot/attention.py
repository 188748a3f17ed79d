"""Attention plots: an alignment heatmap, and accuracy against source length for several models."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes


def plot_alignment(weights: np.ndarray, source: str, output: str, ax: Axes | None = None) -> Axes:
    """Heatmap of weights (len(output), len(source)): row t is where output character t looked."""
    weights = np.asarray(weights, dtype=float)
    if weights.ndim != 2 or weights.shape != (len(output), len(source)):
        raise ValueError(
            f"weights must have shape (len(output), len(source)) = {(len(output), len(source))}, "
            f"got {weights.shape}"
        )
    if not np.all(np.isfinite(weights)):
        raise ValueError("weights must be finite")
    if ax is None:
        _, ax = plt.subplots(figsize=(0.28 * len(source) + 1.2, 0.28 * len(output) + 1.0))
    ax.imshow(weights, cmap="Greys", vmin=0.0, vmax=1.0, aspect="equal")
    ax.set_xticks(range(len(source)), [c if c != " " else "␣" for c in source])
    ax.set_yticks(range(len(output)), list(output))
    ax.tick_params(length=0)
    ax.set_xlabel("source character $j$")
    ax.set_ylabel("output character $t$")
    return ax


def plot_accuracy_by_length(curves: Mapping[str, Sequence], ax: Axes | None = None) -> Axes:
    """One line per model: exact match against source length (rows with low, high, exact, pairs)."""
    if not curves:
        raise ValueError("curves must hold at least one model's rows")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.6))
    for (name, rows), marker in zip(curves.items(), "osd^v", strict=False):
        middles = [(row.low + row.high) / 2 for row in rows]
        ax.plot(middles, [row.exact for row in rows], marker=marker, label=name)
    ax.set_xlabel("source length (characters, bin middle)")
    ax.set_ylabel("exact match")
    ax.set_ylim(-0.03, 1.03)
    ax.legend()
    return ax
