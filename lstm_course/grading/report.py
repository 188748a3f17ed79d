"""The grade table: one row per check, written as CSV and JSON, one Markdown feedback file per student, a
class summary, and an aligned text table for the terminal. Shards' results merge by concatenating their
rows.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
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


def write_results(rows: list[Row], out: Path, reports: bool = True) -> None:
    """grades.csv and grades.json in ``out``, the feedback files and the summary (``write_reports``)."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "grades.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=[field.name for field in fields(Row)])
        writer.writeheader()
        writer.writerows(asdict(r) for r in rows)
    (out / "grades.json").write_text(
        json.dumps([asdict(r) for r in rows], indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    if reports:
        write_reports(rows, out)


def format_table(rows: list[Row], width: int = 72, submission: bool = True) -> str:
    """An aligned text table of the rows, feedback cut to ``width`` characters (``submission``: with that
    column)."""
    header: tuple[str, ...] = ("submission", "exercise", "check", "points", "cases", "result", "feedback")
    body: list[tuple[str, ...]] = [
        (
            r.submission,
            r.exercise,
            r.check,
            f"{float(r.points):g}/{float(r.max_points):g}",
            r.cases,
            r.result,
            r.feedback if len(r.feedback) <= width else r.feedback[: width - 1] + "…",
        )
        for r in rows
    ]
    if not submission:
        header, body = header[1:], [line[1:] for line in body]
    widths = [max(len(str(line[i])) for line in [header, *body]) for i in range(len(header))]
    lines = [
        "  ".join(str(v).ljust(w) for v, w in zip(line, widths, strict=True)).rstrip()
        for line in [header, *body]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def read_results(folder: Path) -> list[Row]:
    """The rows a grading run wrote into ``folder`` (its grades.json)."""
    data = json.loads((folder / "grades.json").read_text(encoding="utf-8"))
    names = {field.name for field in fields(Row)}
    return [Row(**{k: v for k, v in entry.items() if k in names}) for entry in data]


def student_of(row: Row) -> str:
    """Whose submission a row is: the file name without its exercise (``alice_04_lstm`` -> ``alice``), or the
    folder it is in when nothing is left (``class/alice/04_lstm.ipynb`` -> ``alice``)."""
    path = Path(row.submission)
    # the first NN or NN_topic in the name is the exercise
    stem = re.sub(r"(?<!\d)\d\d(?!\d)(_[A-Za-z]+)?", "", path.stem, count=1).strip("_- .")
    if not stem and len(path.parts) > 1:
        stem = path.parts[-2]
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in (stem or path.stem))
    return safe or "submission"


def feedback_markdown(student: str, rows: list[Row]) -> str:
    """One student's feedback: per exercise a table of checks, then the details of what failed."""
    lines = [f"# Feedback for {student}", ""]
    for exercise in dict.fromkeys(r.exercise for r in rows):
        mine = [r for r in rows if r.exercise == exercise]
        got = sum(float(r.points) for r in mine)
        total = sum(float(r.max_points) for r in mine)
        lines += [f"## {exercise}: {got:g}/{total:g} points", "", f"Submission: `{mine[0].submission}`", ""]
        lines += ["| check | points | cases | result | feedback |", "|---|---|---|---|---|"]
        for r in mine:
            feedback = r.feedback.replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {r.check} | {r.points}/{r.max_points} | {r.cases} | {r.result} | {feedback} |")
        details = [r for r in mine if r.details]
        for r in details:
            lines += ["", f"**{r.check}**: {r.feedback}", "", "```text", r.details, "```"]
        lines.append("")
    return "\n".join(lines)


def summary_markdown(rows: list[Row], top: int = 10) -> str:
    """The class summary: per check the distribution of scores, then the most common diagnosed mistakes."""
    graded = [r for r in rows if float(r.max_points) > 0]
    lines = [
        "# Class summary",
        "",
        f"{len({r.submission for r in rows})} submissions, {len(graded)} checks graded.",
        "",
    ]
    lines += [
        "| exercise | check | submissions | full marks | partial | zero | mean |",
        "|---|---|---|---|---|---|---|",
    ]
    for key in dict.fromkeys((r.exercise, r.check) for r in graded):
        mine = [r for r in graded if (r.exercise, r.check) == key]
        fractions = [float(r.points) / float(r.max_points) for r in mine]
        full = sum(f == 1 for f in fractions)
        zero = sum(f == 0 for f in fractions)
        mean = sum(fractions) / len(fractions)
        lines.append(
            f"| {key[0]} | {key[1]} | {len(mine)} | {full} | {len(mine) - full - zero} | {zero} "
            f"| {mean:.0%} |"
        )
    mistakes = Counter(
        (r.check, r.feedback) for r in rows if r.result not in ("pass", "not run") and r.feedback
    )
    lines += ["", f"## The {top} most common findings", "", "| count | check | feedback |", "|---|---|---|"]
    for (check, feedback), count in mistakes.most_common(top):
        lines.append(f"| {count} | {check} | {feedback.replace('|', '/')[:200]} |")
    flags = [r for r in rows if r.result == "flag"]
    if flags:
        lines += ["", "## Flags", ""] + [f"- `{r.submission}`: {r.feedback}" for r in flags]
    return "\n".join(lines) + "\n"


def write_reports(rows: list[Row], out: Path) -> None:
    """One Markdown feedback file per student in ``out/feedback``, and ``out/summary.md``."""
    folder = out / "feedback"
    folder.mkdir(parents=True, exist_ok=True)
    by_student: dict[str, list[Row]] = {}
    for row in rows:
        by_student.setdefault(student_of(row), []).append(row)
    for student, mine in by_student.items():
        (folder / f"{student}.md").write_text(feedback_markdown(student, mine), encoding="utf-8")
    (out / "summary.md").write_text(summary_markdown(rows), encoding="utf-8")
