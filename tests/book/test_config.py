"""The book's configuration and chapter sources, checked without building; each failure names the fix."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
NOTEBOOK_CHAPTERS = [
    "book/00_preface",
    "book/01_feedforward",
    "book/02_rnn",
    "book/03_vanishing_gradients",
    "book/04_lstm",
    "book/05_gru",
    "book/06_deep_bidirectional",
    "book/07_seq2seq",
    "book/08_attention",
    "book/09_applications",
    "book/appendix_a_claims",
    "book/appendix_b_performance",
]
CODE_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```", re.S | re.M)


def _toc_files(node) -> list[str]:
    """Every `file:` entry of _toc.yml, depth first."""
    files = []
    if isinstance(node, dict):
        for key in ("root", "file"):
            if key in node:
                files.append(node[key])
        for value in node.values():
            if isinstance(value, (list, dict)):
                files += _toc_files(value)
    elif isinstance(node, list):
        for item in node:
            files += _toc_files(item)
    return files


TOC_FILES = _toc_files(TOC)


def _source(docname: str) -> str:
    return (ROOT / f"{docname}.md").read_text(encoding="utf-8")


def _front_matter(text: str) -> dict:
    match = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    return yaml.safe_load(match.group(1)) if match else {}


def test_toc_lists_the_contract_pages():
    for page in [*NOTEBOOK_CHAPTERS, "book/exercises", "book/api", "book/intro"]:
        assert page in TOC_FILES, f"{page} is missing from _toc.yml"


@pytest.mark.parametrize("docname", TOC_FILES)
def test_toc_entry_exists(docname):
    assert (ROOT / f"{docname}.md").is_file(), f"_toc.yml lists {docname} but {docname}.md does not exist"


@pytest.mark.parametrize("docname", TOC_FILES)
def test_pages_with_code_are_jupytext_notebooks(docname):
    text = _source(docname)
    if docname not in NOTEBOOK_CHAPTERS and not CODE_CELL.search(text):
        return
    meta = _front_matter(text)
    assert meta.get("jupytext", {}).get("text_representation", {}).get("format_name") == "myst", (
        f"{docname}.md needs a jupytext header (format_name: myst)"
    )
    assert meta.get("kernelspec", {}).get("name") == "python3", f"{docname}.md needs kernelspec name python3"


def test_no_notebooks_committed_in_book():
    found = sorted(
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "book").rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts
    )
    assert not found, f"chapters are .md notebooks; remove {found}"


def _package_functions() -> set[str]:
    """Names of the functions and classes defined at the top level of any module of lstm_course."""
    names = set()
    for path in (ROOT / "lstm_course").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names |= {
            node.name
            for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
        }
    return names


@pytest.mark.parametrize("docname", NOTEBOOK_CHAPTERS)
def test_chapters_do_not_paste_package_code(docname):
    """A chapter imports the package and shows its code with literalinclude; it never redefines it."""
    package = _package_functions()
    for cell in CODE_CELL.findall(_source(docname)):
        cell = re.sub(r"\A---\n.*?\n---\n", "", cell, flags=re.S)  # a YAML block of cell options
        code = "\n".join(
            line
            for line in cell.splitlines()
            if not line.lstrip().startswith(("%", "!")) and not re.match(r"^:\w[\w-]*:", line)
        )  # IPython magics, `:tags:` options
        tree = ast.parse(code)
        defined = {
            node.name
            for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
        }
        pasted = defined & package
        assert not pasted, f"{docname}.md defines {sorted(pasted)}, which the package has: import it instead"


@pytest.mark.parametrize("docname", NOTEBOOK_CHAPTERS)
def test_chapters_link_to_their_exercises(docname):
    text = _source(docname)
    assert re.search(r"\{doc\}`[^`]*exercises>?`", text) or re.search(r"\{ref\}`ex-\d\d-", text), (
        f"{docname}.md must link to the exercises page ({{doc}}`exercises` or a {{ref}}`ex-NN-...` label)"
    )


def _literalincludes(text: str) -> list[tuple[str, str | None]]:
    found = []
    for match in re.finditer(r"^```\{literalinclude\} (\S+)\n((?::[^\n]*\n)*)", text, re.M):
        pyobject = re.search(r"^:pyobject: (\S+)", match.group(2), re.M)
        found.append((match.group(1), pyobject.group(1) if pyobject else None))
    return found


def _has_object(tree: ast.Module, dotted: str) -> bool:
    body = tree.body
    for part in dotted.split("."):
        node = next(
            (
                n
                for n in body
                if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) and n.name == part
            ),
            None,
        )
        if node is None:
            return False
        body = node.body
    return True


@pytest.mark.parametrize("docname", NOTEBOOK_CHAPTERS)
def test_literalincludes_point_at_package_objects(docname):
    for relpath, pyobject in _literalincludes(_source(docname)):
        path = (ROOT / "book" / relpath).resolve()
        assert path.is_file(), f"{docname}.md includes {relpath}, which does not exist"
        assert ROOT / "lstm_course" in path.parents, f"{docname}.md includes {relpath}: only package code"
        if pyobject:
            tree = ast.parse(path.read_text(encoding="utf-8"))
            assert _has_object(tree, pyobject), f"{docname}.md: no {pyobject} in {relpath}"


def test_config_is_strict_cached_and_offline():
    execute, sphinx = CONFIG["execute"], CONFIG["sphinx"]["config"]
    assert execute["execute_notebooks"] == "cache"
    assert execute["raise_on_error"] is True and sphinx["nb_execution_raise_on_error"] is True
    assert execute["allow_errors"] is False
    assert sphinx["myst_dmath_double_inline"] is True
    assert {"dollarmath", "amsmath"} <= set(CONFIG["parse"]["myst_enable_extensions"])
    for pattern in [".*", "_build", "exercises", "tests", ".venv", "node_modules", "bench", "README.md"]:
        assert pattern in CONFIG["exclude_patterns"], f"exclude_patterns must list {pattern!r}"
    extensions = sphinx["extensions"]
    assert "sphinx_thebe" not in extensions and "sphinx.ext.intersphinx" not in extensions
    assert not sphinx.get("intersphinx_mapping")
    assert CONFIG["launch_buttons"]["thebe"] is False
    # Binder and Colab are plain links in the header (tests/book/test_launch.py); nothing runs in the page
    assert not CONFIG["launch_buttons"].get("jupyterhub_url")
    assert {"sphinx.ext.autodoc", "sphinx.ext.napoleon"} <= set(extensions)
    # sphinx.config.extensions replaces Jupyter Book's list, so it must repeat the extra and local extensions
    assert set(CONFIG["sphinx"]["extra_extensions"]) <= set(extensions)
    assert set(CONFIG["sphinx"]["local_extensions"]) <= set(extensions)


def test_mathjax_is_served_from_the_build():
    sphinx = CONFIG["sphinx"]["config"]
    path = sphinx["mathjax_path"]
    assert not re.match(r"^(https?:)?//", path), "mathjax_path must be local, not a CDN"
    static = sphinx["html_static_path"]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    mathjax_target = re.search(r"^MATHJAX\s*:?=\s*(\S+)", makefile, re.M).group(1)
    assert any(f"{s.rstrip('/')}/{path}" == mathjax_target for s in static), (
        f"the Makefile copies MathJax to {mathjax_target}, but the book loads {path} from {static}"
    )


def test_every_exercise_label_the_chapters_cite_is_in_the_contract():
    contract = {"ex-01-activations", "ex-02-rnn", "ex-03-gradients", "ex-04-lstm", "ex-05-adding"}
    contract |= {"ex-06-gru", "ex-07-bidirectional", "ex-08-attention", "ex-09-seq2seq"}
    for docname in NOTEBOOK_CHAPTERS:
        cited = set(re.findall(r"\{ref\}`(ex-[\w-]+)`", _source(docname)))
        assert cited <= contract, f"{docname}.md cites {sorted(cited - contract)}, not in the contract"


@pytest.mark.parametrize("docname", NOTEBOOK_CHAPTERS)
def test_chapter_is_in_jupytext_normal_form(docname):
    """Saving a chapter unchanged in JupyterLab (jupytext) must not rewrite it."""
    jupytext = pytest.importorskip("jupytext")
    text = _source(docname)
    again = jupytext.writes(jupytext.reads(text, fmt="md:myst"), fmt="md:myst")
    assert again == text, f"{docname}.md is not in jupytext's normal form: run jupytext --to myst on it"
