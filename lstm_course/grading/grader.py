"""Grade submitted exercise notebooks: student code runs in its own sandboxed process, the checks run here.

For each submission the grader

1. reads the file once (a file that is not a notebook is reported as such) and finds its exercise (the
   notebook's ``lstm_course.exercise`` metadata, else ``NN_topic`` in its file name; a disagreement is
   flagged);
2. copies it into a fresh work folder and starts ``lstm_course.grading.child`` there, in its sandbox
   (``grading.sandbox``: bwrap when present, resource limits always). The child runs the student's code cells,
   not the check cells, with the answer key hidden;
3. runs each of the course's checks HERE, on the student's functions as ``RemoteFunction`` objects: the check
   draws its inputs in this process, the child calls the student's function on them and sends back the outputs
   as data, and the verdict, the diagnosis (``checks.mistakes``) and the points are computed here.
   Monkeypatching numpy or the checks in the student's process, redefining a check, or writing a file has
   nothing to hit;
4. scores each case: the public cases the notebook runs, with a fresh seed, then ``hidden_rounds`` more rounds
   with other seeds that only the grader runs. Points per case come from ``exercises/weights/NN_topic.toml``
   (default one point a case);
5. names what went wrong: a crash (with its exit status or signal), a timeout, a cell's error, a function that
   is the answer key.

Results go to ``grades.csv``, ``grades.json``, one Markdown feedback file per student and a class summary
(``grading.report``), rewritten after every submission. ``--jobs`` grades in parallel, ``--shard i/n`` grades
a deterministic part of the class.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import json
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np
from nbformat import NotebookNode

from lstm_course.checks.harness import CheckCases, Feedback, collect_cases, fresh_seed
from lstm_course.checks.success import SUCCESS_LINE
from lstm_course.grading.nbval_plugin import ENV
from lstm_course.grading.notebooks import is_check_cell
from lstm_course.grading.report import Row, write_results

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the weights are read from JSON files only
    tomllib = None

from lstm_course.grading.sandbox import (
    Limits,
    RemoteFunction,
    Submission,
    SubmissionCrashed,
    SubmissionTimedOut,
)

#: How often a submission's process is started again after a check crashed it or timed out.
MAX_RESTARTS = 3


@dataclass(frozen=True)
class Options:
    """How to grade."""

    cell_timeout: float = 120  # seconds per cell, and per check (all its cases)
    total_timeout: float | None = None  # seconds per notebook; None: 4 x cell_timeout, at least 300
    hidden_rounds: int = 1  # rounds of hidden cases (other seeds) after the public round
    limits: Limits = field(default_factory=Limits)

    @property
    def notebook_timeout(self) -> float:
        return self.total_timeout if self.total_timeout is not None else max(4 * self.cell_timeout, 300)


@dataclass
class CanonicalCheck:
    """A check cell of the course's student notebook, and what it calls."""

    name: str
    points: int  # the public cases, from its stored success line
    cell: NotebookNode
    function: str = ""  # check_lstm_forward
    graded: list[str] = field(default_factory=list)  # the student's functions it is given


@dataclass
class Exercise:
    """One exercise, read once from its committed student notebook: later edits of the file change nothing."""

    name: str
    checks: list[CanonicalCheck]
    check_modules: dict[str, str]  # check_lstm_forward -> lstm_course.checks.lstm
    allowed: list[str]  # the reference helpers the notebook imports, e.g. sigmoid
    modules: list[str]  # other course modules it imports, e.g. lstm_course.tasks
    weights: dict[str, dict[str, float]]


