"""PyTorch modules written from the course's equations, weight-compatible with ``torch.nn``.

Never wraps torch.nn.LSTM, ``_VF`` or ``torch.lstm``: every gate is computed with tensor ops, readable in
``cells.py`` (one step) and ``recurrent.py`` (layers, directions, padding); ``fast.py`` holds the fused
path with a hand-written backward through time that ``fast=True`` selects.

NaN and inf, the rule of :mod:`lstm_course.reference` too: non-finite input is refused with a ValueError
naming it. The layers and cells check their input and initial states, the attention modules query, keys and
values, with one reduction per forward call (one device sync), never one per time step. Parameters are not
checked on every call: they turn non-finite only through training, and ``lstm_course.train.fit`` stops with
a FloatingPointError naming the step when the loss or the gradient norm does. Inputs and parameters on
different devices, or on the meta device, raise ValueError naming the argument.
"""

from lstm_course.nn.cells import GRUCell, LSTMCell, RNNCell, gru_step, lstm_step, rnn_step
from lstm_course.nn.device import available_devices, pick_device
from lstm_course.nn.forget_bias import set_forget_bias
from lstm_course.nn.models import CharLM, SequenceRegressor, SequenceTagger
from lstm_course.nn.recurrent import GRU, LSTM, RNN

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "CharLM",
    "GRUCell",
    "LSTMCell",
    "RNNCell",
    "SequenceRegressor",
    "SequenceTagger",
    "available_devices",
    "gru_step",
    "lstm_step",
    "pick_device",
    "rnn_step",
    "set_forget_bias",
]
