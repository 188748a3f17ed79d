"""The shared check machinery: success line, failure format, fresh seeds, shape/dtype/value feedback."""

import numpy as np
import pytest

from lstm_course.checks.activations import check_sigmoid
from lstm_course.checks.harness import (
    CheckFailure,
    Feedback,
    call_student,
    expect_array,
    fresh_seed,
    run_check,
)
from lstm_course.checks.success import SUCCESS, SUCCESS_LINE, success_line
from lstm_course.reference import sigmoid


def test_success_prints_exactly_one_fixed_line(capsys: pytest.CaptureFixture[str]) -> None:
    check_sigmoid(sigmoid)
    assert (
        capsys.readouterr().out
        == SUCCESS.format(name="sigmoid", n=5) + "\n"
        == "✓ sigmoid: 5/5 checks passed\n"
    )


def test_the_success_line_reads_back_its_name_and_count() -> None:
    match = SUCCESS_LINE.match(success_line("lstm_step_forward", 6) + "\n")
    assert match is not None and (match["name"], match["n"]) == ("lstm_step_forward", "6")
    assert SUCCESS_LINE.match("✓ sigmoid: 4/5 checks passed\n") is None
    assert SUCCESS_LINE.match(success_line("sigmoid", 5) + "\nmore\n") is None


def test_failure_is_an_assertion_error_with_feedback_first_and_the_seed_last() -> None:
    def case(rng: np.random.Generator) -> None:
        raise Feedback("the specific mistake", "evidence")

    with pytest.raises(AssertionError) as info:
        run_check("thing", [("a case", case)], seed=42, call="check_thing(f, seed={seed})")
    assert isinstance(info.value, CheckFailure)
    lines = str(info.value).splitlines()
    assert lines[0] == "the specific mistake"
    assert lines[1] == "evidence"
    assert lines[-1] == "(case: a case; seed 42: reproduce with check_thing(f, seed=42))"


def test_seeds_are_fresh_so_a_hard_coded_answer_fails() -> None:
    assert len({fresh_seed() for _ in range(20)}) == 20  # 32-bit seeds: a repeat has odds of about 1e-7
    # the answers of one passing run, replayed: they pass exactly when the next run draws the same inputs
    answers: list[np.ndarray] = []

    def records(x: np.ndarray) -> np.ndarray:
        answers.append(sigmoid(x))
        return answers[-1]

    check_sigmoid(records)
    replayed = iter(list(answers))
    with pytest.raises(CheckFailure, match=r"^sigmoid\(x\)(:| is wrong)"):
        check_sigmoid(lambda x: next(replayed))


def test_the_same_seed_reproduces_a_failure() -> None:
    def wrong(x: np.ndarray) -> np.ndarray:
        return sigmoid(x) + 1e-3

    messages = []
    for _ in range(2):
        with pytest.raises(AssertionError) as info:
            check_sigmoid(wrong, seed=7)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize(
    ("got", "message"),
    [
        (np.zeros((4, 3)), r"shape \(B, H\) = \(3, 4\) expected, got \(4, 3\): transposed\?"),
        (np.zeros((3, 4), dtype=np.float32), "dtype float64 expected"),
        (np.full((3, 4), np.nan), "contains NaN or inf"),
        ([[0.0] * 4] * 3, "should be a NumPy array"),
        (np.ones((3, 4)), r"h is wrong: max abs error 1 at index \(0, 0\)"),
    ],
)
def test_expect_array_names_what_is_wrong(got: object, message: str) -> None:
    with pytest.raises(Feedback, match=message):
        expect_array("h", got, np.zeros((3, 4)), dims="B, H")


def test_a_matching_variant_names_the_mistake() -> None:
    with pytest.raises(Feedback, match="^you doubled it$"):
        expect_array(
            "y",
            np.full(3, 2.0),
            np.ones(3),
            variants=[("not this", lambda: np.zeros(3)), ("you doubled it", lambda: np.full(3, 2.0))],
        )


def test_call_student_reports_errors_warnings_and_in_place_edits() -> None:
    def crashes(x: np.ndarray) -> np.ndarray:
        return x @ np.ones((5, 2))

    def warns(x: np.ndarray) -> np.ndarray:
        return np.exp(x * 1e4)

    def edits(x: np.ndarray) -> np.ndarray:
        x += 1
        return x

    x = np.ones((2, 3))
    with pytest.raises(Feedback, match="^crashes raised ValueError"):
        call_student(crashes, x)
    # the generic feedback and the warning say "overflow" too: only on_warning's own text shows it was used
    with pytest.raises(Feedback) as info:
        call_student(warns, x, on_warning="exp ran out of range: subtract the max first")
    assert info.value.first == "exp ran out of range: subtract the max first"
    assert "NumPy warned 'overflow encountered in exp'" in info.value.details
    with pytest.raises(Feedback) as info:
        call_student(warns, x)
    assert info.value.first.startswith("warns made NumPy warn: some intermediate value overflowed")
    with pytest.raises(Feedback, match="modified its input #1 in place"):
        call_student(edits, x)


def test_not_implemented_passes_through_unchanged() -> None:
    def todo(x: np.ndarray) -> np.ndarray:
        raise NotImplementedError("write your solution here")

    with pytest.raises(NotImplementedError):
        check_sigmoid(todo)
