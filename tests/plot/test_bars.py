"""plot_scores: one bar per model, reference lines, clear errors."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lstm_course.plot.bars import plot_scores  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_bars_and_references():
    ax = plot_scores({"a": 0.5, "b": 0.9}, references={"chance": 0.5, "bound": 0.7})
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights, [0.5, 0.9])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    assert [line.get_label() for line in ax.get_lines()] == ["chance", "bound"]


@pytest.mark.parametrize("scores", [{}, {"a": float("nan")}])
def test_bad_scores(scores):
    with pytest.raises(ValueError, match="scores"):
        plot_scores(scores)
