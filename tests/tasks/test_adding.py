"""The adding problem: shapes, the two markers, the target and the 1/6 baseline."""

import numpy as np
import pytest

from lstm_course.tasks import ADDING_BASELINE_MSE, adding_batch


@pytest.mark.parametrize("T", [2, 3, 50, 101])
def test_shapes_markers_and_targets(rng, T):
    x, y = adding_batch(7, T, rng)
    assert x.shape == (T, 7, 2) and y.shape == (7, 1)
    assert x.dtype == np.float32 and y.dtype == np.float32
    markers = x[:, :, 1]
    np.testing.assert_array_equal(markers.sum(axis=0), 2.0)
    half = T // 2
    np.testing.assert_array_equal(markers[:half].sum(axis=0), 1.0)  # one marker in each half
    np.testing.assert_allclose(y[:, 0], (x[:, :, 0] * markers).sum(axis=0), rtol=1e-6)


def test_predicting_the_mean_scores_the_baseline(rng):
    _, y = adding_batch(200_000, 10, rng, dtype=np.float64)
    assert abs(np.mean((y - 1.0) ** 2) - ADDING_BASELINE_MSE) < 2e-3


def test_same_seed_same_batch():
    a = adding_batch(4, 20, np.random.default_rng(3))
    b = adding_batch(4, 20, np.random.default_rng(3))
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"T": 1}, ValueError, "T must be"),
        ({"rng": 0}, TypeError, "rng must be a numpy.random.Generator"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, error, match):
    args = {"batch_size": 2, "T": 10, "rng": np.random.default_rng(0)} | kwargs
    with pytest.raises(error, match=match):
        adding_batch(**args)
