"""Gate stories, measured: train on the two-subject grammar, then read the gates of the trained LSTM.

The model (``SequenceTagger`` over one-hot words) is trained with ``fit``; its weights are then run
through the NumPy reference's ``lstm_step_forward``, whose cache holds every gate value, so the chapter's
plots come from the equations.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from lstm_course.cellspec import SPECS
from lstm_course.experiments.implementations import check_implementation, with_implementation
from lstm_course.experiments.threads import torch_threads
from lstm_course.nn import SequenceTagger
from lstm_course.reference import lstm_step_forward
from lstm_course.tasks.grammar import IGNORE, VOCAB, GrammarBatch, encode, grammar_batch, story
from lstm_course.train import History, TrainConfig, course_device, fit


class GateTrace(NamedTuple):
    """Words (T,) and, each (T, H) (or (T, B, H)), the gates i, f, g, o and the states c, h."""

    words: list[str]
    i: np.ndarray
    f: np.ndarray
    g: np.ndarray
    o: np.ndarray
    c: np.ndarray
    h: np.ndarray


def tagger_loss(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the logits (T, B, V) at the scored steps of ``y`` (T, B); the rest is ignored."""
    logits = model(x)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=IGNORE)


@dataclass(frozen=True)
class GrammarConfig:
    """The tagger and its stories (how it trains is a TrainConfig)."""

    cell: str = "lstm"  # "rnn" | "lstm" | "gru"
    hidden_size: int = 32  # H
    batch_size: int = 32  # stories per step
    max_phrases: int = 4  # phrases between a subject and its verb, at most: longer means longer lags
    threads: int | None = 1  # torch threads while training (tiny models: one is fastest); None leaves it
    # "fast" | "plain" | "torch". torch.nn's LSTM trains this shape faster (8 against 14 ms a step, one
    # thread), its RNN does not, and 800 steps of both cost about 20 s either way: the chapter keeps the
    # models it reads.
    implementation: str = "fast"

    def __post_init__(self) -> None:
        check_implementation(self.implementation)


def grammar_training(**changes) -> TrainConfig:
    """How the chapter trains the grammar taggers, with ``changes`` to any TrainConfig field.

    Adam at 1e-2, clipped at norm 1, 800 steps; seed 0, on ``course_device()``.
    """
    return replace(TrainConfig(steps=800, lr=1e-2, seed=0, device=course_device()), **changes)


def train_grammar(
    config: GrammarConfig = GrammarConfig(), training: TrainConfig | None = None
) -> tuple[SequenceTagger, History]:
    """Train a ``config.cell`` tagger to predict the agreeing words of grammar stories: (model, History).

    ``training`` defaults to :func:`grammar_training`; its seed also seeds the initial weights.
    """
    training = grammar_training() if training is None else training
    torch.manual_seed(training.seed)
    model = SequenceTagger(config.cell, len(VOCAB), config.hidden_size, len(VOCAB))
    with_implementation(model, config.implementation)  # in place

    def batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        stories = grammar_batch(config.batch_size, rng, max_phrases=config.max_phrases)
        return stories.x, stories.y

    with torch_threads(config.threads):
        return model, fit(model, batch, tagger_loss, training)


def predictions(model: torch.nn.Module, batch: GrammarBatch) -> np.ndarray:
    """(T, B) the model's most likely next word at every step."""
    param = next(model.parameters())
    with torch.no_grad():
        logits = model(torch.as_tensor(batch.x, device=param.device, dtype=param.dtype))
    return logits.argmax(dim=-1).cpu().numpy()


def accuracy_by_lag(
    model: torch.nn.Module, batch: GrammarBatch, bins: tuple[int, ...] = (0, 4, 10, 100)
) -> dict:
    """Accuracy at the scored steps, per lag bin [bins[k], bins[k+1]): {"0-3": (accuracy, count), ...}."""
    scored = batch.y != IGNORE
    correct = predictions(model, batch) == batch.y
    result = {}
    for lo, hi in zip(bins[:-1], bins[1:], strict=True):
        sel = scored & (batch.lags >= lo) & (batch.lags < hi)
        result[f"{lo}-{hi - 1}"] = (float(correct[sel].mean()) if sel.any() else float("nan"), int(sel.sum()))
    return result


