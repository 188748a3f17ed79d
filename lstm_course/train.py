"""The training loop every chapter uses, and checkpoints that load only tensors and plain data.

``fit(model, batch_fn, loss_fn, config)`` draws a batch with ``batch_fn(rng)``, computes
``loss_fn(model, x, y)``, back-propagates, clips the gradient norm and steps the optimizer, recording the
loss and the gradient norm (before clipping) of every step in a :class:`History`. :class:`TrainConfig`
checks every field when it is made, so a bad value is named there and never fails later inside torch.

``save_checkpoint`` writes only what ``load_checkpoint`` reads back; ``load_checkpoint`` is all or
nothing (everything is checked before the model or the optimizer changes) and refuses a broken or
hostile file with a ValueError saying what is wrong, without running anything in it.
"""

from __future__ import annotations

import copy
import io
import math
import numbers
import os
import pickletools
import re
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from torch import Tensor, nn

from lstm_course.nn.device import pick_device

#: The model ``fit`` trains; its ``loss_fn`` takes the same type.
Model = TypeVar("Model", bound=nn.Module)

OPTIMIZERS = ("adam", "sgd")
ON_NONFINITE = ("raise", "stop")
DEVICES = ("cpu", "cuda", "mps")  # the device types fit() trains on (pick_device chooses among them)
CHECKPOINT_FORMAT = "lstm_course.checkpoint/1"


