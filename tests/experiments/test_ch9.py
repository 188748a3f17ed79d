"""Chapter 9's experiments, small: scoring on known answers, the models' shapes, and each run end to end."""

import numpy as np
import pytest
import torch

from lstm_course.experiments.applications_captions import (
    CaptionConfig,
    DigitCaptioner,
    caption_training,
    patches,
    run_captions,
    scores,
    up_to_eos,
)
from lstm_course.experiments.applications_forecast import (
    ForecastConfig,
    forecast_training,
    linear_forecast,
    linear_forecaster,
    run_forecast,
)
from lstm_course.experiments.applications_generation import (
    GenerationConfig,
    generation_training,
    run_generation,
    temperature_rows,
)
from lstm_course.experiments.applications_surnames import (
    SurnameConfig,
    confusion_matrix,
    run_surnames,
    surname_training,
)
from lstm_course.experiments.char_lm import CharLMConfig
from lstm_course.experiments.threads import torch_threads
from lstm_course.nn import CharLM
from lstm_course.tasks.captions import EOS, PAD, caption_batch, load_digit_images
from lstm_course.tasks.surnames import LANGUAGES


@pytest.fixture(autouse=True)
def one_thread():
    with torch_threads(1):
        yield


def test_confusion_matrix_counts_true_rows_and_answer_columns():
    matrix = confusion_matrix(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 0]), 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 0]]


def test_surnames_run_end_to_end():
    result = run_surnames(SurnameConfig(hidden_size=8, per_language=30), surname_training(steps=3))
    n = len(result.test_names)
    assert result.confusion.shape == (len(LANGUAGES), len(LANGUAGES)) and result.confusion.sum() == n
    assert np.trace(result.confusion) == round(result.lstm_accuracy * n)
    assert 0 <= result.baseline_accuracy <= 1 and len(result.losses) == 3


def test_patches_keep_neighbouring_columns_together():
    columns = torch.arange(4 * 1 * 8, dtype=torch.float32).reshape(4, 1, 8)  # (W, B, 8)
    joined = patches(columns, 2)
    assert joined.shape == (2, 1, 16)
    assert torch.equal(joined[1, 0], torch.cat([columns[2, 0], columns[3, 0]]))
    with pytest.raises(ValueError, match="width"):
        patches(columns, 3)


def test_caption_scores_on_known_answers():
    batch = caption_batch(*load_digit_images()[:2], 6, np.random.default_rng(0))
    assert scores(batch.captions.copy(), batch) == (1.0, 1.0)
    wrong = batch.captions.copy()
    wrong[0, 0] = (wrong[0, 0] - 3 + 1) % 10 + 3  # another digit's word in strip 0
    words, whole = scores(wrong, batch)
    shown = (batch.digits >= 0).sum()
    assert words == pytest.approx(1 - 1 / shown) and whole == pytest.approx(5 / 6)
    # words written after <eos> do not count
    after = batch.captions.copy()
    after[after == PAD] = EOS + 5
    assert np.array_equal(up_to_eos(after), batch.captions) and scores(after, batch) == (1.0, 1.0)


def test_captioner_shapes_and_attention_weights():
    model = DigitCaptioner(hidden_size=6, embedding_dim=4, attention_size=5, patch=2)
    columns, words_in = torch.rand(40, 3, 8), torch.randint(0, 13, (5, 3))
    logits, weights = model(columns, words_in)
    assert logits.shape == (5, 3, 13) and weights.shape == (3, 5, 20)
    assert torch.allclose(weights.sum(-1), torch.ones(3, 5))
    words, weights = model.caption(columns, 5)
    assert words.shape == (5, 3) and weights.shape == (3, 5, 20)


def test_captions_run_end_to_end():
    config = CaptionConfig(
        hidden_size=6, embedding_dim=4, attention_size=4, baseline_strips=100, test_strips=20
    )
    result = run_captions(config, caption_training(steps=2))
    assert result.predicted.shape == (5, 20) and result.weights.shape == (20, 5, 20)
    assert 0 <= result.word_accuracy <= 1 and 0 <= result.baseline_caption_accuracy <= 1


def test_linear_forecaster_recovers_a_linear_rule():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 50))  # (window, M)
    weights = rng.normal(size=(5, 3))  # (window + 1, horizon)
    y = np.concatenate([x.T, np.ones((50, 1))], axis=1) @ weights
    assert np.allclose(linear_forecaster(x, y, ridge=0.0), weights)
    assert np.allclose(linear_forecast(weights, x), y)


def test_forecast_run_scores_each_method_on_the_same_targets():
    result = run_forecast(ForecastConfig(hidden_size=4), forecast_training(steps=2))
    values = result.series.values
    assert result.targets.shape == (len(result.origins), 11)
    assert np.array_equal(result.targets[:, 0], values[result.origins])
    naive = values[result.origins - 11]
    assert result.mae_by_horizon["seasonal naive"][0] == pytest.approx(
        np.abs(naive - values[result.origins]).mean()
    )
    assert result.origins[0] == len(values) - 60 and set(result.mae) == {
        "seasonal naive",
        "linear AR",
        "LSTM",
    }


def test_temperature_sharpens_or_flattens_the_distribution():
    torch.manual_seed(0)
    model = CharLM(5, 8, cell="lstm")
    x = torch.randint(0, 5, (6, 4)).numpy()
    rows = temperature_rows(model, x, x, [0.5, 1.0, 2.0])
    assert rows[0.5].entropy < rows[1.0].entropy < rows[2.0].entropy <= np.log(5) + 1e-6
    assert rows[0.5].top_probability > rows[2.0].top_probability
    with pytest.raises(ValueError, match="temperatures"):
        temperature_rows(model, x, x, [0.0])


def test_generation_run_end_to_end():
    model = CharLMConfig(
        hidden_size=8, T=16, batch_size=4, val_windows=4, contexts=(1, 4), context_samples=20
    )
    config = GenerationConfig(max_chars=20_000, sample_length=10, model=model)
    result = run_generation(config, generation_training(steps=2))
    assert set(result.val_loss) == {"rnn", "lstm"} and set(result.loss_by_context["lstm"]) == {1, 4}
    assert all(len(sample) == 10 for sample in result.samples.values())
    assert result.unigram_loss < result.uniform_loss
