"""Conversion between torch state dicts and parameter dicts (torch only makes real state dicts here)."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_course import reference as ref
from lstm_course.reference.convert import check_params, expected_shapes

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


def _lstm_params():
    return ref.params_from_state_dict(torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True).state_dict())


def test_expected_shapes_are_torch_nn_s():
    for cell, module in (("rnn", torch.nn.RNN), ("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU)):
        theirs = module(3, 4, num_layers=2, bidirectional=True).state_dict()
        shapes = expected_shapes(cell, 3, 4, num_layers=2, bidirectional=True)
        assert list(shapes) == list(theirs)
        assert all(shapes[key] == tuple(value.shape) for key, value in theirs.items())


@pytest.mark.parametrize("convert", ["params_from_state_dict", "state_dict_from_params"])
def test_every_key_must_be_present(convert):
    """nanoGPT's from_pretrained check: a dropped key is named, not silently left out."""
    params = _lstm_params()
    del params["bias_hh_l1_reverse"]
    with pytest.raises(KeyError, match=r"missing 'bias_hh_l1_reverse', expected shape \(16,\)"):
        getattr(ref, convert)(params)


@pytest.mark.parametrize("convert", ["params_from_state_dict", "state_dict_from_params"])
def test_a_wrong_shape_names_the_key_and_both_shapes(convert):
    params = _lstm_params()
    params["weight_ih_l1"] = params["weight_ih_l1"][:, :4]  # layer 1 reads both directions: (16, 8)
    with pytest.raises(ValueError, match=r"\['weight_ih_l1'\] has shape \(16, 4\), expected \(16, 8\)"):
        getattr(ref, convert)(params)
    params = _lstm_params()
    params["bias_ih_l0"] = params["bias_ih_l0"][:12]
    with pytest.raises(ValueError, match=r"\['bias_ih_l0'\] has shape \(12,\), expected \(16,\)"):
        getattr(ref, convert)(params)


def test_an_unexpected_key_is_named():
    """Against a known configuration, an extra key is named; read from the dict, it implies missing keys."""
    params = _lstm_params()
    with pytest.raises(ValueError, match=r"unexpected key 'weight_ih_l1' in state_dict \(shape \(16, 8\)\)"):
        check_params(params, expected_shapes("lstm", 3, 4, num_layers=1, bidirectional=True), "state_dict")
    check_params(params, expected_shapes("lstm", 3, 4, num_layers=2, bidirectional=True))
    params["weight_ih_l2"] = params["weight_ih_l1"]  # a third layer that is only half there
    with pytest.raises(KeyError, match="missing 'weight_hh_l2'"):
        ref.state_dict_from_params(params)
    only_forward = {k: v for k, v in _lstm_params().items() if not k.endswith("_reverse")}
    only_forward["weight_hh_l0_reverse"] = only_forward["weight_hh_l0"]
    with pytest.raises(KeyError, match="missing 'weight_ih_l0_reverse'"):
        ref.params_from_state_dict(only_forward)


def test_the_cell_is_read_from_the_gate_count_or_insisted_on():
    gru = torch.nn.GRU(2, 3).state_dict()
    assert ref.params_from_state_dict(gru, cell="gru")["weight_hh_l0"].shape == (9, 3)
    wrong = r"state_dict\['weight_ih_l0'\] has shape \(9, 2\), expected \(12, 2\)"  # torch's key order
    with pytest.raises(ValueError, match=wrong):
        ref.params_from_state_dict(gru, cell="lstm")
    with pytest.raises(ValueError, match="cell must be one of"):
        ref.params_from_state_dict(gru, cell="transformer")
    odd = {key: value[:6] if value.shape[0] == 9 else value for key, value in gru.items()}  # G = 2
    with pytest.raises(ValueError, match=r"2 gate blocks of H rows; the cells with that many are \[\]"):
        ref.params_from_state_dict(odd)


def test_bias_false_is_refused_by_name():
    with pytest.raises(KeyError, match=r"missing 'bias_ih_l0'.*bias=False modules are not supported"):
        ref.params_from_state_dict(torch.nn.LSTM(2, 4, bias=False).state_dict())


def test_a_single_cell_dict_with_a_wrong_shape_is_refused(rng):
    params = ref.init_params("gru", 2, 3, rng)
    params["bias_hh"] = params["bias_hh"][:3]
    with pytest.raises(ValueError, match=r"\['bias_hh_l0'\] has shape \(3,\), expected \(9,\)"):
        ref.state_dict_from_params(params)
