"""The gradient checker itself: right on known functions, restores x, refuses what it cannot perturb."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_course import reference as ref


def test_numerical_gradient_of_a_known_function(rng):
    x = rng.normal(size=(3, 2))
    before = x.copy()
    grad = ref.numerical_gradient(lambda: np.sum(np.sin(x) * x), x)
    np.testing.assert_allclose(grad, np.cos(before) * before + np.sin(before), rtol=1e-8)
    np.testing.assert_array_equal(x, before)  # restored exactly


def test_numerical_gradient_works_on_a_strided_view(rng):
    base = rng.normal(size=(4, 4))
    view = base[:, ::2]
    grad = ref.numerical_gradient(lambda: np.sum(base**2), view)
    np.testing.assert_allclose(grad, 2 * base[:, ::2], rtol=1e-8)


def test_a_wrong_gradient_is_caught(rng):
    x = rng.normal(size=5)
    numeric = ref.numerical_gradient(lambda: np.sum(x**3), x)
    assert ref.relative_error(3 * x**2, numeric) < 1e-8
    assert ref.relative_error(2 * x**2, numeric) > 1e-2


def test_relative_error():
    assert ref.relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert ref.relative_error(np.ones(2), -np.ones(2)) == 1.0
    with pytest.raises(ValueError, match="same shape"):
        ref.relative_error(np.ones(2), np.ones(3))


def test_refuses_arrays_it_cannot_perturb():
    with pytest.raises(TypeError, match="x must be a float ndarray"):
        ref.numerical_gradient(lambda: 0.0, np.arange(3))
    with pytest.raises(TypeError, match="x must be a float ndarray"):
        ref.numerical_gradient(lambda: 0.0, [1.0, 2.0])
    frozen = np.ones(2)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="x must be writeable"):
        ref.numerical_gradient(lambda: 0.0, frozen)
