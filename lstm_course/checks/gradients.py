"""Checks for exercise 03: gradient-norm clipping, and measuring how gradients vanish back through time."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from lstm_course import reference as ref
from lstm_course.checks.harness import Feedback, call_student, expect_array, random_params, run_check

Grads = dict[str, np.ndarray]


def _grads(rng: np.random.Generator, scale: float) -> Grads:
    H, D = (int(n) for n in rng.integers(2, 6, size=2))
    return {k: v * scale for k, v in random_params("rnn", D, H, rng, 1.0).items()}


def _total(grads: Grads) -> float:
    return float(np.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads.values())))


def _clip_variants(grads: Grads, max_norm: float, key: str) -> list[tuple[str, Callable[[], np.ndarray]]]:
    total = _total(grads)
    per_tensor = {k: g * min(1.0, max_norm / (float(np.linalg.norm(g)) + 1e-6)) for k, g in grads.items()}
    return [
        (
            "each array was clipped by its own norm; clip_grad_norm scales all of them by one factor "
            "computed "
            "from the total norm sqrt(sum of every squared entry)",
            lambda: per_tensor[key],
        ),
        (
            "the gradients were rescaled to norm max_norm although their norm was already below it: "
            "scale only when total_norm > max_norm",
            lambda: grads[key] * max_norm / total,
        ),
        (
            "the gradients were scaled by total_norm / max_norm; the factor is max_norm / total_norm",
            lambda: grads[key] * total / max_norm,
        ),
    ]


def check_clip_grad_norm(clip_grad_norm: Callable[[Grads, float], Any], seed: int | None = None) -> None:
    """clip_grad_norm(grads, max_norm) -> total_norm: scales every array in place by one common factor."""

    def case(rng: np.random.Generator, scale: float, max_norm: float) -> None:
        grads = _grads(rng, scale)
        original = copy.deepcopy(grads)
        expected = copy.deepcopy(grads)
        e_total = ref.clip_grad_norm(expected, max_norm)
        before = {k: id(v) for k, v in grads.items()}
        result = _call(clip_grad_norm, grads, max_norm)
        if not isinstance(result, (float, np.floating, int)):
            raise Feedback(
                f"clip_grad_norm should return the total norm as a float, got {type(result).__name__}"
            )
        if np.isclose(float(result), _total(expected)) and not np.isclose(float(result), float(e_total)):
            raise Feedback(
                "clip_grad_norm returned the norm after clipping; return the total norm before it",
                f"got {float(result):.6g}, expected {float(e_total):.6g}",
            )
        if not np.isclose(float(result), float(e_total), rtol=1e-6):
            l1 = sum(float(np.abs(g).sum()) for g in original.values())
            if np.isclose(float(result), l1):
                raise Feedback(
                    "the total norm is the L2 norm sqrt(sum of squares), you returned the sum of "
                    "absolute values"
                )
            raise Feedback(f"the total norm is wrong: got {float(result):.6g}, expected {float(e_total):.6g}")
        if any(id(grads[k]) != before[k] for k in grads):
            raise Feedback(
                "clip_grad_norm replaced the arrays in the dict; scale them in place "
                "(grads[k] *= factor) so optimizers holding them see the change"
            )
        for key in expected:
            if np.allclose(grads[key], original[key]) and not np.allclose(expected[key], original[key]):
                raise Feedback(
                    "the gradients were not changed: clip_grad_norm must scale them in place, "
                    "not return clipped copies"
                )
            expect_array(
                f"grads[{key!r}] after clipping",
                grads[key],
                expected[key],
                rtol=1e-6,
                variants=_clip_variants(original, max_norm, key),
            )

    run_check(
        "clip_grad_norm",
        [
            ("large gradients are scaled down", lambda rng: case(rng, 10.0, 1.0)),
            ("small gradients are left alone", lambda rng: case(rng, 0.01, 5.0)),
            (
                "a random max_norm",
                lambda rng: case(rng, float(rng.uniform(0.5, 5.0)), float(rng.uniform(0.5, 3.0))),
            ),
            ("one huge array among small ones", lambda rng: _one_huge(rng, clip_grad_norm)),
        ],
        seed,
        "check_clip_grad_norm(clip_grad_norm, seed={seed})",
    )


def _call(fn: Callable[..., Any], grads: Grads, max_norm: float) -> Any:
    """Call the student's clip_grad_norm, allowing in-place edits of grads (that is its job)."""
    holder = {"grads": grads}
    return call_student(lambda: fn(holder["grads"], max_norm), name="clip_grad_norm")


