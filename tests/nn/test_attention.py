"""Attention vs the direct formula and the NumPy reference, float64 gradcheck, masks give zero weight."""

import numpy as np
import pytest
import torch

from lstm_course import reference as ref
from lstm_course.nn.attention import AdditiveAttention, DotProductAttention, length_mask

B, Tq, Tk, Dq, Dk, Dv, A = 2, 3, 5, 4, 4, 6, 7


def qkv(dtype=torch.float64):
    return (
        torch.randn(B, Tq, Dq, dtype=dtype),
        torch.randn(B, Tk, Dk, dtype=dtype),
        torch.randn(B, Tk, Dv, dtype=dtype),
    )


MASK = length_mask(torch.tensor([5, 2]), Tk)  # (B, 1, Tk)


@pytest.mark.parametrize("scaled", [True, False])
def test_dot_product_direct_formula(scaled):
    q, k, v = qkv()
    context, weights = DotProductAttention(scaled)(q, k, v)
    for b in range(B):
        for i in range(Tq):
            scores = torch.stack([q[b, i] @ k[b, j] for j in range(Tk)]) / (2.0 if scaled else 1.0)  # sqrt(4)
            w = torch.exp(scores) / torch.exp(scores).sum()
            torch.testing.assert_close(weights[b, i], w)
            torch.testing.assert_close(context[b, i], sum(w[j] * v[b, j] for j in range(Tk)))


def test_additive_direct_formula():
    att = AdditiveAttention(Dq, Dk, A, dtype=torch.float64)
    q, k, v = qkv()
    context, weights = att(q, k, v)
    b, i, j = 1, 2, 3
    score = lambda jj: att.v @ torch.tanh(att.W_q @ q[b, i] + att.W_k @ k[b, jj])  # noqa: E731
    scores = torch.stack([score(jj) for jj in range(Tk)])
    torch.testing.assert_close(weights[b, i, j], torch.softmax(scores, 0)[j])


@pytest.mark.parametrize("kind", ["dot", "additive"])
def test_matches_reference(kind, rng):
    q, k, v = qkv()
    mask = MASK.expand(B, Tq, Tk)
    if kind == "dot":
        context, weights = DotProductAttention()(q, k, v, mask)
        c_np, w_np, _ = ref.dot_product_attention_forward(q.numpy(), k.numpy(), v.numpy(), mask.numpy())
    else:
        params = ref.init_additive_attention(Dq, Dk, A, rng)
        att = AdditiveAttention(Dq, Dk, A, dtype=torch.float64)
        att.load_state_dict({name: torch.from_numpy(p) for name, p in params.items()})
        context, weights = att(q, k, v, mask)
        c_np, w_np, _ = ref.additive_attention_forward(q.numpy(), k.numpy(), v.numpy(), params, mask.numpy())
    np.testing.assert_allclose(context.detach().numpy(), c_np, rtol=0, atol=1e-12)
    np.testing.assert_allclose(weights.detach().numpy(), w_np, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", ["dot", "additive"])
def test_masked_positions_get_exactly_zero_weight_and_gradient(kind):
    att = DotProductAttention() if kind == "dot" else AdditiveAttention(Dq, Dk, A, dtype=torch.float64)
    q, k, v = (t.requires_grad_() for t in qkv())
    context, weights = att(q, k, v, MASK)
    assert torch.all(weights[1, :, 2:] == 0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(B, Tq, dtype=torch.float64))
    context.sum().backward()
    assert torch.all(k.grad[1, 2:] == 0) and torch.all(v.grad[1, 2:] == 0)


@pytest.mark.parametrize("kind", ["dot", "additive"])
def test_gradcheck(kind):
    att = DotProductAttention() if kind == "dot" else AdditiveAttention(Dq, Dk, A, dtype=torch.float64)
    inputs = tuple(t.requires_grad_() for t in qkv())
    assert torch.autograd.gradcheck(lambda q, k, v: att(q, k, v, MASK), inputs)
    if kind == "additive":
        params = (att.W_q, att.W_k, att.v)

        def by_params(wq, wk, vv):
            return AdditiveAttention.forward(_Swap(wq, wk, vv), *(t.detach() for t in inputs), MASK)

        assert torch.autograd.gradcheck(by_params, tuple(p.detach().clone().requires_grad_() for p in params))


class _Swap:
    """Stand-in self for AdditiveAttention.forward with given parameters (for gradcheck w.r.t. them)."""

    def __init__(self, wq, wk, v):
        self.W_q, self.W_k, self.v = wq, wk, v


def test_bad_input():
    q, k, v = qkv(torch.float32)
    with pytest.raises(ValueError, match="nothing to attend"):
        DotProductAttention()(q, k, v, torch.zeros(B, 1, Tk, dtype=torch.bool))
    with pytest.raises(TypeError, match="bool"):
        DotProductAttention()(q, k, v, torch.ones(B, 1, Tk))
    with pytest.raises(ValueError, match=r"mask must have shape \(B, Tq, Tk\)"):
        DotProductAttention()(q, k, v, torch.ones(B, 1, Tk + 1, dtype=torch.bool))
    with pytest.raises(ValueError, match="disagree"):
        DotProductAttention()(q, k, v[:, :-1])
    with pytest.raises(ValueError, match=r"query.size\(-1\) must be 5"):
        AdditiveAttention(Dq + 1, Dk, A)(q, k, v)
    context, weights = AdditiveAttention(Dq, Dk, A)(q, k, v)
    assert context.dtype == weights.dtype == torch.float32
