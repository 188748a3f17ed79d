"""Exercise 01's checks: the right answers pass; plausible mistakes fail with feedback that names them."""

from collections.abc import Callable

import numpy as np
import pytest

from lstm_course import reference as ref
from lstm_course.checks.activations import (
    check_dense_backward,
    check_dense_forward,
    check_sigmoid,
    check_softmax,
    check_tanh_derivative,
)


def test_the_reference_passes_every_check(capsys: pytest.CaptureFixture[str]) -> None:
    check_sigmoid(ref.sigmoid)
    check_tanh_derivative(ref.tanh_derivative)
    check_softmax(ref.softmax)
    check_dense_forward(ref.dense_forward)
    check_dense_backward(ref.dense_forward, ref.dense_backward)
    assert capsys.readouterr().out.splitlines() == [
        "✓ sigmoid: 5/5 checks passed",
        "✓ tanh_derivative: 4/4 checks passed",
        "✓ softmax: 5/5 checks passed",
        "✓ dense_forward: 4/4 checks passed",
        "✓ dense_backward: 4/4 checks passed",
    ]


def naive_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def softmax_axis0(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return ref.softmax(x, axis=0)


@pytest.mark.parametrize(
    ("check", "wrong", "message"),
    [
        (check_sigmoid, lambda x: 1 / (1 + np.exp(-x)), r"^sigmoid overflows for extreme inputs"),
        (check_sigmoid, lambda x: ref.sigmoid(-x), r"^you computed sigmoid\(-x\)"),
        (check_tanh_derivative, lambda y: 1 - np.tanh(y) ** 2, r"^you applied tanh again"),
        (check_tanh_derivative, lambda y: 1 - y, r"^you returned 1 - y"),
        (check_tanh_derivative, lambda y: y * (1 - y), r"^that is the sigmoid's derivative"),
        (check_softmax, naive_softmax, r"^softmax overflows for large logits.*Subtract each row's max"),
        (check_softmax, softmax_axis0, r"^you normalised along axis 0"),
    ],
)
def test_activation_mistakes_are_named(check: Callable, wrong: Callable, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check(wrong)


def dense_transposed(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple:
    return x @ w + b, (x, w)


def dense_no_bias(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple:
    return x @ w.T, (x, w)


def dense_ok(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple:
    return x @ w.T + b, (x, w)


def backward_dweight_transposed(dout: np.ndarray, cache: tuple) -> tuple:
    x, w = cache
    return dout @ w, x.T @ dout, dout.sum(0)


def backward_dbias_mean(dout: np.ndarray, cache: tuple) -> tuple:
    x, w = cache
    return dout @ w, dout.T @ x, dout.mean(0)


def backward_dbias_unsummed(dout: np.ndarray, cache: tuple) -> tuple:
    x, w = cache
    return dout @ w, dout.T @ x, dout


def test_dense_mistakes_are_named() -> None:
    with pytest.raises(AssertionError, match=r"^out matches x @ weight \+ bias: the weight is transposed"):
        check_dense_forward(dense_transposed)
    with pytest.raises(AssertionError, match="^the bias is missing"):
        check_dense_forward(dense_no_bias)
    with pytest.raises(
        AssertionError, match=r"^dweight is transposed|^dweight: shape \(M, D\) = .* transposed\?"
    ):
        check_dense_backward(dense_ok, backward_dweight_transposed)
    with pytest.raises(AssertionError, match="^dbias is dout averaged over the batch; sum it"):
        check_dense_backward(dense_ok, backward_dbias_mean)
    with pytest.raises(AssertionError, match=r"^dbias has dout's shape \(N, M\): sum dout over the batch"):
        check_dense_backward(dense_ok, backward_dbias_unsummed)
    with pytest.raises(AssertionError, match="^dense_forward is not right yet"):
        check_dense_backward(dense_no_bias, backward_dbias_mean)