def lstm_params(model: torch.nn.Module) -> dict[str, np.ndarray]:
    """The one-layer LSTM weights of ``model.rnn`` as the reference's float64 parameter dict."""
    rnn: torch.nn.Module = getattr(model, "rnn", model)
    hidden_size = getattr(rnn, "hidden_size", None)
    weight_hh = getattr(rnn, "weight_hh_l0", None)
    if not isinstance(hidden_size, int) or not isinstance(weight_hh, torch.Tensor):
        raise ValueError("lstm_params needs a model whose .rnn is a one-layer LSTM")
    gate_rows = SPECS["lstm"].num_gates * hidden_size  # weight_hh is (4H, H)
    if getattr(rnn, "num_layers", 1) != 1 or weight_hh.shape[0] != gate_rows:
        raise ValueError("lstm_params needs a model whose .rnn is a one-layer LSTM")
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    return {n: getattr(rnn, f"{n}_l0").detach().cpu().double().numpy() for n in names}


def trace_batch(model: torch.nn.Module, x: np.ndarray) -> GateTrace:
    """Every gate and state of the trained LSTM on ``x`` (T, B, D), via the reference: (T, B, H) each."""
    params = lstm_params(model)
    x = np.asarray(x, dtype=np.float64)
    h = c = np.zeros((x.shape[1], params["weight_hh"].shape[1]))  # (B, H)
    steps = []
    for x_t in x:
        h, c, cache = lstm_step_forward(x_t, h, c, params)
        steps.append((cache.i, cache.f, cache.g, cache.o, c, h))
    # one (T, B, H) array per field: i, f, g, o, c, h
    return GateTrace([], *(np.stack(values) for values in zip(*steps, strict=True)))


def gate_trace(model: torch.nn.Module, words: list[str]) -> GateTrace:
    """One story through the trained grammar LSTM: ``words`` and every gate and state, each (T, H)."""
    trace = trace_batch(model, encode(words)[:, None, :])
    return GateTrace(list(words), *(a[:, 0] for a in trace[1:]))


def saturation(values: np.ndarray, low: float = 0.1, high: float = 0.9) -> dict[str, float]:
    """Fractions of gate ``values`` below ``low``, between, and above ``high``."""
    v = np.asarray(values).ravel()
    return {
        f"< {low:g}": float((v < low).mean()),
        "between": float(((v >= low) & (v <= high)).mean()),
        f"> {high:g}": float((v > high).mean()),
    }


def state_magnitudes(trace: GateTrace) -> dict[str, float]:
    """How big the cell state gets next to the hidden state: max |c|, share of |c| > 1, max |h|."""
    return {
        "max |c|": float(np.abs(trace.c).max()),
        "share |c| > 1": float((np.abs(trace.c) > 1).mean()),
        "max |h|": float(np.abs(trace.h).max()),
    }


def subject_units(
    model: torch.nn.Module, rng: np.random.Generator, *, stories: int = 200, k: int = 8
) -> np.ndarray:
    """The ``k`` cell units whose c best separates the current subject's class (F-ratio, scored steps)."""
    cs, labels = [], []
    classes = {"female": 0, "male": 1, "plural": 2}
    for _ in range(stories):
        s = story(rng)
        trace = gate_trace(model, s.words)
        steps = np.flatnonzero(s.targets != IGNORE)
        cs.append(trace.c[steps])
        labels += [classes[s.subjects[t]] for t in steps]
    c, y = np.concatenate(cs), np.array(labels)
    means = np.stack([c[y == k].mean(axis=0) for k in range(3)])  # (3, H)
    within = sum(((c[y == k] - means[k]) ** 2).sum(axis=0) for k in range(3)) / len(y)
    ratio = means.var(axis=0) / (within + 1e-12)
    return np.argsort(ratio)[::-1][:k]


def gate_summary(
    model: torch.nn.Module, units: np.ndarray, rng: np.random.Generator, *, stories: int = 200
) -> dict[str, dict[str, float]]:
    """Mean i, f, o over ``units`` where the gate stories say they should act, and elsewhere.

    Places: "new subject" (the first word of the second and third subjects), "before a scored word" (the step
    whose prediction needs the subject), "other words". Returns {gate: {place: mean value}}.
    """
    sums: dict[str, dict[str, list[float]]] = {g: {p: [] for p in PLACES} for g in ("i", "f", "o")}
    for _ in range(stories):
        s = story(rng)
        trace = gate_trace(model, s.words)
        place = np.full(len(s.words), 2)
        place[s.targets != IGNORE] = 1
        place[list(s.starts[1:])] = 0
        for g in sums:
            values = getattr(trace, g)[:, units].mean(axis=1)  # (T,)
            for k, name in enumerate(PLACES):
                sums[g][name] += list(values[place == k])
    return {g: {p: float(np.mean(v)) for p, v in by_place.items()} for g, by_place in sums.items()}


