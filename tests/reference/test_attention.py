"""Dot-product and additive attention: gradient checks (with masks), torch agreement, the fully masked row."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_course import reference as ref

B, TQ, TK, DK, DV, A = 2, 3, 4, 3, 2, 5


def _mask(rng):
    mask = rng.random((B, TQ, TK)) < 0.6
    mask[..., 0] = True  # every query may attend to something
    return mask


@pytest.fixture
def qkv(rng):
    return rng.normal(size=(B, TQ, DK)), rng.normal(size=(B, TK, DK)), rng.normal(size=(B, TK, DV))


@pytest.mark.parametrize("masked", [False, True], ids=["no-mask", "mask"])
@pytest.mark.parametrize("scaled", [True, False])
def test_dot_product_gradients(qkv, masked, scaled, rng, check_gradients):
    query, keys, values = qkv
    mask = _mask(rng) if masked else None
    w = rng.normal(size=(B, TQ, DV))

    def loss():
        return np.sum(w * ref.dot_product_attention_forward(query, keys, values, mask, scaled)[0])

    _, weights, cache = ref.dot_product_attention_forward(query, keys, values, mask, scaled)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0)
    if masked:
        assert np.all(weights[~mask] == 0)
    dq, dk, dv = ref.dot_product_attention_backward(w, cache)
    check_gradients(loss, {"query": (query, dq), "keys": (keys, dk), "values": (values, dv)})


@pytest.mark.parametrize("masked", [False, True], ids=["no-mask", "mask"])
def test_additive_gradients(masked, rng, check_gradients):
    query, keys, values = (
        rng.normal(size=(B, TQ, 4)),
        rng.normal(size=(B, TK, DK)),
        rng.normal(size=(B, TK, DV)),
    )
    params = ref.init_additive_attention(4, DK, A, rng)
    mask = _mask(rng) if masked else None
    w = rng.normal(size=(B, TQ, DV))

    def loss():
        return np.sum(w * ref.additive_attention_forward(query, keys, values, params, mask)[0])

    _, weights, cache = ref.additive_attention_forward(query, keys, values, params, mask)
    if masked:
        assert np.all(weights[~mask] == 0)
    dq, dk, dv, grads = ref.additive_attention_backward(w, cache)
    pairs = {"query": (query, dq), "keys": (keys, dk), "values": (values, dv)}
    check_gradients(loss, pairs | {key: (params[key], grads[key]) for key in params})


def test_additive_scores_follow_the_equation(rng):
    query, keys, values = rng.normal(size=(1, 1, 2)), rng.normal(size=(1, 3, 2)), rng.normal(size=(1, 3, 1))
    params = ref.init_additive_attention(2, 2, 4, rng)
    _, weights, _ = ref.additive_attention_forward(query, keys, values, params)
    scores = [
        params["v"] @ np.tanh(params["W_q"] @ query[0, 0] + params["W_k"] @ keys[0, j]) for j in range(3)
    ]
    np.testing.assert_allclose(weights[0, 0], ref.softmax(np.array(scores)))


def test_dot_product_matches_torch(qkv, rng):
    torch = pytest.importorskip("torch")
    query, keys, values = qkv
    mask = _mask(rng)
    context, _, _ = ref.dot_product_attention_forward(query, keys, values, mask)
    expected = torch.nn.functional.scaled_dot_product_attention(
        *(torch.from_numpy(a) for a in (query, keys, values)), attn_mask=torch.from_numpy(mask)
    )
    assert ref.relative_error(context, expected.numpy()) < 1e-12


def test_broadcast_mask(qkv):
    query, keys, values = qkv
    key_mask = np.array([[True, True, False, False], [True, True, True, False]])[:, None, :]  # (B, 1, Tk)
    _, weights, _ = ref.dot_product_attention_forward(query, keys, values, key_mask)
    assert weights.shape == (B, TQ, TK) and np.all(weights[0, :, 2:] == 0) and np.all(weights[1, :, 3] == 0)


def test_fully_masked_row_raises(qkv, rng):
    query, keys, values = qkv
    mask = np.ones((B, TQ, TK), bool)
    mask[1, 2] = False
    with pytest.raises(ValueError, match=r"mask leaves query 2 of batch element 1 nothing to attend to"):
        ref.dot_product_attention_forward(query, keys, values, mask)
    params = ref.init_additive_attention(DK, DK, A, rng)
    with pytest.raises(ValueError, match=r"mask leaves"):
        ref.additive_attention_forward(query, keys, values, params, mask)


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (lambda q, k, v, m: (q[..., :-1], k, v, m), ValueError, r"query must have shape \(B, Tq, Dk\)"),
        (lambda q, k, v, m: (q, k, v[:, :-1], m), ValueError, r"values must have shape \(B, Tk, Dv\)"),
        (lambda q, k, v, m: (q, k[:1], v, m), ValueError, r"keys must have shape"),
        (lambda q, k, v, m: (q, k, v, m.astype(int)), TypeError, r"mask must be a boolean array"),
        (lambda q, k, v, m: (q, k, v, m[:, :, :2]), ValueError, r"mask must have shape \(B, Tq, Tk\)"),
        (lambda q, k, v, m: (q * 1j, k, v, m), TypeError, r"query must be a real"),
    ],
    ids=["query", "values", "keys-batch", "mask-int", "mask-shape", "complex"],
)
def test_bad_input(qkv, change, error, match):
    args = change(*qkv, np.ones((B, TQ, TK), bool))
    with pytest.raises(error, match=match):
        ref.dot_product_attention_forward(*args)


def test_bad_additive_params(qkv, rng):
    query, keys, values = qkv
    params = ref.init_additive_attention(DK, DK, A, rng)
    with pytest.raises(KeyError, match=r"params is missing 'v'"):
        ref.additive_attention_forward(query, keys, values, {k: p for k, p in params.items() if k != "v"})
    with pytest.raises(ValueError, match=r"params\['W_k'\] must have shape \(A, Dk\)"):
        ref.additive_attention_forward(query, keys, values, params | {"W_k": params["W_k"][:, :-1]})


def test_float32_is_kept(qkv):
    query, keys, values = (a.astype(np.float32) for a in qkv)
    context, weights, cache = ref.dot_product_attention_forward(query, keys, values)
    assert context.dtype == weights.dtype == np.float32
    assert all(
        g.dtype == np.float32 for g in ref.dot_product_attention_backward(np.ones_like(context), cache)
    )


@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_extreme_inputs_stay_finite(qkv, rng, scale):
    query, keys, values = (a * scale for a in qkv)
    params = ref.init_additive_attention(DK, DK, A, rng)
    mask = _mask(rng)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        context, weights, cache = ref.dot_product_attention_forward(query, keys, values, mask)
        grads = ref.dot_product_attention_backward(np.ones_like(context), cache)
        context2, weights2, cache2 = ref.additive_attention_forward(query, keys, values, params, mask)
        grads2 = ref.additive_attention_backward(np.ones_like(context2), cache2)
    for array in [context, weights, *grads, context2, weights2, *grads2[:3], *grads2[3].values()]:
        assert np.all(np.isfinite(array))


@pytest.mark.parametrize("query", [np.float64(1.0), np.ones((2, 3))], ids=["0-d", "2-d"])
def test_additive_attention_blames_a_bad_query_not_the_params(query, rng):
    params = ref.init_additive_attention(3, 3, 4, rng)
    keys = values = rng.standard_normal((2, 5, 3))
    with pytest.raises(ValueError, match=r"query must have shape \(B, Tq, Dq\)"):
        ref.additive_attention_forward(query, keys, values, params)
