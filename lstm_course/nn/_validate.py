"""Input checks shared by the cells and layers: each error names the argument and the expected shape/type.

Non-finite input (the package's NaN policy, see ``lstm_course.nn``): :func:`check_finite` refuses NaN and inf
in the input and the initial states with one reduction per forward call, never one per time step.
"""

from __future__ import annotations

import contextlib
import contextvars
import numbers
from collections.abc import Iterator, Sequence

import numpy as np
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


def check_device(tensor: Tensor, weight: Tensor, owner: str, name: str = "input") -> None:
    """Raise unless tensor is on the parameters' device, and neither is on the meta device (no data)."""
    for what, t in ((name, tensor), ("the parameters", weight)):
        if t.device.type == "meta":
            raise ValueError(
                f"{owner}: {what} {'is' if what == name else 'are'} on the meta device, which holds no "
                f"values to compute with; materialise {'it' if what == name else 'them'} first "
                "(e.g. model.to_empty(device='cpu') then reset_parameters())"
            )
    if tensor.device != weight.device:
        raise ValueError(
            f"{owner}: {name} is on {tensor.device} but the parameters are on {weight.device}; move one of "
            f"them (e.g. {name.split(' ')[0]}.to({str(weight.device)!r}) or model.to({str(tensor.device)!r}))"
        )


_FINITE_CHECKS = contextvars.ContextVar("finite_checks", default=True)


@contextlib.contextmanager
def internal_inputs() -> Iterator[None]:
    """Within it, :func:`check_finite` checks nothing: for a model feeding its own submodules tensors made
    from its parameters and already checked input (a decoder's per-step input), so no step syncs the device.
    """
    token = _FINITE_CHECKS.set(False)
    try:
        yield
    finally:
        _FINITE_CHECKS.reset(token)


def check_finite(owner: str, named: Sequence[tuple[str, Tensor]]) -> None:
    """Raise ValueError naming the first of ``named`` that holds NaN or inf.

    One reduction over all of them (a single device sync); the per-tensor search runs only on failure.
    """
    tensors = [t for _, t in named]
    if not tensors or not _FINITE_CHECKS.get():
        return
    flags = torch.stack([torch.isfinite(t.detach()).all() for t in tensors])
    if bool(flags.all()):
        return
    for (name, _), ok in zip(named, flags.tolist(), strict=True):
        if not ok:
            raise ValueError(
                f"{owner}: {name} must be finite, got NaN or inf; this package refuses non-finite input "
                "rather than return NaN quietly"
            )


def check_state(state: Tensor, expected: tuple[int, ...], name: str, owner: str) -> None:
    """Raise unless state is a tensor of exactly the expected shape."""
    if not isinstance(state, Tensor):
        raise TypeError(f"{owner}: {name} must be a torch.Tensor, got {type(state).__name__}")
    if tuple(state.shape) != tuple(expected):
        raise ValueError(f"{owner}: {name} must have shape {tuple(expected)}, got {tuple(state.shape)}")


def check_lengths(lengths: Tensor | Sequence[int], batch_size: int, T: int, owner: str) -> Tensor:
    """Validate lengths (B,) of integers in [1, T]; return them as a CPU int64 tensor.

    Accepts what torch's packing accepts: an integer tensor, a NumPy integer array, or a sequence of ints
    (NumPy integers included). Values are range-checked before any conversion, so a huge one is named.
    """
    if isinstance(lengths, Tensor):
        if lengths.dtype.is_floating_point or lengths.dtype.is_complex or lengths.dtype == torch.bool:
            raise TypeError(f"{owner}: lengths must hold integers, got dtype {lengths.dtype}")
        if lengths.device.type == "meta":
            raise ValueError(f"{owner}: lengths is on the meta device, which holds no values")
        lengths = lengths.detach().to("cpu", torch.int64)
    else:
        if isinstance(lengths, np.ndarray):
            if lengths.dtype.kind not in "iu":
                raise TypeError(f"{owner}: lengths must hold integers, got dtype {lengths.dtype}")
            if lengths.ndim != 1:
                raise ValueError(
                    f"{owner}: lengths must have shape (B,) = ({batch_size},), got shape {lengths.shape}"
                )
            values = lengths.tolist()
        else:
            try:
                values = list(lengths)
            except TypeError:
                raise TypeError(f"{owner}: lengths must be a 1-D integer tensor or a list of ints") from None
        if not all(isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_)) for v in values):
            raise TypeError(f"{owner}: lengths must hold ints, got {values!r}")
        values = [int(v) for v in values]
        if len(values) != batch_size:
            raise ValueError(
                f"{owner}: lengths must have shape (B,) = ({batch_size},), one length per sequence, "
                f"got shape ({len(values)},)"
            )
        if values and (min(values) < 1 or max(values) > T):
            raise ValueError(
                f"{owner}: every entry of lengths must be in [1, T={T}], got min {min(values)} "
                f"and max {max(values)}"
            )
        lengths = torch.tensor(values, dtype=torch.int64) if values else torch.zeros(0, dtype=torch.int64)
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
