"""aⁿbⁿ: a's then b's, the last b marked, everything else not scored."""

import numpy as np
import pytest

from lstm_course.tasks.anbn import IGNORE, anbn_batch, random_ns


def test_strings_targets_and_padding() -> None:
    x, y = anbn_batch(np.array([1, 3]))
    assert x.shape == (6, 2, 2) and y.shape == (6, 2)
    assert x[:, 0].tolist() == [[1, 0], [0, 1], [0, 0], [0, 0], [0, 0], [0, 0]]
    assert x[:, 1].tolist() == [[1, 0]] * 3 + [[0, 1]] * 3
    assert y[:, 0].tolist() == [IGNORE, 1, IGNORE, IGNORE, IGNORE, IGNORE]
    assert y[:, 1].tolist() == [IGNORE] * 3 + [0, 0, 1]


def test_random_ns_cover_the_range_and_bad_ns_are_refused() -> None:
    ns = random_ns(2000, 5, np.random.default_rng(0))
    assert set(ns.tolist()) == {1, 2, 3, 4, 5}
    with pytest.raises(ValueError, match="ns"):
        anbn_batch(np.array([0, 2]))
