"""Three implementations of one LSTM, fed the same weights and inputs: NumPy reference, ours, torch.nn."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

from lstm_course.nn import LSTM
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
