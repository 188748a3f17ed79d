"""Chapters 3 and 4's experiments, run small; each measurement checked against an independent computation."""

import numpy as np
import pytest
import torch

from lstm_course.experiments.adding import (
    AddingConfig,
    adding_training,
    first_below,
    marker_lags,
    train_adding,
)
from lstm_course.experiments.clipping import (
    ClippingConfig,
    clipping_training,
    first_gradient_norm,
    train_with_and_without_clipping,
)
from lstm_course.experiments.forget_bias import (
    ForgetBiasConfig,
    SolveRun,
    forget_bias_training,
    median_steps,
    solve_columns,
    solved_counts,
    steps_to_solve,
)
from lstm_course.experiments.gates import (
    PLACES,
    STORY_SENTENCES,
    GateTrace,
    GrammarConfig,
    accuracy_by_lag,
    check_gate_stories,
    gate_summary,
    gate_trace,
    grammar_training,
    saturation,
    state_magnitudes,
    story_sentence_gates,
    subject_units,
    tagger_loss,
    trace_batch,
    train_grammar,
    verdict,
)
from lstm_course.experiments.gradient_flow import (
    decay_per,
    fixed_point_rnn,
    flow_by_cell,
    jacobian_norms,
    rnn_flow_by_radius,
    with_spectral_radius,
)
from lstm_course.experiments.implementations import kernels_of_torch_lstm, three_lstms
from lstm_course.experiments.lstm_vs_rnn import (
    comparison_rows,
    parameter_count,
    trained_gradient_decay,
)
from lstm_course.nn import SequenceTagger
from lstm_course.plot.tables import show_table
from lstm_course.reference import init_params, rnn_forward, rnn_step_forward
from lstm_course.tasks import adding_batch
from lstm_course.tasks.grammar import IGNORE, VOCAB, grammar_batch, story

# ---- gradient flow


def test_rnn_jacobian_norms_match_the_explicit_product(rng):
    params = init_params("rnn", 3, 6, rng)
    params["weight_hh"] = with_spectral_radius(params["weight_hh"], 1.3)
    x = rng.standard_normal((9, 3))
    flow = jacobian_norms("rnn", params, x)
    out, _, _ = rnn_forward(x[:, None, :], params)  # (T, 1, H)
    jac = np.eye(6)
    for k, t in enumerate(range(8, -1, -1)):  # lag k: the product of the k Jacobians after step t
        assert flow.state[k] == pytest.approx(np.linalg.norm(jac, 2), rel=1e-10)
        jac = jac @ (np.diag(1 - out[t, 0] ** 2) @ params["weight_hh"])  # dh_t/dh_{t-1}
    assert flow.state[0] == pytest.approx(1.0)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_input_gradient_norms_match_torch_autograd(cell, rng):
    D, H, T = 2, 5, 6
    params = init_params(cell, D, H, rng)
    x = rng.standard_normal((T, D))
    flow = jacobian_norms(cell, params, x)
    layer = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](D, H).double()
    with torch.no_grad():
        for name, value in params.items():
            getattr(layer, f"{name}_l0").copy_(torch.from_numpy(value))
    jac = torch.autograd.functional.jacobian(
        lambda inp: layer(inp[:, None, :])[0][-1, 0], torch.from_numpy(x)
    )
    expected = [np.linalg.norm(jac[:, T - 1 - k, :].numpy(), 2) for k in range(T)]  # (H, T, D) -> lag k
    np.testing.assert_allclose(flow.input, expected, rtol=1e-9)


