"""Attention: scaled dot-product and additive (Bahdanau), with a mask, forward and backward.

Letters: B batch, Tq queries, Tk keys, Dq / Dk / Dv query, key and value sizes, A the additive attention's
hidden size. A mask is boolean, (B, Tq, Tk) or broadcastable to it, True where a query may attend to a key.
Masked scores become -inf before the softmax, so their weights are exactly 0. A query row that may attend to
nothing has no defined softmax: it raises ValueError instead of returning NaN.

    weights = softmax(scores, over Tk)        context = weights @ values
    dot product:  scores = q k^T / sqrt(Dk)   (Dq = Dk; unscaled with scaled=False)
    additive:     scores[b, i, j] = v^T tanh(W_q q_i + W_k k_j)
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from . import _validate as validate


class DotProductAttentionCache(NamedTuple):
    """What :func:`dot_product_attention_backward` needs."""

    query: np.ndarray  # (B, Tq, Dk)
    keys: np.ndarray  # (B, Tk, Dk)
    values: np.ndarray  # (B, Tk, Dv)
    weights: np.ndarray  # (B, Tq, Tk)
    scale: float  # 1/sqrt(Dk), or 1


class AdditiveAttentionCache(NamedTuple):
    """What :func:`additive_attention_backward` needs."""

    query: np.ndarray  # (B, Tq, Dq)
    keys: np.ndarray  # (B, Tk, Dk)
    values: np.ndarray  # (B, Tk, Dv)
    weights: np.ndarray  # (B, Tq, Tk)
    hidden: np.ndarray  # (B, Tq, Tk, A) tanh(W_q q_i + W_k k_j)
    params: dict[str, np.ndarray]


def _inputs(query: Any, keys: Any, values: Any, extra: tuple[np.ndarray, ...] = ()) -> tuple[np.ndarray, ...]:
    query, keys = validate.as_array("query", query), validate.as_array("keys", keys)
    values = validate.as_array("values", values)
    sizes: dict[str, int] = {}
    validate.check_shape("query", query, ("B", "Tq", "Dq"), sizes)
    validate.check_shape("keys", keys, ("B", "Tk", "Dk"), sizes)
    validate.check_shape("values", values, ("B", "Tk", "Dv"), sizes)
    if sizes["Tk"] < 1:
        raise ValueError(f"keys must have shape (B, Tk, Dk) with Tk >= 1, got shape {keys.shape}")
    dtype = validate.float_dtype(query, keys, values, *extra)
    return tuple(a.astype(dtype, copy=False) for a in (query, keys, values))


def masked_softmax(scores: np.ndarray, mask: Any) -> np.ndarray:
    """softmax over the last axis of scores (B, Tq, Tk), with masked entries (mask False) given weight 0.

    Raises ValueError naming ``mask`` when a row is fully masked (its softmax would be 0/0 = NaN).
    """
    if mask is not None:
        mask = np.asarray(mask)
        if mask.dtype != np.bool_:
            raise TypeError(f"mask must be a boolean array (True = may attend), got dtype {mask.dtype}")
        try:
            mask = np.broadcast_to(mask, scores.shape)
        except ValueError:
            raise ValueError(
                f"mask must have shape (B, Tq, Tk) = {scores.shape} or broadcast to it, got {mask.shape}"
            ) from None
        empty = ~mask.any(axis=-1)
        if empty.any():
            b, i = np.argwhere(empty)[0]
            raise ValueError(
                f"mask leaves query {i} of batch element {b} nothing to attend to (a row all False)"
            )
        scores = np.where(mask, scores, -np.inf)
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))  # exp(-inf) = 0 for masked entries
    return e / e.sum(axis=-1, keepdims=True)


def _softmax_backward(dweights: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """dscores for weights = softmax(scores): w * (dw - sum_k dw_k w_k). Masked entries (w = 0) get 0."""
    return weights * (dweights - np.sum(dweights * weights, axis=-1, keepdims=True))


def dot_product_attention_forward(
    query: np.ndarray,
    keys: np.ndarray,
    values: np.ndarray,
    mask: np.ndarray | None = None,
    scaled: bool = True,
) -> tuple[np.ndarray, np.ndarray, DotProductAttentionCache]:
    """context = softmax(q k^T / sqrt(Dk)) v, per batch element.

    Args:
        query: (B, Tq, Dk). keys: (B, Tk, Dk). values: (B, Tk, Dv).
        mask: (B, Tq, Tk) or broadcastable, True = may attend; None: attend everywhere.
        scaled: divide the scores by sqrt(Dk) (True) or not.

    Returns:
        context: (B, Tq, Dv); weights: (B, Tq, Tk), each row summing to 1; the cache for the backward.
    """
    query, keys, values = _inputs(query, keys, values)
    if query.shape[2] != keys.shape[2]:
        raise ValueError(
            f"query must have shape (B, Tq, Dk) with Dk = {keys.shape[2]}, got shape {query.shape}"
        )
    scale = 1.0 / float(np.sqrt(keys.shape[2])) if scaled else 1.0
    scores = (query @ keys.transpose(0, 2, 1)) * scale  # (B, Tq, Tk)
    weights = masked_softmax(scores, mask).astype(query.dtype, copy=False)
    context = weights @ values  # (B, Tq, Dv)
    # the caller's weights are a copy: an in-place edit of them cannot change the backward
    return context, weights.copy(), DotProductAttentionCache(query, keys, values, weights, scale)


def dot_product_attention_backward(
    dcontext: np.ndarray, cache: DotProductAttentionCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward of :func:`dot_product_attention_forward`, given dcontext (B, Tq, Dv).

    Returns:
        dquery (B, Tq, Dk), dkeys (B, Tk, Dk), dvalues (B, Tk, Dv).
    """
    validate.check_cache(cache, DotProductAttentionCache, "dot_product_attention_forward")
    query, keys, values, weights, scale = cache
    dcontext = validate.as_float("dcontext", dcontext, query.dtype)
    sizes = {"B": query.shape[0], "Tq": query.shape[1], "Dv": values.shape[2]}
    validate.check_shape("dcontext", dcontext, ("B", "Tq", "Dv"), sizes)
    dweights = dcontext @ values.transpose(0, 2, 1)  # context = weights @ values
    dvalues = weights.transpose(0, 2, 1) @ dcontext  # context = weights @ values
    dscores = _softmax_backward(dweights, weights) * scale  # weights = softmax(scores), scores = scale q k^T
    dquery = dscores @ keys  # scores = scale q k^T
    dkeys = dscores.transpose(0, 2, 1) @ query  # scores = scale q k^T
    return dquery, dkeys, dvalues