def _integer(name: str, value: Any, low: int, high: int | None = None) -> int:
    """value as a plain int (NumPy integers too, never a bool) within [low, high]; else an error naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"TrainConfig.{name} must be an int, got {type(value).__name__} {value!r}")
    number = int(value)
    if number < low or (high is not None and number > high):
        bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"TrainConfig.{name} must be an int {bounds}, got {value!r}")
    return int(value)


def _real(name: str, value: Any, rule: str, holds: Callable[[float], bool], optional: bool = False) -> None:
    """Raise unless value is a real number (not a bool) for which holds(value), or None when optional."""
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
    progress: bool | None = None  # None: a tqdm bar when someone watches (see show_progress)
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


PROGRESS_ENV = "LSTM_COURSE_PROGRESS"  # "1" or "0": force the bar on or off where progress is None
DEVICE_ENV = "LSTM_COURSE_DEVICE"  # where the chapters' experiments train: see course_device()


def show_progress(progress: bool | None) -> bool:
    """Whether fit() shows a tqdm bar: ``progress`` when it is True or False; None: whether anyone watches.

    None resolves, in this order: LSTM_COURSE_PROGRESS=1 or 0 when set; off when the CI variable is set; on
    when stderr is a terminal; on in a Jupyter kernel whose current cell a person ran (JupyterLab, the classic
    notebook, VS Code and Colab send cells with ``allow_stdin``); off otherwise, notably when a notebook runs
    unattended (the book build, ``jupytext --execute`` and nbclient send cells without ``allow_stdin``).
    """
    if progress is not None:
        return progress
    forced = os.environ.get(PROGRESS_ENV, "").strip()
    if forced:
        if forced not in ("0", "1"):
            raise ValueError(f"{PROGRESS_ENV} must be 1 or 0 (or unset), got {forced!r}")
        return forced == "1"
    if os.environ.get("CI"):
        return False
    return _stderr_is_a_terminal() or _interactive_kernel()


def _stderr_is_a_terminal() -> bool:
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


def _interactive_kernel() -> bool:
    """True in an IPython kernel executing a cell whose request allows stdin, i.e. one a person ran."""
    ipython = sys.modules.get("IPython")  # never imported here: outside IPython there is no kernel
    shell = ipython.get_ipython() if ipython is not None else None
    kernel = getattr(shell, "kernel", None)
    return bool(getattr(kernel, "_allow_stdin", False))


def course_device() -> str:
    """The device the chapters' experiments train on: LSTM_COURSE_DEVICE, the CPU when it is unset.

    "cpu" (the default, how the book is built), "cuda", "cuda:1", "mps", or "auto": the first of CUDA, MPS and
    the CPU this machine has (:func:`lstm_course.nn.pick_device`). Every experiment's ``*_training()``
    config starts from it, so one variable moves every chapter. A value this machine cannot use is a
    ValueError naming the variable.
    """
    value = os.environ.get(DEVICE_ENV, "").strip() or "cpu"
    if value == "auto":
        return str(pick_device())
    try:
        _device(DEVICE_ENV, value)
    except (TypeError, ValueError) as err:
        reason = str(err).replace(f"TrainConfig.{DEVICE_ENV}", DEVICE_ENV)
        raise ValueError(f"{reason} (set {DEVICE_ENV} to cpu, cuda, cuda:N, mps or auto)") from None
    return value


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
    model: Model,
    batch_fn: Callable[[np.random.Generator], tuple[Any, Any]],
    loss_fn: Callable[[Model, Tensor, Tensor], Tensor],
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
    from tqdm.auto import tqdm  # type: ignore[import-untyped]

    return tqdm(total=config.steps, desc="fit", leave=False)


def _reached_target(losses: list[float], config: TrainConfig) -> bool:
    window = config.target_window
    return (
        config.target_loss is not None
        and len(losses) >= window
        and sum(losses[-window:]) / window < (config.target_loss)
    )


# ---- checkpoints ---------------------------------------------------------------------------------------

# Exact types (no subclasses) that torch.load(weights_only=True) gives back as the same thing.
_PLAIN_TYPES = (str, int, float, bool, type(None))
_CONTAINER_TYPES = (list, tuple, dict)
MAX_METADATA_DEPTH = 100  # deeper metadata is refused: pickling it would hit Python's recursion limit
PAYLOAD_ENTRIES: dict[str, type | tuple[type, ...]] = {
    "format": str,
    "model": dict,
    "optimizer": (dict, type(None)),
    "metadata": dict,
}
# The per-parameter optimizer state that has its parameter's shape: Adam's moments, SGD's momentum.
PARAMETER_SHAPED_STATE = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq", "momentum_buffer")


def _type_name(value: Any) -> str:
    """'float' for a builtin, 'numpy.float64' or 'collections.defaultdict' for anything else."""
    kind = type(value)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def _check_plain(value: Any, where: str, open_containers: set[int], depth: int = 0) -> None:
    """Raise unless value is plain data of exact types: str, int, float, bool, None, torch.Tensor, and
    list/tuple/dict of them (with str, number, bool or None keys), holding no container inside itself."""
    kind = type(value)
    if kind in _PLAIN_TYPES or kind is Tensor:
        return
    if kind not in _CONTAINER_TYPES:
        raise TypeError(
            f"save_checkpoint: {where} is a {_type_name(value)}; only str, int, float, bool, None, "
            "torch.Tensor and lists/tuples/dicts of them can be saved, as exactly those types (no "
            "subclasses), because only they load back with weights_only=True. Convert it first, "
            "e.g. float(x) for a NumPy number, int(x) for an IntEnum, dict(x) for a defaultdict"
        )
    if id(value) in open_containers:
        raise ValueError(f"save_checkpoint: {where} refers to itself (a container inside itself)")
    if depth >= MAX_METADATA_DEPTH:
        raise ValueError(f"save_checkpoint: {where} is nested deeper than {MAX_METADATA_DEPTH} levels")
    open_containers.add(id(value))
    for key, item in value.items() if kind is dict else enumerate(value):
        if kind is dict and type(key) not in _PLAIN_TYPES:
            raise TypeError(
                f"save_checkpoint: {where} has a key {key!r} of type {_type_name(key)}; "
                "keys must be exactly str, int, float, bool or None"
            )
        _check_plain(item, f"{where}[{key!r}]", open_containers, depth + 1)
    open_containers.discard(id(value))


def _read_back(data: bytes) -> Any:
    """torch.load(weights_only=True) of bytes torch.save wrote."""
    with warnings.catch_warnings():  # a foreign pickle protocol: the caller refuses the file if it matters
        warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def save_checkpoint(path: str | os.PathLike, model: nn.Module, optimizer=None, **metadata) -> Path:
    """Save the model's (and optionally the optimizer's) state and plain metadata; returns the path.

    Saves only what load_checkpoint loads. Metadata must be exactly str, int, float, bool, None,
    torch.Tensor, or lists/tuples/dicts of them: anything else (a NumPy number, an IntEnum, a str subclass,
    a namedtuple, a defaultdict, a container inside itself) is refused with an error naming the entry and
    its type, never converted, so what loads is what was saved. The file is read back before it replaces
    path, so a refused save leaves an existing checkpoint there as it was.
    """
    _check_plain(metadata, "metadata", open_containers=set())
    path = Path(path)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "model": model.state_dict(),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "metadata": metadata,
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    data = buffer.getvalue()
    try:
        _read_back(data)
    except Exception as err:
        raise TypeError(
            "save_checkpoint: the model's or the optimizer's state would not load back with "
            f"weights_only=True, so nothing was saved: {_first_line(err)}"
        ) from None
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def _first_line(err: BaseException) -> str:
    """The first non-empty line of an error's message, or its type's name."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__


