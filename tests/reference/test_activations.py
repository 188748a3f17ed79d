"""Activations: correct values, stable at extreme inputs, derivatives written in the outputs."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_course import reference as ref
from lstm_course.reference.activations import sigmoid_


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_and_exact(dtype):
    x = np.array([-1e4, -800.0, -30.0, -1.0, 0.0, 1.0, 30.0, 800.0, 1e4], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = ref.sigmoid(x)
        y_inplace = sigmoid_(x.copy())
    assert y.dtype == dtype and y_inplace.dtype == dtype
    assert np.all(np.isfinite(y)) and np.all((y >= 0) & (y <= 1))
    assert y[0] == 0.0 and y[-1] == 1.0 and y[4] == 0.5
    expected = 1 / (1 + np.exp(-np.array([-30.0, -1.0, 1.0, 30.0])))  # safe range for the naive formula
    np.testing.assert_allclose(y[[2, 3, 5, 6]], expected, rtol=1e-6 if dtype == np.float32 else 1e-15)
    np.testing.assert_allclose(y_inplace, y, atol=1e-7 if dtype == np.float32 else 1e-15)


def test_tanh_and_derivatives(rng):
    x = rng.normal(size=(5, 3)) * 3
    np.testing.assert_allclose(ref.tanh(x), np.tanh(x))
    s, t = ref.sigmoid(x), ref.tanh(x)
    eps = 1e-6
    np.testing.assert_allclose(
        ref.sigmoid_derivative(s),
        (ref.sigmoid(x + eps) - ref.sigmoid(x - eps)) / 2 / eps,
        rtol=1e-7,
        atol=1e-9,
    )
    np.testing.assert_allclose(
        ref.tanh_derivative(t), (np.tanh(x + eps) - np.tanh(x - eps)) / 2 / eps, rtol=1e-7, atol=1e-9
    )
    assert ref.tanh(np.array([1e4, -1e4])).tolist() == [1.0, -1.0]


@pytest.mark.parametrize("axis", [0, -1])
def test_softmax_and_log_softmax_are_stable(axis, rng):
    x = rng.normal(size=(4, 5))
    x[0, 0], x[1, 1] = 1e4, -1e4
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        p, logp = ref.softmax(x, axis=axis), ref.log_softmax(x, axis=axis)
    assert np.all(np.isfinite(p)) and np.all(np.isfinite(logp))
    np.testing.assert_allclose(p.sum(axis=axis), 1.0)
    np.testing.assert_allclose(np.exp(logp), p, atol=1e-15)
    small = rng.normal(size=(4, 5))
    naive = np.exp(small) / np.exp(small).sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(ref.softmax(small, axis=axis), naive)


def test_integer_input_and_bad_types():
    assert ref.sigmoid(np.array([0, 0])).dtype == np.float64
    np.testing.assert_array_equal(ref.softmax(np.array([[1, 1]])), [[0.5, 0.5]])
    with pytest.raises(TypeError, match="x must be a real"):
        ref.sigmoid(np.array([1j]))
    with pytest.raises(TypeError, match="x must be a real"):
        ref.softmax(np.array([None, 1.0]))