def check_call(cell: NotebookNode) -> tuple[str, list[str]]:
    """``check_lstm_backward(lstm_forward, lstm_backward)`` -> (the check, the names of its arguments)."""
    for node in ast.walk(ast.parse(cell.source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id.startswith("check_")
        ):
            return node.func.id, [arg.id for arg in node.args if isinstance(arg, ast.Name)]
    raise ValueError(f"check cell {cell.get('id')} calls no check_*")


def canonical_checks(student_nb: NotebookNode) -> list[CanonicalCheck]:
    """The check cells of a committed student notebook, named and weighted by their stored success line."""
    found = []
    for cell in student_nb.cells:
        if is_check_cell(cell):
            text = "".join(o.get("text", "") for o in cell.outputs)
            match = SUCCESS_LINE.match(text)
            if not match:
                raise ValueError(f"check cell {cell.get('id')} has no stored success line")
            function, graded = check_call(cell)
            found.append(CanonicalCheck(match["name"], int(match["n"]), cell, function, graded))
    return found


def read_weights(exercises_dir: Path, name: str) -> dict[str, dict[str, float]]:
    """``exercises/weights/NN_topic.toml`` (or ``.json``): per check ``public``, ``hidden`` (points per case)
    and ``hidden_rounds``; missing: one point a case."""
    folder = exercises_dir / "weights"
    if tomllib is not None and (folder / f"{name}.toml").exists():
        return tomllib.loads((folder / f"{name}.toml").read_text(encoding="utf-8"))
    if (folder / f"{name}.json").exists():
        return json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
    return {}


def load_exercise(exercises_dir: Path, name: str) -> Exercise:
    """Everything the grader needs from one exercise's notebook: checks, check modules, allowed helpers."""
    nb = nbformat.read(exercises_dir / f"{name}.ipynb", as_version=4)
    check_modules: dict[str, str] = {}
    allowed: list[str] = []
    modules: list[str] = []
    for cell in nb.cells:
        if cell.cell_type != "code" or is_check_cell(cell):
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lstm_course"):
                names = [alias.name for alias in node.names]
                if node.module.startswith("lstm_course.checks"):
                    check_modules.update({n: node.module for n in names})
                elif node.module == "lstm_course.reference":
                    allowed += names
                else:
                    modules.append(node.module)
            elif isinstance(node, ast.Import):
                modules += [a.name for a in node.names if a.name.startswith("lstm_course.")]
    allowed = [n for n in allowed if not n.startswith("_")]
    return Exercise(
        name, canonical_checks(nb), check_modules, allowed, modules, read_weights(exercises_dir, name)
    )


def called_check(cell: NotebookNode) -> str | None:
    """The name a check cell checks: ``check_lstm_forward(...)`` -> ``lstm_forward``."""
    match = re.search(r"\bcheck_(\w+)\s*\(", cell.source)
    return match.group(1) if match else None


def exercise_by_name(path: Path, known: list[str]) -> str | None:
    """The exercise an ``NN_topic`` (or just ``NN``) in the file name names."""
    for name in known:
        if name in path.name:
            return name
    number = re.search(r"(?<!\d)(\d\d)(?!\d)", path.name)
    matches = [name for name in known if number and name.startswith(number.group(1) + "_")]
    return matches[0] if len(matches) == 1 else None


def find_exercise(path: Path, nb: NotebookNode, known: Iterable[str]) -> str | None:
    """The exercise a submission is for: its metadata, else an ``NN_topic`` in its name."""
    known = list(known)
    meta = nb.get("metadata", {}).get("lstm_course", {}).get("exercise")
    return meta if meta in known else exercise_by_name(path, known)


def exercise_mismatch(path: Path, nb: NotebookNode, known: list[str]) -> str | None:
    """A warning when the file name and the metadata name different exercises."""
    meta = nb.get("metadata", {}).get("lstm_course", {}).get("exercise")
    by_name = exercise_by_name(path, known)
    if meta in known and by_name is not None and by_name != meta:
        return (
            f"the file name says {by_name} but the notebook's metadata says {meta}: graded as {meta}; "
            "check that you submitted the right notebook"
        )
    return None


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


@dataclass
class CaseResult:
    """One case of a check: public or hidden, passed or the feedback."""

    label: str
    hidden: bool
    passed: bool
    seed: int
    feedback: str = ""
    details: str = ""


def run_case(cases: CheckCases, index: int, seed: int, hidden: bool) -> CaseResult:
    """Run one case here (its student calls go to the submission's process)."""
    label, case = cases.cases[index]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the student's warnings reach the checks through call_student
            case(np.random.default_rng([seed, index]))
    except Feedback as fb:
        return CaseResult(label, hidden, False, seed, fb.first, fb.details)
    except (NotImplementedError, SubmissionCrashed, SubmissionTimedOut):
        raise
    except Exception as exc:  # noqa: BLE001 - a result the check cannot even read is the student's mistake
        text = f"{type(exc).__name__}: {exc}"
        return CaseResult(label, hidden, False, seed, f"the check could not use the result ({text[:300]})")
    return CaseResult(label, hidden, True, seed)


def score_check(
    check: CanonicalCheck, exercise: Exercise, functions: dict[str, RemoteFunction], hidden_rounds: int
) -> tuple[list[CaseResult], float, float]:
    """Every case of one check, public then hidden; returns (results, points, max points)."""
    module = importlib.import_module(exercise.check_modules.get(check.function, "lstm_course.checks"))
    weights = exercise.weights.get(check.name, {})
    rounds = int(weights.get("hidden_rounds", hidden_rounds))
    with collect_cases() as collected:
        getattr(module, check.function)(*(functions[name] for name in check.graded))
    cases = collected[0]
    results = []
    for round_number in range(1 + rounds):
        seed = fresh_seed()
        for index in range(len(cases.cases)):
            results.append(run_case(cases, index, seed, hidden=round_number > 0))
    public, hidden = float(weights.get("public", 1)), float(weights.get("hidden", 1))
    points = sum(hidden if r.hidden else public for r in results if r.passed)
    maximum = len(cases.cases) * (public + rounds * hidden)
    return results, points, maximum


def max_points(check: CanonicalCheck, exercise: Exercise, options: Options) -> float:
    """A check's points when every public and hidden case passes."""
    weights = exercise.weights.get(check.name, {})
    rounds = int(weights.get("hidden_rounds", options.hidden_rounds))
    return check.points * (float(weights.get("public", 1)) + rounds * float(weights.get("hidden", 1)))


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 2)


