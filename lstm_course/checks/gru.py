"""Checks for exercise 06 (the GRU): step forward and backward, sequence forward, BPTT.

Each check compares the student's function with ``lstm_course.reference.gru`` on fresh random inputs. When a
value is wrong it tries the known mistakes: those ``mistakes`` builds for any cell (gate order, transposed
weights, tanh derivatives, BPTT over time) and the GRU's own, written here with the equations they break:

- r applied before the recurrent matmul, n = tanh(x W_in^T + b_in + (r * h_prev) W_hn^T + b_hn): the
  convention of Cho et al. 2014 and of Keras' ``reset_after=False``, not torch's;
- z and 1 - z swapped, h = z * n + (1 - z) * h_prev: the convention of Chung et al. 2014, not torch's;
- b_hn outside r, n = tanh(x W_in^T + b_in + r * (h_prev W_hn^T) + b_hn);
- the reset gate left out, n = tanh(x W_in^T + b_in + h_prev W_hn^T + b_hn);
- in the backward pass: dh_prev without the direct path dh * z, the reset gate missing from the recurrent
  candidate's gradient, b_hn's gradient taken outside r, and z and 1 - z swapped.

Letters: T time steps, B batch, D input features, H hidden units; gates r, z, n stacked as torch does.
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

GRU = CellSteps(SPECS["gru"], ref.gru_step_forward, ref.gru_step_backward)
# n = tanh(a_n), the candidate
TANH_SITES = (TanhSite("n", "a_n", " for the candidate"),)
GRAD_DIMS = {"weight_ih": "3H, D", "weight_hh": "3H, H", "bias_ih": "3H", "bias_hh": "3H"}
Variants = list[Variant]


def _parts(x: np.ndarray, h: np.ndarray, p: dict) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The input parts [x_r, x_z, x_n] and the recurrent parts [h_r, h_z, h_n] (B, H) each, with biases."""
    input_parts = np.split(x @ p["weight_ih"].T + p["bias_ih"], 3, axis=1)
    recurrent_parts = np.split(h @ p["weight_hh"].T + p["bias_hh"], 3, axis=1)
    return input_parts, recurrent_parts


def _step(
    x: np.ndarray,
    h: np.ndarray,
    p: dict,
    *,
    reset: str = "after",
    swap_z: bool = False,
) -> np.ndarray:
    """One GRU step's h, optionally with a mistake.

    reset: "after" (torch: r * (h W_hn^T + b_hn)), "before" (r * h, then the matmul), "bias_outside"
    (r * (h W_hn^T), then + b_hn) or "none" (no reset gate). swap_z: h = z * n + (1 - z) * h_prev.
    """
    (x_r, x_z, x_n), (h_r, h_z, h_n) = _parts(x, h, p)
    r, z = ref.sigmoid(x_r + h_r), ref.sigmoid(x_z + h_z)
    H = h.shape[1]
    weight_hn, bias_hn = p["weight_hh"][2 * H :], p["bias_hh"][2 * H :]
    recurrent = {
        "after": r * h_n,
        "before": (r * h) @ weight_hn.T + bias_hn,
        "bias_outside": r * (h @ weight_hn.T) + bias_hn,
        "none": h_n,
    }[reset]
    n = np.tanh(x_n + recurrent)
    return z * n + (1 - z) * h if swap_z else (1 - z) * n + z * h


def step_forward_variants(x: np.ndarray, h: np.ndarray, p: dict) -> Variants:
    """Known mistakes in the GRU step forward, for h."""
    return [
        *gate_order_variants(GRU, x, (h,), p, 0),
        (
            "r is applied before the recurrent matmul, (r * h_prev) @ W_hn.T: that is Cho et al.'s "
            "convention; torch's is n = tanh(x W_in^T + b_in + r * (h_prev W_hn^T + b_hn))",
            lambda: _step(x, h, p, reset="before"),
        ),
        (
            "z and 1 - z are swapped: torch's GRU keeps the old state with z, h = (1 - z) * n + z * h_prev",
            lambda: _step(x, h, p, swap_z=True),
        ),
        (
            "b_hn is outside the reset gate: r multiplies the whole recurrent part, "
            "n = tanh(x W_in^T + b_in + r * (h_prev W_hn^T + b_hn))",
            lambda: _step(x, h, p, reset="bias_outside"),
        ),
        (
            "the reset gate is missing: n = tanh(x W_in^T + b_in + r * (h_prev W_hn^T + b_hn))",
            lambda: _step(x, h, p, reset="none"),
        ),
        *parameter_variants(GRU, x, (h,), p, 0),
    ]