def test_lstm_state_norm_covers_h_and_c(rng):
    D, H, T = 2, 4, 3
    params = init_params("lstm", D, H, rng, forget_bias=1.0)
    x = rng.standard_normal((T, D))
    flow = jacobian_norms("lstm", params, x)
    assert flow.state[0] == pytest.approx(1.0)  # lag 0: [dh_T/dh_T, dh_T/dc_T] = [I, 0]
    h0, c0 = torch.zeros(1, 1, H, dtype=torch.float64), torch.zeros(1, 1, H, dtype=torch.float64)
    lstm = torch.nn.LSTM(D, H).double()
    with torch.no_grad():
        for name, value in params.items():
            getattr(lstm, f"{name}_l0").copy_(torch.from_numpy(value))
        _, (h1, c1) = lstm(torch.from_numpy(x[:1, None, :]), (h0, c0))  # the state after step 1

    def h_T(h_and_c: torch.Tensor) -> torch.Tensor:  # (2H,) state after step 1 -> (H,) h_T
        state = (h_and_c[:H].reshape(1, 1, H), h_and_c[H:].reshape(1, 1, H))
        return lstm(torch.from_numpy(x[1:, None, :]), state)[1][0].reshape(H)

    jac = torch.autograd.functional.jacobian(h_T, torch.cat([h1.reshape(H), c1.reshape(H)]))  # (H, 2H)
    assert flow.state[T - 1] == pytest.approx(np.linalg.norm(jac.numpy(), 2), rel=1e-9)


def test_decay_per_recovers_a_geometric_rate():
    norms = 0.8 ** np.arange(40)
    assert decay_per(norms, every=10) == pytest.approx(0.8**10)
    with pytest.raises(ValueError, match="two positive"):
        decay_per(np.zeros(5))


def test_spectral_radius_rescaling(rng):
    w = with_spectral_radius(rng.standard_normal((7, 7)), 2.5)
    assert np.abs(np.linalg.eigvals(w)).max() == pytest.approx(2.5)
    with pytest.raises(ValueError, match="square"):
        with_spectral_radius(np.ones((2, 3)), 1.0)
    with pytest.raises(ValueError, match="radius"):
        with_spectral_radius(np.eye(2), 0.0)


def test_small_radius_vanishes_and_large_radius_explodes():
    flows = rnn_flow_by_radius((0.5, 3.0), hidden_size=16, T=30, seed=0)
    assert flows[0.5].state[-1] < 1e-5
    assert flows[3.0].state[-1] > 10.0


def test_open_forget_gate_keeps_more_gradient():
    flows = flow_by_cell((0.0, 2.0), hidden_size=16, T=40, seed=0)
    rates = {label: decay_per(f.input) for label, f in flows.items()}
    assert rates["LSTM, forget bias 2"] > rates["LSTM, forget bias 0"] > 0
    assert rates["LSTM, forget bias 2"] > rates["tanh RNN"]


def test_jacobian_norms_rejects_bad_input(rng):
    params = init_params("rnn", 2, 3, rng)
    with pytest.raises(ValueError, match="peephole"):
        jacobian_norms("peephole", params, np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"\(T, D\)"):
        jacobian_norms("rnn", params, np.zeros((4, 1, 2)))


# ---- clipping


def test_unclipped_run_goes_nonfinite_and_clipped_run_does_not():
    runs = train_with_and_without_clipping(training=clipping_training(steps=40))
    plain, clipped = runs["no clipping"], runs["clipped at 1"]
    assert plain.stopped == "nonfinite" and not np.isfinite(plain.loss[-1] * plain.grad_norm[-1])
    assert clipped.stopped == "steps" and np.isfinite(clipped.loss).all()
    assert plain.loss[0] == clipped.loss[0] and plain.grad_norm[0] == clipped.grad_norm[0]  # same start
    assert plain.grad_norm[0] > 1e3


def test_fixed_point_rnn_holds_its_state_and_its_jacobian_is_constant():
    weight_hh = 0.9 * np.array([[2.0, -2.0], [2.5, -2.0]])
    h_star = np.array([0.0, np.sqrt(0.9)])
    params = fixed_point_rnn(weight_hh, h_star)
    h_next, _ = rnn_step_forward(np.zeros((1, 1)), h_star[None, :], params)
    np.testing.assert_allclose(h_next[0], h_star, atol=1e-14)
    flow = jacobian_norms("rnn", params, np.zeros((12, 1)), initial=[h_star])
    step = np.diag(1 - h_star**2) @ weight_hh  # dh_s/dh_{s-1} at the fixed point
    for k in (0, 1, 5, 11):
        assert flow.state[k] == pytest.approx(np.linalg.norm(np.linalg.matrix_power(step, k), 2), rel=1e-8)
    assert np.max(np.abs(np.linalg.eigvals(weight_hh))) < 1 < flow.state[11] / flow.state[10]


