"""SGD, Adam and clip_grad_norm follow torch's update rules."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_course import reference as ref

torch = pytest.importorskip("torch")


def _run_both(rng, make_ours, make_torch, steps=5):
    params = {"w": rng.normal(size=(3, 2)), "b": rng.normal(size=2)}
    t_params = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    ours, theirs = make_ours(params), make_torch(list(t_params.values()))
    for _ in range(steps):
        grads = {k: rng.normal(size=v.shape) for k, v in params.items()}
        ours.step(grads)
        for key, p in t_params.items():
            p.grad = torch.from_numpy(grads[key])
        theirs.step()
    for key in params:
        np.testing.assert_allclose(params[key], t_params[key].detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_matches_torch(momentum, rng):
    _run_both(
        rng,
        lambda p: ref.SGD(p, lr=0.1, momentum=momentum),
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=momentum),
    )


def test_adam_matches_torch(rng):
    _run_both(
        rng,
        lambda p: ref.Adam(p, lr=0.01, betas=(0.8, 0.99), eps=1e-6),
        lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), eps=1e-6),
    )


@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(max_norm, rng):
    grads = {"a": rng.normal(size=(3, 2)), "b": rng.normal(size=4)}
    tensors = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads.values()]
    for t, g in zip(tensors, grads.values(), strict=True):
        t.grad = torch.from_numpy(g.copy())
    expected = torch.nn.utils.clip_grad_norm_(tensors, max_norm).item()
    total = ref.clip_grad_norm(grads, max_norm)
    assert total == pytest.approx(expected, rel=1e-12)
    for t, g in zip(tensors, grads.values(), strict=True):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-12)


def test_clip_grad_norm_refuses_nan():
    with pytest.raises(FloatingPointError, match="total gradient norm is nan"):
        ref.clip_grad_norm({"a": np.array([np.nan, 1.0])}, 1.0)


def test_bad_input(rng):
    params = {"w": np.zeros((2, 2))}
    with pytest.raises(KeyError, match="grads is missing 'w'"):
        ref.SGD(params, lr=0.1).step({"v": np.zeros((2, 2))})
    with pytest.raises(ValueError, match=r"grads\['w'\] must have the shape of params\['w'\]"):
        ref.Adam(params).step({"w": np.zeros(2)})
    with pytest.raises(TypeError, match=r"params\['w'\] must be a float ndarray"):
        ref.SGD({"w": [1.0, 2.0]}, lr=0.1)
    with pytest.raises(ValueError, match="lr must be > 0"):
        ref.SGD(params, lr=-1)


@pytest.mark.parametrize(
    "make",
    [
        lambda p: ref.SGD(p, lr=float("nan")),
        lambda p: ref.Adam(p, lr=float("nan")),
        lambda p: ref.Adam(p, eps=float("nan")),
        lambda p: ref.clip_grad_norm(p, float("nan")),
    ],
    ids=["sgd-lr", "adam-lr", "adam-eps", "clip-max_norm"],
)
def test_nan_hyperparameters_are_refused(make):
    with pytest.raises(ValueError, match="lr|eps|max_norm"):
        make({"w": np.ones(3)})


@pytest.mark.parametrize("bad", [{"w": np.ones(3, dtype=int)}, {"w": [1.0, 2.0]}], ids=["int", "list"])
def test_clip_grad_norm_refuses_grads_it_cannot_scale_in_place(bad):
    with pytest.raises(TypeError, match=r"grads\['w'\] must be a float ndarray"):
        ref.clip_grad_norm(bad, 1.0)