def check_row(
    label: str,
    exercise: str,
    check: CanonicalCheck,
    results: list[CaseResult],
    points: float,
    maximum: float,
    call: str | None,
) -> Row:
    """The row of one scored check: pass, partial or fail, the first failing case's feedback first."""
    public = sum(not r.hidden for r in results)
    passed = sum(r.passed for r in results)
    cases = f"{passed}/{len(results)}"
    if passed == len(results):
        text = f"all checks passed ({public} public and {len(results) - public} hidden cases)"
        return Row(label, exercise, check.name, _number(points), _number(maximum), "pass", text, cases)
    first = next(r for r in results if not r.passed)
    where = "a hidden case" if first.hidden else "a public case"
    how = call.format(seed=first.seed) if call else ""
    details = "\n".join(
        part
        for part in (
            first.details,
            f"({where}: {first.label}; seed {first.seed}" + (f": reproduce with {how})" if how else ")"),
        )
        if part
    )
    result = "partial" if points > 0 else "fail"
    return Row(
        label, exercise, check.name, _number(points), _number(maximum), result, first.feedback, cases, details
    )


@dataclass
class Run:
    """A submission's process with its cells run, and what they did."""

    submission: Submission
    functions: dict[str, RemoteFunction]
    key: dict[str, str]
    blocked: list[str]
    cell_rows: list[Row]
    stopped: str | None  # why the cells could not all run: "timed out" / "crashed", else None
    stop_row: Row | None


def start_run(
    label: str,
    exercise: Exercise,
    cells: list[list],
    workdir: Path,
    options: Options,
    deadline: float,
    hidden: list[Path],
) -> Run:
    """Start the submission's process and run its code cells; every error or stop becomes a row."""
    submission = Submission(workdir, options.limits, hidden)
    graded = sorted({name for check in exercise.checks for name in check.graded})
    rows: list[Row] = []
    current = None
    try:
        submission.deadline = min(time.monotonic() + options.cell_timeout, deadline)
        submission.send(
            {"cells": cells, "allowed": exercise.allowed, "modules": exercise.modules, "graded": graded}
        )
        while True:
            message = submission.receive()
            if message.get("event") == "start":
                current = int(message["cell"])
                submission.deadline = min(time.monotonic() + options.cell_timeout, deadline)
            elif message.get("event") == "done" and "error" in message:
                current = int(message["cell"])
                error = message["error"]
                text = f"{error['type']}: {error['message']}".strip().rstrip(":")
                if error["type"] == "MemoryError":
                    text += f" (out of memory: the limit is {options.limits.memory / 2**30:g} GiB)"
                rows.append(
                    Row(label, exercise.name, f"cell {current + 1} (not a check)", 0, 0, "fail", text)
                )
            elif message.get("event") == "ready":
                break
    except SubmissionTimedOut:
        over = time.monotonic() >= deadline
        text = (
            f"timed out: the notebook passed the overall limit of {options.notebook_timeout:g} s"
            if over
            else f"timed out: the cell ran longer than {options.cell_timeout:g} s (an infinite loop?)"
        )
        where = f"cell {current + 1} (not a check)" if current is not None else "start"
        row = Row(label, exercise.name, where, 0, 0, "timeout", text)
        return Run(submission, {}, {}, [], rows, "timed out", row)
    except SubmissionCrashed as exc:
        where = f"cell {current + 1} (not a check)" if current is not None else "start"
        row = Row(label, exercise.name, where, 0, 0, "crash", f"crashed: the notebook's process {exc}")
        return Run(submission, {}, {}, [], rows, "crashed", row)
    namespace: dict[str, RemoteFunction] = {}
    for name in message.get("callables", []):
        namespace[name] = RemoteFunction(submission, name, namespace)
    return Run(submission, namespace, message.get("key", {}), message.get("blocked", []), rows, None, None)