def _one_huge(rng: np.random.Generator, clip_grad_norm: Callable[..., Any]) -> None:
    grads = {
        "weight_ih": rng.normal(0, 0.01, (3, 2)),
        "weight_hh": rng.normal(0, 1e3, (3, 3)),
        "bias_ih": rng.normal(0, 0.01, (3,)),
        "bias_hh": rng.normal(0, 0.01, (3,)),
    }
    original, expected = copy.deepcopy(grads), copy.deepcopy(grads)
    ref.clip_grad_norm(expected, 1.0)
    _call(clip_grad_norm, grads, 1.0)
    for key in expected:
        expect_array(
            f"grads[{key!r}] after clipping",
            grads[key],
            expected[key],
            variants=_clip_variants(original, 1.0, key),
        )


def true_norms(params: dict, x: np.ndarray, h0: np.ndarray | None) -> np.ndarray:
    """norms[t] = ||dL/dh_t|| for L = sum(h_T), t = 0..T-1, through the reference RNN; also dx norms."""
    return _bptt_norms(params, x, h0)[0]


def _bptt_norms(params: dict, x: np.ndarray, h0: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, float]:
    T, B = x.shape[:2]
    H = params["weight_hh"].shape[1]
    h = np.zeros((B, H)) if h0 is None else h0
    caches = []
    for t in range(T):
        h, cache = ref.rnn_step_forward(x[t], h, params)
        caches.append(cache)
    dh, norms, dx_norms = np.ones((B, H)), np.zeros(T), np.zeros(T)
    for t in reversed(range(T)):
        norms[t] = np.linalg.norm(dh)  # dL/dh_t
        dx, dh, _ = ref.rnn_step_backward(dh, caches[t])
        dx_norms[t] = np.linalg.norm(dx)
    return norms, dx_norms, float(np.linalg.norm(dh))


def check_hidden_gradient_norms(hidden_gradient_norms: Callable[..., Any], seed: int | None = None) -> None:
    """hidden_gradient_norms(params, x (T, B, D), h0) -> (T,): norms[t] = ||dL/dh_t|| with L = sum(h_T)."""

    def case(
        rng: np.random.Generator, T: int, B: int, D: int, H: int, scale: float, with_h0: bool = True
    ) -> None:
        x, params = rng.normal(0, 1, (T, B, D)), random_params("rnn", D, H, rng, scale)
        h0 = rng.normal(0, 0.5, (B, H)) if with_h0 else None
        got = call_student(hidden_gradient_norms, x=x, params=params, h0=h0, name="hidden_gradient_norms")
        if isinstance(got, list):
            got = np.asarray(got, dtype=np.float64)
        expected, dx_norms, dh0_norm = _bptt_norms(params, x, h0)
        expect_array(
            "norms",
            got,
            expected,
            dims="T",
            rtol=1e-6,
            time_axis=0,
            variants=[
                (
                    "your norms are in reverse time order: norms[t] belongs to h_t, so norms[T-1] = "
                    "||ones|| = "
                    "sqrt(B * H)",
                    lambda: expected[::-1],
                ),
                (
                    "off by one in time: your norms[t] is ||dL/dh_{t-1}||; record ||dh|| before "
                    "stepping back through "
                    "step t, not after",
                    lambda: np.concatenate([[dh0_norm], expected[:-1]]),
                ),
                (
                    "these are the norms of dL/dx_t; measure the gradient with respect to the hidden "
                    "state h_t",
                    lambda: dx_norms,
                ),
                ("the norms are normalised; return ||dL/dh_t|| itself", lambda: expected / expected[-1]),
                ("the norms are squared: use the Frobenius norm sqrt(sum(dh**2))", lambda: expected**2),
            ],
        )

    run_check(
        "hidden_gradient_norms",
        [
            ("small weights: the gradient vanishes", lambda rng: case(rng, 12, 3, 2, 4, 0.3)),
            ("large weights", lambda rng: case(rng, 8, 2, 3, 5, 1.5)),
            ("h0 = None means zeros", lambda rng: case(rng, 5, 2, 3, 4, 0.7, with_h0=False)),
            ("T = 1", lambda rng: case(rng, 1, 2, 3, 4, 0.5)),
            ("B = 1 and H = 1", lambda rng: case(rng, 6, 1, 2, 1, 0.8)),
        ],
        seed,
        "check_hidden_gradient_norms(hidden_gradient_norms, seed={seed})",
    )
