"""Shared pytest configuration. Subfolders mirror lstm_course/ and hold their own fixtures."""

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh, seeded generator per test: failures reproduce."""
    return np.random.default_rng(12345)