def _step_inputs(
    rng: np.random.Generator, B: int, D: int, H: int, scale: float = 0.5
) -> tuple[np.ndarray, np.ndarray, dict]:
    x, h = rng.normal(0, 1, (B, D)), rng.normal(0, 0.8, (B, H))
    return x, h, random_params("gru", D, H, rng, scale)


def _student_step(gru_step_forward: Callable[..., Any], x: np.ndarray, h: np.ndarray, p: dict) -> tuple:
    got = call_student(gru_step_forward, x, h, p, name="gru_step_forward")
    return expect_tuple("gru_step_forward", got, 2, "h, cache")


def _step_forward_case(
    gru_step_forward: Callable[..., Any], rng: np.random.Generator, B: int, D: int, H: int, scale: float = 0.5
) -> None:
    """One case of check_gru_step_forward."""
    x, h_prev, p = _step_inputs(rng, B, D, H, scale)
    h, _ = _student_step(gru_step_forward, x, h_prev, p)
    expected, _ = ref.gru_step_forward(x, h_prev, p)
    expect_array("h", h, expected, dims="B, H", variants=step_forward_variants(x, h_prev, p))


def check_gru_step_forward(gru_step_forward: Callable[..., Any], seed: int | None = None) -> None:
    """gru_step_forward(x_t (B, D), h_prev (B, H), params) -> (h (B, H), cache)."""
    case = partial(_step_forward_case, gru_step_forward)
    run_check(
        "gru_step_forward",
        [
            ("random B, D, H", lambda rng: case(rng, *sizes(rng))),
            ("D = H", lambda rng: case(rng, *sizes(rng, square=True))),
            ("B = 1", lambda rng: case(rng, 1, 3, 4)),
            ("H = 1", lambda rng: case(rng, 3, 2, 1)),
            ("D = 1", lambda rng: case(rng, 3, 1, 2)),
            ("large weights: every gate saturates", lambda rng: case(rng, *sizes(rng), scale=40.0)),
        ],
        seed,
        "check_gru_step_forward(gru_step_forward, seed={seed})",
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
    direct_path: bool = True,
    r_in_dh_n: bool = True,
    bias_hn_outside: bool = False,
    swap_z: bool = False,
) -> dict[str, Any]:
    """The GRU step backward, optionally with a mistake; returns dx, dh_prev and grads.

    ``derivatives`` replaces the tanh derivative at the site "n"; ``order``, ``transposed`` and
    ``transposed_grads`` are ``mistakes.affine_backward``'s; the other knobs are the GRU's own mistakes.
    """
    derivative = {"n": right_tanh_derivative, **(derivatives or {})}
    (x_r, x_z, x_n), (h_r, h_z, h_n) = _parts(x, h_prev, p)
    r, z = ref.sigmoid(x_r + h_r), ref.sigmoid(x_z + h_z)
    a_n = x_n + r * h_n
    n = np.tanh(a_n)
    keep, write = (1 - z, z) if swap_z else (z, 1 - z)
    dn = dh * write  # h = (1 - z) * n + z * h_prev
    dz = dh * (h_prev - n) * (-1 if swap_z else 1)  # h = (1 - z) * n + z * h_prev
    da_n = dn * derivative["n"](n, a_n)  # n = tanh(a_n)
    dr = da_n * h_n  # a_n = x_n + r * h_n
    dh_n = da_n * r if r_in_dh_n else da_n  # a_n = x_n + r * h_n
    da_r = dr * r * (1 - r)  # r = sigma(a_r)
    da_z = dz * z * (1 - z)  # z = sigma(a_z)
    da_ih = np.concatenate([da_r, da_z, da_n], axis=1)  # (B, 3H) input parts
    da_hh = np.concatenate([da_r, da_z, dh_n], axis=1)  # (B, 3H) recurrent parts
    result = affine_backward(
        da_ih, da_hh, x, h_prev, p, order=order, transposed=transposed, transposed_grads=transposed_grads
    )
    if bias_hn_outside:  # the mistake a_n = x_n + r * (h_prev W_hn^T) + b_hn: db_hn = da_n
        result["grads"]["bias_hh"] = np.concatenate([da_r, da_z, da_n], axis=1).sum(axis=0)
    # h = (1 - z) * n + z * h_prev: h_prev also reaches h directly
    result["dh_prev"] = result["dh_prev"] + (dh * keep if direct_path else 0.0)
    return result


