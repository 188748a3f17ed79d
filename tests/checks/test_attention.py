"""Exercise 08's checks: the reference passes; each attention mistake fails with its own message."""

import numpy as np
import pytest

from lstm_course import reference as ref
from lstm_course.checks.attention import (
    check_additive_attention_backward,
    check_additive_attention_forward,
    check_dot_product_attention_backward,
    check_dot_product_attention_forward,
    check_masked_softmax,
)


def test_the_reference_passes_every_check(capsys: pytest.CaptureFixture[str]) -> None:
    check_masked_softmax(ref.masked_softmax)
    check_dot_product_attention_forward(ref.dot_product_attention_forward)
    check_dot_product_attention_backward(
        ref.dot_product_attention_forward, ref.dot_product_attention_backward
    )
    check_additive_attention_forward(ref.additive_attention_forward)
    check_additive_attention_backward(ref.additive_attention_forward, ref.additive_attention_backward)
    assert capsys.readouterr().out.splitlines() == [
        "✓ masked_softmax: 4/4 checks passed",
        "✓ dot_product_attention_forward: 4/4 checks passed",
        "✓ dot_product_attention_backward: 4/4 checks passed",
        "✓ additive_attention_forward: 4/4 checks passed",
        "✓ additive_attention_backward: 3/3 checks passed",
    ]


# --- a student's functions, with one knob per mistake ---


def softmax(scores, mask, *, axis=-1, mask_mode="before", shift=True):
    """A student's masked softmax; mask_mode "after", "ignored", "inverted", "zero" are mistakes."""
    if mask is not None and mask_mode in ("before", "inverted", "zero"):
        keep = ~mask if mask_mode == "inverted" else mask
        scores = np.where(keep, scores, 0.0 if mask_mode == "zero" else -np.inf)
    top = scores.max(axis=axis, keepdims=True) if shift else 0
    e = np.exp(scores - top)
    weights = e / e.sum(axis=axis, keepdims=True)
    if mask is not None and mask_mode == "after":
        weights = weights * mask
    return weights


def dot_forward(
    query, keys, values, mask=None, *, scale="sqrt", transposed=False, keys_as_values=False, **soft
):
    Dk = keys.shape[2]
    factor = {"sqrt": 1 / np.sqrt(Dk), "none": 1.0, "d": 1 / Dk}[scale]
    scores = (keys @ query.transpose(0, 2, 1) if transposed else query @ keys.transpose(0, 2, 1)) * factor
    weights = softmax(scores, mask, **soft)
    context = weights @ (keys if keys_as_values else values)
    return context, weights, (query, keys, values, weights, factor)


def softmax_backward(dweights, weights, mode="right"):
    if mode == "elementwise":
        return dweights * weights * (1 - weights)
    if mode == "no_sum":
        return dweights * weights
    return weights * (dweights - (dweights * weights).sum(-1, keepdims=True))


def dot_backward(dcontext, cache, *, mode="right", scale_back=True):
    query, keys, values, weights, factor = cache
    dscores = softmax_backward(dcontext @ values.transpose(0, 2, 1), weights, mode)
    if scale_back:
        dscores = dscores * factor
    return dscores @ keys, dscores.transpose(0, 2, 1) @ query, weights.transpose(0, 2, 1) @ dcontext


def additive_forward(query, keys, values, params, mask=None, *, tanh=True, transposed=False, **soft):
    q_proj, k_proj = query @ params["W_q"].T, keys @ params["W_k"].T
    if transposed:
        pre = q_proj[:, None, :, :] + k_proj[:, :, None, :]
    else:
        pre = q_proj[:, :, None, :] + k_proj[:, None, :, :]
    hidden = np.tanh(pre) if tanh else pre
    weights = softmax(hidden @ params["v"], mask, **soft)
    return weights @ values, weights, (query, keys, values, weights, hidden, params)


def additive_backward(dcontext, cache, *, mode="right", derivative=lambda y: 1 - y * y):
    query, keys, values, weights, hidden, params = cache
    dscores = softmax_backward(dcontext @ values.transpose(0, 2, 1), weights, mode)
    dpre = dscores[..., None] * params["v"] * derivative(hidden)
    dq_proj, dk_proj = dpre.sum(2), dpre.sum(1)
    grads = {
        "W_q": np.einsum("bia,bid->ad", dq_proj, query),
        "W_k": np.einsum("bja,bjd->ad", dk_proj, keys),
        "v": np.einsum("bij,bija->a", dscores, hidden),
    }
    return dq_proj @ params["W_q"], dk_proj @ params["W_k"], weights.transpose(0, 2, 1) @ dcontext, grads


def test_the_mutant_helpers_are_right_when_unmutated(capsys: pytest.CaptureFixture[str]) -> None:
    check_masked_softmax(softmax)
    check_dot_product_attention_forward(dot_forward)
    check_dot_product_attention_backward(dot_forward, dot_backward)
    check_additive_attention_forward(additive_forward)
    check_additive_attention_backward(additive_forward, additive_backward)
    assert len(capsys.readouterr().out.splitlines()) == 5


