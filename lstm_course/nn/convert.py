"""Move weights between the NumPy reference's parameter dicts and torch state dicts (same keys, layout)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn


def to_torch_state_dict(params: Mapping[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """NumPy params (torch's keys: weight_ih or weight_ih_l0, ...) -> a state dict of tensors, dtype kept."""
    out = {}
    for name, value in params.items():
        if not isinstance(value, np.ndarray):
            raise TypeError(
                f"to_torch_state_dict: params[{name!r}] must be a numpy array, got {type(value).__name__}"
            )
        out[name] = torch.from_numpy(np.ascontiguousarray(value).copy())
    return out


def from_torch_state_dict(source: nn.Module | Mapping[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """A module's (or a state dict's) tensors as NumPy arrays (copies on the CPU), keys unchanged."""
    state = source.state_dict() if isinstance(source, nn.Module) else source
    return {name: t.detach().cpu().numpy().copy() for name, t in state.items()}