def _pickled_global(path: Path, err: BaseException) -> str | None:
    """The Python global ('posix.system') a refused pickle would have called, or None when it calls none.

    torch names it for the pickles it reads; a plain pickle it refuses before reaching one is scanned
    opcode by opcode with pickletools, which reads the stream without running any of it.
    """
    # recent torch says "Unsupported global: GLOBAL posix.system", torch 2.1 "Unsupported class posix.system"
    found = re.search(r"(?:GLOBAL|Unsupported class) ([\w.]+)", str(err))
    if found:
        return found.group(1)
    with open(path, "rb") as file:
        if file.read(1) != b"\x80":
            return None
        file.seek(0)
        strings: list[str] = []
        try:
            for opcode, argument, _ in pickletools.genops(file):
                if opcode.name in ("GLOBAL", "INST"):
                    return str(argument).replace(" ", ".")
                if opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
                    return ".".join(strings[-2:])
                if isinstance(argument, str):
                    strings.append(argument)
        except Exception:  # a damaged pickle: whatever came before it held no global
            return None
    return None


def _why_unreadable(path: Path, header: bytes, err: BaseException) -> str:
    """What is wrong with a file torch.load(weights_only=True) refused, in one sentence; header: its start."""
    called = _pickled_global(path, err)
    if called is not None:
        return (
            f"refusing {path}: it holds pickled Python objects ({called}), not only tensors and plain "
            "data, so it was not loaded (nothing in it ran)"
        )
    if header.startswith(b"PK\x03\x04"):
        return (
            f"{path} is damaged: a zip archive (torch.save's format) that can't be read, "
            f"e.g. truncated ({_first_line(err)})"
        )
    if header.startswith(b"\x80"):
        return (
            f"refusing {path}: it is a pickle, but not in torch.save's format, or damaged "
            f"(nothing in it ran): {_first_line(err)}"
        )
    text = header.decode("utf-8", errors="replace")
    # a full 64-byte header may end inside a character; what comes before it decides
    whole = text[:-3] if len(header) == 64 else text
    if all((character.isprintable() and character != "\ufffd") or character.isspace() for character in whole):
        return f"{path} is a text file, not a checkpoint (it starts with {text[:40]!r})"
    return (
        f"{path} is not a checkpoint: it is neither torch.save's zip format nor a pickle "
        f"(it starts with {header[:8]!r})"
    )


