"""Checks for exercise 04: the LSTM step forward and backward, then the sequence forward and BPTT.

Gate order and layout are torch's: rows [0:H] input gate i, [H:2H] forget gate f, [2H:3H] candidate g, [3H:4H]
output gate o, of weight_ih (4H, D), weight_hh (4H, H), bias_ih (4H,), bias_hh (4H,).
"""

from __future__ import annotations

import itertools
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

GATES = ("i", "f", "g", "o")
GRAD_DIMS = {"weight_ih": "4H, D", "weight_hh": "4H, H", "bias_ih": "4H", "bias_hh": "4H"}
Variants = list[tuple[str, Callable[[], Any]]]


def _gates(
    x: np.ndarray,
    h: np.ndarray,
    p: dict,
    order: tuple[int, ...] = (0, 1, 2, 3),
    bias_hh: bool = True,
    g_act: Callable[[np.ndarray], np.ndarray] = np.tanh,
) -> tuple[np.ndarray, ...]:
    """i, f, g, o for one step; ``order[k]`` is the block the student reads as gate k."""
    a = x @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + (p["bias_hh"] if bias_hh else 0.0)
    H = h.shape[1]
    ai, af, ag, ao = (a[:, k * H : (k + 1) * H] for k in order)
    return ref.sigmoid(ai), ref.sigmoid(af), g_act(ag), ref.sigmoid(ao)


def _step(
    x: np.ndarray,
    h: np.ndarray,
    c: np.ndarray,
    p: dict,
    *,
    order: tuple[int, ...] = (0, 1, 2, 3),
    forget: str = "f",
    tanh_c: bool = True,
    g_act: Callable[[np.ndarray], np.ndarray] = np.tanh,
    bias_hh: bool = True,
    old_c_in_h: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """One LSTM step (h, c), optionally with a mistake; forget is "f" (right), "none" (c = i g) or "one"."""
    i, f, g, o = _gates(x, h, p, order, bias_hh, g_act)
    keep = {"f": f * c, "none": 0.0, "one": c}[forget]
    c_new = keep + i * g
    h_new = o * ((np.tanh(c if old_c_in_h else c_new)) if tanh_c else c_new)
    return h_new, c_new


def _order_text(order: tuple[int, ...]) -> str:
    swapped = [k for k in range(4) if order[k] != k]
    if len(swapped) == 2:
        a, b = (GATES[k] for k in swapped)
        return f"the gates look swapped: your output matches the reference when {a} and {b} are exchanged"
    read = ", ".join(GATES[order.index(k)] for k in range(4))
    return (
        f"the gates are in the wrong order: your output matches rows read as ({read}) instead of (i, f, g, o)"
    )


def _pick(fn: Callable[..., tuple], which: int, *args: Any, **kwargs: Any) -> Any:
    """fn(*args, **kwargs)[which]."""
    return fn(*args, **kwargs)[which]


def step_forward_variants(x: np.ndarray, h: np.ndarray, c: np.ndarray, p: dict, which: int) -> Variants:
    """Known mistakes in the LSTM step forward; ``which`` is 0 for h, 1 for c."""
    layout = " (torch's rows: [0:H] i, [H:2H] f, [2H:3H] g, [3H:4H] o)"
    out: Variants = [
        (_order_text(order) + layout, partial(_pick, _step, which, x, h, c, p, order=order))
        for order in itertools.permutations(range(4))
        if order != (0, 1, 2, 3)
    ]
    out += [
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
        (
            "bias_hh is missing: torch's LSTM adds both bias_ih and bias_hh",
            lambda: _step(x, h, c, p, bias_hh=False)[which],
        ),
    ]
    return out


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


def check_lstm_step_forward(lstm_step_forward: Callable[..., Any], seed: int | None = None) -> None:
    """lstm_step_forward(x_t (B, D), h_prev (B, H), c_prev (B, H), params) -> (h (B, H), c (B, H), cache)."""

    def case(rng: np.random.Generator, B: int, D: int, H: int, scale: float = 0.5) -> None:
        x, h_prev, c_prev, p = _step_inputs(rng, B, D, H, scale)
        h, c, _ = _student_step(lstm_step_forward, x, h_prev, c_prev, p)
        e_h, e_c, _ = ref.lstm_step_forward(x, h_prev, c_prev, p)
        expect_array("c", c, e_c, dims="B, H", variants=step_forward_variants(x, h_prev, c_prev, p, 1))
        expect_array("h", h, e_h, dims="B, H", variants=step_forward_variants(x, h_prev, c_prev, p, 0))

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
    dtanh_c: str = "ok",
    dg: str = "ok",
    dc_from_h: bool = True,
    f_in_dc_prev: bool = True,
    order: tuple[int, ...] = (0, 1, 2, 3),
) -> dict[str, Any]:
    """The LSTM step backward, optionally with a mistake; returns dx, dh_prev, dc_prev and grads."""
    i, f, g, o = _gates(x, h_prev, p)
    c = f * c_prev + i * g
    tc = np.tanh(c)
    d_tc = {"ok": 1 - tc**2, "no_square": 1 - tc, "on_c": 1 - c**2, "missing": np.ones_like(c)}[dtanh_c]
    do = dh * tc  # h = o * tanh(c)
    dc_total = dc + (dh * o * d_tc if dc_from_h else 0.0)  # c feeds h and the next step
    da = [
        dc_total * g * i * (1 - i),  # c = ... + i g, i = sigmoid(a_i)
        dc_total * c_prev * f * (1 - f),  # c = f c_prev + ..., f = sigmoid(a_f)
        dc_total * i * {"ok": 1 - g**2, "no_square": 1 - g, "missing": np.ones_like(g)}[dg],  # g = tanh(a_g)
        do * o * (1 - o),
    ]  # o = sigmoid(a_o)
    d_a = np.concatenate([da[order[k]] for k in range(4)], axis=1)
    grads = {
        "weight_ih": d_a.T @ x,
        "weight_hh": d_a.T @ h_prev,
        "bias_ih": d_a.sum(0),
        "bias_hh": d_a.sum(0),
    }
    return {
        "dx": d_a @ p["weight_ih"],
        "dh_prev": d_a @ p["weight_hh"],
        "dc_prev": dc_total * f if f_in_dc_prev else dc_total,
        "grads": grads,
    }


