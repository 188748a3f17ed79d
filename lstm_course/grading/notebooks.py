"""Build the exercise notebooks from their single sources.

Each exercise has ONE source, ``exercises/source/NN_topic.py`` (jupytext percent format): prose, solutions
between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` lines, and check cells whose first line is ``#
NBVAL_CHECK_OUTPUT``. From it come

- the solution notebook: the markers dropped, executed with nbclient (written only on request, e.g. for
  instructors);
- the student notebook ``exercises/NN_topic.ipynb`` (committed): every solution block replaced by ``raise
  NotImplementedError``, no outputs except in the check cells, which carry the success line and execution
  count of the solution run. So ``pytest --nbval-lax`` passes on a student's notebook exactly when every check
  does.

Everything written is deterministic: fixed cell ids, fixed metadata, and outputs that hold no time or
randomness.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import jupytext  # type: ignore[import-untyped]
import nbformat
from nbformat import NotebookNode

import lstm_course
from lstm_course.checks.success import SUCCESS_LINE

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"
STUB = 'raise NotImplementedError("write your solution here")'
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


class BuildError(RuntimeError):
    """A source is malformed, or its solution notebook does not pass its own checks."""


def default_exercises_dir() -> Path:
    """The repository's ``exercises/`` folder (next to the installed package), else ``./exercises``."""
    beside = Path(lstm_course.__file__).resolve().parents[1] / "exercises"
    return beside if (beside / "source").is_dir() else Path.cwd() / "exercises"


def sources(exercises_dir: Path) -> list[Path]:
    """The exercise sources, ``exercises/source/NN_*.py``, in order."""
    found = sorted((exercises_dir / "source").glob("[0-9][0-9]_*.py"))
    if not found:
        raise BuildError(f"no exercise sources (NN_topic.py) in {exercises_dir / 'source'}")
    return found


def is_check_cell(cell: NotebookNode) -> bool:
    """A check cell is a code cell whose first line is ``# NBVAL_CHECK_OUTPUT``."""
    return cell.cell_type == "code" and cell.source.lstrip().startswith(CHECK_MARKER)


def read_source(path: Path) -> NotebookNode:
    """The source as a clean notebook: fixed ids and metadata, no outputs."""
    try:
        nb = jupytext.read(path, fmt="py:percent")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BuildError(f"{path}: not a readable jupytext source: {exc}") from None
    name = path.stem
    clean = nbformat.v4.new_notebook()
    clean.metadata = {
        "kernelspec": dict(KERNELSPEC),
        "language_info": {"name": "python"},
        "lstm_course": {"exercise": name},
    }
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(cell.source)
        elif cell.cell_type == "markdown":
            new = nbformat.v4.new_markdown_cell(cell.source)
        else:
            new = nbformat.v4.new_raw_cell(cell.source)
        new.id = f"{name}-{i:02d}"[:64]
        clean.cells.append(new)
    _validate_markers(clean, path)
    return clean


def _validate_markers(nb: NotebookNode, path: Path) -> None:
    checks = 0
    for cell in nb.cells:
        lines = [line.strip() for line in cell.source.splitlines()]
        if lines.count(BEGIN) != lines.count(END):
            raise BuildError(f"{path}: cell {cell.id} has unbalanced solution markers")
        checks += is_check_cell(cell)
    if not checks:
        raise BuildError(f"{path}: no check cell (a code cell starting with {CHECK_MARKER!r})")


def solution_notebook(source: NotebookNode) -> NotebookNode:
    """The source with the marker lines dropped (the solutions stay)."""
    nb = nbformat.from_dict(source)
    for cell in nb.cells:
        if cell.cell_type == "code":
            kept = [line for line in cell.source.split("\n") if line.strip() not in (BEGIN, END)]
            cell.source = "\n".join(kept)
    return nb


def student_notebook(source: NotebookNode) -> NotebookNode:
    """The source with each solution block replaced by ``raise NotImplementedError`` at the block's indent."""
    nb = nbformat.from_dict(source)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        out, inside = [], False
        for line in cell.source.split("\n"):
            if line.strip() == BEGIN:
                inside = True
                out.append(line[: len(line) - len(line.lstrip())] + STUB)
            elif line.strip() == END:
                inside = False
            elif not inside:
                out.append(line)
        cell.source = "\n".join(out)
    return nb


