"""Attention modules: scaled dot-product (Luong/Vaswani) and additive (Bahdanau), with masks.

Letters: B (batch), Tq (query steps), Tk (key steps), Dq/Dk/Dv (query/key/value sizes), A (attention
size). Both return ``(context, weights)``: context (B, Tq, Dv) is the weighted average of the values,
weights (B, Tq, Tk) sum to one over Tk, and masked positions get exactly zero weight. Mirrors
``lstm_course.reference.attention``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from lstm_course.nn._validate import check_device, check_dtype, check_finite


def masked_softmax(scores: Tensor, mask: Tensor | None) -> Tensor:
    """softmax over the last axis of scores (B, Tq, Tk), weight exactly 0 where mask is False.

    mask is broadcastable to scores, True = may attend. A row with nothing to attend to raises ValueError
    naming mask (no quiet NaN).
    """
    if mask is None:
        return torch.softmax(scores, dim=-1)
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
        raise TypeError(
            f"mask must be a bool tensor (True = may attend), got {getattr(mask, 'dtype', type(mask))}"
        )
    try:
        mask = mask.expand_as(scores)
    except RuntimeError:
        raise ValueError(
            f"mask must have shape (B, Tq, Tk) = {tuple(scores.shape)} or broadcast to it, "
            f"got {tuple(mask.shape)}"
        ) from None
    empty = ~mask.any(dim=-1)
    if bool(empty.any()):
        b, i = (int(v) for v in empty.nonzero()[0])
        raise ValueError(f"mask leaves query {i} of batch element {b} nothing to attend to (a row all False)")
    return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)  # exp(-inf) = 0


def _check(query: Tensor, keys: Tensor, values: Tensor, owner: str, weight: Tensor | None = None) -> None:
    """Shapes, one float dtype and one device for query, keys, values (and weight); Tk >= 1; finite values.

    As the NumPy reference: no keys to attend to (Tk = 0) is an error, not a context of zeros.
    """
    for name, t in (("query", query), ("keys", keys), ("values", values)):
        if not isinstance(t, Tensor) or t.dim() != 3:
            raise ValueError(f"{name} must be a 3-D tensor (B, T, features), got {getattr(t, 'shape', t)!r}")
        if not t.is_floating_point():
            raise TypeError(f"{owner}: {name} must be a floating-point tensor, got dtype {t.dtype}")
    if keys.shape[:2] != values.shape[:2] or query.shape[0] != keys.shape[0]:
        raise ValueError(
            f"query (B, Tq, Dq), keys (B, Tk, Dk) and values (B, Tk, Dv) disagree: got {tuple(query.shape)}, "
            f"{tuple(keys.shape)}, {tuple(values.shape)}"
        )
    if keys.shape[1] < 1:
        raise ValueError(f"keys must have shape (B, Tk, Dk) with Tk >= 1, got shape {tuple(keys.shape)}")
    for name, t in (("keys", keys), ("values", values)):
        if t.dtype != query.dtype:
            raise TypeError(f"{owner}: {name} has dtype {t.dtype} but query has {query.dtype}; use one dtype")
        if t.device != query.device:
            raise ValueError(
                f"{owner}: {name} is on {t.device} but query is on {query.device}; use one device"
            )
    if weight is not None:
        check_dtype(query, weight, owner, "query")
        check_device(query, weight, owner, "query")
    check_finite(owner, [("query", query), ("keys", keys), ("values", values)])


class DotProductAttention(nn.Module):
    """scores = q k^T / sqrt(Dk) (scaled=True) or q k^T; context = softmax(scores) v. No parameters."""

    def __init__(self, scaled: bool = True) -> None:
        super().__init__()
        self.scaled = scaled

    def forward(self, query: Tensor, keys: Tensor, values: Tensor, mask: Tensor | None = None):
        """query (B, Tq, Dk), keys (B, Tk, Dk), values (B, Tk, Dv), mask -> (context (B, Tq, Dv), weights)."""
        _check(query, keys, values, "DotProductAttention")
        if query.shape[-1] != keys.shape[-1]:
            raise ValueError(
                f"query must have shape (B, Tq, Dk) with Dk = {keys.shape[-1]}, got {tuple(query.shape)}"
            )
        scale = 1.0 / math.sqrt(keys.shape[-1]) if self.scaled else 1.0
        scores = (query @ keys.transpose(1, 2)) * scale  # (B, Tq, Tk)
        weights = masked_softmax(scores, mask)
        return weights @ values, weights  # (B, Tq, Dv), (B, Tq, Tk)


class AdditiveAttention(nn.Module):
    """Bahdanau: scores[b, i, j] = v^T tanh(W_q q_i + W_k k_j); context = softmax(scores) v.

    Parameters W_q (A, Dq), W_k (A, Dk), v (A,), named as in the NumPy reference, each U(-k, k) with
    k = 1/sqrt(fan_in).
    """

    def __init__(self, query_size: int, key_size: int, attention_size: int, device=None, dtype=None) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.W_q = nn.Parameter(torch.empty(attention_size, query_size, **factory))
        self.W_k = nn.Parameter(torch.empty(attention_size, key_size, **factory))
        self.v = nn.Parameter(torch.empty(attention_size, **factory))
        for p, fan_in in ((self.W_q, query_size), (self.W_k, key_size), (self.v, attention_size)):
            nn.init.uniform_(p, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))

    def forward(self, query: Tensor, keys: Tensor, values: Tensor, mask: Tensor | None = None):
        """query (B, Tq, Dq), keys (B, Tk, Dk), values (B, Tk, Dv), mask -> (context (B, Tq, Dv), weights)."""
        _check(query, keys, values, "AdditiveAttention", self.W_q)
        for name, t, p in (("query", query, self.W_q), ("keys", keys, self.W_k)):
            if t.shape[-1] != p.shape[1]:
                raise ValueError(f"{name}.size(-1) must be {p.shape[1]}, got shape {tuple(t.shape)}")
        q = (query @ self.W_q.T).unsqueeze(2)  # (B, Tq, 1, A)
        k = (keys @ self.W_k.T).unsqueeze(1)  # (B, 1, Tk, A)
        scores = torch.tanh(q + k) @ self.v  # (B, Tq, Tk)
        weights = masked_softmax(scores, mask)
        return weights @ values, weights


def length_mask(lengths: Tensor, Tk: int) -> Tensor:
    """mask (B, 1, Tk): True at the real steps j < lengths[b], broadcastable over the queries."""
    steps = torch.arange(Tk, device=lengths.device)
    return (steps.unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(1)