def test_jacobian_norms_checks_its_initial_state(rng):
    params = init_params("lstm", 2, 3, rng)
    with pytest.raises(ValueError, match="one \\(H,\\) = \\(3,\\) vector per state"):
        jacobian_norms("lstm", params, np.zeros((4, 2)), initial=[np.zeros(3)])
    with pytest.raises(ValueError, match="\\|h_star\\| < 1"):
        fixed_point_rnn(np.eye(2), np.array([0.0, 1.0]))


def test_first_gradient_grows_with_the_radius():
    norms = [first_gradient_norm(ClippingConfig(radius=r, T=30, hidden_size=16)) for r in (0.5, 1.5, 3.0)]
    assert norms[0] < norms[1] < norms[2]


# ---- adding


def test_marker_lags_are_the_distances_to_the_last_step():
    x = np.zeros((10, 2, 2))
    x[[3, 7], 0, 1] = 1.0
    x[[0, 5], 1, 1] = 1.0
    first, second = marker_lags(x)
    assert first.tolist() == [6, 9] and second.tolist() == [2, 4]
    first, second = marker_lags(adding_batch(2000, 100, np.random.default_rng(0))[0])
    assert (first.min(), first.max(), second.min(), second.max()) == (50, 99, 0, 49)
    x[1, 1, 1] = 1.0
    with pytest.raises(ValueError, match="exactly two markers"):
        marker_lags(x)


def test_first_below_uses_a_trailing_window():
    losses = [1.0] * 10 + [0.0] * 10
    assert first_below(losses, 0.5, window=4) == 13  # steps 10..13 mean 0.25; steps 9..12 mean 0.5
    assert first_below(losses, 0.0, window=4) is None
    assert first_below([0.1], 0.5, window=4) is None


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_train_adding_small(cell):
    config = AddingConfig(cell, T=6, hidden_size=8, batch_size=8, forget_bias=1.0 if cell == "lstm" else None)
    run = train_adding(config, adding_training(steps=20))
    assert run.history.steps == 20 and len(run.history.loss) == 20
    assert run.crossed is None
    if cell == "lstm":
        b = run.model.rnn.bias_ih_l0.detach() + run.model.rnn.bias_hh_l0.detach()
        assert b[8:16].mean().item() == pytest.approx(1.0, abs=0.1)  # moved a little by 20 Adam steps


def test_train_adding_stops_at_an_easy_threshold():
    run = train_adding(
        AddingConfig("rnn", T=4, hidden_size=4, threshold=10.0), adding_training(steps=200, target_loss=10.0)
    )
    assert run.history.stopped == "target" and run.crossed == run.history.steps == 50


# ---- forget bias


def test_steps_to_solve_runs_every_bias_and_seed_the_same_in_processes():
    config = ForgetBiasConfig(biases=(None, 2.0), seeds=(0, 1), T=5, hidden_size=4, batch_size=8, workers=1)
    training = forget_bias_training(steps=60, target_loss=0.1, target_window=10)
    alone = steps_to_solve(config, training)
    assert [(r.bias, r.seed) for r in alone] == [(None, 0), (None, 1), (2.0, 0), (2.0, 1)]
    assert all(r.solved_at is None or r.solved_at == r.steps for r in alone)
    pooled = steps_to_solve(ForgetBiasConfig(**{**config.__dict__, "workers": 2}), training)
    assert [r[:4] for r in pooled] == [r[:4] for r in alone]


def test_solve_columns_and_medians():
    runs = [
        SolveRun(None, 0, None, 100, 1.0),
        SolveRun(None, 1, 40, 40, 1.0),
        SolveRun(None, 2, None, 100, 1.0),
        SolveRun(1.0, 0, 30, 30, 1.0),
        SolveRun(1.0, 1, 10, 10, 1.0),
        SolveRun(1.0, 2, None, 100, 1.0),
    ]
    columns = solve_columns(runs, budget=100)
    assert list(columns) == ["torch default (about 0)", "bias 1"]
    assert columns["bias 1"] == {
        "seed 0": 30,
        "seed 1": 10,
        "seed 2": None,
        "solved": "2 of 3",
        "median steps (budget 100)": 30.0,
    }
    assert columns["torch default (about 0)"]["median steps (budget 100)"] is None  # 2 of 3 unsolved
    assert median_steps(runs[3:]) == 30.0 and solved_counts(runs) == {None: 1, 1.0: 2}


