"""bench/bench.py --quick runs end to end on a tiny shape and writes a valid results file."""

import subprocess
import sys
from pathlib import Path

from lstm_course.benchmarks.results import load_results, ratio_table

ROOT = Path(__file__).resolve().parents[2]


def test_quick_bench_writes_a_table_and_a_valid_file(tmp_path):
    out = tmp_path / "results.json"
    options = "--quick --shapes 3,4,2,5 --threads 1 --cells gru --impls numpy-loop naive --cpu-only --out"
    command = [sys.executable, str(ROOT / "bench" / "bench.py"), *options.split(), str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    results = load_results(out)
    impls = {row["impl"] for row in results["measurements"]}
    assert impls == {"numpy-loop", "naive", "torch.nn"}  # torch.nn is always timed: the base of every ratio
    assert all(row["dims"] == [3, 4, 2, 5] and row["threads"] == 1 for row in results["measurements"])
    assert results["provenance"]["command"].startswith("python bench/bench.py --quick")
    table = ratio_table(results)
    assert len(table.rows) == 1 and table.rows[0][0] == "gru"
    assert repr(table).splitlines()[1] in done.stdout  # the printed table is the file's
