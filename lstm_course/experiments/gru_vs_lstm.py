"""The GRU against the LSTM, measured: size, speed, long lags, copying, counting and small data.

Every run is bounded by steps, never by wall-clock time, so the book computes the same numbers on every
machine. Every model starts from ``torch.nn``'s initial weights for its seed; the LSTM trains on
``torch.nn.LSTM`` and the GRU on our fast path (:data:`TRAINS_ON`): the same functions (chapter 5 shows the
three implementations agree), and at these sizes on one CPU thread the faster of each pair, torch's LSTM
because it has a fused kernel, our GRU because torch's GRU has none.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lstm_course.experiments.adding import first_below, mse
from lstm_course.experiments.gradient_flow import GradientFlow, flow_by_cell, jacobian_norms
from lstm_course.experiments.implementations import carrying_weights
from lstm_course.experiments.threads import torch_threads
from lstm_course.nn import GRU, LSTM
from lstm_course.reference import gru_forward, init_params
from lstm_course.reference.convert import layer_params, params_from_state_dict
from lstm_course.tasks import adding_batch
from lstm_course.tasks.anbn import IGNORE as ANBN_IGNORE
from lstm_course.tasks.anbn import anbn_batch, random_ns
from lstm_course.tasks.copy import IGNORE as COPY_IGNORE
from lstm_course.tasks.copy import copy_batch
from lstm_course.train import TrainConfig, course_device, fit

TORCH_LAYERS = {"lstm": nn.LSTM, "gru": nn.GRU}
OUR_LAYERS = {"lstm": LSTM, "gru": GRU}
LABELS = {"lstm": "LSTM", "gru": "GRU"}
#: What each cell trains on (an implementation of :mod:`~lstm_course.experiments.implementations`).
TRAINS_ON = {"lstm": "torch", "gru": "fast"}


# --- the three implementations ------------------------------------------------------------------------------


def three_grus(
    *, input_size: int = 3, hidden_size: int = 5, T: int = 7, batch_size: int = 2, seed: int = 0
) -> dict[str, dict[str, float]]:
    """Max |difference| from torch.nn.GRU of the outputs (T, B, H) and final h of the others, in float64."""
    torch.manual_seed(seed)
    theirs = torch.nn.GRU(input_size, hidden_size).double()
    ours = GRU(input_size, hidden_size).double()
    ours.load_state_dict(theirs.state_dict())  # same names, same shapes: no reshuffling
    params = layer_params(params_from_state_dict(theirs.state_dict()), 0)
    x = np.random.default_rng(seed).standard_normal((T, batch_size, input_size))
    with torch.no_grad():
        out_t, h_t = theirs(torch.from_numpy(x))
        out_o, h_o = ours(torch.from_numpy(x))
    out_r, h_r, _ = gru_forward(x, params)

    def gap(a, b) -> float:
        return float(np.abs(np.asarray(a) - np.asarray(b)).max())

    return {
        "lstm_course.nn.GRU": {"out": gap(out_o, out_t), "h_T": gap(h_o[0], h_t[0])},
        "reference.gru_forward": {"out": gap(out_r, out_t), "h_T": gap(h_r, h_t[0])},
    }


# --- gradient at initialisation -----------------------------------------------------------------------------


def flow_gru_and_lstm(
    *,
    forget_biases: Sequence[float] = (0.0, 1.0),
    update_biases: Sequence[float] = (0.0, 2.0),
    hidden_size: int = 64,
    T: int = 200,
    seed: int = 0,
) -> dict[str, GradientFlow]:
    """||dh_T/dx_t|| by lag at torch's default init: chapter 4's RNN and LSTMs (each of ``forget_biases``),
    and GRUs whose update-gate bias b_iz + b_hz is shifted by each of ``update_biases`` (0: torch's)."""
    flows = flow_by_cell(forget_biases, hidden_size=hidden_size, T=T, seed=seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T, 8))  # the input flow_by_cell draws first from the same seed
    H = hidden_size
    base = init_params("gru", 8, H, rng)  # one set of weights; only the update bias differs
    for bias in update_biases:
        params = {name: value.copy() for name, value in base.items()}
        params["bias_hh"][H : 2 * H] += bias  # z = sigma(... + b_hz): a larger z keeps more of h_{t-1}
        label = "GRU" if bias == 0 else f"GRU, update bias +{bias:g}"
        flows[label] = jacobian_norms("gru", params, x)
    return flows


