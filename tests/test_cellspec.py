"""The cell table both implementations read: torch's gate order, and a named error for an unknown cell."""

import pytest

from lstm_course.cellspec import SPECS, spec


def test_gate_order_and_states_are_torchs():
    assert SPECS["lstm"].gates == ("i", "f", "g", "o")
    assert SPECS["gru"].gates == ("r", "z", "n")
    assert [SPECS[name].num_gates for name in ("rnn", "lstm", "gru")] == [1, 4, 3]
    assert SPECS["lstm"].states == ("h", "c")
    assert SPECS["rnn"].states == SPECS["gru"].states == ("h",)


@pytest.mark.parametrize("bad", ["LSTM", "peephole", "", None, 4, ["lstm"]])
def test_unknown_cell_is_named(bad):
    with pytest.raises(ValueError, match="cell must be one of"):
        spec(bad)


def test_specs_are_immutable():
    with pytest.raises(AttributeError):
        SPECS["lstm"].gates = ("f",)  # type: ignore[misc]
