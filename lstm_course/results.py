"""Numbers the chapters measure, kept for the appendices that compare them.

A chapter calls :func:`record` (a number an appendix row needs) and :func:`record_cost` (an experiment's
training steps and seconds) while it executes. Appendix A reads them back with :func:`load_results` and turns
them into verdicts (:mod:`lstm_course.claims`); appendix B's "training cost of the book's experiments" table
is :func:`training_cost_table`. Nothing is typed twice: the appendix shows the number the chapter computed.

Where the files go (:func:`results_dir`):

- ``$LSTM_COURSE_RESULTS`` when set. The book build sets it to ``_build/results`` (the ``parallel_execute``
  extension, before any chapter runs), so every chapter kernel writes there.
- Otherwise (a chapter run in Jupyter Lab or Colab) ``~/.lstm-course/results``: run the chapters there, then
  the appendix, and it reads what they wrote.

One JSON file per chapter, ``ch4.json`` for chapter 4, written atomically (a temporary file, then a rename),
since the book executes two chapters at once. The first record a process writes starts its chapter's file
afresh, so a re-executed chapter never keeps a number from an earlier run that it no longer records.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from lstm_course.plot.tables import Link, Table

ENVIRONMENT_VARIABLE = "LSTM_COURSE_RESULTS"
DEFAULT_DIR = Path("~") / ".lstm-course" / "results"
# chapter key -> the page that executes it (the book's docname, without "book/")
CHAPTERS = {
    "ch2": "02_rnn",
    "ch3": "03_vanishing_gradients",
    "ch4": "04_lstm",
    "ch5": "05_gru",
    "ch6": "06_deep_bidirectional",
    "ch7": "07_seq2seq",
    "ch8": "08_attention",
    "ch9": "09_applications",
}
NAME = re.compile(r"(ch[0-9]+)\.[a-z0-9_]+(\.[a-z0-9_]+)*")  # "ch4.forget_bias.solved"
SECTION = re.compile(
    r"[a-z0-9]+(-[a-z0-9]+)*"
)  # an HTML id: a label "sec-x" or a heading's "the-adding-problem"
_STARTED: set[str] = set()  # chapters this process has written to: the first write starts the file afresh


def results_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The folder the results files live in: ``$LSTM_COURSE_RESULTS``, else ``~/.lstm-course/results``."""
    value = (os.environ if environ is None else environ).get(ENVIRONMENT_VARIABLE, "").strip()
    return Path(value) if value else DEFAULT_DIR.expanduser()


def chapter_of(name: str) -> str:
    """The chapter key of a record's name: ``"ch4"`` for ``"ch4.forget_bias.solved"``."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    match = NAME.fullmatch(name)
    if match is None or match.group(1) not in CHAPTERS:
        raise ValueError(
            f"name must be 'chN.what' with N one of the chapters {sorted(CHAPTERS)} and lower-case words, "
            f"got {name!r}"
        )
    return match.group(1)


def _check_section(section: Any) -> str:
    if not isinstance(section, str):
        raise TypeError(f"section must be a str, got {type(section).__name__}")
    if SECTION.fullmatch(section) is None:
        raise ValueError(
            f"section must be a section's HTML id (lower-case words joined by '-'), got {section!r}"
        )
    return section


def _plain(value: Any, where: str) -> Any:
    """``value`` as plain JSON (numpy scalars and arrays become numbers and lists); NaN, inf, others raise."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if hasattr(value, "tolist") and not isinstance(value, (int, float)):  # numpy scalar or array
        return _plain(value.tolist(), where)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"value{where} is {value}: record finite numbers only")
        return float(value)
    if isinstance(value, Mapping):
        plain = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"value{where} has a key {key!r} that is not a str (JSON keys are text)")
            plain[key] = _plain(item, f"{where}[{key!r}]")
        return plain
    if isinstance(value, (list, tuple)):
        return [_plain(item, f"{where}[{k}]") for k, item in enumerate(value)]
    raise TypeError(f"value{where} is a {type(value).__name__}, not JSON (numbers, text, lists, dicts)")


def _chapter_file(chapter: str, folder: Path) -> Path:
    return folder / f"{chapter}.json"


