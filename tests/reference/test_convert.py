"""Conversion between torch state dicts and parameter dicts (torch only makes real state dicts here)."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_course import reference as ref

torch = pytest.importorskip("torch")


def test_state_dict_round_trip(rng):
    module = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    params = ref.params_from_state_dict(module.state_dict())
    assert set(params) == set(module.state_dict())
    assert all(isinstance(v, np.ndarray) and v.dtype == np.float32 for v in params.values())
    params["weight_hh_l1_reverse"][0, 0] = 123.0  # a copy: torch's weights are untouched
    assert module.weight_hh_l1_reverse[0, 0].item() != 123.0
    back = {k: torch.from_numpy(v) for k, v in ref.state_dict_from_params(params).items()}
    module.load_state_dict(back)
    assert module.weight_hh_l1_reverse[0, 0].item() == 123.0


def test_prefix_picks_a_submodule():
    model = torch.nn.Sequential(torch.nn.GRU(2, 3), torch.nn.Linear(3, 1))
    params = ref.params_from_state_dict(model.state_dict(), prefix="0.")
    assert sorted(params) == ["bias_hh_l0", "bias_ih_l0", "weight_hh_l0", "weight_ih_l0"]
    with pytest.raises(ValueError, match=r"unexpected key '0.weight_ih_l0'.*pass prefix="):
        ref.params_from_state_dict(model.state_dict())


def test_single_cell_dict_becomes_layer_zero(rng):
    params = ref.init_params("rnn", 2, 3, rng)
    flat = ref.state_dict_from_params(params)
    assert sorted(flat) == ["bias_hh_l0", "bias_ih_l0", "weight_hh_l0", "weight_ih_l0"]
    module = torch.nn.RNN(2, 3).double()
    module.load_state_dict({k: torch.from_numpy(v) for k, v in flat.items()})
    np.testing.assert_array_equal(ref.layer_params(flat, 0)["weight_ih"], params["weight_ih"])


def test_unsupported_modules_are_refused():
    with pytest.raises(ValueError, match="proj_size"):
        ref.params_from_state_dict(torch.nn.LSTM(2, 4, proj_size=2).state_dict())
    with pytest.raises(ValueError, match="no keys starting with prefix 'lstm.'"):
        ref.params_from_state_dict(torch.nn.LSTM(2, 4).state_dict(), prefix="lstm.")
    with pytest.raises(KeyError, match="params is missing 'weight_ih_l3'"):
        ref.layer_params(ref.params_from_state_dict(torch.nn.GRU(2, 3).state_dict()), 3)