def grade_loaded(
    data: bytes,
    label: str,
    path: Path,
    exercises: dict[str, Exercise],
    workdir: Path,
    options: Options,
    hidden: list[Path] | None = None,
) -> list[Row]:
    """Grade one submission from its bytes (read once, before any submission ran)."""
    known = sorted(exercises)
    try:
        submission = nbformat.reads(data.decode("utf-8"), as_version=4)
        nbformat.validate(submission)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is reported, and grading goes on
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [Row(label, "?", "-", 0, 0, "invalid", f"not a notebook: {reason[:200]}")]
    name = find_exercise(path, submission, known)
    if name is None:
        text = f"unknown exercise: name the file after one of {', '.join(known)}"
        return [Row(label, "?", "-", 0, 0, "invalid", text)]
    exercise = exercises[name]
    rows = []
    mismatch = exercise_mismatch(path, submission, known)
    if mismatch:
        rows.append(Row(label, name, "(exercise)", 0, 0, "flag", mismatch))
    copy, appended = graded_copy(submission, exercise.checks)
    cells = [
        [index, cell.source]
        for index, cell in enumerate(c for c in copy.cells if c.cell_type == "code")
        if not is_check_cell(cell)
    ]
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    (workdir / "submission.ipynb").write_bytes(data)
    deadline = time.monotonic() + options.notebook_timeout
    run = start_run(label, exercise, cells, workdir, options, deadline, hidden or [])
    if run.submission.sandbox != "bwrap":
        text = f"sandbox: {run.submission.sandbox}; install Debian's bubblewrap for file-system isolation"
        rows.append(Row(label, name, "(sandbox)", 0, 0, "flag", text))
    rows += run.cell_rows
    if run.stop_row is not None:
        run.submission.kill()
        rows.append(run.stop_row)
        reads = run.submission.answer_key_reads
        why = f"not run: an earlier cell {run.stopped}"
        result = "timeout" if run.stopped == "timed out" else "not run"
        rows += [
            Row(label, name, c.name, 0, _number(max_points(c, exercise, options)), result, why)
            for c in exercise.checks
        ]
        return answer_key_read(rows, reads, exercise)
    restarts, stopped, reads = 0, None, []
    try:
        for check in exercise.checks:
            if stopped:
                maximum = _number(max_points(check, exercise, options))
                rows.append(Row(label, name, check.name, 0, maximum, "not run", stopped))
                continue
            rows.append(_grade_check(label, exercise, check, run, options, deadline))
            if rows[-1].result in ("timeout", "crash"):
                run.submission.kill()
                over = time.monotonic() >= deadline
                if over:
                    stopped = (
                        f"not run: the notebook passed the overall limit of {options.notebook_timeout:g} s"
                    )
                elif restarts >= MAX_RESTARTS:
                    stopped = f"not run: the notebook's process stopped {restarts + 1} times"
                else:
                    restarts += 1
                    reads += run.submission.answer_key_reads
                    run = start_run(label, exercise, cells, workdir, options, deadline, hidden or [])
                    if run.stop_row is not None:
                        stopped = f"not run: an earlier cell {run.stopped} when the process was restarted"
        for check_name in appended:
            for row in rows:
                if row.check == check_name and row.result == "pass":
                    row.feedback += " (its check cell was missing and was appended)"
    finally:
        run.submission.close()
    return answer_key_read(rows, reads + run.submission.answer_key_reads, exercise)


