"""The exercise notebooks: one source each, solutions pass nbval, unmodified notebooks fail at the checks.

(a) every solution notebook passes ``pytest --nbval-lax`` (in a subprocess);
(b) every committed student notebook, run unmodified, fails exactly at its check cells (NotImplementedError);
(c) the committed student notebooks are byte for byte what the generator produces, with stored success lines;
(d) the grader (student code in its own process) gives every solution full marks and every stub none.
"""

import shutil
from pathlib import Path

import nbformat
import pytest

from lstm_course.grading import grader, notebooks

REQUIRED = [
    "01_activations",
    "02_rnn",
    "03_gradients",
    "04_lstm",
    "05_adding",
    "06_gru",
    "07_bidirectional",
    "08_attention",
    "09_seq2seq",
]


def test_every_exercise_has_one_source_and_a_committed_student_notebook(exercises_dir: Path) -> None:
    names = [p.stem for p in notebooks.sources(exercises_dir)]
    assert names == REQUIRED
    assert sorted(p.stem for p in exercises_dir.glob("*.ipynb")) == REQUIRED


@pytest.mark.parametrize("name", REQUIRED)
def test_committed_student_notebooks_store_the_success_lines(exercises_dir: Path, name: str) -> None:
    nb = nbformat.read(exercises_dir / f"{name}.ipynb", as_version=4)
    nbformat.validate(nb)
    checks = [c for c in nb.cells if notebooks.is_check_cell(c)]
    assert len(checks) >= 2
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if notebooks.is_check_cell(cell):
            # nbval skips comparing a cell without an execution count: an unexecuted notebook would pass
            assert isinstance(cell.execution_count, int), cell.id
            assert len(cell.outputs) == 1 and notebooks.SUCCESS_LINE.match(cell.outputs[0].text), cell.id
        else:
            assert cell.outputs == [] and cell.execution_count is None, cell.id
            assert notebooks.BEGIN not in cell.source and notebooks.END not in cell.source
    assert "raise NotImplementedError" in "".join(c.source for c in nb.cells)
    assert nb.metadata["lstm_course"]["exercise"] == name


def test_the_student_version_replaces_each_solution_by_a_stub() -> None:
    head, body = 'def f(x):\n    """Doc."""\n', "    y = x + 1\n    return y\n"
    text = head + "    ### BEGIN SOLUTION\n" + body + "    ### END SOLUTION\n\n\nZ = 1"
    source = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(text)])
    student = notebooks.student_notebook(source)
    assert student.cells[0].source == f'def f(x):\n    """Doc."""\n    {notebooks.STUB}\n\n\nZ = 1'
    solution = notebooks.solution_notebook(source)
    assert solution.cells[0].source == 'def f(x):\n    """Doc."""\n    y = x + 1\n    return y\n\n\nZ = 1'


@pytest.mark.slow
def test_committed_student_notebooks_are_what_the_generator_produces(
    built: dict[str, notebooks.Built], exercises_dir: Path
) -> None:
    stale = [
        n for n, b in built.items() if (exercises_dir / f"{n}.ipynb").read_text(encoding="utf-8") != b.student
    ]
    assert not stale, f"run `lstm-course build-exercises`: out of date: {stale}"


@pytest.mark.slow
def test_every_solution_notebook_passes_nbval(built: dict[str, notebooks.Built], tmp_path: Path) -> None:
    paths = []
    for name, b in built.items():
        (tmp_path / f"{name}.ipynb").write_text(b.solution, encoding="utf-8")
        paths.append(tmp_path / f"{name}.ipynb")
    log = tmp_path / "cells.jsonl"
    timed_out, output = grader.run_nbval(paths, log, cell_timeout=300, total_timeout=600)
    entries = grader.read_log_entries(log)
    assert not timed_out
    assert [e for e in entries if e["outcome"] != "passed"] == [], output[-3000:]
    cells = [c for b in built.values() for c in nbformat.reads(b.solution, 4).cells if c.cell_type == "code"]
    assert sum(notebooks.is_check_cell(c) for c in cells) >= 16
    # every code cell ran and passed: an empty or truncated log cannot pass this test
    assert len([e for e in entries if e["outcome"] == "passed"]) == len(cells), output[-3000:]


@pytest.mark.slow
def test_unmodified_student_notebooks_fail_exactly_at_their_check_cells(
    exercises_dir: Path, tmp_path: Path
) -> None:
    expected = {}
    for name in REQUIRED:
        nb = nbformat.read(exercises_dir / f"{name}.ipynb", as_version=4)
        nbformat.write(nb, tmp_path / f"{name}.ipynb")
        code = [c for c in nb.cells if c.cell_type == "code"]
        expected[f"{name}.ipynb"] = {i for i, c in enumerate(code) if notebooks.is_check_cell(c)}
    log = tmp_path / "cells.jsonl"
    timed_out, output = grader.run_nbval(sorted(tmp_path.glob("*.ipynb")), log, 120, 600)
    assert not timed_out, output[-3000:]
    entries = grader.read_log_entries(log)
    for file, checks in expected.items():
        failed = {e["cell"] for e in entries if e["file"] == file and e["outcome"] == "failed"}
        passed = {e["cell"] for e in entries if e["file"] == file and e["outcome"] == "passed"}
        assert failed == checks, (file, output[-3000:])
        assert passed and not passed & checks
        for e in entries:
            if e["file"] == file and e["outcome"] == "failed":
                assert "NotImplementedError" in e["text"] and "CheckFailure" not in e["text"], e["text"][
                    -500:
                ]


@pytest.mark.slow
def test_the_grader_gives_every_solution_full_marks_and_every_stub_none(
    built: dict[str, notebooks.Built], exercises_dir: Path, tmp_path: Path
) -> None:
    """The isolated grader on the solutions (full marks, no cell errors) and the unmodified student notebooks
    (every check "not done yet", no other row)."""
    for name, b in built.items():
        (tmp_path / "class").mkdir(exist_ok=True)
        (tmp_path / "class" / f"solution_{name}.ipynb").write_text(b.solution, encoding="utf-8")
        shutil.copy(exercises_dir / f"{name}.ipynb", tmp_path / "class" / f"stub_{name}.ipynb")
    options = grader.Options(cell_timeout=300, hidden_rounds=1)
    rows = grader.grade([tmp_path / "class"], exercises_dir, tmp_path / "out", options=options, jobs=2)
    solutions = [r for r in rows if "/solution_" in r.submission]
    stubs = [r for r in rows if "/stub_" in r.submission]
    checks = sum(len(grader.load_exercise(exercises_dir, name).checks) for name in built)
    assert len(solutions) == len(stubs) == checks
    assert [r for r in solutions if r.result != "pass" or r.points != r.max_points] == []
    assert [r for r in stubs if r.points != 0 or not r.feedback.startswith("not done yet")] == []
