"""Chapter 7's experiment helpers: decoder inputs, a short run, decoding, exposure bias, length bins."""

import numpy as np
import pytest
import torch

pytest.importorskip("babel")

from lstm_course.experiments.seq2seq_dates import (  # noqa: E402
    MAX_OUTPUT,
    Seq2SeqDatesConfig,
    accuracy_by_length,
    date_data,
    dates_training,
    decoder_inputs,
    position_accuracy,
    predict,
    random_batches,
    source_lengths,
    train_dates_model,
)
from lstm_course.tasks.dates import DatePair, DatesConfig, Vocab  # noqa: E402

SMALL = DatesConfig(n_train=300, n_valid=10, n_test=40, n_long=10, seed=1)


@pytest.fixture(scope="module")
def data():
    return date_data(SMALL)


def test_decoder_inputs_shift_the_targets_right_behind_bos():
    tgt_out = torch.tensor([[5, 6], [7, Vocab.EOS], [Vocab.EOS, Vocab.PAD]])  # (T, B)
    expected = torch.tensor([[Vocab.BOS, Vocab.BOS], [5, 6], [7, Vocab.PAD]])
    assert torch.equal(decoder_inputs(tgt_out), expected)


def test_source_lengths_count_the_real_characters():
    src = torch.tensor([[4, 5], [6, Vocab.PAD], [7, Vocab.PAD]])
    assert source_lengths(src).tolist() == [3, 1]


def test_random_batches_are_seeded_and_trimmed(data):
    config = Seq2SeqDatesConfig(batch_size=8)
    batch = random_batches(data.splits.train, data, config)
    src, tgt_out = batch(np.random.default_rng(0))
    again, _ = batch(np.random.default_rng(0))
    assert torch.equal(src, again)
    assert src.shape[1] == tgt_out.shape[1] == 8 and tgt_out.shape[0] == MAX_OUTPUT
    assert int(source_lengths(src).max()) == src.shape[0]  # no all-PAD row at the end


def test_a_short_run_trains_and_everything_decodes(data):
    config = Seq2SeqDatesConfig(hidden_size=8, embedding_dim=4, batch_size=16, reverse_source=True)
    model, history = train_dates_model(config, data, dates_training(steps=30, lr=1e-2))
    assert history.steps == 30 and np.mean(history.loss[-5:]) < history.loss[0]
    greedy = predict(model, data.splits.test, data, reverse_source=True)
    beam = predict(model, data.splits.test, data, reverse_source=True, beam_size=3)
    assert len(greedy) == len(beam) == len(data.splits.test)
    assert all(set(text) <= set("-0123456789") for text in greedy + beam)
    positions = position_accuracy(model, data.splits.test, data, reverse_source=True)
    assert positions.teacher_forced.shape == positions.free_running.shape == (MAX_OUTPUT,)
    assert positions.free_running[0] == positions.teacher_forced[0]  # the first input is BOS either way
    assert np.all(positions.after_error_count <= len(data.splits.test))


def test_accuracy_by_length_bins():
    pairs = [DatePair("x" * n, "t", "l", "p") for n in (6, 7, 9, 12)]
    rows = accuracy_by_length(["t", "no", "t", "t"], pairs, [6, 9, 12, 15])
    assert [(row.low, row.high, row.exact, row.pairs) for row in rows] == [(6, 8, 0.5, 2), (9, 11, 1.0, 1),
                                                                           (12, 14, 1.0, 1)]  # fmt: skip
    with pytest.raises(ValueError, match="edges"):
        accuracy_by_length(["t"], pairs[:1], [6, 6])


def test_config_bad_fields_are_named():
    with pytest.raises(ValueError, match="hidden_size"):
        Seq2SeqDatesConfig(hidden_size=0)
    with pytest.raises(TypeError, match="reverse_source"):
        Seq2SeqDatesConfig(reverse_source=1)
