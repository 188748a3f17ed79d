"""Exercise 07 through the real grader: its checks pass a step function to the student's code, by name.

Each mistake the checks know, written as a student would write it, is graded in the submission's own process
(``lstm_course.grading.child``) and must be named in the grade table; the attacks specific to this exercise
(the answer key imported, imported again after undoing the import hook, hunted in memory, the passed step
replaced) must not score. One class, graded once, with the solution and the stub as controls.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from lstm_course.grading import grader, notebooks, sandbox
from lstm_course.grading.report import Row

EXERCISES = Path(__file__).resolve().parents[2] / "exercises"
OPTIONS = grader.Options(
    cell_timeout=30,
    total_timeout=120,
    hidden_rounds=0,
    limits=sandbox.Limits(memory=2 * 2**30, cpu_seconds=120),
)
CHECKS = ["run_direction", "bidirectional_forward"]

HEAD = """def run_direction(step, x, lengths, params, reverse=False):
    T, B, _ = x.shape
    H = params["weight_hh"].shape[1]
    out, h_last = np.zeros((T, B, H)), np.zeros((B, H))
    for b in range(B):
"""
TAIL = "    return out, h_last\n"

#: run_direction written with one mistake each, as a student would (the body of the loop over b).
DIRECTION_MISTAKES = {
    "from_padding": (
        "        times = range(T) if reverse else range(lengths[b])\n"
        "        h = np.zeros((1, H))\n"
        "        for t in reversed(times) if reverse else times:\n"
        "            h = step(x[t, b : b + 1], h, params)\n"
        "            out[t, b] = h[0]\n"
        "        out[lengths[b] :, b] = 0.0\n"
        "        h_last[b] = h[0]\n",
        "the reverse pass starts at the padding",
    ),
    "unflipped": (
        "        order = range(lengths[b] - 1, -1, -1) if reverse else range(lengths[b])\n"
        "        h = np.zeros((1, H))\n"
        "        for k, t in enumerate(order):\n"
        "            h = step(x[t, b : b + 1], h, params)\n"
        "            out[k, b] = h[0]\n"
        "        h_last[b] = h[0]\n",
        "the reverse outputs are not flipped back",
    ),
    "through_padding": (
        "        times = range(lengths[b]) if reverse else range(T)\n"
        "        h = np.zeros((1, H))\n"
        "        for t in reversed(times) if reverse else times:\n"
        "            h = step(x[t, b : b + 1], h, params)\n"
        "            out[t, b] = h[0] if t < lengths[b] else 0.0\n"
        "        h_last[b] = h[0]\n",
        "the padding changed the state",
    ),
    "padded_outputs": (
        "        times = range(lengths[b])\n"
        "        h = np.zeros((1, H))\n"
        "        for t in reversed(times) if reverse else times:\n"
        "            h = step(x[t, b : b + 1], h, params)\n"
        "            out[t, b] = h[0]\n"
        "        out[lengths[b] :, b] = h[0]\n"
        "        h_last[b] = h[0]\n",
        "padded steps (t >= lengths[b]) must output zeros",
    ),
    "last_read_first": (
        "        times = range(lengths[b])\n"
        "        h = np.zeros((1, H))\n"
        "        for k, t in enumerate(reversed(times) if reverse else times):\n"
        "            h = step(x[t, b : b + 1], h, params)\n"
        "            out[t, b] = h[0]\n"
        "            if k == 0:\n"
        "                h_last[b] = h[0]\n",
        "h_last is the state after the first step",
    ),
}

LAYER = """def bidirectional_forward(step, x, lengths, params_fwd, params_rev):
    out_fwd, h_fwd = run_direction(step, x, lengths, {fwd}, reverse=False)
    out_rev, h_rev = run_direction(step, x, lengths, {rev}, reverse=True)
    return {out}, {h_n}
"""

#: bidirectional_forward with one mistake each (over a correct run_direction).
LAYER_MISTAKES = {
    "wrong_order": (
        {"out": "np.concatenate([out_rev, out_fwd], axis=2)", "h_n": "np.stack([h_rev, h_fwd])"},
        "the two directions are concatenated in the wrong order",
    ),
    "reverse_with_fwd_params": ({"rev": "params_fwd"}, "the reverse direction used params_fwd"),
    "params_swapped": (
        {"fwd": "params_rev", "rev": "params_fwd"},
        "the two directions' parameters are swapped",
    ),
    "stacked": (
        {"out": "np.stack([out_fwd, out_rev])"},
        "out stacks the directions on a new axis",
    ),
}

#: The reference's multilayer_forward as a student could wrap it: it IS exercise 07's answer key.
KEY_WRAPPER = """
def run_direction(step, x, lengths, params, reverse=False):
    cell = "gru" if step.__name__ == "gru_step" else "rnn"
    T, B, _ = x.shape
    out, h_last = np.zeros((T, B, params["weight_hh"].shape[1])), np.zeros((B, params["weight_hh"].shape[1]))
    weights = {f"{name}_l0": value for name, value in params.items()}
    for b, length in enumerate(lengths):
        seq = x[:length, b : b + 1][::-1] if reverse else x[:length, b : b + 1]
        seq_out, h_n, _ = key(cell, seq, weights, num_layers=1, bidirectional=False)
        out[:length, b] = (seq_out[::-1] if reverse else seq_out)[:, 0]
        h_last[b] = h_n[0, 0]
    return out, h_last


