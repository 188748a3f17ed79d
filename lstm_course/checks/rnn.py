"""Checks for exercise 02: the RNN step forward and backward, then the sequence forward and BPTT."""

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
    parameter_variants,
    right_tanh_derivative,
    sequence_forward_variants,
    step_backward_variants,
)

RNN = CellSteps(SPECS["rnn"], ref.rnn_step_forward, ref.rnn_step_backward)
TANH_SITES = (TanhSite("h", "a"),)  # h = tanh(a)
GRAD_DIMS = {"weight_ih": "H, D", "weight_hh": "H, H", "bias_ih": "H", "bias_hh": "H"}


def _pre(x: np.ndarray, h: np.ndarray, p: dict) -> np.ndarray:
    """The pre-activation a = x W_ih^T + b_ih + h W_hh^T + b_hh."""
    return x @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"]


def step_forward_variants(x: np.ndarray, h: np.ndarray, p: dict) -> list[Variant]:
    """Known mistakes in the RNN step forward, as (feedback, what that mistake computes)."""
    return [
        *parameter_variants(RNN, x, (h,), p, pick=0),
        (
            "the tanh is missing: h = tanh(x_t @ weight_ih.T + b_ih + h_prev @ weight_hh.T + b_hh)",
            lambda: _pre(x, h, p),
        ),
        ("you used sigmoid; the RNN's nonlinearity is tanh", lambda: ref.sigmoid(_pre(x, h, p))),
    ]


def _step_case(
    rng: np.random.Generator, B: int, D: int, H: int, scale: float = 0.5
) -> tuple[np.ndarray, np.ndarray, dict]:
    return rng.normal(0, 1, (B, D)), rng.normal(0, 1, (B, H)) * 0.8, random_params("rnn", D, H, rng, scale)


def _student_step(
    rnn_step_forward: Callable[..., Any], x: np.ndarray, h: np.ndarray, p: dict
) -> tuple[Any, Any]:
    got = call_student(rnn_step_forward, x, h, p, name="rnn_step_forward")
    return expect_tuple("rnn_step_forward", got, 2, "h, cache")


def _step_forward_case(
    rnn_step_forward: Callable[..., Any], rng: np.random.Generator, B: int, D: int, H: int, scale: float = 0.5
) -> None:
    """One case of check_rnn_step_forward."""
    x, h_prev, p = _step_case(rng, B, D, H, scale)
    h, _ = _student_step(rnn_step_forward, x, h_prev, p)
    expected, _ = ref.rnn_step_forward(x, h_prev, p)
    expect_array("h", h, expected, dims="B, H", variants=step_forward_variants(x, h_prev, p))


def check_rnn_step_forward(rnn_step_forward: Callable[..., Any], seed: int | None = None) -> None:
    """rnn_step_forward(x_t (B, D), h_prev (B, H), params) -> (h (B, H), cache)."""
    case = partial(_step_forward_case, rnn_step_forward)

    run_check(
        "rnn_step_forward",
        [
            ("D = H, so a transposed weight fits", lambda rng: case(rng, *sizes(rng, square=True))),
            ("random B, D, H", lambda rng: case(rng, *sizes(rng))),
            ("B = 1", lambda rng: case(rng, 1, 3, 4)),
            ("H = 1", lambda rng: case(rng, 3, 2, 1)),
            ("large weights: tanh saturates", lambda rng: case(rng, *sizes(rng), scale=30.0)),
        ],
        seed,
        "check_rnn_step_forward(rnn_step_forward, seed={seed})",
    )


def _step_backward(
    dh: np.ndarray,
    x: np.ndarray,
    h_prev: np.ndarray,
    p: dict,
    *,
    derivatives: dict | None = None,
    order: tuple[int, ...] | None = None,
    transposed: bool = False,
    transposed_grads: bool = False,
) -> dict[str, Any]:
    """The RNN step backward, optionally with a mistake (see ``mistakes.step_backward_variants``)."""
    a = _pre(x, h_prev, p)
    h = np.tanh(a)
    derivative = (derivatives or {}).get("h", right_tanh_derivative)
    da = dh * derivative(h, a)  # h = tanh(a)
    return affine_backward(
        da, da, x, h_prev, p, order=order, transposed=transposed, transposed_grads=transposed_grads
    )


