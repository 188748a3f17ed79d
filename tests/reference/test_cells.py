"""RNN, LSTM and GRU: gradient checks of every step and sequence backward, and sequence == loop over steps."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_course import reference as ref

CELLS = ("rnn", "lstm", "gru")
T, B, D, H = 3, 2, 3, 4


def _setup(cell, rng):
    params = ref.init_params(cell, D, H, rng)
    x = rng.normal(size=(T, B, D))
    states = [rng.normal(size=(B, H)) for _ in range(2 if cell == "lstm" else 1)]
    return params, x, states


@pytest.mark.parametrize("cell", CELLS)
def test_step_backward_matches_central_differences(cell, rng, api, check_gradients):
    params, x, states = _setup(cell, rng)
    x_t = x[0]
    weights = [rng.normal(size=(B, H)) for _ in states]  # the loss sum(w * state) reaches every output

    def loss():
        new, _ = api.step_forward(cell, x_t, states, params)
        return sum(np.sum(w * s) for w, s in zip(weights, new, strict=True))

    _, cache = api.step_forward(cell, x_t, states, params)
    dx, dstates, grads = api.step_backward(cell, weights, cache)
    pairs = {"x_t": (x_t, dx)} | {
        f"state{k}": (s, d) for k, (s, d) in enumerate(zip(states, dstates, strict=True))
    }
    pairs |= {key: (params[key], grads[key]) for key in params}
    check_gradients(loss, pairs)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("final_grads", [False, True], ids=["dout-only", "with-dh_T"])
def test_sequence_backward_matches_central_differences(cell, final_grads, rng, api, check_gradients):
    params, x, states = _setup(cell, rng)
    w_out = rng.normal(size=(T, B, H))
    w_final = [rng.normal(size=(B, H)) if final_grads else np.zeros((B, H)) for _ in states]

    def loss():
        out, final, _ = api.seq_forward(cell, x, params, states)
        return np.sum(w_out * out) + sum(np.sum(w * s) for w, s in zip(w_final, final, strict=True))

    _, _, cache = api.seq_forward(cell, x, params, states)
    dx, grads, dstates = api.seq_backward(cell, w_out, cache, w_final if final_grads else None)
    pairs = {"x": (x, dx)} | {
        f"initial{k}": (s, d) for k, (s, d) in enumerate(zip(states, dstates, strict=True))
    }
    pairs |= {key: (params[key], grads[key]) for key in params}
    check_gradients(loss, pairs)


@pytest.mark.parametrize("cell", CELLS)
def test_sequence_equals_a_loop_over_steps(cell, rng, api):
    params, x, states = _setup(cell, rng)
    out, final, cache = api.seq_forward(cell, x, params, states)
    loop_states, step_caches = list(states), []
    for t in range(T):
        loop_states, step_cache = api.step_forward(cell, x[t], loop_states, params)
        np.testing.assert_allclose(out[t], loop_states[0], rtol=1e-12, atol=1e-14)
        step_caches.append(step_cache)
    for a, b in zip(final, loop_states, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)

    dout = rng.normal(size=(T, B, H))
    dfinal = [rng.normal(size=(B, H)) for _ in states]
    dx, grads, dinit = api.seq_backward(cell, dout, cache, dfinal)
    carry = [d.copy() for d in dfinal]
    loop_grads = {key: np.zeros_like(value) for key, value in params.items()}
    for t in reversed(range(T)):
        carry[0] = carry[0] + dout[t]
        dx_t, carry, g = api.step_backward(cell, carry, step_caches[t])
        np.testing.assert_allclose(dx[t], dx_t, rtol=1e-11, atol=1e-13)
        for key in g:
            loop_grads[key] += g[key]
    for key in params:
        np.testing.assert_allclose(grads[key], loop_grads[key], rtol=1e-11, atol=1e-13)
    for a, b in zip(dinit, carry, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("cell", CELLS)
def test_missing_initial_state_means_zeros(cell, rng, api):
    params, x, _ = _setup(cell, rng)
    zeros = [np.zeros((B, H)) for _ in range(api.n_states(cell))]
    out_none, final_none, _ = api.seq_forward(cell, x, params, None)
    out_zero, final_zero, _ = api.seq_forward(cell, x, params, zeros)
    np.testing.assert_array_equal(out_none, out_zero)
    for a, b in zip(final_none, final_zero, strict=True):
        np.testing.assert_array_equal(a, b)


def test_lstm_cache_has_named_fields(rng):
    params, x, _ = _setup("lstm", rng)
    _, (h_T, c_T), cache = ref.lstm_forward(x, params)
    assert cache.h.shape == (T + 1, B, H) and cache.gates.shape == (T, B, 4 * H)
    np.testing.assert_array_equal(cache.c[-1], c_T)
    _, _, step = ref.lstm_step_forward(x[0], None, None, params)
    assert step._fields == ("x", "h_prev", "c_prev", "i", "f", "g", "o", "tanh_c", "params")


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize(
    "shape", [(1, 1, 1, 1), (2, 1, 3, 1), (3, 4, 1, 2)], ids=lambda s: "T{}B{}D{}H{}".format(*s)
)
def test_odd_shapes_and_strided_input_match_the_step_loop(cell, shape, rng, api):
    """Edge sizes and a non-contiguous x (reversed in time, Fortran order) give the step loop's numbers."""
    T_, B_, D_, H_ = shape
    params = ref.init_params(cell, D_, H_, rng)
    x = np.asfortranarray(rng.normal(size=(T_, B_, D_)))[::-1]
    out, final, cache = api.seq_forward(cell, x, params)
    states = [np.zeros((B_, H_))] * api.n_states(cell)
    for t in range(T_):
        states, _ = api.step_forward(cell, x[t], states, params)
        np.testing.assert_allclose(out[t], states[0], rtol=1e-12, atol=1e-14)
    dx, grads, _ = api.seq_backward(cell, np.ones_like(out), cache)
    assert dx.shape == x.shape and all(grads[k].shape == params[k].shape for k in params)
