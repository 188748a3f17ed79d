"""Chapter 1's experiment: which came first, A or B? Feedforward models against a recurrent one.

Four models see the same token sequences (T, B) of :func:`lstm_course.tasks.order.order_batch`:

- ``bag of tokens``: an MLP over the token counts, blind to order by construction;
- ``last W tokens``: an MLP over the one-hot tokens of a fixed window at the end of the sequence;
- ``all T tokens``: an MLP over all T one-hot tokens concatenated (a fixed input size of T*V);
- ``RNN``: :class:`lstm_course.nn.SequenceRegressor`, one small recurrent layer read at the last step.

Each is trained with :func:`lstm_course.train.fit` and scored on held-out sequences; the RNN, which takes any
length, is also scored on sequences twice as long as those it was trained on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lstm_course.experiments.threads import torch_threads
from lstm_course.nn.models import SequenceRegressor
from lstm_course.tasks.order import order_batch, window_accuracy_bound
from lstm_course.train import TrainConfig, course_device, fit


class BagOfTokensMLP(nn.Module):
    """An MLP over token counts: tokens (T, B) -> logits (B, 2). Order is invisible to it."""

    def __init__(self, vocab_size: int, hidden_size: int) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.mlp = nn.Sequential(nn.Linear(vocab_size, hidden_size), nn.Tanh(), nn.Linear(hidden_size, 2))

    def forward(self, tokens: Tensor) -> Tensor:
        counts = F.one_hot(tokens, self.vocab_size).sum(dim=0).float()  # (B, V)
        return self.mlp(counts)


class WindowMLP(nn.Module):
    """An MLP over the last ``window`` one-hot tokens, concatenated: tokens (T, B) -> logits (B, 2)."""

    def __init__(self, vocab_size: int, window: int, hidden_size: int) -> None:
        super().__init__()
        self.vocab_size, self.window = vocab_size, window
        self.mlp = nn.Sequential(
            nn.Linear(window * vocab_size, hidden_size), nn.Tanh(), nn.Linear(hidden_size, 2)
        )

    def forward(self, tokens: Tensor) -> Tensor:
        if tokens.shape[0] < self.window:
            raise ValueError(f"WindowMLP needs at least {self.window} steps, got T={tokens.shape[0]}")
        last = F.one_hot(tokens[-self.window :], self.vocab_size).float()  # (W, B, V)
        return self.mlp(last.permute(1, 0, 2).reshape(tokens.shape[1], -1))  # (B, W*V) -> (B, 2)


class OneHotRNN(nn.Module):
    """One-hot tokens into a :class:`~lstm_course.nn.SequenceRegressor`: tokens (T, B) -> logits (B, 2)."""

    def __init__(self, vocab_size: int, hidden_size: int, cell: str = "rnn", fast: bool = True) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.net = SequenceRegressor(cell, vocab_size, hidden_size, 2, fast=fast)

    def forward(self, tokens: Tensor) -> Tensor:
        return self.net(F.one_hot(tokens, self.vocab_size).float())  # (T, B, V) -> (B, 2)


@dataclass
class OrderResult:
    """Held-out accuracy and training curves per model."""

    T: int  # training and test length
    window: int  # W of the window model
    accuracy: dict[str, float]  # model -> accuracy on held-out sequences of length T
    losses: dict[str, list[float]]  # model -> training loss per step
    seconds: dict[str, float]  # model -> training time
    window_bound: float  # the best accuracy any model of the last W tokens can reach
    rnn_accuracy_2T: float  # the RNN on held-out sequences of length 2T, never seen in training


def _cross_entropy(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    return F.cross_entropy(model(x), y)


@torch.no_grad()
def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    """The fraction of sequences x (T, B) whose label y (B,) the model gets right."""
    model.eval()
    device = next(model.parameters()).device
    pred = model(torch.as_tensor(x, device=device)).argmax(dim=-1).cpu().numpy()
    model.train()
    return float((pred == y).mean())


@dataclass(frozen=True)
class OrderConfig:
    """The which-came-first task and the four models' sizes (how they train is a TrainConfig)."""

    T: int = 20  # sequence length, in training and in the test
    vocab_size: int = 8  # V: the two markers A, B and V - 2 filler tokens
    window: int = 5  # W: how many of the last tokens the window model sees
    hidden_size: int = 32  # H of every model
    batch_size: int = 64  # sequences per step
    test_size: int = 2000  # held-out sequences per test
    cell: str = "rnn"  # the recurrent model's cell: "rnn" | "lstm" | "gru"
    threads: int | None = 1  # torch threads while training (tiny models: one is fastest); None leaves it


def order_training(**changes) -> TrainConfig:
    """How the chapter trains each of the four models, with ``changes`` to any TrainConfig field.

    Adam at 1e-2, clipped at norm 1, 400 steps; seed 0, on ``course_device()``.
    """
    return replace(TrainConfig(steps=400, lr=1e-2, seed=0, device=course_device()), **changes)


def run_order_matters(
    config: OrderConfig = OrderConfig(), training: TrainConfig | None = None
) -> OrderResult:
    """Train the four models on the which-came-first task and score them on held-out sequences.

    ``training`` defaults to :func:`order_training`; every model trains with it, on the same batches. The
    models are tiny, so they train on the CPU with one torch thread by default (see
    :mod:`lstm_course.experiments.threads`); ``device=None`` in ``training`` picks a GPU when there is one.
    """
    if not 1 <= config.window <= config.T:
        raise ValueError(f"window must lie in [1, T={config.T}], got {config.window}")
    training = order_training() if training is None else training
    with torch_threads(config.threads):
        return _run(config, training)


def _run(config: OrderConfig, training: TrainConfig) -> OrderResult:
    T, vocab_size, window, seed = config.T, config.vocab_size, config.window, training.seed
    torch.manual_seed(seed)
    models: dict[str, nn.Module] = {
        "bag of tokens": BagOfTokensMLP(vocab_size, config.hidden_size),
        f"last {window} tokens": WindowMLP(vocab_size, window, config.hidden_size),
        f"all {T} tokens": WindowMLP(vocab_size, T, config.hidden_size),
        config.cell.upper(): OneHotRNN(vocab_size, config.hidden_size, config.cell),
    }
    test_rng = np.random.default_rng(seed + 10_000)
    x_test, y_test = order_batch(config.test_size, T, test_rng, vocab_size)
    x_long, y_long = order_batch(config.test_size, 2 * T, test_rng, vocab_size)

    def batch_fn(rng: np.random.Generator):
        return order_batch(config.batch_size, T, rng, vocab_size)

    result = OrderResult(T, window, {}, {}, {}, window_accuracy_bound(T, window), float("nan"))
    for name, model in models.items():
        start = time.perf_counter()
        history = fit(model, batch_fn, _cross_entropy, training)
        result.seconds[name] = time.perf_counter() - start
        result.losses[name] = history.loss
        result.accuracy[name] = accuracy(model, x_test, y_test)
    result.rnn_accuracy_2T = accuracy(models[config.cell.upper()], x_long, y_long)
    return result
