"""lstm-course: build the exercise notebooks, check one, grade a class.

  lstm-course build-exercises [--exercises DIR] [--solutions DIR] [--only NN ...] [--check]
  lstm-course grade PATH... [--exercises DIR] [--timeout SECONDS] [--out DIR] [--jobs N] [--shard I/N]
  lstm-course check NOTEBOOK [--exercises DIR]   (one notebook, graded exactly as grade grades it)
  lstm-course merge-grades DIR... --out DIR      (the results of shards, as one)
  lstm-course --version

The same commands run as python -m lstm_course. They need the exercises extra:
pip install "lstm-course[exercises]".
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import lstm_course

if TYPE_CHECKING:
    from lstm_course.grading import grader

# The grading tools need the exercises extra (nbformat, jupytext, nbclient, ipykernel, pytest, nbval); the
# command imports them only when a subcommand runs, so --version and --help work with the library alone.
EXTRA_HINT = 'the exercises extra is not installed: pip install "lstm-course[exercises]"'
EXERCISES_HINT = "pass the folder with --exercises DIR (a clone's exercises/: source/ and the NN_topic.ipynb)"


class UsageError(Exception):
    """A mistake in the command line: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage mistake reported in one line (the subcommands are parsers of this class too)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def seconds(text: str) -> float:
    """A time limit: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive, finite number of seconds, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """A count of at least one."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


