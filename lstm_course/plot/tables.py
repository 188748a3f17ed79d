"""Tables for the book: rows of numbers in, an object Jupyter and the book render as an HTML table out.

A cell's Markdown output reaches the book as CommonMark, which has no tables, so a Markdown table would reach
the page as a paragraph of ``| ... |---|`` text. :class:`Table` has ``_repr_html_`` (what Jupyter and MyST-NB
display) and a plain-text ``repr`` for a terminal. No pandas needed. Three ways in:

- :class:`Table` from a header and rows;
- :func:`table_from_dict` from {row label: {column: value}} (row-major);
- :func:`show_table` from {column label: {row label: value}} (column-major, as
  :func:`lstm_course.experiments.lstm_vs_rnn.comparison_rows` gives it).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MISSING = "–"  # an en dash: no value (e.g. a run that never reached its target)


@dataclass(frozen=True)
class Link:
    """A cell that links elsewhere: shown as ``text``, a link to ``href`` in the HTML table."""

    text: str
    href: str

    def __post_init__(self) -> None:
        for name in ("text", "href"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise TypeError(f"Link: {name} must be a non-empty str, got {getattr(self, name)!r}")

    def __str__(self) -> str:
        return self.text


def format_cell(value: Any) -> str:
    """One cell's text: ints with thousands separators, floats to 3 significant digits, None as a dash."""
    if value is None:
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{value:,}"
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            return str(float(value))
        return f"{value:.3g}" if abs(value) < 1e4 else f"{value:.2e}"
    return str(value)


@dataclass(frozen=True)
class Table:
    """A table with a header row; ``rows`` hold one value per column (numbers, text or None)."""

    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    caption: str | None = None
    formats: Mapping[str, Callable[[Any], str]] = field(default_factory=dict)  # per-column text, by name

    def __post_init__(self) -> None:
        for k, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(f"rows[{k}] has {len(row)} values for {len(self.columns)} columns")
        unknown = set(self.formats) - set(self.columns)
        if unknown:
            raise ValueError(f"formats names columns the table does not have: {sorted(unknown)}")

    def texts(self) -> list[list[str]]:
        """Every cell as the text shown."""
        text_of = [self.formats.get(name, format_cell) for name in self.columns]
        return [[text(value) for text, value in zip(text_of, row, strict=True)] for row in self.rows]

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(name)}</th>" for name in self.columns)
        cells = (
            "".join(
                f'<td><a href="{html.escape(value.href)}">{html.escape(text)}</a></td>'
                if isinstance(value, Link)
                else f"<td>{html.escape(text)}</td>"
                for value, text in zip(values, texts, strict=True)
            )
            for values, texts in zip(self.rows, self.texts(), strict=True)
        )
        body = "".join(f"<tr>{row}</tr>" for row in cells)
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        return f'<table class="table">{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'

    def __repr__(self) -> str:
        texts = [list(self.columns), *self.texts()]
        widths = [max(len(row[j]) for row in texts) for j in range(len(self.columns))]
        lines = ["  ".join(text.ljust(w) for text, w in zip(row, widths, strict=True)) for row in texts]
        return "\n".join(([self.caption] if self.caption else []) + lines)


def table_from_dict(rows: Mapping[str, Mapping[str, Any]], key: str = "", **kwargs: Any) -> Table:
    """A :class:`Table` from {row name: {column: value}}; row names fill the first column, headed ``key``."""
    columns: list[str] = []
    for values in rows.values():
        columns += [name for name in values if name not in columns]
    body = [[name, *(values.get(column) for column in columns)] for name, values in rows.items()]
    return Table([key, *columns], body, **kwargs)


def show_table(columns: Mapping[str, Mapping[str, Any]], *, corner: str = "") -> Table:
    """A :class:`Table` from {column: {row: value}}, all columns with the same rows, headed by ``corner``."""
    if not columns:
        raise ValueError("show_table: no columns")
    labels = list(columns)
    row_labels = list(columns[labels[0]])
    for label in labels[1:]:
        if list(columns[label]) != row_labels:
            raise ValueError(
                f"show_table: column {label!r} has rows {list(columns[label])}, expected {row_labels}"
            )
    return Table([corner, *labels], [[row, *(columns[c][row] for c in labels)] for row in row_labels])
