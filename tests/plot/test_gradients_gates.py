"""The gradient and gate figures draw what they are given and reject what they cannot draw."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import SymLogNorm  # noqa: E402

from lstm_course.plot.gates import plot_gate_heatmap, plot_gate_histogram  # noqa: E402
from lstm_course.plot.gradients import plot_gradient_norms, plot_run_traces  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_gradient_norms_one_log_line_per_label_dropping_zeros():
    lags = np.arange(4)
    ax = plot_gradient_norms(lags, {"a": [1.0, 0.1, 0.0, 1e-3], "b": [1.0, 2.0, 4.0, 8.0]})
    assert ax.get_yscale() == "log"
    a, b = ax.get_lines()
    assert a.get_label() == "a" and b.get_label() == "b"
    np.testing.assert_array_equal(a.get_xdata(), [0, 1, 3])  # the zero is left out
    np.testing.assert_allclose(b.get_ydata(), [1, 2, 4, 8])


def test_gradient_norms_reject_bad_input():
    with pytest.raises(ValueError, match="non-empty"):
        plot_gradient_norms([0, 1], {})
    with pytest.raises(ValueError, match="shape"):
        plot_gradient_norms([0, 1, 2], {"a": [1.0, 2.0]})


def test_run_traces_mark_a_nonfinite_end():
    _, ax = plt.subplots()
    plot_run_traces({"blew up": [1.0, 10.0, np.inf], "fine": [1.0, 0.5, 0.2]}, ax, ylabel="loss")
    lines = ax.get_lines()
    assert [line.get_label() for line in lines if line.get_marker() != "x"] == ["blew up", "fine"]
    markers = [line for line in lines if line.get_marker() == "x"]
    assert len(markers) == 1
    np.testing.assert_allclose(markers[0].get_xdata(), [2])  # the last finite step
    np.testing.assert_allclose(markers[0].get_ydata(), [10.0])
    assert any("non-finite at step 3" in t.get_text() for t in ax.texts)


def test_run_traces_linear_scale_and_errors():
    ax = plot_run_traces({"a": [-1.0, 0.0, 1.0]}, logy=False)
    assert ax.get_yscale() == "linear" and len(ax.get_lines()[0].get_xdata()) == 3
    with pytest.raises(ValueError, match="non-empty"):
        plot_run_traces({})


def test_gate_heatmap_rows_are_units_and_columns_words():
    values = np.linspace(0, 1, 12).reshape(4, 3)  # (T=4, K=3)
    ax = plot_gate_heatmap(values, ["a", "b", "c", "d"], units=[7, 2, 5], title="f")
    image = ax.get_images()[0]
    np.testing.assert_allclose(image.get_array(), values.T)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c", "d"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["7", "2", "5"]
    assert ax.get_title() == "f"


def test_gate_heatmap_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="len\\(words\\)"):
        plot_gate_heatmap(np.zeros((3, 2)), ["a", "b"])
    with pytest.raises(ValueError, match="units"):
        plot_gate_heatmap(np.zeros((2, 2)), ["a", "b"], units=[1])


def test_gate_histogram_shares_sum_to_one():
    ax = plot_gate_histogram({"f": np.array([0.05, 0.5, 0.95, 0.97]), "i": np.full(10, 0.5)}, bins=10)
    stairs = {patch.get_label(): patch.get_data() for patch in ax.patches if patch.get_label() in ("f", "i")}
    f_shares, edges, _ = stairs["f"]
    np.testing.assert_allclose(edges, np.linspace(0, 1, 11))
    np.testing.assert_allclose(f_shares, [0.25, 0, 0, 0, 0, 0.25, 0, 0, 0, 0.5])
    assert stairs["i"][0].sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        plot_gate_histogram({"g": np.array([-0.5, 0.5])})
    with pytest.raises(ValueError, match="non-empty"):
        plot_gate_histogram({})


def test_gate_heatmap_symlog_scale_spans_orders_of_magnitude():
    values = np.array([[-30.0, 0.1], [3.0, 0.0]])
    ax = plot_gate_heatmap(values, ["a", "b"], vmin=-30, vmax=30, cmap="RdBu_r", symlog=1.0)
    norm = ax.images[0].norm
    assert isinstance(norm, SymLogNorm) and (norm.vmin, norm.vmax) == (-30, 30)
    assert norm(3.0) - norm(0.0) > 0.5 * (norm(30.0) - norm(3.0))  # 0..3 gets a visible share of the colours
    with pytest.raises(ValueError, match="symlog"):
        plot_gate_heatmap(values, ["a", "b"], symlog=0.0)
