"""Chapter 8's experiments, small: decoding with and without the mask, alignments, saturation, MHA parity."""

import math

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")

from lstm_course.experiments import attention_bridge  # noqa: E402
from lstm_course.experiments.attention_bridge import (  # noqa: E402
    mha_parity,
    multi_head_self_attention,
    softmax_saturation,
)
from lstm_course.experiments.attention_dates import alignment, greedy_decode, padding_effect  # noqa: E402
from lstm_course.experiments.seq2seq_dates import MAX_OUTPUT, Seq2SeqDatesConfig, date_data, new_model  # noqa: E402
from lstm_course.experiments.threads import torch_threads  # noqa: E402
from lstm_course.plot.attention import plot_accuracy_by_length, plot_alignment  # noqa: E402
from lstm_course.tasks.dates import DatesConfig, Vocab, encode_batch  # noqa: E402


@pytest.fixture(scope="module")
def data():
    return date_data(DatesConfig(n_train=200, n_valid=20, n_test=40, n_long=20))


@pytest.fixture(scope="module")
def model(data):
    torch.manual_seed(0)
    return new_model(Seq2SeqDatesConfig(attention="additive", hidden_size=8, embedding_dim=4), data)


def test_greedy_decode_with_the_mask_is_the_models_own(data, model) -> None:
    batch = encode_batch(data.splits.test, data.src_vocab, data.tgt_vocab)
    tokens, weights = greedy_decode(model, batch.src, batch.src_lengths)
    with torch_threads(1):
        expected, expected_weights = model.greedy_decode(
            batch.src, MAX_OUTPUT, Vocab.BOS, None, batch.src_lengths
        )
    assert torch.equal(tokens, expected)
    torch.testing.assert_close(weights, expected_weights)
    padded = torch.arange(batch.src.shape[0])[None, :] >= batch.src_lengths[:, None]
    assert float((weights * padded[:, None, :]).abs().max()) == 0.0


def test_without_the_mask_weight_lands_on_padding(data, model) -> None:
    batch = encode_batch(data.splits.test, data.src_vocab, data.tgt_vocab)
    _, weights = greedy_decode(model, batch.src, batch.src_lengths, mask_padding=False)
    padded = torch.arange(batch.src.shape[0])[None, :] >= batch.src_lengths[:, None]
    assert float((weights * padded[:, None, :]).sum(-1).max()) > 0.01


def test_padding_effect_leaves_the_masked_model_unchanged(data, model) -> None:
    rows = padding_effect(model, data.splits.test, data, extras=(0, 5))
    assert [r.extra for r in rows] == [0, 5]
    assert rows[0].masked == rows[1].masked
    assert rows[1].weight_on_padding > rows[0].weight_on_padding
    with pytest.raises(ValueError, match="extras"):
        padding_effect(model, data.splits.test, data, extras=(-1,))


def test_alignment_rows_are_the_output_and_sum_to_one(data, model) -> None:
    pair = data.splits.test[0]
    found = alignment(model, pair, data)
    assert found.weights.shape == (len(found.output), len(pair.source))
    np.testing.assert_allclose(found.weights.sum(axis=1), 1.0, atol=1e-5)


def test_a_model_without_attention_is_refused(data) -> None:
    plain = new_model(Seq2SeqDatesConfig(attention=None, hidden_size=8, embedding_dim=4), data)
    with pytest.raises(ValueError, match="model must be a Seq2Seq with attention"):
        alignment(plain, data.splits.test[0], data)


def test_softmax_saturation_grows_unscaled_and_stays_flat_scaled() -> None:
    rows = softmax_saturation([4, 64, 1024], np.random.default_rng(0), queries=200)
    assert [r.d for r in rows] == [4, 64, 1024]
    assert rows[0].max_weight < rows[1].max_weight < rows[2].max_weight
    assert abs(rows[2].score_std - math.sqrt(1024)) < 3
    assert max(r.max_weight_scaled for r in rows) - min(r.max_weight_scaled for r in rows) < 0.05
    assert rows[2].gradient < rows[0].gradient / 4
    with pytest.raises(ValueError, match="dims"):
        softmax_saturation([0], np.random.default_rng(0))


