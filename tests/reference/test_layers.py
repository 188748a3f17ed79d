"""Dense, embedding and the losses: gradient checks, torch agreement and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_course import reference as ref


@pytest.mark.parametrize("lead", [(5,), (3, 2)], ids=["N", "T,B"])
def test_dense_gradients(lead, rng, check_gradients):
    x, weight, bias = rng.normal(size=(*lead, 4)), rng.normal(size=(3, 4)), rng.normal(size=3)
    w = rng.normal(size=(*lead, 3))

    def loss():
        return np.sum(w * ref.dense_forward(x, weight, bias)[0])

    out, cache = ref.dense_forward(x, weight, bias)
    np.testing.assert_allclose(out, x @ weight.T + bias)
    dx, dweight, dbias = ref.dense_backward(w, cache)
    check_gradients(loss, {"x": (x, dx), "weight": (weight, dweight), "bias": (bias, dbias)})


def test_embedding_gradients_with_repeated_indices(rng, check_gradients):
    weight = rng.normal(size=(6, 3))
    indices = np.array([[0, 2], [2, 5], [0, 0]])  # (T, B), repeats must add up
    w = rng.normal(size=(3, 2, 3))

    def loss():
        return np.sum(w * ref.embedding_forward(indices, weight)[0])

    out, cache = ref.embedding_forward(indices, weight)
    np.testing.assert_array_equal(out[1, 0], weight[2])
    check_gradients(loss, {"weight": (weight, ref.embedding_backward(w, cache))})


def test_mse_gradients(rng, check_gradients):
    pred, target = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    loss, dpred = ref.mse_loss(pred, target)
    assert loss == pytest.approx(np.mean((pred - target) ** 2))
    check_gradients(lambda: ref.mse_loss(pred, target)[0], {"pred": (pred, dpred)})


def test_cross_entropy_gradients_and_stability(rng, check_gradients):
    logits, targets = rng.normal(size=(5, 4)), np.array([0, 3, 1, 1, 2])
    loss, dlogits = ref.cross_entropy_loss(logits, targets)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(5), targets])))
    check_gradients(lambda: ref.cross_entropy_loss(logits, targets)[0], {"logits": (logits, dlogits)})
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        big_loss, big_grad = ref.cross_entropy_loss(np.array([[1e4, -1e4], [-1e4, 1e4]]), np.array([1, 1]))
    assert np.isfinite(big_loss) and np.all(np.isfinite(big_grad))
    assert big_loss == pytest.approx(1e4)


def test_cross_entropy_matches_torch(rng):
    torch = pytest.importorskip("torch")
    logits, targets = rng.normal(size=(6, 3)), rng.integers(0, 3, size=6)
    t_logits = torch.from_numpy(logits).requires_grad_()
    t_loss = torch.nn.functional.cross_entropy(t_logits, torch.from_numpy(targets))
    t_loss.backward()
    loss, dlogits = ref.cross_entropy_loss(logits, targets)
    assert loss == pytest.approx(t_loss.item(), rel=1e-12)
    assert ref.relative_error(dlogits, t_logits.grad.numpy()) < 1e-12


def test_float32_is_kept(rng):
    x = rng.normal(size=(3, 4)).astype(np.float32)
    out, cache = ref.dense_forward(x, np.ones((2, 4), np.float32), np.zeros(2, np.float32))
    assert out.dtype == np.float32
    assert all(a.dtype == np.float32 for a in ref.dense_backward(np.ones_like(out), cache))
    assert ref.cross_entropy_loss(x, np.array([0, 1, 2]))[1].dtype == np.float32
    assert ref.mse_loss(x, np.zeros((3, 4), int))[1].dtype == np.float32


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: ref.dense_forward(np.ones((2, 3)), np.ones((4, 5)), np.ones(4)),
            ValueError,
            r"x must have shape",
        ),
        (
            lambda: ref.dense_forward(np.ones((2, 3)), np.ones((4, 3)), np.ones(5)),
            ValueError,
            r"bias must have shape",
        ),
        (
            lambda: ref.dense_forward(np.ones((2, 3)), np.ones(3), np.ones(1)),
            ValueError,
            r"weight must have shape",
        ),
        (
            lambda: ref.dense_forward(np.ones((2, 3)) * 1j, np.ones((4, 3)), np.ones(4)),
            TypeError,
            r"x must be a real",
        ),
        (
            lambda: ref.embedding_forward(np.array([0.5]), np.ones((3, 2))),
            TypeError,
            r"indices must be an integer",
        ),
        (
            lambda: ref.embedding_forward(np.array([3]), np.ones((3, 2))),
            ValueError,
            r"indices must lie in \[0, 3\)",
        ),
        (lambda: ref.mse_loss(np.ones(3), np.ones(4)), ValueError, r"target must have the shape of pred"),
        (lambda: ref.cross_entropy_loss(np.ones((2, 3)), np.array([0, 3])), ValueError, r"targets must lie"),
        (
            lambda: ref.cross_entropy_loss(np.ones((2, 3)), np.array([0])),
            ValueError,
            r"targets must have shape",
        ),
        (
            lambda: ref.cross_entropy_loss(np.ones(3), np.array([0])),
            ValueError,
            r"logits must have shape \(N, C\)",
        ),
    ],
    ids=[
        "x",
        "bias",
        "weight",
        "complex",
        "float-indices",
        "index-range",
        "mse",
        "ce-range",
        "ce-shape",
        "ce-1d",
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_bad_backward_input(rng):
    _, cache = ref.dense_forward(np.ones((2, 3)), np.ones((4, 3)), np.ones(4))
    with pytest.raises(ValueError, match="dout must have shape"):
        ref.dense_backward(np.ones((2, 5)), cache)
    _, cache = ref.embedding_forward(np.array([0, 1]), np.ones((3, 2)))
    with pytest.raises(ValueError, match="dout must have shape"):
        ref.embedding_backward(np.ones((3, 2)), cache)
