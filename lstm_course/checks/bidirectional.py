"""Checks for exercise 07: one direction over a padded batch, then a bidirectional layer, over any step.

The student writes ``run_direction(step, x, lengths, params, reverse)`` and ``bidirectional_forward(step, x,
lengths, params_fwd, params_rev)``. ``step(x_t (B, D), h_prev (B, H), params) -> h (B, H)`` is given (a tanh
RNN step in the notebook; the checks also pass a GRU step, so a layer that works for one cell only fails).
The steps are ``grading.functions.rnn_step`` and ``gru_step``: the isolated grader passes them to the
submission's process by name (``grading.protocol``), so the student's code runs the same functions there.

The expected values come from the reference's :func:`~lstm_course.reference.multilayer_forward`, run on each
sequence alone at its own length, then padded: what a padded batch with ``lengths`` must give. The
mistake-variants come from :func:`direction_with`, one direction written with a knob per mistake.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from lstm_course import reference as ref
from lstm_course.checks.harness import (
    Feedback,
    call_student,
    close,
    expect_array,
    expect_tuple,
    random_params,
    require_passing,
    run_check,
    student_helpers,
)
from lstm_course.checks.mistakes import Variant
from lstm_course.grading.functions import gru_step, rnn_step

Step = Callable[[np.ndarray, np.ndarray, dict], np.ndarray]  # (x_t (B, D), h_prev (B, H), params) -> h


#: The cells the checks run, by their step: which reference cell each step is.
CELL_OF: dict[Step, str] = {rnn_step: "rnn", gru_step: "gru"}


def expected_direction(
    step: Step, x: np.ndarray, lengths: np.ndarray, params: dict, reverse: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(out (T, B, H), h_last (B, H)) from the reference: each sequence run alone at its length, padded."""
    T, B, _ = x.shape
    H = params["weight_hh"].shape[1]
    out, last = np.zeros((T, B, H)), np.zeros((B, H))
    suffixed = {f"{name}_l0": value for name, value in params.items()}
    for b, length in enumerate(lengths):
        seq = x[:length, b : b + 1]  # (length, 1, D): the real steps only
        if reverse:
            seq = seq[::-1]  # a one-direction network over the flipped sequence is the reverse direction
        seq_out, h_n, _ = ref.multilayer_forward(
            CELL_OF[step], seq, suffixed, num_layers=1, bidirectional=False
        )
        out[:length, b] = (seq_out[::-1] if reverse else seq_out)[:, 0]
        last[b] = h_n[0, 0]
    return out, last


