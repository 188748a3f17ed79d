"""The copy task: symbols first, go at the end of the delay, targets the same symbols in order."""

import numpy as np
import pytest

from lstm_course.tasks.copy import IGNORE, copy_batch


def test_the_targets_are_the_symbols_read_in_order() -> None:
    x, y = copy_batch(4, 3, 5, np.random.default_rng(0), symbols=6)
    assert x.shape == (11, 4, 8) and y.shape == (11, 4)
    channel = x.argmax(-1)
    np.testing.assert_array_equal(y[-3:], channel[:3])
    assert (channel[3:7] == 6).all() and (channel[7] == 7).all() and (channel[8:] == 6).all()
    assert (y[:-3] == IGNORE).all() and (x.sum(-1) == 1).all()


def test_sizes_are_checked() -> None:
    with pytest.raises(ValueError, match="delay"):
        copy_batch(2, 3, 0, np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng"):
        copy_batch(2, 3, 1, 0)
