"""The popular LSTM claims, each judged by a small rule on the numbers the chapters recorded (appendix A).

Every rule takes plain numbers (what :func:`lstm_course.results.record` stored) and returns one of
:data:`VERDICTS`, so a test can feed it fixtures that go either way, and the appendix computes each verdict at
build time from this build's numbers. :func:`claims_table` assembles the table; :func:`judge` the verdicts
alone.

The verdicts: "supported" (the measurement agrees), "unsupported" (it does not show what the claim says, or
the data cannot decide), "depends" (true in one setting, false in another, both measured), "wrong" (the
measurement contradicts it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from lstm_course.plot.tables import Link, Table
from lstm_course.results import Results

#: The four verdicts a rule returns.
VERDICTS = ("supported", "unsupported", "depends", "wrong")


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    return float(value)


# ---------------------------------------------------------------- the rules, one per claim, on plain numbers


def vanishing_verdict(per10: Mapping[str, float], lstm_crossed: int | None) -> str:
    """The claim "LSTM solves vanishing gradients". per10 is the gradient factor per 10 steps of lag at
    initialisation (keys "tanh RNN", "LSTM, forget bias 0/1/2"); lstm_crossed the step at which the LSTM
    solved the adding problem at T = 100 (None: never).

    depends: the gradient survives only with an open forget gate (bias 2 keeps over half per 10 steps, bias
    0 under 5 %), and the LSTM solves the task anyway. supported: it survives at every bias; wrong: it never
    does, or the LSTM does not solve the task.
    """
    bias0, bias2 = (
        _number(per10["LSTM, forget bias 0"], "per10"),
        _number(per10["LSTM, forget bias 2"], "per10"),
    )
    if bias2 <= 0.5 or lstm_crossed is None:
        return "wrong"
    return "depends" if bias0 < 0.05 else "supported"


def switches_verdict(between: Mapping[str, float], threshold: float = 0.15) -> str:
    """ "Gates are 0/1 switches": between[gate] is the share of a trained gate's values in (0.1, 0.9).

    wrong when every gate has more than ``threshold`` of its values graded; supported when none has.
    """
    shares = [_number(v, "between") for v in between.values()]
    if all(share > threshold for share in shares):
        return "wrong"
    return "supported" if all(share <= threshold for share in shares) else "depends"


def memory_roles_verdict(max_h: float, max_c: float) -> str:
    """The claim "h is short-term, c is long-term memory". h = o tanh(c) is a bounded read-out of the same
    memory, c an unbounded accumulator. wrong when the trained cell's |c| exceeds 1 while |h| stays below 1
    (one memory at two scales, not two memories); unsupported otherwise."""
    return "wrong" if _number(max_h, "max_h") < 1 < _number(max_c, "max_c") else "unsupported"


def story_verdict(verdicts: Sequence[str]) -> str:
    """A gate story, from the chapter's verdicts on it (on averages, on the story's own sentence; each
    "supported", "undecided" or "not supported"): supported when all are, depends when only some are,
    unsupported when none is."""
    for v in verdicts:
        if v not in ("supported", "undecided", "not supported"):
            raise ValueError(f"verdicts: {v!r} is not supported / undecided / not supported")
    held = [v == "supported" for v in verdicts]
    if held and all(held):
        return "supported"
    return "depends" if any(held) else "unsupported"


def gru_faster_verdict(ratios: Mapping[str, float], even: float = 1.5) -> str:
    """The claim "GRU is faster". ratios are GRU / LSTM seconds per step, one per implementation. supported
    when the GRU is faster by more than ``even`` in every implementation; wrong when the LSTM is, in every
    one; depends when the GRU wins clearly in some only; unsupported when it wins clearly in none."""
    values = [_number(r, "ratios") for r in ratios.values()]
    gru_wins = [r < 1 / even for r in values]
    if all(gru_wins):
        return "supported"
    if any(gru_wins):
        return "depends"
    return "wrong" if all(r > even for r in values) else "unsupported"


def fewer_parameters_verdict(lstm: int, gru: int) -> str:
    """ "GRU has fewer parameters": at equal sizes, supported when the GRU has fewer, wrong otherwise."""
    return "supported" if _number(gru, "gru") < _number(lstm, "lstm") else "wrong"


def winners_verdict(winners: Sequence[str | None], favoured: str) -> str:
    """A claim that ``favoured`` ("LSTM" or "GRU") wins, from the winners of the chapter's comparisons (None:
    the seeds could not separate the cells). supported when it wins them all, wrong when the other cell wins
    them all, depends when each wins some, unsupported otherwise (it wins none, and some cannot decide)."""
    if favoured not in ("LSTM", "GRU"):
        raise ValueError(f"favoured must be 'LSTM' or 'GRU', got {favoured!r}")
    if not winners:
        raise ValueError("winners must hold at least one comparison")
    for w in winners:
        if w not in ("LSTM", "GRU", None):
            raise ValueError(f"winners: {w!r} is not 'LSTM', 'GRU' or None")
    ours = sum(w == favoured for w in winners)
    theirs = sum(w not in (favoured, None) for w in winners)
    if ours == len(winners):
        return "supported"
    if theirs == len(winners):
        return "wrong"
    return "depends" if ours and theirs else "unsupported"


def small_data_verdict(winner_small: str | None, winner_large: str | None) -> str:
    """The claim "GRU for small data, LSTM for large", from the winners with little and with more data (None:
    the seeds could not separate the cells). supported when the GRU wins small and the LSTM large; wrong
    when only the opposite happens; unsupported when neither comparison goes the claim's way; else depends."""
    for name, w in (("winner_small", winner_small), ("winner_large", winner_large)):
        if w not in ("LSTM", "GRU", None):
            raise ValueError(f"{name}: {w!r} is not 'LSTM', 'GRU' or None")
    agrees = [winner_small == "GRU", winner_large == "LSTM"]
    disagrees = [winner_small == "LSTM", winner_large == "GRU"]
    if all(agrees):
        return "supported"
    if any(disagrees) and not any(agrees):
        return "wrong"
    return "depends" if any(agrees) else "unsupported"


