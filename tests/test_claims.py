"""lstm_course.claims: each appendix-A rule, fed numbers that go each way; the table from a full fixture."""

from __future__ import annotations

import copy

import pytest

from lstm_course import claims as C
from lstm_course.plot.tables import Link
from lstm_course.results import Results

PER10 = {
    "tanh RNN": 0.006,
    "LSTM, forget bias 0": 0.01,
    "LSTM, forget bias 1": 0.26,
    "LSTM, forget bias 2": 0.9,
}


CASES = [
    (lambda: C.vanishing_verdict(PER10, 1399), "depends"),
    (lambda: C.vanishing_verdict({**PER10, "LSTM, forget bias 0": 0.4}, 1399), "supported"),
    (lambda: C.vanishing_verdict(PER10, None), "wrong"),
    (lambda: C.switches_verdict({"i": 0.2, "f": 0.33, "o": 0.47}), "wrong"),
    (lambda: C.switches_verdict({"i": 0.02, "f": 0.03, "o": 0.1}), "supported"),
    (lambda: C.switches_verdict({"i": 0.02, "f": 0.33}), "depends"),
    (lambda: C.memory_roles_verdict(0.99998, 30.3), "wrong"),
    (lambda: C.memory_roles_verdict(0.5, 0.9), "unsupported"),
    (lambda: C.story_verdict(["supported", "supported"]), "supported"),
    (lambda: C.story_verdict(["supported", "not supported"]), "depends"),
    (lambda: C.story_verdict(["undecided", "not supported"]), "unsupported"),
    (lambda: C.gru_faster_verdict({"torch.nn": 4.08, "ours": 1.32}), "unsupported"),
    (lambda: C.gru_faster_verdict({"torch.nn": 4.08, "ours": 1.6}), "wrong"),
    (lambda: C.gru_faster_verdict({"torch.nn": 0.5, "ours": 0.6}), "supported"),
    (lambda: C.gru_faster_verdict({"torch.nn": 0.5, "ours": 1.0}), "depends"),
    (lambda: C.fewer_parameters_verdict(25088, 18816), "supported"),
    (lambda: C.fewer_parameters_verdict(100, 100), "wrong"),
    (lambda: C.winners_verdict(["GRU", None, None], "LSTM"), "unsupported"),
    (lambda: C.winners_verdict(["LSTM", "LSTM"], "LSTM"), "supported"),
    (lambda: C.winners_verdict(["GRU", "GRU"], "LSTM"), "wrong"),
    (lambda: C.winners_verdict(["GRU", "LSTM"], "LSTM"), "depends"),
    (lambda: C.small_data_verdict(None, None), "unsupported"),
    (lambda: C.small_data_verdict("GRU", "LSTM"), "supported"),
    (lambda: C.small_data_verdict("LSTM", None), "wrong"),
    (lambda: C.small_data_verdict("GRU", None), "depends"),
    (lambda: C.clipping_verdict("nonfinite", "steps", ["nonfinite", "nonfinite"]), "depends"),
    (lambda: C.clipping_verdict("nonfinite", "steps", ["steps"]), "supported"),
    (lambda: C.clipping_verdict("nonfinite", "nonfinite", []), "unsupported"),
    (lambda: C.bidirectional_verdict(0.55, 0.99, 0.6, 0.05), "depends"),
    (lambda: C.bidirectional_verdict(0.55, 0.99, 0.06, 0.05), "supported"),
    (lambda: C.bidirectional_verdict(0.9, 0.95, 0.6, 0.05), "unsupported"),
    (lambda: C.attention_verdict(0.4, 0.05), "supported"),
    (lambda: C.attention_verdict(0.3, 0.3), "wrong"),
    (lambda: C.attention_verdict(0.3, 0.2), "depends"),
    (lambda: C.time_series_verdict([31.8, 35.0, 42.7], [29.1, 29.7]), "unsupported"),
    (lambda: C.time_series_verdict([20.0, 25.0], [29.1, 29.7]), "supported"),
    (lambda: C.time_series_verdict([20.0, 35.0], [29.1, 29.7]), "depends"),
]


