"""Input checks shared by the cells and layers: each error names the argument and the expected shape/type."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def check_input_size(input: Tensor, input_size: int, owner: str) -> None:
    """Raise unless input is a floating tensor whose last dimension is input_size (D)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{owner}: input must be a torch.Tensor, got {type(input).__name__}")
    if not input.is_floating_point():
        raise TypeError(f"{owner}: input must be a floating-point tensor, got dtype {input.dtype}")
    if input.shape[-1] != input_size:
        raise ValueError(
            f"{owner}: input.size(-1) must equal input_size={input_size}, "
            f"got input of shape {tuple(input.shape)}"
        )


def check_dtype(input: Tensor, weight: Tensor, owner: str, name: str = "input") -> None:
    """Raise unless input (or the state called name) has the parameters' dtype."""
    if input.dtype != weight.dtype:
        raise TypeError(
            f"{owner}: {name} has dtype {input.dtype} but the parameters are {weight.dtype}; "
            f"convert one of them (e.g. {name.split(' ')[0]}.to({weight.dtype}) or model.to({input.dtype}))"
        )


def check_state(state: Tensor, expected: tuple[int, ...], name: str, owner: str) -> None:
    """Raise unless state is a tensor of exactly the expected shape."""
    if not isinstance(state, Tensor):
        raise TypeError(f"{owner}: {name} must be a torch.Tensor, got {type(state).__name__}")
    if tuple(state.shape) != tuple(expected):
        raise ValueError(f"{owner}: {name} must have shape {tuple(expected)}, got {tuple(state.shape)}")


def check_lengths(lengths: Tensor | Sequence[int], batch_size: int, T: int, owner: str) -> Tensor:
    """Validate lengths (B,) of integers in [1, T]; return them as a CPU int64 tensor."""
    if isinstance(lengths, Tensor):
        if lengths.dtype.is_floating_point or lengths.dtype.is_complex or lengths.dtype == torch.bool:
            raise TypeError(f"{owner}: lengths must hold integers, got dtype {lengths.dtype}")
        lengths = lengths.detach().to("cpu", torch.int64)
    else:
        try:
            values = list(lengths)
        except TypeError:
            raise TypeError(f"{owner}: lengths must be a 1-D integer tensor or a list of ints") from None
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise TypeError(f"{owner}: lengths must hold ints, got {values!r}")
        lengths = torch.tensor(values, dtype=torch.int64)
    if lengths.dim() != 1 or lengths.numel() != batch_size:
        raise ValueError(
            f"{owner}: lengths must have shape (B,) = ({batch_size},), one length per sequence, "
            f"got shape {tuple(lengths.shape)}"
        )
    if batch_size and (int(lengths.min()) < 1 or int(lengths.max()) > T):
        raise ValueError(
            f"{owner}: every entry of lengths must be in [1, T={T}], got min {int(lengths.min())} "
            f"and max {int(lengths.max())}"
        )
    return lengths


def step_mask(lengths: Tensor, T: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """mask (T, B, 1): 1 where step t < lengths[b] (a real step), 0 on padding."""
    steps = torch.arange(T).unsqueeze(1)  # (T, 1)
    return (steps < lengths.unsqueeze(0)).unsqueeze(-1).to(device=device, dtype=dtype)
