"""Multi-layer, optionally bidirectional RNN, LSTM and GRU: the cell step of ``cells.py`` run over time.

Letters: T (time), B (batch), D (input size), H (hidden size), L (num_layers), K (directions, 1 or 2).
Parameters carry torch.nn's names (``weight_ih_l0``, ``bias_hh_l1_reverse``, ...) and shapes, so
``load_state_dict`` works in both directions with ``torch.nn.RNN/LSTM/GRU``.

Padded batches: ``forward(x, hx, lengths=lengths)`` gives what torch.nn gives on
``pack_padded_sequence(x, lengths, enforce_sorted=False)`` then ``pad_packed_sequence(..., total_length=T)``:
padded steps leave the state unchanged and output zeros, the final state of each sequence is taken at its last
real step (for the reverse direction, at its first).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import ClassVar, Protocol

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lstm_course.nn._validate import (
    check_device,
    check_dtype,
    check_finite,
    check_input_size,
    check_lengths,
    check_state,
    step_mask,
)
from lstm_course.nn.cells import packed_state, torch_cell


class _RecurrentBase(nn.Module):
    """Parameters, checks and the loop over layers and directions shared by RNN, LSTM and GRU.

    Everything that differs between the cells (gate count, states, step, fast Function) is looked up in the
    registry of ``cells.py`` under torch's ``mode``.
    """

    cell: ClassVar[str]  # the cellspec key ("rnn", "lstm", "gru") that models pick this class by

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
        *,
        fast: bool = False,
    ) -> None:
        super().__init__()
        _check_config(input_size, hidden_size, num_layers, dropout)
        self.mode = mode
        self.torch_cell = torch_cell(mode)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.fast = fast
        self.num_directions = 2 if bidirectional else 1
        factory = {"device": device, "dtype": dtype}
        G = self.torch_cell.spec.num_gates
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * self.num_directions
            for suffix in self._suffixes(layer):
                self.register_parameter(
                    f"weight_ih{suffix}", nn.Parameter(torch.empty(G * hidden_size, layer_input, **factory))
                )
                self.register_parameter(
                    f"weight_hh{suffix}", nn.Parameter(torch.empty(G * hidden_size, hidden_size, **factory))
                )
                if bias:
                    self.register_parameter(
                        f"bias_ih{suffix}", nn.Parameter(torch.empty(G * hidden_size, **factory))
                    )
                    self.register_parameter(
                        f"bias_hh{suffix}", nn.Parameter(torch.empty(G * hidden_size, **factory))
                    )
        self.reset_parameters()

    def _suffixes(self, layer: int) -> list[str]:
        """Name suffixes of one layer's directions: ['_l0'] or ['_l0', '_l0_reverse']."""
        return [f"_l{layer}", f"_l{layer}_reverse"][: self.num_directions]

    def reset_parameters(self) -> None:
        """Every parameter ~ U(-1/sqrt(H), 1/sqrt(H)), in torch.nn's order (same seed, same weights)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def layer_weights(
        self, layer: int, reverse: bool = False
    ) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        """(weight_ih, weight_hh, bias_ih, bias_hh) of one layer and direction (biases None if bias=False)."""
        suffix = self._suffixes(layer)[1 if reverse else 0]
        w_ih, w_hh = getattr(self, f"weight_ih{suffix}"), getattr(self, f"weight_hh{suffix}")
        b_ih, b_hh = getattr(self, f"bias_ih{suffix}", None), getattr(self, f"bias_hh{suffix}", None)
        return w_ih, w_hh, b_ih, b_hh

    @property
    def all_weights(self) -> list[list[Tensor]]:
        """Per layer and direction, the list [weight_ih, weight_hh, bias_ih, bias_hh] (as torch.nn has it)."""
        return [
            [w for w in self.layer_weights(layer, reverse) if w is not None]
            for layer in range(self.num_layers)
            for reverse in (False, True)[: self.num_directions]
        ]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        for name, default in (
            ("num_layers", 1),
            ("bias", True),
            ("batch_first", False),
            ("dropout", 0.0),
            ("bidirectional", False),
            ("fast", False),
        ):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        return s

    # ---- forward -------------------------------------------------------------------------------------------

    def _state_names(self) -> tuple[str, ...]:
        """How errors name the initial states: ("hx",), or ("hx[0] (h_0)", "hx[1] (c_0)") for (h, c)."""
        states = self.torch_cell.spec.states
        if len(states) == 1:
            return ("hx",)
        return tuple(f"hx[{index}] ({name}_0)" for index, name in enumerate(states))

    def forward(self, input: Tensor, hx=None, *, lengths: Tensor | Sequence[int] | None = None):
        """Run every layer and direction over the sequence.

        Args:
            input: (T, B, D), or (B, T, D) with batch_first, or unbatched (T, D).
            hx: initial state (L*K, B, H) (unbatched: (L*K, H)); for the LSTM a tuple (h0, c0); None: zeros.
            lengths: optional (B,) integers in [1, T], the real length of each padded sequence (any order).

        Returns:
            output (T, B, K*H) (batch_first: (B, T, K*H)), the top layer's hidden state at every step, and the
            final state h_n (L*K, B, H) (LSTM: (h_n, c_n)).
        """
        x, states, unbatched = self._prepare(input, hx)  # x (T, B, D); states: tuple of (L*K, B, H)
        T, B = x.shape[0], x.shape[1]
        mask = None
        if lengths is not None:
            lengths = check_lengths(lengths, B, T, type(self).__name__)
            mask = step_mask(lengths, T, x.device, torch.bool)  # (T, B, 1)
        finals: list[list[Tensor]] = [[] for _ in states]
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                k = layer * self.num_directions + direction
                initial = tuple(s[k] for s in states)
                out, final = self._run_direction(
                    layer_input, initial, self.layer_weights(layer, direction == 1), mask, direction == 1
                )
                outputs.append(out)
                for j, f in enumerate(final):
                    finals[j].append(f)
            layer_input = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=-1)  # (T, B, K*H)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        output = layer_input.transpose(0, 1) if self.batch_first else layer_input
        final_states = tuple(torch.stack(f) for f in finals)  # each (L*K, B, H)
        if unbatched:
            output = layer_input.squeeze(1)  # (T, K*H): batch_first or not, the unbatched input was (T, D)
            final_states = tuple(s.squeeze(1) for s in final_states)
        return output, packed_state(final_states)  # h_n, or (h_n, c_n)

    def _prepare(self, input: Tensor, hx) -> tuple[Tensor, tuple[Tensor, ...], bool]:
        """Check input and hx; return time-major input (T, B, D), the states and an unbatched flag."""
        owner = type(self).__name__
        if isinstance(input, nn.utils.rnn.PackedSequence):
            raise TypeError(
                f"{owner}: PackedSequence input is not supported; pass the padded batch and lengths="
            )
        layout = "(B, T, D)" if self.batch_first else "(T, B, D)"
        # the rank first: a 0-D input has no size(-1) for the size check to read
        if isinstance(input, Tensor) and input.dim() not in (2, 3):
            raise ValueError(
                f"{owner}: input must be 3-D {layout} or unbatched 2-D (T, D), got shape {tuple(input.shape)}"
            )
        check_input_size(input, self.input_size, owner)
        weight = self.layer_weights(0)[0]
        check_dtype(input, weight, owner)
        check_device(input, weight, owner)
        unbatched = input.dim() == 2
        x = input.unsqueeze(1) if unbatched else (input.transpose(0, 1) if self.batch_first else input)
        T, B = x.shape[0], x.shape[1]
        if T < 1 or B < 1:
            raise ValueError(
                f"{owner}: input must hold at least one time step and one sequence, shape "
                f"{'(T, D)' if unbatched else layout} with T >= 1 and B >= 1, got {tuple(input.shape)}"
            )
        LK, H = self.num_layers * self.num_directions, self.hidden_size
        names = self._state_names()
        if hx is None:
            check_finite(owner, [("input", input)])
            states = tuple(x.new_zeros(LK, B, H) for _ in names)
        else:
            given = (hx,) if len(names) == 1 else hx
            if len(names) > 1 and (not isinstance(hx, (tuple, list)) or len(hx) != len(names)):
                initial = ", ".join(f"{name}_0" for name in self.torch_cell.spec.states)
                raise TypeError(f"{owner}: hx must be a tuple ({initial}) of {len(names)} tensors or None")
            expected = (LK, H) if unbatched else (LK, B, H)
            for name, s in zip(names, given, strict=True):
                check_state(s, expected, name, owner)
                check_dtype(s, weight, owner, name)
                if s.device != x.device:
                    raise ValueError(f"{owner}: {name} is on {s.device} but input is on {x.device}")
            check_finite(owner, [("input", input), *zip(names, given, strict=True)])
            states = tuple(s.unsqueeze(1) if unbatched else s for s in given)
        return x, states, unbatched

    def _run_direction(
        self, x: Tensor, state: tuple[Tensor, ...], weights, mask: Tensor | None, reverse: bool
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        """One layer, one direction: x (T, B, D), states of (B, H) -> out (T, B, H), final states."""
        if self.fast:
            return self.torch_cell.run_fast(x, state, weights, mask, reverse)
        return self._loop(x, state, weights, mask, reverse)

    def _loop(
        self, x: Tensor, state: tuple[Tensor, ...], weights, mask: Tensor | None, reverse: bool
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        """The readable path: one cell step per time step, state[0] is h."""
        # x.unbind(0) splits x into T views once, and its backward stacks the T step gradients once. Indexing
        # x[t] inside the loop instead makes autograd build a full (T, B, D) zero gradient for every step and
        # add them up: measured 4.5x slower at (B, T, D, H) = (64, 100, 64, 128), 17x at (128, 200, 128, 256).
        steps = x.unbind(0)
        masks = mask.unbind(0) if mask is not None else None
        outputs: list[Tensor] = [x] * len(steps)  # placeholders, each overwritten below
        for t in reversed(range(len(steps))) if reverse else range(len(steps)):
            new = self.torch_cell.run_step(steps[t], state, weights)
            if masks is None:
                outputs[t] = new[0]
            else:
                # padded step: keep the old state and output zeros, exactly what a packed sequence does
                new = tuple(torch.where(masks[t], n, s) for n, s in zip(new, state, strict=True))
                outputs[t] = torch.where(masks[t], new[0], 0.0)
            state = new
        return torch.stack(outputs), state  # (T, B, H)


def _check_config(input_size: int, hidden_size: int, num_layers: int, dropout: float) -> None:
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
        raise ValueError(f"dropout must be a number in [0, 1], got {dropout!r}")
    if dropout > 0 and num_layers == 1:
        warnings.warn(
            f"dropout acts between layers only, so dropout={dropout} with num_layers=1 does nothing",
            UserWarning,
            stacklevel=3,
        )


class RNN(_RecurrentBase):
    """Elman RNN, h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), act tanh or relu; like torch.nn.RNN."""

    cell = "rnn"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
        *,
        fast: bool = False,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(
            "RNN_" + nonlinearity.upper(),
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device,
            dtype,
            fast=fast,
        )


class LSTM(_RecurrentBase):
    """LSTM with gates i, f, g, o; like torch.nn.LSTM (no proj_size). hx and the final state are (h, c)."""

    cell = "lstm"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
        *,
        fast: bool = False,
    ) -> None:
        if proj_size != 0:
            raise NotImplementedError(f"LSTM: proj_size is not supported (must be 0), got {proj_size!r}")
        self.proj_size = 0
        super().__init__(
            "LSTM",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device,
            dtype,
            fast=fast,
        )


class GRU(_RecurrentBase):
    """GRU with gates r, z, n, the reset gate applied after the recurrent matmul; like torch.nn.GRU."""

    cell = "gru"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
        *,
        fast: bool = False,
    ) -> None:
        super().__init__(
            "GRU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device,
            dtype,
            fast=fast,
        )


class LayerClass(Protocol):
    """What the registry holds: a layer class, called as torch.nn's RNN, LSTM and GRU are."""

    cell: str

    def __call__(
        self, input_size: int, hidden_size: int, num_layers: int = ..., *, bias: bool = ...,
        batch_first: bool = ..., dropout: float = ..., bidirectional: bool = ..., fast: bool = ...,
    ) -> _RecurrentBase: ...  # fmt: skip


LAYERS: dict[str, LayerClass] = {module.cell: module for module in (RNN, LSTM, GRU)}
