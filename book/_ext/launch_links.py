"""A Sphinx extension: the Colab button opens the chapter's notebook form.

sphinx-book-theme links Colab to the page's source file on GitHub, but a chapter's source is MyST Markdown
(book/NN_topic.md), which Colab cannot open. `make notebooks` writes each chapter as an .ipynb, and the
repository publishes them on the branch named by ``colab_notebooks_branch``; this rewrites the Colab link to
that file. Binder needs nothing: its environment has jupytext, which opens the .md as a notebook. Either way
the buttons are plain links, and nothing is loaded until a reader follows one.
"""

from __future__ import annotations

from typing import Any

COLAB = "https://colab.research.google.com/github/"


def colab_notebook_url(url: str, branch: str) -> str:
    """``…/github/ORG/REPO/blob/BRANCH/book/NN.md`` -> ``…/github/ORG/REPO/blob/<branch>/book/NN.ipynb``."""
    head, blob, tail = url.partition("/blob/")
    if not (url.startswith(COLAB) and blob and tail.endswith(".md")):
        raise ValueError(f"not a Colab link to a MyST chapter: {url!r}")
    path = tail.split("/", 1)[1]
    return f"{head}/blob/{branch}/{path[: -len('.md')]}.ipynb"


def _rewrite(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    for group in context.get("header_buttons", []):
        for button in group.get("buttons", []) if isinstance(group, dict) else []:
            if button.get("text") == "Colab" and button.get("url", "").endswith(".md"):
                button["url"] = colab_notebook_url(button["url"], app.config.colab_notebooks_branch)


def setup(app: Any) -> dict[str, Any]:
    app.add_config_value("colab_notebooks_branch", "notebooks", "html")
    # the theme adds its launch buttons at priority 501
    app.connect("html-page-context", _rewrite, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
