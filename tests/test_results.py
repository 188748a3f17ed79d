"""lstm_course.results: what the chapters record for the appendices, and reading it back."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from lstm_course import results as R


def test_record_then_load_round_trips(tmp_path):
    R.record(
        "ch4.forget_bias.solved",
        {"0": 2, "2": np.int64(5)},
        section="sec-forget-bias-training",
        folder=tmp_path,
    )
    R.record("ch4.per10", np.array([0.5, 0.25]), section="the-adding-problem-solved", folder=tmp_path)
    R.record_cost(
        "ch4.adding_lstm",
        steps=1399,
        seconds=67.25,
        clock="wall",
        section="the-adding-problem-solved",
        folder=tmp_path,
    )
    loaded = R.load_results(["ch4"], tmp_path)
    assert loaded["ch4.forget_bias.solved"] == {"0": 2, "2": 5}
    assert loaded["ch4.per10"] == [0.5, 0.25]
    assert loaded.section("ch4.forget_bias.solved") == "sec-forget-bias-training"
    assert loaded.page("ch4.per10") == "04_lstm"
    assert loaded.costs() == [
        ("ch4.adding_lstm", "04_lstm", "the-adding-problem-solved", 1399, 67.25, "wall")
    ]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "a temporary file was left behind"


def test_a_new_process_starts_the_chapter_file_afresh(tmp_path, monkeypatch):
    R.record("ch3.old", 1, section="s", folder=tmp_path)
    monkeypatch.setattr(R, "_STARTED", set())  # as a re-executed chapter's new kernel
    R.record("ch3.new", 2, section="s", folder=tmp_path)
    records = json.loads((tmp_path / "ch3.json").read_text())["records"]
    assert set(records) == {"ch3.new"}, "a number the chapter no longer records survived its re-execution"


def test_the_folder_is_the_environment_variable_else_home(tmp_path):
    assert R.results_dir({"LSTM_COURSE_RESULTS": str(tmp_path)}) == tmp_path
    assert R.results_dir({}) == R.DEFAULT_DIR.expanduser()


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (("ch4.x", math.nan), ValueError, "value is nan"),
        (("ch4.x", {"a": [1.0, math.inf]}), ValueError, r"value\['a'\]\[1\]"),
        (("ch4.x", object()), TypeError, "value is a object"),
        (("ch4.x", {1: 2}), TypeError, "key 1"),
        (("ch1.x", 1), ValueError, "name must be"),
        (("forget_bias", 1), ValueError, "name must be"),
        ((4, 1), TypeError, "name must be a str"),
    ],
)
def test_bad_records_name_the_argument(tmp_path, args, error, match):
    with pytest.raises(error, match=match):
        R.record(*args, section="s", folder=tmp_path)


@pytest.mark.parametrize(
    ("section", "error"), [("Sec Forget", ValueError), ("", ValueError), (None, TypeError)]
)
def test_bad_sections_are_refused(tmp_path, section, error):
    with pytest.raises(error, match="section"):
        R.record("ch4.x", 1, section=section, folder=tmp_path)


@pytest.mark.parametrize(
    ("steps", "seconds", "error", "match"),
    [(-1, 1.0, ValueError, "steps"), (1.5, 1.0, ValueError, "steps"), (3, math.nan, ValueError, "seconds"),
     (3, "1", TypeError, "seconds"), (3, -2.0, ValueError, "seconds")],
)  # fmt: skip
def test_bad_costs_name_the_argument(tmp_path, steps, seconds, error, match):
    with pytest.raises(error, match=match):
        R.record_cost("ch4.x", steps=steps, seconds=seconds, clock="CPU", section="s", folder=tmp_path)


def test_a_cost_says_which_clock(tmp_path):
    with pytest.raises(ValueError, match="clock"):
        R.record_cost("ch4.x", steps=1, seconds=1.0, clock="cpu", section="s", folder=tmp_path)


def test_missing_chapters_are_named(tmp_path):
    R.record("ch3.x", 1, section="s", folder=tmp_path)
    with pytest.raises(FileNotFoundError, match=r"04_lstm\.md, 09_applications\.md: execute those chapters"):
        R.load_results(["ch3", "ch4", "ch9"], tmp_path)
    with pytest.raises(KeyError, match="did not record it"):
        R.load_results(["ch3"], tmp_path)["ch3.y"]


def test_training_cost_table(tmp_path):
    R.record_cost(
        "ch8.dates_attention",
        steps=200,
        seconds=23.25,
        clock="CPU",
        section="dates-with-attention",
        folder=tmp_path,
    )
    R.record_cost(
        "ch2.char_lm_rnn", steps=800, seconds=40.0, clock="wall", section="experiment-a", folder=tmp_path
    )
    table = R.training_cost_table(folder=tmp_path)
    assert '<a href="08_attention.html#dates-with-attention">' in table._repr_html_()
    assert [row[0] for row in table.rows] == ["char lm rnn", "dates attention"], "chapter order"
    assert table.texts()[1] == [
        "dates attention",
        "ch. 8 § dates-with-attention",
        "200",
        "23.2",
        "CPU",
    ]
