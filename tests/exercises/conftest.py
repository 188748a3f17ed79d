"""Fixtures for the exercise tests: the notebooks built once per session from their sources."""

from pathlib import Path

import pytest

from lstm_course.grading import notebooks

ROOT = Path(__file__).resolve().parents[2]
EXERCISES = ROOT / "exercises"


@pytest.fixture(scope="session")
def exercises_dir() -> Path:
    return EXERCISES


@pytest.fixture(scope="session")
def built() -> dict[str, notebooks.Built]:
    """Every exercise built from its source: the solution executed (nbclient), the student notebook made."""
    return {path.stem: notebooks.build_one(path) for path in notebooks.sources(EXERCISES)}
