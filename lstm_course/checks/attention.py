"""Checks for exercise 08 (attention in NumPy): the masked softmax, dot-product and additive attention, each
forward and backward.

Each check compares the student's function with ``lstm_course.reference.attention`` on fresh random inputs.
When a value is wrong it tries the known mistakes, each with the equation it breaks:

- the softmax taken over the wrong axis (the queries, or the batch) instead of the keys;
- the mask applied after the softmax (weights that no longer sum to one), ignored, inverted, or masked
  scores set to 0 instead of -inf;
- the missing 1/sqrt(Dk) scaling, or 1/Dk instead;
- a transposed score matrix, k q^T instead of q k^T (weights (B, Tk, Tq));
- the keys used as values;
- the tanh left out of the additive score;
- in the backward pass: the softmax's gradient treated element-wise, dscores = dweights * w * (1 - w), or
  without its sum term, the scaling forgotten, a wrong tanh derivative.

Letters: B batch, Tq queries, Tk keys, Dk query/key size, Dq query size (additive), Dv value size, A the
additive attention's size. A mask is boolean, True where a query may attend to a key.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np

from lstm_course import reference as ref
from lstm_course.checks.harness import (
    Feedback,
    call_student,
    close,
    expect_array,
    expect_grads,
    expect_tuple,
    require_passing,
    run_check,
    student_helpers,
)

Variant = tuple[str, Callable[[], Any]]
GRAD_DIMS = {"W_q": "A, Dq", "W_k": "A, Dk", "v": "A"}
OVERFLOW = (
    "the softmax overflowed: subtract each row's maximum score before np.exp (softmax is unchanged by a "
    "shift, and exp of a large score is inf)"
)
#: What a NumPy warning means in attention: exp overflowed, or a softmax over a slice all -inf, as when
#: it runs over the queries and a padded key's column is masked for every query.
WARNED = (
    "NumPy warned inside your function: exp overflowed (subtract each row's maximum before np.exp), or a "
    "softmax ran over entries that are all -inf (take it over the keys, axis=-1)"
)

# --- the mistakes, written as the equations they break ---------------------------------------------------


def _softmax(scores: np.ndarray, axis: int = -1) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)


def weights_from_scores(
    scores: np.ndarray, mask: np.ndarray | None, mistake: str | None = None
) -> np.ndarray:
    """weights = softmax(scores masked with -inf) over the keys, optionally with one softmax/mask mistake.

    mistake: "axis_queries", "axis_batch" (the softmax over another axis), "mask_after" (softmax, then times
    the mask), "mask_ignored", "mask_inverted", "mask_zero" (masked scores set to 0, not -inf).
    """
    full = np.ones(scores.shape, bool) if mask is None else np.broadcast_to(mask, scores.shape)
    if mistake == "mask_ignored":
        full = np.ones(scores.shape, bool)
    if mistake == "mask_inverted":
        full = ~full
    if mistake == "mask_after":
        return _softmax(scores) * full
    if mistake == "mask_zero":
        return _softmax(np.where(full, scores, 0.0))
    masked = np.where(full, scores, -np.inf)
    axis = {"axis_queries": 1, "axis_batch": 0}.get(mistake or "", -1)
    return _softmax(masked, axis)


#: (mistake, feedback) for the softmax and the mask, tried in this order.
SOFTMAX_MISTAKES = [
    (
        "axis_queries",
        "the softmax is taken over the wrong axis (the queries, axis 1): each query's weights over the keys "
        "must sum to 1, so normalise over the last axis, axis=-1",
    ),
    (
        "axis_batch",
        "the softmax is taken over the wrong axis (the batch, axis 0): each query's weights over the keys "
        "must sum to 1, so normalise over the last axis, axis=-1",
    ),
    (
        "mask_after",
        "the mask is applied after the softmax: the kept weights no longer sum to 1. Set the masked scores "
        "to -inf first, then take the softmax",
    ),
    ("mask_ignored", "the mask is ignored: masked keys (mask False) must get weight exactly 0"),
    (
        "mask_inverted",
        "the mask is inverted: True means a query MAY attend to that key, False means weight 0",
    ),
    (
        "mask_zero",
        "masked scores are set to 0, not -inf: exp(0) = 1 still gives them weight. Use "
        "np.where(mask, scores, -np.inf)",
    ),
]


def dot_scores(
    query: np.ndarray, keys: np.ndarray, scaling: str = "sqrt", transposed: bool = False
) -> np.ndarray:
    """q k^T / sqrt(Dk) (B, Tq, Tk); scaling "none", "d" (1/Dk) or "times" (* sqrt(Dk)) are mistakes, and
    transposed gives k q^T (B, Tk, Tq)."""
    Dk = keys.shape[2]
    scale = {"sqrt": 1 / np.sqrt(Dk), "none": 1.0, "d": 1 / Dk, "times": np.sqrt(Dk)}[scaling]
    if transposed:
        return (keys @ query.transpose(0, 2, 1)) * scale
    return (query @ keys.transpose(0, 2, 1)) * scale


def additive_scores(
    query: np.ndarray, keys: np.ndarray, params: dict, *, transposed: bool = False, tanh: bool = True
) -> np.ndarray:
    """v^T tanh(W_q q_i + W_k k_j) (B, Tq, Tk); transposed gives (B, Tk, Tq), tanh=False leaves tanh out."""
    q_proj, k_proj = query @ params["W_q"].T, keys @ params["W_k"].T  # (B, Tq, A), (B, Tk, A)
    if transposed:
        pre = q_proj[:, None, :, :] + k_proj[:, :, None, :]  # (B, Tk, Tq, A)
    else:
        pre = q_proj[:, :, None, :] + k_proj[:, None, :, :]  # (B, Tq, Tk, A)
    return (np.tanh(pre) if tanh else pre) @ params["v"]


SCALING_MISTAKES = [
    ("none", "the scores miss the 1/sqrt(Dk) scaling: scores = q k^T / sqrt(Dk)"),
    ("d", "the scores are divided by Dk, not by sqrt(Dk): scores = q k^T / sqrt(Dk)"),
    ("times", "the scores are multiplied by sqrt(Dk): divide, scores = q k^T / sqrt(Dk)"),
]
TRANSPOSED_TEXT = (
    "the score matrix is transposed: scores[b, i, j] is query i against key j, q k^T of shape (B, Tq, Tk), "
    "not k q^T (B, Tk, Tq)"
)


def forward_variants(
    scores_of: Callable[..., np.ndarray], mask: np.ndarray | None, values: np.ndarray, output: str,
    extra: list[tuple[str, dict]] | None = None,
) -> list[Variant]:  # fmt: skip
    """Known mistakes for ``output`` ("weights" or "context"); ``scores_of(**knobs)`` gives the scores."""

    def result(mistake: str | None = None, keys_as_values: np.ndarray | None = None, **knobs: Any) -> Any:
        scores = scores_of(**knobs)
        # a transposed score matrix masked as written, np.where(mask, k q^T, -inf): fits only when Tq = Tk
        weights = weights_from_scores(scores, mask, mistake)
        if output == "weights":
            return weights
        return weights @ (values if keys_as_values is None else keys_as_values)

    variants: list[Variant] = [(text, partial(result, mistake)) for mistake, text in SOFTMAX_MISTAKES]
    variants += [(text, partial(result, **knobs)) for text, knobs in extra or []]
    variants.append((TRANSPOSED_TEXT, partial(result, transposed=True)))
    return variants


def diagnose_weights(got: Any, scores: np.ndarray, mask: np.ndarray | None) -> None:
    """Mistakes to name before ``expect_array`` compares values: a (B, Tk, Tq) weights array is the transposed
    score matrix, and an inverted mask gives NaN rows (nothing left to attend to), which the NaN check would
    report first."""
    B, Tq, Tk = scores.shape
    if Tq != Tk and isinstance(got, np.ndarray) and got.shape == (B, Tk, Tq):
        raise Feedback(
            TRANSPOSED_TEXT, f"weights: shape (B, Tq, Tk) = {(B, Tq, Tk)} expected, got {got.shape}"
        )
    if mask is None or not isinstance(got, np.ndarray) or got.shape != scores.shape:
        return
    with np.errstate(all="ignore"):
        inverted = weights_from_scores(scores, mask, "mask_inverted")
    if np.allclose(got, inverted, equal_nan=True):
        raise Feedback(dict(SOFTMAX_MISTAKES)["mask_inverted"])


# --- inputs -------------------------------------------------------------------------------------------------


def attention_sizes(rng: np.random.Generator) -> tuple[int, int, int, int]:
    """Distinct (B, Tq, Tk, D) in 2..7, so no axis can stand in for another."""
    B, Tq, Tk, D = (int(n) for n in rng.choice(np.arange(2, 8), size=4, replace=False))
    return B, Tq, Tk, D


def random_mask(rng: np.random.Generator, B: int, Tq: int, Tk: int, kind: str) -> np.ndarray | None:
    """None, a padding mask (B, 1, Tk) with lengths 1..Tk (one shorter than Tk), or a full (B, Tq, Tk) mask
    with at least one key per query."""
    if kind == "none":
        return None
    if kind == "padding":
        lengths = rng.integers(1, Tk + 1, size=B)
        lengths[0] = max(1, Tk - 1)
        return (np.arange(Tk)[None, :] < lengths[:, None])[:, None, :]
    mask = rng.random((B, Tq, Tk)) < 0.6
    mask[np.arange(B)[:, None], np.arange(Tq)[None, :], rng.integers(0, Tk, size=(B, Tq))] = True
    return mask


def call_naming_warnings(
    fn: Callable[..., Any], args: tuple, name: str, on_warning: str,
    weights_of: Callable[[Any], Any] = lambda result: result, variants: Sequence[Variant] = (),
) -> Any:  # fmt: skip
    """``call_student``; when NumPy warns, the weights the student got anyway (NaN where they came out NaN)
    are held against the known mistakes, so a softmax over the wrong axis or an inverted mask is named rather
    than the warning it caused."""
    try:
        return call_student(fn, *args, name=name, on_warning=on_warning)
    except Feedback as fb:
        if fb.first != on_warning:
            raise
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                got = np.asarray(weights_of(fn(*copy.deepcopy(args))))
            except Exception:  # noqa: BLE001 - then the warning is all we can say
                raise fb from None
            for message, compute in variants:
                try:
                    candidate = np.asarray(compute())
                except Exception:  # noqa: BLE001 - a variant that does not apply to these inputs
                    continue
                if got.shape == candidate.shape and np.allclose(got, candidate, equal_nan=True):
                    raise Feedback(message, fb.details) from None
        raise


# --- masked softmax -----------------------------------------------------------------------------------------


def _softmax_case(
    masked_softmax: Callable[..., Any], rng: np.random.Generator, kind: str, offset: float = 0.0
) -> None:
    B, Tq, Tk, _ = attention_sizes(rng)
    # offset 1000: exp(scores) is inf for every score unless the row's maximum is subtracted first
    scores, mask = offset + rng.normal(0, 2, (B, Tq, Tk)), random_mask(rng, B, Tq, Tk, kind)
    variants = [
        (text, partial(weights_from_scores, scores, mask, mistake)) for mistake, text in SOFTMAX_MISTAKES
    ]
    on_warning = OVERFLOW if offset else WARNED
    got = call_naming_warnings(
        masked_softmax, (scores, mask), "masked_softmax", on_warning, variants=variants
    )
    expected = ref.masked_softmax(scores, mask)
    diagnose_weights(got, scores, mask)
    expect_array("weights", got, expected, dims="B, Tq, Tk", variants=variants)


def check_masked_softmax(masked_softmax: Callable[..., Any], seed: int | None = None) -> None:
    """masked_softmax(scores (B, Tq, Tk), mask or None) -> weights (B, Tq, Tk)."""
    case = partial(_softmax_case, masked_softmax)
    run_check(
        "masked_softmax",
        [
            ("no mask", lambda rng: case(rng, "none")),
            ("a padding mask (B, 1, Tk)", lambda rng: case(rng, "padding")),
            ("a full mask (B, Tq, Tk)", lambda rng: case(rng, "full")),
            ("large scores: exp overflows unless shifted", lambda rng: case(rng, "padding", offset=1000.0)),
        ],
        seed,
        "check_masked_softmax(masked_softmax, seed={seed})",
    )


# --- dot-product attention ----------------------------------------------------------------------------------


def _dot_inputs(rng: np.random.Generator, kind: str, square: bool = False) -> tuple:
    B, Tq, Tk, D = attention_sizes(rng)
    Tq = Tk if square else Tq
    Dv = D if square else D + 1  # self-attention: one size for queries, keys and values
    query, keys, values = (
        rng.normal(0, 1, (B, Tq, D)),
        rng.normal(0, 1, (B, Tk, D)),
        rng.normal(0, 1, (B, Tk, Dv)),
    )
    return query, keys, values, random_mask(rng, B, Tq, Tk, kind)


def _student_forward(
    fn: Callable[..., Any], name: str, args: tuple, variants: list[Variant] | tuple = ()
) -> tuple:
    """The student's (context, weights, cache); ``variants`` of the weights name what made NumPy warn."""

    def weights_of(result: Any) -> Any:
        return result[1] if isinstance(result, (tuple, list)) and len(result) == 3 else None

    got = call_naming_warnings(fn, args, name, WARNED, weights_of, variants)
    return expect_tuple(name, got, 3, "context, weights, cache")


