"""The benchmarks' results file: timings with their provenance, checked on load, shown as ratio tables.

``bench/bench.py`` writes it (``bench/results.json``); the performance appendix reads it, never re-measures.
A file holds ``provenance`` (where, when and how it was measured) and ``measurements``, one per device,
thread count, cell, shape and implementation, each the median milliseconds of a forward+backward pass.
Ratios are always taken against ``torch.nn`` measured in the same file at the same device, threads, cell and
shape: only those compare.
"""

from __future__ import annotations

import json
import math
import os
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lstm_course.plot.tables import Table

FORMAT = 1  # bumped when the file's layout changes
# where bench/bench.py's full run is committed, in a source checkout (a wheel does not ship bench/)
COMMITTED = Path(__file__).resolve().parents[2] / "bench" / "results.json"
# implementation: its column heading, in the tables' order; torch.nn is the base of every ratio
IMPLEMENTATIONS = {
    "numpy-loop": "NumPy reference",
    "numpy-vectorised": "NumPy vectorised",
    "ours-plain": "ours, plain",
    "ours-fast": "ours, fast",
    "naive": "naive baseline",
    "torch.nn": "torch.nn",
}
CELLS = ("rnn", "lstm", "gru")
DEVICES = ("cpu", "cuda")
PROVENANCE = {  # field: its type
    "cpu_model": str,
    "cores": int,
    "threads": list,
    "torch": str,
    "numpy": str,
    "blas": str,
    "gpu": (str, type(None)),
    "date": str,
    "commit": str,
    "command": str,
    "python": str,
    "rounds": int,
    "reps": int,
    "seconds": float,  # the whole run's wall time
}
MEASUREMENT = {
    "device": str,
    "threads": int,
    "cell": str,
    "shape": str,
    "dims": list,
    "impl": str,
    "median_ms": float,
    "passes": int,
}


def _check_fields(record: Any, fields: Mapping[str, Any], where: str) -> None:
    if not isinstance(record, dict):
        raise ValueError(f"{where} must be an object, got {type(record).__name__}")
    for name, kind in fields.items():
        if name not in record:
            raise ValueError(f"{where} lacks {name!r}")
        value = record[name]
        # an int is a fine float (a JSON 3.0 may come back as 3), a bool is never an int
        ok = isinstance(value, kind) or (kind is float and isinstance(value, int))
        if not ok or (isinstance(value, bool) and kind is not bool):
            raise ValueError(f"{where}[{name!r}] must be {kind}, got {value!r}")


def validate_results(results: Any) -> dict:
    """``results`` itself if it is a well-formed results file (as a dict); ValueError naming what is wrong."""
    _check_fields(results, {"format": int, "provenance": dict, "measurements": list}, "results")
    if results["format"] != FORMAT:
        raise ValueError(f"results['format'] is {results['format']!r}, this code reads {FORMAT}")
    _check_fields(results["provenance"], PROVENANCE, "results['provenance']")
    seen = set()
    for k, row in enumerate(results["measurements"]):
        where = f"results['measurements'][{k}]"
        _check_fields(row, MEASUREMENT, where)
        for name, allowed in (("device", DEVICES), ("cell", CELLS), ("impl", tuple(IMPLEMENTATIONS))):
            if row[name] not in allowed:
                raise ValueError(f"{where}[{name!r}] must be one of {allowed}, got {row[name]!r}")
        if len(row["dims"]) != 4 or not all(isinstance(n, int) and n > 0 for n in row["dims"]):
            raise ValueError(f"{where}['dims'] must be four positive ints (B, T, D, H), got {row['dims']!r}")
        if not (math.isfinite(row["median_ms"]) and row["median_ms"] > 0) or row["passes"] < 1:
            raise ValueError(f"{where}: median_ms must be finite and > 0 and passes >= 1, got {row!r}")
        key = (row["device"], row["threads"], row["cell"], row["shape"], row["impl"])
        if key in seen:
            raise ValueError(f"{where} repeats the measurement {key}")
        seen.add(key)
    return results


def load_results(path: str | os.PathLike) -> dict:
    """The results file at ``path``, validated (:func:`validate_results`)."""
    with open(path, encoding="utf-8") as file:
        return validate_results(json.load(file))


def save_results(results: dict, path: str | os.PathLike) -> None:
    """Write ``results`` (validated first) to ``path`` as indented JSON."""
    text = json.dumps(validate_results(results), indent=1)
    Path(path).write_text(text + "\n", encoding="utf-8")


def _medians(results: dict, device: str) -> dict[tuple, dict[str, float]]:
    """{(threads, cell, shape label, dims): {impl: median ms}} of one device, in the file's order."""
    groups: dict[tuple, dict[str, float]] = {}
    for row in results["measurements"]:
        if row["device"] == device:
            key = (row["threads"], row["cell"], row["shape"], tuple(row["dims"]))
            groups.setdefault(key, {})[row["impl"]] = row["median_ms"]
    return groups


