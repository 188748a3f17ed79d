"""The one line a passing check prints, and the pattern that reads it back.

The notebook builder stores this line as a check cell's output, and the grader reads a check's name and its
points (the case count) from it, so the format is written here once, next to the regex that parses it.
"""

from __future__ import annotations

import re

#: The success line; fixed, so a notebook's stored output is byte-stable.
SUCCESS = "✓ {name}: {n}/{n} checks passed"

#: A check cell's whole stdout when it passed: the success line and its newline.
SUCCESS_LINE = re.compile(r"^✓ (?P<name>[\w.]+): (?P<n>\d+)/(?P=n) checks passed\n$")


def success_line(name: str, n: int) -> str:
    """``✓ <name>: n/n checks passed``, without the newline."""
    return SUCCESS.format(name=name, n=n)