def _dot_forward_case(
    forward: Callable[..., Any], rng: np.random.Generator, kind: str, square: bool = False
) -> None:
    query, keys, values, mask = _dot_inputs(rng, kind, square)
    scores_of = partial(dot_scores, query, keys)
    extra = [(text, {"scaling": scaling}) for scaling, text in SCALING_MISTAKES]
    variants = forward_variants(scores_of, mask, values, "weights", extra)
    context, weights, _ = _student_forward(
        forward, "dot_product_attention_forward", (query, keys, values, mask), variants
    )
    e_context, e_weights, _ = ref.dot_product_attention_forward(query, keys, values, mask)
    helpers = student_helpers(forward, "masked_softmax")
    if helpers and not close(weights, e_weights):
        require_passing("masked_softmax", partial(_softmax_case, helpers[0], rng.spawn(1)[0], kind))
    diagnose_weights(weights, scores_of(), mask)
    expect_array("weights", weights, e_weights, dims="B, Tq, Tk", variants=variants)
    keys_as_values = [("the keys are used as values: context = weights @ values", lambda: e_weights @ keys)]
    expect_array("context", context, e_context, dims="B, Tq, Dv", variants=keys_as_values)


def check_dot_product_attention_forward(forward: Callable[..., Any], seed: int | None = None) -> None:
    """dot_product_attention_forward(query (B, Tq, Dk), keys (B, Tk, Dk), values (B, Tk, Dv), mask)
    -> (context (B, Tq, Dv), weights (B, Tq, Tk), cache)."""
    case = partial(_dot_forward_case, forward)
    run_check(
        "dot_product_attention_forward",
        [
            # first: a transposed score matrix or the keys used as values still run at these sizes
            ("self-attention sizes, Tq = Tk and Dv = Dk", lambda rng: case(rng, "padding", square=True)),
            ("no mask", lambda rng: case(rng, "none")),
            ("a padding mask (B, 1, Tk)", lambda rng: case(rng, "padding")),
            ("a full mask (B, Tq, Tk)", lambda rng: case(rng, "full")),
        ],
        seed,
        "check_dot_product_attention_forward(dot_product_attention_forward, seed={seed})",
    )


