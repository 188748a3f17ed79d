"""Choose where tensors live: the first of CUDA, Apple's MPS, then the CPU."""

from __future__ import annotations

import torch


def pick_device() -> torch.device:
    """torch.device('cuda') when CUDA is available, else 'mps' when available, else 'cpu'."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def available_devices() -> list[torch.device]:
    """Every device this machine can run on, the CPU first (tests parametrize over it)."""
    devices = [torch.device("cpu")]
    if torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append(torch.device("mps"))
    return devices
