"""A real time series for forecasting: the yearly sunspot numbers bundled with statsmodels (public domain).

``statsmodels.datasets.sunspots`` holds the yearly mean sunspot number from 1700 to 2008 (309 values). It
loads from the installed package; nothing is downloaded. A forecast here is *multi-step*: from the last
``window`` values before an origin, predict the next ``horizon`` values at once.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Series(NamedTuple):
    """A yearly series: years (N,) and values (N,)."""

    years: np.ndarray  # (N,) int
    values: np.ndarray  # (N,) float


def load_sunspots() -> Series:
    """Yearly sunspot numbers 1700-2008 from statsmodels."""
    from statsmodels.datasets import sunspots

    frame = sunspots.load_pandas().data
    return Series(
        frame["YEAR"].to_numpy().astype(np.int64), frame["SUNACTIVITY"].to_numpy().astype(np.float64)
    )


def forecast_windows(values: np.ndarray, origins, window: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets of forecasts made at ``origins``.

    Args:
        values: (N,) the series.
        origins: (M,) indices t; the forecast made at t reads values[t - window : t] and predicts
            values[t : t + horizon].
        window: past values read.
        horizon: future values predicted.

    Returns:
        x: (window, M) the past, time-major.
        y: (M, horizon) the future.
    """
    values = np.asarray(values, dtype=np.float64)
    origins = np.asarray(origins, dtype=np.int64)
    if values.ndim != 1:
        raise ValueError(f"values must be 1-D, got shape {values.shape}")
    for name, size in (("window", window), ("horizon", horizon)):
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"{name} must be a positive int, got {size!r}")
    if origins.ndim != 1 or origins.size == 0:
        raise ValueError(f"origins must be a non-empty 1-D array of indices, got shape {origins.shape}")
    if origins.min() < window or origins.max() + horizon > len(values):
        raise ValueError(
            f"origins must lie in [{window}, {len(values) - horizon}] so that window and horizon fit, got "
            f"[{origins.min()}, {origins.max()}]"
        )
    x = values[origins[None, :] + np.arange(-window, 0)[:, None]]  # (window, M)
    y = values[origins[:, None] + np.arange(horizon)[None, :]]  # (M, horizon)
    return x, y


def seasonal_naive(values: np.ndarray, origins, horizon: int, period: int) -> np.ndarray:
    """(M, horizon) forecasts that repeat the last full period: the value ``period`` steps before each target.

    Needs horizon <= period so that every repeated value lies before the origin.
    """
    if not 1 <= horizon <= period:
        raise ValueError(
            f"seasonal_naive needs 1 <= horizon <= period, got horizon={horizon}, period={period}"
        )
    origins = np.asarray(origins, dtype=np.int64)
    if origins.min() < period:
        raise ValueError(f"origins must be >= period = {period}, got {origins.min()}")
    return np.asarray(values, dtype=np.float64)[origins[:, None] + np.arange(horizon)[None, :] - period]
