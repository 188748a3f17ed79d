"""Checks for exercise 05: an LSTM (the reference's, in NumPy) trained on the adding problem.

The model: the LSTM over x (T, B, 2), then a dense head on the LAST hidden state, ``pred = h_T W^T + b``,
(B, 1). Its parameters are one dict: the LSTM's ``weight_ih`` (4H, 2), ``weight_hh`` (4H, H), ``bias_ih``,
``bias_hh`` (4H,) and the head's ``head.weight`` (1, H), ``head.bias`` (1,).

``check_adding_model`` checks the set-up (shapes, forget-gate bias, which step the head reads, the
gradients); ``check_adding_training`` grades by the result: the test MSE on fresh sequences must beat a
target.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from lstm_course import reference as ref
from lstm_course.checks.harness import Feedback, call_student, describe, expect_array, expect_tuple, run_check
from lstm_course.tasks import ADDING_BASELINE_MSE, adding_batch

T_ADDING = 50  #: sequence length of the exercise
TARGET_MSE = 0.01  #: the test MSE to beat (predicting the mean scores 1/6)
TEST_BATCH = 1000  #: fresh test sequences
LSTM_KEYS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def lstm_part(params: dict) -> dict:
    """The LSTM's four arrays of a model dict."""
    return {k: params[k] for k in LSTM_KEYS}


def reference_predict(params: dict, x: np.ndarray, step: int | str = -1) -> np.ndarray:
    """The reference model's prediction (B, 1); ``step``: the output read (-1 is right)."""
    out, _, _ = ref.lstm_forward(x, lstm_part(params))
    h = out.mean(axis=0) if step == "mean" else out[step]
    return h @ params["head.weight"].T + params["head.bias"]


def reference_loss_and_grads(
    params: dict, x: np.ndarray, y: np.ndarray, *, all_steps: bool = False, halve: bool = False
) -> tuple[float, dict]:
    """MSE of the reference model and its gradients (optionally with a mistake) for every key of params."""
    out, _, cache = ref.lstm_forward(x, lstm_part(params))
    pred, head_cache = ref.dense_forward(out[-1], params["head.weight"], params["head.bias"])
    loss, dpred = ref.mse_loss(pred, y)
    if halve:
        dpred = dpred / 2
    dh, dw, db = ref.dense_backward(dpred, head_cache)
    dout = np.zeros_like(out)
    if all_steps:
        dout[:] = dh
    else:
        dout[-1] = dh  # only the last step feeds the head
    _, grads, _ = ref.lstm_backward(dout, cache)
    return float(loss), {**grads, "head.weight": dw, "head.bias": db}


def _grad_of(params: dict, x: np.ndarray, y: np.ndarray, key: str, **mistake: bool) -> np.ndarray:
    return reference_loss_and_grads(params, x, y, **mistake)[1][key]


def _batch(rng: np.random.Generator, B: int, T: int = T_ADDING) -> tuple[np.ndarray, np.ndarray]:
    return adding_batch(B, T, rng, dtype=np.float64)


def _numbers(value: Any) -> np.ndarray | None:
    """``value`` as a float64 array, or None when it is not numbers (None, text, ragged lists, ...)."""
    try:
        array = np.asarray(value)
    except Exception:  # noqa: BLE001 - whatever it is, it is not numbers
        return None
    return array.astype(np.float64) if array.dtype.kind in "biuf" else None


def _first(got: Any) -> Any:
    """What predict returned, without the cache when it returned (pred, cache)."""
    return got[0] if isinstance(got, tuple) and got else got


