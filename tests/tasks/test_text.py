"""The offline text corpus, its vocabulary and next-character batches."""

import numpy as np
import pytest

from lstm_course.tasks.text import CharVocab, char_lm_batch, pydoc_text, unigram_entropy


def test_pydoc_text_is_large_and_offline():
    text = pydoc_text()
    assert len(text) > 100_000
    assert "def" in text and "class" in text


def test_vocab_round_trip():
    vocab = CharVocab.from_text("hello world")
    assert vocab.chars == " dehlorw"
    assert len(vocab) == 8
    ids = vocab.encode("hello")
    assert ids.dtype == np.int64
    assert vocab.decode(ids) == "hello"
    with pytest.raises(KeyError, match="'z'"):
        vocab.encode("z")
    with pytest.raises(ValueError, match="indices"):
        vocab.decode([8])


def test_batch_targets_are_inputs_shifted_by_one(rng):
    data = np.arange(100, dtype=np.int64)
    x, y = char_lm_batch(data, 5, 7, rng)
    assert x.shape == y.shape == (7, 5)
    np.testing.assert_array_equal(y, x + 1)
    np.testing.assert_array_equal(x[1:], x[:-1] + 1)  # contiguous windows


def test_batch_bad_input(rng):
    with pytest.raises(ValueError, match="1-D integer"):
        char_lm_batch(np.zeros(10), 2, 3, rng)
    with pytest.raises(ValueError, match="T must"):
        char_lm_batch(np.arange(10), 2, 10, rng)
    with pytest.raises(TypeError, match="rng"):
        char_lm_batch(np.arange(10), 2, 3, 1)


def test_unigram_entropy():
    assert unigram_entropy(np.array([0, 0, 0]), 3) == pytest.approx(0.0)
    assert unigram_entropy(np.array([0, 1, 2, 3]), 4) == pytest.approx(np.log(4))