def _step_backward_variants(
    dh: np.ndarray, x: np.ndarray, h_prev: np.ndarray, p: dict, output: str
) -> list[Variant]:
    """Known mistakes in the RNN step backward; ``output`` picks "dx", "dh_prev" or "grads"."""
    return step_backward_variants(RNN.spec, partial(_step_backward, dh, x, h_prev, p), TANH_SITES, output)


def check_rnn_step_backward(
    rnn_step_forward: Callable[..., Any], rnn_step_backward: Callable[..., Any], seed: int | None = None
) -> None:
    """rnn_step_backward(dh (B, H), cache) -> (dx_t (B, D), dh_prev (B, H), grads), on your cache."""
    case = partial(_step_backward_case, rnn_step_forward, rnn_step_backward)
    run_check(
        "rnn_step_backward",
        [
            ("D = H, so a transposed weight fits", lambda rng: case(rng, *sizes(rng, square=True))),
            ("random B, D, H", lambda rng: case(rng, *sizes(rng))),
            ("B = 1", lambda rng: case(rng, 1, 3, 4)),
            ("H = 1", lambda rng: case(rng, 3, 2, 1)),
        ],
        seed,
        "check_rnn_step_backward(rnn_step_forward, rnn_step_backward, seed={seed})",
    )


def _step_backward_case(
    rnn_step_forward: Callable[..., Any],
    rnn_step_backward: Callable[..., Any],
    rng: np.random.Generator,
    B: int,
    D: int,
    H: int,
) -> None:
    """One case of check_rnn_step_backward: the student's step backward on the student's own cache."""
    x, h_prev, p = _step_case(rng, B, D, H)
    h, cache = _student_step(rnn_step_forward, x, h_prev, p)
    expected_h, ref_cache = ref.rnn_step_forward(x, h_prev, p)
    if not (isinstance(h, np.ndarray) and close(h, expected_h)):
        raise Feedback("rnn_step_forward is not right yet: make check_rnn_step_forward pass first")
    dh = rng.normal(0, 1, (B, H))
    got = call_student(rnn_step_backward, dh, cache, name="rnn_step_backward")
    dx, dh_prev, grads = expect_tuple("rnn_step_backward", got, 3, "dx_t, dh_prev, grads")
    e_dx, e_dh_prev, e_grads = ref.rnn_step_backward(dh, ref_cache)
    expect_array("dx_t", dx, e_dx, dims="B, D", variants=_step_backward_variants(dh, x, h_prev, p, "dx"))
    expect_array(
        "dh_prev",
        dh_prev,
        e_dh_prev,
        dims="B, H",
        variants=_step_backward_variants(dh, x, h_prev, p, "dh_prev"),
    )
    expect_grads(
        "grads", grads, e_grads, GRAD_DIMS, variants=_step_backward_variants(dh, x, h_prev, p, "grads")
    )


def _sequence_case(
    rng: np.random.Generator, T: int, B: int, D: int, H: int
) -> tuple[np.ndarray, dict, np.ndarray]:
    return rng.normal(0, 1, (T, B, D)), random_params("rnn", D, H, rng), rng.normal(0, 0.8, (B, H))


def _student_forward(
    rnn_forward: Callable[..., Any], x: np.ndarray, p: dict, h0: np.ndarray | None
) -> tuple[Any, Any, Any]:
    got = call_student(rnn_forward, x, p, h0, name="rnn_forward")
    return expect_tuple("rnn_forward", got, 3, "out, h_T, cache")