def clipping_verdict(unclipped: str, clipped: str, overflow: Sequence[str]) -> str:
    """The claim "clipping fixes exploding gradients": how the runs stopped ("steps", or "nonfinite").
    depends when clipping saved the run the unclipped one lost but not the runs whose first gradient already
    overflowed; supported when it saved them all; unsupported when it saved none."""
    saved = unclipped == "nonfinite" and clipped == "steps"
    if not saved:
        return "unsupported"
    return "depends" if any(stop == "nonfinite" for stop in overflow) else "supported"


def bidirectional_verdict(uni: float, bi: float, noise_bi: float, chance: float) -> str:
    """The claim "a bidirectional LSTM reads both ways simultaneously". uni and bi are the two taggers'
    accuracy on the words that need right context; noise_bi the bidirectional language model's accuracy on
    random characters. depends when the second direction buys the right context (bi ahead by 0.2) but the
    model can only be used once the whole sequence is there (it predicts random characters far above
    ``chance``: it reads them); supported when it buys it without reading ahead; else unsupported."""
    helps = _number(bi, "bi") - _number(uni, "uni") > 0.2
    reads_ahead = _number(noise_bi, "noise_bi") > 5 * _number(chance, "chance")
    if not helps:
        return "unsupported"
    return "depends" if reads_ahead else "supported"


def attention_verdict(plain_drop: float, attention_drop: float) -> str:
    """The claim "attention solves long sentences", from the per-date accuracy lost from one date to two,
    without and with attention. supported when attention holds (drops under 0.15) where the encoder-decoder
    falls (0.2 more); wrong when attention falls as far; depends otherwise."""
    plain, attention = _number(plain_drop, "plain_drop"), _number(attention_drop, "attention_drop")
    if attention < 0.15 and plain > attention + 0.2:
        return "supported"
    return "wrong" if attention >= plain else "depends"


def time_series_verdict(lstm: Sequence[float], simple: Sequence[float]) -> str:
    """The claim "RNNs for time series", from forecast errors (MAE) of the LSTM seeds and of the simple
    forecasts. unsupported when every seed is worse than every simple forecast, supported when every seed
    is better, else depends."""
    lstm_maes, simple_maes = [_number(v, "lstm") for v in lstm], [_number(v, "simple") for v in simple]
    if not lstm_maes or not simple_maes:
        raise ValueError("lstm and simple must each hold at least one MAE")
    if min(lstm_maes) > max(simple_maes):
        return "unsupported"
    return "supported" if max(lstm_maes) < min(simple_maes) else "depends"


# ---------------------------------------------------------------- the rows