WRONG_AXIS = r"^the softmax is taken over the wrong axis \(the queries, axis 1\)"
SOFTMAX_MISTAKES = [
    ({"axis": 1}, WRONG_AXIS),
    ({"axis": 0}, r"^the softmax is taken over the wrong axis \(the batch, axis 0\)"),
    ({"mask_mode": "after"}, r"^the mask is applied after the softmax: the kept weights no longer sum to 1"),
    ({"mask_mode": "ignored"}, r"^the mask is ignored"),
    ({"mask_mode": "inverted"}, r"^the mask is inverted"),
    ({"mask_mode": "zero"}, r"^masked scores are set to 0, not -inf"),
    ({"shift": False}, r"^the softmax overflowed: subtract each row's maximum"),
]


@pytest.mark.parametrize(("kwargs", "message"), SOFTMAX_MISTAKES)
def test_softmax_mistakes_are_named(kwargs: dict, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_masked_softmax(lambda scores, mask: softmax(scores, mask, **kwargs))


@pytest.mark.parametrize(("kwargs", "message"), SOFTMAX_MISTAKES[:-1])
def test_softmax_mistakes_inside_attention_are_named(kwargs: dict, message: str) -> None:
    """The forward itself names the mistake, also when it made NumPy warn (a softmax over the queries meets a
    padded key's column, -inf for every query: 0/0)."""
    with pytest.raises(AssertionError, match=message):
        check_dot_product_attention_forward(lambda q, k, v, m=None: dot_forward(q, k, v, m, **kwargs))
    with pytest.raises(AssertionError, match=message):
        check_additive_attention_forward(lambda q, k, v, p, m=None: additive_forward(q, k, v, p, m, **kwargs))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scale": "none"}, r"^the scores miss the 1/sqrt\(Dk\) scaling: scores = q k\^T / sqrt\(Dk\)"),
        ({"scale": "d"}, r"^the scores are divided by Dk, not by sqrt\(Dk\)"),
        (
            {"transposed": True},
            r"^the score matrix is transposed: scores\[b, i, j\] is query i against key j",
        ),
        ({"keys_as_values": True}, r"^the keys are used as values"),
    ],
)
def test_dot_product_forward_mistakes_are_named(kwargs: dict, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_dot_product_attention_forward(lambda q, k, v, m=None: dot_forward(q, k, v, m, **kwargs))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"tanh": False}, r"^the tanh is missing"), ({"transposed": True}, r"^the score matrix is transposed")],
)
def test_additive_forward_mistakes_are_named(kwargs: dict, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_additive_attention_forward(lambda q, k, v, p, m=None: additive_forward(q, k, v, p, m, **kwargs))


ELEMENTWISE = r"^the softmax's gradient is treated element-wise, dscores = dweights \* w \* \(1 - w\)"
NO_SUM = r"^the softmax's gradient misses its sum term"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "elementwise"}, ELEMENTWISE),
        ({"mode": "no_sum"}, NO_SUM),
        ({"scale_back": False}, r"^the backward pass forgets the scaling"),
    ],
)
def test_dot_product_backward_mistakes_are_named(kwargs: dict, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_dot_product_attention_backward(dot_forward, lambda d, c: dot_backward(d, c, **kwargs))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "elementwise"}, ELEMENTWISE),
        ({"mode": "no_sum"}, NO_SUM),
        ({"derivative": lambda y: 1 - y}, r"^wrong tanh derivative: with hidden = tanh\(pre\)"),
        ({"derivative": np.ones_like}, r"^the tanh derivative is missing"),
    ],
)
def test_additive_backward_mistakes_are_named(kwargs: dict, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_additive_attention_backward(additive_forward, lambda d, c: additive_backward(d, c, **kwargs))


def test_a_backward_check_waits_for_its_forward() -> None:
    def unscaled(q, k, v, m=None):
        return dot_forward(q, k, v, m, scale="none")

    with pytest.raises(AssertionError, match=r"^dot_product_attention_forward is not right yet"):
        check_dot_product_attention_backward(unscaled, dot_backward)
    with pytest.raises(AssertionError, match=r"^additive_attention_forward is not right yet"):
        check_additive_attention_backward(
            lambda q, k, v, p, m=None: additive_forward(q, k, v, p, m, tanh=False), additive_backward
        )


def test_a_wrong_masked_softmax_is_named_from_the_attention_check() -> None:
    """A forward that calls the student's own masked_softmax points at that function's check first."""
    namespace: dict = {"np": np}
    exec(  # noqa: S102 - a notebook's globals, as the check sees them
        "def masked_softmax(scores, mask):\n"
        "    e = np.exp(scores - scores.max(axis=1, keepdims=True))\n"
        "    return e / e.sum(axis=1, keepdims=True)\n"
        "def forward(q, k, v, mask=None):\n"
        "    w = masked_softmax(q @ k.transpose(0, 2, 1) / np.sqrt(k.shape[2]), mask)\n"
        "    return w @ v, w, None\n",
        namespace,
    )
    with pytest.raises(
        AssertionError, match=r"^masked_softmax is not right yet: make check_masked_softmax pass"
    ):
        check_dot_product_attention_forward(namespace["forward"])