def step_backward_variants(
    dh: np.ndarray,
    dc: np.ndarray,
    x: np.ndarray,
    h_prev: np.ndarray,
    c_prev: np.ndarray,
    p: dict,
    output: str,
) -> Variants:
    """Known mistakes in the LSTM step backward, for ``output`` in dx, dh_prev, dc_prev, grads."""

    def v(**kw: Any) -> Callable[[], Any]:
        return lambda: _step_backward(dh, dc, x, h_prev, c_prev, p, **kw)[output]

    return [
        (
            "wrong tanh derivative for tanh(c): d tanh(c)/dc = 1 - tanh(c)**2 (you used 1 - tanh(c))",
            v(dtanh_c="no_square"),
        ),
        ("wrong tanh derivative for tanh(c): it is 1 - tanh(c)**2, not 1 - c**2", v(dtanh_c="on_c")),
        (
            "the derivative of tanh(c) is missing on the path h = o * tanh(c): multiply by 1 - tanh(c)**2",
            v(dtanh_c="missing"),
        ),
        (
            "wrong tanh derivative for the candidate: with g = tanh(a_g), dg/da_g = 1 - g**2 (you "
            "used 1 - g)",
            v(dg="no_square"),
        ),
        ("the derivative of the candidate's tanh is missing: da_g = dg * (1 - g**2)", v(dg="missing")),
        (
            "the cell gradient ignores the path through h: dc_total = dc + dh * o * (1 - tanh(c)**2)",
            v(dc_from_h=False),
        ),
        (
            "dc_prev misses the forget gate: c = f * c_prev + i * g, so dc_prev = dc_total * f",
            v(f_in_dc_prev=False),
        ),
        (
            "the gate gradients are swapped: your result matches the reference when di and df are exchanged "
            "(stack them in torch's order i, f, g, o)",
            v(order=(1, 0, 2, 3)),
        ),
        (
            "the gate gradients are swapped: your result matches the reference when dg and do are exchanged "
            "(stack them in torch's order i, f, g, o)",
            v(order=(0, 1, 3, 2)),
        ),
    ]


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
    if not all(
        isinstance(a, np.ndarray) and a.shape == e.shape and np.allclose(a, e)
        for a, e in ((h, e_h), (c, e_c))
    ):
        raise Feedback("lstm_step_forward is not right yet: make check_lstm_step_forward pass first")
    dh, dc = rng.normal(0, 1, (B, H)), rng.normal(0, 1, (B, H))
    got = call_student(lstm_step_backward, dh, dc, cache, name="lstm_step_backward")
    dx, dh_prev, dc_prev, grads = expect_tuple("lstm_step_backward", got, 4, "dx_t, dh_prev, dc_prev, grads")
    e_dx, e_dh_prev, e_dc_prev, e_grads = ref.lstm_step_backward(dh, dc, ref_cache)

    def variants(output: str) -> Variants:
        return step_backward_variants(dh, dc, x, h_prev, c_prev, p, output)

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


