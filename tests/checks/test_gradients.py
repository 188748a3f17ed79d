"""Exercise 03's checks: clipping and gradient-norm measurement; wrong versions fail with named feedback."""

import numpy as np
import pytest

from lstm_course import reference as ref
from lstm_course.checks.gradients import check_clip_grad_norm, check_hidden_gradient_norms, true_norms


def hidden_gradient_norms(params, x, h0=None, *, shift=False, reverse=False):
    T, B = x.shape[:2]
    h = np.zeros((B, params["weight_hh"].shape[1])) if h0 is None else h0
    caches = []
    for t in range(T):
        h, cache = ref.rnn_step_forward(x[t], h, params)
        caches.append(cache)
    dh, norms = np.ones_like(h), np.zeros(T)
    for t in reversed(range(T)):
        if not shift:
            norms[t] = np.linalg.norm(dh)
        _, dh, _ = ref.rnn_step_backward(dh, caches[t])
        if shift:
            norms[t] = np.linalg.norm(dh)
    return norms[::-1] if reverse else norms


def clip_per_array(grads, max_norm):
    total = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
    for g in grads.values():
        g *= min(1.0, max_norm / (np.linalg.norm(g) + 1e-6))
    return total


def clip_copies(grads, max_norm):
    total = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
    for k in grads:
        grads[k] = grads[k] * min(1.0, max_norm / (total + 1e-6))
    return total


def clip_always(grads, max_norm):
    total = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
    for g in grads.values():
        g *= max_norm / total
    return total


def test_the_reference_passes(capsys: pytest.CaptureFixture[str]) -> None:
    check_clip_grad_norm(ref.clip_grad_norm)
    check_hidden_gradient_norms(hidden_gradient_norms)
    assert capsys.readouterr().out.splitlines() == [
        "✓ clip_grad_norm: 4/4 checks passed",
        "✓ hidden_gradient_norms: 5/5 checks passed",
    ]


def test_the_norms_vanish_with_small_weights(rng: np.random.Generator) -> None:
    params = {k: v * 0.3 for k, v in ref.init_params("rnn", 3, 8, rng).items()}
    norms = true_norms(params, rng.normal(size=(20, 2, 3)), None)
    assert norms[-1] == pytest.approx(4.0) and norms[0] < 1e-3 * norms[-1]


def test_clipping_mistakes_are_named() -> None:
    with pytest.raises(AssertionError, match="^each array was clipped by its own norm"):
        check_clip_grad_norm(clip_per_array)
    with pytest.raises(
        AssertionError, match="^clip_grad_norm replaced the arrays in the dict; scale them in place"
    ):
        check_clip_grad_norm(clip_copies)
    with pytest.raises(AssertionError, match="^the gradients were rescaled to norm max_norm although"):
        check_clip_grad_norm(clip_always)


def test_measurement_mistakes_are_named() -> None:
    with pytest.raises(AssertionError, match="^your norms are in reverse time order"):
        check_hidden_gradient_norms(
            lambda params, x, h0=None: hidden_gradient_norms(params, x, h0, reverse=True)
        )
    with pytest.raises(
        AssertionError, match=r"^off by one in time: your norms\[t\] is \|\|dL/dh_\{t-1\}\|\|"
    ):
        check_hidden_gradient_norms(
            lambda params, x, h0=None: hidden_gradient_norms(params, x, h0, shift=True)
        )
    with pytest.raises(AssertionError, match="^hidden_gradient_norms raised"):
        check_hidden_gradient_norms(lambda params, x: hidden_gradient_norms(params, x))
