"""Chapter 8's bridge to the Transformer: why dot products are scaled, and multi-head self-attention.

``softmax_saturation`` measures how peaked the softmax of q.k scores gets as the size d grows, with and
without the 1/sqrt(d) of Vaswani et al. (2017). ``multi_head_self_attention`` writes multi-head attention from
its equations in torch, with torch.nn.MultiheadAttention's parameter layout, so ``mha_parity`` can copy one
into the other and compare outputs and gradients.

Letters: B batch, T steps, D model size, h heads, d_h = D / h per head.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor


class SaturationRow(NamedTuple):
    """The softmax over Tk scores q.k of random unit-variance vectors of size d, unscaled and scaled."""

    d: int
    score_std: float  # the spread of the unscaled scores, about sqrt(d)
    max_weight: float  # mean over queries of the largest weight, unscaled
    max_weight_scaled: float  # the same with scores / sqrt(d)
    gradient: float  # mean Frobenius norm of the softmax's Jacobian diag(w) - w w^T, unscaled
    gradient_scaled: float  # the same with scores / sqrt(d)


def _jacobian_norm(weights: np.ndarray) -> np.ndarray:
    """||diag(w) - w w^T||_F for each row of weights (N, Tk)."""
    jacobian = (
        np.einsum("nj,jk->njk", weights, np.eye(weights.shape[1])) - weights[:, :, None] * weights[:, None]
    )
    return np.sqrt((jacobian**2).sum(axis=(1, 2)))


def softmax_saturation(
    dims: Sequence[int], rng: np.random.Generator, *, queries: int = 500, keys: int = 16
) -> list[SaturationRow]:
    """For each d: ``queries`` queries, each with its own ``keys`` keys, N(0, 1) entries: their softmax."""
    if not dims or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in dims):
        raise ValueError(f"dims must be positive ints, got {list(dims)}")
    rows = []
    for d in dims:
        q, k = rng.normal(size=(queries, d)), rng.normal(size=(queries, keys, d))  # fresh keys per query
        scores = np.einsum("nd,nkd->nk", q, k)  # (N, Tk), each a sum of d unit-variance products: std sqrt(d)
        measured = []
        for scale in (1.0, 1.0 / math.sqrt(d)):
            shifted = scores * scale - (scores * scale).max(axis=1, keepdims=True)
            weights = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
            measured.append((float(weights.max(axis=1).mean()), float(_jacobian_norm(weights).mean())))
        (top, grad), (top_scaled, grad_scaled) = measured
        rows.append(SaturationRow(d, float(scores.std()), top, top_scaled, grad, grad_scaled))
    return rows


def multi_head_self_attention(
    x: Tensor, in_proj_weight: Tensor, in_proj_bias: Tensor, out_proj_weight: Tensor, out_proj_bias: Tensor,
    heads: int, key_padding_mask: Tensor | None = None,
) -> tuple[Tensor, Tensor]:  # fmt: skip
    """Multi-head self-attention from the equations: x (B, T, D) -> (out (B, T, D), weights (B, T, T)).

    [Q K V] = x W_in^T + b_in, split into h heads of d_h = D / h; head_i = softmax(Q_i K_i^T / sqrt(d_h)) V_i;
    out = concat(head_1..head_h) W_out^T + b_out. Parameters in torch.nn.MultiheadAttention's layout:
    in_proj_weight (3D, D), in_proj_bias (3D,), out_proj_weight (D, D), out_proj_bias (D,).
    key_padding_mask (B, T), True at padded steps (torch's convention), which no query may attend to.
    The weights returned are averaged over the heads, as torch returns them by default.
    """
    B, T, D = x.shape
    if D % heads:
        raise ValueError(f"heads must divide the model size D = {D}, got {heads}")
    head_size = D // heads
    projected = x @ in_proj_weight.T + in_proj_bias  # (B, T, 3D)
    query, key, value = projected.split(D, dim=-1)  # each (B, T, D)

    def split_heads(t: Tensor) -> Tensor:
        return t.reshape(B, T, heads, head_size).transpose(1, 2)  # (B, h, T, d_h)

    query, key, value = split_heads(query), split_heads(key), split_heads(value)
    scores = query @ key.transpose(-2, -1) / math.sqrt(head_size)  # (B, h, T, T)
    if key_padding_mask is not None:
        scores = scores.masked_fill(key_padding_mask[:, None, None, :], float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    context = (weights @ value).transpose(1, 2).reshape(B, T, D)  # concat the heads: (B, T, D)
    return context @ out_proj_weight.T + out_proj_bias, weights.mean(dim=1)


def _grad(tensor: Tensor, name: str) -> Tensor:
    """The gradient a backward left in ``tensor``; ``name`` says which tensor has none."""
    if tensor.grad is None:
        raise RuntimeError(f"{name} has no gradient: it took no part in the loss")
    return tensor.grad


def mha_parity(
    seed: int = 0, *, batch: int = 3, steps: int = 6, size: int = 8, heads: int = 2
) -> dict[str, float]:
    """Max |difference| between ``multi_head_self_attention`` and torch.nn.MultiheadAttention with the same
    float64 weights, on a padded batch: outputs, weights, and the gradients of one loss for x and every
    parameter."""
    generator = torch.Generator().manual_seed(seed)
    torch_mha = torch.nn.MultiheadAttention(size, heads, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        for parameter in torch_mha.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator, dtype=torch.float64) * 0.5)
    x = torch.randn(batch, steps, size, generator=generator, dtype=torch.float64)
    padding = torch.arange(steps)[None, :] >= torch.tensor([steps, steps - 2, 2][:batch])[:, None]  # (B, T)
    mine = {
        "in_proj_weight": torch_mha.in_proj_weight.detach().clone().requires_grad_(),
        "in_proj_bias": torch_mha.in_proj_bias.detach().clone().requires_grad_(),
        "out_proj_weight": torch_mha.out_proj.weight.detach().clone().requires_grad_(),
        "out_proj_bias": torch_mha.out_proj.bias.detach().clone().requires_grad_(),
    }
    x_theirs, x_mine = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_theirs, weights_theirs = torch_mha(x_theirs, x_theirs, x_theirs, key_padding_mask=padding)
    if weights_theirs is None:
        raise RuntimeError("torch.nn.MultiheadAttention returned no weights (need_weights is on by default)")
    out_mine, weights_mine = multi_head_self_attention(x_mine, **mine, heads=heads, key_padding_mask=padding)
    probe = torch.randn(out_mine.shape, generator=generator, dtype=torch.float64)
    (out_theirs * probe).sum().backward()
    (out_mine * probe).sum().backward()
    theirs = {
        "in_proj_weight": _grad(torch_mha.in_proj_weight, "in_proj_weight"),
        "in_proj_bias": _grad(torch_mha.in_proj_bias, "in_proj_bias"),
        "out_proj_weight": _grad(torch_mha.out_proj.weight, "out_proj.weight"),
        "out_proj_bias": _grad(torch_mha.out_proj.bias, "out_proj.bias"),
    }
    differences = {
        "output": (out_mine - out_theirs).abs().max(),
        "weights": (weights_mine - weights_theirs).abs().max(),
        "grad x": (_grad(x_mine, "x") - _grad(x_theirs, "x")).abs().max(),
    }
    differences.update(
        {f"grad {name}": (_grad(mine[name], name) - theirs[name]).abs().max() for name in mine}
    )
    return {name: float(value.detach()) for name, value in differences.items()}


__all__ = ["SaturationRow", "mha_parity", "multi_head_self_attention", "softmax_saturation"]
