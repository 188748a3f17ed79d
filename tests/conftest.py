"""Shared pytest configuration. Subfolders mirror lstm_course/ and hold their own fixtures."""

from pathlib import Path

import numpy as np
import pytest

EXERCISES = Path(__file__).resolve().parent / "exercises"
# pytest-timeout's limit for each exercise test: building and executing the notebooks (a session fixture whose
# time counts against the first test that uses it) plus nbval's own total timeout of 600 s
EXERCISE_TIMEOUT_S = 1800


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The exercise tests get EXERCISE_TIMEOUT_S instead of pyproject's global ``timeout``."""
    for item in items:
        if item.path.is_relative_to(EXERCISES) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(EXERCISE_TIMEOUT_S))


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh, seeded generator per test: failures reproduce."""
    return np.random.default_rng(12345)
