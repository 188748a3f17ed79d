"""Exercise 05's checks: a right set-up passes; a wrong training set-up fails with feedback that names it."""

import numpy as np
import pytest

from lstm_course import reference as ref
from lstm_course.checks.adding import (
    check_adding_model,
    check_adding_training,
    reference_loss_and_grads,
    reference_predict,
)
from lstm_course.tasks import adding_batch

H = 8


def init_model(rng: np.random.Generator, forget_bias: float | None = 1.0) -> dict:
    params = ref.init_params("lstm", 2, H, rng, forget_bias=forget_bias)
    params["head.weight"] = rng.uniform(-1, 1, (1, H)) / np.sqrt(H)
    params["head.bias"] = np.zeros(1)
    return params


def predict(params: dict, x: np.ndarray) -> tuple:
    return reference_predict(params, x), None


def loss_and_grads(params: dict, x: np.ndarray, y: np.ndarray) -> tuple:
    return reference_loss_and_grads(params, x, y)


def test_a_right_set_up_passes(capsys: pytest.CaptureFixture[str]) -> None:
    check_adding_model(init_model, predict, loss_and_grads)
    assert capsys.readouterr().out == "✓ adding_model: 4/4 checks passed\n"


def test_no_forget_bias_is_named() -> None:
    with pytest.raises(AssertionError, match="^the forget gate's bias .* averages .*: initialise it to 1"):
        check_adding_model(lambda rng: init_model(rng, forget_bias=0.0), predict, loss_and_grads)


def test_reading_the_wrong_output_step_is_named() -> None:
    with pytest.raises(AssertionError, match=r"^predict reads out\[0\], the first step"):
        check_adding_model(init_model, lambda p, x: reference_predict(p, x, 0), loss_and_grads)
    with pytest.raises(AssertionError, match=r"^predict reads out\[-2\]: off by one"):
        check_adding_model(init_model, lambda p, x: reference_predict(p, x, -2), loss_and_grads)


def test_feeding_the_head_gradient_into_every_step_is_named() -> None:
    def wrong(params: dict, x: np.ndarray, y: np.ndarray) -> tuple:
        return reference_loss_and_grads(params, x, y, all_steps=True)

    with pytest.raises(AssertionError, match="^the head's gradient is fed into every time step"):
        check_adding_model(init_model, predict, wrong)


def train_too_fast(seed: int, steps: int = 60) -> tuple:
    """lr = 5 with no clipping: the loss shoots far above the baseline."""
    rng = np.random.default_rng(seed)
    params = init_model(rng)
    optimizer, losses = ref.Adam(params, lr=5.0), []
    for _ in range(steps):
        x, y = adding_batch(16, 50, rng, dtype=np.float64)
        loss, grads = reference_loss_and_grads(params, x, y)
        optimizer.step(grads)
        losses.append(loss)
    return params, losses


def test_a_far_too_large_learning_rate_without_clipping_is_named() -> None:
    with pytest.raises(
        AssertionError,
        match="^the training loss jumped back up to .* the learning rate is too large or the "
        "gradients are not clipped",
    ):
        check_adding_training(train_too_fast, predict)


def test_an_untrained_model_is_told_it_predicts_the_mean() -> None:
    def no_training(seed: int) -> tuple:
        params = init_model(np.random.default_rng(seed))
        params["head.bias"] = np.ones(1)  # predicts about the mean, 1
        params["head.weight"] *= 0.01
        return params, [1 / 6] * 20

    with pytest.raises(
        AssertionError, match="^test MSE 0.1.*: the model only learned to predict about the mean"
    ):
        check_adding_training(no_training, predict)


def test_diverged_training_is_named() -> None:
    with pytest.raises(AssertionError, match="^training diverged: the loss became NaN or inf at step 3"):
        check_adding_training(
            lambda seed: (init_model(np.random.default_rng(seed)), [1.0, 0.5, 0.3, np.nan]), predict
        )


def test_a_weight_hh_that_is_not_an_array_is_named() -> None:
    def scalar_weight_hh(rng: np.random.Generator) -> dict:
        return {**init_model(rng), "weight_hh": 0.5}

    with pytest.raises(
        AssertionError, match=r"^params\['weight_hh'\] should be an array of shape \(4H, H\)"
    ) as info:
        check_adding_model(scalar_weight_hh, predict, loss_and_grads)
    assert "seed" in str(info.value)
    with pytest.raises(AssertionError, match=r"^params\['bias_ih'\]: shape \(32,\) expected .*got None\n"):
        check_adding_model(lambda rng: {**init_model(rng), "bias_ih": None}, predict, loss_and_grads)


def test_a_predict_that_returns_an_empty_tuple_is_named() -> None:
    with pytest.raises(AssertionError, match=r"^predict\(params, x\) should be a NumPy array of shape"):
        check_adding_model(init_model, lambda p, x: (), loss_and_grads)


@pytest.mark.parametrize("loss", [None, "0.1", np.ones(3)])
def test_a_loss_that_is_not_one_number_is_named(loss: object) -> None:
    def wrong(params: dict, x: np.ndarray, y: np.ndarray) -> tuple:
        return loss, reference_loss_and_grads(params, x, y)[1]

    with pytest.raises(AssertionError, match=r"^loss_and_grads' loss should be one number") as info:
        check_adding_model(init_model, predict, wrong)
    assert "seed" in str(info.value)


def test_training_outputs_that_are_not_numbers_are_named() -> None:
    def train(seed: int, losses: object = (0.1, 0.05)) -> tuple:
        return init_model(np.random.default_rng(seed)), losses

    with pytest.raises(AssertionError, match=r"^train's losses should be a list of numbers, one per step"):
        check_adding_training(lambda seed: train(seed, None), predict)
    with pytest.raises(
        AssertionError, match=r"^predict: shape \(B, 1\) = \(1000, 1\) expected, got \{pred: array"
    ) as info:
        check_adding_training(train, lambda p, x: {"pred": reference_predict(p, x)})
    assert "seed" in str(info.value)
    with pytest.raises(AssertionError, match=r"^predict: shape \(B, 1\) = \(1000, 1\) expected, got \(0,\)"):
        check_adding_training(train, lambda p, x: ())
