"""Fixtures for the lstm_course.nn tests: the devices to run on, CPU always, CUDA/MPS when present."""

import pytest
import torch

from lstm_course.experiments.threads import torch_threads
from lstm_course.nn import available_devices

DEVICES = [
    pytest.param(d, id=d.type, marks=[pytest.mark.gpu] if d.type == "cuda" else [])
    for d in available_devices()
]


@pytest.fixture(params=DEVICES)
def device(request) -> torch.device:
    """Each available device in turn (CUDA ones carry the gpu marker)."""
    return request.param


@pytest.fixture(autouse=True)
def _seed() -> None:
    """Every test starts from the same torch seed: failures reproduce."""
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _one_thread():
    """These tensors are tiny: one thread avoids OpenMP hand-offs, which on a busy machine cost 10x."""
    with torch_threads(1):
        yield
