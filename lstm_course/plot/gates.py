"""Figures about LSTM gates: heatmaps over the words of a sentence, and the distribution of gate values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import SymLogNorm


def plot_gate_heatmap(
    values: np.ndarray,
    words: Sequence[str],
    ax: Axes | None = None,
    *,
    title: str = "",
    units: Sequence[int] | None = None,
    vmin: float = 0.0,
    vmax: float = 1.0,
    cmap: str = "viridis",
    symlog: float | None = None,
) -> Axes:
    """A heatmap of gate (or state) ``values`` (T, K): one row per unit, one column per word.

    Args:
        values: (T, K) one value per step and unit, e.g. ``GateTrace.f[:, units]``.
        words: (T,) the words, written under the columns.
        ax: the Axes to draw on; a new figure when None.
        title: the title.
        units: (K,) the unit indices, written beside the rows (0..K-1 when None).
        vmin, vmax: the colour range (0 and 1 for gates; use -1, 1 for tanh values).
        cmap: a matplotlib colour map name.
        symlog: None for a linear colour scale; a positive number for a symmetric log scale that is linear
            within +-symlog and logarithmic beyond (for cell states, which range over orders of magnitude).
    """
    values = np.asarray(values)
    if values.ndim != 2 or values.shape[0] != len(words):
        raise ValueError(
            f"values must be (T, K) with T = len(words) = {len(words)}, got shape {values.shape}"
        )
    if units is not None and len(units) != values.shape[1]:
        raise ValueError(f"units must name the {values.shape[1]} columns of values, got {len(units)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(max(6.0, 0.32 * len(words)), 0.3 * values.shape[1] + 1.6))
    if symlog is not None and not symlog > 0:
        raise ValueError(f"symlog must be a positive number or None, got {symlog!r}")
    scale = (
        {"vmin": vmin, "vmax": vmax} if symlog is None else {"norm": SymLogNorm(symlog, vmin=vmin, vmax=vmax)}
    )
    image = ax.imshow(values.T, aspect="auto", cmap=cmap, interpolation="nearest", **scale)
    ax.set_xticks(range(len(words)), labels=list(words), rotation=60, ha="right", fontsize="small")
    rows = list(units) if units is not None else list(range(values.shape[1]))
    ax.set_yticks(range(len(rows)), labels=[str(u) for u in rows], fontsize="x-small")
    ax.set_ylabel("unit")
    ax.set_title(title, fontsize="medium")
    ax.figure.colorbar(image, ax=ax, fraction=0.025, pad=0.01)
    return ax


def plot_gate_histogram(gates: Mapping[str, np.ndarray], ax: Axes | None = None, *, bins: int = 20) -> Axes:
    """Histograms (share of values per bin) of gate activations in [0, 1], one outline per gate name."""
    if not isinstance(gates, Mapping) or not gates:
        raise ValueError("gates must be a non-empty dict mapping a gate name to an array of values in [0, 1]")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.4))
    edges = np.linspace(0.0, 1.0, bins + 1)
    for name, values in gates.items():
        v = np.asarray(values, dtype=np.float64).ravel()
        if v.size == 0 or v.min() < 0 or v.max() > 1:
            raise ValueError(f"gates[{name!r}] must be non-empty with values in [0, 1]")
        counts, _ = np.histogram(v, bins=edges)
        ax.stairs(counts / v.size, edges, linewidth=1.5, label=str(name))
    ax.axvspan(0.1, 0.9, color="0.9", zorder=0)
    ax.set_xlabel("gate value (shaded: between 0.1 and 0.9)")
    ax.set_ylabel("share of values")
    ax.legend(fontsize="small")
    return ax
