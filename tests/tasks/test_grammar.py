"""The grammar stories: agreement targets follow the current subject, lags are honest, batches pad cleanly."""

import numpy as np
import pytest

from lstm_course.tasks.grammar import (
    IGNORE,
    PAD,
    PRONOUN,
    VERB,
    VOCAB,
    WORD_INDEX,
    encode,
    grammar_batch,
    story,
)


def test_every_target_agrees_with_the_current_subject(rng):
    for _ in range(200):
        s = story(rng, max_phrases=4)
        scored = np.flatnonzero(s.targets != IGNORE)
        assert len(scored) == 4  # verb, verb, pronoun, verb
        for t in scored:
            kind, target = s.subjects[t], VOCAB[s.targets[t]]
            assert target in (VERB[kind], PRONOUN[kind])
            assert s.words[t + 1] == target  # the target is the next word


def test_the_pronoun_refers_to_the_second_subject(rng):
    for _ in range(100):
        s = story(rng)
        first, second, third = s.starts
        assert s.words[third] in PRONOUN.values()
        assert s.subjects[second] == s.subjects[third]
        assert s.words[third - 1] == "."


def test_lag_is_the_distance_from_the_subject_word(rng):
    for _ in range(100):
        s = story(rng, min_phrases=2, max_phrases=2)
        first_verb = np.flatnonzero(s.targets != IGNORE)[0]
        subject_word = s.starts[0] + (1 if s.words[s.starts[0]] == "the" else 0)  # "dogs" in "the dogs"
        assert s.lags[first_verb] == first_verb - subject_word
        assert s.lags[first_verb] == 6  # two phrases of three words


def test_phrase_count_sets_the_lag_range(rng):
    short = [story(rng, max_phrases=0).lags for _ in range(50)]
    long_ = [story(rng, min_phrases=5, max_phrases=5).lags for _ in range(50)]
    # longest with no phrases: second subject, ", on the other hand ," (6), verb, adjective, "."
    assert max(lag.max() for lag in short) == 9
    assert min(lag[lag >= 15].size for lag in long_) >= 1


def test_batch_shapes_padding_and_one_hot(rng):
    b = grammar_batch(8, rng, max_phrases=3)
    T = int(b.lengths.max())
    assert b.x.shape == (T, 8, len(VOCAB)) and b.x.dtype == np.float32
    assert b.y.shape == b.lags.shape == (T, 8) and b.y.dtype == np.int64
    np.testing.assert_array_equal(b.x.sum(axis=-1), 1.0)
    for k, n in enumerate(b.lengths):
        assert (b.x[n:, k].argmax(-1) == WORD_INDEX[PAD]).all()
        assert (b.y[n:, k] == IGNORE).all()
    assert ((b.y == IGNORE) == (b.lags == -1)).all()


def test_same_seed_same_batch():
    a = grammar_batch(4, np.random.default_rng(1))
    b = grammar_batch(4, np.random.default_rng(1))
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)


def test_encode_round_trips_and_rejects_unknown_words():
    words = "alice is kind .".split()
    assert [VOCAB[i] for i in encode(words).argmax(-1)] == words
    with pytest.raises(ValueError, match="VOCAB"):
        encode(["alice", "sings"])


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"min_phrases": 3, "max_phrases": 1}, ValueError),
        ({"min_phrases": -1}, ValueError),
        ({"max_phrases": 2.5}, TypeError),
    ],
)
def test_bad_phrase_ranges(rng, kwargs, error):
    with pytest.raises(error, match="phrases"):
        story(rng, **kwargs)


def test_bad_rng_and_batch_size(rng):
    with pytest.raises(TypeError, match="rng"):
        story(np.random.RandomState(0))
    with pytest.raises(ValueError, match="batch_size"):
        grammar_batch(0, rng)
