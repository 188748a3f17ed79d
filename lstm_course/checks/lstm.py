"""Checks for exercise 04: the LSTM step forward and backward, then the sequence forward and BPTT.

Gate order and layout are torch's: rows [0:H] input gate i, [H:2H] forget gate f, [2H:3H] candidate g, [3H:4H]
output gate o, of weight_ih (4H, D), weight_hh (4H, H), bias_ih (4H,), bias_hh (4H,).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from lstm_course import reference as ref
from lstm_course.cellspec import SPECS
from lstm_course.checks.harness import (
    Feedback,
    call_student,
    close,
    expect_array,
    expect_grads,
    expect_tuple,
    random_params,
    require_passing,
    run_check,
    sizes,
    student_helpers,
)
from lstm_course.checks.mistakes import (
    CellSteps,
    TanhSite,
    Variant,
    affine_backward,
    bptt_variants,
    gate_order_variants,
    parameter_variants,
    right_tanh_derivative,
    sequence_forward_variants,
    step_backward_variants,
)

LSTM = CellSteps(SPECS["lstm"], ref.lstm_step_forward, ref.lstm_step_backward)
# h = o * tanh(c) and g = tanh(a_g)
TANH_SITES = (TanhSite("tanh_c", "c", " for tanh(c)"), TanhSite("g", "a_g", " for the candidate"))
GRAD_DIMS = {"weight_ih": "4H, D", "weight_hh": "4H, H", "bias_ih": "4H", "bias_hh": "4H"}
Variants = list[Variant]


def _pre_activations(x: np.ndarray, h: np.ndarray, p: dict) -> list[np.ndarray]:
    """a_i, a_f, a_g, a_o (B, H) each: the blocks of a = x W_ih^T + b_ih + h W_hh^T + b_hh."""
    return np.split(x @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"], 4, axis=1)


def _step(
    x: np.ndarray,
    h: np.ndarray,
    c: np.ndarray,
    p: dict,
    *,
    forget: str = "f",
    tanh_c: bool = True,
    g_act: Callable[[np.ndarray], np.ndarray] = np.tanh,
    old_c_in_h: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """One LSTM step (h, c), optionally with a mistake; forget is "f" (right), "none" (c = i g) or "one"."""
    a_i, a_f, a_g, a_o = _pre_activations(x, h, p)
    i, f, g, o = ref.sigmoid(a_i), ref.sigmoid(a_f), g_act(a_g), ref.sigmoid(a_o)
    keep = {"f": f * c, "none": 0.0, "one": c}[forget]
    c_new = keep + i * g
    h_new = o * ((np.tanh(c if old_c_in_h else c_new)) if tanh_c else c_new)
    return h_new, c_new


def step_forward_variants(x: np.ndarray, h: np.ndarray, c: np.ndarray, p: dict, which: int) -> Variants:
    """Known mistakes in the LSTM step forward; ``which`` is 0 for h, 1 for c."""
    return [
        *gate_order_variants(LSTM, x, (h, c), p, which),
        (
            "the forget gate is missing: c = f * c_prev + i * g",
            lambda: _step(x, h, c, p, forget="one")[which],
        ),
        (
            "c_prev is dropped: c = f * c_prev + i * g, the forget gate scales the old cell",
            lambda: _step(x, h, c, p, forget="none")[which],
        ),
        ("h = o * tanh(c): the tanh on the cell is missing", lambda: _step(x, h, c, p, tanh_c=False)[which]),
        (
            "h uses the old cell: h = o * tanh(c) with the new c, not c_prev",
            lambda: _step(x, h, c, p, old_c_in_h=True)[which],
        ),
        (
            "the candidate g uses sigmoid; it is g = tanh(...), only i, f and o are sigmoids",
            lambda: _step(x, h, c, p, g_act=ref.sigmoid)[which],
        ),
        *parameter_variants(LSTM, x, (h, c), p, which),
    ]


def _step_inputs(
    rng: np.random.Generator, B: int, D: int, H: int, scale: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    x, h, c = rng.normal(0, 1, (B, D)), rng.normal(0, 0.8, (B, H)), rng.normal(0, 1, (B, H))
    return x, h, c, random_params("lstm", D, H, rng, scale)


def _student_step(
    lstm_step_forward: Callable[..., Any], x: np.ndarray, h: np.ndarray, c: np.ndarray, p: dict
) -> tuple[Any, Any, Any]:
    got = call_student(lstm_step_forward, x, h, c, p, name="lstm_step_forward")
    return expect_tuple("lstm_step_forward", got, 3, "h, c, cache")


def _step_forward_case(
    lstm_step_forward: Callable[..., Any],
    rng: np.random.Generator,
    B: int,
    D: int,
    H: int,
    scale: float = 0.5,
) -> None:
    """One case of check_lstm_step_forward."""
    x, h_prev, c_prev, p = _step_inputs(rng, B, D, H, scale)
    h, c, _ = _student_step(lstm_step_forward, x, h_prev, c_prev, p)
    e_h, e_c, _ = ref.lstm_step_forward(x, h_prev, c_prev, p)
    expect_array("c", c, e_c, dims="B, H", variants=step_forward_variants(x, h_prev, c_prev, p, 1))
    expect_array("h", h, e_h, dims="B, H", variants=step_forward_variants(x, h_prev, c_prev, p, 0))


def check_lstm_step_forward(lstm_step_forward: Callable[..., Any], seed: int | None = None) -> None:
    """lstm_step_forward(x_t (B, D), h_prev (B, H), c_prev (B, H), params) -> (h (B, H), c (B, H), cache)."""
    case = partial(_step_forward_case, lstm_step_forward)

    run_check(
        "lstm_step_forward",
        [
            ("random B, D, H", lambda rng: case(rng, *sizes(rng))),
            ("D = H", lambda rng: case(rng, *sizes(rng, square=True))),
            ("B = 1", lambda rng: case(rng, 1, 3, 4)),
            ("H = 1", lambda rng: case(rng, 3, 2, 1)),
            ("D = 1", lambda rng: case(rng, 3, 1, 2)),
            ("large weights: every gate saturates", lambda rng: case(rng, *sizes(rng), scale=40.0)),
        ],
        seed,
        "check_lstm_step_forward(lstm_step_forward, seed={seed})",
    )


def _step_backward(
    dh: np.ndarray,
    dc: np.ndarray,
    x: np.ndarray,
    h_prev: np.ndarray,
    c_prev: np.ndarray,
    p: dict,
    *,
    derivatives: dict | None = None,
    order: tuple[int, ...] | None = None,
    transposed: bool = False,
    transposed_grads: bool = False,
    dc_from_h: bool = True,
    f_in_dc_prev: bool = True,
) -> dict[str, Any]:
    """The LSTM step backward, optionally with a mistake; returns dx, dh_prev, dc_prev and grads.

    ``derivatives`` replaces the tanh derivatives at the sites "tanh_c" and "g"; ``order`` and ``transposed``
    are ``mistakes.affine_backward``'s.
    """
    derivative = {"tanh_c": right_tanh_derivative, "g": right_tanh_derivative, **(derivatives or {})}
    a_i, a_f, a_g, a_o = _pre_activations(x, h_prev, p)
    i, f, g, o = ref.sigmoid(a_i), ref.sigmoid(a_f), np.tanh(a_g), ref.sigmoid(a_o)
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    do = dh * tanh_c  # h = o * tanh(c)
    # c feeds h and the next step: dc_total = dc + dh * o * (1 - tanh(c)**2)
    dc_total = dc + (dh * o * derivative["tanh_c"](tanh_c, c) if dc_from_h else 0.0)
    da_i = dc_total * g * i * (1 - i)  # c = ... + i g, i = sigmoid(a_i)
    da_f = dc_total * c_prev * f * (1 - f)  # c = f c_prev + ..., f = sigmoid(a_f)
    da_g = dc_total * i * derivative["g"](g, a_g)  # g = tanh(a_g)
    da_o = do * o * (1 - o)  # o = sigmoid(a_o)
    da = np.concatenate([da_i, da_f, da_g, da_o], axis=1)  # (B, 4H)
    result = affine_backward(
        da, da, x, h_prev, p, order=order, transposed=transposed, transposed_grads=transposed_grads
    )
    result["dc_prev"] = dc_total * f if f_in_dc_prev else dc_total  # c = f * c_prev + ...
    return result


#: The LSTM's own step backward mistakes, as (feedback, the knobs of ``_step_backward``).
STEP_BACKWARD_MISTAKES = [
    (
        "the cell gradient ignores the path through h: dc_total = dc + dh * o * (1 - tanh(c)**2)",
        {"dc_from_h": False},
    ),
    (
        "dc_prev misses the forget gate: c = f * c_prev + i * g, so dc_prev = dc_total * f",
        {"f_in_dc_prev": False},
    ),
]


def step_backward_variants_for(
    dh: np.ndarray,
    dc: np.ndarray,
    x: np.ndarray,
    h_prev: np.ndarray,
    c_prev: np.ndarray,
    p: dict,
    output: str,
) -> Variants:
    """Known mistakes in the LSTM step backward, for ``output`` in dx, dh_prev, dc_prev, grads."""
    backward = partial(_step_backward, dh, dc, x, h_prev, c_prev, p)
    return step_backward_variants(LSTM.spec, backward, TANH_SITES, output, STEP_BACKWARD_MISTAKES)


def check_lstm_step_backward(
    lstm_step_forward: Callable[..., Any], lstm_step_backward: Callable[..., Any], seed: int | None = None
) -> None:
    """lstm_step_backward(dh, dc, cache) -> (dx_t (B, D), dh_prev (B, H), dc_prev (B, H), grads)."""
    case = partial(_step_backward_case, lstm_step_forward, lstm_step_backward)
    run_check(
        "lstm_step_backward",
        [
            ("random B, D, H", lambda rng: case(rng, *sizes(rng))),
            ("D = H", lambda rng: case(rng, *sizes(rng, square=True))),
            ("B = 1", lambda rng: case(rng, 1, 3, 4)),
            ("H = 1", lambda rng: case(rng, 3, 2, 1)),
            ("D = 1", lambda rng: case(rng, 3, 1, 2)),
        ],
        seed,
        "check_lstm_step_backward(lstm_step_forward, lstm_step_backward, seed={seed})",
    )


def _step_backward_case(
    lstm_step_forward: Callable[..., Any],
    lstm_step_backward: Callable[..., Any],
    rng: np.random.Generator,
    B: int,
    D: int,
    H: int,
) -> None:
    """One case of check_lstm_step_backward: the student's step backward on the student's own cache."""
    x, h_prev, c_prev, p = _step_inputs(rng, B, D, H)
    h, c, cache = _student_step(lstm_step_forward, x, h_prev, c_prev, p)
    e_h, e_c, ref_cache = ref.lstm_step_forward(x, h_prev, c_prev, p)
    if not all(isinstance(a, np.ndarray) and close(a, e) for a, e in ((h, e_h), (c, e_c))):
        raise Feedback("lstm_step_forward is not right yet: make check_lstm_step_forward pass first")
    dh, dc = rng.normal(0, 1, (B, H)), rng.normal(0, 1, (B, H))
    got = call_student(lstm_step_backward, dh, dc, cache, name="lstm_step_backward")
    dx, dh_prev, dc_prev, grads = expect_tuple("lstm_step_backward", got, 4, "dx_t, dh_prev, dc_prev, grads")
    e_dx, e_dh_prev, e_dc_prev, e_grads = ref.lstm_step_backward(dh, dc, ref_cache)

    def variants(output: str) -> Variants:
        return step_backward_variants_for(dh, dc, x, h_prev, c_prev, p, output)

    expect_grads("grads", grads, e_grads, GRAD_DIMS, variants=variants("grads"))
    expect_array("dc_prev", dc_prev, e_dc_prev, dims="B, H", variants=variants("dc_prev"))
    expect_array("dh_prev", dh_prev, e_dh_prev, dims="B, H", variants=variants("dh_prev"))
    expect_array("dx_t", dx, e_dx, dims="B, D", variants=variants("dx"))


def _sequence_inputs(
    rng: np.random.Generator, T: int, B: int, D: int, H: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    x, h0, c0 = rng.normal(0, 1, (T, B, D)), rng.normal(0, 0.8, (B, H)), rng.normal(0, 1, (B, H))
    return x, h0, c0, random_params("lstm", D, H, rng)


def _student_forward(
    lstm_forward: Callable[..., Any], x: np.ndarray, p: dict, h0: Any, c0: Any
) -> tuple[Any, Any, Any, Any]:
    got = call_student(lstm_forward, x, p, h0, c0, name="lstm_forward")
    out, state, cache = expect_tuple("lstm_forward", got, 3, "out, (h_T, c_T), cache")
    h_T, c_T = expect_tuple("lstm_forward's second value", state, 2, "h_T, c_T")
    return out, h_T, c_T, cache


def check_lstm_forward(lstm_forward: Callable[..., Any], seed: int | None = None) -> None:
    """lstm_forward(x (T, B, D), params, h0, c0) -> (out (T, B, H), (h_T, c_T), cache)."""

    def case(rng: np.random.Generator, T: int, B: int, D: int, H: int, with_state: bool = True) -> None:
        x, h0, c0, p = _sequence_inputs(rng, T, B, D, H)
        if not with_state:
            h0 = c0 = np.zeros((B, H))
        given = (h0, c0) if with_state else (None, None)  # None means zeros
        out, h_T, c_T, _ = _student_forward(lstm_forward, x, p, *given)
        e_out, (e_h_T, e_c_T), _ = ref.lstm_forward(x, p, *given)
        steps = student_helpers(lstm_forward, "lstm_step_forward")
        if steps and not close(out, e_out):  # lstm_forward calls it: a wrong step is named as such
            require_passing(
                "lstm_step_forward", partial(_step_forward_case, steps[0], rng.spawn(1)[0], B, D, H)
            )
        expect_array(
            "out",
            out,
            e_out,
            dims="T, B, H",
            time_axis=0,
            variants=sequence_forward_variants(LSTM, x, p, (h0, c0)),
        )
        expect_array(
            "h_T",
            h_T,
            e_h_T,
            dims="B, H",
            variants=[("h_T is the first step's state; return the last one", lambda: e_out[0])],
        )
        expect_array(
            "c_T",
            c_T,
            e_c_T,
            dims="B, H",
            variants=[("c_T is the hidden state: return the last cell state c, not h", lambda: e_h_T)],
        )

    run_check(
        "lstm_forward",
        [
            ("random T, B, D, H with h0 and c0", lambda rng: case(rng, int(rng.integers(3, 7)), *sizes(rng))),
            ("h0 = c0 = None mean zeros", lambda rng: case(rng, 4, *sizes(rng), with_state=False)),
            ("T = 1", lambda rng: case(rng, 1, *sizes(rng))),
            ("B = 1 and H = 1", lambda rng: case(rng, 5, 1, 2, 1)),
        ],
        seed,
        "check_lstm_forward(lstm_forward, seed={seed})",
    )


def check_lstm_backward(
    lstm_forward: Callable[..., Any], lstm_backward: Callable[..., Any], seed: int | None = None
) -> None:
    """lstm_backward(dout (T, B, H), cache, dh_T, dc_T) -> (dx (T, B, D), grads, (dh0, dc0))."""

    def case(rng: np.random.Generator, T: int, B: int, D: int, H: int) -> None:
        x, h0, c0, p = _sequence_inputs(rng, T, B, D, H)
        out, _, _, cache = _student_forward(lstm_forward, x, p, h0, c0)
        e_out, _, ref_cache = ref.lstm_forward(x, p, h0, c0)
        if not (isinstance(out, np.ndarray) and close(out, e_out)):
            raise Feedback("lstm_forward is not right yet: make check_lstm_forward pass first")
        steps = student_helpers(lstm_backward, "lstm_step_forward", "lstm_step_backward")
        if steps:  # lstm_backward calls them: a wrong step backward is named as such
            step_forward, step_backward = steps
            step_case = partial(_step_backward_case, step_forward, step_backward, rng.spawn(1)[0], B, D, H)
            require_passing("lstm_step_backward", step_case)
        dout, dh_T, dc_T = rng.normal(0, 1, (T, B, H)), rng.normal(0, 1, (B, H)), rng.normal(0, 1, (B, H))
        got = call_student(lstm_backward, dout, cache, dh_T, dc_T, name="lstm_backward")
        dx, grads, state = expect_tuple("lstm_backward", got, 3, "dx, grads, (dh0, dc0)")
        dh0, dc0 = expect_tuple("lstm_backward's third value", state, 2, "dh0, dc0")
        e_dx, e_grads, (e_dh0, e_dc0) = ref.lstm_backward(dout, ref_cache, dh_T, dc_T)

        def variants(output: str) -> Variants:
            return bptt_variants(LSTM, x, p, (h0, c0), dout, (dh_T, dc_T), output, _step_backward, TANH_SITES)

        expect_array("dx", dx, e_dx, dims="T, B, D", time_axis=0, variants=variants("dx"))
        expect_grads("grads", grads, e_grads, GRAD_DIMS, variants=variants("grads"))
        expect_array("dh0", dh0, e_dh0, dims="B, H", variants=variants("dh0"))
        expect_array("dc0", dc0, e_dc0, dims="B, H", variants=variants("dc0"))

    run_check(
        "lstm_backward",
        [
            ("random T, B, D, H", lambda rng: case(rng, int(rng.integers(3, 7)), *sizes(rng))),
            ("T = 1", lambda rng: case(rng, 1, *sizes(rng))),
            ("B = 1 and H = 1", lambda rng: case(rng, 5, 1, 2, 1)),
            ("long sequence, T = 20", lambda rng: case(rng, 20, *sizes(rng))),
        ],
        seed,
        "check_lstm_backward(lstm_forward, lstm_backward, seed={seed})",
    )
