"""Chapter 9, generation: a character LSTM against chapter 2's RNN on Shakespeare, with the same budget.

Both models are :class:`~lstm_course.nn.CharLM` with chapter 2's configuration
(:class:`~lstm_course.experiments.char_lm.CharLMConfig`: H, T, batch, steps, optimiser), trained on the
first ``1 - val_fraction`` of the plays and scored on the rest in nats per character. The non-recurrent
baselines are the unigram entropy (character frequencies, no order) and ``ln V``. Samples at several
temperatures show what temperature does; the mean entropy of the tempered next-character distribution says it
in one number.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from lstm_course.experiments.char_lm import (
    CharLMConfig,
    char_lm_model,
    char_lm_training,
    evaluate,
    generate,
    loss_by_context,
    next_char_loss,
)
from lstm_course.experiments.threads import torch_threads
from lstm_course.nn.models import CharLM
from lstm_course.tasks.shakespeare import shakespeare_text
from lstm_course.tasks.text import CharVocab, char_lm_batch, unigram_entropy
from lstm_course.train import TrainConfig, fit


@dataclass(frozen=True)
class GenerationConfig:
    """What differs from chapter 2's experiment: the text, the cells compared and what is measured."""

    cells: tuple[str, ...] = ("rnn", "lstm")  # trained in turn, each with the same budget
    max_chars: int | None = 1_000_000  # the first characters of the plays (None: all ~4.9 M)
    temperatures: tuple[float, ...] = (0.5, 1.0, 1.5)
    sample_length: int = 240  # characters per sample
    prompt: str = "ROMEO\n"  # what every sample starts from
    model: CharLMConfig = CharLMConfig(contexts=(1, 2, 4, 8, 16, 32, 64), context_samples=1000)


def generation_training(**changes) -> TrainConfig:
    """Chapter 2's training (:func:`~lstm_course.experiments.char_lm.char_lm_training`), with ``changes``."""
    return char_lm_training(**changes)


@dataclass
class TemperatureRow:
    """What one temperature does to the LSTM's next-character distribution on validation text."""

    entropy: float  # mean entropy of softmax(logits / temperature), nats
    top_probability: float  # mean probability of the most likely character
    loss: float  # cross-entropy of the validation characters under the tempered distribution, nats


@dataclass
class GenerationResult:
    """Validation losses, context curves, samples and the temperature table."""

    val_loss: dict[str, float]  # cell -> nats per character on held-out text
    loss_by_context: dict[str, dict[int, float]]  # cell -> k -> loss
    losses: dict[str, list[float]]  # cell -> training loss per step
    uniform_loss: float  # ln V
    unigram_loss: float
    samples: dict[float, str]  # temperature -> the LSTM's sample
    temperatures: dict[float, TemperatureRow]
    train_chars: int
    seconds: dict[str, float]  # cell -> CPU seconds of training and evaluation


@torch.no_grad()
def temperature_rows(
    model: CharLM, x: np.ndarray, y: np.ndarray, temperatures: Sequence[float]
) -> dict[float, TemperatureRow]:
    """Entropy, top probability and loss of the tempered next-character distribution; x, y (T, B)."""
    model.eval()
    logits, _ = model(torch.as_tensor(x))  # (T, B, V)
    logits, targets = logits.reshape(-1, logits.shape[-1]), torch.as_tensor(y).reshape(-1)
    rows = {}
    for temperature in temperatures:
        if not temperature > 0:
            raise ValueError(f"temperatures must be > 0, got {temperature!r}")
        log_p = torch.log_softmax(logits / temperature, dim=-1)  # (T B, V)
        rows[temperature] = TemperatureRow(
            entropy=float(-(log_p.exp() * log_p).sum(dim=-1).mean()),
            top_probability=float(log_p.max(dim=-1).values.exp().mean()),
            loss=float(F.nll_loss(log_p, targets)),
        )
    model.train()
    return rows


def run_generation(
    config: GenerationConfig = GenerationConfig(), training: TrainConfig | None = None
) -> GenerationResult:
    """Train one CharLM per cell on the plays with the same budget; the last cell (the LSTM) is sampled."""
    training = generation_training() if training is None else training
    text = shakespeare_text(config.max_chars)
    model_config, seed = config.model, training.seed
    vocab = CharVocab.from_text(text)
    data = vocab.encode(text)
    split = int(len(data) * (1.0 - model_config.val_fraction))
    train, val = data[:split], data[split:]
    x_val, y_val = char_lm_batch(
        val, model_config.val_windows, model_config.T, np.random.default_rng(seed + 1)
    )

    def batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        return char_lm_batch(train, model_config.batch_size, model_config.T, rng)

    val_loss, by_context, losses, seconds = {}, {}, {}, {}
    with torch_threads(model_config.threads):
        for cell in config.cells:
            start = time.process_time()
            torch.manual_seed(seed)
            model = char_lm_model(len(vocab), model_config.hidden_size, cell, model_config.implementation)
            losses[cell] = fit(model, batch, next_char_loss, training).loss
            val_loss[cell] = evaluate(model, x_val, y_val)
            by_context[cell] = loss_by_context(
                model,
                val,
                model_config.contexts,
                model_config.context_samples,
                np.random.default_rng(seed + 2),
            )
            seconds[cell] = time.process_time() - start
        samples = {
            t: generate(model, vocab, config.prompt, config.sample_length, t, seed)
            for t in config.temperatures
        }
        temperatures = temperature_rows(model, x_val, y_val, config.temperatures)
    return GenerationResult(
        val_loss=val_loss,
        loss_by_context=by_context,
        losses=losses,
        uniform_loss=float(np.log(len(vocab))),
        unigram_loss=unigram_entropy(train, len(vocab)),
        samples=samples,
        temperatures=temperatures,
        train_chars=len(train),
        seconds=seconds,
    )
