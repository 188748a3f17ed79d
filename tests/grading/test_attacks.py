"""Issue 13's attacks, each planted as a submission in one class: its grade and message, nobody else's change.

The class is graded twice: with bwrap (when installed) and with resource limits only (``LSTM_COURSE_SANDBOX=
rlimits``), each on its own copy of the exercises folder, so an attack that succeeds in writing cannot touch
the repository. The two controls, a correct submission (bob) and an untouched stub (carol), are also graded
alone: their results in the class must be the same.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import nbformat
import pytest

from lstm_course.grading import grader, notebooks, sandbox
from lstm_course.grading.report import Row

EXERCISES = Path(__file__).resolve().parents[2] / "exercises"
OPTIONS = grader.Options(
    cell_timeout=4, total_timeout=60, hidden_rounds=0, limits=sandbox.Limits(memory=2 * 2**30, cpu_seconds=60)
)

WRONG_STEP = "def lstm_step_forward(x_t, h_prev, c_prev, params):\n    return h_prev * 0, c_prev * 0, None\n"

FLOAT32_STEP = """def lstm_step_forward(x_t, h_prev, c_prev, params):
    H = h_prev.shape[1]
    p = {k: v.astype(np.float32) for k, v in params.items()}
    x32, h32, c32 = x_t.astype(np.float32), h_prev.astype(np.float32), c_prev.astype(np.float32)
    a = x32 @ p["weight_ih"].T + p["bias_ih"] + h32 @ p["weight_hh"].T + p["bias_hh"]
    i, f = sigmoid(a[:, :H]), sigmoid(a[:, H : 2 * H])
    g, o = np.tanh(a[:, 2 * H : 3 * H]), sigmoid(a[:, 3 * H :])
    c = f * c32 + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    cache = [v.astype(np.float64) for v in (i, f, g, o, tanh_c)]
    return h.astype(np.float64), c.astype(np.float64), (x_t, h_prev, c_prev, *cache, params)
"""

UNDO_THE_HOOK = """import importlib
import sys

sys.meta_path[:] = [finder for finder in sys.meta_path if type(finder).__name__ != "AnswerKeyGuard"]
for name in [m for m in sys.modules if m.startswith("lstm_course.reference")]:
    del sys.modules[name]
