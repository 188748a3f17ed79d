"""Chapter 6's experiments, small: scoring on known answers, lengths= against running alone, sweeps run."""

import numpy as np
import pytest
import torch
from torch import nn

pytest.importorskip("faker")

from lstm_course.experiments.bidirectional import (  # noqa: E402
    TaggingConfig,
    accuracy_by_lookahead,
    accuracy_by_position,
    greedy_continuation,
    next_char_accuracy,
    padding_effect,
    random_texts,
    tagging_training,
    train_language_model,
    train_tagger,
)
from lstm_course.experiments.deep import (  # noqa: E402
    DepthConfig,
    DepthRun,
    depth_sweep,
    depth_training,
    running_sum_batch,
    summarise,
)
from lstm_course.experiments.threads import torch_threads  # noqa: E402
from lstm_course.nn import SequenceTagger  # noqa: E402
from lstm_course.tasks.tagging import CHARS, IGNORE, TAGS, VOCAB, char_batch_of, tagging_batch  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():
    with torch_threads(1):
        yield


class Answers(nn.Module):
    """A fake tagger whose logits pick ``answers`` (T, B): scoring must give exactly the share that match."""

    def __init__(self, answers: np.ndarray, classes: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))
        self.answers, self.classes = torch.as_tensor(np.maximum(answers, 0)), classes

    def forward(self, x, lengths=None):
        return nn.functional.one_hot(self.answers, self.classes).float() + 0 * self.weight


def test_accuracy_by_lookahead_on_known_answers(rng):
    batch = tagging_batch(200, rng, ambiguous_share=0.5)
    assert {k: acc for k, (acc, _) in accuracy_by_lookahead(Answers(batch.y, len(TAGS)), batch).items()} == {
        k: 1.0 for k in range(8) if (batch.lookahead == k).any()
    }
    wrong_at_ambiguous = np.where(batch.ambiguous, (batch.y + 1) % len(TAGS), batch.y)
    scores = accuracy_by_lookahead(Answers(wrong_at_ambiguous, len(TAGS)), batch)
    assert scores[0] == (1.0, int(((batch.lookahead == 0) & (batch.y != IGNORE)).sum()))
    assert all(scores[k][0] == 0.0 for k in scores if k > 0)
    accuracy, counts = accuracy_by_position(Answers(wrong_at_ambiguous, len(TAGS)), batch)
    real = batch.y != IGNORE
    assert (counts == real.sum(axis=1)).all()
    expected = 1 - (batch.ambiguous & real).sum(axis=1) / np.maximum(counts, 1)
    np.testing.assert_allclose(accuracy[counts > 0], expected[counts > 0])


def test_lengths_matches_running_alone_and_without_it_the_reverse_direction_reads_padding():
    torch.manual_seed(0)
    model = SequenceTagger("lstm", len(VOCAB), 8, len(TAGS), bidirectional=True)
    rows = padding_effect(model, np.random.default_rng(1), sentences=12, extras=(0, 6))
    assert [row.extra for row in rows] == [0, 6]
    for row in rows:
        assert row.max_change_with < 1e-5
        assert row.max_change_without > 1e-3
    # one direction only: padding comes after the words, so without lengths= the real steps' outputs match
    forward_only = SequenceTagger("lstm", len(VOCAB), 8, len(TAGS))
    for row in padding_effect(forward_only, np.random.default_rng(1), sentences=12, extras=(0, 6)):
        assert row.max_change_without < 1e-5 and row.without_lengths == row.with_lengths


def test_running_sums_are_the_cumulative_sum_mod_m(rng):
    x, y = running_sum_batch(5, 9, rng, modulus=4)
    assert x.shape == (9, 5, 4) and y.shape == (9, 5)
    digits = x.argmax(axis=-1)
    assert (y == np.cumsum(digits, axis=0) % 4).all()


def test_summarise_on_known_runs():
    runs = [DepthRun(1, s, a, 0.0, 2.0) for s, a in enumerate((1.0, 0.995, 0.5))] + [
        DepthRun(2, 0, 0.4, 0.0, 5.0)
    ]
    summary = summarise(runs)
    assert summary[1] == pytest.approx(
        {"mean": 2.495 / 3, "min": 0.5, "max": 1.0, "solved": 2, "seeds": 3, "ms/step": 2.0}
    )
    assert summary[2]["solved"] == 0 and summary[2]["seeds"] == 1


def test_the_depth_sweep_runs_small():
    runs = depth_sweep((1, 2), (0,), DepthConfig(hidden_size=4, T=5, batch_size=8), depth_training(steps=3))
    assert [(run.num_layers, run.seed) for run in runs] == [(1, 0), (2, 0)]
    assert all(0.0 <= run.accuracy <= 1.0 and run.ms_per_step > 0 for run in runs)


def test_a_short_bidirectional_tagger_learns_something():
    model, history = train_tagger(TaggingConfig(hidden_size=8, batch_size=8), tagging_training(steps=30))
    assert history.steps == 30 and np.mean(history.loss[-5:]) < np.mean(history.loss[:5])
    assert model.rnn.bidirectional


def test_the_bidirectional_char_model_copies_what_it_reads():
    # a bidirectional model that can read x[t + 1] learns to copy it quickly, even on random characters
    model, _ = train_language_model(
        TaggingConfig(hidden_size=16, batch_size=16), tagging_training(steps=60, lr=2e-2)
    )
    noise = char_batch_of(random_texts(50, 20, np.random.default_rng(0)))
    assert next_char_accuracy(model, noise) > 3 / (len(CHARS) - 1)
    continuation = greedy_continuation(model, "john", 5)
    assert len(continuation) == 5 and set(continuation) <= set(CHARS[1:])
