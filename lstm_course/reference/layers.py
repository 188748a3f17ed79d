"""Feedforward pieces: the dense (affine) layer, the embedding lookup and two losses, forward and backward.

Letters: N rows (examples, or every (t, b) pair flattened), D input features, M output features,
V vocabulary size, E embedding size, C classes.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _validate as validate
from .activations import log_softmax


class DenseCache(NamedTuple):
    """What :func:`dense_backward` needs."""

    x: np.ndarray  # (..., D) the input
    weight: np.ndarray  # (M, D)


class EmbeddingCache(NamedTuple):
    """What :func:`embedding_backward` needs."""

    indices: np.ndarray  # (...) integer indices
    vocab_size: int  # V
    dtype: np.dtype  # of the weight


def dense_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, DenseCache]:
    """out = x W^T + b, torch.nn.Linear's layout.

    Args:
        x: (N, D), or (..., D): any leading dimensions (such as (T, B, D)) are kept.
        weight: (M, D).
        bias: (M,).

    Returns:
        out: (N, M) (or (..., M)) and the cache for :func:`dense_backward`.
    """
    x, weight = validate.as_array("x", x), validate.as_array("weight", weight)
    bias = validate.as_array("bias", bias)
    sizes: dict[str, int] = {}
    validate.check_shape("weight", weight, ("M", "D"), sizes)
    validate.check_shape("bias", bias, ("M",), sizes)
    if x.ndim < 1 or x.shape[-1] != sizes["D"]:
        raise ValueError(f"x must have shape (N, D) or (..., D) with D = {sizes['D']}, got shape {x.shape}")
    dtype = validate.float_dtype(x, weight, bias)
    x, weight, bias = (a.astype(dtype, copy=False) for a in (x, weight, bias))
    return x @ weight.T + bias, DenseCache(x, weight)


def dense_backward(dout: np.ndarray, cache: DenseCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward of out = x W^T + b, given dout (N, M) or (..., M).

    Returns:
        dx (like x), dweight (M, D), dbias (M,).
    """
    validate.check_cache(cache, DenseCache, "dense_forward")
    x, weight = cache
    dout = validate.as_float("dout", dout, x.dtype)
    M, D = weight.shape
    if dout.shape != (*x.shape[:-1], M):
        raise ValueError(f"dout must have shape (..., M) = {(*x.shape[:-1], M)}, got shape {dout.shape}")
    dout2, x2 = dout.reshape(-1, M), x.reshape(-1, D)  # (N, M), (N, D)
    dx = dout @ weight  # out = x W^T + b
    dweight = dout2.T @ x2  # out = x W^T + b
    dbias = dout2.sum(axis=0)  # out = ... + b
    return dx, dweight, dbias


def _indices(name: str, indices: np.ndarray, upper: int) -> np.ndarray:
    indices = np.asarray(indices)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array, got dtype {indices.dtype}")
    if indices.size and (indices.min() < 0 or indices.max() >= upper):
        raise ValueError(f"{name} must lie in [0, {upper}), got values in [{indices.min()}, {indices.max()}]")
    return indices


def embedding_forward(indices: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, EmbeddingCache]:
    """out[...] = W[indices[...]]: row lookup, torch.nn.Embedding's layout.

    Args:
        indices: (...) integers in [0, V), for example (T, B).
        weight: (V, E).

    Returns:
        out: (..., E) and the cache for :func:`embedding_backward`.
    """
    weight = validate.as_float("weight", weight)
    validate.check_shape("weight", weight, ("V", "E"), {})
    indices = _indices("indices", indices, weight.shape[0])
    return weight[indices], EmbeddingCache(indices, weight.shape[0], weight.dtype)


def embedding_backward(dout: np.ndarray, cache: EmbeddingCache) -> np.ndarray:
    """Backward of out = W[indices]: dW[k] = sum of dout (..., E) where indices == k. Returns dW (V, E)."""
    validate.check_cache(cache, EmbeddingCache, "embedding_forward")
    indices, vocab, dtype = cache
    dout = validate.as_float("dout", dout, dtype)
    if dout.shape[:-1] != indices.shape or dout.ndim != indices.ndim + 1:
        raise ValueError(f"dout must have shape (..., E) with ... = {indices.shape}, got shape {dout.shape}")
    dweight = np.zeros((vocab, dout.shape[-1]), dtype=dtype)
    np.add.at(dweight, indices.reshape(-1), dout.reshape(-1, dout.shape[-1]))  # out = W[indices]; repeats add
    return dweight


def mse_loss(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """L = mean((pred - target)^2) over all entries; returns (L, dL/dpred). pred, target: the same shape."""
    pred = validate.as_float("pred", pred)
    target = validate.as_float("target", target, pred.dtype)
    if pred.shape != target.shape:
        raise ValueError(f"target must have the shape of pred {pred.shape}, got shape {target.shape}")
    if pred.size == 0:
        raise ValueError(
            f"pred must hold at least one entry (a mean over none is undefined), got {pred.shape}"
        )
    # the squares in float64, so float32 input up to ~1e150 still gives a finite loss; an overflow is named
    with np.errstate(over="ignore"):
        diff = pred - target
        loss = float(np.mean(np.square(diff, dtype=np.float64)))
    if not np.isfinite(loss) or not np.isfinite(diff).all():
        raise ValueError("pred and target differ by more than the loss can hold in float64 (it overflows)")
    dpred = 2 * diff / diff.size  # L = sum(diff^2) / size
    return loss, dpred


def cross_entropy_loss(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """L = -mean_n log softmax(logits_n)[targets_n]; returns (L, dL/dlogits).

    Args:
        logits: (N, C) unnormalised scores.
        targets: (N,) integer classes in [0, C).

    Returns:
        loss: a float; dlogits: (N, C) = (softmax(logits) - onehot(targets)) / N.
    """
    logits = validate.as_float("logits", logits)
    validate.check_shape("logits", logits, ("N", "C"), {})
    N, C = logits.shape
    if N == 0:
        raise ValueError("logits must hold at least one row (N >= 1): the mean over none is undefined")
    targets = _indices("targets", targets, C)
    if targets.shape != (N,):
        raise ValueError(f"targets must have shape (N,) with N = {N}, got shape {targets.shape}")
    logp = log_softmax(logits, axis=1)  # (N, C)
    rows = np.arange(N)
    loss = float(-np.mean(logp[rows, targets]))
    dlogits = np.exp(logp)  # softmax
    dlogits[rows, targets] -= 1  # d(-log p_y)/dlogits = p - onehot(y)
    dlogits /= N  # the mean over N
    return loss, dlogits