class Claim(NamedTuple):
    """One row: the claim, its literature, the record whose section decides it (the link), the section's
    title, and ``judge(results) -> (verdict, the numbers shown)``."""

    claim: str
    literature: str
    decided_by: str  # the record whose section the row links to
    section_title: str
    judge: Callable[[Results], tuple[str, str]]


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def _vanishing(r: Results) -> tuple[str, str]:
    per10, crossed = r["ch4.gradient_flow.per10"], r["ch4.adding.lstm_crossed"]
    return vanishing_verdict(per10, crossed), (
        f"gradient kept per 10 steps at init: tanh RNN {per10['tanh RNN']:.2g}, LSTM bias 0 "
        f"{per10['LSTM, forget bias 0']:.2g}, bias 2 {per10['LSTM, forget bias 2']:.2g}; "
        "the LSTM solved adding at T = 100 " + (f"at step {crossed}" if crossed is not None else "not at all")
    )


def _switches(r: Results) -> tuple[str, str]:
    shares = r["ch4.gates.shares"]
    between = {gate: share["between"] for gate, share in shares.items()}
    return switches_verdict(between), "values between 0.1 and 0.9: " + ", ".join(
        f"{gate} {_pct(v)}" for gate, v in between.items()
    )


def _memory(r: Results) -> tuple[str, str]:
    sizes = r["ch4.grammar.state_sizes"]
    return memory_roles_verdict(sizes["max |h|"], sizes["max |c|"]), (
        f"trained grammar LSTM: max |h| {sizes['max |h|']:.6f}, max |c| {sizes['max |c|']:.3g}"
    )


def _story(gate: str) -> Callable[[Results], tuple[str, str]]:
    def judge(r: Results) -> tuple[str, str]:
        averages, sentences = r["ch4.gate_stories.averages"][gate], r["ch4.gate_stories.sentences"][gate]
        return story_verdict(
            [averages, sentences]
        ), f"on 300 stories: {averages}; on its own sentence: {sentences}"

    return judge


def _faster(r: Results) -> tuple[str, str]:
    ratios = r["ch5.speed.gru_over_lstm"]
    return gru_faster_verdict(ratios), "GRU / LSTM time per step: " + ", ".join(
        f"{name} {ratio:.2f}" for name, ratio in ratios.items()
    )


def _parameters(r: Results) -> tuple[str, str]:
    counts = r["ch5.parameters"]
    return fewer_parameters_verdict(counts["LSTM"], counts["GRU"]), (
        f"D = 32, H = 64: LSTM {counts['LSTM']:,}, GRU {counts['GRU']:,} "
        f"(ratio {counts['GRU'] / counts['LSTM']:.2f})"
    )


def _winner_text(winner: str | None) -> str:
    return "cannot decide" if winner is None else f"{winner} better"


def _small_data(r: Results) -> tuple[str, str]:
    small = r["ch5.small_data"]
    return small_data_verdict(small["winner_20"], small["winner_200"]), (
        f"20 stories: {_winner_text(small['winner_20'])}; 200 stories: {_winner_text(small['winner_200'])}"
    )


def _long_sequences(r: Results) -> tuple[str, str]:
    winners = r["ch5.long_lags.winners"]
    return winners_verdict(list(winners.values()), "LSTM"), ", ".join(
        f"{task}: {_winner_text(w)}" for task, w in winners.items()
    )


_STOPS = {"nonfinite": "stopped at a non-finite value", "steps": "ran all its steps"}


def _clipping(r: Results) -> tuple[str, str]:
    c = r["ch3.clipping"]
    return clipping_verdict(c["unclipped"], c["clipped"], c["overflow"]), (
        f"rho = 2, first gradient norm {c['first_gradient_norm']:.2g}: unclipped {_STOPS[c['unclipped']]}, "
        f"clipped {_STOPS[c['clipped']]}; rho = 5: " + ", ".join(_STOPS[stop] for stop in c["overflow"])
    )


def _bidirectional(r: Results) -> tuple[str, str]:
    tag, lm = r["ch6.bidirectional.tagging"], r["ch6.bidirectional.lm"]
    return bidirectional_verdict(tag["uni"], tag["bi"], lm["noise_bi"], lm["chance"]), (
        f"words that need the right context: left to right at most {tag['uni']:.2f}, bidirectional at least "
        f"{tag['bi']:.2f}; the bidirectional LM on "
        f"random characters {lm['noise_bi']:.2f} (chance {lm['chance']:.2f})"
    )


def _attention(r: Results) -> tuple[str, str]:
    drops = r["ch8.attention.per_date_drop"]
    return attention_verdict(drops["encoder-decoder"], drops["with attention"]), (
        f"per-date accuracy lost from one date to two: encoder-decoder {drops['encoder-decoder']:.2f}, "
        f"with attention {drops['with attention']:.2f}"
    )


