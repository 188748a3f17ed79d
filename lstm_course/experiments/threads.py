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


def one_blas_thread() -> bool:
    """Limit NumPy's BLAS to one thread for the rest of the process; True if it could (with threadpoolctl,
    which the book's extras install), False if not.

    The chapters' NumPy work is on small matrices (H = 64): there a second BLAS thread saves nothing, and on a
    busy machine two threads that wait for each other cost ten times the CPU time. Measured here, the gradient
    flow of chapter 4 (H = 64, T = 200): 15 CPU seconds with two threads, 1.2 with one.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return False
    threadpool_limits(limits=1, user_api="blas")
    return True
