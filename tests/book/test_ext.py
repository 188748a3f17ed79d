"""The book's two small Sphinx extensions (book/_ext): plain-text docstrings and the autopackage listing."""

import importlib.util
from pathlib import Path

import pytest

EXT = Path(__file__).resolve().parents[2] / "book" / "_ext"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXT / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


plain = _load("plain_docstrings")
autopackage = _load("autopackage")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("exp of -|x| <= 0", r"exp of -\|x\| <= 0"),
        ("like torch.nn.utils.clip_grad_norm_.", r"like torch.nn.utils.clip_grad_norm\_."),
        ("a ``-|x|`` literal and :func:`f_` role", "a ``-|x|`` literal and :func:`f_` role"),
        ("x_t and h_{t-1}", "x_t and h_{t-1}"),
    ],
)
def test_escape_plain(text, expected):
    assert plain.escape_plain(text) == expected


def test_constant_comment_with_a_colon_is_kept_whole():
    lines = ["MSE of the mean: 1/6."]
    plain._process(None, "data", "X", 1.0, {}, lines)
    assert lines == ["..", "", "MSE of the mean: 1/6."]


def test_submodules_lists_public_modules_only():
    names = autopackage.submodules("lstm_course.tasks")
    assert "lstm_course.tasks.order" in names and "lstm_course.tasks.text" in names
    assert not any(n.rsplit(".", 1)[1].startswith("_") for n in names)
    with pytest.raises(ValueError, match="not a package"):
        autopackage.submodules("lstm_course.tasks.order")
