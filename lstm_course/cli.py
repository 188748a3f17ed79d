"""The ``lstm-course`` command.

lstm-course build-exercises [--solutions DIR] [--only NN ...] [--check]
lstm-course grade PATH... [--timeout SECONDS] [--total-timeout SECONDS] [--out DIR]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from lstm_course.grading import grader, notebooks, report


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


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lstm-course", description=__doc__.split("\n\n")[0])
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
    grade.add_argument("--timeout", type=seconds, default=120, metavar="SECONDS", help="limit per cell (120)")
    grade.add_argument(
        "--total-timeout",
        type=seconds,
        default=None,
        metavar="SECONDS",
        help="limit per notebook (default: 4 x --timeout, at least 300)",
    )
    grade.add_argument(
        "--out",
        type=Path,
        default=Path("grading-out"),
        metavar="DIR",
        help="where grades.csv, grades.json and the work files go (grading-out)",
    )
    grade.add_argument(
        "--exercises", type=Path, default=None, help="the exercises folder (default: the repo's)"
    )
    return parser


def _build(args: argparse.Namespace, exercises: Path) -> int:
    stale = notebooks.build_exercises(exercises, args.solutions, args.only, check=args.check)
    if stale:
        print("out of date (run `lstm-course build-exercises`): " + ", ".join(stale), file=sys.stderr)
        return 1
    print(
        "exercise notebooks are up to date" if args.check else f"wrote the student notebooks in {exercises}"
    )
    return 0


def _grade(args: argparse.Namespace, exercises: Path) -> int:
    missing = [p for p in args.paths if not p.exists()]
    if missing:
        raise UsageError("no such file or folder: " + ", ".join(map(str, missing)))
    if not grader.find_submissions(args.paths):
        raise UsageError("no submissions found under " + ", ".join(map(str, args.paths)))
    if not sorted(exercises.glob("[0-9][0-9]_*.ipynb")):
        raise UsageError(f"no exercise notebooks (NN_topic.ipynb) in {exercises}: check --exercises")
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} is a file; give a folder for the results")
    rows = grader.grade(args.paths, exercises, args.out, args.timeout, args.total_timeout)
    print()
    print(report.format_table(rows))
    failed = sum(r.result != "pass" for r in rows)
    print(
        f"\n{len(rows) - failed}/{len(rows)} checks passed; results in {args.out / 'grades.csv'} "
        f"and {args.out / 'grades.json'}"
    )
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status: 1 when a build is stale or anything fails grading, 2 on a usage
    mistake (a missing file, a bad time limit, a broken source), reported in one line without a traceback."""
    try:
        args = _parser().parse_args(argv)
        exercises = args.exercises or notebooks.default_exercises_dir()
        if args.command == "build-exercises":
            return _build(args, exercises)
        return _grade(args, exercises)
    except (UsageError, notebooks.BuildError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
