"""The grader's parts: the course's checks replace the submitted ones, exercise lookup, the protocol, limits,
weights, shards, reports."""

import base64
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import nbformat
import numpy as np
import pytest

from lstm_course.checks.harness import CheckFailure
from lstm_course.grading import grader, notebooks, protocol, sandbox
from lstm_course.grading.report import Row, student_of, write_results

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
    assert results["sigmoid"] == ("pass", "all checks passed (5 public and 5 hidden cases)")
    assert results["tanh_derivative"] == (
        "timeout",
        "timed out: the notebook passed the overall limit of 30 s",
    )
    assert [results[c][0] for c in ["softmax", "dense_forward", "dense_backward"]] == ["not run"] * 3
    assert results["softmax"][1] == "not run: the notebook passed the overall limit of 30 s"


def test_the_protocol_carries_data_only() -> None:
    rng = np.random.default_rng(3)
    value = (np.arange(6.0).reshape(2, 3), {"w": np.float32(2.5), "n": [1, "a", None, True]}, rng)
    back = protocol.decode(json.loads(json.dumps(protocol.encode(value))))
    assert np.array_equal(back[0], value[0]) and back[0].dtype == np.float64
    assert back[1]["w"] == np.float32(2.5) and back[1]["n"] == [1, "a", None, True]
    assert back[2].normal() == rng.normal()
    # an object (a NamedTuple cache) stays where it is: only a reference travels
    kept: list = []
    cache = protocol.encode(NamedThing(1), keep=lambda obj: kept.append(obj) or len(kept))
    assert cache == {"ref": 1, "type": "NamedThing"} and kept == [NamedThing(1)]
    assert type(protocol.decode(cache)).__name__ == "NamedThing"
    # nothing is ever unpickled: an object array refuses to load
    buffer = io.BytesIO()
    np.save(buffer, np.array([NamedThing(1)], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="allow_pickle"):
        protocol.decode({"nd": base64.b64encode(buffer.getvalue()).decode()})
    with pytest.raises(protocol.ProtocolError):
        protocol.decode({"rng": {"bit_generator": "os.system"}})


class NamedThing(NamedTuple):
    x: int


def test_a_function_travels_by_its_allow_listed_name_only() -> None:
    from lstm_course.grading.functions import FUNCTIONS, gru_step, rnn_step

    message = protocol.encode((rnn_step, {"step": gru_step}))
    assert message == {"tuple": [{"fn": "rnn_step"}, {"dict": [["step", {"fn": "gru_step"}]]}]}
    back = protocol.decode(json.loads(json.dumps(message)))
    assert back[0] is rnn_step and back[1]["step"] is gru_step
    assert set(FUNCTIONS) == {"rnn_step", "gru_step"}
    # a name not on the list, or a dotted path to anything importable, is refused: nothing is looked up
    for name in ("os.system", "lstm_course.reference.multilayer_forward", "multilayer_forward", "", 3, None):
        with pytest.raises(protocol.ProtocolError, match="not a function the grader may pass"):
            protocol.decode({"fn": name})
    # any other function (a lookalike, a partial of an allowed one, a lambda) still cannot be sent
    import functools

    def rnn_step_lookalike(x_t, h_prev, params):
        return rnn_step(x_t, h_prev, params)

    for other in (rnn_step_lookalike, functools.partial(rnn_step), lambda x: x, np.tanh):
        with pytest.raises(protocol.ProtocolError, match="cannot send"):
            protocol.encode(other)


def test_the_functions_passed_by_name_do_not_reach_exercise_07s_answer_key() -> None:
    """Everything reachable from the steps the student's code is given (globals, closures, modules, their
    attributes) holds no function of the answer key: not multilayer_forward, nothing of the checks."""
    import types

    from lstm_course.grading.functions import FUNCTIONS

    seen: set[int] = set()
    reached: list[object] = []
    todo: list[object] = list(FUNCTIONS.values())
    while todo:
        value = todo.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        reached.append(value)
        if isinstance(value, types.FunctionType):
            todo += [v for v in value.__globals__.values() if callable(v) or isinstance(v, types.ModuleType)]
            todo += [c.cell_contents for c in value.__closure__ or ()]
        elif isinstance(value, types.ModuleType) and value.__name__.startswith("lstm_course"):
            todo += [v for v in vars(value).values() if callable(v) or isinstance(v, types.ModuleType)]
    names = {getattr(v, "__module__", None) or getattr(v, "__name__", "") for v in reached}
    assert not [n for n in names if n.startswith(("lstm_course.checks", "lstm_course.reference"))]
    assert "multilayer_forward" not in {getattr(v, "__name__", "") for v in reached}


@pytest.mark.parametrize("cell", ["rnn", "gru"])
def test_the_functions_passed_by_name_are_the_reference_steps(cell: str) -> None:
    from lstm_course import reference
    from lstm_course.checks.harness import random_params
    from lstm_course.grading.functions import FUNCTIONS

    rng = np.random.default_rng(5)
    for B, D, H in [(1, 1, 1), (4, 3, 5), (2, 6, 2)]:
        params = random_params(cell, D, H, rng)
        x_t, h_prev = rng.normal(0, 2, (B, D)), rng.normal(0, 1, (B, H))
        expected = getattr(reference, f"{cell}_step_forward")(x_t, h_prev, params)[0]
        np.testing.assert_allclose(
            FUNCTIONS[f"{cell}_step"](x_t, h_prev, params), expected, rtol=0, atol=1e-12
        )


def test_write_back_mirrors_edits_in_place_and_replacements() -> None:
    kept, replaced = np.zeros(2), np.zeros(2)
    grads = {"kept": kept, "replaced": replaced}
    after = {"kept": np.ones(2), "replaced": np.full(2, 2.0)}
    sandbox.write_back(((grads,), {}), ((after,), {}), {(0, 0, "replaced")})
    assert grads["kept"] is kept and np.array_equal(kept, np.ones(2))
    assert grads["replaced"] is not replaced and np.array_equal(replaced, np.zeros(2))


def test_an_exit_status_or_signal_is_named() -> None:
    limits = sandbox.Limits()
    assert sandbox.exit_text(3, limits).startswith("exited with status 3")
    assert "SIGSEGV (a segmentation fault)" in sandbox.exit_text(-11, limits)
    assert "out of memory" in sandbox.exit_text(-9, limits)


def test_shards_split_a_class_into_disjoint_parts() -> None:
    labels = [f"class/student{k}_04_lstm.ipynb" for k in range(50)]
    parts = [{label for label in labels if grader.in_shard(label, (i, 4))} for i in range(1, 5)]
    assert set().union(*parts) == set(labels) and sum(map(len, parts)) == len(labels)
    assert all(parts)
    assert grader.parse_shard("2/8") == (2, 8)
    for bad in ("0/3", "4/3", "x"):
        with pytest.raises(ValueError):
            grader.parse_shard(bad)


def test_weights_are_read_per_exercise(tmp_path: Path) -> None:
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "04_lstm.toml").write_text("[lstm_forward]\npublic = 2\nhidden_rounds = 0\n")
    assert grader.read_weights(tmp_path, "04_lstm") == {"lstm_forward": {"public": 2, "hidden_rounds": 0}}
    assert grader.read_weights(tmp_path, "01_activations") == {}
    exercise = grader.load_exercise(EXERCISES, "05_adding")
    assert exercise.weights["adding_training"]["hidden_rounds"] == 0
    check = next(c for c in exercise.checks if c.name == "adding_training")
    assert grader.max_points(check, exercise, grader.Options(hidden_rounds=3)) == 2