def _ratio_text(value: Any) -> str:
    return "–" if value is None else f"{value:.2f}×"


def ratio_table(results: dict, device: str = "cpu") -> Table:
    """Per cell, shape and thread count: torch.nn's median ms and every implementation's time over it.

    A device with no measurements gives one row saying so ("not measured").
    """
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    validate_results(results)
    others = [impl for impl in IMPLEMENTATIONS if impl != "torch.nn"]
    columns = ["cell", "shape (B, T, D, H)", "threads", "torch.nn ms", *(IMPLEMENTATIONS[i] for i in others)]
    groups = _medians(results, device)
    rows = []
    order = {cell: k for k, cell in enumerate(CELLS)}
    for (threads, cell, label, dims), medians in sorted(groups.items(), key=lambda kv: order[kv[0][1]]):
        base = medians.get("torch.nn")
        ratios = [None if base is None or i not in medians else medians[i] / base for i in others]
        rows.append([cell, f"{label} {dims}", threads, base, *ratios])
    if not rows:
        why = (
            "no GPU was available to the run" if device == "cuda" and not results["provenance"]["gpu"] else ""
        )
        why = why or f"the file has no {device} measurements"
        rows = [["not measured", why, None, None, *[None] * len(others)]]
    formats = {IMPLEMENTATIONS[i]: _ratio_text for i in others}
    caption = f"{device}: forward+backward with dx, float32; time over torch.nn's (median ms) in the same run"
    return Table(columns, rows, caption=caption, formats=formats)


def fusion_speedups(
    results: dict, ours: str = "ours-plain", device: str = "cpu"
) -> dict[tuple[str, int], float]:
    """{(cell, threads): the naive baseline's time over ``ours``'s}, the geometric mean over the shapes."""
    if ours not in ("ours-plain", "ours-fast"):
        raise ValueError(f"ours must be 'ours-plain' or 'ours-fast', got {ours!r}")
    logs: dict[tuple[str, int], list[float]] = {}
    for (threads, cell, _, _), medians in _medians(validate_results(results), device).items():
        if "naive" in medians and ours in medians:
            logs.setdefault((cell, threads), []).append(math.log(medians["naive"] / medians[ours]))
    return {key: math.exp(sum(values) / len(values)) for key, values in logs.items()}


def fusion_sentence(results: dict, ours: str = "ours-plain", device: str = "cpu") -> str:
    """One sentence: how many times ``ours``'s time the naive baseline takes, per cell and thread count."""
    speedups = fusion_speedups(results, ours, device)
    if not speedups:
        return (
            f"The file has no {device} measurements of both the naive baseline and {IMPLEMENTATIONS[ours]}."
        )
    by_threads = []
    for threads in sorted({threads for _, threads in speedups}):
        cells = [
            f"{speedups[cell, threads]:.2f}× ({cell.upper()})"
            for cell in CELLS
            if (cell, threads) in speedups
        ]
        by_threads.append(f"{', '.join(cells)} the time at {threads} thread{'s' if threads > 1 else ''}")
    return (
        f"Against {IMPLEMENTATIONS[ours]}, the naive baseline takes {'; and '.join(by_threads)} "
        "(geometric means over the shapes; above 1 the naive baseline is slower)."
    )


def this_machine() -> dict[str, Any]:
    """{"cpu_model": the CPU's model name, "cores": logical cores} of the machine running this."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            names = [line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")]
        model = names[0] if names else model
    except OSError:
        pass  # not Linux: platform's answer
    return {"cpu_model": model, "cores": os.cpu_count() or 0}


def provenance_text(results: dict) -> str:
    """Where, when and how the file was measured, one fact per line."""
    p = validate_results(results)["provenance"]
    gpu = p["gpu"] or "none (GPU rows not measured)"
    return "\n".join(
        [
            f"measured {p['date']} at commit {p['commit']}",
            f"CPU: {p['cpu_model']}, {p['cores']} cores; GPU: {gpu}",
            f"threads: {', '.join(map(str, p['threads']))}; torch {p['torch']}, numpy {p['numpy']}",
            f"BLAS: {p['blas']}; python {p['python']}",
            f"{p['rounds']} rounds of {p['reps']} timed passes; command: {p['command']}",
        ]
    )


def machine_note(results: dict, here: Mapping[str, Any] | None = None) -> str:
    """Whether ``here`` (default: this machine) is the one measured; the plain warning if it is not."""
    p = validate_results(results)["provenance"]
    here = this_machine() if here is None else here
    if (here["cpu_model"], here["cores"]) == (p["cpu_model"], p["cores"]):
        return f"This page was built on the kind of machine measured ({p['cpu_model']}, {p['cores']} cores)."
    return (
        f"This page was built on another machine ({here['cpu_model']}, {here['cores']} cores) than the one "
        f"measured ({p['cpu_model']}, {p['cores']} cores): the numbers below are that machine's, taken on "
        f"{p['date']}, not this one's. Run `make bench` to measure here."
    )
