"""Fixtures for the reference tests: a gradient checker.

The tests run every cell through the registry, ``lstm_course.reference.cells``, and parametrize over it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from lstm_course import reference as ref


def _check_gradients(loss: Callable[[], float], pairs: dict[str, tuple[np.ndarray, np.ndarray]], tol=1e-6):
    """For each name: (array the loss reads, its analytic gradient); central differences must agree."""
    for name, (array, analytic) in pairs.items():
        assert analytic.shape == array.shape, f"{name}: gradient shape {analytic.shape} != {array.shape}"
        numeric = ref.numerical_gradient(loss, array)
        error = ref.relative_error(analytic, numeric)
        assert error < tol, f"{name}: relative error {error:.2e} >= {tol:.0e}"
        assert np.abs(numeric).max() > 0, f"{name}: the numerical gradient is zero, the check proves nothing"


@pytest.fixture
def check_gradients() -> Callable:
    """check_gradients(loss, {name: (array, analytic gradient)}): relative error < 1e-6 in float64."""
    return _check_gradients