def test_an_exercise_knows_its_checks_and_allowed_helpers() -> None:
    lstm = grader.load_exercise(EXERCISES, "04_lstm")
    assert lstm.allowed == ["sigmoid"]
    assert [(c.function, c.graded) for c in lstm.checks][1] == (
        "check_lstm_step_backward",
        ["lstm_step_forward", "lstm_step_backward"],
    )
    assert lstm.check_modules["check_lstm_backward"] == "lstm_course.checks.lstm"
    assert "lstm_course.tasks" in grader.load_exercise(EXERCISES, "05_adding").modules


def test_a_failing_check_renders_without_a_traceback_in_jupyter() -> None:
    failure = CheckFailure("the gates look swapped\nevidence\n(case: x; seed 1)")
    assert failure._render_traceback_() == [
        "CheckFailure: the gates look swapped",
        "evidence",
        "(case: x; seed 1)",
    ]


def test_reports_name_the_student_and_summarise_the_class(tmp_path: Path) -> None:
    rows = [
        Row("class/alice_04_lstm.ipynb", "04_lstm", "lstm_forward", 8, 8, "pass", "all checks passed", "8/8"),
        Row(
            "class/bob/04_lstm.ipynb", "04_lstm", "lstm_forward", 4, 8, "partial", "c_T is h", "4/8", "seed 1"
        ),
        Row("class/carol-04.ipynb", "04_lstm", "lstm_forward", 0, 8, "fail", "c_T is h", "0/8", "seed 2"),
    ]
    assert [student_of(r) for r in rows] == ["alice", "bob", "carol"]
    write_results(rows, tmp_path)
    assert "| 04_lstm | lstm_forward | 3 | 1 | 1 | 1 | 50% |" in (tmp_path / "summary.md").read_text()
    assert "| 2 | lstm_forward | c_T is h |" in (tmp_path / "summary.md").read_text()
    bob = (tmp_path / "feedback" / "bob.md").read_text()
    assert "## 04_lstm: 4/8 points" in bob and "seed 1" in bob