def _softmax_backward(dweights: np.ndarray, weights: np.ndarray, mistake: str | None = None) -> np.ndarray:
    """dscores for weights = softmax(scores): w * (dw - sum_k dw_k w_k); or a mistake: "elementwise"
    (w (1 - w) dw, the diagonal of the Jacobian only), "no_sum" (w dw)."""
    if mistake == "elementwise":
        return dweights * weights * (1 - weights)
    if mistake == "no_sum":
        return dweights * weights
    return weights * (dweights - np.sum(dweights * weights, axis=-1, keepdims=True))


ELEMENTWISE_TEXT = (
    "the softmax's gradient is treated element-wise, dscores = dweights * w * (1 - w): every weight in a row "
    "depends on every score, so dscores = w * (dweights - sum_k dweights_k w_k)"
)
SOFTMAX_BACKWARD_MISTAKES = [
    ("elementwise", ELEMENTWISE_TEXT),
    (
        "no_sum",
        "the softmax's gradient misses its sum term: dscores = w * (dweights - sum_k dweights_k w_k)",
    ),
]


def dot_backward(
    dcontext: np.ndarray, query: np.ndarray, keys: np.ndarray, values: np.ndarray, mask: Any, *,
    softmax_mistake: str | None = None, scale_in_backward: bool = True,
) -> dict[str, np.ndarray]:  # fmt: skip
    """dquery, dkeys, dvalues of scaled dot-product attention, optionally with a backward mistake."""
    scale = 1 / np.sqrt(keys.shape[2])
    weights = weights_from_scores(dot_scores(query, keys), mask)
    dweights = dcontext @ values.transpose(0, 2, 1)  # context = weights @ values
    dscores = _softmax_backward(dweights, weights, softmax_mistake)  # weights = softmax(scores)
    dscaled = dscores * scale if scale_in_backward else dscores  # scores = scale q k^T
    return {
        "dquery": dscaled @ keys,
        "dkeys": dscaled.transpose(0, 2, 1) @ query,
        "dvalues": weights.transpose(0, 2, 1) @ dcontext,
    }