def test_multi_head_self_attention_matches_torch() -> None:
    assert max(mha_parity(seed=1).values()) < 1e-12


def test_mha_parity_sees_a_wrong_function(monkeypatch: pytest.MonkeyPatch) -> None:
    """The parity test can fail: one head's worth of scale changed, and the outputs differ."""
    original = attention_bridge.multi_head_self_attention

    def heads_ignored(x, *args, heads, **kwargs):
        return original(x, *args, heads=1, **kwargs)  # one head of size D: scale 1/sqrt(D), one softmax

    monkeypatch.setattr(attention_bridge, "multi_head_self_attention", heads_ignored)
    assert mha_parity(seed=1)["output"] > 1e-3


def test_multi_head_self_attention_refuses_heads_that_do_not_divide() -> None:
    x = torch.zeros(1, 2, 6)
    with pytest.raises(ValueError, match="heads"):
        multi_head_self_attention(
            x, torch.zeros(18, 6), torch.zeros(18), torch.zeros(6, 6), torch.zeros(6), 4
        )


def test_plots_draw_and_refuse_bad_shapes(data, model) -> None:
    found = alignment(model, data.splits.test[0], data)
    ax = plot_alignment(found.weights, found.source, found.output)
    assert len(ax.images) == 1
    with pytest.raises(ValueError, match="weights must have shape"):
        plot_alignment(np.zeros((2, 2)), "abc", "x")
    row = type("Row", (), {"low": 6, "high": 11, "exact": 0.5})
    ax = plot_accuracy_by_length({"a": [row], "b": [row]})
    assert len(ax.lines) == 2
    with pytest.raises(ValueError, match="curves"):
        plot_accuracy_by_length({})


# The multi-date task of the chapter's length comparison.
from lstm_course.experiments.attention_dates import (  # noqa: E402
    accuracy_by_count,
    multi_date_data,
    output_steps,
    predict_dates,
)
from lstm_course.tasks.dates import DatePair  # noqa: E402

MULTI_SMALL = DatesConfig(
    n_train=100, n_valid=5, n_test=30, n_long=0, long_min_chars=1000, max_dates=2, seed=1, locales=("en_GB",)
)


def test_multi_date_data_has_the_space_in_the_target_vocab() -> None:
    multi = multi_date_data(MULTI_SMALL)
    assert " " in multi.tgt_vocab.chars.chars and len(multi.splits.long) == 0
    assert output_steps(multi.splits.test) == 22
    with pytest.raises(TypeError, match="dates"):
        multi_date_data("dates")


def test_predict_dates_decodes_both_kinds_for_two_dates() -> None:
    multi = multi_date_data(MULTI_SMALL)
    for attention in (None, "additive"):
        torch.manual_seed(0)
        model = new_model(Seq2SeqDatesConfig(attention=attention, hidden_size=8, embedding_dim=4), multi)
        outputs = predict_dates(model, multi.splits.test, multi)
        assert len(outputs) == len(multi.splits.test) and all(len(o) <= 22 for o in outputs)
    found = alignment(model, next(p for p in multi.splits.test if " " in p.target), multi)
    assert found.weights.shape[0] == len(found.output)


def test_accuracy_by_count_scores_each_date_at_its_place() -> None:
    pairs = [
        DatePair("a", "2026-09-29", "l", "p"),
        DatePair("b; c", "2026-09-29 1950-01-01", "l; l", "p; p"),
        DatePair("d; e", "2026-09-30 1950-01-02", "l; l", "p; p"),
    ]
    rows = accuracy_by_count(["2026-09-29", "2026-09-29 1950-01-02", "1950-01-02"], pairs)
    assert [(r.dates, r.exact, r.per_date, r.pairs) for r in rows] == [(1, 1.0, 1.0, 1), (2, 0.0, 0.25, 2)]
    with pytest.raises(ValueError, match="equally long"):
        accuracy_by_count(["x"], pairs)
