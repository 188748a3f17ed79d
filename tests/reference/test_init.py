"""init_params: torch's shapes, ranges and forget-gate bias."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_course import reference as ref


@pytest.mark.parametrize(("cell", "gates"), [("rnn", 1), ("lstm", 4), ("gru", 3)])
def test_shapes_and_range(cell, gates, rng):
    params = ref.init_params(cell, 3, 16, rng)
    assert {k: v.shape for k, v in params.items()} == {
        "weight_ih": (gates * 16, 3),
        "weight_hh": (gates * 16, 16),
        "bias_ih": (gates * 16,),
        "bias_hh": (gates * 16,),
    }
    for value in params.values():
        assert value.dtype == np.float64 and np.all(np.abs(value) <= 0.25)
    assert ref.init_params(cell, 3, 16, rng, dtype=np.float32)["weight_hh"].dtype == np.float32


def test_same_seed_same_params():
    a = ref.init_params("gru", 2, 3, np.random.default_rng(7))
    b = ref.init_params("gru", 2, 3, np.random.default_rng(7))
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_forget_bias(rng):
    H = 5
    params = ref.init_params("lstm", 2, H, rng, forget_bias=1.0)
    total = params["bias_ih"] + params["bias_hh"]
    np.testing.assert_array_equal(total[H : 2 * H], 1.0)
    assert not np.any(total[:H] == 1.0)


def test_multilayer_keys(rng):
    params = ref.init_multilayer_params("lstm", 3, 4, rng, num_layers=2, bidirectional=True)
    assert params["weight_ih_l0"].shape == (16, 3)
    assert params["weight_ih_l1_reverse"].shape == (16, 8)
    assert len(params) == 16


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"cell": "lstmx"}, ValueError, "cell must be one of"),
        ({"hidden_size": 0}, ValueError, "hidden_size must be a positive int"),
        ({"input_size": 2.5}, ValueError, "input_size must be a positive int"),
        ({"rng": 3}, TypeError, "rng must be a numpy.random.Generator"),
        ({"cell": "gru", "forget_bias": 1.0}, ValueError, "forget_bias applies to the LSTM only"),
        ({"dtype": np.int64}, TypeError, "dtype must be a float dtype"),
    ],
)
def test_bad_arguments(kwargs, error, match, rng):
    args = {"cell": "lstm", "input_size": 2, "hidden_size": 3, "rng": rng} | kwargs
    with pytest.raises(error, match=match):
        ref.init_params(
            args.pop("cell"), args.pop("input_size"), args.pop("hidden_size"), args.pop("rng"), **args
        )
