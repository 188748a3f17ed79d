"""How many CPU threads torch may use while an experiment runs.

The chapters' models are tiny (a few thousand weights, batches of tens). For them one thread is faster than
several: splitting a 64 x 32 product across threads costs more in synchronisation than it saves, and on a busy
machine threads that spin while waiting for each other can make a step tens of times slower. Measured here
(2 shared cores, an RNN of H=32 over T=20, B=64, forward and backward): 3 ms a step with one thread, 80 ms
with two.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(n)`` and restore the previous count; None leaves it."""
    if n is None:
        yield
        return
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"threads must be a positive int or None, got {n!r}")
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
