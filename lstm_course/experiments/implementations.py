"""Three implementations of one LSTM, fed the same weights and inputs: NumPy reference, ours, torch.nn;
and the choice of implementation an experiment trains on.

The choice, ``implementation``: ``"fast"``, our layer with the hand-written BPTT of ``lstm_course.nn.fast``
(``fast=True``); ``"plain"``, our layer through autograd over the step functions (``fast=False``);
``"torch"``, ``torch.nn.RNN``, ``LSTM`` or ``GRU`` loaded with the initial weights our layer drew, so a seed
gives the same start whatever the implementation (training then differs by rounding only). The three compute
the same function (:func:`three_lstms` here, ``three_grus`` in chapter 5, and the tests for every cell); for
the chapters' small models on one CPU thread torch.nn's fused LSTM kernel trains about twice as fast as our
fast path, so the experiments default to the implementation measured fastest for their shapes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.profiler import ProfilerActivity, profile

from lstm_course.experiments.threads import torch_threads
from lstm_course.nn import LSTM
from lstm_course.nn.recurrent import LAYERS
from lstm_course.reference import lstm_forward
from lstm_course.reference.convert import layer_params, params_from_state_dict


def three_lstms(
    *, input_size: int = 3, hidden_size: int = 5, T: int = 7, batch_size: int = 2, seed: int = 0
) -> dict:
    """Max |difference| from torch.nn of the outputs (T, B, H) and final h, c of the others, in float64."""
    torch.manual_seed(seed)
    theirs = torch.nn.LSTM(input_size, hidden_size).double()
    ours = LSTM(input_size, hidden_size).double()
    ours.load_state_dict(theirs.state_dict())  # same names, same shapes: no reshuffling
    params = layer_params(params_from_state_dict(theirs.state_dict()), 0)
    x = np.random.default_rng(seed).standard_normal((T, batch_size, input_size))
    with torch.no_grad():
        out_t, (h_t, c_t) = theirs(torch.from_numpy(x))
        out_o, (h_o, c_o) = ours(torch.from_numpy(x))
    out_r, (h_r, c_r), _ = lstm_forward(x, params)

    def gap(a, b) -> float:
        return float(np.abs(np.asarray(a) - np.asarray(b)).max())

    return {
        "lstm_course.nn.LSTM": {
            "out": gap(out_o, out_t),
            "h_T": gap(h_o[0], h_t[0]),
            "c_T": gap(c_o[0], c_t[0]),
        },
        "reference.lstm_forward": {
            "out": gap(out_r, out_t),
            "h_T": gap(h_r, h_t[0]),
            "c_T": gap(c_r, c_t[0]),
        },
    }


def float32_training_gaps(
    *, input_size: int = 2, hidden_size: int = 32, T: int = 100, batch_size: int = 16, seed: int = 0
) -> dict[str, float]:
    """Max |difference| between our fast LSTM and ``torch.nn.LSTM`` in float32, the precision the chapters
    train in (torch then runs oneDNN's fused kernel), relative to the largest |value|: for the output
    (T, B, H), and for the gradient of a loss (the sum of the output times fixed random weights) with respect
    to the input and to each weight."""
    with torch_threads(1):  # as the experiments train (and tiny: a second thread only costs CPU time)
        return _float32_training_gaps(input_size, hidden_size, T, batch_size, seed)


def _float32_training_gaps(input_size: int, hidden_size: int, T: int, batch_size: int, seed: int) -> dict:
    torch.manual_seed(seed)
    ours = LSTM(input_size, hidden_size, fast=True)
    theirs = torch.nn.LSTM(input_size, hidden_size)
    theirs.load_state_dict(ours.state_dict())
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.standard_normal((T, batch_size, input_size)).astype(np.float32))
    mix = torch.from_numpy(rng.standard_normal((T, batch_size, hidden_size)).astype(np.float32))
    results = {}
    for name, layer in (("ours", ours), ("torch", theirs)):
        x_in = x.clone().requires_grad_(True)
        out, _ = layer(x_in)
        (out * mix).sum().backward()
        results[name] = {"out": out.detach(), "dx": x_in.grad}
        results[name].update({f"d{k}": p.grad for k, p in layer.named_parameters()})
    ours_, theirs_ = results["ours"], results["torch"]
    return {k: float((ours_[k] - theirs_[k]).abs().max() / theirs_[k].abs().max()) for k in ours_}


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 for the block (torch's profiler writes its start and stop lines there)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def kernels_of_torch_lstm(
    dtype: torch.dtype, *, input_size: int = 3, hidden_size: int = 5, T: int = 7
) -> list[str]:
    """The ATen operators a CPU forward pass of ``torch.nn.LSTM`` in ``dtype`` runs, from ``torch.profiler``
    (sorted; ``aten::mkldnn_rnn_layer`` is oneDNN's fused LSTM, which torch uses only for float32 and lower
    precisions)."""
    layer = torch.nn.LSTM(input_size, hidden_size).to(dtype)
    x = torch.zeros(T, 2, input_size, dtype=dtype)
    with _quiet_stderr(), torch.no_grad(), profile(activities=[ProfilerActivity.CPU]) as prof:
        layer(x)
    return sorted({event.name for event in prof.events() if event.name.startswith("aten::")})


# --- the implementation an experiment trains on ------------------------------------------------------------

#: What an experiment can train on: our fast or plain path, or torch.nn's layer with our initial weights.
IMPLEMENTATIONS = ("fast", "plain", "torch")


def check_implementation(implementation: object) -> str:
    """``implementation`` if it is one of :data:`IMPLEMENTATIONS`, else ValueError naming it."""
    if not isinstance(implementation, str) or implementation not in IMPLEMENTATIONS:
        raise ValueError(f"implementation must be one of {IMPLEMENTATIONS}, got {implementation!r}")
    return implementation


class _NoLengths:
    """torch.nn's layer with our layers' call: ``forward(x, hx=None, lengths=None)``; lengths are refused."""

    def forward(self, input: Tensor, hx=None, *, lengths: Tensor | Sequence[int] | None = None):
        """x (T, B, D), hx as torch.nn takes it -> (output (T, B, H), h_n or (h_n, c_n))."""
        if lengths is not None:
            raise ValueError(f"{type(self).__name__}: lengths= needs implementation 'fast' or 'plain'")
        return super().forward(input, hx)  # type: ignore[misc]


class TorchRNN(_NoLengths, nn.RNN):  # type: ignore[misc]  # forward takes lengths=
    """``torch.nn.RNN`` (tanh), callable like our RNN without ``lengths``."""


class TorchLSTM(_NoLengths, nn.LSTM):  # type: ignore[misc]  # forward takes lengths=
    """``torch.nn.LSTM``, callable like our LSTM without ``lengths``."""


class TorchGRU(_NoLengths, nn.GRU):  # type: ignore[misc]  # forward takes lengths=
    """``torch.nn.GRU``, callable like our GRU without ``lengths``."""


TORCH_LAYERS: dict[str, type[nn.Module]] = {"rnn": TorchRNN, "lstm": TorchLSTM, "gru": TorchGRU}


def carrying_weights(layer: nn.Module, cell: str, implementation: str) -> nn.Module:
    """A one-direction ``torch.nn`` LSTM/GRU/RNN ``layer`` as ``implementation`` runs it: ``layer`` itself for
    "torch", else our layer of the same sizes carrying its weights (with ``fast`` for "fast").

    Draws no random numbers, so what a seed draws after the layer does not depend on the implementation.
    """
    if check_implementation(implementation) == "torch":
        return layer
    input_size, hidden_size = getattr(layer, "input_size", None), getattr(layer, "hidden_size", None)
    if not isinstance(input_size, int) or not isinstance(hidden_size, int):
        raise TypeError(f"layer must be a torch.nn recurrent layer, got {type(layer).__name__}")
    with torch.random.fork_rng(devices=[]):  # our constructor draws initial weights: keep the seed's stream
        ours = LAYERS[cell](input_size, hidden_size, fast=implementation == "fast")
    ours.load_state_dict(layer.state_dict())  # the same names and shapes as torch.nn's
    return ours


def with_implementation(model: nn.Module, implementation: str) -> nn.Module:
    """``model`` (whose ``.rnn`` is our one-direction layer, as SequenceRegressor and SequenceTagger build it)
    set to train on ``implementation``: ours with ``fast`` set, or torch.nn's layer carrying the same weights.

    Changes ``model`` in place and returns it. The weights are copied, not redrawn, so the initial weights
    depend only on the seed.
    """
    check_implementation(implementation)
    ours: Any = model.rnn  # our RNN, LSTM or GRU
    if implementation in ("fast", "plain"):
        ours.fast = implementation == "fast"
        return model
    if ours.bidirectional or getattr(ours, "nonlinearity", "tanh") != "tanh":
        raise ValueError("implementation 'torch' is wired for one-direction tanh layers only")
    theirs = TORCH_LAYERS[str(model.cell)](ours.input_size, ours.hidden_size, ours.num_layers, bias=ours.bias)
    theirs.load_state_dict(ours.state_dict())  # same names, same shapes
    model.rnn = theirs.to(next(ours.parameters()).device)
    return model
