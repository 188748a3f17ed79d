"""Figures about gradients: norms against the lag, and loss / gradient-norm traces of training runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes


def _axes(ax: Axes | None) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.6))
    return ax


def plot_gradient_norms(
    lags: Sequence[int],
    norms: Mapping[str, Sequence[float]],
    ax: Axes | None = None,
    *,
    ylabel: str = r"$\|\partial h_T / \partial h_{T-k}\|$",
) -> Axes:
    """One line per label: a gradient norm (log y) against the lag k = T - t.

    Args:
        lags: (K,) the lags.
        norms: label -> (K,) positive norms, one per lag (zeros and non-finite values are left out).
        ax: the Axes to draw on; a new figure when None.
        ylabel: the y-axis label.
    """
    if not isinstance(norms, Mapping) or not norms:
        raise ValueError("norms must be a non-empty dict mapping a label to a sequence of norms")
    lag_array = np.asarray(lags)
    ax = _axes(ax)
    for label, values in norms.items():
        v = np.asarray(values, dtype=np.float64)
        if v.shape != lag_array.shape:
            raise ValueError(f"norms[{label!r}] has shape {v.shape}, expected {lag_array.shape} like lags")
        keep = np.isfinite(v) & (v > 0)
        ax.semilogy(lag_array[keep], v[keep], label=str(label), linewidth=1.4)
    ax.set_xlabel("lag k = T - t (steps back in time)")
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize="small")
    return ax


def plot_run_traces(
    traces: Mapping[str, Sequence[float]], ax: Axes | None = None, *, ylabel: str = "loss", logy: bool = True
) -> Axes:
    """One line per run against the step; a run that ended non-finite gets an "x" at its last finite point.

    Args:
        traces: label -> (N,) values per step (History.loss or History.grad_norm); may end in inf or nan.
        ax: the Axes to draw on; a new figure when None.
        ylabel: the y-axis label.
        logy: a logarithmic y-axis (non-positive values are then left out).
    """
    if not isinstance(traces, Mapping) or not traces:
        raise ValueError("traces must be a non-empty dict mapping a label to a sequence of values")
    ax = _axes(ax)
    for label, values in traces.items():
        v = np.asarray(values, dtype=np.float64)
        steps = np.arange(1, v.size + 1)
        keep = np.isfinite(v) & ((v > 0) if logy else True)
        (line,) = ax.plot(steps[keep], v[keep], label=str(label), linewidth=1.2)
        if v.size and not np.isfinite(v[-1]) and keep.any():
            last = np.flatnonzero(keep)[-1]
            ax.plot(steps[last], v[last], "x", color=line.get_color(), markersize=10, markeredgewidth=2)
            ax.annotate(
                f"non-finite at step {v.size}",
                (steps[last], v[last]),
                textcoords="offset points",
                xytext=(6, -4),
                fontsize="small",
                color=line.get_color(),
            )
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize="small")
    return ax