def test_a_bwrap_that_fails_to_start_falls_back_to_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = ["/bin/sh", "-c", "echo 'bwrap: setting up uid map: Permission denied' >&2; exit 1"]
    monkeypatch.setattr(sandbox, "bwrap_prefix", lambda workdir, hidden: failing)
    submission = sandbox.Submission(tmp_path, sandbox.Limits())
    try:
        assert submission.sandbox == "rlimits only (bwrap failed to start: see bwrap-failed.txt)"
        assert "Permission denied" in (tmp_path / "bwrap-failed.txt").read_text()
        submission.deadline = float("inf")
        submission.send(
            {"cells": [[0, "def f(x):\n    return x * 2"]], "allowed": [], "modules": [], "graded": []}
        )
        events = [submission.receive()["event"] for _ in range(3)]
        assert events == ["start", "done", "ready"]
        assert np.array_equal(submission.call("f", (np.ones(2),), {}), np.full(2, 2.0))
    finally:
        submission.close()


def test_bwrap_binds_back_what_the_child_needs_under_tmp_before_hiding(monkeypatch, tmp_path):
    """A clone or venv under /tmp must stay visible under bwrap's private /tmp (CI may clone there)."""
    if sandbox.shutil.which("bwrap") is None:
        pytest.skip("bwrap is not installed")
    monkeypatch.delenv(sandbox.SANDBOX_ENV, raising=False)
    venv, repo = Path("/tmp/some/venv"), tmp_path / "repo"
    solutions = repo / "exercises" / "source"
    solutions.mkdir(parents=True)
    monkeypatch.setattr(sandbox, "_needed_paths", lambda: {venv, repo, Path("/usr/lib/python3")})
    command = sandbox.bwrap_prefix(tmp_path / "work", [solutions])
    triples = list(zip(command, command[1:], command[2:], strict=False))
    assert ("--ro-bind", str(venv), str(venv)) in triples and ("--ro-bind", str(repo), str(repo)) in triples
    assert ("--ro-bind", "/usr/lib/python3", "/usr/lib/python3") not in triples  # outside /tmp: already there
    private_tmp = command.index("/tmp")
    assert private_tmp < command.index(str(venv)) < command.index(str(solutions))  # bound back, then hidden


