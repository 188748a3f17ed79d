"""Show the package's own code in a chapter: the same block in the built book and in a notebook.

A chapter cell ``show_source("lstm_course.reference.rnn:rnn_step_forward")``, its input hidden in the book
(``tags: [remove-input]``), displays the function's source as a highlighted Python block. It replaces a
``{literalinclude}``, which JupyterLab shows as a bare directive line, so the book and the notebook show the
same code, once, read from the installed package: never a copy.
"""

from __future__ import annotations

import importlib
import inspect
import re
import textwrap
from typing import Any


class Source:
    """Source code that Jupyter shows as a Python code block (Markdown), and ``print`` as plain text."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __repr__(self) -> str:
        return self.code

    def _repr_markdown_(self) -> str:
        # a fence longer than any run of backticks in the code
        longest = max((len(run) for run in re.findall(r"`+", self.code)), default=0)
        fence = "`" * max(3, longest + 1)
        return f"{fence}python\n{self.code}\n{fence}"


def find_object(name: str) -> Any:
    """The object ``"package.module:Qualified.name"`` names (a function, class or method)."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str such as 'lstm_course.reference.rnn:rnn_forward', got {name!r}")
    module_name, colon, qualname = name.partition(":")
    if not colon or not module_name or not qualname:
        raise ValueError(
            f"name must be 'module:qualified.name', e.g. 'lstm_course.nn.models:CharLM.forward', got {name!r}"
        )
    if module_name != "lstm_course" and not module_name.startswith("lstm_course."):
        raise ValueError(f"name must point into lstm_course (the book shows only its own code), got {name!r}")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(f"name {name!r}: no module {module_name!r} ({err})") from None
    for part in qualname.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"name {name!r}: {module_name} has no {qualname!r}")
        obj = getattr(obj, part)
    return obj


def show_source(name: str) -> Source:
    """The source of the object ``name`` ("module:qualname") as a :class:`Source`, dedented.

    The last expression of a cell, it displays as a Python code block; ``print()`` it for plain text.
    """
    obj = find_object(name)
    obj = inspect.unwrap(obj)
    try:
        code = inspect.getsource(obj)
    except (OSError, TypeError) as err:
        raise ValueError(f"name {name!r}: no source to show ({err})") from None
    return Source(textwrap.dedent(code).rstrip("\n"))
