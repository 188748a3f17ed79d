"""Chapter 2's experiment: a character-level language model on CPython's help topics, sampled before and
after training.

The text is split once: the first ``1 - val_fraction`` trains, the rest (later topics, never seen) measures
the validation loss. Two reference losses frame the result: ``ln V``, a uniform guess over the V characters,
and the unigram entropy, the best loss of a model that knows the characters' frequencies and nothing of their
order. A model below the unigram line has learned something about order.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lstm_course.experiments.implementations import with_implementation
from lstm_course.experiments.threads import torch_threads
from lstm_course.nn.models import CharLM
from lstm_course.tasks.text import CharVocab, char_lm_batch, pydoc_text, unigram_entropy
from lstm_course.train import TrainConfig, course_device, fit


@dataclass
class CharLMResult:
    """Curves, reference losses and samples of one training run."""

    cell: str
    hidden_size: int
    vocab_size: int  # V
    train_chars: int
    losses: list[float]  # training loss (nats per character) per step
    val_loss_before: float  # validation loss at initialisation
    val_loss_after: float  # validation loss after training
    uniform_loss: float  # ln V
    unigram_loss: float  # entropy of the training text's character frequencies
    sample_before: str  # generated at initialisation
    sample_after: str  # generated after training, same prompt, seed and temperature
    prompt: str
    seconds: float  # training time
    loss_by_context: dict[int, float]  # k -> validation loss of the next character after only k characters


def next_char_loss(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    """Mean cross-entropy of predicting y (T, B) from x (T, B) with a CharLM, in nats per character."""
    logits, _ = model(x)  # (T, B, V)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


@torch.no_grad()
def evaluate(model: CharLM, x: np.ndarray, y: np.ndarray) -> float:
    """The mean next-character loss over fixed windows x, y (T, B)."""
    model.eval()
    device = model.head.weight.device
    loss = next_char_loss(model, torch.as_tensor(x, device=device), torch.as_tensor(y, device=device))
    model.train()
    return float(loss)


@torch.no_grad()
def loss_by_context(
    model: CharLM, data: np.ndarray, contexts: Sequence[int], n: int, rng: np.random.Generator
) -> dict[int, float]:
    """The mean loss of predicting a character from only the k characters before it (zero initial state).

    The same n target positions are used for every k, so the curve shows what more context buys.
    """
    contexts = sorted(int(k) for k in contexts)
    if not contexts or contexts[0] < 1 or contexts[-1] >= len(data):
        raise ValueError(f"contexts must be ints in [1, {len(data)}), got {contexts}")
    model.eval()
    device = model.head.weight.device
    targets = rng.integers(contexts[-1], len(data), size=n)  # (n,) positions of the predicted characters
    y = torch.as_tensor(data[targets], device=device)
    out = {}
    for k in contexts:
        x = torch.as_tensor(data[targets[None, :] + np.arange(-k, 0)[:, None]], device=device)  # (k, n)
        logits, _ = model(x)  # (k, n, V)
        out[k] = float(F.cross_entropy(logits[-1], y))
    model.train()
    return out


def generate(model: CharLM, vocab: CharVocab, prompt: str, length: int, temperature: float, seed: int) -> str:
    """``length`` characters the model draws after reading ``prompt``, each fed back as the next input."""
    generator = torch.Generator(device=model.head.weight.device).manual_seed(seed)
    drawn = model.sample(vocab.encode(prompt).tolist(), length, temperature=temperature, generator=generator)
    return vocab.decode(drawn)


@dataclass(frozen=True)
class CharLMConfig:
    """The model, its data and what is measured (how it trains is a TrainConfig)."""

    cell: str = "rnn"  # "rnn" | "lstm" | "gru"
    hidden_size: int = 128  # H
    T: int = 64  # characters per training window
    batch_size: int = 32  # windows per step
    val_fraction: float = 0.1  # the last part of the text, never trained on, measures the validation loss
    val_windows: int = 64  # validation windows of T characters
    sample_length: int = 300  # characters generated before and after training
    temperature: float = 0.7  # of the samples: below 1 sharpens the model's distribution
    prompt: str = "The "  # what the samples start from
    contexts: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)  # k of loss_by_context
    context_samples: int = 1000  # predicted positions per k
    implementation: str | None = None  # what trains: "fast", "plain", "torch"; None: LM_TRAINS_ON[cell]
    threads: int | None = 1  # torch threads while training (tiny models: one is fastest); None leaves it


#: What a character model trains on by default, the quicker at the chapters' sizes on one CPU thread (appendix
#: B): torch.nn's LSTM (oneDNN's fused kernel), our fast path for the RNN and GRU (torch has no fused kernel).
LM_TRAINS_ON = {"lstm": "torch", "rnn": "fast", "gru": "fast"}


def char_lm_model(vocab_size: int, hidden_size: int, cell: str, implementation: str | None = None) -> CharLM:
    """:class:`~lstm_course.nn.CharLM` with our one-hot layer's initial weights, set to train on
    ``implementation`` (None: :data:`LM_TRAINS_ON` of ``cell``)."""
    model = CharLM(vocab_size, hidden_size, cell=cell, fast=True)
    with_implementation(model, LM_TRAINS_ON[cell] if implementation is None else implementation)  # in place
    return model


def char_lm_training(**changes) -> TrainConfig:
    """How the chapter trains the character model, with ``changes`` to any TrainConfig field.

    Adam at 3e-3, clipped at norm 1, 400 steps; seed 0, on ``course_device()``.
    """
    return replace(TrainConfig(steps=400, lr=3e-3, clip=1.0, seed=0, device=course_device()), **changes)


def run_char_lm(
    config: CharLMConfig = CharLMConfig(), training: TrainConfig | None = None, text: str | None = None
) -> CharLMResult:
    """Train :class:`~lstm_course.nn.CharLM` with :func:`~lstm_course.train.fit`; sample before and after.

    ``training`` defaults to :func:`char_lm_training`; its seed also seeds the initial weights, the
    validation windows, the samples and the context positions. ``text`` defaults to
    :func:`~lstm_course.tasks.text.pydoc_text`.
    """
    if not 0.0 < config.val_fraction < 1.0:
        raise ValueError(f"val_fraction must lie in (0, 1), got {config.val_fraction!r}")
    training = char_lm_training() if training is None else training
    T, seed = config.T, training.seed
    text = pydoc_text() if text is None else text
    vocab = CharVocab.from_text(text)
    data = vocab.encode(text)
    split = int(len(data) * (1.0 - config.val_fraction))
    train, val = data[:split], data[split:]
    if min(len(train), len(val)) <= T:
        raise ValueError(f"text too short for T={T}: {len(train)} train and {len(val)} validation characters")

    def sample(model: CharLM) -> str:
        return generate(model, vocab, config.prompt, config.sample_length, config.temperature, seed)

    def batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        return char_lm_batch(train, config.batch_size, T, rng)

    with torch_threads(config.threads):
        torch.manual_seed(seed)
        model = char_lm_model(len(vocab), config.hidden_size, config.cell, config.implementation)
        if training.device is not None:
            model.to(training.device)
        x_val, y_val = char_lm_batch(val, config.val_windows, T, np.random.default_rng(seed + 1))
        val_before = evaluate(model, x_val, y_val)
        sample_before = sample(model)
        start = time.perf_counter()
        history = fit(model, batch, next_char_loss, training)
        seconds = time.perf_counter() - start
        return CharLMResult(
            cell=config.cell,
            hidden_size=config.hidden_size,
            vocab_size=len(vocab),
            train_chars=len(train),
            losses=history.loss,
            val_loss_before=val_before,
            val_loss_after=evaluate(model, x_val, y_val),
            uniform_loss=float(np.log(len(vocab))),
            unigram_loss=unigram_entropy(train, len(vocab)),
            sample_before=sample_before,
            sample_after=sample(model),
            prompt=config.prompt,
            seconds=seconds,
            loss_by_context=loss_by_context(
                model, val, config.contexts, config.context_samples, np.random.default_rng(seed + 2)
            ),
        )
