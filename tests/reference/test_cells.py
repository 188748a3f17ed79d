"""Every registered cell: its registry entry, gradient checks of every step and sequence backward, and
sequence == loop over steps. Parametrized over ``reference.cells.CELLS``, so a new cell is tested at once."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_course import reference as ref
from lstm_course.cellspec import SPECS
from lstm_course.reference import cells

CELLS = tuple(cells.CELLS)
T, B, D, H = 3, 2, 3, 4


def _setup(cell, rng):
    params = ref.init_params(cell, D, H, rng)
    x = rng.normal(size=(T, B, D))
    states = [rng.normal(size=(B, H)) for _ in SPECS[cell].states]
    return params, x, states


def test_the_registry_has_every_spec_and_nothing_else():
    assert set(cells.CELLS) == set(SPECS)
    for name, entry in cells.CELLS.items():
        assert entry.spec is SPECS[name]
        assert cells.lookup(name) is entry
    with pytest.raises(ValueError, match=r"cell must be one of \['gru', 'lstm', 'rnn'\], got 'LSTM'"):
        cells.lookup("LSTM")


@pytest.mark.parametrize("cell", CELLS)
def test_the_registry_holds_the_books_functions(cell):
    """Generic code runs the very functions the book shows, not copies of them."""
    entry = cells.CELLS[cell]
    assert entry.step_forward is getattr(ref, f"{cell}_step_forward")
    assert entry.step_backward is getattr(ref, f"{cell}_step_backward")
    assert entry.sequence_forward is getattr(ref, f"{cell}_forward")
    assert entry.sequence_backward is getattr(ref, f"{cell}_backward")


@pytest.mark.parametrize("cell", CELLS)
def test_states_come_back_as_a_tuple_in_spec_order(cell, rng):
    params, x, states = _setup(cell, rng)
    new, _ = cells.step_forward(cell, x[0], states, params)
    out, final, cache = cells.sequence_forward(cell, x, params, states)
    dx, _, dinitial = cells.sequence_backward(cell, np.ones_like(out), cache)
    for result in (new, final, dinitial):
        assert isinstance(result, tuple) and len(result) == len(SPECS[cell].states)
        assert all(array.shape == (B, H) for array in result)
    np.testing.assert_array_equal(final[0], out[-1])  # h comes first: the last output is h_T


@pytest.mark.parametrize("cell", CELLS)
def test_step_backward_matches_central_differences(cell, rng, check_gradients):
    params, x, states = _setup(cell, rng)
    x_t = x[0]
    weights = [rng.normal(size=(B, H)) for _ in states]  # the loss sum(w * state) reaches every output

    def loss():
        new, _ = cells.step_forward(cell, x_t, states, params)
        return sum(np.sum(w * state) for w, state in zip(weights, new, strict=True))

    _, cache = cells.step_forward(cell, x_t, states, params)
    dx, dstates, grads = cells.step_backward(cell, weights, cache)
    pairs = {"x_t": (x_t, dx)} | {
        f"{name}_prev": (state, dstate)
        for name, state, dstate in zip(SPECS[cell].states, states, dstates, strict=True)
    }
    pairs |= {key: (params[key], grads[key]) for key in params}
    check_gradients(loss, pairs)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("final_grads", [False, True], ids=["dout-only", "with-dh_T"])
def test_sequence_backward_matches_central_differences(cell, final_grads, rng, check_gradients):
    params, x, states = _setup(cell, rng)
    w_out = rng.normal(size=(T, B, H))
    w_final = [rng.normal(size=(B, H)) if final_grads else np.zeros((B, H)) for _ in states]

    def loss():
        out, final, _ = cells.sequence_forward(cell, x, params, states)
        return np.sum(w_out * out) + sum(np.sum(w * state) for w, state in zip(w_final, final, strict=True))

    _, _, cache = cells.sequence_forward(cell, x, params, states)
    dx, grads, dstates = cells.sequence_backward(cell, w_out, cache, w_final if final_grads else None)
    pairs = {"x": (x, dx)} | {
        f"{name}0": (state, dstate)
        for name, state, dstate in zip(SPECS[cell].states, states, dstates, strict=True)
    }
    pairs |= {key: (params[key], grads[key]) for key in params}
    check_gradients(loss, pairs)


@pytest.mark.parametrize("cell", CELLS)
def test_sequence_equals_a_loop_over_steps(cell, rng):
    params, x, states = _setup(cell, rng)
    out, final, cache = cells.sequence_forward(cell, x, params, states)
    loop_states, step_caches = tuple(states), []
    for t in range(T):
        loop_states, step_cache = cells.step_forward(cell, x[t], loop_states, params)
        np.testing.assert_allclose(out[t], loop_states[0], rtol=1e-12, atol=1e-14)
        step_caches.append(step_cache)
    for ours, loop in zip(final, loop_states, strict=True):
        np.testing.assert_allclose(ours, loop, rtol=1e-12, atol=1e-14)

    dout = rng.normal(size=(T, B, H))
    dfinal = [rng.normal(size=(B, H)) for _ in states]
    dx, grads, dinit = cells.sequence_backward(cell, dout, cache, dfinal)
    carry = [dstate.copy() for dstate in dfinal]
    loop_grads = {key: np.zeros_like(value) for key, value in params.items()}
    for t in reversed(range(T)):
        carry[0] = carry[0] + dout[t]  # h_t feeds out_t and step t + 1
        dx_t, dprevious, step_grads = cells.step_backward(cell, carry, step_caches[t])
        carry = list(dprevious)
        np.testing.assert_allclose(dx[t], dx_t, rtol=1e-11, atol=1e-13)
        for key in step_grads:
            loop_grads[key] += step_grads[key]
    for key in params:
        np.testing.assert_allclose(grads[key], loop_grads[key], rtol=1e-11, atol=1e-13)
    for ours, loop in zip(dinit, carry, strict=True):
        np.testing.assert_allclose(ours, loop, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("cell", CELLS)
def test_missing_initial_state_means_zeros(cell, rng):
    params, x, _ = _setup(cell, rng)
    zeros = [np.zeros((B, H)) for _ in SPECS[cell].states]
    out_none, final_none, _ = cells.sequence_forward(cell, x, params, None)
    out_zero, final_zero, _ = cells.sequence_forward(cell, x, params, zeros)
    np.testing.assert_array_equal(out_none, out_zero)
    for a, b in zip(final_none, final_zero, strict=True):
        np.testing.assert_array_equal(a, b)


def test_lstm_cache_is_one_named_step_cache_per_step(rng):
    params, x, _ = _setup("lstm", rng)
    out, (h_T, c_T), cache = ref.lstm_forward(x, params)
    assert cache._fields == ("steps",) and len(cache.steps) == T
    assert all(isinstance(step, ref.LSTMStepCache) for step in cache.steps)
    assert cache.steps[0]._fields == ("x", "h_prev", "c_prev", "i", "f", "g", "o", "tanh_c", "params")
    # the stacked views the gate plots read: h_0..h_T, c_0..c_T and the gates [i, f, g, o] per step
    assert cache.h.shape == cache.c.shape == (T + 1, B, H) and cache.gates.shape == (T, B, 4 * H)
    np.testing.assert_array_equal(cache.h[1:], out)
    np.testing.assert_array_equal(cache.h[-1], h_T)
    np.testing.assert_array_equal(cache.c[-1], c_T)
    _, _, vectorised = ref.lstm_forward_vectorised(x, params)
    for name in ("h", "c", "gates"):
        np.testing.assert_allclose(getattr(cache, name), getattr(vectorised, name), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize(
    "shape", [(1, 1, 1, 1), (2, 1, 3, 1), (3, 4, 1, 2)], ids=lambda s: "T{}B{}D{}H{}".format(*s)
)
def test_odd_shapes_and_strided_input_match_the_step_loop(cell, shape, rng):
    """Edge sizes and a non-contiguous x (reversed in time, Fortran order) give the step loop's numbers."""
    T_, B_, D_, H_ = shape
    params = ref.init_params(cell, D_, H_, rng)
    x = np.asfortranarray(rng.normal(size=(T_, B_, D_)))[::-1]
    out, final, cache = cells.sequence_forward(cell, x, params)
    states = (np.zeros((B_, H_)),) * len(SPECS[cell].states)
    for t in range(T_):
        states, _ = cells.step_forward(cell, x[t], states, params)
        np.testing.assert_allclose(out[t], states[0], rtol=1e-12, atol=1e-14)
    dx, grads, _ = cells.sequence_backward(cell, np.ones_like(out), cache)
    assert dx.shape == x.shape and all(grads[k].shape == params[k].shape for k in params)
