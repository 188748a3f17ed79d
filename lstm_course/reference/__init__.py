"""The NumPy reference: every equation of the course, forward and hand-written backward. Never imports torch.

Letters used throughout: T time steps, B batch, D input features, H hidden units. Sequences are time-major
(T, B, D). Parameter dicts use torch's names and layout (weight_ih, weight_hh, bias_ih, bias_hh), so weights
move between this package, :mod:`lstm_course.nn` and ``torch.nn`` unchanged.
"""

from .activations import log_softmax, sigmoid, sigmoid_derivative, softmax, tanh, tanh_derivative
from .gradcheck import numerical_gradient, relative_error
from .gru import GRUCache, GRUStepCache, gru_backward, gru_forward, gru_step_backward, gru_step_forward
from .init import init_multilayer_params, init_params
from .lstm import LSTMCache, LSTMStepCache, lstm_backward, lstm_forward, lstm_step_backward, lstm_step_forward
from .rnn import RNNCache, RNNStepCache, rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward

__all__ = [
    "GRUCache",
    "GRUStepCache",
    "LSTMCache",
    "LSTMStepCache",
    "RNNCache",
    "RNNStepCache",
    "gru_backward",
    "gru_forward",
    "gru_step_backward",
    "gru_step_forward",
    "init_multilayer_params",
    "init_params",
    "log_softmax",
    "lstm_backward",
    "lstm_forward",
    "lstm_step_backward",
    "lstm_step_forward",
    "numerical_gradient",
    "relative_error",
    "rnn_backward",
    "rnn_forward",
    "rnn_step_backward",
    "rnn_step_forward",
    "sigmoid",
    "sigmoid_derivative",
    "softmax",
    "tanh",
    "tanh_derivative",
]
