"""Cuisine stories: each answer is its person's cuisine, and the marked positions hold what they name."""

import numpy as np

from lstm_course.tasks.cuisine import CUISINES, DISHES, IGNORE, INDEX, VOCAB, cuisine_batch, story


def test_answers_follow_each_is_and_the_dishes_match_the_cuisines() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        s = story(rng, max_fillers=2)
        (p1, c1), (p2, c2) = sorted(s.answers.items())
        assert s.words[p1] == s.words[p2] == "is"
        assert (s.words[p1 + 1], s.words[p2 + 1]) == (CUISINES[c1], CUISINES[c2]) and c1 != c2
        assert s.cuisines == (c1, c2)
        assert (
            s.words[s.first_dish] in DISHES[CUISINES[c1]] and s.words[s.second_dish] in DISHES[CUISINES[c2]]
        )
        assert s.words[s.second_name] == s.words[p2 - 4] != s.words[0]  # "... so B 's favourite cuisine is"
        assert all(type(word) is str for word in s.words)


def test_a_batch_scores_only_the_two_answers() -> None:
    batch = cuisine_batch(16, np.random.default_rng(1))
    assert VOCAB[0] == "<pad>" and len(set(VOCAB)) == len(VOCAB)
    assert ((batch.y != IGNORE).sum(0) == 2).all()
    for b, s in enumerate(batch.stories):
        assert [VOCAB[k] for k in batch.x[: batch.lengths[b], b]] == s.words
        assert (batch.x[batch.lengths[b] :, b] == INDEX["<pad>"]).all()