def answer_key_read(rows: list[Row], reads: list[str], exercise: Exercise) -> list[Row]:
    """The rows, with every check at 0 points when the notebook opened a file of the answer key.

    The child's audit hook reports each such file (``child.watch_answer_key``): the notebook imported the
    reference again after undoing the import hook, or read its source. A wrapper around that code would pass
    every check, so nothing the submission did can be trusted.
    """
    if not reads:
        return rows
    files = sorted({Path(read).name for read in reads})
    text = (
        f"the notebook opened the answer key's files ({', '.join(files)[:200]}): "
        "nothing it computed counts, 0 points"
    )
    names = {check.name for check in exercise.checks}
    for row in rows:
        if row.check in names and "(the answer key)" not in row.feedback:  # else it already says which
            row.points, row.result, row.feedback, row.cases, row.details = 0, "fail", text, "", ""
    label = rows[0].submission if rows else "?"
    details = "\n".join(sorted(set(reads))[:60])
    rows.append(Row(label, exercise.name, "(answer key)", 0, 0, "fail", text, details=details))
    return rows


def _grade_check(
    label: str, exercise: Exercise, check: CanonicalCheck, run: Run, options: Options, deadline: float
) -> Row:
    """One check's row: the answer key, a missing function, a crash or timeout, else its scored cases."""
    maximum = _number(max_points(check, exercise, options))
    # the function this check is named after first: its own use of the answer key is what the row names
    for name in sorted(check.graded, key=lambda graded: graded != check.name):
        if name in run.key:
            return Row(label, exercise.name, check.name, 0, maximum, "fail", run.key[name] + ": 0 points")
        if any(b.rsplit(".", 1)[-1] == name for b in run.blocked):
            text = (
                f"{name} was imported from lstm_course.reference (the answer key), which is not allowed here"
            )
            return Row(label, exercise.name, check.name, 0, maximum, "fail", text + ": 0 points")
        if name not in run.functions:
            text = f"{name} is not defined: define it (did the cell that defines it fail?)"
            return Row(label, exercise.name, check.name, 0, maximum, "fail", text)
    run.submission.deadline = min(time.monotonic() + options.cell_timeout, deadline)
    try:
        results, points, maximum = score_check(check, exercise, run.functions, options.hidden_rounds)
    except NotImplementedError:
        text = "not done yet: a function still raises NotImplementedError"
        return Row(label, exercise.name, check.name, 0, maximum, "fail", text)
    except SubmissionTimedOut:
        over = time.monotonic() >= deadline
        text = (
            f"timed out: the notebook passed the overall limit of {options.notebook_timeout:g} s"
            if over
            else f"timed out: the check ran longer than {options.cell_timeout:g} s (an infinite loop?)"
        )
        return Row(label, exercise.name, check.name, 0, maximum, "timeout", text)
    except SubmissionCrashed as exc:
        text = f"crashed: the notebook's process {exc} while check_{check.name} called it"
        return Row(label, exercise.name, check.name, 0, maximum, "crash", text)
    call = f"{check.function}({', '.join(check.graded)}, seed={{seed}})"
    return check_row(label, exercise.name, check, results, points, maximum, call)


def load_exercises(exercises_dir: Path) -> dict[str, Exercise]:
    """Every exercise of the folder, read now."""
    return {
        p.stem: load_exercise(exercises_dir, p.stem) for p in sorted(exercises_dir.glob("[0-9][0-9]_*.ipynb"))
    }


def grade_notebook(
    path: Path,
    exercises_dir: Path,
    workdir: Path,
    cell_timeout: float = 120,
    total_timeout: float | None = None,
    label: str | None = None,
    options: Options | None = None,
) -> list[Row]:
    """Grade one submission file; every outcome, including an unreadable file, becomes rows."""
    options = options or Options(cell_timeout, total_timeout)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return [Row(label or str(path), "?", "-", 0, 0, "invalid", f"cannot read it: {exc}")]
    exercises = load_exercises(exercises_dir.resolve())
    return grade_loaded(data, label or str(path), path, exercises, workdir.resolve(), options)


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


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/8"`` -> (2, 8): the second of eight parts."""
    match = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise ValueError(f"a shard is i/n with 1 <= i <= n, got {text!r}")
    return int(match[1]), int(match[2])


