"""The LSTM fast path works through cache-sized chunks of steps; several chunks, an uneven last one included,
give the plain path's numbers (float64 to 1e-9, gradients included) and pass gradcheck."""

import pytest
import torch

import lstm_course.nn as our
from lstm_course.nn import fast
from lstm_course.nn.fast import LSTMFunction, chunk_steps

T, B, D, H = 7, 3, 4, 5
LENGTHS = [7, 2, 5]


@pytest.fixture(params=[1, 2, 3], ids=["steps1", "steps2", "steps3"])
def steps(request, monkeypatch):
    """Shrink the chunk so that (B, 4H) = (3, 20) gates make chunks of 1, 2 or 3 steps."""
    monkeypatch.setattr(fast, "CHUNK_ELEMENTS", request.param * B * 4 * H)
    assert chunk_steps(T, B, H) == request.param
    return request.param


def run(module, x, hx, lengths):
    x = x.clone().requires_grad_()
    hx = tuple(h.clone().requires_grad_() for h in hx)
    out, (h, c) = module(x, hx, lengths=lengths)
    g = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
    ((out * g).sum() + h.sin().sum() + c.cos().sum()).backward()
    return [out, h, c, x.grad, *(s.grad for s in hx), *(p.grad for p in module.parameters())]


@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
def test_chunked_fast_equals_plain(steps, lengths):
    plain = our.LSTM(D, H, num_layers=2, bidirectional=True, dtype=torch.float64)
    quick = our.LSTM(D, H, num_layers=2, bidirectional=True, dtype=torch.float64, fast=True)
    quick.load_state_dict(plain.state_dict())
    x = torch.randn(T, B, D, dtype=torch.float64)
    hx = [torch.randn(4, B, H, dtype=torch.float64) for _ in range(2)]
    for a, b in zip(run(plain, x, hx, lengths), run(quick, x, hx, lengths), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-9)


@pytest.mark.slow  # float64 gradcheck over many steps: in make test, not make test-fast
@pytest.mark.parametrize("masked", [False, True], ids=["full", "masked"])
def test_chunked_gradcheck(steps, masked):
    x = torch.randn(T, B, D, dtype=torch.float64, requires_grad=True)
    h0, c0 = (torch.randn(B, H, dtype=torch.float64, requires_grad=True) for _ in range(2))
    w_ih = torch.randn(4 * H, D, dtype=torch.float64, requires_grad=True)
    w_hh = (0.5 * torch.randn(4 * H, H, dtype=torch.float64)).requires_grad_()
    b_ih, b_hh = (torch.randn(4 * H, dtype=torch.float64, requires_grad=True) for _ in range(2))
    mask = None
    if masked:
        mask = (torch.arange(T).view(T, 1) < torch.tensor(LENGTHS).view(1, B)).view(T, B, 1)
    assert torch.autograd.gradcheck(LSTMFunction.apply, (x, h0, c0, w_ih, w_hh, b_ih, b_hh, mask))
