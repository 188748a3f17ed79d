"""Bad input gets the right exception and a message naming the argument; dtypes; extreme inputs."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_course import reference as ref
from lstm_course.cellspec import SPECS
from lstm_course.reference import cells

CELLS = tuple(cells.CELLS)
T, B, D, H = 3, 2, 3, 4


@pytest.fixture(params=CELLS)
def cell(request):
    return request.param


@pytest.fixture
def setup(cell, rng):
    params = ref.init_params(cell, D, H, rng)
    x = rng.normal(size=(T, B, D))
    return params, x


def _without(params, key):
    return {k: v for k, v in params.items() if k != key}


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (lambda p, x: (p, x[..., :-1]), ValueError, r"x must have shape \(T, B, D\) with D = 3"),
        (lambda p, x: (p, x[0]), ValueError, r"x must have shape \(T, B, D\)"),
        (lambda p, x: (p, x[:0]), ValueError, r"x must have shape \(T, B, D\) with T >= 1"),
        (lambda p, x: (p, x.astype(complex)), TypeError, r"x must be a real"),
        (lambda p, x: (p, x.astype(object)), TypeError, r"x must be a real"),
        (lambda p, x: (p, "abc"), TypeError, r"x must be a real"),
        (lambda p, x: (_without(p, "weight_hh"), x), KeyError, r"params is missing 'weight_hh'"),
        (lambda p, x: (_without(p, "bias_ih"), x), KeyError, r"params is missing 'bias_ih'"),
        (lambda p, x: (p | {"weight_hh": p["weight_hh"][:, :-1]}, x), ValueError, r"params\['weight_hh'\]"),
        (lambda p, x: (p | {"weight_ih": p["weight_ih"][:-1]}, x), ValueError, r"params\['weight_ih'\]"),
        (
            lambda p, x: (p | {"bias_hh": p["bias_hh"][:-1]}, x),
            ValueError,
            r"params\['bias_hh'\] must have shape",
        ),
        (
            lambda p, x: (p | {"bias_ih": p["bias_ih"] * 1j}, x),
            TypeError,
            r"params\['bias_ih'\] must be a real",
        ),
        (lambda p, x: (list(p.values()), x), TypeError, r"params must be a dict"),
    ],
    ids=[
        "x-features",
        "x-2d",
        "x-empty",
        "x-complex",
        "x-object",
        "x-string",
        "missing-weight_hh",
        "missing-bias_ih",
        "weight_hh-shape",
        "weight_ih-shape",
        "bias_hh-shape",
        "bias-complex",
        "params-list",
    ],
)
def test_bad_sequence_input(cell, setup, change, error, match):
    params, x = change(*setup)
    with pytest.raises(error, match=match):
        cells.sequence_forward(cell, x, params)


def test_params_of_another_cell_are_refused(cell, rng):
    other = {"rnn": "lstm", "lstm": "gru", "gru": "rnn"}[cell]
    params = ref.init_params(other, D, H, rng)
    with pytest.raises(ValueError, match=r"params\['weight_hh'\] must have shape \(\dH, H\)"):
        cells.sequence_forward(cell, rng.normal(size=(T, B, D)), params)


def test_bad_initial_state(cell, setup):
    params, x = setup
    for which, name in enumerate(["h0", "c0"][: len(SPECS[cell].states)]):
        states = [np.zeros((B, H)) for _ in range(len(SPECS[cell].states))]
        states[which] = np.zeros((B, H + 1))
        match = rf"{name} must have shape \(B, H\) with B = 2, H = 4, got shape \(2, 5\)"
        with pytest.raises(ValueError, match=match):
            cells.sequence_forward(cell, x, params, states)


def test_bad_step_input(cell, setup):
    params, x = setup
    states = [np.zeros((B, H))] * len(SPECS[cell].states)
    with pytest.raises(ValueError, match=r"x_t must have shape \(B, D\) with D = 3"):
        cells.step_forward(cell, x[0, :, :-1], states, params)
    new, cache = cells.step_forward(cell, x[0], states, params)
    for which, name in enumerate(SPECS[cell].states):
        bad = [*states[:which], np.zeros((B + 1, H)), *states[which + 1 :]]
        with pytest.raises(ValueError, match=rf"{name}_prev must have shape \(B, H\) with B = 2, H = 4"):
            cells.step_forward(cell, x[0], bad, params)
        bad = [*new[:which], np.zeros((B, H + 1)), *new[which + 1 :]]
        with pytest.raises(ValueError, match=rf"d{name} must have shape \(B, H\) with B = 2, H = 4"):
            cells.step_backward(cell, bad, cache)


def test_bad_backward_input(cell, setup):
    params, x = setup
    out, final, cache = cells.sequence_forward(cell, x, params)
    with pytest.raises(ValueError, match=r"dout must have shape \(T, B, H\) with T = 3, B = 2, H = 4"):
        cells.sequence_backward(cell, out[:-1], cache)
    for which, name in enumerate(SPECS[cell].states):
        bad = [None] * len(SPECS[cell].states)
        bad[which] = np.zeros((B, H - 1))
        with pytest.raises(ValueError, match=rf"d{name}_T must have shape \(B, H\) with B = 2, H = 4"):
            cells.sequence_backward(cell, out, cache, bad)
    with pytest.raises(TypeError, match=r"dout must be a real"):
        cells.sequence_backward(cell, out.astype(complex), cache)


def test_integer_input_is_treated_as_float(cell, setup):
    params, _ = setup
    x_int = np.arange(T * B * D).reshape(T, B, D) % 3 - 1
    out_int, _, _ = cells.sequence_forward(cell, x_int, params)
    out_float, _, _ = cells.sequence_forward(cell, x_int.astype(np.float64), params)
    assert out_int.dtype == np.float64
    np.testing.assert_array_equal(out_int, out_float)


def test_float32_stays_float32(cell, rng):
    params = ref.init_params(cell, D, H, rng, dtype=np.float32)
    x = rng.normal(size=(T, B, D)).astype(np.float32)
    states = [np.zeros((B, H), np.float32)] * len(SPECS[cell].states)
    out, final, cache = cells.sequence_forward(cell, x, params, states)
    dx, grads, dinit = cells.sequence_backward(
        cell, np.ones_like(out), cache, [np.ones_like(s) for s in final]
    )
    arrays = [out, *final, dx, *grads.values(), *dinit]
    assert all(a.dtype == np.float32 for a in arrays), [a.dtype for a in arrays]
    new, step_cache = cells.step_forward(cell, x[0], states, params)
    dx_t, dprev, step_grads = cells.step_backward(cell, [np.ones_like(s) for s in new], step_cache)
    assert all(a.dtype == np.float32 for a in [*new, dx_t, *dprev, *step_grads.values()])


def test_mixed_dtypes_promote(cell, rng):
    """float32 input with float64 parameters computes in float64, as NumPy promotes."""
    params = ref.init_params(cell, D, H, rng)
    out, _, _ = cells.sequence_forward(cell, rng.normal(size=(T, B, D)).astype(np.float32), params)
    assert out.dtype == np.float64


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_extreme_inputs_stay_finite_without_warnings(cell, rng, dtype, scale):
    """Saturated gates: inputs of size 1e4 and weights of size 1e2 give finite states and gradients."""
    params = {k: (v * 100).astype(dtype) for k, v in ref.init_params(cell, D, H, rng).items()}
    x = (np.sign(rng.normal(size=(T, B, D))) * scale).astype(dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out, final, cache = cells.sequence_forward(cell, x, params)
        dx, grads, dinit = cells.sequence_backward(cell, np.ones_like(out), cache)
    for array in [out, *final, dx, *grads.values(), *dinit]:
        assert np.all(np.isfinite(array))
        assert array.dtype == dtype


# ---- issue 14, item 8: each reproducer gets a named error (or a defined result), never a raw one ----------


def test_torch_tensor_that_requires_grad_is_refused_by_name(cell, setup):
    """The reference takes NumPy arrays: a tensor that requires grad is a TypeError naming the argument."""
    torch = pytest.importorskip("torch")
    params, x = setup
    with pytest.raises(TypeError, match=r"x is a torch tensor .*pass x\.detach\(\)\.cpu\(\)\.numpy\(\)"):
        cells.sequence_forward(cell, torch.zeros(T, B, D, requires_grad=True), params)
    weight = torch.zeros(params["weight_ih"].shape, requires_grad=True)
    with pytest.raises(TypeError, match=r"params\['weight_ih'\] is a torch tensor"):
        cells.sequence_forward(cell, x, params | {"weight_ih": weight})


def test_single_cell_dicts_refuse_extra_keys(cell, setup):
    params, x = setup
    with pytest.raises(ValueError, match=r"params has keys \['extra'\] that a cell does not use"):
        cells.sequence_forward(cell, x, params | {"extra": np.zeros(3)})


def test_adam_betas_must_be_a_pair():
    with pytest.raises(ValueError, match=r"betas must be a pair"):
        ref.Adam({"w": np.zeros(3)}, betas=(0.9,))


def test_losses_refuse_empty_input():
    with pytest.raises(ValueError, match=r"pred must hold at least one entry"):
        ref.mse_loss(np.zeros(0), np.zeros(0))
    with pytest.raises(ValueError, match=r"logits must hold at least one row"):
        ref.cross_entropy_loss(np.zeros((0, 3)), np.zeros(0, int))


@pytest.mark.parametrize("function", [ref.softmax, ref.log_softmax])
def test_softmax_over_an_empty_axis_is_empty(function):
    out = function(np.zeros((2, 0)))
    assert out.shape == (2, 0)
    with pytest.raises(ValueError, match=r"axis must be in \[-2, 2\)"):
        function(np.zeros((2, 3)), axis=2)


@pytest.mark.parametrize("function", [ref.softmax, ref.log_softmax])
@pytest.mark.parametrize("row", [[-np.inf, -np.inf], [np.inf, np.inf], [np.inf, 1.0], [np.nan, 0.0]])
def test_softmax_refuses_non_finite_rows(function, row):
    with pytest.raises(ValueError, match=r"x must be finite"):
        function(np.array([row]))


def test_softmax_of_range_spanning_input_is_exact_without_warning():
    x = np.array([[-1e308, 1e308], [1e308, 1e308]])
    np.testing.assert_array_equal(ref.softmax(x), [[0.0, 1.0], [0.5, 0.5]])
    np.testing.assert_array_equal(ref.log_softmax(x)[:, 1], [0.0, -np.log(2)])


@pytest.mark.parametrize(
    ("backward", "made_by"),
    [
        (lambda c: ref.rnn_step_backward(np.zeros((B, H)), c), "RNNStepCache"),
        (lambda c: ref.lstm_step_backward(np.zeros((B, H)), np.zeros((B, H)), c), "LSTMStepCache"),
        (lambda c: ref.gru_step_backward(np.zeros((B, H)), c), "GRUStepCache"),
        (lambda c: ref.rnn_backward(np.zeros((T, B, H)), c), "RNNCache"),
        (lambda c: ref.lstm_backward(np.zeros((T, B, H)), c), "LSTMCache"),
        (lambda c: ref.gru_backward(np.zeros((T, B, H)), c), "GRUCache"),
        (lambda c: ref.lstm_backward_vectorised(np.zeros((T, B, H)), c), "LSTMVectorisedCache"),
        (lambda c: ref.multilayer_backward(np.zeros((T, B, H)), c), "MultilayerCache"),
        (lambda c: ref.dense_backward(np.zeros((B, H)), c), "DenseCache"),
        (lambda c: ref.embedding_backward(np.zeros((B, H)), c), "EmbeddingCache"),
        (lambda c: ref.dot_product_attention_backward(np.zeros((B, 1, H)), c), "DotProductAttentionCache"),
        (lambda c: ref.additive_attention_backward(np.zeros((B, 1, H)), c), "AdditiveAttentionCache"),
    ],
)
def test_a_wrong_cache_is_named(backward, made_by, rng):
    x = rng.normal(size=(T, B, D))
    other = "lstm" if made_by == "GRUCache" else "gru"
    _, _, wrong = cells.sequence_forward(other, x, ref.init_params(other, D, H, rng))
    with pytest.raises(TypeError, match=rf"cache must be the {made_by} that \w+ returns, got \w+"):
        backward(wrong)
    with pytest.raises(TypeError, match=rf"cache must be the {made_by}"):
        backward((1, 2))


def test_an_empty_sequence_cache_is_named():
    with pytest.raises(TypeError, match=r"cache\.steps must be the non-empty list of LSTMStepCache"):
        ref.lstm_backward(np.zeros((T, B, H)), ref.LSTMCache([]))


@pytest.mark.parametrize("where", ["x", "h0", "weight_ih", "weight_hh", "bias_hh", "c0"])
@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
def test_one_non_finite_value_in_the_lstm_is_named(where, value, rng):
    """The reproducer: one +inf in x, the weights or h0 gave a NaN dW_ih and a matmul warning."""
    params = ref.init_params("lstm", D, H, rng)
    arrays = {"x": rng.normal(size=(T, B, D)), "h0": np.zeros((B, H)), "c0": np.zeros((B, H)), **params}
    arrays[where] = arrays[where].copy()
    arrays[where].flat[1] = value
    name = where if where in ("x", "h0", "c0") else rf"params\['{where}'\]"
    with pytest.raises(ValueError, match=rf"{name} must be finite"):
        ref.lstm_forward(arrays["x"], {k: arrays[k] for k in params}, arrays["h0"], arrays["c0"])


def test_non_finite_incoming_gradients_are_named(cell, setup):
    params, x = setup
    out, _, cache = cells.sequence_forward(cell, x, params)
    dout = np.ones_like(out)
    dout[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"dout must be finite"):
        cells.sequence_backward(cell, dout, cache)


def test_a_gradient_too_large_for_float32_is_named(rng):
    params = ref.init_params("rnn", D, H, rng, dtype=np.float32)
    out, _, cache = ref.rnn_forward(rng.normal(size=(T, B, D)).astype(np.float32), params)
    with pytest.raises(ValueError, match=r"dout holds values too large for float32"):
        ref.rnn_backward(np.full((T, B, H), 1e300), cache)
