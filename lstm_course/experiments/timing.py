"""Seconds an experiment took, for the chapters that report their cost.

The chapters only *report* these seconds: no run is bounded by them (runs are bounded by steps), so a slow
machine changes what a page says it cost, never what it computes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

Result = TypeVar("Result")


def timed(function: Callable[..., Result], *args: Any, **kwargs: Any) -> tuple[Result, float]:
    """(``function(*args, **kwargs)``, the wall seconds it took)."""
    if not callable(function):
        raise TypeError(f"timed: function must be callable, got {type(function).__name__}")
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start