@pytest.mark.slow
def test_exercise_08s_answer_key_is_refused(tmp_path: Path) -> None:
    """The attention functions of lstm_course.reference are the answer key of exercise 08, as the cells' are
    of exercises 02-06: an import is refused, and the function itself, reached another way, scores 0."""
    undone = (
        "import importlib, sys\n"
        "sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != 'AnswerKeyGuard']\n"
        "for name in [m for m in sys.modules if m.startswith('lstm_course.reference')]:\n"
        "    del sys.modules[name]\n"
        "masked_softmax = importlib.import_module('lstm_course.reference.attention').masked_softmax\n"
    )
    imported = "from lstm_course.reference import dot_product_attention_forward\n"
    (tmp_path / "class").mkdir()
    for name, source, defines in (
        ("undone", undone, "masked_softmax"),
        ("imported", imported, "dot_product_attention_forward"),
    ):
        nb = with_cell(solved("08_attention"), defines, source)
        nbformat.write(nb, tmp_path / "class" / f"{name}_08_attention.ipynb")
    options = grader.Options(cell_timeout=30, hidden_rounds=0)
    rows = grader.grade([tmp_path / "class"], EXERCISES, tmp_path / "out", options=options)
    by = {(Path(r.submission).name.split("_")[0], r.check): r for r in rows}
    assert by[("undone", "masked_softmax")].points == 0
    assert (
        "is lstm_course.reference's masked_softmax (the answer key)"
        in by[("undone", "masked_softmax")].feedback
    )
    forward = by[("imported", "dot_product_attention_forward")]
    assert forward.points == 0 and "answer key" in forward.feedback


HUNT_02 = """import gc


def _hunt(name):
    for obj in gc.get_objects():
        module = getattr(obj, "__module__", None) or ""
        if callable(obj) and module.startswith("lstm_course.reference") and obj.__name__ == name:
            return obj
    raise NotImplementedError(f"{name} is not in this process")


def rnn_step_forward(*args):
    return _hunt("rnn_step_forward")(*args)


def rnn_step_backward(*args):
    return _hunt("rnn_step_backward")(*args)


def rnn_forward(*args):
    return _hunt("rnn_forward")(*args)


def rnn_backward(*args):
    return _hunt("rnn_backward")(*args)
"""


@pytest.mark.slow
def test_the_answer_key_is_not_left_in_the_submissions_memory(tmp_path: Path) -> None:
    """The reference's functions an exercise does not allow are collected before student code runs: code that
    searches ``gc.get_objects()`` for exercise 02's answer key finds nothing (nothing it could wrap)."""
    nb = solved("02_rnn")
    nb.cells.append(nbformat.v4.new_code_cell(HUNT_02))
    nbformat.write(nb, tmp_path / "hunter_02_rnn.ipynb")
    options = grader.Options(cell_timeout=30, hidden_rounds=0)
    rows = grader.grade_notebook(
        tmp_path / "hunter_02_rnn.ipynb", EXERCISES, tmp_path / "work", options=options
    )
    checks = {r.check: r for r in rows if r.check.startswith("rnn_")}
    assert len(checks) == 4
    assert all(r.points == 0 and r.feedback.startswith("not done yet") for r in checks.values()), rows


def test_the_grader_imports_without_tomllib_and_reads_json_weights(tmp_path: Path) -> None:
    # Python 3.10 (requires-python allows it) has no tomllib: the grader must still import, and read the
    # weights from JSON. The child pretends to be 3.10 once the third-party packages are imported (on 3.10
    # they bring their own tomli), and hides tomllib.
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "04_lstm.json").write_text('{"lstm_forward": {"public": 2}}')
    script = (
        "import sys, numpy, nbformat, torch, pytest, nbval.plugin, jupytext\n"
        "sys.modules['tomllib'] = None\n"
        "sys.version_info = (3, 10, 14, 'final', 0)\n"
        "from pathlib import Path\n"
        "from lstm_course.grading import grader\n"
        f"print(grader.read_weights(Path({str(tmp_path)!r}), '04_lstm'))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "{'lstm_forward': {'public': 2}}"