@pytest.mark.parametrize(
    ("call", "verdict"), CASES, ids=[f"{k}-{verdict}" for k, (_, verdict) in enumerate(CASES)]
)
def test_each_rule_both_ways(call, verdict):
    assert call() == verdict


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: C.story_verdict(["maybe"]), ValueError, "verdicts"),
        (lambda: C.winners_verdict(["gru"], "LSTM"), ValueError, "winners"),
        (lambda: C.winners_verdict(["GRU"], "RNN"), ValueError, "favoured"),
        (lambda: C.small_data_verdict("x", None), ValueError, "winner_small"),
        (lambda: C.time_series_verdict([], [1.0]), ValueError, "lstm and simple"),
        (lambda: C.attention_verdict("0.3", 0.1), TypeError, "plain_drop"),
    ],
)
def test_bad_input_names_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


def _entry(value, section="s"):
    return {"value": value, "section": section}


FIXTURE = {
    "ch3": {"ch3.clipping": _entry({"unclipped": "nonfinite", "clipped": "steps", "first_gradient_norm": 2e4,
                                    "overflow": ["nonfinite", "nonfinite"]}, "exploding-gradients")},
    "ch4": {
        "ch4.gradient_flow.per10": _entry(PER10, "why-the-gradient-survives"),
        "ch4.adding.lstm_crossed": _entry(1399),
        "ch4.gates.shares": _entry({g: {"between": 0.3} for g in "ifo"}),
        "ch4.grammar.state_sizes": _entry({"max |h|": 0.99, "max |c|": 30.0}),
        "ch4.gate_stories.averages": _entry({"f": "supported", "i": "undecided", "o": "not supported"}),
        "ch4.gate_stories.sentences": _entry({"f": "supported", "i": "not supported", "o": "undecided"}),
    },
    "ch5": {
        "ch5.speed.gru_over_lstm": _entry({"torch.nn": 4.08, "ours": 1.32}),
        "ch5.parameters": _entry({"LSTM": 25088, "GRU": 18816}),
        "ch5.small_data": _entry({"winner_20": None, "winner_200": None}),
        "ch5.long_lags.winners": _entry({"adding": "GRU", "copying": None}),
    },
    "ch6": {
        "ch6.bidirectional.tagging": _entry({"uni": 0.55, "bi": 0.99}),
        "ch6.bidirectional.lm": _entry(
            {"noise_bi": 0.6, "chance": 0.04}, "what-a-bidirectional-model-cannot-do"
        ),
    },
    "ch8": {"ch8.attention.per_date_drop": _entry({"encoder-decoder": 0.4, "with attention": 0.05})},
    "ch9": {"ch9.forecast.mae": _entry({"seasonal naive": 29.1, "linear AR": 29.7, "LSTM": [31.8, 42.7]})},
}  # fmt: skip


def _results():
    return Results({ch: {"records": copy.deepcopy(records), "costs": {}} for ch, records in FIXTURE.items()})


def test_the_table_links_each_row_to_its_section_and_shows_its_numbers():
    table = C.claims_table(_results())
    assert len(table.rows) == len(C.CLAIMS) >= 14
    assert {row[1] for row in table.rows} <= set(C.VERDICTS)
    links = [row[3] for row in table.rows]
    assert all(isinstance(link, Link) for link in links)
    assert links[0].href == "04_lstm.html#why-the-gradient-survives" and links[0].text.startswith("ch. 4,")
    html = table._repr_html_()
    assert '<a href="06_deep_bidirectional.html#what-a-bidirectional-model-cannot-do">' in html
    assert "1399" in html and "0.91" not in html  # the numbers come from the results, not from elsewhere


def test_every_chapter_a_claim_reads_is_loaded():
    read = {name.split(".")[0] for claim in C.CLAIMS for name in [claim.decided_by]}
    assert read <= set(C.CHAPTERS_READ)
    C.judge(_results())  # every record a rule reads is in the fixture of the loaded chapters


def test_a_verdict_that_moves_shows_in_judge():
    moved = _results()
    moved.chapters["ch9"]["records"]["ch9.forecast.mae"] = _entry(
        {"seasonal naive": 29.1, "linear AR": 29.7, "LSTM": [20.0, 21.0]}
    )
    assert C.judge(moved)["RNNs are the tool for time series"] == "supported"
    assert C.judge(_results())["RNNs are the tool for time series"] == "unsupported"