def init_additive_attention(
    query_size: int, key_size: int, attention_size: int, rng: np.random.Generator, dtype: type = np.float64
) -> dict[str, np.ndarray]:
    """Additive attention parameters: W_q (A, Dq), W_k (A, Dk), v (A,), each U(-k, k), k = 1/sqrt(fan_in)."""

    def uniform(shape: tuple[int, ...], fan_in: int) -> np.ndarray:
        k = 1.0 / np.sqrt(fan_in)
        return rng.uniform(-k, k, size=shape).astype(dtype)

    return {
        "W_q": uniform((attention_size, query_size), query_size),
        "W_k": uniform((attention_size, key_size), key_size),
        "v": uniform((attention_size,), attention_size),
    }


def _additive_params(params: Any, Dq: int, Dk: int) -> dict[str, np.ndarray]:
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict with keys W_q, W_k, v, got {type(params).__name__}")
    for key in ("W_q", "W_k", "v"):
        if key not in params:
            raise KeyError(f"params is missing {key!r}; expected W_q (A, Dq), W_k (A, Dk), v (A,)")
    p = {key: validate.as_array(f"params[{key!r}]", params[key]) for key in ("W_q", "W_k", "v")}
    sizes = {"Dq": Dq, "Dk": Dk}
    validate.check_shape("params['W_q']", p["W_q"], ("A", "Dq"), sizes)
    validate.check_shape("params['W_k']", p["W_k"], ("A", "Dk"), sizes)
    validate.check_shape("params['v']", p["v"], ("A",), sizes)
    return p


