"""Chapters 1 and 2's experiments, run small: they return what the chapters plot, and the claims hold."""

import math

import numpy as np
import pytest
import torch

from lstm_course.experiments import char_lm as char_lm_module
from lstm_course.experiments import order_matters
from lstm_course.experiments.char_lm import CharLMConfig, char_lm_training, run_char_lm
from lstm_course.experiments.order_matters import (
    OneHotRNN,
    OrderConfig,
    accuracy,
    order_training,
    run_order_matters,
)
from lstm_course.experiments.threads import torch_threads
from lstm_course.tasks.order import TOKEN_A, TOKEN_B, order_batch


@pytest.fixture(scope="module")
def order():
    return run_order_matters(
        OrderConfig(T=8, window=3, hidden_size=16, test_size=1000), order_training(steps=150)
    )


def test_order_result_has_every_model(order):
    assert set(order.accuracy) == {"bag of tokens", "last 3 tokens", "all 8 tokens", "RNN"}
    assert all(len(v) == 150 for v in order.losses.values())
    assert all(np.isfinite(v).all() for v in order.losses.values())


def test_bag_of_tokens_is_at_chance(order):
    # the two classes have the same counts: no amount of training helps
    assert abs(order.accuracy["bag of tokens"] - 0.5) < 0.06


def test_window_model_cannot_beat_its_bound(order):
    assert order.accuracy["last 3 tokens"] <= order.window_bound + 0.04


def test_rnn_learns_order(order):
    assert order.accuracy["RNN"] > 0.9


class _ByRule(torch.nn.Module):
    """Answers which-came-first by rule: logits (B, 2) for tokens (T, B); ``wrong`` answers the opposite."""

    def __init__(self, wrong: bool = False) -> None:
        super().__init__()
        self.wrong = wrong
        self.unused = torch.nn.Parameter(torch.zeros(()))  # accuracy() reads the device from a parameter

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        a_first = (tokens == TOKEN_A).int().argmax(dim=0) < (tokens == TOKEN_B).int().argmax(dim=0)  # (B,)
        label = a_first.long() ^ int(self.wrong)
        return torch.nn.functional.one_hot(label, 2).float()


def test_accuracy_has_known_answers():
    x, y = order_batch(500, 12, np.random.default_rng(0))
    assert accuracy(_ByRule(), x, y) == 1.0
    assert accuracy(_ByRule(wrong=True), x, y) == 0.0
    half_wrong = np.where(np.arange(500) < 100, 1 - y, y)  # the first 100 labels flipped
    assert accuracy(_ByRule(), x, half_wrong) == pytest.approx(0.8)


def test_rnn_accuracy_2T_scores_the_rnn_on_sequences_twice_as_long(monkeypatch):
    calls = []

    def recording_accuracy(model, x, y):
        calls.append((type(model), x.shape, len(calls) / 10))
        return calls[-1][2]  # a distinct, known answer per call

    monkeypatch.setattr(order_matters, "accuracy", recording_accuracy)
    result = run_order_matters(
        OrderConfig(T=6, window=2, hidden_size=4, test_size=7), order_training(steps=1)
    )
    model_type, shape, answer = calls[-1]
    assert model_type is OneHotRNN and shape == (12, 7)
    assert result.rnn_accuracy_2T == answer
    assert [shape for _, shape, _ in calls[:-1]] == [(6, 7)] * 4
    assert result.accuracy["RNN"] == calls[3][2]


def test_order_bad_window():
    with pytest.raises(ValueError, match="window"):
        run_order_matters(OrderConfig(T=5, window=6), order_training(steps=1))


TEXT = "the cat sat on the mat. " * 200


@pytest.fixture(scope="module")
def char_lm():
    config = CharLMConfig(
        hidden_size=32,
        T=16,
        batch_size=16,
        sample_length=40,
        prompt="the ",
        contexts=(1, 4, 8),
        context_samples=200,
    )
    return run_char_lm(config, char_lm_training(steps=120, lr=1e-2), text=TEXT)


def test_char_lm_learns_below_the_unigram_loss(char_lm):
    assert len(char_lm.losses) == 120
    assert char_lm.uniform_loss == pytest.approx(math.log(char_lm.vocab_size))
    assert char_lm.val_loss_before > char_lm.unigram_loss
    assert char_lm.val_loss_after < char_lm.unigram_loss


def test_char_lm_context_helps(char_lm):
    losses = char_lm.loss_by_context
    assert list(losses) == [1, 4, 8]
    assert losses[8] < losses[1]


def _share_of_trigrams_in_text(sample: str) -> float:
    grams = [sample[k : k + 3] for k in range(len(sample) - 2)]
    return sum(gram in TEXT for gram in grams) / len(grams)


def test_char_lm_samples(char_lm):
    assert len(char_lm.sample_before) == len(char_lm.sample_after) == 40
    # the text is one sentence repeated: the trained model continues the prompt with it, word for word
    assert char_lm.prompt + char_lm.sample_after in TEXT
    # before training the model draws characters almost at random: few of its trigrams occur in the text
    assert _share_of_trigrams_in_text(char_lm.prompt + char_lm.sample_before) < 0.5


def test_char_lm_trains_the_configured_cell(monkeypatch):
    # chapter 2 draws an RNN and an LSTM on one context plot: the config's cell must be the model's cell
    built = []

    class RecordingCharLM(char_lm_module.CharLM):
        def __init__(self, *args, cell="rnn", **kwargs):
            built.append(cell)
            super().__init__(*args, cell=cell, **kwargs)

    monkeypatch.setattr(char_lm_module, "CharLM", RecordingCharLM)
    config = CharLMConfig(
        cell="lstm", hidden_size=8, T=8, batch_size=4, sample_length=5, prompt="the ", contexts=(1, 2)
    )
    result = run_char_lm(config, char_lm_training(steps=2), text=TEXT)
    assert built == ["lstm"] and result.cell == "lstm"


def test_char_lm_lstm_learns_and_uses_context():
    config = CharLMConfig(
        cell="lstm",
        hidden_size=32,
        T=16,
        batch_size=16,
        sample_length=40,
        prompt="the ",
        contexts=(1, 4, 8),
        context_samples=200,
    )
    lstm = run_char_lm(config, char_lm_training(steps=120, lr=1e-2), text=TEXT)
    assert lstm.val_loss_after < lstm.unigram_loss
    assert lstm.loss_by_context[8] < lstm.loss_by_context[1]


def test_char_lm_bad_arguments():
    with pytest.raises(ValueError, match="val_fraction"):
        run_char_lm(CharLMConfig(val_fraction=1.0), char_lm_training(steps=1), text=TEXT)
    with pytest.raises(ValueError, match="too short"):
        run_char_lm(CharLMConfig(T=16), char_lm_training(steps=1), text="abc" * 10)


def test_torch_threads_restores_the_count():
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="threads"):
        with torch_threads(0):
            pass
