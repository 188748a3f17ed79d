"""The functions a check may hand to a submission's code, by name: the protocol's allow-list.

Arrays cross the pipe as data, but some exercises take a function as an argument: exercise 07's
``run_direction(step, ...)`` runs any step it is given. A function never travels. The grader sends its name
(``{"fn": "rnn_step"}``), and the submission's process looks the name up in :data:`FUNCTIONS`, its own copy of
this module, imported before any student code ran. A name not in the table is a ``ProtocolError``.

Each function here is a helper an exercise gives, never the answer to one. What the student's code can reach
from them (``rnn_step.__globals__``) is this module and the two reference steps' modules, not the answer key
of exercise 07 (``reference.multilayer_forward``, ``checks.bidirectional``): ``tests/grading`` walks it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lstm_course.reference.gru import gru_step_forward
from lstm_course.reference.rnn import rnn_step_forward


def rnn_step(x_t: np.ndarray, h_prev: np.ndarray, params: dict) -> np.ndarray:
    """The reference's tanh RNN step, returning h only: x_t (B, D), h_prev (B, H) -> h (B, H)."""
    return rnn_step_forward(x_t, h_prev, params)[0]


def gru_step(x_t: np.ndarray, h_prev: np.ndarray, params: dict) -> np.ndarray:
    """The reference's GRU step, returning h only: x_t (B, D), h_prev (B, H) -> h (B, H)."""
    return gru_step_forward(x_t, h_prev, params)[0]


#: Every function a message may name, by its name on the wire.
FUNCTIONS: dict[str, Callable[..., np.ndarray]] = {"rnn_step": rnn_step, "gru_step": gru_step}


def function_name(value: object) -> str | None:
    """The wire name of ``value`` when it is one of :data:`FUNCTIONS` itself (identity, not equality), else
    None."""
    return next((name for name, fn in FUNCTIONS.items() if fn is value), None)


def resolve(name: object) -> Callable[..., np.ndarray]:
    """The function a wire name stands for; ValueError for any other name (the protocol's caller turns it into
    a ProtocolError)."""
    if not isinstance(name, str) or name not in FUNCTIONS:
        raise ValueError(f"{str(name)[:80]!r} is not a function the grader may pass ({', '.join(FUNCTIONS)})")
    return FUNCTIONS[name]