def _read(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not {"records", "costs"} <= set(data):
        raise ValueError(f"{path} is not a results file (records and costs)")
    return data


def _update(chapter: str, kind: str, name: str, entry: dict[str, Any], folder: Path | None) -> Path:
    """Write one entry into the chapter's file, atomically; this process's first write starts it afresh."""
    folder = results_dir() if folder is None else Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = _chapter_file(chapter, folder)
    key = f"{folder.resolve()}:{chapter}"
    if key in _STARTED and path.exists():
        data = _read(path)
    else:
        data = {"chapter": chapter, "page": CHAPTERS[chapter], "records": {}, "costs": {}}
    _STARTED.add(key)
    data[kind][name] = entry
    handle, temporary = tempfile.mkstemp(prefix=f".{chapter}-", suffix=".json", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(data, file, indent=1, sort_keys=True)
            file.write("\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def record(name: str, value: Any, *, section: str, folder: Path | None = None) -> Path:
    """Keep a number a chapter measured for the appendices: ``value`` under ``name``, from ``section``.

    Args:
        name: ``"chN.what"``, e.g. ``"ch4.forget_bias.solved"``; N says which chapter's file it goes to.
        value: JSON: numbers (finite), text, booleans, None, and lists and dicts of them (numpy values are
            converted).
        section: the HTML id of the section whose experiment measured it: a label such as
            ``"sec-forget-bias-training"`` or a heading's id such as ``"the-adding-problem-solved"``.
        folder: where to write; :func:`results_dir` when None.

    Returns:
        The chapter's results file.
    """
    chapter = chapter_of(name)
    section = _check_section(section)
    plain = _plain(value, "")
    return _update(chapter, "records", name, {"value": plain, "section": section}, folder)


CLOCKS = ("wall", "CPU")  # what a cost's seconds measure: time.perf_counter or time.process_time


def record_cost(
    name: str, *, steps: int, seconds: float, clock: str, section: str, folder: Path | None = None
) -> Path:
    """Keep an experiment's training cost: ``steps`` optimiser steps (all its runs) in ``seconds``.

    ``name`` is ``"chN.experiment"`` as for :func:`record`; ``seconds`` are what the chapter measured when it
    ran, and ``clock`` says which: ``"wall"`` (time.perf_counter) or ``"CPU"`` (time.process_time), as that
    chapter times its experiments.
    """
    chapter = chapter_of(name)
    section = _check_section(section)
    if isinstance(steps, bool) or not isinstance(_plain(steps, ""), int) or steps < 0:
        raise ValueError(f"steps must be a non-negative int, got {steps!r}")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) and not hasattr(seconds, "item"):
        raise TypeError(f"seconds must be a number, got {type(seconds).__name__}")
    seconds = float(seconds)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"seconds must be finite and non-negative, got {seconds}")
    if clock not in CLOCKS:
        raise ValueError(f"clock must be one of {CLOCKS}, got {clock!r}")
    entry = {"steps": int(steps), "seconds": seconds, "clock": clock, "section": section}
    return _update(chapter, "costs", name, entry, folder)


class Results:
    """What the chapters recorded: ``results["ch4.forget_bias.solved"]`` is the value, and
    :meth:`section` and :meth:`page` say where it was measured."""

    def __init__(self, chapters: Mapping[str, Mapping[str, Any]]) -> None:
        self.chapters = dict(chapters)

    def _entry(self, name: str) -> Mapping[str, Any]:
        chapter = chapter_of(name)
        if chapter not in self.chapters:
            raise KeyError(
                f"{name}: no results from chapter {chapter} ({CHAPTERS[chapter]}): execute it first"
            )
        records = self.chapters[chapter]["records"]
        if name not in records:
            raise KeyError(
                f"{name}: chapter {chapter} ({CHAPTERS[chapter]}) did not record it: "
                "execute its current version"
            )
        return records[name]

    def __getitem__(self, name: str) -> Any:
        return self._entry(name)["value"]

    def section(self, name: str) -> str:
        """The HTML id of the section that measured ``name``."""
        return self._entry(name)["section"]

    def page(self, name: str) -> str:
        """The page that measured ``name``, e.g. ``"04_lstm"``."""
        return CHAPTERS[chapter_of(name)]

    def costs(self) -> list[tuple[str, str, str, int, float, str]]:
        """(experiment, page, section, steps, seconds, clock) per recorded experiment, in chapter order."""
        rows = []
        for chapter in sorted(self.chapters, key=lambda key: int(key[2:])):
            for name, entry in self.chapters[chapter]["costs"].items():
                row = (
                    name,
                    CHAPTERS[chapter],
                    entry["section"],
                    entry["steps"],
                    entry["seconds"],
                    entry["clock"],
                )
                rows.append(row)
        return rows


def load_results(chapters: Iterable[str], folder: Path | None = None) -> Results:
    """The results of ``chapters`` (keys such as ``"ch4"``); a missing file raises, naming the pages to run.

    In a book build a chapter taken from the execution cache does not execute; if ``_build/results`` was
    removed, remove ``_build/.jupyter_cache`` too, so that the chapters execute and record again.
    """
    folder = results_dir() if folder is None else Path(folder)
    wanted = list(chapters)
    for chapter in wanted:
        if chapter not in CHAPTERS:
            raise ValueError(f"chapters: {chapter!r} is not one of {sorted(CHAPTERS)}")
    missing = [chapter for chapter in wanted if not _chapter_file(chapter, folder).is_file()]
    if missing:
        pages = ", ".join(f"{CHAPTERS[chapter]}.md" for chapter in missing)
        which = "that chapter" if len(missing) == 1 else "those chapters"
        raise FileNotFoundError(
            f"no results in {folder} from {pages}: execute {which} first (in the same environment, so that "
            f"{ENVIRONMENT_VARIABLE} names the same folder; in a book build, remove _build/.jupyter_cache so "
            "that the chapters execute), then this page"
        )
    return Results({chapter: _read(_chapter_file(chapter, folder)) for chapter in wanted})


def training_cost_table(results: Results | None = None, folder: Path | None = None) -> Table:
    """Appendix B's "training cost of the book's experiments": experiment, section, steps, seconds.

    From every chapter whose results file exists (``results`` if given, else those in ``folder``).
    """
    if results is None:
        folder = results_dir() if folder is None else Path(folder)
        present = [chapter for chapter in CHAPTERS if _chapter_file(chapter, folder).is_file()]
        results = load_results(present, folder)
    rows = [
        [
            name.split(".", 1)[1].replace("_", " "),
            Link(f"ch. {int(page[:2])} § {section}", f"{page}.html#{section}"),
            steps,
            seconds,
            clock,
        ]
        for name, page, section, steps, seconds, clock in results.costs()
    ]
    return Table(
        ["experiment", "chapter section", "training steps", "seconds", "clock"],
        rows,
        caption="Training cost of the book's experiments, measured when the chapters were executed",
        formats={"seconds": lambda value: f"{value:.1f}"},
    )
