"""The which-came-first task: labels follow order, and the bag of tokens carries no signal."""

import numpy as np
import pytest

from lstm_course.tasks.order import TOKEN_A, TOKEN_B, one_hot, order_batch, window_accuracy_bound


def test_shapes_and_exactly_one_of_each_marker(rng):
    x, y = order_batch(64, 12, rng, vocab_size=6)
    assert x.shape == (12, 64) and x.dtype == np.int64
    assert y.shape == (64,) and y.dtype == np.int64
    assert ((x == TOKEN_A).sum(axis=0) == 1).all()
    assert ((x == TOKEN_B).sum(axis=0) == 1).all()
    assert x.min() >= 0 and x.max() < 6


def test_label_is_whether_a_comes_first(rng):
    x, y = order_batch(256, 9, rng)
    pos_a = np.argmax(x == TOKEN_A, axis=0)
    pos_b = np.argmax(x == TOKEN_B, axis=0)
    np.testing.assert_array_equal(y, (pos_a < pos_b).astype(np.int64))


def test_classes_are_balanced_and_positions_spread(rng):
    x, y = order_batch(20000, 10, rng)
    assert abs(y.mean() - 0.5) < 0.02
    pos_a = np.argmax(x == TOKEN_A, axis=0)
    counts = np.bincount(pos_a, minlength=10) / pos_a.size
    np.testing.assert_allclose(counts, 0.1, atol=0.015)


def test_bag_of_tokens_is_identical_across_classes(rng):
    """Swapping A and B flips the label and keeps the counts: counts alone cannot tell the classes apart."""
    x, y = order_batch(32, 8, rng)
    swapped = np.where(x == TOKEN_A, TOKEN_B, np.where(x == TOKEN_B, TOKEN_A, x))
    pos_a = np.argmax(swapped == TOKEN_A, axis=0)
    pos_b = np.argmax(swapped == TOKEN_B, axis=0)
    np.testing.assert_array_equal((pos_a < pos_b).astype(np.int64), 1 - y)
    for b in range(32):
        counts, swapped_counts = np.bincount(x[:, b], minlength=8), np.bincount(swapped[:, b], minlength=8)
        np.testing.assert_array_equal(counts, swapped_counts)


def test_window_bound_matches_a_simulated_oracle(rng):
    T, W = 10, 4
    x, y = order_batch(40000, T, rng)
    window = x[-W:]
    has_a, has_b = (window == TOKEN_A).any(axis=0), (window == TOKEN_B).any(axis=0)
    pos_a = np.argmax(window == TOKEN_A, axis=0)
    pos_b = np.argmax(window == TOKEN_B, axis=0)
    guess = rng.integers(0, 2, size=y.size)
    # the oracle: both seen -> their order; only B seen -> A was earlier; only A seen -> B was; else guess
    pred = np.where(has_a & has_b, pos_a < pos_b, np.where(has_b, 1, np.where(has_a, 0, guess)))
    assert abs((pred == y).mean() - window_accuracy_bound(T, W)) < 0.01
    assert window_accuracy_bound(T, T) == 1.0


def test_one_hot():
    out = one_hot(np.array([[0, 2], [1, 1]]), 3)
    assert out.shape == (2, 2, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out[0, 1], [0, 0, 1])
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        one_hot(np.array([3]), 3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"T": 1}, "T must"),
        ({"vocab_size": 2}, "vocab_size"),
        ({"rng": 0}, "rng"),
    ],
)
def test_bad_arguments_are_named(kwargs, match, rng):
    args = {"batch_size": 4, "T": 5, "rng": rng, "vocab_size": 8} | kwargs
    with pytest.raises((ValueError, TypeError), match=match):
        order_batch(**args)