def _run(
    x: np.ndarray, p: dict, h0: np.ndarray, c0: np.ndarray, *, carry_h: bool = True, carry_c: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sequence forward (out, h_T, c_T), optionally not carrying h or c from step to step."""
    h, c, out = h0, c0, []
    for t in range(x.shape[0]):
        h, c = _step(x[t], h if carry_h else h0, c if carry_c else c0, p)
        out.append(h)
    return np.stack(out), h, c


def sequence_forward_variants(x: np.ndarray, p: dict, h0: np.ndarray, c0: np.ndarray) -> Variants:
    """Known mistakes over time in the LSTM sequence forward, for out."""
    zeros = np.zeros_like(h0)
    return [
        (
            "off by one in time: your out[t] is the reference's out[t-1] (out[0] = h0); store h "
            "after the step",
            lambda: np.concatenate([h0[None], _run(x, p, h0, c0)[0][:-1]]),
        ),
        (
            "h0 is ignored: the first step must start from h0 when it is given",
            lambda: _run(x, p, zeros, c0)[0],
        ),
        (
            "c0 is ignored: the first step must start from c0 when it is given",
            lambda: _run(x, p, h0, zeros)[0],
        ),
        (
            "the cell state is not carried: every step starts from c0 instead of the previous step's c",
            lambda: _run(x, p, h0, c0, carry_c=False)[0],
        ),
        (
            "the hidden state is not carried: every step starts from h0 instead of the previous step's h",
            lambda: _run(x, p, h0, c0, carry_h=False)[0],
        ),
    ]


def check_lstm_forward(lstm_forward: Callable[..., Any], seed: int | None = None) -> None:
    """lstm_forward(x (T, B, D), params, h0, c0) -> (out (T, B, H), (h_T, c_T), cache)."""

    def case(rng: np.random.Generator, T: int, B: int, D: int, H: int, with_state: bool = True) -> None:
        x, h0, c0, p = _sequence_inputs(rng, T, B, D, H)
        if not with_state:
            h0 = c0 = np.zeros((B, H))
        given = (h0, c0) if with_state else (None, None)  # None means zeros
        out, h_T, c_T, _ = _student_forward(lstm_forward, x, p, *given)
        e_out, (e_h_T, e_c_T), _ = ref.lstm_forward(x, p, *given)
        expect_array(
            "out",
            out,
            e_out,
            dims="T, B, H",
            time_axis=0,
            variants=sequence_forward_variants(x, p, h0, c0),
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


def bptt_variants(
    x: np.ndarray,
    p: dict,
    h0: np.ndarray,
    c0: np.ndarray,
    dout: np.ndarray,
    dh_T: np.ndarray,
    dc_T: np.ndarray,
    output: str,
) -> Variants:
    """Known BPTT mistakes for the LSTM, built from the reference's steps; output: dx, grads, dh0 or dc0."""

    def bptt(
        carry_h: bool = True,
        carry_c: bool = True,
        accumulate: bool = True,
        use_dh_T: bool = True,
        use_dc_T: bool = True,
        shift: bool = False,
    ) -> dict:
        h, c, caches = h0, c0, []
        for t in range(x.shape[0]):
            h, c, cache = ref.lstm_step_forward(x[t], h, c, p)
            caches.append(cache)
        dh_next = dh_T if use_dh_T else np.zeros_like(dh_T)
        dc_next = dc_T if use_dc_T else np.zeros_like(dc_T)
        dx, grads = np.zeros_like(x), None
        for t in reversed(range(x.shape[0])):
            g_out = (dout[t - 1] if t > 0 else np.zeros_like(dout[0])) if shift else dout[t]
            dx[t], dh_prev, dc_prev, g = ref.lstm_step_backward(g_out + dh_next, dc_next, caches[t])
            dh_next = dh_prev if carry_h else np.zeros_like(dh_prev)
            dc_next = dc_prev if carry_c else np.zeros_like(dc_prev)
            grads = (
                {k: v.copy() for k, v in g.items()}
                if grads is None or not accumulate
                else {k: grads[k] + g[k] for k in grads}
            )
        return {"dx": dx, "grads": grads, "dh0": dh_prev, "dc0": dc_prev}

    return [
        (
            "the gradient matches for the last time step but not earlier ones: is dh from step t+1 added to "
            "dout[t]? (dh_next = dh_prev of the step after)",
            lambda: bptt(carry_h=False)[output],
        ),
        (
            "the cell gradient is not carried back in time: pass dc_prev of step t+1 as dc into step t",
            lambda: bptt(carry_c=False)[output],
        ),
        (
            "the gradient matches for the last time step only: neither dh nor dc is carried from "
            "step t+1 to step t",
            lambda: bptt(carry_h=False, carry_c=False)[output],
        ),
        (
            "the grads are those of the first time step only: accumulate them over all steps with +=",
            lambda: bptt(accumulate=False)[output],
        ),
        (
            "dh_T is ignored: the gradient into the last state must be added to dout[T-1]",
            lambda: bptt(use_dh_T=False)[output],
        ),
        ("dc_T is ignored: it is the dc flowing into the last step", lambda: bptt(use_dc_T=False)[output]),
        (
            "off by one in time: step t receives dout[t-1]; use dout[t] + dh_next at step t",
            lambda: bptt(shift=True)[output],
        ),
    ]


def check_lstm_backward(
    lstm_forward: Callable[..., Any], lstm_backward: Callable[..., Any], seed: int | None = None
) -> None:
    """lstm_backward(dout (T, B, H), cache, dh_T, dc_T) -> (dx (T, B, D), grads, (dh0, dc0))."""

    def case(rng: np.random.Generator, T: int, B: int, D: int, H: int) -> None:
        x, h0, c0, p = _sequence_inputs(rng, T, B, D, H)
        out, _, _, cache = _student_forward(lstm_forward, x, p, h0, c0)
        e_out, _, ref_cache = ref.lstm_forward(x, p, h0, c0)
        if not (isinstance(out, np.ndarray) and out.shape == e_out.shape and np.allclose(out, e_out)):
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
            return bptt_variants(x, p, h0, c0, dout, dh_T, dc_T, output)

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