# ---- gates


@pytest.fixture(scope="module")
def tiny_grammar_lstm():
    model, history = train_grammar(
        GrammarConfig("lstm", hidden_size=8, batch_size=4), grammar_training(steps=5)
    )
    assert history.steps == 5
    return model


def test_gate_trace_follows_the_equations_and_matches_the_model(tiny_grammar_lstm, rng):
    s = story(rng)
    trace = gate_trace(tiny_grammar_lstm, s.words)
    T = len(s.words)
    for name in "ifgoch":
        assert getattr(trace, name).shape == (T, 8)
    for gate in (trace.i, trace.f, trace.o):
        assert ((gate > 0) & (gate < 1)).all()
    c_prev = np.vstack([np.zeros((1, 8)), trace.c[:-1]])
    np.testing.assert_allclose(trace.c, trace.f * c_prev + trace.i * trace.g, atol=1e-12)
    np.testing.assert_allclose(trace.h, trace.o * np.tanh(trace.c), atol=1e-12)
    from lstm_course.tasks.grammar import encode

    with torch.no_grad():
        out, _ = tiny_grammar_lstm.rnn(torch.from_numpy(encode(s.words)[:, None, :]))
    np.testing.assert_allclose(trace.h, out[:, 0].double().numpy(), atol=1e-5)


def test_trace_batch_shapes(tiny_grammar_lstm, rng):
    b = grammar_batch(3, rng)
    trace = trace_batch(tiny_grammar_lstm, b.x)
    assert trace.f.shape == (b.x.shape[0], 3, 8)
    for k in range(3):  # each story of the batch traced alone gives the same values
        alone = trace_batch(tiny_grammar_lstm, b.x[:, k : k + 1])
        np.testing.assert_allclose(alone.c[:, 0], trace.c[:, k], atol=1e-12)


def test_state_magnitudes_known_values():
    c = np.array([[0.5, -2.0], [3.0, 0.1]])
    h = np.array([[0.2, -0.9], [0.4, 0.0]])
    trace = GateTrace([], c, c, c, c, c, h)
    assert state_magnitudes(trace) == {"max |c|": 3.0, "share |c| > 1": 0.5, "max |h|": 0.9}


def test_subject_units_and_gate_summary(tiny_grammar_lstm, rng):
    units = subject_units(tiny_grammar_lstm, rng, stories=10, k=3)
    assert len(set(units.tolist())) == 3 and units.max() < 8
    summary = gate_summary(tiny_grammar_lstm, units, rng, stories=10)
    assert set(summary) == {"i", "f", "o"}
    for by_place in summary.values():
        assert set(by_place) == set(PLACES) and all(0 < v < 1 for v in by_place.values())


class _Oracle(torch.nn.Module):
    """Logits that always pick the scored target (or word 0): a perfect model."""

    def __init__(self, y: np.ndarray) -> None:
        super().__init__()
        self.y = torch.from_numpy(np.where(y == IGNORE, 0, y))
        self.dummy = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.one_hot(self.y, len(VOCAB)).float() + 0 * self.dummy


def test_accuracy_by_lag_counts_every_scored_step(rng):
    b = grammar_batch(16, rng, max_phrases=4)
    acc = accuracy_by_lag(_Oracle(b.y), b, bins=(0, 4, 100))
    assert acc["0-3"][0] == acc["4-99"][0] == 1.0
    assert acc["0-3"][1] + acc["4-99"][1] == int((b.y != IGNORE).sum())


def test_saturation_shares():
    shares = saturation(np.array([0.05, 0.5, 0.95, 0.99]))
    assert shares == {"< 0.1": 0.25, "between": 0.25, "> 0.9": 0.5}


# ---- LSTM vs RNN and the three implementations


