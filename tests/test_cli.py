"""The ``lstm-course`` command: grading a class folder, checking one notebook, shards, and the build."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import lstm_course
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
    # five public cases and five hidden ones, a point each
    assert table["alice_01_activations.ipynb", "sigmoid"]["points"] == 10
    bob = table["bob_01_activations.ipynb", "sigmoid"]
    # the extreme-values case fails in the public and the hidden round: partial credit
    assert (bob["result"], bob["points"], bob["max_points"], bob["cases"]) == ("partial", 8, 10, "8/10")
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


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    """What the command printed to stderr: one line starting with "error:", no traceback."""
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("value", ["nan", "-1", "0", "inf", "ten"])
@pytest.mark.parametrize("option", ["--timeout", "--total-timeout"])
def test_a_time_limit_must_be_positive_and_finite(
    option: str, value: str, class_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["grade", str(class_folder), option, value]) == 2
    assert f"argument {option}" in one_line_error(capsys)


def test_grade_refuses_an_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grade", str(tmp_path)]) == 2
    assert "no submissions found under" in one_line_error(capsys)


def test_grade_refuses_an_out_that_is_a_file(class_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = class_folder / "alice_01_activations.ipynb"
    assert main(["grade", str(class_folder), "--out", str(out)]) == 2
    assert "is a file" in one_line_error(capsys)


def test_grade_refuses_an_exercises_folder_without_notebooks(
    class_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["grade", str(class_folder), "--exercises", str(tmp_path / "nonexistent")]) == 2
    assert "no exercise notebooks" in one_line_error(capsys)


def test_build_refuses_a_missing_or_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build-exercises", "--exercises", str(tmp_path / "nonexistent")]) == 2
    assert "no exercise sources" in one_line_error(capsys)
    (tmp_path / "source").mkdir()
    assert main(["build-exercises", "--exercises", str(tmp_path)]) == 2
    assert "no exercise sources" in one_line_error(capsys)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("# %%\nx = 1\n", "no check cell"),
        (
            "# %%\n### BEGIN SOLUTION\nx = 1\n\n# %%\n# NBVAL_CHECK_OUTPUT\nprint(x)\n",
            "unbalanced solution markers",
        ),
        (b"# %%\nx = '\xff'\n", "not a readable jupytext source"),
    ],
)
def test_build_refuses_a_malformed_source(
    source: str | bytes, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "source").mkdir()
    path = tmp_path / "source" / "01_broken.py"
    path.write_bytes(source if isinstance(source, bytes) else source.encode())
    assert main(["build-exercises", "--exercises", str(tmp_path)]) == 2
    assert message in one_line_error(capsys)


def test_build_check_refuses_an_only_that_matches_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build-exercises", "--exercises", str(EXERCISES), "--check", "--only", "99"]) == 2
    printed = capsys.readouterr()
    assert printed.err.startswith("error: no exercise source matches 99") and printed.out == ""


@pytest.mark.slow
def test_check_gives_a_student_the_graders_verdict(
    class_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bob = class_folder / "bob_01_activations.ipynb"
    assert main(["check", str(bob), "--timeout", "10", "--out", str(tmp_path / "check")]) == 1
    printed = capsys.readouterr().out
    assert (
        "sigmoid overflows for extreme inputs" in printed
        and "reproduce with check_sigmoid(sigmoid, seed=" in printed
    )
    assert "42/44 points, as the grader would give them" in printed
    assert main(["grade", str(bob), "--timeout", "10", "--out", str(tmp_path / "grade")]) == 1
    checked = json.loads((tmp_path / "check" / "grades.json").read_text(encoding="utf-8"))
    graded = json.loads((tmp_path / "grade" / "grades.json").read_text(encoding="utf-8"))
    same = ("check", "points", "max_points", "result", "feedback", "cases")
    assert [{k: r[k] for k in same} for r in checked] == [{k: r[k] for k in same} for r in graded]


@pytest.mark.slow
def test_shards_graded_apart_merge_into_the_whole(class_folder: Path, tmp_path: Path) -> None:
    (class_folder / "carol_01_activations.ipynb").unlink()  # the loop: slow, and tested above
    common = ["--timeout", "10", "--hidden-rounds", "0"]
    whole, parts = tmp_path / "whole", [tmp_path / f"part{i}" for i in (1, 2)]
    main(["grade", str(class_folder), *common, "--jobs", "2", "--out", str(whole)])
    for i, part in enumerate(parts, start=1):
        main(["grade", str(class_folder), *common, "--shard", f"{i}/2", "--out", str(part)])
    assert main(["merge-grades", *map(str, parts), "--out", str(tmp_path / "merged")]) == 0

    def rows(folder: Path) -> list[tuple]:
        data = json.loads((folder / "grades.json").read_text(encoding="utf-8"))
        return sorted((r["submission"], r["check"], r["points"], r["result"]) for r in data)

    assert rows(tmp_path / "merged") == rows(whole) and len(rows(whole)) == 11
    assert all(rows(part) for part in parts)  # both shards got someone
    assert (tmp_path / "merged" / "summary.md").exists()
    assert sorted(p.name for p in (tmp_path / "merged" / "feedback").iterdir()) == [
        "alice.md",
        "bob.md",
        "dave.md",
    ]


# ---- the command as a new user meets it: version, python -m, plain help, outside the repository ---------

REPO = Path(__file__).resolve().parents[1]


def run_module(*args: str, cwd: Path, code: str | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m lstm_course ARGS`` (or ``python -c CODE``) in cwd, with this checkout's package first."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-c", code] if code else [sys.executable, "-m", "lstm_course", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_version_and_python_dash_m(tmp_path: Path) -> None:
    done = run_module("--version", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"lstm-course {lstm_course.__version__}"


def test_the_help_text_is_plain(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "build-exercises" in text and "--exercises DIR" in text and "python -m lstm_course" in text
    assert "``" not in text and "`" not in text, text


@pytest.mark.parametrize("command", [["build-exercises"], ["grade", "SUBMISSION"], ["check", "SUBMISSION"]])
def test_outside_the_repository_the_command_says_to_pass_exercises(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # an installed package has no exercises/ beside it, so the default is ./exercises, which is not there
    monkeypatch.setattr(notebooks, "default_exercises_dir", lambda: tmp_path / "exercises")
    submission = tmp_path / "alice_04_lstm.ipynb"
    nbformat.write(solved("04_lstm"), submission)
    argv = [str(submission) if word == "SUBMISSION" else word for word in command]
    assert main(argv) == 2
    assert "--exercises DIR" in one_line_error(capsys)


def test_without_the_exercises_extra_version_works_and_grade_names_the_extra(tmp_path: Path) -> None:
    # nbformat missing (None in sys.modules makes its import fail), as after a plain `pip install lstm-course`
    code = (
        "import sys; sys.modules['nbformat'] = None\n"
        "from lstm_course.cli import main\n"
        "assert 'jupytext' not in sys.modules\n"
        "try:\n    main(['--version'])\nexcept SystemExit as e:\n    assert e.code == 0\n"
        "sys.exit(main(['grade', '.']))\n"
    )
    done = run_module(cwd=tmp_path, code=code)
    assert done.returncode == 2, done.stderr
    assert done.stdout.strip() == f"lstm-course {lstm_course.__version__}"
    assert 'pip install "lstm-course[exercises]"' in done.stderr and "Traceback" not in done.stderr
