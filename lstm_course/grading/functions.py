"""The functions a check may hand to a submission's code, by name: the protocol's allow-list.

Arrays cross the pipe as data, but some exercises take a function as an argument: exercise 07's
``run_direction(step, ...)`` runs any step it is given. A function never travels. The grader sends its name
(``{"fn": "rnn_step"}``), and the submission's process looks the name up in :data:`FUNCTIONS`, its own copy of
this module, imported before any student code ran. A name not in the table is a ``ProtocolError``.

Each function here is a helper an exercise gives, never the answer to one. They are written here in NumPy,
equal to the reference's steps (``tests/grading`` checks it to 1e-12), rather than imported from it: what the
student's code can reach from them (``rnn_step.__globals__``) is this module and NumPy, not the reference (the
answer key of exercises 02, 06 and 07), so the submission's process does not have to keep it in memory.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _sigmoid(a: np.ndarray) -> np.ndarray:
    """sigma(a) = (1 + tanh(a / 2)) / 2: the same function, and it never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def rnn_step(x_t: np.ndarray, h_prev: np.ndarray, params: dict) -> np.ndarray:
    """The tanh RNN step, torch's parameters: x_t (B, D), h_prev (B, H) -> h (B, H).

    h = tanh(x_t W_ih^T + b_ih + h_prev W_hh^T + b_hh)
    """
    a = x_t @ params["weight_ih"].T + params["bias_ih"] + h_prev @ params["weight_hh"].T + params["bias_hh"]
    return np.tanh(a)


def gru_step(x_t: np.ndarray, h_prev: np.ndarray, params: dict) -> np.ndarray:
    """The GRU step, torch's parameters and gate rows (r, z, n): x_t (B, D), h_prev (B, H) -> h (B, H).

    r = sigma(x W_ir^T + b_ir + h W_hr^T + b_hr),  z = sigma(x W_iz^T + b_iz + h W_hz^T + b_hz),
    n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn)),  h' = (1 - z) * n + z * h
    """
    H = h_prev.shape[1]
    from_x = x_t @ params["weight_ih"].T + params["bias_ih"]  # (B, 3H)
    from_h = h_prev @ params["weight_hh"].T + params["bias_hh"]  # (B, 3H)
    r = _sigmoid(from_x[:, :H] + from_h[:, :H])
    z = _sigmoid(from_x[:, H : 2 * H] + from_h[:, H : 2 * H])
    n = np.tanh(from_x[:, 2 * H :] + r * from_h[:, 2 * H :])
    return (1.0 - z) * n + z * h_prev


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
