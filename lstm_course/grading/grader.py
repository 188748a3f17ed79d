"""Grade submitted exercise notebooks: run each through nbval in a subprocess and tabulate every check.

For each submission the grader

1. reads it (a file that is not a notebook is reported as such), finds its exercise (the notebook's
   ``lstm_course.exercise`` metadata, else ``NN_topic`` in its file name);
2. puts the course's own check cells, with their stored success lines, in place of the submitted ones (so an
   edited check or output cannot pass), appending any check the student deleted, and clears every other
   output;
3. runs ``pytest --nbval-lax --nbval-cell-timeout=N`` on that copy in a subprocess with an overall time limit;
   a small plugin logs each cell's result as it finishes, so a notebook killed for time keeps the results it
   had;
4. reports one row per check: points, pass/fail, and the first line of the feedback.

Results go to the terminal as a table and to ``grades.csv`` and ``grades.json`` (``grading.report``),
rewritten after every submission. Every path is made absolute first: pytest runs in the work folder.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from lstm_course.checks.success import SUCCESS_LINE
from lstm_course.grading.nbval_plugin import ENV
from lstm_course.grading.notebooks import is_check_cell
from lstm_course.grading.report import Row, write_results

EXCEPTION_LINE = re.compile(
    r"^(?:[A-Za-z_][\w.]*\.)?([A-Za-z_]\w*(?:Error|Exception|Failure|Interrupt|Exit))(?::\s?(.*))?$"
)


@dataclass
class CanonicalCheck:
    """A check cell of the course's student notebook."""

    name: str
    points: int
    cell: NotebookNode


def canonical_checks(student_nb: NotebookNode) -> list[CanonicalCheck]:
    """The check cells of a committed student notebook, named and weighted by their stored success line."""
    found = []
    for cell in student_nb.cells:
        if is_check_cell(cell):
            text = "".join(o.get("text", "") for o in cell.outputs)
            match = SUCCESS_LINE.match(text)
            if not match:
                raise ValueError(f"check cell {cell.get('id')} has no stored success line")
            found.append(CanonicalCheck(match["name"], int(match["n"]), cell))
    return found


def called_check(cell: NotebookNode) -> str | None:
    """The name a check cell checks: ``check_lstm_forward(...)`` -> ``lstm_forward``."""
    match = re.search(r"\bcheck_(\w+)\s*\(", cell.source)
    return match.group(1) if match else None


def find_exercise(path: Path, nb: NotebookNode, known: Iterable[str]) -> str | None:
    """The exercise a submission is for: its metadata, else an ``NN_topic`` in its name."""
    known = list(known)
    meta = nb.get("metadata", {}).get("lstm_course", {}).get("exercise")
    if meta in known:
        return meta
    for name in known:
        if name in path.name:
            return name
    number = re.search(r"(?<!\d)(\d\d)(?!\d)", path.name)
    matches = [name for name in known if number and name.startswith(number.group(1) + "_")]
    return matches[0] if len(matches) == 1 else None


def graded_copy(submission: NotebookNode, checks: list[CanonicalCheck]) -> tuple[NotebookNode, list[str]]:
    """The submission with the course's check cells in place of its own; returns it and the names appended.

    A submitted cell is a course check when it has a check cell's id (Jupyter keeps ids when a cell is edited)
    or is marked ``# NBVAL_CHECK_OUTPUT`` and calls that check. Other cells marked so lose the marker; every
    output not a course check's is cleared; checks the student deleted are appended at the end.
    """
    nb = nbformat.from_dict(submission)
    by_name = {c.name: c for c in checks}
    by_id = {c.cell.get("id"): c for c in checks if c.cell.get("id")}
    seen = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        match = by_id.get(cell.get("id")) or (
            by_name.get(called_check(cell) or "") if is_check_cell(cell) else None
        )
        if match is not None and match.name not in seen:
            cell.source = match.cell.source
            cell.outputs = [nbformat.from_dict(o) for o in match.cell.outputs]
            cell.execution_count = match.cell.execution_count
            seen.add(match.name)
        elif is_check_cell(cell):
            cell.source = cell.source.replace("# NBVAL_CHECK_OUTPUT", "# (not a course check)", 1)
    appended = [c.name for c in checks if c.name not in seen]
    for name in appended:
        nb.cells.append(nbformat.from_dict(by_name[name].cell))
    return nb, appended


def first_feedback_line(text: str, cell_timeout: float) -> tuple[str, str]:
    """(result, first line of the feedback) from nbval's failure text."""
    if "Timeout of" in text and "exceeded" in text:
        return "timeout", f"timed out: the cell ran longer than {cell_timeout:g} s (an infinite loop?)"
    if "Cell outputs differ" in text:
        return "fail", "the check printed something other than its success line"
    for line in reversed(text.splitlines()):
        match = EXCEPTION_LINE.match(line.strip())
        if match:
            kind, message = match.group(1), (match.group(2) or "").strip()
            if kind == "CheckFailure":
                return "fail", message
            if kind == "NotImplementedError":
                return "fail", "not done yet: a function still raises NotImplementedError"
            return "fail", f"{kind}: {message}" if message else kind
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return "fail", lines[-1] if lines else "failed without a message"


