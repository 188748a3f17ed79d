"""The naive baseline of the benchmarks: RNN, LSTM and GRU written the way most tutorials write them.

One weight matrix per gate and input (``x @ W_xi + h @ W_hi + b_i``), nothing fused, a Python loop over time,
the outputs stacked at the end, and plain autograd for the backward. It is what the fused layout of
:mod:`lstm_course.nn` (one (G*H, D) matrix for all gates) is measured against. Weights load from the matching
``torch.nn`` module (:func:`naive_from_torch`), so the tests check it against ``torch.nn`` in float64.

Letters: T time steps, B batch, D input features, H hidden units; sequences are time-major (T, B, D).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lstm_course.cellspec import spec

# each cell's gates, in torch's row order; gate k has the naive parameters W_xk, W_hk and b_k
GATES = {"rnn": ("h",), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}


class NaiveRecurrent(nn.Module):
    """One layer of ``cell`` ("rnn", "lstm", "gru"): x (T, B, D) -> out (T, B, H) and the final state.

    ``params`` holds, per gate k: ``W_x{k}`` (D, H), ``W_h{k}`` (H, H), ``b_{k}`` (H,); the GRU's candidate n
    keeps its two biases apart, ``b_xn`` and ``b_hn``: the reset gate multiplies the recurrent part only.
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, device=None, dtype=None) -> None:
        super().__init__()
        self.cell = spec(cell).name
        for name, size in (("input_size", input_size), ("hidden_size", hidden_size)):
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise ValueError(f"{name} must be a positive int, got {size!r}")
        self.input_size, self.hidden_size = input_size, hidden_size
        scale = hidden_size**-0.5  # U(-1/sqrt(H), 1/sqrt(H)), as torch.nn draws them
        factory = {"device": device, "dtype": dtype}

        def uniform(*shape: int) -> nn.Parameter:
            return nn.Parameter(torch.empty(*shape, **factory).uniform_(-scale, scale))

        self.params = nn.ParameterDict()
        for gate in GATES[self.cell]:
            self.params[f"W_x{gate}"] = uniform(input_size, hidden_size)
            self.params[f"W_h{gate}"] = uniform(hidden_size, hidden_size)
            for bias in ("b_xn", "b_hn") if gate == "n" else (f"b_{gate}",):
                self.params[bias] = uniform(hidden_size)

    def rnn_step(self, x: Tensor, h: Tensor) -> Tensor:
        """h_t = tanh(x_t W_xh + h_{t-1} W_hh + b_h); x (B, D), h (B, H)."""
        p = self.params
        return torch.tanh(x @ p["W_xh"] + h @ p["W_hh"] + p["b_h"])

    def lstm_step(self, x: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        """The LSTM step, one matmul per gate and input; x (B, D), h and c (B, H)."""
        p = self.params
        i = torch.sigmoid(x @ p["W_xi"] + h @ p["W_hi"] + p["b_i"])  # input gate
        f = torch.sigmoid(x @ p["W_xf"] + h @ p["W_hf"] + p["b_f"])  # forget gate
        g = torch.tanh(x @ p["W_xg"] + h @ p["W_hg"] + p["b_g"])  # candidate
        o = torch.sigmoid(x @ p["W_xo"] + h @ p["W_ho"] + p["b_o"])  # output gate
        c = f * c + i * g
        return o * torch.tanh(c), c

    def gru_step(self, x: Tensor, h: Tensor) -> Tensor:
        """The GRU step (reset applied after the recurrent matmul, as torch.nn.GRU); x (B, D), h (B, H)."""
        p = self.params
        r = torch.sigmoid(x @ p["W_xr"] + h @ p["W_hr"] + p["b_r"])  # reset gate
        z = torch.sigmoid(x @ p["W_xz"] + h @ p["W_hz"] + p["b_z"])  # update gate
        n = torch.tanh(x @ p["W_xn"] + p["b_xn"] + r * (h @ p["W_hn"] + p["b_hn"]))  # candidate
        return (1 - z) * n + z * h

    def forward(self, x: Tensor) -> tuple[Tensor, tuple[Tensor, ...]]:
        """x (T, B, D) -> out (T, B, H), final state (h_T,) or (h_T, c_T), each (B, H); zero initial state."""
        if x.dim() != 3 or x.shape[2] != self.input_size:
            raise ValueError(f"x must be (T, B, {self.input_size}), got {tuple(x.shape)}")
        h = x.new_zeros(x.shape[1], self.hidden_size)
        c = h
        outputs = []
        for x_t in x:
            if self.cell == "lstm":
                h, c = self.lstm_step(x_t, h, c)
            elif self.cell == "gru":
                h = self.gru_step(x_t, h)
            else:
                h = self.rnn_step(x_t, h)
            outputs.append(h)
        return torch.stack(outputs), ((h, c) if self.cell == "lstm" else (h,))


def naive_from_torch(module: nn.RNN | nn.LSTM | nn.GRU) -> NaiveRecurrent:
    """A :class:`NaiveRecurrent` with the weights of a one-layer, one-direction, tanh ``torch.nn`` module."""
    cells = {nn.LSTM: "lstm", nn.GRU: "gru", nn.RNN: "rnn"}
    if type(module) not in cells:
        raise TypeError(f"module must be a torch.nn RNN, LSTM or GRU, got {type(module).__name__}")
    if module.num_layers != 1 or module.bidirectional or not module.bias or module.batch_first:
        raise ValueError("module must have one layer, one direction, biases and time-major input")
    if getattr(module, "nonlinearity", "tanh") != "tanh" or getattr(module, "proj_size", 0):
        raise ValueError("module must use tanh and no projection")
    cell = cells[type(module)]
    theirs = (
        module.state_dict()
    )  # weight_ih_l0 (G*H, D), weight_hh_l0 (G*H, H), bias_ih_l0, bias_hh_l0 (G*H,)
    weight = theirs["weight_ih_l0"]
    naive = NaiveRecurrent(cell, module.input_size, module.hidden_size, weight.device, weight.dtype)
    H = module.hidden_size
    with torch.no_grad():
        for k, gate in enumerate(GATES[cell]):
            rows = slice(k * H, (k + 1) * H)  # the gate's block of torch's (G*H, .) weights
            naive.params[f"W_x{gate}"].copy_(theirs["weight_ih_l0"][rows].T)
            naive.params[f"W_h{gate}"].copy_(theirs["weight_hh_l0"][rows].T)
            if gate == "n":
                naive.params["b_xn"].copy_(theirs["bias_ih_l0"][rows])
                naive.params["b_hn"].copy_(theirs["bias_hh_l0"][rows])
            else:
                naive.params[f"b_{gate}"].copy_(theirs["bias_ih_l0"][rows] + theirs["bias_hh_l0"][rows])
    return naive
