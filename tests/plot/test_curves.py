"""plot_learning_curves draws what it is given and rejects what it cannot draw."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lstm_course.plot.curves import moving_average, plot_learning_curves  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_one_line_per_curve_plus_baseline():
    curves = {"a": [3.0, 2.0, 1.0], "b": np.array([2.0, 2.0])}
    ax = plot_learning_curves(curves, baseline=1.5, baseline_label="mean")
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["a", "b", "mean"]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [3.0, 2.0, 1.0])
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), [1, 2, 3])


def test_draws_on_the_given_axes_and_log_scale():
    _, ax = plt.subplots()
    out = plot_learning_curves({"a": [1.0, 0.1]}, ax=ax, logy=True)
    assert out is ax
    assert ax.get_yscale() == "log"


def test_smoothing_is_a_trailing_mean():
    np.testing.assert_allclose(moving_average([1.0, 3.0, 5.0, 7.0], 2), [1.0, 2.0, 4.0, 6.0])
    ax = plot_learning_curves({"a": [1.0, 3.0, 5.0, 7.0]}, smooth=2)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [1.0, 2.0, 4.0, 6.0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"curves": {}}, "non-empty"),
        ({"curves": {"a": [1.0]}, "smooth": 0}, "smooth"),
        ({"curves": {"a": [1.0, 0.0]}, "logy": True}, "log"),
        ({"curves": {"a": [[1.0, 2.0]]}}, "one-dimensional"),
    ],
)
def test_bad_input_is_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_learning_curves(**kwargs)
