"""How long grading a class takes: a synthetic class graded as ``lstm-course grade`` does, scaled to 200.

The class: ``--students`` students, each with one notebook per exercise. Two in three hand in the solution,
one in six a solution with its last graded function left unfinished (its cell taken from the student notebook:
a mistake the checks see quickly), one in six the untouched student notebook. Each exercise's notebooks are
graded as one run of ``grader.grade`` with ``--jobs``; the wall time per exercise is extrapolated linearly to
``--class-size`` students. So is the CPU time (the grader's and every submission process's): divided by
``--jobs``, it is what the wall time would be on ``--jobs`` quiet cores, whatever else the machine runs now.
The issue's target: 200 students x 5 exercises in at most 25 minutes on 2 cores.

CPU time reaches this process only from the processes it waits for, and bwrap's sandboxed process is not one
of them, so by default the class is graded with ``--sandbox rlimits`` (the same driver without bwrap; starting
one under bwrap takes the same wall time, about 0.3 s of CPU).

    .venv/bin/python bench/bench_grading.py                      # 6 students, --jobs 2 (a few minutes)
    .venv/bin/python bench/bench_grading.py --students 12 --exercises 01 02 03 04
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lstm_course.grading import grader, notebooks, sandbox  # noqa: E402

EXERCISES = ROOT / "exercises"


def unfinished(solution: nbformat.NotebookNode, stub: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The solution with the cell of its last graded function taken from the student notebook."""
    last = grader.canonical_checks(stub)[-1].graded[-1]
    nb = nbformat.from_dict(solution)
    for cell, stub_cell in zip(nb.cells, stub.cells, strict=True):
        if cell.cell_type == "code" and f"def {last}(" in cell.source:
            cell.source = stub_cell.source
    return nb


def build_class(folder: Path, names: list[str], students: int) -> dict[str, Path]:
    """One folder of submissions per exercise; returns them by exercise."""
    folders = {}
    for name in names:
        solution = notebooks.solution_notebook(notebooks.read_source(EXERCISES / "source" / f"{name}.py"))
        stub = nbformat.read(EXERCISES / f"{name}.ipynb", as_version=4)
        kinds = {0: solution, 1: solution, 2: solution, 3: solution, 4: unfinished(solution, stub), 5: stub}
        folders[name] = folder / name
        folders[name].mkdir(parents=True)
        for k in range(students):
            nbformat.write(kinds[k % 6], folders[name] / f"student{k:03d}_{name}.ipynb")
    return folders


def _cpu_seconds() -> float:
    """User and system CPU seconds of this process and of every child it has waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=6)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--class-size", type=int, default=200)
    parser.add_argument("--hidden-rounds", type=int, default=1)
    parser.add_argument("--sandbox", choices=["auto", "bwrap", "rlimits"], default="rlimits")
    parser.add_argument("--exercises", nargs="+", default=["01", "02", "03", "04", "05"], metavar="NN")
    args = parser.parse_args()
    if args.sandbox != "auto":
        os.environ[sandbox.SANDBOX_ENV] = args.sandbox
    names = [p.stem for p in sorted(EXERCISES.glob("[0-9][0-9]_*.ipynb")) if p.stem[:2] in args.exercises]
    print(
        f"{args.students} students x {len(names)} exercises, --jobs {args.jobs}, --sandbox {args.sandbox}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    options = grader.Options(cell_timeout=300, hidden_rounds=args.hidden_rounds)
    measured: dict[str, tuple[float, float]] = {}  # exercise -> (wall s, CPU s) for --students
    with tempfile.TemporaryDirectory() as scratch:
        folders = build_class(Path(scratch) / "class", names, args.students)
        for name, folder in folders.items():
            cpu_start = _cpu_seconds()
            start = time.perf_counter()
            rows = grader.grade(
                [folder], EXERCISES, Path(scratch) / "out" / name, options=options, jobs=args.jobs
            )
            seconds = time.perf_counter() - start
            cpu = _cpu_seconds() - cpu_start
            measured[name] = (seconds, cpu)
            passed = sum(r.result == "pass" for r in rows)
            print(
                f"{name:16s} {seconds:7.1f} s for {args.students} "
                f"({seconds / args.students:5.2f} s a student), "
                f"{cpu:7.1f} CPU s, {passed}/{len(rows)} checks passed"
            )
    scale = args.class_size / args.students
    target = [name for name in measured if name[:2] in ("01", "02", "03", "04", "05")]
    groups = {"the target's five (01-05)": target} if len(target) == 5 and len(measured) > 5 else {}
    groups[f"all {len(measured)} measured"] = list(measured)
    for label, group in groups.items():
        wall = sum(measured[name][0] for name in group)
        cpu = sum(measured[name][1] for name in group)
        print(
            f"class of {args.class_size} x {len(group)} exercises ({label}), --jobs {args.jobs}: about "
            f"{wall * scale / 60:.1f} minutes of wall time here, "
            f"{cpu * scale / args.jobs / 60:.1f} minutes on {args.jobs} quiet cores (CPU time / jobs); "
            "target for 5 exercises on 2 cores: 25"
        )


if __name__ == "__main__":
    main()
