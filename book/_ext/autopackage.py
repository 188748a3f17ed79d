"""A Sphinx directive for book/api.md: a package and every public submodule it has when the book builds.

    ```{autopackage} lstm_course.experiments
    ```

in a MyST page expands to ``automodule`` of the package (its docstring) and, for each submodule whose name
does not start with an underscore, a rubric with the module's name and ``automodule`` with ``:members:``. A
module added to the package later appears on the page without editing it.
"""

from __future__ import annotations

import importlib
import pkgutil

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles


def submodules(package: str) -> list[str]:
    """The dotted names of the package's public submodules, sorted."""
    module = importlib.import_module(package)
    if not hasattr(module, "__path__"):
        raise ValueError(f"{package} is a module, not a package")
    found = pkgutil.iter_modules(module.__path__, package + ".")
    return sorted(info.name for info in found if not info.name.rsplit(".", 1)[1].startswith("_"))


class AutoPackage(SphinxDirective):
    """``autopackage <package>``: the package's docstring, then each public submodule with its members."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        package = self.arguments[0]
        rst = [f".. automodule:: {package}", ""]
        for name in submodules(package):
            rst += [f".. rubric:: {name}", "", f".. automodule:: {name}", "   :members:", ""]
        # the page is MyST Markdown, and autodoc writes reStructuredText: hand it over in an eval-rst block
        lines = ["```{eval-rst}", *rst, "```"]
        container = nodes.container()
        nested_parse_with_titles(self.state, StringList(lines, source=f"<autopackage {package}>"), container)
        return container.children


def setup(app):
    app.add_directive("autopackage", AutoPackage)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
