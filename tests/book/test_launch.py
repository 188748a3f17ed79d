"""The book's pages as a reader uses them: the repository, download and launch buttons (Binder, Colab), the
hidden Colab install cell of each chapter, the exercise notebook links, and the project's citation, changelog
and contributing guide. Each of these follows the one repository address in _config.yml."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import unittest.mock
from pathlib import Path

import jupytext
import pytest
import yaml

import lstm_course

ROOT = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
TOC = (ROOT / "_toc.yml").read_text(encoding="utf-8")
CHAPTERS = sorted(p for p in (ROOT / "book").glob("[0-9][0-9]_*.md") if f"file: book/{p.stem}" in TOC)
REPO_URL = CONFIG["repository"]["url"]
HTML = ROOT / "_build" / "html"
OVERRIDES = '{"@jupyterlab/docmanager-extension:plugin": {"defaultViewers":'


def load_extension():
    spec = importlib.util.spec_from_file_location("launch_links", ROOT / "book" / "_ext" / "launch_links.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_one_repository_address_and_the_buttons_that_use_it() -> None:
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", REPO_URL), REPO_URL
    assert CONFIG["repository"]["branch"] == "main"
    html = CONFIG["html"]
    assert html["use_repository_button"] and html["use_edit_page_button"] and html["use_issues_button"]
    launch = CONFIG["launch_buttons"]
    assert launch["binderhub_url"] == "https://mybinder.org"
    assert launch["colab_url"] == "https://colab.research.google.com"
    assert launch["thebe"] is False and not launch["jupyterhub_url"]  # nothing that runs code in the page
    sphinx = CONFIG["sphinx"]
    assert sphinx["local_extensions"]["launch_links"] == "book/_ext"
    assert "launch_links" in sphinx["config"]["extensions"]
    assert sphinx["config"]["colab_notebooks_branch"] == "notebooks"


def test_the_colab_link_opens_the_chapters_notebook_form() -> None:
    links = load_extension()
    theme = "https://colab.research.google.com/github/lstm-course/lstm-course/blob/main/book/04_lstm.md"
    assert links.colab_notebook_url(theme, "notebooks") == (
        "https://colab.research.google.com/github/lstm-course/lstm-course/blob/notebooks/book/04_lstm.ipynb"
    )
    with pytest.raises(ValueError, match="not a Colab link"):
        links.colab_notebook_url("https://mybinder.org/v2/gh/o/r/main", "notebooks")
    # make notebooks writes exactly those paths: book/NN_topic.ipynb
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert '--output "_build/notebooks/$${chapter%.md}.ipynb"' in makefile


def test_the_binder_environment_exists_and_matches_make() -> None:
    requirements = (ROOT / "binder" / "requirements.txt").read_text(encoding="utf-8")
    constraint = re.search(r"^-c (\S+)$", requirements, re.M)
    assert constraint and (ROOT / "binder" / constraint.group(1)).resolve() == ROOT / "constraints" / "ci.txt"
    assert re.search(r"^torch$", requirements, re.M)
    post_build = ROOT / "binder" / "postBuild"
    assert os.access(post_build, os.X_OK), "binder/postBuild must be executable"
    script = post_build.read_text(encoding="utf-8")
    assert '-c constraints/ci.txt -e ".[lab]"' in script
    # the same JupyterLab override as make lab: book/*.md opens as a notebook
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert OVERRIDES in script and OVERRIDES in makefile
    bash = subprocess.run(["bash", "-n", str(post_build)], capture_output=True, text=True)
    assert bash.returncode == 0, bash.stderr


def colab_cell(chapter: Path):
    """The first code cell of a chapter."""
    notebook = jupytext.read(chapter)
    return next(cell for cell in notebook.cells if cell.cell_type == "code")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_each_chapter_installs_the_package_first_on_colab_only(chapter: Path) -> None:
    assert len(CHAPTERS) >= 7
    cell = colab_cell(chapter)
    assert cell.metadata.get("tags") == ["remove-cell"], (
        f"{chapter.name}: the cell must be hidden in the book"
    )
    assert '"google.colab" in sys.modules' in cell.source
    assert f'"lstm-course @ git+{REPO_URL}"' in cell.source, f"{chapter.name}: install from {REPO_URL}"
    # anywhere but Colab it does nothing: no pip, no subprocess
    with unittest.mock.patch("subprocess.run", side_effect=AssertionError("ran pip outside Colab")):
        exec(compile(cell.source, chapter.name, "exec"), {})
    # on Colab it runs pip for the package
    with (
        unittest.mock.patch.dict(sys.modules, {"google.colab": object()}),
        unittest.mock.patch("subprocess.run") as run,
    ):
        exec(compile(cell.source, chapter.name, "exec"), {})
    command = run.call_args.args[0]
    assert command[1:4] == ["-m", "pip", "install"] and f"lstm-course @ git+{REPO_URL}" in command


def test_the_exercises_page_links_every_exercise_notebook() -> None:
    page = (ROOT / "book" / "exercises.md").read_text(encoding="utf-8")
    linked = re.findall(r"\{download\}`(\d\d_\w+)\.ipynb <\.\./exercises/(\d\d_\w+)\.ipynb>`", page)
    assert all(shown == target for shown, target in linked)
    notebooks = sorted(p.stem for p in (ROOT / "exercises").glob("[0-9][0-9]_*.ipynb"))
    assert sorted(target for _, target in linked) == notebooks, "one {download} link per exercise notebook"


def test_citation_changelog_and_contributing() -> None:
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert citation["cff-version"] == "1.2.0" and citation["title"]
    assert citation["version"] == lstm_course.__version__
    assert citation["repository-code"] == REPO_URL and citation["license"] == "MIT"
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## \[?{re.escape(lstm_course.__version__)}\]?", changelog, re.M)
    # the README's layout rules, stated in CONTRIBUTING.md word for word (whitespace aside), so neither drifts
    contributing = " ".join((ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8").split())
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for start in ("Where things go:", "Data flows one way:"):
        paragraph = " ".join(readme[readme.index(start) :].split("\n\n")[0].split())
        assert paragraph in contributing, f"CONTRIBUTING.md must state the README's rule {start!r}"


def built(page: str) -> str:
    if not (HTML / page).is_file():
        if os.environ.get("LSTM_COURSE_REQUIRE_BOOK") == "1":
            pytest.fail(f"the book is not built: {HTML / page} is missing")
        pytest.skip("the book is not built (make book)")
    return (HTML / page).read_text(encoding="utf-8")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_the_built_page_has_the_buttons_as_plain_links(chapter: Path) -> None:
    page = built(f"book/{chapter.stem}.html")
    hrefs = set(re.findall(r'href="([^"]+)"', page))
    repo = REPO_URL.removeprefix("https://github.com/")
    assert REPO_URL in hrefs
    assert f"https://mybinder.org/v2/gh/{repo}/main?urlpath=lab/tree/book/{chapter.stem}.md" in hrefs
    colab = f"https://colab.research.google.com/github/{repo}/blob/notebooks/book/{chapter.stem}.ipynb"
    assert colab in hrefs
    download = f"../_sources/book/{chapter.stem}.ipynb"
    assert download in hrefs and (HTML / "_sources" / "book" / f"{chapter.stem}.ipynb").is_file()
    assert json.loads((HTML / "_sources" / "book" / f"{chapter.stem}.ipynb").read_text(encoding="utf-8"))
    assert "google.colab" not in page  # the install cell is hidden


def test_only_the_mathjax_files_the_book_uses_are_copied() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    files = re.search(r"^MATHJAX_FILES\s*:=\s*(.+)$", makefile, re.M).group(1).split()
    assert files[0] == "tex-chtml.js" and "output/chtml/fonts/woff-v2" in files
    assert not any(f.endswith(".js") and f != "tex-chtml.js" for f in files), "one component: tex-chtml.js"
    assert "cp -r --parents $(MATHJAX_FILES)" in makefile
    built("index.html")
    static = HTML / "_static" / "mathjax"
    size = sum(p.stat().st_size for p in static.rglob("*") if p.is_file())
    assert (static / "tex-chtml.js").is_file() and not (static / "tex-svg.js").exists()
    assert size < 10 * 2**20, f"{size / 2**20:.1f} MB of MathJax in the build"