PLACES = ("new subject", "before a scored word", "other words")


#: Each gate story: (gate, where the story says it acts, +1 if it should be higher there, -1 if lower).
GATE_STORIES = {
    "forget gate clears the old subject": ("f", "new subject", -1),
    "input gate writes the new subject": ("i", "new subject", +1),
    "output gate exposes memory for a prediction": ("o", "before a scored word", +1),
}


def check_gate_stories(
    summary: dict[str, dict[str, float]], margin: float = 0.05, tolerance: float = 0.02
) -> dict[str, tuple[float, float, str]]:
    """For each story in GATE_STORIES: (mean gate where it should act, mean on other words, verdict).

    A story is "supported" when the gate differs from its value on other words, in the story's direction,
    by more than ``margin + tolerance``; "not supported" when by less than ``margin - tolerance`` (or in the
    other direction); "undecided" in between, where rounding in another BLAS or a smaller change to training
    could move the difference across the margin.
    """
    checks = {}
    for name, (gate, place, sign) in GATE_STORIES.items():
        there, elsewhere = summary[gate][place], summary[gate]["other words"]
        checks[name] = (there, elsewhere, verdict(sign * (there - elsewhere), margin, tolerance))
    return checks


def verdict(change: float, margin: float = 0.05, tolerance: float = 0.02) -> str:
    """The verdict on ``change``, a gate's difference signed so that the story's direction is positive:
    "supported" above ``margin + tolerance``, "not supported" below ``margin - tolerance``, else
    "undecided"."""
    if change > margin + tolerance:
        return "supported"
    if change < margin - tolerance:
        return "not supported"
    return "undecided"


#: The sentences the gate stories are told with, rebuilt from the grammar's own words (its vocabulary has no
#: "dan", "swimmer", "navy" or "brave"; adding words would change every other experiment's inputs). For each:
#: (gate, the words, where the story says the gate acts: word positions, +1 / -1 as in GATE_STORIES).
STORY_SENTENCES = {
    # "Bob is kind. Dan, on the other hand, is cruel": the subject changes; tom stands in for dan
    "the subject changes (Bob, then Dan)": (
        "f",
        "bob from the town is kind . tom , on the other hand , by the river is cruel . he is tall .".split(),
        (7,),
        -1,
    ),
    # "Bob is a swimmer ... he served in the navy": the fact worth storing is who the subject is, not the
    # phrases around it
    "the swimmer who served in the navy": (
        "i",
        "the dogs from the town by the river are kind . mary is happy . she is tall .".split(),
        (0, 1),
        +1,
    ),
    # "... brave ___": the blank is the word that needs the subject, here the verb after the phrases; the gate
    # acts at the step that predicts it (reading "lake")
    "the brave ___ blank": (
        "o",
        "alice near the hill by the lake ___ kind . bob is loud . he is quiet .".split(),
        (6,),
        +1,
    ),
}
BLANK = "___"


class SentenceGates(NamedTuple):
    """One story's sentence through the trained LSTM: its words (T,), the story's gate averaged over the
    probed units per word (T,), its mean where the story says the gate acts and on the other words, and the
    verdict."""

    gate: str
    words: list[str]
    values: np.ndarray
    there: float
    elsewhere: float
    verdict: str


def story_sentence_gates(
    model: torch.nn.Module, units: np.ndarray, margin: float = 0.05, tolerance: float = 0.02
) -> dict[str, SentenceGates]:
    """Each sentence of STORY_SENTENCES through the trained LSTM, judged as :func:`check_gate_stories` judges
    the averages. The blank ``___`` is read as the word the grammar puts there (the verb that agrees)."""
    result = {}
    for name, (gate, words, where, sign) in STORY_SENTENCES.items():
        read = [_blank_word(words) if w == BLANK else w for w in words]
        values = getattr(gate_trace(model, read), gate)[:, units].mean(axis=1)  # (T,)
        there = np.zeros(len(words), dtype=bool)
        there[list(where)] = True
        acts, rest = float(values[there].mean()), float(values[~there].mean())
        result[name] = SentenceGates(
            gate, list(words), values, acts, rest, verdict(sign * (acts - rest), margin, tolerance)
        )
    return result


def _blank_word(words: list[str]) -> str:
    """The verb that agrees with the first subject of ``words``."""
    first = words[1] if words[0] == "the" else words[0]
    return "are" if first in ("cats", "dogs") else "is"