def additive_attention_forward(
    query: np.ndarray, keys: np.ndarray, values: np.ndarray, params: dict, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, AdditiveAttentionCache]:
    """Bahdanau attention: scores[b, i, j] = v^T tanh(W_q q_i + W_k k_j); context = softmax(scores) @ values.

    Args:
        query: (B, Tq, Dq). keys: (B, Tk, Dk). values: (B, Tk, Dv).
        params: W_q (A, Dq), W_k (A, Dk), v (A,) (see :func:`init_additive_attention`).
        mask: (B, Tq, Tk) or broadcastable, True = may attend; None: attend everywhere.

    Returns:
        context: (B, Tq, Dv); weights: (B, Tq, Tk); the cache for the backward.
    """
    query, keys, values = _inputs(query, keys, values)  # shapes first: the parameters' shapes depend on them
    p = _additive_params(params, query.shape[2], keys.shape[2])
    dtype = validate.float_dtype(query, keys, values, *p.values())
    query, keys, values = (a.astype(dtype, copy=False) for a in (query, keys, values))
    p = validate.cast_params(p, dtype)
    hidden = np.tanh(
        (query @ p["W_q"].T)[:, :, None, :] + (keys @ p["W_k"].T)[:, None, :, :]
    )  # (B, Tq, Tk, A)
    scores = hidden @ p["v"]  # (B, Tq, Tk)
    weights = masked_softmax(scores, mask).astype(query.dtype, copy=False)
    context = weights @ values  # (B, Tq, Dv)
    # the caller's weights are a copy: an in-place edit of them cannot change the backward
    return context, weights.copy(), AdditiveAttentionCache(query, keys, values, weights, hidden, p)


def additive_attention_backward(
    dcontext: np.ndarray, cache: AdditiveAttentionCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Backward of :func:`additive_attention_forward`, given dcontext (B, Tq, Dv).

    Returns:
        dquery (B, Tq, Dq), dkeys (B, Tk, Dk), dvalues (B, Tk, Dv), grads: {"W_q", "W_k", "v"} like params.
    """
    validate.check_cache(cache, AdditiveAttentionCache, "additive_attention_forward")
    query, keys, values, weights, hidden, p = cache
    dcontext = validate.as_float("dcontext", dcontext, query.dtype)
    sizes = {"B": query.shape[0], "Tq": query.shape[1], "Dv": values.shape[2]}
    validate.check_shape("dcontext", dcontext, ("B", "Tq", "Dv"), sizes)
    dweights = dcontext @ values.transpose(0, 2, 1)  # context = weights @ values
    dvalues = weights.transpose(0, 2, 1) @ dcontext  # context = weights @ values
    dscores = _softmax_backward(dweights, weights)  # weights = softmax(scores)
    dv = np.einsum("bij,bija->a", dscores, hidden)  # scores = hidden @ v
    dpre = dscores[..., None] * p["v"] * (1 - hidden * hidden)  # (B, Tq, Tk, A) hidden = tanh(pre)
    dq_proj, dk_proj = dpre.sum(axis=2), dpre.sum(axis=1)  # pre = (W_q q_i) + (W_k k_j), broadcast over j / i
    grads = {
        "W_q": np.einsum("bia,bid->ad", dq_proj, query),  # q_proj = q W_q^T
        "W_k": np.einsum("bja,bjd->ad", dk_proj, keys),  # k_proj = k W_k^T
        "v": dv,
    }
    return dq_proj @ p["W_q"], dk_proj @ p["W_k"], dvalues, grads
