"""lstm_course.show_source: the package's code, shown the same way in the book and in a notebook."""

import ast
import re
from pathlib import Path

import pytest

import lstm_course
from lstm_course import show_source
from lstm_course.source import Source, find_object

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.md"))
CALL = re.compile(r'show_source\("([^"]+)"\)')


def test_the_source_is_the_files_text_for_the_object() -> None:
    shown = show_source("lstm_course.reference.rnn:rnn_step_forward")
    path = ROOT / "lstm_course" / "reference" / "rnn.py"
    text = path.read_text(encoding="utf-8")
    node = next(
        n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef) and n.name == "rnn_step_forward"
    )
    assert repr(shown) == ast.get_source_segment(text, node)
    markdown = shown._repr_markdown_()
    assert markdown.startswith("```python\ndef rnn_step_forward(") and markdown.endswith("\n```")


def test_a_method_is_dedented() -> None:
    shown = repr(show_source("lstm_course.nn.models:CharLM.forward"))
    assert shown.startswith("def forward(self") and "\n    return " in shown  # the body one level in, not two


def test_the_fence_is_longer_than_any_backticks_in_the_code() -> None:
    assert Source("x = '```'")._repr_markdown_().startswith("````python\n")


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        (lstm_course, TypeError, "name must be a str"),
        ("lstm_course.reference.rnn.rnn_forward", ValueError, "module:qualified.name"),
        ("numpy:array", ValueError, "into lstm_course"),
        ("lstm_course.nothing:f", ValueError, "no module"),
        ("lstm_course.reference.rnn:nothing", ValueError, "has no 'nothing'"),
        ("lstm_course.train:DEVICES", ValueError, "no source to show"),
    ],
)
def test_a_bad_name_is_named(name, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        show_source(name)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapters_show_package_code_with_show_source_and_the_book_hides_the_input(chapter: Path) -> None:
    text = chapter.read_text(encoding="utf-8")
    # a literalinclude is a bare directive line in JupyterLab: the code would be missing there
    assert "{literalinclude}" not in text, f"{chapter.name}: show the code with show_source instead"
    for cell in re.findall(r"^```\{code-cell\}[^\n]*\n(.*?)^```", text, re.S | re.M):
        names = CALL.findall(cell)
        if names:
            assert cell.startswith(":tags: [remove-input]\n"), f"{chapter.name}: hide the input of {names}"
            for name in names:
                find_object(name)  # raises, naming it, when it does not exist