def direction_with(
    step: Step,
    x: np.ndarray,
    lengths: np.ndarray,
    params: dict,
    reverse: bool,
    *,
    from_padding: bool = False,
    unflipped: bool = False,
    through_padding: bool = False,
    padded_outputs: bool = False,
    last_read_first: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """One direction over a padded batch, right when every knob is False; each knob is one mistake.

    from_padding: the reverse pass starts at step T - 1, reading the padding, not at each sequence's end.
    unflipped: the reverse outputs stay in the order they were computed (out[k] after k + 1 steps read).
    through_padding: the forward pass lets the padding change the state, so h_last is the state at T - 1.
    padded_outputs: padded steps output the state they kept instead of zeros.
    last_read_first: h_last is the state after the first step the direction read, not its last.
    """
    T, B, _ = x.shape
    H = params["weight_hh"].shape[1]
    out, last, first = np.zeros((T, B, H)), np.zeros((B, H)), np.zeros((B, H))
    for b, length in enumerate(lengths):
        run = T if (from_padding and reverse) or (through_padding and not reverse) else length
        times = list(range(run))[::-1] if reverse else list(range(run))
        h = np.zeros((1, H))
        states = []
        for k, t in enumerate(times):
            h = step(x[t, b : b + 1], h, params)
            states.append(h[0])
            if k == 0:
                first[b] = h[0]
        # unflipped: state k lands where it was computed in order (k), not where its input was (times[k])
        places = times[::-1] if reverse and unflipped else times
        for place, state in zip(places, states, strict=True):
            out[place, b] = state
        last[b] = h[0]
        out[length:, b] = h[0] if padded_outputs else 0.0
    return out, (first if last_read_first else last)


def _case_inputs(
    rng: np.random.Generator, B: int, D: int, H: int, *, padded: bool, cell: str
) -> tuple[np.ndarray, np.ndarray, dict, dict]:
    """x (T, B, D) zero at padding, lengths (B,) with the longest at T, and two parameter dicts."""
    T = int(rng.integers(4, 8))
    lengths = rng.integers(1, T, size=B) if padded else np.full(B, T)
    lengths[rng.integers(B)] = T  # the batch is as long as its longest sequence
    x = rng.normal(0, 1, (T, B, D))
    x[np.arange(T)[:, None] >= lengths[None, :]] = 0.0  # padding holds zeros
    return x, lengths, random_params(cell, D, H, rng), random_params(cell, D, H, rng)


STEPS = {"rnn": rnn_step, "gru": gru_step}


def _direction_variants(step: Step, x, lengths, params, reverse: bool, output: int) -> list[Variant]:
    """Mistakes in one direction; ``output`` 0 picks out, 1 h_last."""

    def mistake(**knob: bool) -> Callable[[], np.ndarray]:
        return lambda: direction_with(step, x, lengths, params, reverse, **knob)[output]

    if reverse:
        return [
            (
                "the reverse pass starts at the padding: start each sequence at its own last step, "
                "t = lengths[b] - 1, and walk back to t = 0",
                mistake(from_padding=True),
            ),
            (
                "the reverse outputs are not flipped back: out[t] must be the state computed when the "
                "reverse pass read x[t], not the state after t + 1 steps of the reverse pass",
                mistake(unflipped=True),
            ),
            (
                "h_last of the reverse direction is its last state, the one after reading x[0]; you returned "
                "the state after the first step it read (x[lengths[b] - 1])",
                mistake(last_read_first=True),
            ),
            ("padded steps (t >= lengths[b]) must output zeros, not a state", mistake(padded_outputs=True)),
        ]
    return [
        (
            "the padding changed the state: h_last must be the state at each sequence's last real step, "
            "t = lengths[b] - 1, and steps past it must not update it",
            mistake(through_padding=True),
        ),
        ("padded steps (t >= lengths[b]) must output zeros, not a state", mistake(padded_outputs=True)),
        (
            "h_last is the state after the first step; return the state after the last real step",
            mistake(last_read_first=True),
        ),
    ]


def _direction_case(
    run_direction: Callable[..., Any],
    rng: np.random.Generator,
    B: int,
    D: int,
    H: int,
    *,
    reverse: bool,
    padded: bool = True,
    cell: str = "rnn",
) -> None:
    """One case of check_run_direction."""
    step = STEPS[cell]
    x, lengths, params, _ = _case_inputs(rng, B, D, H, padded=padded, cell=cell)
    got = call_student(run_direction, step, x, lengths, params, reverse, name="run_direction")
    out, h_last = expect_tuple("run_direction", got, 2, "out, h_last")
    e_out, e_last = expected_direction(step, x, lengths, params, reverse)
    expect_array(
        "out",
        out,
        e_out,
        dims="T, B, H",
        time_axis=0,
        variants=_direction_variants(step, x, lengths, params, reverse, 0),
    )
    expect_array(
        "h_last",
        h_last,
        e_last,
        dims="B, H",
        variants=_direction_variants(step, x, lengths, params, reverse, 1),
    )


def check_run_direction(run_direction: Callable[..., Any], seed: int | None = None) -> None:
    """run_direction(step, x (T, B, D), lengths (B,), params, reverse) -> (out (T, B, H), h_last (B, H))."""
    case = partial(_direction_case, run_direction)
    run_check(
        "run_direction",
        [
            ("forward, no padding", lambda rng: case(rng, 3, 2, 4, reverse=False, padded=False)),
            ("forward, padded batch", lambda rng: case(rng, 4, 3, 2, reverse=False)),
            ("reverse, no padding", lambda rng: case(rng, 3, 2, 4, reverse=True, padded=False)),
            ("reverse, padded batch", lambda rng: case(rng, 4, 3, 2, reverse=True)),
            ("reverse, B = 1", lambda rng: case(rng, 1, 2, 3, reverse=True)),
            ("reverse, padded, a GRU step", lambda rng: case(rng, 4, 3, 2, reverse=True, cell="gru")),
        ],
        seed,
        "check_run_direction(run_direction, seed={seed})",
    )


def _bidirectional_variants(step: Step, x, lengths, params_fwd, params_rev, output: int) -> list[Variant]:
    """Mistakes in putting the two directions together; ``output`` 0 picks out, 1 h_n."""
    fwd = expected_direction(step, x, lengths, params_fwd, reverse=False)
    rev = expected_direction(step, x, lengths, params_rev, reverse=True)
    rev_from_padding = direction_with(step, x, lengths, params_rev, True, from_padding=True)
    rev_unflipped = direction_with(step, x, lengths, params_rev, True, unflipped=True)
    rev_with_fwd_params = expected_direction(step, x, lengths, params_fwd, reverse=True)
    fwd_with_rev_params = expected_direction(step, x, lengths, params_rev, reverse=False)

    def joined(first: tuple, second: tuple) -> np.ndarray:
        return (
            np.concatenate([first[0], second[0]], axis=2) if output == 0 else np.stack([first[1], second[1]])
        )

    return [
        (
            "the two directions are concatenated in the wrong order: out[t] = [forward, reverse] "
            "(out[..., :H] forward) and h_n = [forward, reverse], as torch orders them",
            lambda: joined(rev, fwd),
        ),
        (
            "the reverse pass starts at the padding: start each sequence at its own last step",
            lambda: joined(fwd, rev_from_padding),
        ),
        (
            "the reverse outputs are not flipped back: out[t] must hold the reverse state computed at x[t]",
            lambda: joined(fwd, rev_unflipped),
        ),
        (
            "the reverse direction used params_fwd: each direction has its own weights (params_rev)",
            lambda: joined(fwd, rev_with_fwd_params),
        ),
        (
            "the two directions' parameters are swapped: params_fwd runs forward, params_rev in reverse",
            lambda: joined(fwd_with_rev_params, rev_with_fwd_params),
        ),
    ]


def _bidirectional_case(
    bidirectional_forward: Callable[..., Any],
    rng: np.random.Generator,
    B: int,
    D: int,
    H: int,
    *,
    padded: bool = True,
    cell: str = "rnn",
) -> None:
    """One case of check_bidirectional_forward."""
    step = STEPS[cell]
    x, lengths, params_fwd, params_rev = _case_inputs(rng, B, D, H, padded=padded, cell=cell)
    helpers = student_helpers(bidirectional_forward, "run_direction")
    if helpers:  # bidirectional_forward calls it: a wrong direction (either one) is named as such
        for reverse, child_rng in zip((True, False), rng.spawn(2), strict=True):
            case = partial(_direction_case, helpers[0], child_rng, B, D, H, reverse=reverse, cell=cell)
            require_passing("run_direction", case)
    got = call_student(
        bidirectional_forward, step, x, lengths, params_fwd, params_rev, name="bidirectional_forward"
    )
    out, h_n = expect_tuple("bidirectional_forward", got, 2, "out, h_n")
    fwd = expected_direction(step, x, lengths, params_fwd, reverse=False)
    rev = expected_direction(step, x, lengths, params_rev, reverse=True)
    e_out, e_h_n = np.concatenate([fwd[0], rev[0]], axis=2), np.stack([fwd[1], rev[1]])
    if (
        isinstance(out, np.ndarray)
        and out.shape == (2, *e_out.shape[:2], H)
        and close(out, np.stack([fwd[0], rev[0]]))
    ):
        raise Feedback(
            "out stacks the directions on a new axis: concatenate them along the last axis, (T, B, 2H)"
        )
    expect_array(
        "out",
        out,
        e_out,
        dims="T, B, 2H",
        time_axis=0,
        variants=_bidirectional_variants(step, x, lengths, params_fwd, params_rev, 0),
    )
    expect_array(
        "h_n",
        h_n,
        e_h_n,
        dims="2, B, H",
        variants=_bidirectional_variants(step, x, lengths, params_fwd, params_rev, 1),
    )


def check_bidirectional_forward(bidirectional_forward: Callable[..., Any], seed: int | None = None) -> None:
    """bidirectional_forward(step, x, lengths, params_fwd, params_rev) -> (out (T, B, 2H), h_n (2, B, H))."""
    case = partial(_bidirectional_case, bidirectional_forward)
    run_check(
        "bidirectional_forward",
        [
            ("no padding", lambda rng: case(rng, 3, 2, 4, padded=False)),
            ("padded batch", lambda rng: case(rng, 4, 3, 2)),
            ("B = 1", lambda rng: case(rng, 1, 3, 2)),
            ("padded batch, a GRU step", lambda rng: case(rng, 4, 2, 3, cell="gru")),
        ],
        seed,
        "check_bidirectional_forward(bidirectional_forward, seed={seed})",
    )