#: The GRU's own step backward mistakes, as (feedback, the knobs of ``_step_backward``).
STEP_BACKWARD_MISTAKES = [
    (
        "dh_prev misses the direct path: h = (1 - z) * n + z * h_prev, so dh_prev = dh * z plus the "
        "recurrent matmul's part",
        {"direct_path": False},
    ),
    # b_hn first: its bias gradient is also that of a missing r, which weight_hh tells apart
    (
        "b_hn's gradient is taken outside the reset gate: b_hn sits inside r * (h_prev W_hn^T + b_hn), so "
        "its gradient is da_n * r",
        {"bias_hn_outside": True},
    ),
    (
        "the recurrent candidate's gradient misses r: a_n = x_n + r * h_n, so dh_n = da_n * r",
        {"r_in_dh_n": False},
    ),
    (
        "z and 1 - z are swapped in the backward pass: h = (1 - z) * n + z * h_prev, so dn = dh * (1 - z), "
        "dz = dh * (h_prev - n) and dh_prev gets dh * z",
        {"swap_z": True},
    ),
]


def step_backward_variants_for(
    dh: np.ndarray, x: np.ndarray, h_prev: np.ndarray, p: dict, output: str
) -> Variants:
    """Known mistakes in the GRU step backward, for ``output`` in dx, dh_prev, grads."""
    backward = partial(_step_backward, dh, x, h_prev, p)
    return step_backward_variants(GRU.spec, backward, TANH_SITES, output, STEP_BACKWARD_MISTAKES)


def _step_backward_case(
    gru_step_forward: Callable[..., Any],
    gru_step_backward: Callable[..., Any],
    rng: np.random.Generator,
    B: int,
    D: int,
    H: int,
) -> None:
    """One case of check_gru_step_backward: the student's step backward on the student's own cache."""
    x, h_prev, p = _step_inputs(rng, B, D, H)
    h, cache = _student_step(gru_step_forward, x, h_prev, p)
    expected, ref_cache = ref.gru_step_forward(x, h_prev, p)
    if not close(h, expected):
        raise Feedback("gru_step_forward is not right yet: make check_gru_step_forward pass first")
    dh = rng.normal(0, 1, (B, H))
    got = call_student(gru_step_backward, dh, cache, name="gru_step_backward")
    dx, dh_prev, grads = expect_tuple("gru_step_backward", got, 3, "dx_t, dh_prev, grads")
    e_dx, e_dh_prev, e_grads = ref.gru_step_backward(dh, ref_cache)

    def variants(output: str) -> Variants:
        return step_backward_variants_for(dh, x, h_prev, p, output)

    expect_grads("grads", grads, e_grads, GRAD_DIMS, variants=variants("grads"))
    expect_array("dh_prev", dh_prev, e_dh_prev, dims="B, H", variants=variants("dh_prev"))
    expect_array("dx_t", dx, e_dx, dims="B, D", variants=variants("dx"))


def check_gru_step_backward(
    gru_step_forward: Callable[..., Any], gru_step_backward: Callable[..., Any], seed: int | None = None
) -> None:
    """gru_step_backward(dh (B, H), cache) -> (dx_t (B, D), dh_prev (B, H), grads)."""
    case = partial(_step_backward_case, gru_step_forward, gru_step_backward)
    run_check(
        "gru_step_backward",
        [
            ("random B, D, H", lambda rng: case(rng, *sizes(rng))),
            ("D = H", lambda rng: case(rng, *sizes(rng, square=True))),
            ("B = 1", lambda rng: case(rng, 1, 3, 4)),
            ("H = 1", lambda rng: case(rng, 3, 2, 1)),
            ("D = 1", lambda rng: case(rng, 3, 1, 2)),
        ],
        seed,
        "check_gru_step_backward(gru_step_forward, gru_step_backward, seed={seed})",
    )


def _sequence_inputs(
    rng: np.random.Generator, T: int, B: int, D: int, H: int
) -> tuple[np.ndarray, np.ndarray, dict]:
    x, h0 = rng.normal(0, 1, (T, B, D)), rng.normal(0, 0.8, (B, H))
    return x, h0, random_params("gru", D, H, rng)


def _student_forward(gru_forward: Callable[..., Any], x: np.ndarray, p: dict, h0: Any) -> tuple:
    got = call_student(gru_forward, x, p, h0, name="gru_forward")
    return expect_tuple("gru_forward", got, 3, "out, h_T, cache")