def test_comparison_rows_and_table(tiny_grammar_lstm, rng):
    b = grammar_batch(8, rng, max_phrases=4)
    V, H = len(VOCAB), 8
    assert parameter_count(tiny_grammar_lstm) == 4 * (H * (V + H) + 2 * H) + H * V + V
    rows = comparison_rows({"LSTM": tiny_grammar_lstm}, b, tagger_loss, {"LSTM": 0.5})
    assert rows["LSTM"]["parameters"] == parameter_count(tiny_grammar_lstm)
    assert rows["LSTM"]["ms per step"] > 0 and rows["LSTM"]["gradient x per 10 steps"] == 0.5
    table = show_table(rows)._repr_html_()
    assert table.count("<tr>") == 1 + len(rows["LSTM"]) and "<th>LSTM</th>" in table and "|" not in table


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_trained_gradient_decay_follows_the_models_cell(cell, rng):
    torch.manual_seed(0)
    model = SequenceTagger(cell, 3, 4, 2).double()
    x = rng.standard_normal((12, 3))
    jac = torch.autograd.functional.jacobian(
        lambda inp: model.rnn(inp[:, None, :])[0][-1, 0], torch.from_numpy(x)
    )  # (H, T, D)
    norms = [np.linalg.norm(jac[:, 11 - k, :].detach().numpy(), 2) for k in range(12)]  # lag k
    assert trained_gradient_decay(model, x) == pytest.approx(decay_per(norms), rel=1e-9)


def test_three_implementations_agree():
    gaps = three_lstms(T=4)
    for per_output in gaps.values():
        assert max(per_output.values()) < 1e-12


def test_torch_lstm_uses_onednn_only_in_float32():
    assert "aten::mkldnn_rnn_layer" not in kernels_of_torch_lstm(torch.float64)
    if torch.backends.mkldnn.is_available():
        assert "aten::mkldnn_rnn_layer" in kernels_of_torch_lstm(torch.float32)


def test_story_sentences_name_the_words_their_stories_name(tiny_grammar_lstm):
    acts_at = {name: [words[t] for t in where] for name, (_, words, where, _) in STORY_SENTENCES.items()}
    assert acts_at == {
        "the subject changes (Bob, then Dan)": ["tom"],
        "the swimmer who served in the navy": ["the", "dogs"],
        "the brave ___ blank": ["lake"],  # the step that predicts the blank
    }
    units = np.array([0, 3])
    told = story_sentence_gates(tiny_grammar_lstm, units, margin=0.05, tolerance=0.02)
    brave = told["the brave ___ blank"]
    read = [("is" if w == "___" else w) for w in brave.words]  # alice: the verb is "is"
    expected = gate_trace(tiny_grammar_lstm, read).o[:, units].mean(axis=1)
    np.testing.assert_allclose(brave.values, expected)
    assert brave.there == pytest.approx(expected[6])
    assert brave.elsewhere == pytest.approx(np.delete(expected, 6).mean())
    for name, result in told.items():
        sign = STORY_SENTENCES[name][3]
        change = sign * (result.there - result.elsewhere)
        assert result.verdict == verdict(change, 0.05, 0.02)


def test_gate_story_checks_follow_the_sign_and_margin():
    summary = {
        "f": {"new subject": 0.5, "before a scored word": 0.7, "other words": 0.7},
        "i": {"new subject": 0.72, "before a scored word": 0.7, "other words": 0.7},
        "o": {"new subject": 0.7, "before a scored word": 0.76, "other words": 0.7},
    }
    checks = check_gate_stories(summary, margin=0.05, tolerance=0.02)
    assert checks["forget gate clears the old subject"] == (0.5, 0.7, "supported")
    assert checks["input gate writes the new subject"][2] == "not supported"  # 0.02 < 0.05 - 0.02
    assert (
        checks["output gate exposes memory for a prediction"][2] == "undecided"
    )  # 0.06: within 0.05 +- 0.02
    summary["o"]["before a scored word"] = 0.78
    assert check_gate_stories(summary)["output gate exposes memory for a prediction"][2] == "supported"
    summary["f"]["new subject"] = 0.9  # higher, the wrong direction
    assert check_gate_stories(summary)["forget gate clears the old subject"][2] == "not supported"
