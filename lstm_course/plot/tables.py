"""Tables for the book: rows of numbers in, an object Jupyter and the book render as an HTML table out.

A cell's Markdown output reaches the book as CommonMark, which has no tables, so a table built in code must be
HTML. :class:`Table` has ``_repr_html_`` (what Jupyter and MyST-NB display) and a plain-text ``repr`` for a
terminal. No pandas needed.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


def format_cell(value: Any, digits: int = 3) -> str:
    """A cell's text: ints as they are, floats to ``digits`` significant digits, None as an em dash."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, float):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}g}"


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
        return [
            [
                self.formats.get(name, format_cell)(value)
                for name, value in zip(self.columns, row, strict=True)
            ]
            for row in self.rows
        ]

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(name)}</th>" for name in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(text)}</td>" for text in row) + "</tr>"
            for row in self.texts()
        )
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        return f'<table class="table">{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'

    def __repr__(self) -> str:
        texts = [list(self.columns), *self.texts()]
        widths = [max(len(row[j]) for row in texts) for j in range(len(self.columns))]
        lines = [
            "  ".join(text.ljust(width) for text, width in zip(row, widths, strict=True)) for row in texts
        ]
        return "\n".join(([self.caption] if self.caption else []) + lines)


def table_from_dict(rows: Mapping[str, Mapping[str, Any]], key: str = "", **kwargs: Any) -> Table:
    """A :class:`Table` from {row name: {column: value}}; row names fill the first column, headed ``key``."""
    columns: list[str] = []
    for values in rows.values():
        columns += [name for name in values if name not in columns]
    body = [[name, *(values.get(column) for column in columns)] for name, values in rows.items()]
    return Table([key, *columns], body, **kwargs)
