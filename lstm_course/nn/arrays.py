"""Call a torch function with NumPy arrays: the exercise checks send arrays, and only data crosses to them."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import torch


def _as_tensors(value: Any) -> Any:
    """Arrays (also inside dicts, lists and tuples) as tensors sharing their memory; the rest as it is."""
    if isinstance(value, dict):
        return {key: _as_tensors(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_as_tensors(item) for item in value)
    return torch.as_tensor(value) if isinstance(value, np.ndarray) else value


def _as_arrays(value: Any) -> Any:
    """Tensors (also inside lists and tuples, returned as tuples) as detached NumPy arrays."""
    if isinstance(value, (list, tuple)):
        return tuple(_as_arrays(item) for item in value)
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else value


def on_arrays(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` taking NumPy arrays in place of tensors, returning arrays in place of tensors (no autograd)."""
    if not callable(fn):
        raise TypeError(f"on_arrays: fn must be callable, got {type(fn).__name__}")

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with torch.no_grad():
            result = fn(*_as_tensors(args), **_as_tensors(kwargs))
        return _as_arrays(result)

    return wrapped
