"""Tables the chapters print, as HTML: the book renders a cell's Markdown output as CommonMark, which has no
tables, so a Markdown table would reach the page as a paragraph of ``| ... |---|`` text.

A table is given as columns: ``{column label: {row label: value}}``, every column with the same row labels
(the layout of :func:`lstm_course.experiments.lstm_vs_rnn.comparison_rows`).
"""

from __future__ import annotations

import html
from collections.abc import Mapping

import numpy as np
from IPython.display import HTML

MISSING = "–"  # an en dash: no value (e.g. a run that never reached its target)


def format_cell(value: object) -> str:
    """One cell's text: ints with thousands separators, floats to 3 significant digits, None as a dash."""
    if value is None:
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{value:,}"
    if isinstance(value, (float, np.floating)):
        return f"{value:.3g}" if abs(value) < 1e4 else f"{value:.2e}"
    return str(value)


def html_table(columns: Mapping[str, Mapping[str, object]], *, corner: str = "") -> str:
    """An HTML table with one column per key of ``columns`` and one row per key of its first column.

    ``corner`` is the text of the top-left header cell. Every text is escaped.
    """
    if not columns:
        raise ValueError("html_table: no columns")
    labels = list(columns)
    rows = list(columns[labels[0]])
    for label in labels[1:]:
        if list(columns[label]) != rows:
            raise ValueError(f"html_table: column {label!r} has rows {list(columns[label])}, expected {rows}")
    header = "".join(f"<th>{html.escape(label)}</th>" for label in [corner, *labels])
    body = []
    for row in rows:
        cells = "".join(
            f'<td style="text-align: right">{html.escape(format_cell(columns[c][row]))}</td>' for c in labels
        )
        body.append(f'<tr><th style="text-align: left">{html.escape(row)}</th>{cells}</tr>')
    return (
        '<table class="table">\n<thead><tr>'
        + header
        + "</tr></thead>\n<tbody>\n"
        + "\n".join(body)
        + "\n</tbody>\n</table>"
    )


def show_table(columns: Mapping[str, Mapping[str, object]], *, corner: str = "") -> HTML:
    """:func:`html_table` as a notebook output (the last expression of a cell displays it as a table)."""
    return HTML(html_table(columns, corner=corner))
