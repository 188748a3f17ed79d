import pytest

from lstm_course.experiments.timing import timed


def test_timed_returns_the_result_and_seconds():
    result, seconds = timed(sum, [1, 2, 3])
    assert result == 6 and 0 <= seconds < 5


def test_timed_passes_keyword_arguments():
    result, _ = timed(sorted, [3, 1, 2], reverse=True)
    assert result == [3, 2, 1]


def test_timed_refuses_what_it_cannot_call():
    with pytest.raises(TypeError, match="function"):
        timed(42)