def _read_checkpoint(path: Path, device: torch.device) -> dict:
    """The payload of a file save_checkpoint wrote, loaded with weights_only=True; ValueError otherwise."""
    # a missing file, a folder or no permission raise their usual OSError here: the file is not broken
    with open(path, "rb") as file:
        header = file.read(64)
    if not header:
        raise ValueError(f"load_checkpoint: {path} is empty (0 bytes), not a checkpoint")
    try:
        with warnings.catch_warnings():  # a foreign pickle protocol: we refuse the file below if it matters
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            payload = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:
        raise ValueError(f"load_checkpoint: {_why_unreadable(path, header, err)}") from None
    not_ours = f"load_checkpoint: {path} is not a checkpoint written by save_checkpoint"
    if not isinstance(payload, dict):
        raise ValueError(f"{not_ours} (it holds a {_type_name(payload)}, not a dict)")
    if "format" not in payload:
        raise ValueError(f"{not_ours} (it has no 'format' entry)")
    if payload["format"] != CHECKPOINT_FORMAT:
        raise ValueError(
            f"load_checkpoint: {path} has format {payload['format']!r}; "
            f"this version reads {CHECKPOINT_FORMAT!r}"
        )
    unexpected = sorted(map(repr, payload.keys() - PAYLOAD_ENTRIES.keys()))
    if unexpected:
        raise ValueError(f"{not_ours} (unexpected entries {', '.join(unexpected)})")
    for entry, kinds in PAYLOAD_ENTRIES.items():
        if entry not in payload:
            raise ValueError(f"load_checkpoint: {path} has no {entry!r} entry")
        if not isinstance(payload[entry], kinds):
            raise ValueError(
                f"load_checkpoint: {path}: its {entry!r} entry is a {_type_name(payload[entry])}, not a dict"
            )
    return payload


def _check_model_state(path: Path, saved: dict, model: nn.Module) -> None:
    """Raise unless saved has exactly the model's state_dict keys, as tensors of the same shapes and kinds."""
    ours = model.state_dict()
    missing = [key for key in ours if key not in saved]
    unexpected = [key for key in saved if key not in ours]
    if missing or unexpected:
        raise ValueError(
            f"load_checkpoint: {path} does not fit this model (a different architecture?): "
            f"missing {missing}, unexpected {unexpected}"
        )
    wrong_shapes = []
    for key, own in ours.items():
        tensor = saved[key]
        if not isinstance(own, Tensor):
            continue
        if not isinstance(tensor, Tensor):
            raise ValueError(
                f"load_checkpoint: {path}: model entry {key!r} is a {_type_name(tensor)}, not a tensor"
            )
        same_kind = tensor.is_floating_point() == own.is_floating_point() and (
            tensor.is_complex() == own.is_complex()
        )
        if not same_kind or tensor.layout != own.layout or (tensor.is_meta and not own.is_meta):
            raise ValueError(
                f"load_checkpoint: {path}: model entry {key!r} is a {tensor.dtype} {tensor.layout} tensor "
                f"on {tensor.device.type}; this model holds a {own.dtype} {own.layout} one there"
            )
        if tensor.shape != own.shape:
            wrong_shapes.append(f"{key}: checkpoint {tuple(tensor.shape)}, model {tuple(own.shape)}")
    if wrong_shapes:
        raise ValueError(
            f"load_checkpoint: {path} holds a different architecture (cell, sizes or layers): "
            f"its weights' shapes differ from this model's: {'; '.join(wrong_shapes)}"
        )


