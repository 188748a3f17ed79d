"""Checks for exercise 01: a stable sigmoid, tanh derivative, softmax, a dense layer and its backward."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from lstm_course import reference as ref
from lstm_course.checks.harness import Feedback, call_student, close, expect_array, expect_tuple, run_check

EXTREME = np.array([-1000.0, -60.0, -1.0, 0.0, 1.0, 60.0, 1000.0])


def check_sigmoid(sigmoid: Callable[[np.ndarray], np.ndarray], seed: int | None = None) -> None:
    """sigmoid(x) on random arrays of several shapes, on float32, and on extreme values without overflow."""

    def values(x: np.ndarray) -> None:
        got = call_student(sigmoid, x, name="sigmoid")
        expect_array(
            "sigmoid(x)",
            got,
            ref.sigmoid(x),
            variants=[
                ("you returned tanh(x): sigmoid(x) = 1 / (1 + exp(-x)) lies in (0, 1)", lambda: np.tanh(x)),
                ("you computed sigmoid(-x): the sign inside exp is flipped", lambda: ref.sigmoid(-x)),
                ("you returned exp(-x) / (1 + exp(-x)) = 1 - sigmoid(x)", lambda: 1 - ref.sigmoid(x)),
            ],
        )

    def extreme(rng: np.random.Generator) -> None:
        x = rng.permutation(EXTREME)
        hint = (
            "sigmoid overflows for extreme inputs (x = ±1000): exp of a large positive number is inf. "
            "Only ever take exp(-|x|): 1 / (1 + exp(-x)) for x >= 0 and exp(x) / (1 + exp(x)) for x < 0"
        )
        got = call_student(sigmoid, x, name="sigmoid", on_warning=hint)
        expect_array("sigmoid(x) for extreme x", got, ref.sigmoid(x))

    run_check(
        "sigmoid",
        [
            (
                "random (B, H) values",
                lambda rng: values(rng.normal(0, 3, (rng.integers(1, 5), rng.integers(2, 6)))),
            ),
            ("random (T, B, H) values", lambda rng: values(rng.normal(0, 3, (3, 2, 4)))),
            ("a single value, shape (1,)", lambda rng: values(rng.normal(0, 3, (1,)))),
            ("float32 stays float32", lambda rng: values(rng.normal(0, 3, (4, 3)).astype(np.float32))),
            ("extreme values ±1000 without overflow", extreme),
        ],
        seed,
        "check_sigmoid(sigmoid, seed={seed})",
    )


def check_tanh_derivative(
    tanh_derivative: Callable[[np.ndarray], np.ndarray], seed: int | None = None
) -> None:
    """tanh_derivative(y) with y = tanh(x): returns 1 - y**2."""

    def values(y: np.ndarray) -> None:
        got = call_student(tanh_derivative, y, name="tanh_derivative")
        expect_array(
            "tanh_derivative(y)",
            got,
            ref.tanh_derivative(y),
            variants=[
                (
                    "you applied tanh again: the argument is already y = tanh(x), so return 1 - y**2",
                    lambda: 1 - np.tanh(y) ** 2,
                ),
                ("you returned 1 - y: the derivative of tanh is 1 - tanh(x)**2 = 1 - y**2", lambda: 1 - y),
                ("that is the sigmoid's derivative y * (1 - y); tanh's is 1 - y**2", lambda: y * (1 - y)),
                (
                    "the sign is flipped: tanh's derivative is 1 - y**2, which lies in (0, 1]",
                    lambda: y**2 - 1,
                ),
            ],
        )

    run_check(
        "tanh_derivative",
        [
            ("y = tanh(x) for random (B, H) x", lambda rng: values(np.tanh(rng.normal(0, 1.5, (3, 5))))),
            (
                "y = tanh(x) for random (T, B, H) x",
                lambda rng: values(np.tanh(rng.normal(0, 1.5, (4, 2, 3)))),
            ),
            (
                "saturated and zero y: -1, 0, 1",
                lambda rng: values(rng.permutation(np.array([-1.0, 0.0, 1.0]))),
            ),
            (
                "float32 stays float32",
                lambda rng: values(np.tanh(rng.normal(0, 1, (2, 3))).astype(np.float32)),
            ),
        ],
        seed,
        "check_tanh_derivative(tanh_derivative, seed={seed})",
    )


def check_softmax(softmax: Callable[..., np.ndarray], seed: int | None = None) -> None:
    """softmax(x, axis=-1) on random logits, along another axis, and on huge logits without overflow."""

    def values(x: np.ndarray, axis: int = -1) -> None:
        got = (
            call_student(softmax, x, name="softmax")
            if axis == -1
            else call_student(softmax, x, axis=axis, name="softmax")
        )
        other = 0 if axis != 0 else -1
        expect_array(
            f"softmax(x, axis={axis})",
            got,
            ref.softmax(x, axis=axis),
            variants=[
                (
                    f"you normalised along axis {other}; softmax sums to 1 along axis={axis}",
                    lambda: ref.softmax(x, axis=other),
                ),
                ("the entries do not sum to 1: divide exp(x) by its sum along the axis", lambda: np.exp(x)),
                (
                    "you returned log-probabilities (log_softmax); softmax is their exp",
                    lambda: ref.log_softmax(x, axis),
                ),
                (
                    "you divided by the sum over the whole array; normalise each slice along the "
                    "axis separately",
                    lambda: np.exp(x) / np.exp(x).sum(),
                ),
            ],
        )

    def huge(rng: np.random.Generator) -> None:
        x = rng.normal(0, 1, (3, 4)) * 10 + np.array([[1000.0], [-1000.0], [0.0]])
        hint = (
            "softmax overflows for large logits (around 1000): exp(1000) is inf. Subtract each row's max "
            "before exp; softmax(x) = softmax(x - max(x)) so the result is unchanged"
        )
        got = call_student(softmax, x, name="softmax", on_warning=hint)
        expect_array("softmax(x) for logits near ±1000", got, ref.softmax(x))

    run_check(
        "softmax",
        [
            ("random (N, C) logits", lambda rng: values(rng.normal(0, 2, (rng.integers(2, 5), 5)))),
            ("one row, shape (1, C)", lambda rng: values(rng.normal(0, 2, (1, 4)))),
            ("(T, B, C) logits along the last axis", lambda rng: values(rng.normal(0, 2, (2, 3, 4)))),
            ("(C, N) logits with axis=0", lambda rng: values(rng.normal(0, 2, (5, 3)), axis=0)),
            ("huge logits without overflow", huge),
        ],
        seed,
        "check_softmax(softmax, seed={seed})",
    )


def _dense_inputs(rng: np.random.Generator, N: int, D: int, M: int) -> tuple[np.ndarray, ...]:
    return rng.normal(0, 1, (N, D)), rng.normal(0, 1, (M, D)), rng.normal(0, 1, (M,))


def _dense_sizes(rng: np.random.Generator, square: bool) -> tuple[int, int, int]:
    N, D, M = (int(n) for n in rng.choice(np.arange(2, 7), 3, replace=False))
    return (N, D, D) if square else (N, D, M)


def _forward_out(
    dense_forward: Callable[..., Any], x: np.ndarray, w: np.ndarray, b: np.ndarray
) -> tuple[Any, Any]:
    got = call_student(dense_forward, x, w, b, name="dense_forward")
    return expect_tuple("dense_forward", got, 2, "out, cache")


def check_dense_forward(dense_forward: Callable[..., Any], seed: int | None = None) -> None:
    """dense_forward(x (N, D), weight (M, D), bias (M,)) -> (out (N, M), cache)."""

    def case(rng: np.random.Generator, N: int, D: int, M: int) -> None:
        x, w, b = _dense_inputs(rng, N, D, M)
        out, _ = _forward_out(dense_forward, x, w, b)
        expect_array(
            "out",
            out,
            x @ w.T + b,
            dims="N, M",
            variants=[
                (
                    "out matches x @ weight + bias: the weight is transposed; weight is (M, D), so "
                    "use x @ weight.T",
                    lambda: x @ w + b,
                ),
                ("the bias is missing: out = x @ weight.T + bias", lambda: x @ w.T),
                ("out matches x @ weight.T - bias: add the bias", lambda: x @ w.T - b),
            ],
        )

    run_check(
        "dense_forward",
        [
            ("square weight (M = D)", lambda rng: case(rng, *_dense_sizes(rng, square=True))),
            ("random N, D, M", lambda rng: case(rng, *_dense_sizes(rng, square=False))),
            ("N = 1", lambda rng: case(rng, 1, 3, 4)),
            ("D = 1 and M = 1", lambda rng: case(rng, 4, 1, 1)),
        ],
        seed,
        "check_dense_forward(dense_forward, seed={seed})",
    )


def check_dense_backward(
    dense_forward: Callable[..., Any], dense_backward: Callable[..., Any], seed: int | None = None
) -> None:
    """dense_backward(dout (N, M), cache) -> (dx (N, D), dweight (M, D), dbias (M,)), on your cache."""

    def case(rng: np.random.Generator, N: int, D: int, M: int) -> None:
        x, w, b = _dense_inputs(rng, N, D, M)
        out, cache = _forward_out(dense_forward, x, w, b)
        if not (isinstance(out, np.ndarray) and close(out, x @ w.T + b)):
            raise Feedback("dense_forward is not right yet: make check_dense_forward pass first")
        dout = rng.normal(0, 1, (N, M))
        got = call_student(dense_backward, dout, cache, name="dense_backward")
        dx, dw, db = expect_tuple("dense_backward", got, 3, "dx, dweight, dbias")
        expect_array(
            "dx",
            dx,
            dout @ w,
            dims="N, D",
            variants=[
                (
                    "dx is transposed through the weight: out = x @ weight.T, so dx = dout @ weight",
                    lambda: dout @ w.T,
                ),
            ],
        )
        expect_array(
            "dweight",
            dw,
            dout.T @ x,
            dims="M, D",
            variants=[
                (
                    "dweight is transposed: it must have weight's shape (M, D), dweight = dout.T @ x",
                    lambda: x.T @ dout,
                ),
                (
                    "dweight is averaged over the batch; the loss gradient dout already carries any "
                    "1/N, so sum",
                    lambda: dout.T @ x / N,
                ),
            ],
        )
        if isinstance(db, np.ndarray) and db.shape == (N, M):
            raise Feedback(
                "dbias has dout's shape (N, M): sum dout over the batch axis, dbias = dout.sum(axis=0)"
            )
        expect_array(
            "dbias",
            db,
            dout.sum(axis=0),
            dims="M",
            variants=[
                (
                    "dbias is dout averaged over the batch; sum it (the bias is added to every row)",
                    lambda: dout.mean(axis=0),
                ),
                (
                    "dbias sums over the wrong axis: sum over the batch, dout.sum(axis=0)",
                    lambda: dout.sum(axis=1),
                ),
            ],
        )

    run_check(
        "dense_backward",
        [
            ("square weight (M = D)", lambda rng: case(rng, *_dense_sizes(rng, square=True))),
            ("random N, D, M", lambda rng: case(rng, *_dense_sizes(rng, square=False))),
            ("N = 1", lambda rng: case(rng, 1, 3, 4)),
            ("D = 1 and M = 1", lambda rng: case(rng, 4, 1, 1)),
        ],
        seed,
        "check_dense_backward(dense_forward, dense_backward, seed={seed})",
    )