def backward_variants(backward: Callable[..., dict], output: str, scaled: bool) -> list[Variant]:
    """Known backward mistakes for ``output``, from ``backward(**knobs)``."""

    def with_mistake(mistake: str) -> np.ndarray:
        return backward(softmax_mistake=mistake)[output]

    variants: list[Variant] = [
        (text, partial(with_mistake, mistake)) for mistake, text in SOFTMAX_BACKWARD_MISTAKES
    ]
    if scaled:
        variants.append(
            (
                "the backward pass forgets the scaling: scores = q k^T / sqrt(Dk), so dquery and dkeys carry "
                "1/sqrt(Dk) too",
                lambda: backward(scale_in_backward=False)[output],
            )
        )
    return variants


def _dot_backward_case(
    forward: Callable[..., Any],
    backward: Callable[..., Any],
    rng: np.random.Generator,
    kind: str,
    square: bool = False,
) -> None:
    query, keys, values, mask = _dot_inputs(rng, kind, square)
    context, _, cache = _student_forward(
        forward, "dot_product_attention_forward", (query, keys, values, mask)
    )
    e_context, _, ref_cache = ref.dot_product_attention_forward(query, keys, values, mask)
    if not close(context, e_context):
        raise Feedback(
            "dot_product_attention_forward is not right yet: "
            "make check_dot_product_attention_forward pass first"
        )
    dcontext = rng.normal(0, 1, context.shape)
    got = call_student(backward, dcontext, cache, name="dot_product_attention_backward")
    dquery, dkeys, dvalues = expect_tuple("dot_product_attention_backward", got, 3, "dquery, dkeys, dvalues")
    expected = dict(
        zip(
            ("dquery", "dkeys", "dvalues"),
            ref.dot_product_attention_backward(dcontext, ref_cache),
            strict=True,
        )
    )
    mistaken = partial(dot_backward, dcontext, query, keys, values, mask)
    expect_array("dvalues", dvalues, expected["dvalues"], dims="B, Tk, Dv")
    expect_array(
        "dquery",
        dquery,
        expected["dquery"],
        dims="B, Tq, Dk",
        variants=backward_variants(mistaken, "dquery", True),
    )
    expect_array(
        "dkeys",
        dkeys,
        expected["dkeys"],
        dims="B, Tk, Dk",
        variants=backward_variants(mistaken, "dkeys", True),
    )


