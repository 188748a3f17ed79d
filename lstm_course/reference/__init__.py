"""The NumPy reference: every equation of the course, forward and hand-written backward. Never imports torch.

The cell registry, ``lstm_course.reference.cells``, gives each cell's step and sequence functions one
calling convention (states as a tuple), for code that runs any cell.

Letters used throughout: T time steps, B batch, D input features, H hidden units. Sequences are time-major
(T, B, D). Parameter dicts use torch's names and layout (weight_ih, weight_hh, bias_ih, bias_hh), so weights
move between this package, :mod:`lstm_course.nn` and ``torch.nn`` unchanged.

Input rules shared by every function (see ``_validate``): integer input is treated as float; complex and
object arrays raise TypeError; the result's dtype is the promotion of the float inputs (float32 in, float32
out); wrong shapes raise ValueError and missing parameters KeyError, naming the argument and expected shape.

NaN and inf, the package's one rule (``lstm_course.nn`` follows it too): non-finite *input* is refused. Every
float array a function reads (x, the states, the parameters, incoming gradients, logits, activations' input)
must be finite, else ValueError naming the argument, because no NaN may appear quietly: a NaN found in a
result always means a bug in the caller's numbers, never one this package let through. Any finite input
gives a finite result without a NumPy warning (or a ValueError naming what overflows, such as a loss past
float64). The converters (``params_from_state_dict``, ``state_dict_from_params``) compute nothing and copy
non-finite weights as they are. A torch tensor that requires grad raises TypeError (pass ``.detach()``),
and a backward function given another function's cache raises TypeError naming ``cache``.
"""

from .activations import log_softmax, sigmoid, sigmoid_derivative, softmax, tanh, tanh_derivative
from .attention import (
    AdditiveAttentionCache,
    DotProductAttentionCache,
    additive_attention_backward,
    additive_attention_forward,
    dot_product_attention_backward,
    dot_product_attention_forward,
    init_additive_attention,
    masked_softmax,
)
from .convert import layer_params, params_from_state_dict, state_dict_from_params
from .gradcheck import numerical_gradient, relative_error
from .gru import GRUCache, GRUStepCache, gru_backward, gru_forward, gru_step_backward, gru_step_forward
from .init import init_multilayer_params, init_params
from .layers import (
    DenseCache,
    EmbeddingCache,
    cross_entropy_loss,
    dense_backward,
    dense_forward,
    embedding_backward,
    embedding_forward,
    mse_loss,
)
from .lstm import LSTMCache, LSTMStepCache, lstm_backward, lstm_forward, lstm_step_backward, lstm_step_forward
from .lstm_vectorised import LSTMVectorisedCache, lstm_backward_vectorised, lstm_forward_vectorised
from .multilayer import MultilayerCache, multilayer_backward, multilayer_forward
from .optim import SGD, Adam, clip_grad_norm
from .rnn import RNNCache, RNNStepCache, rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward

__all__ = [
    "SGD",
    "Adam",
    "AdditiveAttentionCache",
    "DenseCache",
    "DotProductAttentionCache",
    "EmbeddingCache",
    "GRUCache",
    "GRUStepCache",
    "LSTMCache",
    "LSTMStepCache",
    "LSTMVectorisedCache",
    "MultilayerCache",
    "RNNCache",
    "RNNStepCache",
    "additive_attention_backward",
    "additive_attention_forward",
    "clip_grad_norm",
    "cross_entropy_loss",
    "dense_backward",
    "dense_forward",
    "dot_product_attention_backward",
    "dot_product_attention_forward",
    "embedding_backward",
    "embedding_forward",
    "gru_backward",
    "gru_forward",
    "gru_step_backward",
    "gru_step_forward",
    "init_additive_attention",
    "init_multilayer_params",
    "init_params",
    "layer_params",
    "log_softmax",
    "lstm_backward",
    "lstm_backward_vectorised",
    "lstm_forward",
    "lstm_forward_vectorised",
    "lstm_step_backward",
    "lstm_step_forward",
    "masked_softmax",
    "mse_loss",
    "multilayer_backward",
    "multilayer_forward",
    "numerical_gradient",
    "params_from_state_dict",
    "relative_error",
    "rnn_backward",
    "rnn_forward",
    "rnn_step_backward",
    "rnn_step_forward",
    "sigmoid",
    "sigmoid_derivative",
    "softmax",
    "state_dict_from_params",
    "tanh",
    "tanh_derivative",
]