def _model(init_model: Callable[..., Any], rng: np.random.Generator) -> tuple[dict, int]:
    params = call_student(init_model, rng, name="init_model")
    if not isinstance(params, dict):
        raise Feedback(f"init_model should return a dict of arrays, got {type(params).__name__}")
    missing = [k for k in (*LSTM_KEYS, "head.weight", "head.bias") if k not in params]
    if missing:
        raise Feedback(
            f"init_model's dict is missing {missing}: it holds the LSTM's four arrays and "
            "'head.weight' (1, H), 'head.bias' (1,)"
        )
    weight_hh = _numbers(params["weight_hh"])
    if weight_hh is None or weight_hh.ndim != 2:
        raise Feedback(
            "params['weight_hh'] should be an array of shape (4H, H), got " + describe([params["weight_hh"]])
        )
    H = weight_hh.shape[1]
    shapes = {
        "weight_ih": (4 * H, 2),
        "weight_hh": (4 * H, H),
        "bias_ih": (4 * H,),
        "bias_hh": (4 * H,),
        "head.weight": (1, H),
        "head.bias": (1,),
    }
    arrays = {k: _numbers(v) for k, v in params.items()}
    for key, shape in shapes.items():
        array = arrays[key]
        if array is None or array.shape != shape:
            got = describe([params[key]]) if array is None else str(array.shape)
            raise Feedback(f"params[{key!r}]: shape {shape} expected (H = {H}, D = 2), got {got}")
    return {k: (params[k] if a is None else a) for k, a in arrays.items()}, H