def run_nbval(
    notebooks: Path | list[Path], log: Path, cell_timeout: float, total_timeout: float
) -> tuple[bool, str]:
    """Run ``pytest --nbval-lax`` on notebooks (in one folder) in a subprocess; return (timed_out, output).

    The subprocess gets its own empty pytest config and process group; past ``total_timeout`` the whole group
    (pytest and its kernel) is killed. Each cell's result is appended to ``log`` as it finishes.
    """
    # absolute, because the subprocess runs in the notebooks' folder: relative paths would miss from there
    paths = [path.resolve() for path in ([notebooks] if isinstance(notebooks, Path) else notebooks)]
    folder = paths[0].parent
    ini = folder / "pytest.ini"
    ini.write_text("[pytest]\n", encoding="utf-8")
    command = [
        *(sys.executable, "-m", "pytest", *map(str, paths), "--nbval-lax"),
        *(f"--nbval-cell-timeout={cell_timeout:g}", "--nbval-current-env"),
        *("-p", "lstm_course.grading.nbval_plugin", "-p", "no:cacheprovider"),
        *("-c", str(ini), "--rootdir", str(folder), "-q", "--color=no"),
    ]
    env = {**os.environ, ENV: str(log.resolve())}
    proc = subprocess.Popen(
        command,
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=total_timeout)
        return False, output
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # pytest and its kernel: the group this call started
        output, _ = proc.communicate()
        return True, output


def read_log_entries(log: Path) -> list[dict]:
    """Every line the plugin logged: file, cell (code-cell index), when, outcome, text."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def read_log(log: Path) -> dict[int, dict]:
    """The per-cell results the plugin logged, by code-cell index (a failure overrides a pass)."""
    results: dict[int, dict] = {}
    for entry in read_log_entries(log):
        if entry["cell"] is not None and (entry["cell"] not in results or entry["outcome"] == "failed"):
            results[entry["cell"]] = entry
    return results


def grade_notebook(
    path: Path,
    exercises_dir: Path,
    workdir: Path,
    cell_timeout: float,
    total_timeout: float,
    label: str | None = None,
) -> list[Row]:
    """Grade one submission; every outcome, including an unreadable file, becomes rows."""
    label = label or str(path)
    known = sorted(p.stem for p in exercises_dir.glob("[0-9][0-9]_*.ipynb"))
    try:
        submission = nbformat.read(path, as_version=4)
        nbformat.validate(submission)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is reported, and grading goes on
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [Row(label, "?", "-", 0, 0, "invalid", f"not a notebook: {reason[:200]}")]
    exercise = find_exercise(path, submission, known)
    if exercise is None:
        return [
            Row(
                label,
                "?",
                "-",
                0,
                0,
                "invalid",
                f"unknown exercise: name the file after one of {', '.join(known)}",
            )
        ]
    checks = canonical_checks(nbformat.read(exercises_dir / f"{exercise}.ipynb", as_version=4))
    copy, appended = graded_copy(submission, checks)
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    notebook, log = workdir / f"{exercise}.ipynb", workdir / "cells.jsonl"
    log.unlink(missing_ok=True)
    nbformat.write(copy, notebook)
    timed_out, output = run_nbval(notebook, log, cell_timeout, total_timeout)
    (workdir / "pytest-output.txt").write_text(output, encoding="utf-8")
    return _rows(
        label, exercise, copy, checks, appended, read_log(log), timed_out, cell_timeout, total_timeout
    )


def _rows(
    label: str,
    exercise: str,
    nb: NotebookNode,
    checks: list[CanonicalCheck],
    appended: list[str],
    results: dict[int, dict],
    timed_out: bool,
    cell_timeout: float,
    total_timeout: float,
) -> list[Row]:
    rows, points = [], {c.name: c.points for c in checks}
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    for index, cell in enumerate(code_cells):
        entry = results.get(index)
        name = called_check(cell) if is_check_cell(cell) else None
        if name not in points:
            if entry and entry["outcome"] == "failed":
                result, feedback = first_feedback_line(entry["text"], cell_timeout)
                rows.append(Row(label, exercise, f"cell {index + 1} (not a check)", 0, 0, result, feedback))
            continue
        if entry is None:
            why = (
                f"not run: the notebook passed the overall limit of {total_timeout:g} s"
                if timed_out
                else "not run: the kernel stopped before this check"
            )
            rows.append(
                Row(label, exercise, name, 0, points[name], "timeout" if timed_out else "not run", why)
            )
        elif entry["outcome"] == "passed":
            note = " (its check cell was missing and was appended)" if name in appended else ""
            rows.append(
                Row(label, exercise, name, points[name], points[name], "pass", f"all checks passed{note}")
            )
        else:
            result, feedback = first_feedback_line(entry["text"], cell_timeout)
            rows.append(Row(label, exercise, name, 0, points[name], result, feedback))
    return rows


def find_submissions(paths: Iterable[Path]) -> list[tuple[Path, str]]:
    """(file, label): files given directly, and every non-hidden file under the folders given.

    A file's label is its path as given, or relative to its folder's parent (``class/alice/04_lstm.ipynb``).
    """
    found = []
    for path in paths:
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                parts = file.relative_to(path).parts
                if file.is_file() and not any(p.startswith(".") or p == "__pycache__" for p in parts):
                    found.append((file, str(Path(path.resolve().name, *parts))))
        else:
            found.append((path, str(path)))
    return found


def grade(
    paths: list[Path],
    exercises_dir: Path,
    out: Path,
    cell_timeout: float = 120,
    total_timeout: float | None = None,
) -> list[Row]:
    """Grade every submission under ``paths``; write the results into ``out`` after each one."""
    total_timeout = total_timeout if total_timeout is not None else max(4 * cell_timeout, 300)
    exercises_dir, out = exercises_dir.resolve(), out.resolve()
    rows: list[Row] = []
    submissions = find_submissions(paths)
    if not submissions:
        raise FileNotFoundError(f"no submissions found under {', '.join(map(str, paths))}")
    for k, (path, label) in enumerate(submissions):
        print(f"[{k + 1}/{len(submissions)}] grading {label}", flush=True)
        workdir = out / "work" / f"{k + 1:03d}"
        rows += grade_notebook(path, exercises_dir, workdir, cell_timeout, total_timeout, label)
        write_results(rows, out)
    return rows
