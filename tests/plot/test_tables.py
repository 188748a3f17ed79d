"""html_table: tables as HTML (CommonMark has no tables), one column per key, every text escaped."""

import numpy as np
import pytest
from IPython.display import HTML

from lstm_course.plot.tables import MISSING, format_cell, html_table, show_table


def test_cells_are_formatted_by_type():
    assert format_cell(12345) == "12,345" and format_cell(np.int64(7)) == "7"
    assert format_cell(0.123456) == "0.123" and format_cell(123456.0) == "1.23e+05"
    assert format_cell(None) == MISSING and format_cell(True) == "yes" and format_cell("3 of 5") == "3 of 5"


def test_one_column_per_key_one_row_per_measure():
    table = html_table(
        {"RNN": {"parameters": 10, "accuracy": 0.5}, "<LSTM>": {"parameters": 40, "accuracy": None}},
        corner="model",
    )
    assert table.startswith("<table") and table.count("<tr>") == 3
    assert "<th>model</th><th>RNN</th><th>&lt;LSTM&gt;</th>" in table  # escaped
    rows = table.split("<tr>")[2:]
    assert "parameters" in rows[0] and ">10<" in rows[0] and ">40<" in rows[0]
    assert "accuracy" in rows[1] and ">0.5<" in rows[1] and f">{MISSING}<" in rows[1]
    assert "|" not in table


def test_columns_must_share_their_rows():
    with pytest.raises(ValueError, match="'b' has rows"):
        html_table({"a": {"x": 1}, "b": {"y": 2}})
    with pytest.raises(ValueError, match="no columns"):
        html_table({})


def test_show_table_is_a_notebook_html_output():
    shown = show_table({"a": {"x": 1}})
    assert isinstance(shown, HTML) and shown.data == html_table({"a": {"x": 1}})