# --- size and speed -----------------------------------------------------------------------------------------


def parameter_count(cell: str, input_size: int, hidden_size: int) -> int:
    """Scalars in one torch.nn layer: G (H (D + H) + 2 H) with G = 4 for the LSTM and 3 for the GRU."""
    return sum(p.numel() for p in TORCH_LAYERS[cell](input_size, hidden_size).parameters())


def _seconds_per_pass(layer: nn.Module, x: Tensor) -> float:
    """The wall time of one forward and backward pass through ``layer``."""
    start = time.perf_counter()
    layer.zero_grad()
    out, _ = layer(x)
    out[-1].sum().backward()
    return time.perf_counter() - start


def paired_ms_per_step(
    layers: dict[str, nn.Module], *, T: int = 100, batch_size: int = 32, repeats: int = 9, seed: int = 0
) -> dict[str, float]:
    """{name: median ms of one forward and backward pass} on one thread, and "GRU / LSTM": the median of the
    per-round ratios. The layers take turns in every round, so a change in the machine's load between rounds
    slows all of them alike and cancels in the ratio."""
    input_size = getattr(next(iter(layers.values())), "input_size", None)
    if not isinstance(input_size, int):
        raise TypeError("layers must be recurrent layers with an int input_size (torch.nn's or ours)")
    x = torch.randn(T, batch_size, input_size, generator=torch.Generator().manual_seed(seed))
    times: dict[str, list[float]] = {name: [] for name in layers}
    with torch_threads(1):
        for _ in range(repeats + 1):  # the first round warms up and is dropped
            for name, layer in layers.items():
                times[name].append(_seconds_per_pass(layer, x))
    result = {name: 1e3 * float(np.median(values[1:])) for name, values in times.items()}
    result["GRU / LSTM"] = float(np.median(np.array(times["GRU"][1:]) / np.array(times["LSTM"][1:])))
    return result


#: A GRU / LSTM time ratio within this factor of 1 counts as about even.
EVEN = 1.5


def speed_text(ratio: float) -> str:
    """ "GRU faster", "LSTM faster" or "about even" for a GRU / LSTM time ratio."""
    return "GRU faster" if ratio < 1 / EVEN else "LSTM faster" if ratio > EVEN else "about even"


def speed_table(*, input_size: int = 2, hidden_size: int = 32, T: int = 100, batch_size: int = 32) -> dict:
    """{implementation: {"LSTM": ms, "GRU": ms, "GRU / LSTM": ratio}} for torch.nn and our modules (fast=True
    and autograd), the two cells timed in turns (:func:`paired_ms_per_step`)."""
    torch.manual_seed(0)
    makers: dict[str, Callable[[str], nn.Module]] = {
        "torch.nn": lambda cell: TORCH_LAYERS[cell](input_size, hidden_size),
        "lstm_course.nn, fast=True": lambda cell: OUR_LAYERS[cell](input_size, hidden_size, fast=True),
        "lstm_course.nn, autograd": lambda cell: OUR_LAYERS[cell](input_size, hidden_size),
    }
    return {
        name: paired_ms_per_step(
            {LABELS[cell]: make(cell) for cell in ("lstm", "gru")}, T=T, batch_size=batch_size
        )
        for name, make in makers.items()
    }


# --- the models ---------------------------------------------------------------------------------------------


