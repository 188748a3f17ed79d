"""The grader's parts: the course's checks replace the submitted ones, feedback, exercise lookup, limits."""

from pathlib import Path

import nbformat
import pytest

from lstm_course.grading import grader, notebooks

EXERCISES = Path(__file__).resolve().parents[2] / "exercises"


def solved(name: str) -> nbformat.NotebookNode:
    """The solution notebook of an exercise, unexecuted (the grader ignores stored outputs)."""
    return notebooks.solution_notebook(notebooks.read_source(EXERCISES / "source" / f"{name}.py"))


def with_cell(nb: nbformat.NotebookNode, defines: str, source: str) -> nbformat.NotebookNode:
    """The notebook with the code cell that defines ``defines`` replaced by ``source``."""
    nb = nbformat.from_dict(nb)
    cell = next(c for c in nb.cells if c.cell_type == "code" and f"def {defines}(" in c.source)
    cell.source = source
    return nb


def test_an_edited_check_cannot_pass(tmp_path: Path) -> None:
    nb = solved("01_activations")
    for cell in nb.cells:
        if notebooks.is_check_cell(cell) and "check_softmax" in cell.source:
            cell.source = '# NBVAL_CHECK_OUTPUT\nprint("✓ softmax: 5/5 checks passed")'
    nb.cells = [c for c in nb.cells if "check_dense_backward" not in c.source]
    checks = grader.canonical_checks(nbformat.read(EXERCISES / "01_activations.ipynb", as_version=4))
    copy, appended = grader.graded_copy(nb, checks)
    sources = [c.source for c in copy.cells]
    assert "# NBVAL_CHECK_OUTPUT\ncheck_softmax(softmax)" in sources
    assert appended == ["dense_backward"] and sources[-1].endswith(
        "check_dense_backward(dense_forward, dense_backward)"
    )
    assert all(
        c.outputs == [] for c in copy.cells if c.cell_type == "code" and not notebooks.is_check_cell(c)
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "...\nCheckFailure: the gates look swapped: f and i\n(case: x; seed 1)",
            ("fail", "the gates look swapped: f and i"),
        ),
        (
            "...\nNotImplementedError: write your solution here",
            ("fail", "not done yet: a function still raises NotImplementedError"),
        ),
        (
            "Cell 3: Timeout of 5 seconds exceeded executing cell",
            ("timeout", "timed out: the cell ran longer than 5 s (an infinite loop?)"),
        ),
        ("...\nNameError: name 'np' is not defined", ("fail", "NameError: name 'np' is not defined")),
    ],
)
def test_first_feedback_line(text: str, expected: tuple[str, str]) -> None:
    assert grader.first_feedback_line(text, 5) == expected


def test_exercise_is_found_from_metadata_then_file_name() -> None:
    known = ["01_activations", "04_lstm"]
    nb = nbformat.v4.new_notebook()
    assert grader.find_exercise(Path("x.ipynb"), nb, known) is None
    assert grader.find_exercise(Path("alice-04.ipynb"), nb, known) == "04_lstm"
    assert grader.find_exercise(Path("alice_04_lstm.ipynb"), nb, known) == "04_lstm"
    nb.metadata["lstm_course"] = {"exercise": "01_activations"}
    assert grader.find_exercise(Path("alice_04_lstm.ipynb"), nb, known) == "01_activations"


@pytest.mark.slow
def test_a_notebook_past_the_overall_limit_keeps_the_results_it_had(tmp_path: Path) -> None:
    loops = "def tanh_derivative(y):\n    while True:\n        pass"
    path = tmp_path / "erin_01_activations.ipynb"
    nbformat.write(with_cell(solved("01_activations"), "tanh_derivative", loops), path)
    rows = grader.grade_notebook(path, EXERCISES, tmp_path / "work", cell_timeout=300, total_timeout=30)
    results = {r.check: (r.result, r.feedback) for r in rows}
    assert results["sigmoid"] == ("pass", "all checks passed")
    assert [results[c][0] for c in ["tanh_derivative", "softmax", "dense_forward", "dense_backward"]] == [
        "timeout"
    ] * 4
    assert results["softmax"][1] == "not run: the notebook passed the overall limit of 30 s"
