"""The pytest plugin the grader loads into its nbval subprocess: it appends one JSON line per test report.

Each line is written (and flushed) as soon as a cell finishes, so when the grader kills a notebook that ran
past its overall time limit, the cells that did finish keep their results.
"""

from __future__ import annotations

import json
import os
import re

import pytest

ENV = "LSTM_COURSE_GRADE_LOG"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@pytest.hookimpl
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Record the outcome of each cell (its call phase, or a failed setup) with its failure text."""
    path = os.environ.get(ENV)
    if not path or not (report.when == "call" or report.failed):
        return
    cell = re.search(r"::Cell (\d+)$", report.nodeid)
    line = {
        "file": report.nodeid.split("::")[0],
        "cell": int(cell.group(1)) if cell else None,
        "when": report.when,
        "outcome": report.outcome,
        "text": ANSI.sub("", report.longreprtext) if report.failed else "",
    }
    with open(path, "a", encoding="utf-8") as log:
        log.write(json.dumps(line) + "\n")
        log.flush()