def _check_optimizer_state(path: Path, saved: dict | None, optimizer: torch.optim.Optimizer) -> None:
    """Raise unless saved is an optimizer state_dict with optimizer's groups, sizes and state shapes."""
    if saved is None:
        raise ValueError(f"load_checkpoint: {path} holds no optimizer state, but an optimizer was passed")
    state, groups = saved.get("state"), saved.get("param_groups")
    if (
        not isinstance(state, dict)
        or not isinstance(groups, list)
        or not all(isinstance(group, dict) and isinstance(group.get("params"), list) for group in groups)
        or not all(type(saved_id) is int for group in groups for saved_id in group["params"])
    ):
        raise ValueError(
            f"load_checkpoint: {path}: its 'optimizer' entry is not an optimizer state_dict "
            "(a dict of 'state' and 'param_groups' with their 'params')"
        )
    doesnt_fit = f"load_checkpoint: {path} does not fit this optimizer"
    if len(groups) != len(optimizer.param_groups):
        raise ValueError(
            f"{doesnt_fit}: it has {len(optimizer.param_groups)} parameter groups, "
            f"the checkpoint's optimizer had {len(groups)}"
        )
    for index, (group, own) in enumerate(zip(groups, optimizer.param_groups, strict=True)):
        if len(group["params"]) != len(own["params"]):
            raise ValueError(
                f"{doesnt_fit}: its group {index} has {len(own['params'])} parameters, "
                f"the checkpoint's had {len(group['params'])}"
            )
    parameters = {
        saved_id: parameter
        for group, own in zip(groups, optimizer.param_groups, strict=True)
        for saved_id, parameter in zip(group["params"], own["params"], strict=True)
    }
    for saved_id, per_parameter in state.items():
        if saved_id not in parameters or not isinstance(per_parameter, dict):
            raise ValueError(
                f"{doesnt_fit}: its state for parameter {saved_id!r} belongs to no parameter group"
            )
        parameter = parameters[saved_id]
        for name in PARAMETER_SHAPED_STATE:
            value = per_parameter.get(name)
            if isinstance(value, Tensor) and value.shape != parameter.shape:
                raise ValueError(
                    f"{doesnt_fit}: the saved {name} of parameter {saved_id} has shape {tuple(value.shape)}, "
                    f"the parameter has shape {tuple(parameter.shape)}"
                )


def _check_optimizer_groups(path: Path, optimizer: torch.optim.Optimizer) -> None:
    """Raise unless every loaded group has every hyperparameter the optimizer's type needs."""
    for index, group in enumerate(optimizer.param_groups):
        missing = sorted(optimizer.defaults.keys() - group.keys())
        if missing:
            raise ValueError(
                f"load_checkpoint: {path}: its optimizer state does not fit this "
                f"{type(optimizer).__name__}: group {index} lacks {missing} (saved from another optimizer?)"
            )


def _load_all_or_nothing(path: Path, payload: dict, model: nn.Module, optimizer) -> None:
    """Load the checked payload into model and optimizer; if anything still fails, put both back."""
    model_before = {
        key: value.detach().clone() if isinstance(value, Tensor) else copy.deepcopy(value)
        for key, value in model.state_dict().items()
    }
    optimizer_before = None if optimizer is None else copy.deepcopy(optimizer.state_dict())
    try:
        model.load_state_dict(payload["model"])
        if optimizer is not None:
            optimizer.load_state_dict(payload["optimizer"])
            _check_optimizer_groups(path, optimizer)
    except Exception as err:
        model.load_state_dict(model_before)
        if optimizer is not None:
            optimizer.load_state_dict(optimizer_before)
        if isinstance(err, ValueError) and str(err).startswith("load_checkpoint"):
            raise
        raise ValueError(
            f"load_checkpoint: {path} does not fit this model or optimizer, so nothing was changed: "
            f"{_first_line(err)}"
        ) from err


def load_checkpoint(path: str | os.PathLike, model: nn.Module, optimizer=None) -> dict:
    """Load a checkpoint from save_checkpoint into model (and optimizer); returns the metadata dict.

    All or nothing: the file's format and entries, every weight's presence and shape, and (when an optimizer
    is passed) the optimizer state's presence, groups and shapes are checked before the model or the
    optimizer is touched; a refused checkpoint raises a ValueError saying what is wrong and changes
    nothing. Loads with torch.load(weights_only=True): a file holding any other pickled object is refused
    before any of its code can run.
    """
    path = Path(path)
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    payload = _read_checkpoint(path, device)
    _check_model_state(path, payload["model"], model)
    if optimizer is not None:
        _check_optimizer_state(path, payload["optimizer"], optimizer)
    _load_all_or_nothing(path, payload, model, optimizer)
    return payload["metadata"]
