"""The grade table: one row per check, written as CSV and JSON and printed as aligned text."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path


@dataclass
class Row:
    """One line of the grade table."""

    submission: str
    exercise: str
    check: str
    points: float
    max_points: float
    result: str  # pass | partial | fail | timeout | crash | not run | invalid | flag
    feedback: str  # the first line: what is wrong
    cases: str = ""  # passed/run, public and hidden together
    details: str = ""  # the evidence, the case, the seed that reproduces it


def write_results(rows: list[Row], out: Path) -> None:
    """grades.csv and grades.json in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "grades.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=[field.name for field in fields(Row)])
        writer.writeheader()
        writer.writerows(asdict(r) for r in rows)
    (out / "grades.json").write_text(
        json.dumps([asdict(r) for r in rows], indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def format_table(rows: list[Row], width: int = 72) -> str:
    """An aligned text table of the rows, feedback cut to ``width`` characters."""
    header = ("submission", "exercise", "check", "points", "result", "feedback")
    body = [
        (
            r.submission,
            r.exercise,
            r.check,
            f"{r.points}/{r.max_points}",
            r.result,
            r.feedback if len(r.feedback) <= width else r.feedback[: width - 1] + "…",
        )
        for r in rows
    ]
    widths = [max(len(str(line[i])) for line in [header, *body]) for i in range(len(header))]
    lines = [
        "  ".join(str(v).ljust(w) for v, w in zip(line, widths, strict=True)).rstrip()
        for line in [header, *body]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