def check_dot_product_attention_backward(
    forward: Callable[..., Any], backward: Callable[..., Any], seed: int | None = None
) -> None:
    """dot_product_attention_backward(dcontext (B, Tq, Dv), cache) -> (dquery, dkeys, dvalues)."""
    case = partial(_dot_backward_case, forward, backward)
    run_check(
        "dot_product_attention_backward",
        [
            ("no mask", lambda rng: case(rng, "none")),
            ("a padding mask (B, 1, Tk)", lambda rng: case(rng, "padding")),
            ("a full mask (B, Tq, Tk)", lambda rng: case(rng, "full")),
            ("self-attention sizes, Tq = Tk and Dv = Dk", lambda rng: case(rng, "none", square=True)),
        ],
        seed,
        "check_dot_product_attention_backward(dot_product_attention_forward, dot_product_attention_backward, "
        "seed={seed})",
    )


# --- additive attention -------------------------------------------------------------------------------------


def _additive_inputs(rng: np.random.Generator, kind: str, square: bool = False) -> tuple:
    B, Tq, Tk, Dk = attention_sizes(rng)
    Tq = Tk if square else Tq
    Dq, Dv, A = Dk + 1, Dk + 2, Dk + 3
    query, keys, values = (
        rng.normal(0, 1, (B, Tq, Dq)),
        rng.normal(0, 1, (B, Tk, Dk)),
        rng.normal(0, 1, (B, Tk, Dv)),
    )
    params = {
        "W_q": rng.normal(0, 0.6, (A, Dq)),
        "W_k": rng.normal(0, 0.6, (A, Dk)),
        "v": rng.normal(0, 1, (A,)),
    }
    return query, keys, values, params, random_mask(rng, B, Tq, Tk, kind)


