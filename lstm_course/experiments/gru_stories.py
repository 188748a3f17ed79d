"""The update-gate story, measured: a GRU trained on two-person cuisine stories; where its z keeps or writes.

In torch's convention h_t = (1 - z) * n + z * h_{t-1}: z near 1 keeps a unit's old value, z near 0 writes the
candidate. The story says that z keeps the first person's cuisine until the second person appears, and then
lets it be overwritten. We look at the units that carry the first cuisine and average their z over the parts
of many stories.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lstm_course.experiments.gru_vs_lstm import TRAINS_ON
from lstm_course.experiments.implementations import carrying_weights
from lstm_course.experiments.threads import torch_threads
from lstm_course.reference import gru_step_forward
from lstm_course.reference.convert import layer_params, params_from_state_dict
from lstm_course.tasks.cuisine import CUISINES, IGNORE, VOCAB, CuisineBatch, cuisine_batch
from lstm_course.train import History, TrainConfig, course_device, fit


class CuisineTagger(nn.Module):
    """Word embeddings, a GRU (or LSTM), a Linear over the cuisines at every step: x (T, B) -> (T, B, C).

    The recurrent layer draws torch.nn's initial weights and trains on ``implementation`` (default
    :data:`~lstm_course.experiments.gru_vs_lstm.TRAINS_ON` of the cell).
    """

    def __init__(
        self, embedding_size: int, hidden_size: int, cell: str = "gru", implementation: str | None = None
    ) -> None:
        super().__init__()
        self.cell = cell
        self.embed = nn.Embedding(len(VOCAB), embedding_size)
        layer = {"gru": nn.GRU, "lstm": nn.LSTM}[cell](embedding_size, hidden_size)
        implementation = TRAINS_ON[cell] if implementation is None else implementation
        self.rnn = carrying_weights(layer, cell, implementation)
        self.head = nn.Linear(hidden_size, len(CUISINES))

    def forward(self, x: Tensor) -> Tensor:
        out, _ = self.rnn(self.embed(x))  # (T, B, H)
        return self.head(out)


@dataclass(frozen=True)
class CuisineConfig:
    """The model and the stories (how it trains is a TrainConfig)."""

    cell: str = "gru"  # "gru" | "lstm" (the update-gate trace needs the GRU)
    hidden_size: int = 32  # H
    embedding_size: int = 16  # size of a word vector
    batch_size: int = 32  # stories per step
    max_fillers: int = 2  # filler sentences between the two people, 0 .. max_fillers
    threads: int | None = 1  # torch threads while training
    train_size: int | None = None  # None: fresh stories every step; else a fixed set of this many stories


def cuisine_training(**changes) -> TrainConfig:
    """Adam at 1e-2, clipped at norm 1, 300 steps, seed 0, CPU, no bar; ``changes`` to any field."""
    return replace(TrainConfig(steps=300, lr=1e-2, clip=1.0, seed=0, device=course_device()), **changes)


def _loss(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    logits = model(x)  # (T, B, C)
    return F.cross_entropy(logits.flatten(0, 1), y.flatten(), ignore_index=IGNORE)


def train_cuisine(
    config: CuisineConfig = CuisineConfig(), training: TrainConfig | None = None
) -> tuple[CuisineTagger, History]:
    """A GRU tagger trained to name the cuisine at each "is" of random stories."""
    training = cuisine_training() if training is None else training
    torch.manual_seed(training.seed)
    model = CuisineTagger(config.embedding_size, config.hidden_size, config.cell)
    if config.train_size is not None:
        fixed = cuisine_batch(
            config.train_size, np.random.default_rng([training.seed, 1]), config.max_fillers
        )

    def batches(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        if config.train_size is None:
            batch = cuisine_batch(config.batch_size, rng, config.max_fillers)
            return batch.x, batch.y
        pick = rng.integers(0, config.train_size, size=config.batch_size)
        return fixed.x[:, pick], fixed.y[:, pick]

    with torch_threads(config.threads):
        history = fit(model, batches, _loss, training)
    return model, history


def cuisine_accuracy(model: CuisineTagger, batch: CuisineBatch) -> dict[str, float]:
    """Accuracy of the first and of the second person's cuisine on ``batch``."""
    with torch.no_grad():
        predicted = model(torch.from_numpy(batch.x)).argmax(-1).numpy()  # (T, B)
    first, second = [], []
    for b, story in enumerate(batch.stories):
        (p1, c1), (p2, c2) = sorted(story.answers.items())
        first.append(predicted[p1, b] == c1)
        second.append(predicted[p2, b] == c2)
    return {"first person": float(np.mean(first)), "second person": float(np.mean(second))}


