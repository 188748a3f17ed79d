"""The fast path's one matmul per step over the row [x_t, h_{t-1}]: shapes where D > H, input that needs no
gradient, no initial state, and the GRU's block weights, each against the plain path (float64 to 1e-9)."""

import pytest
import torch

import lstm_course.nn as our
from lstm_course.nn.fast import RNNFunction, gru_block_weights

T, B, D, H = 5, 3, 7, 2  # D > H: the row [x_t, h_{t-1}] is mostly x
LENGTHS = [5, 2, 4]
MODES = [("LSTM", {}), ("GRU", {}), ("RNN", {}), ("RNN", {"nonlinearity": "relu"})]
IDS = ["lstm", "gru", "rnn-tanh", "rnn-relu"]


def twins(mode, **kwargs):
    plain = getattr(our, mode)(D, H, dtype=torch.float64, **kwargs)
    fast = getattr(our, mode)(D, H, dtype=torch.float64, fast=True, **kwargs)
    fast.load_state_dict(plain.state_dict())
    return plain, fast


def loss_and_grads(module, x, lengths):
    """Outputs, final states and parameter gradients for a loss over both, with no initial state given."""
    out, final = module(x, lengths=lengths)
    final = final if isinstance(final, tuple) else (final,)
    g = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
    ((out * g).sum() + sum(f.cos().sum() for f in final)).backward()
    return [out, *final, *(p.grad for p in module.parameters())]


@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
@pytest.mark.parametrize("mode, kwargs", MODES, ids=IDS)
def test_input_without_gradient_and_no_initial_state(mode, kwargs, lengths):
    """x needs no gradient (a first layer): the weights' gradients still equal the plain path's."""
    plain, fast = twins(mode, bidirectional=True, num_layers=2, **kwargs)
    x = torch.randn(T, B, D, dtype=torch.float64)
    for a, b in zip(loss_and_grads(plain, x, lengths), loss_and_grads(fast, x, lengths), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-9)


def test_gru_block_weights_give_the_four_preactivations():
    """[x, h] @ block^T = [W_ir x + W_hr h, W_iz x + W_hz h, W_in x, W_hn h]."""
    w_ih, w_hh = torch.randn(3 * H, D, dtype=torch.float64), torch.randn(3 * H, H, dtype=torch.float64)
    x, h = torch.randn(B, D, dtype=torch.float64), torch.randn(B, H, dtype=torch.float64)
    from_x, from_h = (x @ w_ih.t()).chunk(3, dim=1), (h @ w_hh.t()).chunk(3, dim=1)
    expected = torch.cat([from_x[0] + from_h[0], from_x[1] + from_h[1], from_x[2], from_h[2]], dim=1)
    got = torch.cat([x, h], dim=1) @ gru_block_weights(w_ih, w_hh).t()
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)


@pytest.mark.slow  # float64 gradcheck over many steps: in make test, not make test-fast
@pytest.mark.parametrize("masked", [False, True], ids=["full", "masked"])
def test_gradcheck_relu_rnn(masked):
    """The relu RNN's hand-written backward against finite differences (pre-activations kept away from 0)."""
    x = torch.randn(4, 2, 3, dtype=torch.float64, requires_grad=True)
    h0 = torch.rand(2, H, dtype=torch.float64).add_(0.5).requires_grad_()
    w_ih = torch.randn(H, 3, dtype=torch.float64, requires_grad=True)
    w_hh = (0.5 * torch.randn(H, H, dtype=torch.float64)).requires_grad_()
    b_ih, b_hh = (torch.randn(H, dtype=torch.float64, requires_grad=True) for _ in range(2))
    mask = (
        torch.tensor([[True, True], [True, True], [False, True], [False, True]]).view(4, 2, 1)
        if masked
        else None
    )
    assert torch.autograd.gradcheck(
        lambda *args: RNNFunction.apply(*args, mask, "relu"), (x, h0, w_ih, w_hh, b_ih, b_hh)
    )