class Reader(nn.Module):
    """An LSTM or GRU, then a Linear on every step (``every_step``) or on the last state.

    The weights are drawn as torch.nn's layer draws them; the layer then trains on ``implementation``
    (default :data:`TRAINS_ON` of the cell): torch.nn's own, or ours ("fast", "plain") carrying those weights.
    """

    def __init__(
        self,
        cell: str,
        input_size: int,
        hidden_size: int,
        output_size: int,
        every_step: bool,
        implementation: str | None = None,
    ):
        super().__init__()
        implementation = TRAINS_ON[cell] if implementation is None else implementation
        self.cell = cell
        self.rnn = carrying_weights(TORCH_LAYERS[cell](input_size, hidden_size), cell, implementation)
        self.head = nn.Linear(hidden_size, output_size)
        self.every_step = every_step

    def forward(self, x: Tensor) -> Tensor:
        """x (T, B, D) -> (T, B, output_size) or, reading the last state, (B, output_size)."""
        out, _ = self.rnn(x)  # (T, B, H)
        return self.head(out if self.every_step else out[-1])


@dataclass(frozen=True)
class TaskConfig:
    """The model of a comparison run (which task and how it trains come separately)."""

    cell: str = "gru"  # "lstm" | "gru"
    hidden_size: int = 16  # H
    batch_size: int = 32  # sequences per step
    threads: int | None = 1  # torch threads while training (tiny models: one is fastest)


def comparison_training(**changes) -> TrainConfig:
    """How the comparisons train: Adam at 1e-2, clipped at norm 1, 400 steps, seed 0, ``course_device()``."""
    defaults = TrainConfig(steps=400, lr=1e-2, clip=1.0, seed=0, device=course_device())
    return replace(defaults, **changes)


def _train(model: nn.Module, batches, loss_fn, training: TrainConfig, threads: int | None):
    with torch_threads(threads):
        return fit(model, batches, loss_fn, training)


def _model(config: TaskConfig, input_size: int, output_size: int, every_step: bool, seed: int) -> Reader:
    torch.manual_seed(seed)  # the initial weights depend on the seed
    return Reader(config.cell, input_size, config.hidden_size, output_size, every_step)


# --- the adding problem: steps to solve ---------------------------------------------------------------------


def adding_steps(
    config: TaskConfig, training: TrainConfig, *, T: int = 100, threshold: float = 0.01
) -> int | None:
    """The first step whose trailing mean MSE on adding problems of length T is below ``threshold`` (None:
    not within ``training.steps``); training stops there."""
    training = replace(training, target_loss=threshold)
    model = _model(config, 2, 1, every_step=False, seed=training.seed)
    history = _train(
        model, lambda rng: adding_batch(config.batch_size, T, rng), mse, training, config.threads
    )
    return first_below(history.loss, threshold, window=training.target_window)


# --- copying ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CopyTask:
    """The copy task's sizes, and an optional fixed training set (the small-data runs)."""

    length: int = 5  # symbols to copy
    delay: int = 20  # blank steps between reading and writing
    symbols: int = 8  # alphabet size: guessing scores 1 / symbols
    train_size: int | None = None  # None: a fresh batch every step; else a fixed set of this many sequences


