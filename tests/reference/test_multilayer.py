"""Stacked and bidirectional networks: gradient checks through layers, directions and final states."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_course import reference as ref
from lstm_course.cellspec import SPECS
from lstm_course.reference import cells

CELLS = tuple(cells.CELLS)
T, B, D, H = 3, 2, 2, 3


def _as_list(cell, states):
    """Final states as torch returns them (h_n, or (h_n, c_n)) as a list in spec.states order."""
    return list(states) if len(SPECS[cell].states) > 1 else [states]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize(("num_layers", "bidirectional"), [(1, True), (2, False), (2, True)])
def test_multilayer_gradients(cell, num_layers, bidirectional, rng, check_gradients):
    K = 2 if bidirectional else 1
    params = ref.init_multilayer_params(cell, D, H, rng, num_layers=num_layers, bidirectional=bidirectional)
    x = rng.normal(size=(T, B, D))
    states = [rng.normal(size=(num_layers * K, B, H)) for _ in SPECS[cell].states]
    kwargs = {f"{name}0": state for name, state in zip(SPECS[cell].states, states, strict=True)}
    w_out = rng.normal(size=(T, B, K * H))
    w_final = [rng.normal(size=s.shape) for s in states]

    def run():
        out, final, cache = ref.multilayer_forward(
            cell, x, params, num_layers=num_layers, bidirectional=bidirectional, **kwargs
        )
        return out, _as_list(cell, final), cache

    def loss():
        out, final, _ = run()
        return np.sum(w_out * out) + sum(np.sum(w * f) for w, f in zip(w_final, final, strict=True))

    out, final, cache = run()
    assert out.shape == (T, B, K * H) and all(f.shape == (num_layers * K, B, H) for f in final)
    dx, grads, dinit = ref.multilayer_backward(w_out, cache, *w_final)
    dinit = _as_list(cell, dinit)
    pairs = {"x": (x, dx)} | {
        f"initial{k}": (s, d) for k, (s, d) in enumerate(zip(states, dinit, strict=True))
    }
    check_gradients(loss, pairs | {key: (params[key], grads[key]) for key in params})


def test_one_layer_one_direction_equals_the_plain_function(rng):
    params = ref.init_multilayer_params("gru", D, H, rng)
    x = rng.normal(size=(T, B, D))
    out, h_n, _ = ref.multilayer_forward("gru", x, params, num_layers=1, bidirectional=False)
    out1, h1, _ = ref.gru_forward(x, ref.layer_params(params, 0))
    np.testing.assert_array_equal(out, out1)
    np.testing.assert_array_equal(h_n[0], h1)


def test_reverse_direction_reads_the_sequence_backwards(rng):
    params = ref.init_multilayer_params("rnn", D, H, rng, bidirectional=True)
    x = rng.normal(size=(T, B, D))
    out, h_n, _ = ref.multilayer_forward("rnn", x, params, num_layers=1, bidirectional=True)
    rev, h_rev, _ = ref.rnn_forward(x[::-1], ref.layer_params(params, 0, reverse=True))
    np.testing.assert_allclose(out[:, :, H:], rev[::-1])
    np.testing.assert_allclose(out[0, :, H:], h_rev)  # the reverse direction ends at t = 0
    np.testing.assert_allclose(h_n[1], h_rev)


@pytest.mark.parametrize("cell", CELLS)
def test_bad_input(cell, rng):
    params = ref.init_multilayer_params(cell, D, H, rng, num_layers=2)
    x = rng.normal(size=(T, B, D))
    with pytest.raises(ValueError, match=r"params has keys \['bias_hh_l1', .*num_layers=1"):
        ref.multilayer_forward(cell, x, params, num_layers=1, bidirectional=False)
    with pytest.raises(KeyError, match=r"params is missing .*'weight_ih_l0_reverse'"):
        ref.multilayer_forward(cell, x, params, num_layers=2, bidirectional=True)
    with pytest.raises(ValueError, match=r"h0 must have shape \(L\*K, B, H\) with L\*K = 2"):
        ref.multilayer_forward(cell, x, params, num_layers=2, bidirectional=False, h0=np.zeros((1, B, H)))
    bad = params | {"weight_ih_l1": params["weight_ih_l0"]}
    with pytest.raises(ValueError, match=r"params\[\.\.\._l1\]"):
        ref.multilayer_forward(cell, x, bad, num_layers=2, bidirectional=False)
    out, _, cache = ref.multilayer_forward(cell, x, params, num_layers=2, bidirectional=False)
    with pytest.raises(ValueError, match=r"dout must have shape \(T, B, K\*H\)"):
        ref.multilayer_backward(out[..., :-1], cache)
    if "c" not in SPECS[cell].states:
        with pytest.raises(ValueError, match="c0 is for the LSTM only"):
            ref.multilayer_forward(cell, x, params, num_layers=2, bidirectional=False, c0=np.zeros((2, B, H)))
        with pytest.raises(ValueError, match="dc_n is for the LSTM only"):
            ref.multilayer_backward(out, cache, None, np.zeros((2, B, H)))


def test_an_unknown_cell_is_named(rng):
    params = ref.init_multilayer_params("gru", D, H, rng)
    with pytest.raises(ValueError, match=r"cell must be one of \['gru', 'lstm', 'rnn'\], got 'peephole'"):
        ref.multilayer_forward(
            "peephole", rng.normal(size=(T, B, D)), params, num_layers=1, bidirectional=False
        )


def test_num_layers_accepts_numpy_ints_and_refuses_bools(rng):
    params = ref.init_multilayer_params("gru", 3, 4, rng, num_layers=1, bidirectional=False)
    x = rng.standard_normal((2, 1, 3))
    out, _, _ = ref.multilayer_forward("gru", x, params, num_layers=np.int64(1), bidirectional=False)
    assert out.shape == (2, 1, 4)
    with pytest.raises(ValueError, match="num_layers must be a positive int"):
        ref.multilayer_forward("gru", x, params, num_layers=True, bidirectional=False)
