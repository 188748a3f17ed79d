"""Tables render as HTML tables (never Markdown text, which the book shows raw), with named errors."""

import math

import numpy as np
import pytest

from lstm_course.plot.tables import MISSING, Table, format_cell, show_table, table_from_dict


def test_cells_are_formatted_by_type():
    assert format_cell(12345) == "12,345" and format_cell(np.int64(7)) == "7"
    assert format_cell(0.123456) == "0.123" and format_cell(123456.0) == "1.23e+05"
    assert format_cell(None) == MISSING and format_cell(True) == "yes" and format_cell("3 of 5") == "3 of 5"
    assert format_cell(math.inf) == "inf" and format_cell(np.float32(0.5)) == "0.5"


def test_html_has_a_header_and_one_row_per_row_escaped():
    table = Table(["model", "MSE"], [["<LSTM>", 0.001234], ["RNN", None]], caption="adding, T = 100")
    page = table._repr_html_()
    assert page.startswith('<table class="table"><caption>adding, T = 100</caption>')
    assert "<th>model</th><th>MSE</th>" in page
    assert "<td>&lt;LSTM&gt;</td><td>0.00123</td>" in page
    assert f"<td>RNN</td><td>{MISSING}</td>" in page
    assert page.count("<tr>") == 3
    assert "|" not in page


def test_formats_per_column_and_plain_text_repr():
    table = Table(["cell", "ms"], [["gru", 7.123]], formats={"ms": lambda v: f"{v:.1f} ms"})
    assert table.texts() == [["gru", "7.1 ms"]]
    assert repr(table).splitlines() == ["cell  ms    ", "gru   7.1 ms"]


def test_from_dict_keeps_row_and_column_order():
    rows = {"LSTM": {"params": 10, "acc": 1.0}, "RNN": {"acc": 0.5, "params": 3}}
    table = table_from_dict(rows, key="model")
    assert list(table.columns) == ["model", "params", "acc"]
    assert table.texts() == [["LSTM", "10", "1"], ["RNN", "3", "0.5"]]


def test_show_table_has_one_column_per_key_and_one_row_per_measure():
    table = show_table(
        {"RNN": {"parameters": 10, "accuracy": 0.5}, "<LSTM>": {"parameters": 40, "accuracy": None}},
        corner="model",
    )
    assert list(table.columns) == ["model", "RNN", "<LSTM>"]
    assert table.texts() == [["parameters", "10", "40"], ["accuracy", "0.5", MISSING]]
    assert "<th>&lt;LSTM&gt;</th>" in table._repr_html_()


def test_bad_tables_are_named():
    with pytest.raises(ValueError, match=r"rows\[1\] has 1 values for 2 columns"):
        Table(["a", "b"], [[1, 2], [3]])
    with pytest.raises(ValueError, match="formats names columns"):
        Table(["a"], [[1]], formats={"b": str})
    with pytest.raises(ValueError, match="'b' has rows"):
        show_table({"a": {"x": 1}, "b": {"y": 2}})
    with pytest.raises(ValueError, match="no columns"):
        show_table({})


def test_a_link_cell_renders_as_an_anchor_and_as_its_text_elsewhere():
    from lstm_course.plot.tables import Link

    table = Table(["claim", "decided in"], [["a < b", Link("ch. 4 & more", "04_lstm.html#sec-x")]])
    html = table._repr_html_()
    assert '<td><a href="04_lstm.html#sec-x">ch. 4 &amp; more</a></td>' in html
    assert "<td>a &lt; b</td>" in html
    assert table.texts() == [["a < b", "ch. 4 & more"]]
    with pytest.raises(TypeError, match="href"):
        Link("text", "")
