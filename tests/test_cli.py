"""The ``lstm-course`` command: grading a class folder end to end (nbval), and checking the build."""

import csv
import json
from pathlib import Path

import nbformat
import pytest

from lstm_course.cli import main
from lstm_course.grading import notebooks

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


@pytest.mark.slow
def test_the_default_relative_out_grades_a_correct_submission_in_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13: `lstm-course grade alice_01_activations.ipynb` run in the class folder, default --out."""
    folder = tmp_path / "class"
    folder.mkdir()
    nbformat.write(solved("01_activations"), folder / "alice_01_activations.ipynb")
    monkeypatch.chdir(folder)
    assert main(["grade", "alice_01_activations.ipynb", "--timeout", "60"]) == 0
    rows = json.loads((folder / "grading-out" / "grades.json").read_text(encoding="utf-8"))
    checks = ["sigmoid", "tanh_derivative", "softmax", "dense_forward", "dense_backward"]
    assert [(r["check"], r["result"]) for r in rows] == [(check, "pass") for check in checks]
    assert sum(r["points"] for r in rows) == sum(r["max_points"] for r in rows) > 0


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