def count(text: str) -> int:
    """A count of zero or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text!r}")
    return value


def shard(text: str) -> tuple[int, int]:
    """``I/N``: part I of N."""
    grader = _grading_modules().grader
    try:
        return grader.parse_shard(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _grading_options(parser: argparse.ArgumentParser) -> None:
    """The options ``grade`` and ``check`` share, so a student's check is the instructor's grade."""
    parser.add_argument(
        "--timeout", type=seconds, default=120, metavar="SECONDS", help="limit per cell (120)"
    )
    parser.add_argument(
        "--total-timeout",
        type=seconds,
        default=None,
        metavar="SECONDS",
        help="limit per notebook (default: 4 x --timeout, at least 300)",
    )
    parser.add_argument(
        "--hidden-rounds", type=count, default=1, metavar="N", help="rounds of hidden cases per check (1)"
    )
    parser.add_argument(
        "--memory", type=seconds, default=4, metavar="GIB", help="memory limit per submission in GiB (4)"
    )
    parser.add_argument(
        "--sandbox",
        choices=["auto", "bwrap", "rlimits"],
        default="auto",
        help="bwrap when installed (auto), or resource limits only",
    )
    parser.add_argument(
        "--exercises", type=Path, default=None, help="the exercises folder (default: the repo's)"
    )


def _options(args: argparse.Namespace) -> grader.Options:
    from lstm_course.grading import grader, sandbox

    if args.sandbox != "auto":
        os.environ[sandbox.SANDBOX_ENV] = args.sandbox
    limits = sandbox.Limits(memory=int(args.memory * 2**30))
    return grader.Options(args.timeout, args.total_timeout, args.hidden_rounds, limits)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="lstm-course",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {lstm_course.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    build = sub.add_parser("build-exercises", help="generate the student notebooks from exercises/source/")
    build.add_argument(
        "--exercises", type=Path, default=None, help="the exercises folder (default: the repo's)"
    )
    build.add_argument(
        "--solutions",
        type=Path,
        default=None,
        metavar="DIR",
        help="also write the executed solution notebooks here (keep them out of git)",
    )
    build.add_argument(
        "--only", nargs="+", default=None, metavar="NN", help="only these exercises, e.g. 02 04"
    )
    build.add_argument(
        "--check",
        action="store_true",
        help="write nothing; fail when a committed student notebook is not what the build gives",
    )

    grade = sub.add_parser("grade", help="grade submitted notebooks (files or folders)")
    grade.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    _grading_options(grade)
    grade.add_argument(
        "--out",
        type=Path,
        default=Path("grading-out"),
        metavar="DIR",
        help="where grades.csv, grades.json, summary.md, feedback/ and the work files go (grading-out)",
    )
    grade.add_argument("--jobs", type=positive_int, default=1, metavar="N", help="submissions at a time (1)")
    grade.add_argument(
        "--shard", type=shard, default=None, metavar="I/N", help="grade only part I of N of the class"
    )

    check = sub.add_parser("check", help="grade one notebook exactly as grade would, and print a table")
    check.add_argument("notebook", type=Path)
    _grading_options(check)
    check.add_argument("--out", type=Path, default=None, metavar="DIR", help="keep the results here")

    merge = sub.add_parser("merge-grades", help="merge the results of several grading runs (shards)")
    merge.add_argument("folders", nargs="+", type=Path, metavar="DIR")
    merge.add_argument("--out", type=Path, required=True, metavar="DIR")
    return parser


def _build(args: argparse.Namespace, exercises: Path) -> int:
    from lstm_course.grading import notebooks

    if not (exercises / "source").is_dir():
        raise UsageError(f"no exercise sources: {exercises / 'source'} is not a folder; {EXERCISES_HINT}")
    stale = notebooks.build_exercises(exercises, args.solutions, args.only, check=args.check)
    if stale:
        print("out of date (run `lstm-course build-exercises`): " + ", ".join(stale), file=sys.stderr)
        return 1
    print(
        "exercise notebooks are up to date" if args.check else f"wrote the student notebooks in {exercises}"
    )
    return 0


def _check_exercises(exercises: Path) -> None:
    if not sorted(exercises.glob("[0-9][0-9]_*.ipynb")):
        raise UsageError(f"no exercise notebooks (NN_topic.ipynb) in {exercises}; {EXERCISES_HINT}")


def _grade(args: argparse.Namespace, exercises: Path) -> int:
    from lstm_course.grading import grader, report

    missing = [p for p in args.paths if not p.exists()]
    if missing:
        raise UsageError("no such file or folder: " + ", ".join(map(str, missing)))
    if not grader.find_submissions(args.paths):
        raise UsageError("no submissions found under " + ", ".join(map(str, args.paths)))
    _check_exercises(exercises)
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} is a file; give a folder for the results")
    rows = grader.grade(
        args.paths, exercises, args.out, options=_options(args), jobs=args.jobs, shard=args.shard
    )
    print()
    print(report.format_table(rows))
    failed = sum(r.result not in ("pass", "flag") for r in rows)
    print(
        f"\n{len(rows) - failed}/{len(rows)} checks passed; results in {args.out / 'grades.csv'}, "
        f"{args.out / 'grades.json'}, {args.out / 'summary.md'} and {args.out / 'feedback'}"
    )
    return 1 if failed else 0


def _check(args: argparse.Namespace, exercises: Path) -> int:
    from lstm_course.grading import grader, report

    if not args.notebook.is_file():
        raise UsageError(f"no such notebook: {args.notebook}")
    _check_exercises(exercises)
    with tempfile.TemporaryDirectory(prefix="lstm-course-check-") as scratch:
        out = args.out or Path(scratch)
        rows = grader.grade([args.notebook], exercises, out, options=_options(args))
    print()
    print(report.format_table(rows, submission=False))
    for row in rows:
        if row.details:
            print(f"\n{row.check}: {row.feedback}\n{row.details}")
    got, total = sum(float(r.points) for r in rows), sum(float(r.max_points) for r in rows)
    print(f"\n{got:g}/{total:g} points, as the grader would give them")
    return 0 if all(r.result in ("pass", "flag") for r in rows) else 1


def _merge(args: argparse.Namespace) -> int:
    from lstm_course.grading import report

    missing = [str(f) for f in args.folders if not (f / "grades.json").is_file()]
    if missing:
        raise UsageError("no grades.json in " + ", ".join(missing))
    rows = [row for folder in args.folders for row in report.read_results(folder)]
    report.write_results(rows, args.out)
    print(f"merged {len(rows)} rows from {len(args.folders)} folders into {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status: 1 when a build is stale or anything fails grading, 2 on a usage
    mistake (a missing file, a bad time limit, a broken source), reported in one line without a traceback."""
    try:
        args = _parser().parse_args(argv)
        grading = _grading_modules()
        notebooks = grading.notebooks
        try:
            exercises = getattr(args, "exercises", None) or notebooks.default_exercises_dir()
            if args.command == "build-exercises":
                return _build(args, exercises)
            if args.command == "merge-grades":
                return _merge(args)
            if args.command == "check":
                return _check(args, exercises)
            return _grade(args, exercises)
        except notebooks.BuildError as exc:
            raise UsageError(str(exc)) from None
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _grading_modules() -> ModuleType:
    """lstm_course.grading with its notebook tools imported, or a UsageError naming the extra to install."""
    try:
        import lstm_course.grading.grader  # noqa: F401 - imports nbformat
        import lstm_course.grading.notebooks  # noqa: F401 - imports nbformat and jupytext
    except ImportError as exc:
        raise UsageError(f"{EXTRA_HINT} ({exc})") from None
    return lstm_course.grading


if __name__ == "__main__":
    sys.exit(main())
