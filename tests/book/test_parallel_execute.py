"""book/_ext/parallel_execute.py: the chapters executed BOOK_JOBS at a time into the cache myst-nb reads.

The helpers are tested directly. Three small Sphinx builds (one kernel each, seconds) check what matters: with
BOOK_JOBS=2 myst-nb finds the notebook in the cache and executes nothing itself, so the extension hashed what
myst-nb hashes; the page is the same as a serial build's; a failing cell fails the build and shows the cell.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
EXT = ROOT / "book" / "_ext"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXT / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


parallel = _load("parallel_execute")


@pytest.mark.parametrize(("value", "jobs"), [(None, 1), ("", 1), ("1", 1), ("2", 2), (" 3 ", 3)])
def test_jobs_from_environment(value, jobs):
    environ = {} if value is None else {"BOOK_JOBS": value}
    assert parallel.jobs_from_environment(environ) == jobs


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_bad_book_jobs_names_the_variable(value):
    with pytest.raises(ValueError, match="BOOK_JOBS"):
        parallel.jobs_from_environment({"BOOK_JOBS": value})


@pytest.mark.parametrize(
    ("jobs", "cores", "threads"), [(1, 2, 2), (2, 2, 1), (3, 2, 1), (2, 16, 8), (3, 16, 5)]
)
def test_threads_per_kernel_never_oversubscribes(jobs, cores, threads):
    assert parallel.threads_per_kernel(jobs, cores) == threads


@pytest.mark.parametrize("jobs", [0, -2, 1.0, "2"])
def test_threads_per_kernel_rejects_bad_jobs(jobs):
    with pytest.raises(ValueError, match="jobs"):
        parallel.threads_per_kernel(jobs, 2)


def test_longest_first_starts_the_never_timed_then_the_slowest():
    seconds = {"a": 5.0, "b": 300.0, "c": 40.0}
    assert parallel.longest_first(["a", "new", "b", "c", "newer"], seconds) == ["new", "newer", "b", "c", "a"]


def test_hints_are_read():
    """A cold build orders by execution_seconds.json (a chapter not in it starts first): it must parse."""
    hints = json.loads((EXT / "execution_seconds.json").read_text(encoding="utf-8"))
    assert hints and parallel._load_seconds(parallel.HINTS_FILE) == hints


def test_the_book_and_make_use_it():
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["sphinx"]
    assert config["local_extensions"]["parallel_execute"] == "book/_ext"
    assert "parallel_execute" in config["config"]["extensions"]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^BOOK_JOBS\s*\?=\s*2$", makefile, re.M)
    assert "BOOK_JOBS=$(BOOK_JOBS) $(VENV)/bin/jupyter-book build" in makefile


NOTEBOOK_HEADER = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""


def _conf(tmp_path: Path, extra: str) -> Path:
    """tmp_path/src with a conf.py like the book's (myst-nb's cache mode, this extension), plus ``extra``."""
    source = tmp_path / "src"
    source.mkdir(exist_ok=True)
    (source / "conf.py").write_text(
        textwrap.dedent(f"""
            import sys
            sys.path.insert(0, {str(EXT)!r})
            extensions = ["myst_nb", "parallel_execute"]
            nb_execution_mode = "cache"
            nb_execution_cache_path = {str(tmp_path / "cache")!r}
            nb_execution_raise_on_error = True
            nb_execution_timeout = 120
        """)
        + extra
        + "\n",
        encoding="utf-8",
    )
    return source


def _project(tmp_path: Path, cell: str) -> Path:
    """A one-notebook Sphinx project with myst-nb's cache mode, like the book's configuration."""
    source = _conf(tmp_path, "nb_merge_streams = True")
    (source / "index.md").write_text("# Index\n\n```{toctree}\nchapter\n```\n", encoding="utf-8")
    chapter = NOTEBOOK_HEADER + "\n# Chapter\n\n```{code-cell} ipython3\n" + cell + "\n```\n\nSome text.\n"
    (source / "chapter.md").write_text(chapter, encoding="utf-8")
    return source


def _build(source: Path, out: Path, jobs: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "BOOK_JOBS": jobs, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-E", str(source), str(out)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


CELL = 'import os\nprint(sum(i * i for i in range(10)), os.environ.get("OMP_NUM_THREADS"))'


@pytest.mark.slow
def test_myst_nb_takes_the_parallel_result_from_the_cache(tmp_path):
    source = _project(tmp_path, CELL)
    build = _build(source, tmp_path / "html", "2")
    log = build.stdout + build.stderr
    assert build.returncode == 0, log
    assert "[parallel_execute] executing 1 notebooks" in log
    assert "chapter.md: Using cached notebook" in log, "myst-nb hashed another notebook and executed it again"
    assert "Executing notebook using" not in log, log
    assert "chapter " in log and "hashed differently" not in log, "the closing table must list the chapter"
    page = (tmp_path / "html" / "chapter.html").read_text(encoding="utf-8")
    threads = parallel.threads_per_kernel(1)
    assert f"285 {threads}" in page, "the kernel did not run with the thread limit"


@pytest.mark.slow
def test_one_job_leaves_execution_to_myst_nb_and_the_page_is_the_same(tmp_path):
    """BOOK_JOBS=1 is a serial build, and a parallel build's page shows the same outputs."""
    source = _project(tmp_path, 'print(sum(i * i for i in range(10)), "done")')
    serial = _build(source, tmp_path / "serial", "1")
    assert serial.returncode == 0, serial.stdout + serial.stderr
    assert "[parallel_execute] executing" not in serial.stdout
    assert "Executing notebook using" in serial.stdout + serial.stderr
    (tmp_path / "cache").rename(tmp_path / "serial-cache")
    parallel_build = _build(source, tmp_path / "parallel", "2")
    assert parallel_build.returncode == 0, parallel_build.stdout + parallel_build.stderr
    outputs = [
        re.findall(r'<div class="cell_output.*?</pre>', (tmp_path / name / "chapter.html").read_text(), re.S)
        for name in ("serial", "parallel")
    ]
    assert outputs[0] and outputs[0] == outputs[1]


