"""The results file: validation, the ratio table, the fused-layout speed-ups and the other-machine warning."""

import copy
import json

import pytest

from lstm_course.benchmarks.results import (
    COMMITTED,
    fusion_sentence,
    fusion_speedups,
    load_results,
    machine_note,
    provenance_text,
    ratio_table,
    save_results,
    validate_results,
)

PROVENANCE = {
    "cpu_model": "Test CPU",
    "cores": 2,
    "threads": [1],
    "torch": "2.x",
    "numpy": "2.x",
    "blas": "openblas",
    "gpu": None,
    "date": "2026-01-01 00:00 UTC",
    "commit": "abc1234",
    "command": "python bench/bench.py",
    "python": "3.11",
    "rounds": 1,
    "reps": 1,
    "seconds": 1.0,
}


def measurement(impl: str, ms: float, cell: str = "lstm", shape: str = "small") -> dict:
    return {"device": "cpu", "threads": 1, "cell": cell, "shape": shape, "dims": [2, 3, 4, 5], "impl": impl,
            "median_ms": ms, "passes": 3}  # fmt: skip


def results(*rows: dict) -> dict:
    return {"format": 1, "provenance": dict(PROVENANCE), "measurements": list(rows)}


EXAMPLE = results(
    measurement("torch.nn", 10.0),
    measurement("ours-fast", 15.0),
    measurement("naive", 60.0),
    measurement("numpy-loop", 25.0),
    measurement("torch.nn", 4.0, shape="other"),
    measurement("ours-fast", 4.0, shape="other"),
    measurement("naive", 16.0, shape="other"),
)


def test_ratio_table_divides_by_torch_nn_of_the_same_cell_shape_and_threads():
    table = ratio_table(EXAMPLE)
    header = list(table.columns)
    first = dict(zip(header, table.rows[0], strict=True))
    assert first["torch.nn ms"] == 10.0
    assert first["ours, fast"] == pytest.approx(1.5)
    assert first["naive baseline"] == pytest.approx(6.0)
    assert first["NumPy reference"] == pytest.approx(2.5)
    assert first["NumPy vectorised"] is None  # not measured: a dash
    assert "1.50×" in table._repr_html_() and "–" in table._repr_html_()
    second = dict(zip(header, table.rows[1], strict=True))
    assert second["ours, fast"] == pytest.approx(1.0) and second["naive baseline"] == pytest.approx(4.0)


def test_no_gpu_rows_say_not_measured():
    table = ratio_table(EXAMPLE, "cuda")
    assert len(table.rows) == 1 and table.rows[0][:2] == ["not measured", "no GPU was available to the run"]
    with_gpu = copy.deepcopy(EXAMPLE)
    with_gpu["provenance"]["gpu"] = "Some GPU"
    assert ratio_table(with_gpu, "cuda").rows[0][1] == "the file has no cuda measurements"
    with pytest.raises(ValueError, match="device"):
        ratio_table(EXAMPLE, "tpu")


def test_fusion_speedup_is_the_geometric_mean_over_shapes():
    assert fusion_speedups(EXAMPLE, "ours-fast") == {("lstm", 1): pytest.approx((4.0 * 4.0) ** 0.5)}
    assert fusion_speedups(EXAMPLE, "ours-plain") == {}
    assert "ours, fast, the naive baseline takes 4.00× (LSTM) the time at 1 thread" in fusion_sentence(
        EXAMPLE, "ours-fast"
    )
    assert "no cpu measurements" in fusion_sentence(EXAMPLE, "ours-plain")
    with pytest.raises(ValueError, match="ours"):
        fusion_speedups(EXAMPLE, "torch.nn")


def test_machine_note_says_when_the_page_is_built_elsewhere():
    same = machine_note(EXAMPLE, {"cpu_model": "Test CPU", "cores": 2})
    other = machine_note(EXAMPLE, {"cpu_model": "Test CPU", "cores": 8})
    assert "another machine" not in same
    assert "another machine" in other and "2026-01-01" in other and "8 cores" in other


def test_provenance_text_names_cpu_versions_date_and_command():
    text = provenance_text(EXAMPLE)
    for fact in ("Test CPU", "2 cores", "abc1234", "2026-01-01", "python bench/bench.py", "not measured"):
        assert fact in text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.pop("provenance"), "provenance"),
        (lambda r: r["provenance"].pop("cpu_model"), "cpu_model"),
        (lambda r: r.update(format=99), "format"),
        (lambda r: r["measurements"][0].update(impl="keras"), "impl"),
        (lambda r: r["measurements"][0].update(median_ms=float("nan")), "median_ms"),
        (lambda r: r["measurements"][0].update(median_ms="fast"), r"median_ms.*fast"),
        (lambda r: r["measurements"][0].update(dims=[2, 3]), "dims"),
        (lambda r: r["measurements"][0].update(threads=True), "threads"),
        (lambda r: r["measurements"].append(dict(r["measurements"][0])), "repeats"),
    ],
)
def test_malformed_files_raise_naming_the_field(change, message):
    broken = copy.deepcopy(EXAMPLE)
    change(broken)
    with pytest.raises(ValueError, match=message):
        validate_results(broken)


def test_save_and_load_round_trip(tmp_path):
    save_results(EXAMPLE, tmp_path / "r.json")
    assert load_results(tmp_path / "r.json") == EXAMPLE
    (tmp_path / "bad.json").write_text(json.dumps({"format": 1}))
    with pytest.raises(ValueError, match="provenance"):
        load_results(tmp_path / "bad.json")


def test_the_committed_results_cover_every_implementation_cell_and_thread_count():
    committed = load_results(COMMITTED)
    cpu = [row for row in committed["measurements"] if row["device"] == "cpu"]
    assert {row["cell"] for row in cpu} == {"rnn", "lstm", "gru"}
    assert {row["threads"] for row in cpu} == {1, 2}
    assert {row["impl"] for row in cpu} == {
        "numpy-loop", "numpy-vectorised", "ours-plain", "ours-fast", "naive", "torch.nn"
    }  # fmt: skip
    assert {tuple(row["dims"]) for row in cpu} >= {(64, 100, 2, 64), (64, 100, 64, 128), (128, 200, 128, 256)}