def _cross_entropy(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    logits = model(x)  # (T, B, K)
    return F.cross_entropy(logits.flatten(0, 1), y.flatten(), ignore_index=COPY_IGNORE)


def copy_accuracy(config: TaskConfig, task: CopyTask, training: TrainConfig, test_size: int = 500) -> float:
    """Symbol accuracy on ``test_size`` fresh sequences after training on the copy task."""
    model = _model(config, task.symbols + 2, task.symbols, every_step=True, seed=training.seed)
    if task.train_size is None:

        def batches(rng: np.random.Generator):
            return copy_batch(config.batch_size, task.length, task.delay, rng, task.symbols)
    else:
        data_x, data_y = copy_batch(
            task.train_size, task.length, task.delay, np.random.default_rng([training.seed, 1]), task.symbols
        )

        def batches(rng: np.random.Generator):
            pick = rng.integers(0, task.train_size, size=config.batch_size)
            return data_x[:, pick], data_y[:, pick]

    _train(model, batches, _cross_entropy, training, config.threads)
    x, y = copy_batch(test_size, task.length, task.delay, np.random.default_rng(10**6), task.symbols)
    with torch.no_grad():
        predicted = model(torch.from_numpy(x)).argmax(-1).numpy()
    scored = y != COPY_IGNORE
    return float((predicted[scored] == y[scored]).mean())


# --- counting: aⁿbⁿ -----------------------------------------------------------------------------------------


def _binary(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    logits = model(x)[..., 0]  # (T, B)
    scored = y != ANBN_IGNORE
    return F.binary_cross_entropy_with_logits(logits[scored], y[scored])


def anbn_right(model: nn.Module, ns: np.ndarray) -> np.ndarray:
    """(len(ns),) bool: whether the model answers every b of aⁿbⁿ right, for each n in ``ns``."""
    x, y = anbn_batch(np.asarray(ns))
    with torch.no_grad():
        last = model(torch.from_numpy(x))[..., 0].numpy() > 0  # (T, B): "this b is the last one"
    scored = y != ANBN_IGNORE
    return np.array([np.all(last[scored[:, b], b] == (y[scored[:, b], b] == 1)) for b in range(len(ns))])


def generalises_to(right: np.ndarray, ns: np.ndarray) -> int:
    """The largest n such that every n' <= n in ``ns`` (1, 2, ...) is answered right (0 if n = 1 is not)."""
    wrong = np.flatnonzero(~right)
    return int(ns[-1]) if wrong.size == 0 else int(ns[wrong[0]] - 1)


class CountingRun(NamedTuple):
    """A model trained on aⁿbⁿ for n <= max_n, and the largest n up to which it answers every string right."""

    model: Reader
    generalises_to: int
    train_loss: float  # mean of the last 50 losses


def train_anbn(
    config: TaskConfig, training: TrainConfig, *, max_n: int = 10, test_up_to: int = 100
) -> CountingRun:
    """Train on aⁿbⁿ, n uniform in 1 .. ``max_n``; test every n in 1 .. ``test_up_to``."""
    model = _model(config, 2, 1, every_step=True, seed=training.seed)
    history = _train(
        model,
        lambda rng: anbn_batch(random_ns(config.batch_size, max_n, rng)),
        _binary,
        training,
        config.threads,
    )
    ns = np.arange(1, test_up_to + 1)
    return CountingRun(model, generalises_to(anbn_right(model, ns), ns), float(np.mean(history.loss[-50:])))


def anbn_states(model: Reader, n: int) -> np.ndarray:
    """(2n, H) the state the model counts with over aⁿbⁿ: the LSTM's cell c_t, the GRU's h_t."""
    x = torch.from_numpy(anbn_batch(np.array([n]))[0])
    with torch.no_grad():
        if model.cell == "gru":
            return model.rnn(x)[0][:, 0].numpy()
        cells, state = [], None
        for x_t in x:  # one step at a time: torch.nn.LSTM returns only the last c
            _, state = model.rnn(x_t[None], state)
            cells.append(state[1][0, 0].numpy())
        return np.stack(cells)


# --- verdicts -----------------------------------------------------------------------------------------------


class Comparison(NamedTuple):
    """Two sets of numbers over seeds (higher is better unless ``lower_is_better``) and what they say."""

    winner: str | None  # the label of the better one, or None: the seeds disagree as much as the gap
    gap: float  # |median a - median b|
    spread: float  # the larger range (max - min) of the two


def compare(
    a: Sequence[float], b: Sequence[float], labels=("LSTM", "GRU"), lower_is_better=False
) -> Comparison:
    """Which of a and b is better, when the gap of the medians exceeds the larger range over seeds."""
    first, second = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    gap = float(abs(np.median(first) - np.median(second)))
    spread = float(max(np.ptp(first), np.ptp(second)))
    if gap <= spread:
        return Comparison(None, gap, spread)
    a_better = (np.median(first) < np.median(second)) == lower_is_better
    return Comparison(labels[0] if a_better else labels[1], gap, spread)


def steps_or_cap(steps: Sequence[int | None], cap: int) -> list[int]:
    """Steps to solve; an unsolved run (None) counts as ``cap`` + 1, a lower bound on its true value."""
    return [cap + 1 if s is None else s for s in steps]


def _long_lag_verdict(comparisons: Sequence[tuple[str, Comparison]]) -> tuple[str, str]:
    winners = [comparison.winner for _, comparison in comparisons]
    because = "; ".join(f"{task}: {comparison.winner or 'cannot decide'}" for task, comparison in comparisons)
    decided = [winner for winner in winners if winner is not None]
    if not decided:
        return "the data cannot decide", because
    if all(winner == "LSTM" for winner in decided) and len(decided) == len(winners):
        return "supported", because
    if "LSTM" not in decided:
        return "unsupported", because
    return "depends", because


def claim_verdicts(
    *,
    parameters: dict[str, float],
    speed: dict[str, dict[str, float]],
    long_lags: Sequence[Comparison],
    small_data: Comparison,
    long_lag_tasks: Sequence[str] = ("adding T = 100", "copy", "aⁿbⁿ counting"),
) -> dict[str, tuple[str, str, str]]:
    """{claim: (verdict, because, literature)} from the measurements.

    Args:
        parameters: {"LSTM": count, "GRU": count} at equal H.
        speed: {implementation: {"LSTM": ms, "GRU": ms}}.
        long_lags: one Comparison per task in ``long_lag_tasks`` (labels "LSTM", "GRU").
        small_data: the Comparison with 10% of the data.
    """
    ratios = {name: row.get("GRU / LSTM", row["GRU"] / row["LSTM"]) for name, row in speed.items()}
    faster = [speed_text(ratio) == "GRU faster" for ratio in ratios.values()]
    speed_verdict = "supported" if all(faster) else "depends" if any(faster) else "unsupported"
    long_verdict, long_because = _long_lag_verdict(list(zip(long_lag_tasks, long_lags, strict=True)))
    small_verdict = {None: "the data cannot decide", "GRU": "supported", "LSTM": "unsupported"}[
        small_data.winner
    ]
    return {
        "GRU has fewer parameters": (
            "supported" if parameters["GRU"] < parameters["LSTM"] else "unsupported",
            f"GRU / LSTM = {parameters['GRU'] / parameters['LSTM']:.2f} at equal H",
            "3 blocks instead of 4 (torch's two-bias layout; Keras' one-bias layout differs)",
        ),
        "GRU is faster": (
            speed_verdict,
            "GRU / LSTM time per step: " + ", ".join(f"{name} {ratio:.2f}" for name, ratio in ratios.items()),
            "implementation-dependent: on the CPU only torch.nn.LSTM has a fused kernel",
        ),
        "LSTM for long sequences": (
            long_verdict,
            long_because,
            "Weiss et al. 2018: the LSTM counts, the GRU does not; Jozefowicz et al. 2015: the GRU beat "
            "the LSTM on all but language modelling",
        ),
        "GRU better on small data": (
            small_verdict,
            f"10% of the data: gap {small_data.gap:.3g}, seed range {small_data.spread:.3g}"
            + (f", {small_data.winner} better" if small_data.winner else ""),
            "no study found treats dataset size as the variable; Chung et al. 2014 and Greff et al. 2017 "
            "find no consistent winner",
        ),
    }


def compare_steps(
    a: Sequence[int | None], b: Sequence[int | None], cap: int, labels=("LSTM", "GRU")
) -> Comparison:
    """Steps to solve, where None is a run not solved within ``cap`` (its true value is unknown, > cap).

    One cell is better when every one of its runs took at most as many steps as every run of the other and it
    solved more runs; otherwise :func:`compare` on the steps, with unsolved runs counted as cap + 1.
    """
    a_steps, b_steps = steps_or_cap(a, cap), steps_or_cap(b, cap)
    solved_a, solved_b = sum(s is not None for s in a), sum(s is not None for s in b)
    gap = float(abs(np.median(a_steps) - np.median(b_steps)))
    spread = float(max(np.ptp(a_steps), np.ptp(b_steps)))
    if max(a_steps) <= min(b_steps) and solved_a > solved_b:
        return Comparison(labels[0], gap, spread)
    if max(b_steps) <= min(a_steps) and solved_b > solved_a:
        return Comparison(labels[1], gap, spread)
    return compare(a_steps, b_steps, labels, lower_is_better=True)
