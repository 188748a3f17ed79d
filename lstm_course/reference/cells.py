"""The registry of the reference's cells: per cell its spec (gates, states) and its four functions.

Each cell module defines the pair of step functions and the pair of sequence functions the book shows, in the
calling convention torch uses: one state is passed and returned bare (``h``), several one by one or as a tuple
(``h, c``). Generic code (``multilayer``, the tests) calls them through the four functions below instead, with
the states always a tuple in ``spec.states`` order, so it never asks which cell it runs. Adding a cell type is
one entry in ``lstm_course.cellspec.SPECS``, its module here, and one entry in :data:`CELLS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..cellspec import SPECS, CellSpec, spec
from .gru import gru_backward, gru_forward, gru_step_backward, gru_step_forward
from .lstm import lstm_backward, lstm_forward, lstm_step_backward, lstm_step_forward
from .rnn import rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward

States = tuple[np.ndarray, ...]  # one (B, H) array per name in spec.states, in that order


@dataclass(frozen=True)
class Cell:
    """One cell type's spec and the book's functions for it (e.g. ``lstm_step_forward``), as written."""

    spec: CellSpec
    step_forward: Callable[..., Any]  # (x_t, *states_prev, params) -> (*states, cache)
    step_backward: Callable[..., Any]  # (*dstates, cache) -> (dx_t, *dstates_prev, grads)
    sequence_forward: Callable[..., Any]  # (x, params, *initial) -> (out, final, cache)
    sequence_backward: Callable[..., Any]  # (dout, cache, *dfinal) -> (dx, grads, dinitial)


CELLS: dict[str, Cell] = {
    "rnn": Cell(SPECS["rnn"], rnn_step_forward, rnn_step_backward, rnn_forward, rnn_backward),
    "lstm": Cell(SPECS["lstm"], lstm_step_forward, lstm_step_backward, lstm_forward, lstm_backward),
    "gru": Cell(SPECS["gru"], gru_step_forward, gru_step_backward, gru_forward, gru_backward),
}


def lookup(name: object) -> Cell:
    """The registered cell ``name`` ("rnn", "lstm" or "gru"); ValueError naming ``cell`` otherwise."""
    return CELLS[spec(name).name]


def _as_states(entry: Cell, value: Any) -> States:
    """A sequence function's final states (bare for one state, a tuple for several) as a tuple."""
    return tuple(value) if len(entry.spec.states) > 1 else (value,)


def _given(entry: Cell, states: Any) -> tuple[Any, ...]:
    """The states as given, one per name in spec.states; None means all None (zeros)."""
    return tuple(states) if states is not None else (None,) * len(entry.spec.states)


def step_forward(name: str, x_t: Any, states: Any, params: dict) -> tuple[States, Any]:
    """One step of cell ``name``: x_t (B, D) and the states (or None: zeros) -> (the new states, cache)."""
    entry = lookup(name)
    *new_states, cache = entry.step_forward(x_t, *_given(entry, states), params)
    return tuple(new_states), cache


def step_backward(name: str, dstates: Any, cache: Any) -> tuple[np.ndarray, States, dict]:
    """Backward through one step: dstates (dL/dh, ...) -> (dx_t (B, D), dL/d(previous states), grads)."""
    entry = lookup(name)
    dx_t, *dprevious, grads = entry.step_backward(*dstates, cache)
    return dx_t, tuple(dprevious), grads


def sequence_forward(name: str, x: Any, params: dict, initial: Any = None) -> tuple[np.ndarray, States, Any]:
    """Run cell ``name`` over x (T, B, D) from the initial states (None: zeros) -> (out, final, cache)."""
    entry = lookup(name)
    out, final, cache = entry.sequence_forward(x, params, *_given(entry, initial))
    return out, _as_states(entry, final), cache


def sequence_backward(
    name: str, dout: Any, cache: Any, dfinal: Any = None
) -> tuple[np.ndarray, dict, States]:
    """BPTT for :func:`sequence_forward`: dout (T, B, H), dfinal (or None: zeros) -> (dx, grads, dinitial)."""
    entry = lookup(name)
    dx, grads, dinitial = entry.sequence_backward(dout, cache, *_given(entry, dfinal))
    return dx, grads, _as_states(entry, dinitial)
