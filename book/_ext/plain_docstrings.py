"""A Sphinx extension for book/api.md: read the package's docstrings as the plain text they are written as.

The docstrings are Google style and meant for ``help()``. Two things in plain text mean markup to
reStructuredText and would break a strict build: ``|x|`` (a substitution) and ``name_`` (a hyperlink
reference, e.g. ``torch.nn.utils.clip_grad_norm_``). Outside inline literals and roles they are escaped.
And napoleon would read a colon in the first line of a constant's ``#:`` comment as "type: description".
"""

from __future__ import annotations

import re

# inline literals ``...``, roles :role:`...` and interpreted text `...`: left as they are
_PROTECTED = re.compile(r"``.+?``|:[\w:.-]+:`[^`]+`|`[^`]+`_{0,2}")
_TRAILING_UNDERSCORE = re.compile(r"(?<=\w)(_{1,2})(?=[\s.,;:!?)\]}]|$)")


def escape_plain(text: str) -> str:
    """Escape ``|`` and a word's trailing ``_`` outside literals and roles."""
    out, pos = [], 0
    for match in _PROTECTED.finditer(text):
        out.append(_escape(text[pos : match.start()]))
        out.append(match.group(0))
        pos = match.end()
    out.append(_escape(text[pos:]))
    return "".join(out)


def _escape(chunk: str) -> str:
    chunk = chunk.replace("|", r"\|")
    return _TRAILING_UNDERSCORE.sub(lambda m: "\\" + "\\".join(m.group(1)), chunk)


def _process(app, what, name, obj, options, lines):
    lines[:] = [escape_plain(line) for line in lines]
    if what in ("data", "attribute") and lines and ":" in lines[0]:
        # napoleon reads "text: more" on an attribute's first line as "type: description" (and skips blank
        # lines); an empty reST comment first keeps the sentence whole and renders as nothing
        lines[:0] = ["..", ""]


def setup(app):
    # before napoleon (priority 500) turns the Google sections into fields
    app.connect("autodoc-process-docstring", _process, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
