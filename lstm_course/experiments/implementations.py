"""Three implementations of one LSTM, fed the same weights and inputs: NumPy reference, ours, torch.nn."""

from __future__ import annotations

import numpy as np
import torch

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