def execute(nb: NotebookNode, timeout: int = 600) -> NotebookNode:
    """Run a notebook top to bottom in a fresh kernel (in a temporary folder); return the executed copy."""
    from nbclient import NotebookClient

    executed = nbformat.from_dict(nb)
    with tempfile.TemporaryDirectory() as workdir:
        NotebookClient(
            executed, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": workdir}}
        ).execute()
    return executed


def success_of(cell: NotebookNode) -> str:
    """The success line an executed check cell printed; BuildError when it printed anything else."""
    texts = [o.get("text", "") for o in cell.outputs if o.output_type == "stream" and o.name == "stdout"]
    others = [o for o in cell.outputs if not (o.output_type == "stream" and o.name == "stdout")]
    text = "".join(texts)
    if others or not SUCCESS_LINE.match(text):
        raise BuildError(
            f"check cell {cell.id} did not print one success line; it printed {text!r} "
            f"and {len(others)} other outputs"
        )
    return text


def with_check_outputs(student: NotebookNode, executed_solution: NotebookNode) -> NotebookNode:
    """The student notebook with the solution run's check outputs and execution counts; no other outputs."""
    nb = nbformat.from_dict(student)
    for cell, solved in zip(nb.cells, executed_solution.cells, strict=True):
        if cell.cell_type != "code":
            continue
        if is_check_cell(cell):
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=success_of(solved))]
            cell.execution_count = solved.execution_count
        else:
            cell.outputs, cell.execution_count = [], None
        cell.metadata = {}
    return nb


def dumps(nb: NotebookNode) -> str:
    """Deterministic notebook text (nbformat's layout, one trailing newline)."""
    nbformat.validate(nb)
    return nbformat.writes(nb).rstrip("\n") + "\n"


@dataclass
class Built:
    """One exercise's generated notebooks (as text)."""

    name: str
    student: str
    solution: str


def build_one(source_path: Path, timeout: int = 600) -> Built:
    """Generate the student notebook and the executed solution notebook from one source."""
    from nbclient.exceptions import CellExecutionError

    source = read_source(source_path)
    try:
        solved = execute(solution_notebook(source), timeout)
    except CellExecutionError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        raise BuildError(
            f"{source_path}: the solution notebook fails: {lines[-1] if lines else exc}"
        ) from None
    for cell in solved.cells:
        if is_check_cell(cell):
            success_of(cell)
    student = with_check_outputs(student_notebook(source), solved)
    for cell in solved.cells:
        if cell.cell_type == "code":
            cell.metadata = {}
    return Built(source_path.stem, dumps(student), dumps(solved))


def build_exercises(
    exercises_dir: Path,
    solutions_dir: Path | None = None,
    only: list[str] | None = None,
    check: bool = False,
    log: bool = True,
) -> list[str]:
    """Build every exercise: write the student notebooks (and the solutions into ``solutions_dir`` if given).

    With ``check``, write nothing; return the names whose committed student notebook differs from the build.
    """
    selected = sources(exercises_dir)
    if only:
        unmatched = [o for o in only if not any(path.stem.startswith(o) for path in selected)]
        if unmatched:
            known = ", ".join(path.stem for path in selected)
            raise BuildError(f"no exercise source matches {', '.join(unmatched)} (the sources: {known})")
        selected = [path for path in selected if any(path.stem.startswith(o) for o in only)]
    stale = []
    for path in selected:
        if log:
            print(f"building {path.stem} ...", flush=True)
        built = build_one(path)
        target = exercises_dir / f"{built.name}.ipynb"
        if check:
            if not target.exists() or target.read_text(encoding="utf-8") != built.student:
                stale.append(built.name)
            continue
        target.write_text(built.student, encoding="utf-8")
        if solutions_dir is not None:
            solutions_dir.mkdir(parents=True, exist_ok=True)
            (solutions_dir / f"{built.name}.ipynb").write_text(built.solution, encoding="utf-8")
    return stale
