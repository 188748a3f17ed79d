"""plot_loss_by_context: sorted context lengths on a log-2 axis."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lstm_course.plot.context import plot_loss_by_context  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_curve_is_sorted_with_references():
    ax = plot_loss_by_context({4: 2.0, 1: 3.0, 2: 2.5}, references={"unigram": 3.2}, label="RNN")
    line = ax.get_lines()[0]
    np.testing.assert_array_equal(line.get_xdata(), [1, 2, 4])
    np.testing.assert_allclose(line.get_ydata(), [3.0, 2.5, 2.0])
    assert ax.get_xscale() == "log"
    assert ax.get_lines()[1].get_label() == "unigram"


@pytest.mark.parametrize("losses", [{}, {0: 1.0}])
def test_bad_input(losses):
    with pytest.raises(ValueError):
        plot_loss_by_context(losses)
