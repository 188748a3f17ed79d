"""The training loop every chapter uses, and checkpoints that load only tensors and plain data.

``fit(model, batch_fn, loss_fn, config)`` draws a batch with ``batch_fn(rng)``, computes
``loss_fn(model, x, y)``, back-propagates, clips the gradient norm and steps the optimizer, recording the
loss and the gradient norm (before clipping) of every step in a :class:`History`.
"""

from __future__ import annotations

import math
import os
import pickle
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from lstm_course.nn.device import pick_device

OPTIMIZERS = ("adam", "sgd")
ON_NONFINITE = ("raise", "stop")
CHECKPOINT_FORMAT = "lstm_course.checkpoint/1"


@dataclass
class TrainConfig:
    """Everything fit() needs besides the model, the data and the loss."""

    steps: int = 1000  # optimizer steps at most
    lr: float = 1e-3  # learning rate
    optimizer: str = "adam"  # "adam" | "sgd"
    momentum: float = 0.0  # SGD momentum (ignored by Adam)
    clip: float | None = 1.0  # max gradient norm; None: no clipping
    seed: int = 0  # seeds torch and the batch rng
    device: str | None = None  # None: pick_device()
    progress: bool | None = None  # None: a tqdm bar only on a terminal and when CI is unset
    target_loss: float | None = (
        None  # stop early when the mean of the last `target_window` losses is below it
    )
    target_window: int = 50  # how many recent losses that mean covers
    time_limit_s: float | None = None  # stop after this many seconds
    on_nonfinite: str = "raise"  # "raise" a FloatingPointError naming the step | "stop" and record it

    def __post_init__(self) -> None:
        if not isinstance(self.steps, int) or self.steps < 0:
            raise ValueError(f"TrainConfig.steps must be an int >= 0, got {self.steps!r}")
        if not self.lr > 0:
            raise ValueError(f"TrainConfig.lr must be > 0, got {self.lr!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"TrainConfig.optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.clip is not None and not self.clip > 0:
            raise ValueError(f"TrainConfig.clip must be > 0 or None, got {self.clip!r}")
        if not isinstance(self.target_window, int) or self.target_window < 1:
            raise ValueError(f"TrainConfig.target_window must be an int >= 1, got {self.target_window!r}")
        if self.on_nonfinite not in ON_NONFINITE:
            raise ValueError(
                f"TrainConfig.on_nonfinite must be one of {ON_NONFINITE}, got {self.on_nonfinite!r}"
            )


@dataclass
class History:
    """What fit() recorded: one loss and one gradient norm (before clipping) per step."""

    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    seconds: float = 0.0  # wall time of the loop
    steps: int = 0  # optimizer steps taken
    stopped: str = "steps"  # "steps" | "target" | "time" | "nonfinite"


def show_progress(progress: bool | None) -> bool:
    """The bar's default: only when stderr is a terminal and the CI variable is unset."""
    if progress is not None:
        return progress
    return sys.stderr.isatty() and not os.environ.get("CI")


def make_optimizer(params, config: TrainConfig) -> torch.optim.Optimizer:
    """Adam or SGD (with config.momentum) over params, at config.lr."""
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum)


def as_tensor(a, device: torch.device, float_dtype: torch.dtype) -> Tensor:
    """A NumPy array or tensor on device; floats take the model's float dtype, integers stay."""
    t = torch.as_tensor(a)
    return t.to(device=device, dtype=float_dtype if t.is_floating_point() else t.dtype)