def bidirectional_forward(step, x, lengths, params_fwd, params_rev):
    out_fwd, h_fwd = run_direction(step, x, lengths, params_fwd, reverse=False)
    out_rev, h_rev = run_direction(step, x, lengths, params_rev, reverse=True)
    return np.concatenate([out_fwd, out_rev], axis=2), np.stack([h_fwd, h_rev])
"""

UNDO_THE_HOOK = (
    """import importlib
import sys

sys.meta_path[:] = [finder for finder in sys.meta_path if type(finder).__name__ != "AnswerKeyGuard"]
for name in [m for m in sys.modules if m.startswith("lstm_course.reference")]:
    del sys.modules[name]
key = importlib.import_module("lstm_course.reference").multilayer_forward
"""
    + KEY_WRAPPER
)

READ_THE_SOURCE = (
    """import os
import lstm_course

folder = os.path.join(os.path.dirname(lstm_course.__file__), "reference")
space = {"__name__": "lstm_course.reference.mine", "__package__": "lstm_course.reference"}
try:
    exec(compile(open(os.path.join(folder, "multilayer.py")).read(), "<mine>", "exec"), space)
    key = space["multilayer_forward"]
except Exception as exc:  # its relative imports fail: the student tried; that alone is the cheat
    key = None
"""
    + KEY_WRAPPER
)

HUNT_IN_MEMORY = (
    """import gc


def key(*args, **kwargs):
    for obj in gc.get_objects():
        if callable(obj) and getattr(obj, "__name__", "") == "multilayer_forward":
            return obj(*args, **kwargs)
    raise NotImplementedError("the answer key is not in this process")
"""
    + KEY_WRAPPER
)

OWN_STEP = """def run_direction(step, x, lengths, params, reverse=False):
    T, B, _ = x.shape
    H = params["weight_hh"].shape[1]
    out, h_last = np.zeros((T, B, H)), np.zeros((B, H))
    for b in range(B):
        times = range(lengths[b])
        h = np.zeros((1, H))
        for t in reversed(times) if reverse else times:
            h = rnn_step(x[t, b : b + 1], h, params)  # the notebook's own step, not the one passed
            out[t, b] = h[0]
        h_last[b] = h[0]
    return out, h_last