def check_adding_model(
    init_model: Callable[..., Any],
    predict: Callable[..., Any],
    loss_and_grads: Callable[..., Any],
    seed: int | None = None,
) -> None:
    """The set-up: parameter shapes, forget-gate bias, the step the head reads, and the gradients."""

    def shapes(rng: np.random.Generator) -> None:
        _model(init_model, rng)

    def forget_bias(rng: np.random.Generator) -> None:
        params, H = _model(init_model, rng)
        total = (
            params["bias_ih"][H : 2 * H] + params["bias_hh"][H : 2 * H]
        )  # torch's rows [H:2H]: the forget gate
        if not 0.5 <= float(np.mean(total)) <= 5.0:
            raise Feedback(
                f"the forget gate's bias (bias_ih + bias_hh, rows H:2H) averages "
                f"{float(np.mean(total)):.2f}: "
                "initialise it to 1 (init_params(..., forget_bias=1.0)) so the cell starts out remembering; "
                "near 0 the forget gate roughly halves c at every step and the first number fades "
                "over T = 50",
                "Gers, Schmidhuber & Cummins (2000); Jozefowicz et al. (2015)",
            )

    def reads_last(rng: np.random.Generator) -> None:
        params, _ = _model(init_model, rng)
        x, _ = _batch(rng, 4)
        got = call_student(predict, params, x, name="predict")
        pred = _first(got)
        expected = reference_predict(params, x)
        T = x.shape[0]
        expect_array(
            "predict(params, x)",
            pred,
            expected,
            dims="B, 1",
            rtol=1e-5,
            atol=1e-8,
            variants=[
                (
                    "predict reads out[0], the first step; the sum is known only after the last "
                    "step: use out[-1] (h_T)",
                    lambda: reference_predict(params, x, 0),
                ),
                (
                    "predict reads out[-2]: off by one; use the last step, out[-1] (h_T)",
                    lambda: reference_predict(params, x, -2),
                ),
                (
                    "predict reads the middle step; use the last step, out[-1] (h_T)",
                    lambda: reference_predict(params, x, T // 2),
                ),
                (
                    "predict averages the outputs over time; use only the last step, out[-1] (h_T)",
                    lambda: reference_predict(params, x, "mean"),
                ),
            ],
        )

    def gradients(rng: np.random.Generator) -> None:
        params, _ = _model(init_model, rng)
        x, y = _batch(rng, 3, T=int(rng.integers(3, 8)))
        got = call_student(loss_and_grads, params, x, y, name="loss_and_grads")
        loss, grads = expect_tuple("loss_and_grads", got, 2, "loss, grads")
        e_loss, e_grads = reference_loss_and_grads(params, x, y)
        numbers = _numbers(loss)
        if numbers is None or numbers.size != 1:
            raise Feedback(
                f"loss_and_grads' loss should be one number (the mean squared error), got {describe([loss])}"
            )
        value = float(numbers.reshape(()))
        if not np.isclose(value, e_loss, rtol=1e-6):
            raise Feedback(
                f"the loss is wrong: got {value:.6g}, expected the MSE {e_loss:.6g} "
                "of the prediction from the last step"
            )
        if not isinstance(grads, dict) or set(e_grads) - set(grads):
            raise Feedback(f"grads should be a dict with every key of params: {sorted(e_grads)}")
        for key in e_grads:
            expect_array(
                f"grads[{key!r}]",
                grads[key],
                e_grads[key],
                rtol=1e-5,
                atol=1e-9,
                variants=[
                    (
                        "the head's gradient is fed into every time step; only the last step feeds "
                        "the head, so dout is zero except dout[-1]",
                        partial(_grad_of, params, x, y, key, all_steps=True),
                    ),
                    (
                        "the gradients are half the right size: d mean((pred - y)**2) / d pred = 2 "
                        "(pred - y) / B",
                        partial(_grad_of, params, x, y, key, halve=True),
                    ),
                ],
            )

    run_check(
        "adding_model",
        [
            ("init_model: keys and shapes", shapes),
            ("the forget gate starts open", forget_bias),
            ("predict reads the last step", reads_last),
            ("loss_and_grads matches the reference", gradients),
        ],
        seed,
        "check_adding_model(init_model, predict, loss_and_grads, seed={seed})",
    )


def _training_diagnosis(losses: np.ndarray, mse: float) -> str:
    """The most likely reason a training run missed the target."""
    baseline = ADDING_BASELINE_MSE
    best_so_far = np.minimum.accumulate(losses)
    spikes = np.flatnonzero((losses[1:] > 3 * baseline) & (losses[1:] > 3 * best_so_far[:-1])) + 1
    if spikes.size:
        return (
            f"the training loss jumped back up to {float(losses[spikes[0]]):.3g} at step {int(spikes[0])}, "
            f"far above the {baseline:.3f} of predicting the mean: the learning rate is too large or the "
            "gradients are not clipped (clip_grad_norm before each step)"
        )
    if mse > 0.5 * baseline:
        return (
            f"test MSE {mse:.4f}: the model only learned to predict about the mean (baseline "
            f"{baseline:.4f}); check the forget-gate bias, that the head reads the last step, the "
            "learning rate, and train longer"
        )
    return (
        f"test MSE {mse:.4f} is below the baseline {baseline:.4f} but above the target {TARGET_MSE}: "
        "train for more steps or tune the learning rate"
    )


def check_adding_training(
    train: Callable[..., Any], predict: Callable[..., Any], seed: int | None = None
) -> None:
    """Grades by the result: train(seed) -> (params, losses), then the MSE on fresh test sequences."""
    run: dict[str, Any] = {}

    def trains(rng: np.random.Generator) -> None:
        start = time.perf_counter()
        got = call_student(train, int(rng.integers(2**31)), name="train")
        run["seconds"] = time.perf_counter() - start
        params, losses = expect_tuple("train", got, 2, "params, losses")
        numbers = _numbers(losses)
        if numbers is None:
            raise Feedback(
                f"train's losses should be a list of numbers, one per step, got {describe([losses])}"
            )
        losses = numbers.ravel()
        if not losses.size:
            raise Feedback("train returned no losses: return the list of training losses, one per step")
        if not np.all(np.isfinite(losses)):
            step = int(np.argmax(~np.isfinite(losses)))
            raise Feedback(
                f"training diverged: the loss became NaN or inf at step {step}; lower the learning "
                "rate or clip the gradient norm"
            )
        if not isinstance(params, dict):
            raise Feedback(f"train should return the trained params dict first, got {type(params).__name__}")
        run.update(params=params, losses=losses)

    def learns(rng: np.random.Generator) -> None:
        x, y = _batch(rng, TEST_BATCH)
        got = call_student(predict, run["params"], x, name="predict")
        pred = _numbers(_first(got))
        if pred is None or pred.shape != y.shape:
            shown = describe([_first(got)]) if pred is None else str(pred.shape)
            raise Feedback(f"predict: shape (B, 1) = {y.shape} expected, got {shown}")
        mse = float(np.mean((pred - y) ** 2))
        if not mse < TARGET_MSE:
            raise Feedback(
                _training_diagnosis(run["losses"], mse),
                f"test MSE {mse:.4f} on {TEST_BATCH} fresh sequences of T = {T_ADDING}; target "
                f"< {TARGET_MSE}; {run['losses'].size} training steps in {run['seconds']:.0f} s",
            )

    run_check(
        "adding_training",
        [
            ("train returns params and finite losses", trains),
            (f"test MSE below {TARGET_MSE} on fresh sequences", learns),
        ],
        seed,
        "check_adding_training(train, predict, seed={seed})",
    )