def check_rnn_forward(rnn_forward: Callable[..., Any], seed: int | None = None) -> None:
    """rnn_forward(x (T, B, D), params, h0 (B, H) or None) -> (out (T, B, H), h_T (B, H), cache)."""

    def case(rng: np.random.Generator, T: int, B: int, D: int, H: int, with_h0: bool = True) -> None:
        x, p, h0 = _sequence_case(rng, T, B, D, H)
        if not with_h0:
            h0 = np.zeros((B, H))  # what None means, so the mistake-variants start where the student did
        out, h_T, _ = _student_forward(rnn_forward, x, p, h0 if with_h0 else None)
        e_out, e_h_T, _ = ref.rnn_forward(x, p, h0 if with_h0 else None)
        steps = student_helpers(rnn_forward, "rnn_step_forward")
        if steps and not close(out, e_out):  # rnn_forward calls it: a wrong step is named as such
            require_passing(
                "rnn_step_forward", partial(_step_forward_case, steps[0], rng.spawn(1)[0], B, D, H)
            )
        expect_array(
            "out",
            out,
            e_out,
            dims="T, B, H",
            time_axis=0,
            variants=sequence_forward_variants(RNN, x, p, (h0,)),
        )
        expect_array(
            "h_T",
            h_T,
            e_h_T,
            dims="B, H",
            variants=[("h_T is the first step's state; return the last one, out[-1]", lambda: e_out[0])],
        )

    run_check(
        "rnn_forward",
        [
            ("random T, B, D, H with h0", lambda rng: case(rng, int(rng.integers(3, 7)), *sizes(rng))),
            ("h0 = None means zeros", lambda rng: case(rng, 4, *sizes(rng), with_h0=False)),
            ("T = 1", lambda rng: case(rng, 1, *sizes(rng))),
            ("B = 1 and H = 1", lambda rng: case(rng, 5, 1, 2, 1)),
        ],
        seed,
        "check_rnn_forward(rnn_forward, seed={seed})",
    )


def check_rnn_backward(
    rnn_forward: Callable[..., Any], rnn_backward: Callable[..., Any], seed: int | None = None
) -> None:
    """rnn_backward(dout (T, B, H), cache, dh_T) -> (dx (T, B, D), grads, dh0 (B, H)), on your cache."""

    def case(rng: np.random.Generator, T: int, B: int, D: int, H: int) -> None:
        x, p, h0 = _sequence_case(rng, T, B, D, H)
        out, _, cache = _student_forward(rnn_forward, x, p, h0)
        e_out, _, ref_cache = ref.rnn_forward(x, p, h0)
        if not (isinstance(out, np.ndarray) and close(out, e_out)):
            raise Feedback("rnn_forward is not right yet: make check_rnn_forward pass first")
        steps = student_helpers(rnn_backward, "rnn_step_forward", "rnn_step_backward")
        if steps:  # rnn_backward calls them: a wrong step backward is named as such
            step_forward, step_backward = steps
            step_case = partial(_step_backward_case, step_forward, step_backward, rng.spawn(1)[0], B, D, H)
            require_passing("rnn_step_backward", step_case)
        dout, dh_T = rng.normal(0, 1, (T, B, H)), rng.normal(0, 1, (B, H))
        got = call_student(rnn_backward, dout, cache, dh_T, name="rnn_backward")
        dx, grads, dh0 = expect_tuple("rnn_backward", got, 3, "dx, grads, dh0")
        e_dx, e_grads, e_dh0 = ref.rnn_backward(dout, ref_cache, dh_T)

        def variants(output: str) -> list[Variant]:
            return bptt_variants(RNN, x, p, (h0,), dout, (dh_T,), output, _step_backward, TANH_SITES)

        expect_array("dx", dx, e_dx, dims="T, B, D", time_axis=0, variants=variants("dx"))
        expect_grads("grads", grads, e_grads, GRAD_DIMS, variants=variants("grads"))
        expect_array("dh0", dh0, e_dh0, dims="B, H", variants=variants("dh0"))

    run_check(
        "rnn_backward",
        [
            ("random T, B, D, H", lambda rng: case(rng, int(rng.integers(3, 7)), *sizes(rng))),
            ("T = 1", lambda rng: case(rng, 1, *sizes(rng))),
            ("B = 1 and H = 1", lambda rng: case(rng, 5, 1, 2, 1)),
            ("long sequence, T = 20", lambda rng: case(rng, 20, *sizes(rng))),
        ],
        seed,
        "check_rnn_backward(rnn_forward, rnn_backward, seed={seed})",
    )