"""


def solved() -> nbformat.NotebookNode:
    return notebooks.solution_notebook(notebooks.read_source(EXERCISES / "source" / "07_bidirectional.py"))


def with_cell(nb: nbformat.NotebookNode, defines: str, source: str) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(nb)
    cell = next(c for c in nb.cells if c.cell_type == "code" and f"def {defines}(" in c.source)
    cell.source = source
    return nb


def plus_cell(nb: nbformat.NotebookNode, source: str) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(nb)
    nb.cells.append(nbformat.v4.new_code_cell(source))
    return nb


def layer(**parts: str) -> str:
    defaults = {
        "fwd": "params_fwd",
        "rev": "params_rev",
        "out": "np.concatenate([out_fwd, out_rev], axis=2)",
        "h_n": "np.stack([h_fwd, h_rev])",
    }
    return LAYER.format(**(defaults | parts))


def submissions() -> dict[str, nbformat.NotebookNode]:
    solution = solved()
    found = {
        "solution_07_bidirectional.ipynb": solution,
        "stub_07_bidirectional.ipynb": nbformat.read(EXERCISES / "07_bidirectional.ipynb", as_version=4),
        "own_step_07_bidirectional.ipynb": with_cell(solution, "run_direction", OWN_STEP),
        "imported_key_07_bidirectional.ipynb": plus_cell(
            plus_cell(solution, "from lstm_course.reference import multilayer_forward as key"), KEY_WRAPPER
        ),
        "undone_hook_07_bidirectional.ipynb": plus_cell(solution, UNDO_THE_HOOK),
        "read_source_07_bidirectional.ipynb": plus_cell(solution, READ_THE_SOURCE),
        "hunt_07_bidirectional.ipynb": plus_cell(solution, HUNT_IN_MEMORY),
    }
    for name, (body, _) in DIRECTION_MISTAKES.items():
        found[f"dir_{name}_07_bidirectional.ipynb"] = with_cell(solution, "run_direction", HEAD + body + TAIL)
    for name, (parts, _) in LAYER_MISTAKES.items():
        found[f"layer_{name}_07_bidirectional.ipynb"] = with_cell(
            solution, "bidirectional_forward", layer(**parts)
        )
    return found


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> list[Row]:
    tmp = tmp_path_factory.mktemp("ex07")
    class_dir = tmp / "class"
    class_dir.mkdir()
    for name, nb in submissions().items():
        nbformat.write(nb, class_dir / name)
    return grader.grade([class_dir], EXERCISES, tmp / "out", options=OPTIONS, jobs=2)


def by_check(rows: list[Row], file: str) -> dict[str, Row]:
    return {r.check: r for r in rows if Path(r.submission).name == file}


@pytest.mark.slow
def test_the_solution_scores_full_marks_and_the_stub_none(graded: list[Row]) -> None:
    solution = by_check(graded, "solution_07_bidirectional.ipynb")
    assert [(solution[c].result, solution[c].points) for c in CHECKS] == [("pass", 6), ("pass", 4)]
    assert set(solution) == set(CHECKS), solution  # no flag, no failing cell
    stub = by_check(graded, "stub_07_bidirectional.ipynb")
    assert all(stub[c].points == 0 and "not done yet" in stub[c].feedback for c in CHECKS)


@pytest.mark.slow
@pytest.mark.parametrize("mistake", sorted(DIRECTION_MISTAKES))
def test_each_mistake_in_a_direction_is_named_by_the_grader(graded: list[Row], mistake: str) -> None:
    rows = by_check(graded, f"dir_{mistake}_07_bidirectional.ipynb")
    assert rows["run_direction"].result in ("fail", "partial")
    assert rows["run_direction"].feedback.startswith(DIRECTION_MISTAKES[mistake][1]), rows["run_direction"]
    # the layer over it is not blamed for the direction's mistake (cases without padding may pass)
    layer_feedback = rows["bidirectional_forward"].feedback
    assert rows["bidirectional_forward"].points < 4
    assert layer_feedback == "run_direction is not right yet: make check_run_direction pass first", (
        layer_feedback
    )


@pytest.mark.slow
@pytest.mark.parametrize("mistake", sorted(LAYER_MISTAKES))
def test_each_mistake_in_the_layer_is_named_by_the_grader(graded: list[Row], mistake: str) -> None:
    rows = by_check(graded, f"layer_{mistake}_07_bidirectional.ipynb")
    assert (rows["run_direction"].result, rows["run_direction"].points) == ("pass", 6)
    assert rows["bidirectional_forward"].points == 0
    assert rows["bidirectional_forward"].feedback.startswith(LAYER_MISTAKES[mistake][1]), rows


@pytest.mark.slow
def test_a_direction_that_ignores_the_step_it_is_given_loses_the_gru_cases(graded: list[Row]) -> None:
    rows = by_check(graded, "own_step_07_bidirectional.ipynb")
    assert rows["run_direction"].result == "partial" and 0 < rows["run_direction"].points < 6, rows
    assert "a GRU step" in rows["run_direction"].details


@pytest.mark.slow
def test_the_answer_key_imported_scores_nothing(graded: list[Row]) -> None:
    rows = by_check(graded, "imported_key_07_bidirectional.ipynb")
    assert any("is the answer key" in r.feedback for c, r in rows.items() if c.startswith("cell"))
    assert all(rows[c].points == 0 for c in CHECKS), rows


@pytest.mark.slow
@pytest.mark.parametrize("attack", ["undone_hook", "read_source"])
def test_the_answer_key_loaded_from_its_files_scores_nothing(graded: list[Row], attack: str) -> None:
    rows = by_check(graded, f"{attack}_07_bidirectional.ipynb")
    assert all(rows[c].points == 0 and rows[c].result == "fail" for c in CHECKS), rows
    assert "the notebook opened the answer key's files (" in rows["run_direction"].feedback
    assert "multilayer.py" in rows["(answer key)"].details


@pytest.mark.slow
def test_the_answer_key_is_not_in_the_submissions_memory(graded: list[Row]) -> None:
    rows = by_check(graded, "hunt_07_bidirectional.ipynb")
    assert all(rows[c].points == 0 and "not done yet" in rows[c].feedback for c in CHECKS), rows