class GRUTrace(NamedTuple):
    """Per step and unit, over a batch: the update gate z and the hidden state h, each (T, B, H)."""

    z: np.ndarray
    h: np.ndarray


def trace(model: CuisineTagger, batch: CuisineBatch) -> GRUTrace:
    """z and h of the trained GRU over ``batch``, stepped with the NumPy reference on the model's weights."""
    if model.cell != "gru":
        raise ValueError(f"trace needs a GRU tagger, got cell {model.cell!r}")
    params = layer_params(params_from_state_dict(model.rnn.state_dict()), 0)
    with torch.no_grad():
        inputs = model.embed(torch.from_numpy(batch.x)).double().numpy()  # (T, B, E)
    h, zs, hs = None, [], []
    for x_t in inputs:
        h, cache = gru_step_forward(x_t, h, params)
        zs.append(cache.z)
        hs.append(h)
    return GRUTrace(np.stack(zs), np.stack(hs))


def first_cuisine_units(run: GRUTrace, batch: CuisineBatch, k: int = 8) -> np.ndarray:
    """The ``k`` units whose h, on the word before the second person's name, best separates the first
    cuisine: between-class variance over within-class variance, largest first."""
    values = np.stack([run.h[s.second_name - 1, b] for b, s in enumerate(batch.stories)])  # (B, H)
    labels = np.array([s.cuisines[0] for s in batch.stories])
    means = np.stack([values[labels == c].mean(0) for c in np.unique(labels)])  # (C, H)
    within = np.mean([values[labels == c].var(0) for c in np.unique(labels)], axis=0)
    return np.argsort(-(means.var(0) / (within + 1e-12)))[:k]


PLACES = ("first dish", "keeping: first dish to second name", "second name", "second dish")


def update_gate_summary(run: GRUTrace, batch: CuisineBatch, units: np.ndarray) -> dict[str, float]:
    """The mean z of ``units`` at each place of PLACES, over the stories of ``batch``."""
    values: dict[str, list[np.ndarray]] = {place: [] for place in PLACES}
    for b, story in enumerate(batch.stories):
        z = run.z[:, b][:, units]  # (T, k)
        values["first dish"].append(z[story.first_dish])
        values["keeping: first dish to second name"].append(
            z[story.first_dish + 1 : story.second_name].ravel()
        )
        values["second name"].append(z[story.second_name])
        values["second dish"].append(z[story.second_dish])
    return {
        place: float(np.mean(np.concatenate([np.ravel(v) for v in found]))) for place, found in values.items()
    }


def check_update_story(
    summary: dict[str, float], margin: float = 0.05
) -> dict[str, tuple[float, float, bool]]:
    """Each part of the story as (z where it acts, z it is compared with, whether it holds by ``margin``)."""
    keeping = summary["keeping: first dish to second name"]
    return {
        "z writes the first dish (lower z there than while keeping)": (
            summary["first dish"],
            keeping,
            summary["first dish"] < keeping - margin,
        ),
        "z drops when the second person appears": (
            summary["second name"],
            keeping,
            summary["second name"] < keeping - margin,
        ),
        "z drops at the second person's dish": (
            summary["second dish"],
            keeping,
            summary["second dish"] < keeping - margin,
        ),
    }
