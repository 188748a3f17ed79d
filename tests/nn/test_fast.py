"""The fast path (hand-written BPTT) equals the plain path, float64 to 1e-9, gradients included."""

import pytest
import torch
from torch import nn

import lstm_course.nn as our
from lstm_course.nn.fast import GRUFunction, LSTMFunction, RNNFunction

T, B, D, H = 6, 3, 4, 5
LENGTHS = [6, 1, 4]


def twins(mode, **kwargs):
    plain = getattr(our, mode)(D, H, dtype=torch.float64, **kwargs)
    fast = getattr(our, mode)(D, H, dtype=torch.float64, fast=True, **kwargs)
    fast.load_state_dict(plain.state_dict())
    return plain, fast


def outputs_and_grads(module, x, hx, lengths):
    x = x.clone().requires_grad_()
    hx = tuple(h.clone().requires_grad_() for h in hx)
    out, final = module(x, hx if module.mode == "LSTM" else hx[0], lengths=lengths)
    final = final if isinstance(final, tuple) else (final,)
    g = torch.linspace(-1, 1, out.numel(), dtype=out.dtype, device=out.device).view_as(out)
    ((out * g).sum() + sum((f.sin()).sum() for f in final)).backward()
    grads = [x.grad, *(h.grad for h in hx), *(p.grad for p in module.parameters())]
    return [out, *final], grads


@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
@pytest.mark.parametrize(
    "mode, kwargs",
    [
        ("LSTM", {}),
        ("LSTM", {"bias": False}),
        ("GRU", {}),
        ("GRU", {"bias": False}),
        ("RNN", {}),
        ("RNN", {"nonlinearity": "relu"}),
    ],
    ids=["lstm", "lstm-nobias", "gru", "gru-nobias", "rnn-tanh", "rnn-relu"],
)
def test_fast_equals_plain(mode, kwargs, lengths):
    plain, fast = twins(mode, num_layers=2, bidirectional=True, **kwargs)
    x = torch.randn(T, B, D, dtype=torch.float64)
    hx = [torch.randn(4, B, H, dtype=torch.float64) for _ in range(2 if mode == "LSTM" else 1)]
    outs_p, grads_p = outputs_and_grads(plain, x, hx, lengths)
    outs_f, grads_f = outputs_and_grads(fast, x, hx, lengths)
    for a, b in zip(outs_p, outs_f, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-9)
    for a, b in zip(grads_p, grads_f, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-9)


def _args(n_states, G, mask):
    x = torch.randn(4, 2, 3, dtype=torch.float64, requires_grad=True)
    states = [torch.randn(2, H, dtype=torch.float64, requires_grad=True) for _ in range(n_states)]
    w_ih = torch.randn(G * H, 3, dtype=torch.float64, requires_grad=True)
    w_hh = (0.5 * torch.randn(G * H, H, dtype=torch.float64)).requires_grad_()
    b_ih, b_hh = (torch.randn(G * H, dtype=torch.float64, requires_grad=True) for _ in range(2))
    m = None if mask is None else torch.tensor(mask).view(4, 2, 1)
    return (x, *states, w_ih, w_hh, b_ih, b_hh, m)


MASK = [[True, True], [True, True], [False, True], [False, True]]


@pytest.mark.slow  # float64 gradcheck over many steps: in make test, not make test-fast
@pytest.mark.parametrize("mask", [None, MASK], ids=["full", "masked"])
def test_gradcheck_functions(mask):
    """torch.autograd.gradcheck of each hand-written backward against finite differences."""
    assert torch.autograd.gradcheck(LSTMFunction.apply, _args(2, 4, mask))
    assert torch.autograd.gradcheck(GRUFunction.apply, _args(1, 3, mask))
    assert torch.autograd.gradcheck(lambda *a: RNNFunction.apply(*a, "tanh"), _args(1, 1, mask))


def test_fast_float32_close_to_torch_nn():
    ref = nn.LSTM(D, H, num_layers=2)
    fast = our.LSTM(D, H, num_layers=2, fast=True)
    fast.load_state_dict(ref.state_dict())
    x = torch.randn(50, B, D)
    out1, _ = ref(x)
    out2, _ = fast(x)
    assert out2.dtype == torch.float32
    torch.testing.assert_close(out1, out2, rtol=1e-5, atol=1e-5)


def test_fast_output_may_be_edited_in_place():
    """The output is the caller's to edit (as with torch.nn): the gradients stay right."""
    plain, fast = twins("GRU")
    x = torch.randn(T, B, D, dtype=torch.float64)
    for module in (plain, fast):
        out, _ = module(x)
        out.mul_(2).sum().backward()
    for p, q in zip(plain.parameters(), fast.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, rtol=0, atol=1e-9)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_cuda_matches_cpu(mode):
    """Plain and fast paths on CUDA give the CPU's numbers (float64), gradients included."""
    plain, fast = twins(mode, num_layers=2, bidirectional=True)
    x = torch.randn(T, B, D, dtype=torch.float64)
    hx = [torch.randn(4, B, H, dtype=torch.float64) for _ in range(2 if mode == "LSTM" else 1)]
    outs_cpu, grads_cpu = outputs_and_grads(plain, x, hx, LENGTHS)
    for module in (plain, fast):
        module.zero_grad()
        module.cuda()
        outs, grads = outputs_and_grads(module, x.cuda(), [h.cuda() for h in hx], LENGTHS)
        for a, b in zip(outs_cpu + grads_cpu, outs + grads, strict=True):
            torch.testing.assert_close(a, b.cpu(), rtol=0, atol=1e-9)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_double_backward_is_refused_by_name(mode):
    """create_graph=True would differentiate the in-place backward: a clear error instead of wrong numbers."""
    module = getattr(our, mode)(D, H, fast=True)
    out, _ = module(torch.randn(T, B, D, requires_grad=True))
    refused = rf"{mode} fast path \(fast=True\): double backward .* not supported"
    with pytest.raises(RuntimeError, match=refused):
        torch.autograd.grad(out.sum(), list(module.parameters()), create_graph=True)
    plain = getattr(our, mode)(D, H)  # the plain path supports it
    out, _ = plain(torch.randn(T, B, D))
    (grad,) = torch.autograd.grad(out.sum(), [plain.weight_hh_l0], create_graph=True)
    assert grad.requires_grad
