"""Small models the chapters train, built on this package's RNN, LSTM and GRU.

Letters: T (time), B (batch), D (input size), H (hidden size), V (vocabulary size). Inputs are time-major.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lstm_course import cellspec
from lstm_course.nn._validate import internal_inputs
from lstm_course.nn.recurrent import LAYERS

CELLS = LAYERS  # the layer class of each cell type: {"rnn": RNN, "lstm": LSTM, "gru": GRU}


def make_recurrent(cell: str, input_size: int, hidden_size: int, num_layers: int = 1, **kwargs) -> nn.Module:
    """Our RNN, LSTM or GRU by name ("rnn", "lstm", "gru"); kwargs go to its constructor (e.g. fast=True)."""
    cellspec.spec(cell)  # ValueError naming cell unless it is registered
    return CELLS[cell](input_size, hidden_size, num_layers, **kwargs)


class SequenceRegressor(nn.Module):
    """A recurrent layer, then a Linear on the top layer's final hidden state: x (T, B, D) -> (B, out)."""

    def __init__(
        self, cell: str, input_size: int, hidden_size: int, output_size: int, num_layers: int = 1, **kwargs
    ) -> None:
        super().__init__()
        self.cell = cell
        self.rnn = make_recurrent(cell, input_size, hidden_size, num_layers, **kwargs)
        self.directions = 2 if kwargs.get("bidirectional") else 1
        self.head = nn.Linear(self.directions * hidden_size, output_size)

    def forward(self, x: Tensor, lengths: Tensor | Sequence[int] | None = None) -> Tensor:
        """x (T, B, D), optional lengths (B,) -> (B, output_size), from each sequence's last real step
        (bidirectional: the forward direction's last state beside the reverse direction's first)."""
        _, state = self.rnn(x, lengths=lengths)
        h_n = state[0] if isinstance(state, tuple) else state  # (L*K, B, H)
        return self.head(torch.cat(h_n[-self.directions :].unbind(0), dim=-1))  # top layer: (B, K*H)


class SequenceTagger(nn.Module):
    """A recurrent layer, then a Linear on every step: x (T, B, D) -> (T, B, output_size)."""

    def __init__(
        self, cell: str, input_size: int, hidden_size: int, output_size: int, num_layers: int = 1, **kwargs
    ) -> None:
        super().__init__()
        self.cell = cell
        self.rnn = make_recurrent(cell, input_size, hidden_size, num_layers, **kwargs)
        directions = 2 if kwargs.get("bidirectional") else 1
        self.head = nn.Linear(directions * hidden_size, output_size)

    def forward(self, x: Tensor, lengths: Tensor | Sequence[int] | None = None) -> Tensor:
        """x (T, B, D), optional lengths (B,) -> (T, B, output_size)."""
        out, _ = self.rnn(x, lengths=lengths)  # (T, B, K*H)
        return self.head(out)


class CharLM(nn.Module):
    """Character-level language model: embedding (or one-hot), recurrent layers, Linear to V logits.

    embedding_dim=None feeds one-hot vectors (D = V), as min-char-rnn does; an int uses nn.Embedding.
    """

    def __init__(
        self,
        vocab_size: int,
        hidden_size: int,
        cell: str = "lstm",
        num_layers: int = 1,
        embedding_dim: int | None = None,
        **kwargs,
    ) -> None:
        super().__init__()
        if not isinstance(vocab_size, int) or vocab_size < 1:
            raise ValueError(f"vocab_size must be a positive int, got {vocab_size!r}")
        self.vocab_size = vocab_size
        self.cell = cell
        self.embedding = None if embedding_dim is None else nn.Embedding(vocab_size, embedding_dim)
        input_size = vocab_size if embedding_dim is None else embedding_dim
        self.rnn = make_recurrent(cell, input_size, hidden_size, num_layers, **kwargs)
        self.head = nn.Linear(hidden_size, vocab_size)

    def embed(self, idx: Tensor) -> Tensor:
        """idx (T, B) long -> (T, B, D)."""
        if idx.dtype != torch.long:
            raise TypeError(f"CharLM: idx must be a torch.long tensor of shape (T, B), got dtype {idx.dtype}")
        if idx.dim() != 2:
            raise ValueError(f"CharLM: idx must have shape (T, B), got {tuple(idx.shape)}")
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= self.vocab_size):
            raise ValueError(
                f"CharLM: idx entries must be in [0, {self.vocab_size}), got {int(idx.min())}.."
                f"{int(idx.max())}"
            )
        if self.embedding is not None:
            return self.embedding(idx)
        return F.one_hot(idx, self.vocab_size).to(self.head.weight.dtype)

    def forward(self, idx: Tensor, state=None):
        """idx (T, B) long, state from a previous call or None -> (logits (T, B, V), state)."""
        out, state = self.rnn(self.embed(idx), state)  # out (T, B, H)
        return self.head(out), state

    @torch.no_grad()
    def sample(
        self,
        start_idx: Sequence[int],
        length: int,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> list[int]:
        """Feed start_idx, then draw `length` new indices one at a time; returns only the new indices.

        temperature < 1 sharpens the distribution, > 1 flattens it. Pass a seeded torch.Generator (on the
        model's device) for reproducible samples.
        """
        if len(start_idx) == 0:
            raise ValueError("CharLM.sample: start_idx must hold at least one index")
        if isinstance(length, bool) or not isinstance(length, numbers.Integral) or length < 0:
            raise ValueError(f"CharLM.sample: length must be an int >= 0, got {length!r}")
        if (
            isinstance(temperature, bool)
            or not isinstance(temperature, numbers.Real)
            or not 0 < temperature < math.inf  # written so that NaN is refused too
        ):
            raise ValueError(f"CharLM.sample: temperature must be a finite number > 0, got {temperature!r}")
        was_training = self.training
        self.eval()
        try:
            device = self.head.weight.device
            idx = torch.tensor(list(start_idx), dtype=torch.long, device=device).unsqueeze(1)  # (T0, 1)
            logits, state = self(idx)
            drawn: list[int] = []
            for _ in range(length):
                scaled = logits[-1, 0] / temperature  # (V,)
                if not bool(torch.isfinite(scaled).all()):
                    raise ValueError(
                        f"CharLM.sample: temperature={temperature!r} is too small: logits / temperature "
                        f"overflows {scaled.dtype}; use a larger temperature"
                    )
                probs = torch.softmax(scaled, dim=-1)  # (V,)
                nxt = int(torch.multinomial(probs, 1, generator=generator))
                drawn.append(nxt)
                with internal_inputs():  # a drawn index and the model's own state: nothing to check
                    logits, state = self(torch.tensor([[nxt]], device=device), state)
        finally:
            self.train(was_training)
        return drawn
