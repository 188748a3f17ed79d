"""Set the LSTM forget gate's bias, the classic trick (Gers et al. 2000; Jozefowicz et al. 2015) that helps an
LSTM remember from the first update on."""

from __future__ import annotations

import torch
from torch import nn

from lstm_course import cellspec

FORGET = cellspec.spec("lstm").gates.index("f")  # the forget gate's block of rows in the LSTM's i, f, g, o


def _is_lstm(module: nn.Module) -> bool:
    from lstm_course.nn.cells import LSTMCell
    from lstm_course.nn.recurrent import LSTM

    return isinstance(module, (LSTM, LSTMCell, nn.LSTM, nn.LSTMCell))


@torch.no_grad()
def set_forget_bias(module: nn.Module, value: float) -> int:
    """Make the forget gate's total bias b_if + b_hf equal value in every LSTM (layer) inside module.

    Works on our LSTM/LSTMCell and on torch.nn's: in each bias_ih* the forget slice [H:2H] becomes value
    and in each bias_hh* it becomes 0. Returns how many bias pairs were set; raises ValueError when module
    holds no LSTM with biases.
    """
    count = 0
    for sub in module.modules():
        if not _is_lstm(sub):
            continue
        H = int(sub.hidden_size)  # type: ignore[arg-type]
        forget = slice(FORGET * H, (FORGET + 1) * H)  # [H:2H]
        for name, param in sub.named_parameters(recurse=False):
            if name.startswith("bias_ih"):
                param[forget] = value
                getattr(sub, name.replace("bias_ih", "bias_hh"))[forget] = 0.0
                count += 1
    if count == 0:
        raise ValueError(
            f"set_forget_bias: {type(module).__name__} holds no LSTM or LSTMCell with biases (bias=True)"
        )
    return count