def _additive_forward_case(
    forward: Callable[..., Any], rng: np.random.Generator, kind: str, square: bool = False
) -> None:
    query, keys, values, params, mask = _additive_inputs(rng, kind, square)
    scores_of = partial(additive_scores, query, keys, params)
    extra = [("the tanh is missing: scores = v^T tanh(W_q q_i + W_k k_j)", {"tanh": False})]
    variants = forward_variants(scores_of, mask, values, "weights", extra)
    context, weights, _ = _student_forward(
        forward, "additive_attention_forward", (query, keys, values, params, mask), variants
    )
    e_context, e_weights, _ = ref.additive_attention_forward(query, keys, values, params, mask)
    helpers = student_helpers(forward, "masked_softmax")
    if helpers and not close(weights, e_weights):
        require_passing("masked_softmax", partial(_softmax_case, helpers[0], rng.spawn(1)[0], kind))
    diagnose_weights(weights, scores_of(), mask)
    expect_array("weights", weights, e_weights, dims="B, Tq, Tk", variants=variants)
    expect_array("context", context, e_context, dims="B, Tq, Dv")


def check_additive_attention_forward(forward: Callable[..., Any], seed: int | None = None) -> None:
    """additive_attention_forward(query (B, Tq, Dq), keys (B, Tk, Dk), values (B, Tk, Dv), params, mask)
    -> (context (B, Tq, Dv), weights (B, Tq, Tk), cache)."""
    case = partial(_additive_forward_case, forward)
    run_check(
        "additive_attention_forward",
        [
            # first: a transposed score matrix still runs when Tq = Tk
            ("Tq = Tk", lambda rng: case(rng, "padding", square=True)),
            ("no mask", lambda rng: case(rng, "none")),
            ("a padding mask (B, 1, Tk)", lambda rng: case(rng, "padding")),
            ("a full mask (B, Tq, Tk)", lambda rng: case(rng, "full")),
        ],
        seed,
        "check_additive_attention_forward(additive_attention_forward, seed={seed})",
    )