def clip_and_measure(params: Sequence[Tensor], clip: float | None) -> float:
    """The total gradient norm before clipping; scales the gradients down to norm `clip` when it is set."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return 0.0
    if clip is not None:
        return float(nn.utils.clip_grad_norm_(params, clip))
    return float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads])))


def fit(
    model: nn.Module,
    batch_fn: Callable[[np.random.Generator], tuple[Any, Any]],
    loss_fn: Callable[[nn.Module, Tensor, Tensor], Tensor],
    config: TrainConfig | None = None,
) -> History:
    """Train model in place; returns the History. Seeds torch and the batch rng from config.seed.

    batch_fn(rng) returns (x, y) as NumPy arrays or tensors; they are moved to the device (floating data in
    the model's dtype). loss_fn(model, x, y) returns a scalar tensor. A non-finite loss or gradient norm
    raises FloatingPointError naming the step, or with on_nonfinite="stop" is recorded (gradient norm NaN
    when the loss itself was bad) and ends training with stopped="nonfinite"; the bad step never updates the
    weights.
    """
    config = TrainConfig() if config is None else config
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    device = torch.device(config.device) if config.device is not None else pick_device()
    model.to(device)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("fit: the model has no trainable parameters")
    float_dtype = next((p.dtype for p in params if p.is_floating_point()), torch.get_default_dtype())
    optimizer = make_optimizer(params, config)
    history = History()
    bar = _progress_bar(config)
    start = time.perf_counter()
    try:
        for step in range(config.steps):
            x, y = batch_fn(rng)
            x, y = as_tensor(x, device, float_dtype), as_tensor(y, device, float_dtype)
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model, x, y)
            value = float(loss.detach())
            norm = math.nan
            if math.isfinite(value):
                loss.backward()
                norm = clip_and_measure(params, config.clip)
            if not (math.isfinite(value) and math.isfinite(norm)):
                what = f"loss is {value}" if not math.isfinite(value) else f"gradient norm is {norm}"
                if config.on_nonfinite == "raise":
                    raise FloatingPointError(
                        f"fit: {what} at step {step} (on_nonfinite='stop' records it instead)"
                    )
                history.loss.append(value)
                history.grad_norm.append(norm)
                history.stopped = "nonfinite"
                break
            optimizer.step()
            history.loss.append(value)
            history.grad_norm.append(norm)
            history.steps = step + 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{value:.4g}", refresh=False)
            if _reached_target(history.loss, config):
                history.stopped = "target"
                break
            if config.time_limit_s is not None and time.perf_counter() - start >= config.time_limit_s:
                history.stopped = "time"
                break
    finally:
        if bar is not None:
            bar.close()
    history.seconds = time.perf_counter() - start
    return history


def _progress_bar(config: TrainConfig):
    if not show_progress(config.progress):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=config.steps, desc="fit", leave=False)


def _reached_target(losses: list[float], config: TrainConfig) -> bool:
    window = config.target_window
    return (
        config.target_loss is not None
        and len(losses) >= window
        and sum(losses[-window:]) / window < (config.target_loss)
    )


# ---- checkpoints ---------------------------------------------------------------------------------------

_PLAIN = (str, int, float, bool, type(None))


def _check_plain(value: Any, where: str) -> None:
    """Raise unless value is plain data (str, numbers, None, tensors, and lists/tuples/dicts of them)."""
    if isinstance(value, _PLAIN) or isinstance(value, Tensor):
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_plain(v, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, _PLAIN):
                raise TypeError(f"save_checkpoint: metadata key {k!r} in {where} must be a str or number")
            _check_plain(v, f"{where}[{k!r}]")
        return
    raise TypeError(
        f"save_checkpoint: metadata {where} is a {type(value).__name__}; only str, numbers, bool, None, "
        "tensors and lists/tuples/dicts of them can be saved (they load with weights_only=True)"
    )


def save_checkpoint(path: str | os.PathLike, model: nn.Module, optimizer=None, **metadata) -> Path:
    """Save the model's (and optionally the optimizer's) state and plain metadata; returns the path."""
    _check_plain(metadata, "metadata")
    path = Path(path)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "model": model.state_dict(),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "metadata": metadata,
    }
    torch.save(payload, path)
    return path


def load_checkpoint(path: str | os.PathLike, model: nn.Module, optimizer=None) -> dict:
    """Load a checkpoint from save_checkpoint into model (and optimizer); returns the metadata dict.

    Loads with torch.load(weights_only=True): a file holding any other pickled object is refused with a
    ValueError before any of its code can run.
    """
    path = Path(path)
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    try:
        with warnings.catch_warnings():  # a foreign pickle protocol: we refuse the file below if it matters
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            payload = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as err:
        raise ValueError(
            f"load_checkpoint: refusing {path}: it holds pickled Python objects, not only tensors and plain "
            f"data, so it was not loaded (nothing in it ran). Details: {str(err).splitlines()[0]}"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"load_checkpoint: {path} is not a checkpoint written by save_checkpoint")
    model.load_state_dict(payload["model"])
    if optimizer is not None:
        if payload["optimizer"] is None:
            raise ValueError(f"load_checkpoint: {path} holds no optimizer state, but an optimizer was passed")
        optimizer.load_state_dict(payload["optimizer"])
    return payload["metadata"]