ref = importlib.import_module("lstm_course.reference")
lstm_step_forward, lstm_step_backward = ref.lstm_step_forward, ref.lstm_step_backward
lstm_forward, lstm_backward = ref.lstm_forward, ref.lstm_backward
"""


def solved(name: str) -> nbformat.NotebookNode:
    """The solution notebook of an exercise, unexecuted."""
    return notebooks.solution_notebook(notebooks.read_source(EXERCISES / "source" / f"{name}.py"))


def stub(name: str) -> nbformat.NotebookNode:
    """The committed student notebook, untouched."""
    return nbformat.read(EXERCISES / f"{name}.ipynb", as_version=4)


def with_cell(nb: nbformat.NotebookNode, defines: str, source: str) -> nbformat.NotebookNode:
    """The notebook with the code cell that defines ``defines`` replaced by ``source``."""
    nb = nbformat.from_dict(nb)
    cell = next(c for c in nb.cells if c.cell_type == "code" and f"def {defines}(" in c.source)
    cell.source = source
    return nb


def plus_cell(nb: nbformat.NotebookNode, source: str, first: bool = False) -> nbformat.NotebookNode:
    """The notebook with one more code cell: after the imports (``first``), else at the end."""
    nb = nbformat.from_dict(nb)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    nb.cells.insert(code[0] + 1 if first else len(nb.cells), nbformat.v4.new_code_cell(source))
    return nb


def attacks(class_dir: Path, exercises: Path) -> dict[str, nbformat.NotebookNode]:
    """Every attack as a notebook, by file name (the controls bob and carol included)."""
    solution, wrong = solved("04_lstm"), with_cell(solved("04_lstm"), "lstm_step_forward", WRONG_STEP)
    bob = class_dir / "bob_04_lstm.ipynb"
    step_cell = next(c for c in solution.cells if "def lstm_step_forward(" in c.source).source
    fake_log = (
        "import json, os, pathlib\n"
        "line = json.dumps({'file': '04_lstm.ipynb', 'cell': 2, 'when': 'call', 'outcome': 'passed'})\n"
        "for path in [os.environ.get('LSTM_COURSE_GRADE_LOG'), 'cells.jsonl', '../cells.jsonl']:\n"
        "    try:\n"
        "        pathlib.Path(path).write_text(line + '\\n') if path else None\n"
        "    except OSError:\n"
        "        pass\n"
    )
    return {
        "bob_04_lstm.ipynb": solution,
        "carol_04_lstm.ipynb": stub("04_lstm"),
        "redefined_checks_04_lstm.ipynb": plus_cell(
            stub("04_lstm"),
            "def check_lstm_step_forward(*args, **kwargs):\n"
            '    print("✓ lstm_step_forward: 6/6 checks passed")\n'
            "check_lstm_step_backward = check_lstm_forward = check_lstm_backward = check_lstm_step_forward\n",
            first=True,
        ),
        "imported_reference_04_lstm.ipynb": plus_cell(
            stub("04_lstm"),
            "from lstm_course.reference import (\n"
            "    lstm_step_forward, lstm_step_backward, lstm_forward, lstm_backward\n)",
        ),
        "undone_hook_04_lstm.ipynb": plus_cell(stub("04_lstm"), UNDO_THE_HOOK),
        "patched_numpy_04_lstm.ipynb": plus_cell(
            wrong, "np.allclose = lambda *a, **k: True\nnp.isclose = lambda *a, **k: True", first=True
        ),
        "patched_checks_04_lstm.ipynb": plus_cell(
            wrong,
            "import lstm_course.checks.lstm as checks\n"
            "checks.run_check = lambda name, cases, *a, **k: print(f'✓ {name}: {len(cases)}/{len(cases)} "
            "checks passed')\n",
            first=True,
        ),
        "rewritten_log_04_lstm.ipynb": plus_cell(wrong, fake_log),
        "aaron_rewrites_canonical_04_lstm.ipynb": plus_cell(
            stub("04_lstm"),
            f"try:\n    open({str(exercises / '04_lstm.ipynb')!r}, 'w').write('{{}}')\n"
            "except OSError:\n    pass",
        ),
        "aaron_overwrites_bob_04_lstm.ipynb": plus_cell(
            stub("04_lstm"), f"try:\n    open({str(bob)!r}, 'w').write('{{}}')\nexcept OSError:\n    pass"
        ),
        "os_exit_04_lstm.ipynb": plus_cell(solution, "import os\nos._exit(3)"),
        "segfault_04_lstm.ipynb": with_cell(
            solution,
            "lstm_backward",
            "def lstm_backward(*args):\n    import ctypes\n    ctypes.string_at(0)\n",
        ),
        "memory_bomb_04_lstm.ipynb": plus_cell(solution, "hoard = np.ones(2**31)  # 16 GiB"),
        "infinite_loop_04_lstm.ipynb": with_cell(
            solution,
            "lstm_forward",
            "def lstm_forward(x, params, h0=None, c0=None):\n    while True:\n        pass\n",
        ),
        "leftover_print_04_lstm.ipynb": with_cell(
            solution,
            "lstm_step_forward",
            step_cell.replace("    H = ", "    print('debug', x_t.shape)\n    H = ", 1),
        ),
        "float32_04_lstm.ipynb": with_cell(solution, "lstm_step_forward", FLOAT32_STEP),
        "mismatch_04_lstm.ipynb": solved("02_rnn"),
    }


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def by_check(rows: list[Row], file: str) -> dict[str, Row]:
    return {r.check: r for r in rows if Path(r.submission).name == file}


def grade_class(tmp: Path, mode: str, monkeypatch: pytest.MonkeyPatch) -> tuple[list[Row], list[Row], dict]:
    """(class rows, controls-alone rows, hashes before and after) for one sandbox mode."""
    monkeypatch.setenv(sandbox.SANDBOX_ENV, mode)
    exercises = tmp / "exercises"
    shutil.copytree(EXERCISES, exercises)
    class_dir, alone = tmp / "class", tmp / "alone"
    class_dir.mkdir()
    alone.mkdir()
    for name, nb in attacks(class_dir, exercises).items():
        nbformat.write(nb, class_dir / name)
        if name in ("bob_04_lstm.ipynb", "carol_04_lstm.ipynb"):
            nbformat.write(nb, alone / name)
    files = [*class_dir.iterdir(), exercises / "04_lstm.ipynb"]
    before = {p.name: digest(p) for p in files}
    controls = grader.grade([alone], exercises, tmp / "out-alone", options=OPTIONS)
    rows = grader.grade([class_dir], exercises, tmp / "out", options=OPTIONS, jobs=2)
    after = {p.name: digest(p) for p in files}
    return rows, controls, {"before": before, "after": after}


def assert_attack_grades(rows: list[Row], controls: list[Row]) -> None:
    """Every attack's grade and message (the same under both sandboxes)."""
    checks = ["lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward"]
    for control in ("bob_04_lstm.ipynb", "carol_04_lstm.ipynb"):
        alone, in_class = by_check(controls, control), by_check(rows, control)
        assert {c: (r.result, r.points) for c, r in alone.items() if c in checks} == {
            c: (r.result, r.points) for c, r in in_class.items() if c in checks
        }, control
    bob = by_check(rows, "bob_04_lstm.ipynb")
    assert [bob[c].result for c in checks] == ["pass"] * 4 and all(bob[c].points > 0 for c in checks)
    carol = by_check(rows, "carol_04_lstm.ipynb")
    assert all(carol[c].points == 0 and "not done yet" in carol[c].feedback for c in checks)

    for cheat in (
        "redefined_checks",
        "imported_reference",
        "undone_hook",
        "patched_numpy",
        "patched_checks",
        "rewritten_log",
        "aaron_rewrites_canonical",
        "aaron_overwrites_bob",
    ):
        got = by_check(rows, f"{cheat}_04_lstm.ipynb")
        assert all(got[c].points == 0 and got[c].result == "fail" for c in checks), (cheat, got)
    imported = by_check(rows, "imported_reference_04_lstm.ipynb")
    assert "imported from lstm_course.reference (the answer key)" in imported["lstm_step_forward"].feedback
    assert any("is the answer key" in r.feedback for c, r in imported.items() if c.startswith("cell"))
    undone = by_check(rows, "undone_hook_04_lstm.ipynb")
    for check in checks:
        assert f"{check} is lstm_course.reference's {check} (the answer key)" in undone[check].feedback
    # the re-import opened the reference's files: the audit hook saw it, whatever the notebook did after
    assert "lstm.py" in undone["(answer key)"].details
    assert "c is wrong" in by_check(rows, "patched_numpy_04_lstm.ipynb")["lstm_step_forward"].feedback
    assert "c is wrong" in by_check(rows, "patched_checks_04_lstm.ipynb")["lstm_step_forward"].feedback
    assert "c is wrong" in by_check(rows, "rewritten_log_04_lstm.ipynb")["lstm_step_forward"].feedback

    exited = by_check(rows, "os_exit_04_lstm.ipynb")
    crash = [r for c, r in exited.items() if c.startswith("cell")]
    assert [r.result for r in crash] == ["crash"] and "exited with status 3" in crash[0].feedback
    assert all(exited[c].feedback == "not run: an earlier cell crashed" for c in checks)

    segfault = by_check(rows, "segfault_04_lstm.ipynb")
    assert [segfault[c].result for c in checks[:3]] == ["pass"] * 3
    assert segfault["lstm_backward"].result == "crash" and "SIGSEGV" in segfault["lstm_backward"].feedback

    bomb = by_check(rows, "memory_bomb_04_lstm.ipynb")
    cell = [r for c, r in bomb.items() if c.startswith("cell")]
    assert len(cell) == 1 and "MemoryError" in cell[0].feedback and "out of memory" in cell[0].feedback
    assert [bomb[c].result for c in checks] == ["pass"] * 4

    loop = by_check(rows, "infinite_loop_04_lstm.ipynb")
    assert [loop[c].result for c in checks[:2]] == ["pass"] * 2
    assert loop["lstm_forward"].result == "timeout" and "infinite loop" in loop["lstm_forward"].feedback
    assert loop["lstm_backward"].points == 0

    printed = by_check(rows, "leftover_print_04_lstm.ipynb")
    assert [printed[c].result for c in checks] == ["pass"] * 4

    float32 = by_check(rows, "float32_04_lstm.ipynb")
    for check in checks:
        row = float32[check]
        # float32 is a fair answer: it passes, or (rarely, at saturated gates) the feedback or its evidence
        # says the error is float32 rounding
        assert row.result == "pass" or "float32 rounding" in row.feedback + row.details, row

    mismatch = by_check(rows, "mismatch_04_lstm.ipynb")
    assert (
        "the file name says 04_lstm but the notebook's metadata says 02_rnn"
        in mismatch["(exercise)"].feedback
    )
    assert [mismatch[c].result for c in ["rnn_step_forward", "rnn_backward"]] == ["pass", "pass"]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed (make sandbox)")
