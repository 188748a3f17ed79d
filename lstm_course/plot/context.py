"""How a language model's loss depends on how much context it was given."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes


def plot_loss_by_context(
    losses: Mapping[int, float],
    ax: Axes | None = None,
    *,
    references: Mapping[str, float] | None = None,
    label: str | None = None,
) -> Axes:
    """Loss (y) against the number of context characters (x, log scale), with dashed reference lines.

    Args:
        losses: context length k >= 1 -> the mean loss of predicting the next character after k characters.
        ax: the Axes to draw on; a new figure when None.
        references: label -> loss, drawn as horizontal lines (e.g. the unigram entropy).
        label: the legend label of the curve.

    Returns:
        The Axes.
    """
    if not isinstance(losses, Mapping) or not losses:
        raise ValueError("losses must be a non-empty dict mapping a context length to a loss")
    ks = np.asarray(sorted(losses), dtype=np.int64)
    if ks.min() < 1:
        raise ValueError(f"context lengths must be >= 1, got {ks.min()}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.plot(ks, [losses[int(k)] for k in ks], marker="o", label=label)
    styles = ["--", ":", "-."]
    for n, (name, value) in enumerate((references or {}).items()):
        ax.axhline(value, color="0.35", linestyle=styles[n % len(styles)], linewidth=1.0, label=name)
    ax.set_xscale("log", base=2)
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_xlabel("characters of context")
    ax.set_ylabel("loss (nats per character)")
    if label is not None or references:
        ax.legend(frameon=False)
    ax.grid(True, alpha=0.3)
    return ax