def check_gru_forward(gru_forward: Callable[..., Any], seed: int | None = None) -> None:
    """gru_forward(x (T, B, D), params, h0) -> (out (T, B, H), h_T (B, H), cache)."""

    def case(rng: np.random.Generator, T: int, B: int, D: int, H: int, with_state: bool = True) -> None:
        x, h0, p = _sequence_inputs(rng, T, B, D, H)
        if not with_state:
            h0 = np.zeros((B, H))
        given = h0 if with_state else None  # None means zeros
        out, h_T, _ = _student_forward(gru_forward, x, p, given)
        e_out, e_h_T, _ = ref.gru_forward(x, p, given)
        steps = student_helpers(gru_forward, "gru_step_forward")
        if steps and not close(out, e_out):  # gru_forward calls it: a wrong step is named as such
            require_passing(
                "gru_step_forward", partial(_step_forward_case, steps[0], rng.spawn(1)[0], B, D, H)
            )
        expect_array(
            "out",
            out,
            e_out,
            dims="T, B, H",
            time_axis=0,
            variants=sequence_forward_variants(GRU, x, p, (h0,)),
        )
        expect_array(
            "h_T",
            h_T,
            e_h_T,
            dims="B, H",
            variants=[("h_T is the first step's state; return the last one", lambda: e_out[0])],
        )

    run_check(
        "gru_forward",
        [
            ("random T, B, D, H with h0", lambda rng: case(rng, int(rng.integers(3, 7)), *sizes(rng))),
            ("h0 = None means zeros", lambda rng: case(rng, 4, *sizes(rng), with_state=False)),
            ("T = 1", lambda rng: case(rng, 1, *sizes(rng))),
            ("B = 1 and H = 1", lambda rng: case(rng, 5, 1, 2, 1)),
        ],
        seed,
        "check_gru_forward(gru_forward, seed={seed})",
    )


def check_gru_backward(
    gru_forward: Callable[..., Any], gru_backward: Callable[..., Any], seed: int | None = None
) -> None:
    """gru_backward(dout (T, B, H), cache, dh_T) -> (dx (T, B, D), grads, dh0)."""

    def case(rng: np.random.Generator, T: int, B: int, D: int, H: int) -> None:
        x, h0, p = _sequence_inputs(rng, T, B, D, H)
        out, _, cache = _student_forward(gru_forward, x, p, h0)
        e_out, _, ref_cache = ref.gru_forward(x, p, h0)
        if not close(out, e_out):
            raise Feedback("gru_forward is not right yet: make check_gru_forward pass first")
        steps = student_helpers(gru_backward, "gru_step_forward", "gru_step_backward")
        if steps:  # gru_backward calls them: a wrong step backward is named as such
            step_forward, step_backward = steps
            step_case = partial(_step_backward_case, step_forward, step_backward, rng.spawn(1)[0], B, D, H)
            require_passing("gru_step_backward", step_case)
        dout, dh_T = rng.normal(0, 1, (T, B, H)), rng.normal(0, 1, (B, H))
        got = call_student(gru_backward, dout, cache, dh_T, name="gru_backward")
        dx, grads, dh0 = expect_tuple("gru_backward", got, 3, "dx, grads, dh0")
        e_dx, e_grads, e_dh0 = ref.gru_backward(dout, ref_cache, dh_T)

        def variants(output: str) -> Variants:
            return bptt_variants(GRU, x, p, (h0,), dout, (dh_T,), output, _step_backward, TANH_SITES)

        expect_array("dx", dx, e_dx, dims="T, B, D", time_axis=0, variants=variants("dx"))
        expect_grads("grads", grads, e_grads, GRAD_DIMS, variants=variants("grads"))
        expect_array("dh0", dh0, e_dh0, dims="B, H", variants=variants("dh0"))

    run_check(
        "gru_backward",
        [
            ("random T, B, D, H", lambda rng: case(rng, int(rng.integers(3, 7)), *sizes(rng))),
            ("T = 1", lambda rng: case(rng, 1, *sizes(rng))),
            ("B = 1 and H = 1", lambda rng: case(rng, 5, 1, 2, 1)),
            ("long sequence, T = 20", lambda rng: case(rng, 20, *sizes(rng))),
        ],
        seed,
        "check_gru_backward(gru_forward, gru_backward, seed={seed})",
    )