def test_attacks_under_bwrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows, controls, hashes = grade_class(tmp_path, "bwrap", monkeypatch)
    assert_attack_grades(rows, controls)
    # nothing outside its work folder is writable: the canonical notebook and every submission are untouched
    assert hashes["before"] == hashes["after"]
    assert not [r for r in rows if r.check in ("(file)", "(sandbox)")]


@pytest.mark.slow
def test_attacks_with_resource_limits_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows, controls, hashes = grade_class(tmp_path, "rlimits", monkeypatch)
    assert_attack_grades(rows, controls)
    # without bwrap the writes go through, but everything was read first: nobody's grade changed (above),
    # the report says which sandbox was used and which file changed while grading
    assert all(r.feedback.startswith("sandbox: rlimits only") for r in rows if r.check == "(sandbox)")
    assert {r.submission for r in rows if r.check == "(sandbox)"} == {
        r.submission for r in rows if r.exercise != "?"
    }
    changed = {name for name in hashes["before"] if hashes["before"][name] != hashes["after"][name]}
    assert changed == {"bob_04_lstm.ipynb", "04_lstm.ipynb"}
    flagged = [r for r in rows if r.check == "(file)"]
    assert [Path(r.submission).name for r in flagged] == ["bob_04_lstm.ipynb"]
