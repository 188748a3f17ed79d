"""Chapter 9, forecasting: the yearly sunspot numbers, an LSTM against seasonal-naive and a linear model.

Every method forecasts the next ``horizon`` years at once from the ``window`` years before an origin, at
every origin of a held-out period (the last years of the series), and is scored by the mean absolute error
over all origins and horizons. The LSTM (:class:`~lstm_course.nn.SequenceRegressor`) and the linear
autoregressive model (least squares, one linear map from the window to each horizon) learn from the same
windows, all of which end before the held-out period starts. Seasonal-naive repeats the value one solar cycle
(``period`` years) earlier.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lstm_course.experiments.threads import torch_threads
from lstm_course.nn import SequenceRegressor
from lstm_course.tasks.series import Series, forecast_windows, load_sunspots, seasonal_naive
from lstm_course.train import TrainConfig, course_device, fit


@dataclass(frozen=True)
class ForecastConfig:
    """The series split, the forecast and the LSTM (how it trains is a TrainConfig)."""

    test_years: int = 60  # the held-out period: the last test_years of the series
    window: int = 30  # past years read
    horizon: int = 11  # future years predicted at once
    period: int = 11  # seasonal-naive's cycle, in years
    ridge: float = 1e-3  # the linear model's ridge penalty (on standardised values)
    hidden_size: int = 32  # the LSTM's H
    batch_size: int = 32  # windows per step
    threads: int | None = 1  # torch threads while training; None leaves it


def forecast_training(**changes) -> TrainConfig:
    """How the chapter trains the forecaster: Adam at 1e-2, clipped at norm 1, 300 steps, seed 0."""
    return replace(
        TrainConfig(steps=300, lr=1e-2, clip=1.0, seed=0, device=course_device(), progress=None), **changes
    )


@dataclass
class ForecastResult:
    """Forecasts of the held-out period by each method, and their errors."""

    series: Series
    origins: np.ndarray  # (M,) indices of the held-out forecast origins
    targets: np.ndarray  # (M, horizon)
    forecasts: dict[str, np.ndarray]  # method -> (M, horizon)
    mae: dict[str, float]  # method -> mean absolute error over every origin and horizon
    mae_by_horizon: dict[str, np.ndarray]  # method -> (horizon,)
    train_windows: int
    seconds: float  # CPU seconds of the LSTM's training and the linear fit


def linear_forecaster(x: np.ndarray, y: np.ndarray, ridge: float) -> np.ndarray:
    """Weights (window + 1, horizon) of y ~ [x, 1] @ weights by ridge least squares.

    x (window, M) holds the past of M forecasts, y (M, horizon) their futures.
    """
    features = np.concatenate([x.T, np.ones((x.shape[1], 1))], axis=1)  # (M, window + 1)
    gram = features.T @ features + ridge * np.eye(features.shape[1])
    return np.linalg.solve(gram, features.T @ y)


def linear_forecast(weights: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(M, horizon) forecasts of the linear model for windows x (window, M)."""
    return np.concatenate([x.T, np.ones((x.shape[1], 1))], axis=1) @ weights


def run_forecast(
    config: ForecastConfig = ForecastConfig(), training: TrainConfig | None = None
) -> ForecastResult:
    """Fit the LSTM and the linear model on the early years; forecast the held-out years with all three."""
    training = forecast_training() if training is None else training
    series = load_sunspots()
    values = series.values
    test_start = len(values) - config.test_years
    train_origins = np.arange(config.window, test_start - config.horizon + 1)  # targets end before the test
    test_origins = np.arange(test_start, len(values) - config.horizon + 1)
    mean, std = values[:test_start].mean(), values[:test_start].std()
    scaled = (values - mean) / std
    x_train, y_train = forecast_windows(scaled, train_origins, config.window, config.horizon)
    x_test, y_test = forecast_windows(values, test_origins, config.window, config.horizon)
    x_test_scaled = (x_test - mean) / std

    def batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        picked = rng.integers(0, x_train.shape[1], size=config.batch_size)
        return x_train[:, picked, None], y_train[picked]  # (window, B, 1), (B, horizon)

    def loss(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
        return F.mse_loss(model(x), y)

    start = time.process_time()
    with torch_threads(config.threads):
        torch.manual_seed(training.seed)
        model = SequenceRegressor("lstm", 1, config.hidden_size, config.horizon, fast=True)
        fit(model, batch, loss, training)
        model.eval()
        with torch.no_grad():
            lstm_scaled = (
                model(torch.as_tensor(x_test_scaled[:, :, None], dtype=torch.float32)).double().numpy()
            )
    weights = linear_forecaster(x_train, y_train, config.ridge)
    seconds = time.process_time() - start
    forecasts = {
        "seasonal naive": seasonal_naive(values, test_origins, config.horizon, config.period),
        "linear AR": linear_forecast(weights, x_test_scaled) * std + mean,
        "LSTM": lstm_scaled * std + mean,
    }
    errors = {name: np.abs(forecast - y_test) for name, forecast in forecasts.items()}
    return ForecastResult(
        series=series,
        origins=test_origins,
        targets=y_test,
        forecasts=forecasts,
        mae={name: float(error.mean()) for name, error in errors.items()},
        mae_by_horizon={name: error.mean(axis=0) for name, error in errors.items()},
        train_windows=len(train_origins),
        seconds=seconds,
    )
