"""Checks for exercise 02: the RNN step forward and backward, then the sequence forward and BPTT."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from lstm_course import reference as ref
from lstm_course.checks.harness import (
    Feedback,
    call_student,
    expect_array,
    expect_grads,
    expect_tuple,
    random_params,
    require_passing,
    run_check,
    sizes,
    student_helpers,
)

GRAD_DIMS = {"weight_ih": "H, D", "weight_hh": "H, H", "bias_ih": "H", "bias_hh": "H"}


def _pre(
    x: np.ndarray,
    h: np.ndarray,
    p: dict,
    *,
    t_ih: bool = False,
    t_hh: bool = False,
    bias_hh: bool = True,
    recurrent: bool = True,
) -> np.ndarray:
    """The pre-activation a = x W_ih^T + b_ih + h W_hh^T + b_hh, optionally with a mistake."""
    a = x @ (p["weight_ih"] if t_ih else p["weight_ih"].T) + p["bias_ih"]
    if recurrent:
        a = a + h @ (p["weight_hh"] if t_hh else p["weight_hh"].T)
    return a + p["bias_hh"] if bias_hh else a


def step_forward_variants(
    x: np.ndarray, h: np.ndarray, p: dict
) -> list[tuple[str, Callable[[], np.ndarray]]]:
    """Known mistakes in the RNN step forward, as (feedback, what that mistake computes)."""
    return [
        (
            "weight_ih is transposed: it is (H, D), so the input term is x_t @ weight_ih.T",
            lambda: np.tanh(_pre(x, h, p, t_ih=True)),
        ),
        (
            "weight_hh is transposed: the recurrent term is h_prev @ weight_hh.T",
            lambda: np.tanh(_pre(x, h, p, t_hh=True)),
        ),
        (
            "both weights are transposed: use x_t @ weight_ih.T and h_prev @ weight_hh.T",
            lambda: np.tanh(_pre(x, h, p, t_ih=True, t_hh=True)),
        ),
        (
            "bias_hh is missing: torch's RNN adds both bias_ih and bias_hh",
            lambda: np.tanh(_pre(x, h, p, bias_hh=False)),
        ),
        (
            "h_prev is ignored: the recurrent term h_prev @ weight_hh.T is missing",
            lambda: np.tanh(_pre(x, h, p, recurrent=False)),
        ),
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


def check_rnn_step_forward(rnn_step_forward: Callable[..., Any], seed: int | None = None) -> None:
    """rnn_step_forward(x_t (B, D), h_prev (B, H), params) -> (h (B, H), cache)."""

    def case(rng: np.random.Generator, B: int, D: int, H: int, scale: float = 0.5) -> None:
        x, h_prev, p = _step_case(rng, B, D, H, scale)
        h, _ = _student_step(rnn_step_forward, x, h_prev, p)
        expected, _ = ref.rnn_step_forward(x, h_prev, p)
        expect_array("h", h, expected, dims="B, H", variants=step_forward_variants(x, h_prev, p))

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


def _step_backward_variants(
    dh: np.ndarray, x: np.ndarray, h_prev: np.ndarray, p: dict, h: np.ndarray, output: str
) -> list[tuple[str, Callable[[], Any]]]:
    """Known mistakes in the RNN step backward; ``output`` picks "dx", "dh_prev" or "grads"."""

    def backward(da: np.ndarray, t_w: bool = False) -> dict[str, Any]:
        grads = {
            "weight_ih": da.T @ x,
            "weight_hh": da.T @ h_prev,
            "bias_ih": da.sum(0),
            "bias_hh": da.sum(0),
        }
        w_ih, w_hh = (p["weight_ih"].T, p["weight_hh"].T) if t_w else (p["weight_ih"], p["weight_hh"])
        return {"dx": da @ w_ih, "dh_prev": da @ w_hh, "grads": grads}

    a = np.arctanh(np.clip(h, -1 + 1e-12, 1 - 1e-12))
    return [
        (
            "wrong tanh derivative: with h = tanh(a), dh/da = 1 - h**2 (you used 1 - h)",
            lambda: backward(dh * (1 - h))[output],
        ),
        (
            "wrong tanh derivative: 1 - h**2 is already in terms of the output h; you applied tanh "
            "to h again",
            lambda: backward(dh * (1 - np.tanh(h) ** 2))[output],
        ),
        (
            "wrong derivative: y * (1 - y) is the sigmoid's; tanh's is 1 - h**2",
            lambda: backward(dh * h * (1 - h))[output],
        ),
        ("the tanh derivative is missing: da = dh * (1 - h**2)", lambda: backward(dh)[output]),
        ("the derivative of tanh is 1 - tanh(a)**2, not 1 - a**2", lambda: backward(dh * (1 - a**2))[output]),
        (
            "the weight is transposed in the backward pass: dx_t = da @ weight_ih (no .T) for a = "
            "x_t @ W_ih^T"
            if output == "dx"
            else "the weight is transposed in the backward pass: dh_prev = da @ weight_hh (no .T) for a = "
            "h_prev @ W_hh^T",
            lambda: backward(dh * (1 - h * h), t_w=True)[output],
        ),
    ]


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
    if not (isinstance(h, np.ndarray) and h.shape == expected_h.shape and np.allclose(h, expected_h)):
        raise Feedback("rnn_step_forward is not right yet: make check_rnn_step_forward pass first")
    dh = rng.normal(0, 1, (B, H))
    got = call_student(rnn_step_backward, dh, cache, name="rnn_step_backward")
    dx, dh_prev, grads = expect_tuple("rnn_step_backward", got, 3, "dx_t, dh_prev, grads")
    e_dx, e_dh_prev, e_grads = ref.rnn_step_backward(dh, ref_cache)
    expect_array("dx_t", dx, e_dx, dims="B, D", variants=_step_backward_variants(dh, x, h_prev, p, h, "dx"))
    expect_array(
        "dh_prev",
        dh_prev,
        e_dh_prev,
        dims="B, H",
        variants=_step_backward_variants(dh, x, h_prev, p, h, "dh_prev"),
    )
    expect_grads(
        "grads",
        grads,
        e_grads,
        GRAD_DIMS,
        variants=[(m, _as_dict(f)) for m, f in _step_backward_variants(dh, x, h_prev, p, h, "grads")],
    )


def _as_dict(f: Callable[[], Any]) -> Callable[[], dict]:
    return lambda: dict(f())


def _sequence_case(
    rng: np.random.Generator, T: int, B: int, D: int, H: int
) -> tuple[np.ndarray, dict, np.ndarray]:
    return rng.normal(0, 1, (T, B, D)), random_params("rnn", D, H, rng), rng.normal(0, 0.8, (B, H))


def _student_forward(
    rnn_forward: Callable[..., Any], x: np.ndarray, p: dict, h0: np.ndarray | None
) -> tuple[Any, Any, Any]:
    got = call_student(rnn_forward, x, p, h0, name="rnn_forward")
    return expect_tuple("rnn_forward", got, 3, "out, h_T, cache")


def sequence_forward_variants(
    x: np.ndarray, p: dict, h0: np.ndarray, step: Callable[..., Any]
) -> list[tuple[str, Callable[[], np.ndarray]]]:
    """Known mistakes over time: off-by-one, h0 ignored, the state not carried; ``step`` returns (h, ...)."""

    def run(carry: bool = True, start: np.ndarray | None = None) -> np.ndarray:
        h, out = (h0 if start is None else start), []
        for t in range(x.shape[0]):
            h_new = step(x[t], h if carry else (h0 if start is None else start))
            out.append(h_new)
            h = h_new
        return np.stack(out)

    def shifted() -> np.ndarray:
        out = run()
        return np.concatenate([h0[None], out[:-1]])

    return [
        (
            "off by one in time: your out[t] is the reference's out[t-1] (out[0] = h0); store h "
            "after the step",
            shifted,
        ),
        (
            "h0 is ignored: the first step must start from h0 when it is given",
            lambda: run(start=np.zeros_like(h0)),
        ),
        (
            "the hidden state is not carried: every step starts from h0 instead of the previous step's h",
            lambda: run(carry=False),
        ),
    ]


def check_rnn_forward(rnn_forward: Callable[..., Any], seed: int | None = None) -> None:
    """rnn_forward(x (T, B, D), params, h0 (B, H) or None) -> (out (T, B, H), h_T (B, H), cache)."""

    def step(x_t: np.ndarray, h: np.ndarray, p: dict) -> np.ndarray:
        return ref.rnn_step_forward(x_t, h, p)[0]

    def case(rng: np.random.Generator, T: int, B: int, D: int, H: int, with_h0: bool = True) -> None:
        x, p, h0 = _sequence_case(rng, T, B, D, H)
        if not with_h0:
            h0 = np.zeros((B, H))  # what None means, so the mistake-variants start where the student did
        out, h_T, _ = _student_forward(rnn_forward, x, p, h0 if with_h0 else None)
        e_out, e_h_T, _ = ref.rnn_forward(x, p, h0 if with_h0 else None)
        expect_array(
            "out",
            out,
            e_out,
            dims="T, B, H",
            time_axis=0,
            variants=sequence_forward_variants(x, p, h0, lambda xt, h: step(xt, h, p)),
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


def bptt_variants(
    x: np.ndarray,
    dout: np.ndarray,
    dh_T: np.ndarray,
    steps: Callable[[], list[Any]],
    step_backward: Callable[..., Any],
    output: str,
) -> list[tuple[str, Callable[[], Any]]]:
    """Known BPTT mistakes, built from the reference's step backward; ``output`` is "dx", "grads" or "dh0".

    ``steps()`` returns the reference's per-step caches; ``step_backward(dh, cache)`` is the reference's.
    """

    def bptt(carry: bool = True, accumulate: bool = True, use_dh_T: bool = True, shift: bool = False) -> dict:
        caches = steps()
        T = len(caches)
        dh_next = dh_T if use_dh_T else np.zeros_like(dh_T)
        dx, grads = np.zeros_like(x), None
        for t in reversed(range(T)):
            g_out = dout[t - 1] if shift and t > 0 else (np.zeros_like(dout[0]) if shift else dout[t])
            dx[t], dh_prev, g = step_backward(g_out + dh_next, caches[t])
            dh_next = dh_prev if carry else np.zeros_like(dh_prev)
            if grads is None or not accumulate:
                grads = {k: v.copy() for k, v in g.items()}
            else:
                grads = {k: grads[k] + g[k] for k in grads}
        return {"dx": dx, "grads": grads, "dh0": dh_prev}

    return [
        (
            "the gradient matches for the last time step but not earlier ones: is dh from step t+1 added to "
            "dout[t]? (dh_next = dh_prev of the step after)",
            lambda: bptt(carry=False)[output],
        ),
        (
            "the grads are those of the first time step only: accumulate them over all steps with +=",
            lambda: bptt(accumulate=False)[output],
        ),
        (
            "dh_T is ignored: the gradient into the last state must be added to dout[T-1]",
            lambda: bptt(use_dh_T=False)[output],
        ),
        (
            "off by one in time: step t receives dout[t-1]; use dout[t] + dh_next at step t",
            lambda: bptt(shift=True)[output],
        ),
    ]


def check_rnn_backward(
    rnn_forward: Callable[..., Any], rnn_backward: Callable[..., Any], seed: int | None = None
) -> None:
    """rnn_backward(dout (T, B, H), cache, dh_T) -> (dx (T, B, D), grads, dh0 (B, H)), on your cache."""

    def case(rng: np.random.Generator, T: int, B: int, D: int, H: int) -> None:
        x, p, h0 = _sequence_case(rng, T, B, D, H)
        out, _, cache = _student_forward(rnn_forward, x, p, h0)
        e_out, _, ref_cache = ref.rnn_forward(x, p, h0)
        if not (isinstance(out, np.ndarray) and out.shape == e_out.shape and np.allclose(out, e_out)):
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

        def caches() -> list[Any]:
            h, result = h0, []
            for t in range(T):
                h, c = ref.rnn_step_forward(x[t], h, p)
                result.append(c)
            return result

        def variants(output: str) -> list[tuple[str, Callable[[], Any]]]:
            return bptt_variants(x, dout, dh_T, caches, ref.rnn_step_backward, output)

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
