"""The ``lstm-course`` command: grading a class folder end to end (nbval), and checking the build."""

import csv
import json
from pathlib import Path

import nbformat
import pytest

from lstm_course.checks import grading, notebooks
from lstm_course.cli import main

EXERCISES = Path(__file__).resolve().parents[1] / "exercises"


def solved(name: str) -> nbformat.NotebookNode:
    """The solution notebook of an exercise, unexecuted (the grader ignores stored outputs)."""
    return notebooks.solution_notebook(notebooks.read_source(EXERCISES / "source" / f"{name}.py"))


def with_cell(nb: nbformat.NotebookNode, defines: str, source: str) -> nbformat.NotebookNode:
    """The notebook with the code cell that defines ``defines`` replaced by ``source``."""
    nb = nbformat.from_dict(nb)
    cell = next(c for c in nb.cells if c.cell_type == "code" and f"def {defines}(" in c.source)
    cell.source = source
    return nb


@pytest.fixture
def class_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "class"
    folder.mkdir()
    nb = solved("01_activations")
    nbformat.write(nb, folder / "alice_01_activations.ipynb")
    naive = "def sigmoid(x):\n    return 1 / (1 + np.exp(-x))"  # overflows for x = -1000
    nbformat.write(with_cell(nb, "sigmoid", naive), folder / "bob_01_activations.ipynb")
    loops = "def tanh_derivative(y):\n    while True:\n        pass"
    nbformat.write(with_cell(nb, "tanh_derivative", loops), folder / "carol_01_activations.ipynb")
    (folder / "dave_01_activations.ipynb").write_text("this is not a notebook\n", encoding="utf-8")
    return folder


@pytest.mark.slow
def test_grade_a_class_folder(class_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    status = main(
        ["grade", str(class_folder), "--timeout", "10", "--total-timeout", "240", "--out", str(out)]
    )
    printed = capsys.readouterr().out
    assert status == 1
    rows = json.loads((out / "grades.json").read_text(encoding="utf-8"))
    with open(out / "grades.csv", newline="", encoding="utf-8") as f:
        assert list(csv.DictReader(f)) == [{k: str(v) for k, v in row.items()} for row in rows]
    table = {(Path(r["submission"]).name, r["check"]): r for r in rows}
    checks = ["sigmoid", "tanh_derivative", "softmax", "dense_forward", "dense_backward"]
    assert [table["alice_01_activations.ipynb", c]["result"] for c in checks] == ["pass"] * 5
    assert table["alice_01_activations.ipynb", "sigmoid"]["points"] == 5
    bob = table["bob_01_activations.ipynb", "sigmoid"]
    assert (bob["result"], bob["points"], bob["max_points"]) == ("fail", 0, 5)
    assert bob["feedback"].startswith("sigmoid overflows for extreme inputs (x = ±1000)")
    assert [table["bob_01_activations.ipynb", c]["result"] for c in checks[1:]] == ["pass"] * 4
    carol = table["carol_01_activations.ipynb", "tanh_derivative"]
    assert carol["result"] == "timeout" and "timed out" in carol["feedback"]
    assert (
        table["carol_01_activations.ipynb", "softmax"]["result"] == "pass"
    )  # grading went on after the loop
    dave = table["dave_01_activations.ipynb", "-"]
    assert dave["result"] == "invalid" and dave["feedback"].startswith("not a notebook")
    assert len(rows) == 16
    assert "sigmoid overflows for extreme inputs" in printed and "dave_01_activations.ipynb" in printed


def test_an_edited_check_cannot_pass(tmp_path: Path) -> None:
    nb = solved("01_activations")
    for cell in nb.cells:
        if notebooks.is_check_cell(cell) and "check_softmax" in cell.source:
            cell.source = '# NBVAL_CHECK_OUTPUT\nprint("✓ softmax: 5/5 checks passed")'
    nb.cells = [c for c in nb.cells if "check_dense_backward" not in c.source]
    checks = grading.canonical_checks(nbformat.read(EXERCISES / "01_activations.ipynb", as_version=4))
    copy, appended = grading.graded_copy(nb, checks)
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
    assert grading.first_feedback_line(text, 5) == expected


def test_exercise_is_found_from_metadata_then_file_name() -> None:
    known = ["01_activations", "04_lstm"]
    nb = nbformat.v4.new_notebook()
    assert grading.find_exercise(Path("x.ipynb"), nb, known) is None
    assert grading.find_exercise(Path("alice-04.ipynb"), nb, known) == "04_lstm"
    assert grading.find_exercise(Path("alice_04_lstm.ipynb"), nb, known) == "04_lstm"
    nb.metadata["lstm_course"] = {"exercise": "01_activations"}
    assert grading.find_exercise(Path("alice_04_lstm.ipynb"), nb, known) == "01_activations"


def test_grade_refuses_a_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grade", str(tmp_path / "nothing")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


@pytest.mark.slow
def test_build_check_finds_a_stale_notebook(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "source").mkdir()
    source = (EXERCISES / "source" / "01_activations.py").read_text(encoding="utf-8")
    (tmp_path / "source" / "01_activations.py").write_text(source, encoding="utf-8")
    assert main(["build-exercises", "--exercises", str(tmp_path), "--check"]) == 1
    assert main(["build-exercises", "--exercises", str(tmp_path), "--solutions", str(tmp_path / "sol")]) == 0
    assert main(["build-exercises", "--exercises", str(tmp_path), "--check"]) == 0
    built = (tmp_path / "01_activations.ipynb").read_text(encoding="utf-8")
    assert built == (EXERCISES / "01_activations.ipynb").read_text(encoding="utf-8")
    solution = nbformat.read(tmp_path / "sol" / "01_activations.ipynb", as_version=4)
    assert notebooks.STUB not in "".join(c.source for c in solution.cells if c.cell_type == "code")
    assert "exercise notebooks are up to date" in capsys.readouterr().out


@pytest.mark.slow
def test_a_notebook_past_the_overall_limit_keeps_the_results_it_had(tmp_path: Path) -> None:
    loops = "def tanh_derivative(y):\n    while True:\n        pass"
    path = tmp_path / "erin_01_activations.ipynb"
    nbformat.write(with_cell(solved("01_activations"), "tanh_derivative", loops), path)
    rows = grading.grade_notebook(path, EXERCISES, tmp_path / "work", cell_timeout=300, total_timeout=30)
    results = {r.check: (r.result, r.feedback) for r in rows}
    assert results["sigmoid"] == ("pass", "all checks passed")
    assert [results[c][0] for c in ["tanh_derivative", "softmax", "dense_forward", "dense_backward"]] == [
        "timeout"
    ] * 4
    assert results["softmax"][1] == "not run: the notebook passed the overall limit of 30 s"
