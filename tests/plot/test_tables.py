"""Tables render as HTML tables (never Markdown text, which the book shows raw), with named errors."""

import math

import pytest

from lstm_course.plot.tables import Table, format_cell, table_from_dict


def test_html_has_a_header_and_one_row_per_row_escaped():
    table = Table(["model", "MSE"], [["<LSTM>", 0.001234], ["RNN", None]], caption="adding, T = 100")
    page = table._repr_html_()
    assert page.startswith('<table class="table"><caption>adding, T = 100</caption>')
    assert "<th>model</th><th>MSE</th>" in page
    assert "<td>&lt;LSTM&gt;</td><td>0.00123</td>" in page
    assert "<td>RNN</td><td>—</td>" in page
    assert page.count("<tr>") == 3
    assert "|" not in page


def test_formats_per_column_and_plain_text_repr():
    table = Table(["cell", "ms"], [["gru", 7.123]], formats={"ms": lambda v: f"{v:.1f} ms"})
    assert table.texts() == [["gru", "7.1 ms"]]
    assert repr(table).splitlines() == ["cell  ms    ", "gru   7.1 ms"]


def test_format_cell():
    assert [format_cell(v) for v in (3, True, "x", None, 1 / 3, math.inf)] == [
        "3",
        "True",
        "x",
        "—",
        "0.333",
        "inf",
    ]


def test_from_dict_keeps_row_and_column_order():
    table = table_from_dict(
        {"LSTM": {"params": 10, "acc": 1.0}, "RNN": {"acc": 0.5, "params": 3}}, key="model"
    )
    assert list(table.columns) == ["model", "params", "acc"]
    assert table.texts() == [["LSTM", "10", "1"], ["RNN", "3", "0.5"]]


def test_bad_tables_are_named():
    with pytest.raises(ValueError, match=r"rows\[1\] has 1 values for 2 columns"):
        Table(["a", "b"], [[1, 2], [3]])
    with pytest.raises(ValueError, match="formats names columns"):
        Table(["a"], [[1]], formats={"b": str})