def additive_backward(
    dcontext: np.ndarray, query: np.ndarray, keys: np.ndarray, values: np.ndarray, params: dict, mask: Any, *,
    softmax_mistake: str | None = None, tanh_derivative: Callable[[np.ndarray], np.ndarray] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """dquery, dkeys, dvalues and grads of additive attention, optionally with a backward mistake."""
    hidden = np.tanh((query @ params["W_q"].T)[:, :, None, :] + (keys @ params["W_k"].T)[:, None, :, :])
    weights = weights_from_scores(hidden @ params["v"], mask)
    dweights = dcontext @ values.transpose(0, 2, 1)  # context = weights @ values
    dscores = _softmax_backward(dweights, weights, softmax_mistake)  # weights = softmax(scores)
    derivative = (lambda y: 1 - y * y) if tanh_derivative is None else tanh_derivative
    dpre = dscores[..., None] * params["v"] * derivative(hidden)  # scores = v^T tanh(pre)
    dq_proj, dk_proj = dpre.sum(axis=2), dpre.sum(axis=1)
    grads = {
        "W_q": np.einsum("bia,bid->ad", dq_proj, query),
        "W_k": np.einsum("bja,bjd->ad", dk_proj, keys),
        "v": np.einsum("bij,bija->a", dscores, hidden),
    }
    return {
        "dquery": dq_proj @ params["W_q"],
        "dkeys": dk_proj @ params["W_k"],
        "dvalues": weights.transpose(0, 2, 1) @ dcontext,
        "grads": grads,
    }


TANH_MISTAKES = [
    (
        "wrong tanh derivative: with hidden = tanh(pre), dpre = dhidden * (1 - hidden**2) "
        "(you used 1 - hidden)",
        lambda y: 1 - y,
    ),
    ("the tanh derivative is missing: dpre = dhidden * (1 - hidden**2)", lambda y: np.ones_like(y)),
]


def additive_backward_variants(backward: Callable[..., dict], output: str) -> list[Variant]:
    """Known backward mistakes of additive attention for ``output``, from ``backward(**knobs)``."""

    def pick(**knobs: Any) -> Callable[[], Any]:
        return lambda: backward(**knobs)[output]

    variants: list[Variant] = [
        (text, pick(softmax_mistake=mistake)) for mistake, text in SOFTMAX_BACKWARD_MISTAKES
    ]
    variants += [(text, pick(tanh_derivative=derivative)) for text, derivative in TANH_MISTAKES]
    return variants


def _additive_backward_case(
    forward: Callable[..., Any], backward: Callable[..., Any], rng: np.random.Generator, kind: str
) -> None:
    query, keys, values, params, mask = _additive_inputs(rng, kind)
    context, _, cache = _student_forward(
        forward, "additive_attention_forward", (query, keys, values, params, mask)
    )
    e_context, _, ref_cache = ref.additive_attention_forward(query, keys, values, params, mask)
    if not close(context, e_context):
        raise Feedback(
            "additive_attention_forward is not right yet: make check_additive_attention_forward pass first"
        )
    dcontext = rng.normal(0, 1, context.shape)
    got = call_student(backward, dcontext, cache, name="additive_attention_backward")
    dquery, dkeys, dvalues, grads = expect_tuple(
        "additive_attention_backward", got, 4, "dquery, dkeys, dvalues, grads"
    )
    e_dquery, e_dkeys, e_dvalues, e_grads = ref.additive_attention_backward(dcontext, ref_cache)
    mistaken = partial(additive_backward, dcontext, query, keys, values, params, mask)
    expect_array("dvalues", dvalues, e_dvalues, dims="B, Tk, Dv")
    expect_grads("grads", grads, e_grads, GRAD_DIMS, variants=additive_backward_variants(mistaken, "grads"))
    expect_array(
        "dquery", dquery, e_dquery, dims="B, Tq, Dq", variants=additive_backward_variants(mistaken, "dquery")
    )
    expect_array(
        "dkeys", dkeys, e_dkeys, dims="B, Tk, Dk", variants=additive_backward_variants(mistaken, "dkeys")
    )


def check_additive_attention_backward(
    forward: Callable[..., Any], backward: Callable[..., Any], seed: int | None = None
) -> None:
    """additive_attention_backward(dcontext (B, Tq, Dv), cache) -> (dquery, dkeys, dvalues, grads)."""
    case = partial(_additive_backward_case, forward, backward)
    run_check(
        "additive_attention_backward",
        [
            ("no mask", lambda rng: case(rng, "none")),
            ("a padding mask (B, 1, Tk)", lambda rng: case(rng, "padding")),
            ("a full mask (B, Tq, Tk)", lambda rng: case(rng, "full")),
        ],
        seed,
        "check_additive_attention_backward(additive_attention_forward, additive_attention_backward, "
        "seed={seed})",
    )