def _time_series(r: Results) -> tuple[str, str]:
    mae = r["ch9.forecast.mae"]
    simple = [mae["seasonal naive"], mae["linear AR"]]
    return time_series_verdict(mae["LSTM"], simple), (
        f"sunspots MAE: seasonal naive {mae['seasonal naive']:.1f}, linear AR {mae['linear AR']:.1f}, "
        "LSTM seeds " + ", ".join(f"{v:.1f}" for v in mae["LSTM"])
    )


CLAIMS = (
    Claim(
        "LSTM solves the vanishing gradient problem",
        "Hochreiter & Schmidhuber 1997; Gers et al. 2000; Jozefowicz et al. 2015",
        "ch4.gradient_flow.per10",
        "Why the gradient survives",
        _vanishing,
    ),
    Claim(
        "Gates are 0/1 switches",
        "Karpathy et al. 2015",
        "ch4.gates.shares",
        "Are the gates 0/1 switches?",
        _switches,
    ),
    Claim(
        "h is short-term memory, c is long-term memory",
        "Hochreiter & Schmidhuber 1997",
        "ch4.grammar.state_sizes",
        "Are the gates 0/1 switches?",
        _memory,
    ),
    Claim(
        "The forget gate clears the old subject",
        "Gers et al. 2000",
        "ch4.gate_stories.averages",
        "The gate stories, measured",
        _story("f"),
    ),
    Claim(
        "The input gate writes what is worth remembering",
        "Hochreiter & Schmidhuber 1997",
        "ch4.gate_stories.averages",
        "The gate stories, measured",
        _story("i"),
    ),
    Claim(
        "The output gate exposes the memory when a prediction needs it",
        "Hochreiter & Schmidhuber 1997",
        "ch4.gate_stories.averages",
        "The gate stories, measured",
        _story("o"),
    ),
    Claim(
        "GRU is faster",
        "Cho et al. 2014 introduced the GRU; no paper we know of measures speed",
        "ch5.speed.gru_over_lstm",
        "Time per training step",
        _faster,
    ),
    Claim("GRU has fewer parameters", "Cho et al. 2014", "ch5.parameters", "Parameters", _parameters),
    Claim(
        "GRU for small data, LSTM for large",
        "none treats data size as the variable (Chung et al. 2014; Greff et al. 2017)",
        "ch5.small_data",
        "Small data",
        _small_data,
    ),
    Claim(
        "LSTM for long sequences",
        "Weiss et al. 2018; Jozefowicz et al. 2015",
        "ch5.long_lags.winners",
        "The table, with verdicts",
        _long_sequences,
    ),
    Claim(
        "Gradient clipping fixes exploding gradients",
        "Pascanu et al. 2013",
        "ch3.clipping",
        "Exploding gradients in training, and clipping",
        _clipping,
    ),
    Claim(
        "A bidirectional LSTM reads forward and backward simultaneously",
        "Schuster & Paliwal 1997; Graves & Schmidhuber 2005",
        "ch6.bidirectional.lm",
        "What a bidirectional model cannot do",
        _bidirectional,
    ),
    Claim(
        "Attention solves long sentences",
        "Bahdanau et al. 2015; Luong et al. 2015",
        "ch8.attention.per_date_drop",
        "Dates, with attention",
        _attention,
    ),
    Claim(
        "RNNs are the tool for time series",
        "Hewamalage et al. 2021; Makridakis et al. 2018",
        "ch9.forecast.mae",
        "Forecasting a real time series",
        _time_series,
    ),
)
CHAPTERS_READ = ("ch3", "ch4", "ch5", "ch6", "ch8", "ch9")


def judge(results: Results, claims: Sequence[Claim] = CLAIMS) -> dict[str, str]:
    """{claim: verdict} from this build's results."""
    return {claim.claim: claim.judge(results)[0] for claim in claims}


def claims_table(results: Results, claims: Sequence[Claim] = CLAIMS) -> Table:
    """Appendix A's table: claim, verdict, literature, and a link to the deciding section with its numbers."""
    rows = []
    for claim in claims:
        verdict, numbers = claim.judge(results)
        if verdict not in VERDICTS:
            raise ValueError(f"{claim.claim}: the rule returned {verdict!r}, not one of {VERDICTS}")
        page, section = results.page(claim.decided_by), results.section(claim.decided_by)
        chapter = int(page[:2])
        link = Link(f"ch. {chapter}, {claim.section_title}", f"{page}.html#{section}")
        rows.append([claim.claim, verdict, claim.literature, link, numbers])
    return Table(["claim", "verdict", "primary literature", "decided in", "the number (this build)"], rows)
