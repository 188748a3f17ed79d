"""The training loop every chapter uses, and checkpoints that load only tensors and plain data.

``fit(model, batch_fn, loss_fn, config)`` draws a batch with ``batch_fn(rng)``, computes
``loss_fn(model, x, y)``, back-propagates, clips the gradient norm and steps the optimizer, recording the
loss and the gradient norm (before clipping) of every step in a :class:`History`.
"""

from __future__ import annotations

import math
import numbers
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
DEVICES = ("cpu", "cuda", "mps")  # the device types fit() trains on (pick_device chooses among them)
CHECKPOINT_FORMAT = "lstm_course.checkpoint/1"


def _integer(name: str, value: Any, low: int, high: int | None = None) -> int:
    """value as a plain int (NumPy integers too, never a bool), within [low, high]; else an error naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"TrainConfig.{name} must be an int, got {type(value).__name__} {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"TrainConfig.{name} must be an int {bounds}, got {value!r}")
    return int(value)


def _real(name: str, value: Any, rule: str, holds: Callable[[float], bool], optional: bool = False) -> None:
    """Raise unless value is a real number (not a bool) for which holds(value) is true, or None if optional."""
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"TrainConfig.{name} must be a number {rule}, got {type(value).__name__} {value!r}")
    # NaN fails every comparison, so each rule refuses it
    if not holds(float(value)):
        raise ValueError(f"TrainConfig.{name} must be {rule}, got {value!r}")


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    """Raise unless value is one of the strings in choices."""
    if not isinstance(value, str):
        raise TypeError(f"TrainConfig.{name} must be one of {choices}, got {type(value).__name__} {value!r}")
    if value not in choices:
        raise ValueError(f"TrainConfig.{name} must be one of {choices}, got {value!r}")


def _device(name: str, value: Any) -> None:
    """Raise unless value is None or a CPU, CUDA or MPS device (str or torch.device) this machine has."""
    if value is None:
        return
    if not isinstance(value, (str, torch.device)):
        raise TypeError(f"TrainConfig.{name} must be a device name such as 'cpu' or None, got {value!r}")
    try:
        device = torch.device(value)
    except (RuntimeError, ValueError) as err:
        raise ValueError(f"TrainConfig.{name}: {value!r} is not a device name ({err})") from None
    if device.type not in DEVICES:
        raise ValueError(f"TrainConfig.{name} must be on one of {DEVICES} (or None), got {value!r}")
    mps = getattr(torch.backends, "mps", None)
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": mps is not None and mps.is_available(),
    }
    if not available[device.type]:
        raise ValueError(f"TrainConfig.{name}: {value!r} is not available on this machine")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(
            f"TrainConfig.{name}: {value!r} is not available on this machine "
            f"(it has {torch.cuda.device_count()} CUDA devices)"
        )


@dataclass
class TrainConfig:
    """Everything fit() needs besides the model, the data and the loss."""

    steps: int = 1000  # optimizer steps at most
    lr: float = 1e-3  # learning rate
    optimizer: str = "adam"  # "adam" | "sgd"
    momentum: float = 0.0  # SGD momentum in [0, 1) (ignored by Adam)
    clip: float | None = 1.0  # max gradient norm; None: no clipping
    seed: int = 0  # seeds torch and the batch rng, in [0, 2**64)
    device: str | None = None  # "cpu", "cuda", "cuda:1", "mps" (or a torch.device); None: pick_device()
    progress: bool | None = None  # None: a tqdm bar only on a terminal and when CI is unset
    # stop early when the mean of the last `target_window` losses is below it
    target_loss: float | None = None
    target_window: int = 50  # how many recent losses that mean covers
    time_limit_s: float | None = None  # stop after this many seconds
    on_nonfinite: str = "raise"  # "raise" a FloatingPointError naming the step | "stop" and record it

    def __post_init__(self) -> None:
        """Check every field here, naming it, so a bad value never reaches torch."""
        self.steps = _integer("steps", self.steps, low=0)
        _real("lr", self.lr, "finite and > 0", lambda value: 0 < value < math.inf)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        # momentum 1 would never let an old gradient fade, and torch refuses a negative one
        _real("momentum", self.momentum, "in [0, 1)", lambda value: 0 <= value < 1)
        _real("clip", self.clip, "> 0 or None", lambda value: value > 0, optional=True)
        # torch.manual_seed takes at most 64 bits; NumPy's default_rng refuses a negative seed
        self.seed = _integer("seed", self.seed, low=0, high=2**64 - 1)
        _device("device", self.device)
        if self.progress is not None and type(self.progress) is not bool:
            raise TypeError(f"TrainConfig.progress must be True, False or None, got {self.progress!r}")
        _real("target_loss", self.target_loss, "finite or None", math.isfinite, optional=True)
        self.target_window = _integer("target_window", self.target_window, low=1)
        _real("time_limit_s", self.time_limit_s, "> 0 or None", lambda value: value > 0, optional=True)
        _choice("on_nonfinite", self.on_nonfinite, ON_NONFINITE)


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