@pytest.mark.slow
def test_a_failing_cell_fails_the_build_and_shows_the_cell(tmp_path):
    source = _project(tmp_path, 'x = 1\nraise RuntimeError("broken on purpose")')
    build = _build(source, tmp_path / "html", "2")
    log = build.stdout + build.stderr
    assert build.returncode != 0, log
    assert "Executing notebook failed" in log and "chapter.md" in log
    assert 'raise RuntimeError("broken on purpose")' in log, "the failing cell is not shown"
    assert "RuntimeError" in log and "broken on purpose" in log


# --- pages that read the chapters' results (results_pages): fresh after every chapter, never from the cache

APPENDIX_HEADER = NOTEBOOK_HEADER.replace("\n---\n", "\nmystnb:\n  execution_mode: force\n---\n")


def _results_project(tmp_path: Path, value: int) -> Path:
    """Two chapters that record a number and an appendix (sorted first by name) that prints them."""
    source = _conf(tmp_path, 'results_pages = ["a_appendix"]')
    (source / "index.md").write_text("# Index\n\n```{toctree}\na_appendix\nch2\nch3\n```\n", encoding="utf-8")
    for chapter, number in (("ch2", value), ("ch3", 7)):
        cell = f'from lstm_course.results import record\nrecord("{chapter}.x", {number}, section="s")'
        text = NOTEBOOK_HEADER + f"\n# {chapter}\n\n```{{code-cell}} ipython3\n{cell}\n```\n"
        (source / f"{chapter}.md").write_text(text, encoding="utf-8")
    cell = (
        'from lstm_course.results import load_results\nr = load_results(["ch2", "ch3"])\n'
        'print("read", r["ch2.x"], r["ch3.x"])'
    )
    (source / "a_appendix.md").write_text(
        APPENDIX_HEADER + f"\n# Appendix\n\n```{{code-cell}} ipython3\n{cell}\n```\n", encoding="utf-8"
    )
    return source


def _incremental_build(source: Path, out: Path, jobs: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "BOOK_JOBS": jobs,
        "PYTHONPATH": str(ROOT),
        "LSTM_COURSE_RESULTS": "/nonexistent/elsewhere",
    }
    command = [sys.executable, "-m", "sphinx", "-b", "html", str(source), str(out)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


def test_the_appendix_header_asks_for_forced_execution():
    assert (
        APPENDIX_HEADER.startswith("---\njupytext:")
        and "mystnb:\n  execution_mode: force\n---\n" in APPENDIX_HEADER
    )
    page = (ROOT / "book" / "appendix_a_claims.md").read_text(encoding="utf-8")
    front = yaml.safe_load(page.split("---\n")[1])
    assert front["mystnb"]["execution_mode"] == "force", (
        "the appendix would be served from the execution cache"
    )
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["sphinx"]["config"]
    assert "book/appendix_a_claims" in config["results_pages"]


def test_results_pages_are_read_last_and_whenever_another_page_is_read():
    class App:
        class config:  # noqa: N801
            results_pages = ["book/appendix_a_claims"]

    class Env:
        found_docs = {"book/appendix_a_claims", "book/04_lstm", "book/intro"}

    docnames = ["book/04_lstm", "book/appendix_a_claims", "book/intro"]
    parallel.read_results_pages_last(App, Env, docnames)
    assert docnames == ["book/04_lstm", "book/intro", "book/appendix_a_claims"]
    assert parallel.results_pages_outdated(App, Env, set(), {"book/04_lstm"}, set()) == [
        "book/appendix_a_claims"
    ]
    assert parallel.results_pages_outdated(App, Env, set(), set(), set()) == []
    assert parallel.results_pages_outdated(App, Env, set(), {"book/appendix_a_claims"}, set()) == []


@pytest.mark.slow
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_the_appendix_reads_this_builds_numbers_after_a_chapter_changes(tmp_path, jobs):
    """The appendix's source never changes, yet after a chapter's number changes it shows the new number."""
    source = _results_project(tmp_path, 1)
    first = _incremental_build(source, tmp_path / "html", jobs)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "read 1 7" in (tmp_path / "html" / "a_appendix.html").read_text(encoding="utf-8")
    assert (tmp_path / "results" / "ch2.json").is_file(), (
        "the build did not set LSTM_COURSE_RESULTS to _build/results"
    )
    appendix_mtime = (source / "a_appendix.md").stat().st_mtime_ns
    chapter = (source / "ch2.md").read_text(encoding="utf-8")
    (source / "ch2.md").write_text(chapter.replace('"ch2.x", 1,', '"ch2.x", 2,'), encoding="utf-8")
    assert (source / "a_appendix.md").stat().st_mtime_ns == appendix_mtime  # the appendix is untouched
    second = _incremental_build(source, tmp_path / "html", jobs)
    log = second.stdout + second.stderr
    assert second.returncode == 0, log
    assert "read 2 7" in (tmp_path / "html" / "a_appendix.html").read_text(encoding="utf-8"), "stale appendix"
    assert (
        "ch3.md: Using cached notebook" in log or "ch3" not in log.split("reading sources")[-1].split("\n")[0]
    )
