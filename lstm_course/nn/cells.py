"""One time step of the RNN, LSTM and GRU, written from the equations with tensor ops.

Letters: B (batch), D (input size), H (hidden size). The weight layout is torch.nn's, so a state dict moves
between these cells and ``torch.nn.RNNCell/LSTMCell/GRUCell`` unchanged:
``weight_ih (G*H, D)``, ``weight_hh (G*H, H)``, ``bias_ih (G*H,)``, ``bias_hh (G*H,)`` with G = 1 (RNN),
4 (LSTM, gates i, f, g, o) or 3 (GRU, gates r, z, n).

The step functions (``rnn_step``, ``lstm_step``, ``gru_step``) are shared with the multi-step layers in
``recurrent.py``; the cell modules only hold the parameters and check their input.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Protocol

import torch
from torch import Tensor, nn

from lstm_course import cellspec
from lstm_course.cellspec import CellSpec
from lstm_course.nn import fast
from lstm_course.nn._validate import check_device, check_dtype, check_finite, check_input_size, check_state

NONLINEARITIES = ("tanh", "relu")


def affine(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """x @ weight.T + bias: x (B, D), weight (M, D), bias (M,) or None -> (B, M)."""
    out = x @ weight.T
    return out if bias is None else out + bias


def rnn_step(
    x: Tensor,
    h: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    nonlinearity: str = "tanh",
) -> Tensor:
    """h' = act(W_ih x + b_ih + W_hh h + b_hh): x (B, D), h (B, H) -> h' (B, H)."""
    pre = affine(x, w_ih, b_ih) + affine(h, w_hh, b_hh)
    return torch.tanh(pre) if nonlinearity == "tanh" else torch.relu(pre)


def lstm_step(
    x: Tensor, h: Tensor, c: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None, b_hh: Tensor | None
) -> tuple[Tensor, Tensor]:
    """One LSTM step: x (B, D), h (B, H), c (B, H) -> (h', c'), each (B, H).

    i = sigma(W_ii x + b_ii + W_hi h + b_hi)      input gate
    f = sigma(W_if x + b_if + W_hf h + b_hf)      forget gate
    g = tanh(W_ig x + b_ig + W_hg h + b_hg)       candidate cell
    o = sigma(W_io x + b_io + W_ho h + b_ho)      output gate
    c' = f * c + i * g
    h' = o * tanh(c')
    """
    gates = affine(x, w_ih, b_ih) + affine(h, w_hh, b_hh)  # (B, 4H), blocks in the order i, f, g, o
    i, f, g, o = gates.chunk(4, dim=-1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c_next = f * c + i * g
    h_next = o * torch.tanh(c_next)
    return h_next, c_next


def gru_step(
    x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None, b_hh: Tensor | None
) -> Tensor:
    """One GRU step: x (B, D), h (B, H) -> h' (B, H).

    r = sigma(W_ir x + b_ir + W_hr h + b_hr)      reset gate
    z = sigma(W_iz x + b_iz + W_hz h + b_hz)      update gate
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)) candidate; the reset gate acts AFTER the recurrent matmul
    h' = (1 - z) * n + z * h
    """
    x_r, x_z, x_n = affine(x, w_ih, b_ih).chunk(3, dim=-1)  # each (B, H)
    h_r, h_z, h_n = affine(h, w_hh, b_hh).chunk(3, dim=-1)  # each (B, H)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h


class _CellBase(nn.Module):
    """Holds weight_ih (G*H, D), weight_hh (G*H, H), bias_ih and bias_hh (G*H,), initialised like torch.nn."""

    cell: ClassVar[str]  # the cellspec key ("rnn", "lstm", "gru"): G is its gate count

    def __init__(self, input_size: int, hidden_size: int, bias: bool, device=None, dtype=None) -> None:
        super().__init__()
        _check_sizes(input_size, hidden_size)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        factory = {"device": device, "dtype": dtype}
        G = cellspec.spec(self.cell).num_gates
        self.weight_ih = nn.Parameter(torch.empty(G * hidden_size, input_size, **factory))
        self.weight_hh = nn.Parameter(torch.empty(G * hidden_size, hidden_size, **factory))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(G * hidden_size, **factory))
            self.bias_hh = nn.Parameter(torch.empty(G * hidden_size, **factory))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter ~ U(-1/sqrt(H), 1/sqrt(H)), in torch.nn's order (same seed, same weights)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")

    def _batched(self, input: Tensor, hx: Tensor | None, name: str = "hx") -> tuple[Tensor, Tensor, bool]:
        """Check (B, D) or (D,) and a state (B, H) or (H,); return both batched and an unbatched flag."""
        owner = type(self).__name__
        # the type first: a list or a numpy array has no dim() for the rank check to read
        if not isinstance(input, Tensor):
            raise TypeError(f"{owner}: input must be a torch.Tensor, got {type(input).__name__}")
        if input.dim() not in (1, 2):
            raise ValueError(f"{owner}: input must be 1-D (D,) or 2-D (B, D), got shape {tuple(input.shape)}")
        check_input_size(input, self.input_size, owner)
        check_dtype(input, self.weight_ih, owner)
        check_device(input, self.weight_ih, owner)
        unbatched = input.dim() == 1
        x = input.unsqueeze(0) if unbatched else input
        given = hx is not None
        if hx is None:
            hx = torch.zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)
        else:
            expected = (self.hidden_size,) if unbatched else (x.shape[0], self.hidden_size)
            check_state(hx, expected, name, owner)
            check_dtype(hx, self.weight_ih, owner, name)
            check_device(hx, self.weight_ih, owner, name)
            hx = hx.unsqueeze(0) if unbatched else hx
        check_finite(owner, [("input", input)] + ([(name, hx)] if given else []))
        return x, hx, unbatched


def _check_sizes(input_size: int, hidden_size: int) -> None:
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")


class RNNCell(_CellBase):
    """Elman cell h' = act(W_ih x + b_ih + W_hh h + b_hh); like torch.nn.RNNCell.

    forward(input (B, D) or (D,), hx (B, H) or None) -> h' (B, H).
    """

    cell = "rnn"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device=None,
        dtype=None,
    ) -> None:
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, h, unbatched = self._batched(input, hx)
        h = rnn_step(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, self.nonlinearity)
        return h.squeeze(0) if unbatched else h


class LSTMCell(_CellBase):
    """LSTM cell with gates i, f, g, o; like torch.nn.LSTMCell.

    forward(input (B, D) or (D,), hx (h, c) each (B, H), or None) -> (h', c') each (B, H).
    """

    cell = "lstm"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError("LSTMCell: hx must be a tuple (h, c) of two tensors or None")
        x, h, unbatched = self._batched(input, None if hx is None else hx[0], "hx[0] (h)")
        if hx is None:
            c = torch.zeros_like(h)  # (B, H)
        else:
            check_state(hx[1], (h.shape[1],) if unbatched else tuple(h.shape), "hx[1] (c)", "LSTMCell")
            check_dtype(hx[1], self.weight_ih, "LSTMCell", "hx[1] (c)")
            check_device(hx[1], self.weight_ih, "LSTMCell", "hx[1] (c)")
            check_finite("LSTMCell", [("hx[1] (c)", hx[1])])
            c = hx[1].unsqueeze(0) if unbatched else hx[1]
        h, c = lstm_step(x, h, c, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)


class GRUCell(_CellBase):
    """GRU cell with gates r, z, n (reset after the recurrent matmul); like torch.nn.GRUCell.

    forward(input (B, D) or (D,), hx (B, H) or None) -> h' (B, H).
    """

    cell = "gru"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, h, unbatched = self._batched(input, hx)
        h = gru_step(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return h.squeeze(0) if unbatched else h


# ---- the registry: per torch mode, its cell spec, its step and its fast Function ---------------------------


@dataclass(frozen=True)
class TorchCell:
    """One of torch's modes ("RNN_TANH", "RNN_RELU", "LSTM", "GRU"), called the same way whatever the cell.

    A state is a tuple of (B, H) tensors named by ``spec.states``: (h,) or (h, c). Weights are the tuple
    (weight_ih, weight_hh, bias_ih, bias_hh), biases None when the module has bias=False.
    """

    spec: CellSpec  # gate count and state names, shared with the NumPy reference
    # rnn_step, lstm_step or gru_step: (x (B, D), *states, *weights, *options) -> h' or (h', c')
    step: Callable[..., Tensor | tuple[Tensor, ...]]
    # the fast path's Function: apply(x (T, B, D), *states, *weights, mask, *options) -> (out, *final states)
    function: type[torch.autograd.Function]
    options: tuple[str, ...] = ()  # trailing arguments of both: the RNN's nonlinearity, "tanh" or "relu"

    def run_step(self, x: Tensor, state: tuple[Tensor, ...], weights) -> tuple[Tensor, ...]:
        """One time step: x (B, D), state of (B, H) -> the new state, a tuple like ``state``."""
        new_state = self.step(x, *state, *weights, *self.options)
        return (new_state,) if isinstance(new_state, Tensor) else new_state

    def run_fast(
        self, x: Tensor, state: tuple[Tensor, ...], weights, mask: Tensor | None, reverse: bool
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        """One layer and direction on the fast path: x (T, B, D) -> out (T, B, H), final state."""
        return fast.run_layer(self.function, self.options, x, state, weights, mask, reverse)


MODES: dict[str, TorchCell] = {
    "RNN_TANH": TorchCell(cellspec.spec("rnn"), rnn_step, fast.RNNFunction, options=("tanh",)),
    "RNN_RELU": TorchCell(cellspec.spec("rnn"), rnn_step, fast.RNNFunction, options=("relu",)),
    "LSTM": TorchCell(cellspec.spec("lstm"), lstm_step, fast.LSTMFunction),
    "GRU": TorchCell(cellspec.spec("gru"), gru_step, fast.GRUFunction),
}


def state_tuple(spec: CellSpec, state) -> tuple[Tensor, ...]:
    """A state in torch.nn's form as a tuple named by ``spec.states``: a bare h becomes (h,), (h, c) stays."""
    return tuple(state) if len(spec.states) > 1 else (state,)


def packed_state(states: tuple[Tensor, ...]):
    """The inverse of ``state_tuple``, torch.nn's form: one state bare (h), several as a tuple (h, c)."""
    return states[0] if len(states) == 1 else states


class CellClass(Protocol):
    """What the registry holds: a cell class, called as torch.nn's RNNCell, LSTMCell and GRUCell are."""

    cell: str

    def __call__(self, input_size: int, hidden_size: int, bias: bool = ...) -> _CellBase: ...


CELL_MODULES: dict[str, CellClass] = {module.cell: module for module in (RNNCell, LSTMCell, GRUCell)}


def torch_cell(mode: object) -> TorchCell:
    """The registry entry of torch's ``mode``; ValueError naming ``mode`` otherwise."""
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(f"mode must be one of {sorted(MODES)}, got {mode!r}")
    return MODES[mode]