def in_shard(label: str, shard: tuple[int, int] | None) -> bool:
    """Whether a submission belongs to shard i of n: by a hash of its label, so every machine agrees."""
    if shard is None:
        return True
    number = int.from_bytes(hashlib.sha256(label.encode("utf-8")).digest()[:8], "big")
    return number % shard[1] == shard[0] - 1


def _grade_job(job: tuple) -> list[Row]:
    data, label, path, exercises, workdir, options, hidden = job
    return grade_loaded(data, label, path, exercises, workdir, options, hidden)


def grade(
    paths: list[Path],
    exercises_dir: Path,
    out: Path,
    cell_timeout: float = 120,
    total_timeout: float | None = None,
    *,
    options: Options | None = None,
    jobs: int = 1,
    shard: tuple[int, int] | None = None,
) -> list[Row]:
    """Grade every submission under ``paths``, ``jobs`` at a time; write the results into ``out`` as they
    come.

    Every submission and every exercise notebook is read before any student code runs; the submissions are
    hashed before and after, and a file that changed meanwhile is flagged (it was graded as first read).
    """
    options = options or Options(cell_timeout, total_timeout)
    exercises_dir, out = exercises_dir.resolve(), out.resolve()
    submissions = [(p, label) for p, label in find_submissions(paths) if in_shard(label, shard)]
    if not find_submissions(paths):
        raise FileNotFoundError(f"no submissions found under {', '.join(map(str, paths))}")
    exercises = load_exercises(exercises_dir)
    read = []
    for path, label in submissions:
        try:
            read.append((path.read_bytes(), label, path))
        except OSError as exc:
            read.append((b"", label, path))
            print(f"cannot read {label}: {exc}", file=sys.stderr)
    # other submissions' work folders, and the solutions in the exercise sources, are hidden from a submission
    hidden = [out / "work", exercises_dir / "source"]
    jobs_list = [
        (data, label, path, exercises, out / "work" / f"{k + 1:03d}", options, hidden)
        for k, (data, label, path) in enumerate(read)
    ]
    results: list[list[Row] | None] = [None] * len(jobs_list)
    (out / "work").mkdir(parents=True, exist_ok=True)

    def done(k: int, rows: list[Row]) -> None:
        results[k] = rows
        print(f"[{sum(r is not None for r in results)}/{len(results)}] graded {jobs_list[k][1]}", flush=True)
        write_results([row for rows in results if rows for row in rows], out, reports=False)

    if jobs <= 1 or len(jobs_list) <= 1:
        for k, job in enumerate(jobs_list):
            done(k, _grade_job(job))
    else:
        # spawned, not forked: a fork copies the caller's threads' locks (torch's and BLAS's thread pools),
        # and a forked worker that then runs torch, as exercise 09's checks do, can wait on one forever
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=spawn) as pool:
            futures = {pool.submit(_grade_job, job): k for k, job in enumerate(jobs_list)}
            for future in as_completed(futures):
                done(futures[future], future.result())
    rows = [row for rows in results if rows for row in rows]
    for data, label, path in read:
        if _digest(path) != hashlib.sha256(data).hexdigest():
            text = "this file changed while the class was graded (did another submission write to it?)"
            rows.append(Row(label, "?", "(file)", 0, 0, "flag", text + "; it was graded as first read"))
    write_results(rows, out)
    return rows


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def run_nbval(
    notebooks: Path | list[Path], log: Path, cell_timeout: float, total_timeout: float
) -> tuple[bool, str]:
    """Run ``pytest --nbval-lax`` on notebooks (in one folder) in a subprocess; return (timed_out, output).

    The students' route (and the exercise tests'): the grader itself does not use nbval. The subprocess gets
    its own empty pytest config and process group; past ``total_timeout`` the whole group is killed. Each
    cell's result is appended to ``log`` as it finishes.
    """
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
    """Every line the nbval plugin logged: file, cell (code-cell index), when, outcome, text."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
