"""Chapter 5's experiments, run small; each measurement checked against an independent computation."""

import numpy as np
import pytest
import torch

from lstm_course.experiments.gru_stories import (
    PLACES,
    CuisineConfig,
    GRUTrace,
    check_update_story,
    cuisine_accuracy,
    cuisine_training,
    first_cuisine_units,
    trace,
    train_cuisine,
    update_gate_summary,
)
from lstm_course.experiments.gru_vs_lstm import (
    Comparison,
    CopyTask,
    Reader,
    TaskConfig,
    adding_steps,
    anbn_right,
    anbn_states,
    claim_verdicts,
    compare,
    compare_steps,
    comparison_training,
    copy_accuracy,
    flow_gru_and_lstm,
    generalises_to,
    paired_ms_per_step,
    parameter_count,
    speed_text,
    steps_or_cap,
    three_grus,
    train_anbn,
)
from lstm_course.experiments.threads import torch_threads
from lstm_course.tasks.cuisine import cuisine_batch


@pytest.fixture(autouse=True)
def one_thread():
    with torch_threads(1):
        yield


def test_three_grus_agree_to_rounding() -> None:
    gaps = three_grus(input_size=2, hidden_size=3, T=4, batch_size=2)
    assert set(gaps) == {"lstm_course.nn.GRU", "reference.gru_forward"}
    assert max(v for row in gaps.values() for v in row.values()) < 1e-12


def test_parameter_count_follows_the_block_formula() -> None:
    for D, H in ((2, 16), (5, 7)):
        assert parameter_count("lstm", D, H) == 4 * (H * (D + H) + 2 * H)
        assert parameter_count("gru", D, H) == 3 * (H * (D + H) + 2 * H)


def test_a_raised_update_bias_keeps_more_gradient_at_init() -> None:
    flows = flow_gru_and_lstm(update_biases=(0.0, 4.0), hidden_size=8, T=30, seed=0)
    assert {"tanh RNN", "LSTM, forget bias 0", "GRU", "GRU, update bias +4"} <= set(flows)
    # at lag 29, z ~ sigma(4) keeps most of the state along the keep path; z ~ 0.5 halves it each step
    assert flows["GRU, update bias +4"].input[-1] > 100 * flows["GRU"].input[-1]


def test_compare_decides_only_when_the_gap_exceeds_the_spread() -> None:
    assert compare([1, 2, 3], [10, 11, 12]) == Comparison("GRU", 9.0, 2.0)
    assert compare([1, 2, 3], [10, 11, 12], lower_is_better=True).winner == "LSTM"
    assert compare([1, 2, 9], [3, 4, 5]).winner is None  # gap 2, LSTM's range 8
    assert compare([1.0], [1.0]).winner is None
    assert steps_or_cap([5, None, 7], 400) == [5, 401, 7]


def test_claim_verdicts_follow_the_numbers() -> None:
    decided = Comparison("LSTM", 5.0, 1.0)
    undecided = Comparison(None, 1.0, 5.0)
    verdicts = claim_verdicts(
        parameters={"LSTM": 4, "GRU": 3},
        speed={"a": {"LSTM": 1.0, "GRU": 2.0}, "b": {"LSTM": 2.0, "GRU": 1.0}},
        long_lags=(decided, decided, decided),
        small_data=undecided,
    )
    assert [v[0] for v in verdicts.values()] == [
        "supported",
        "depends",
        "supported",
        "the data cannot decide",
    ]
    verdicts = claim_verdicts(
        parameters={"LSTM": 4, "GRU": 3},
        speed={"a": {"LSTM": 1.0, "GRU": 2.0}, "b": {"LSTM": 1.0, "GRU": 0.7}},  # 0.7: about even
        long_lags=(Comparison("GRU", 5.0, 1.0), undecided, decided),
        small_data=Comparison("LSTM", 5.0, 1.0),
    )
    assert verdicts["GRU is faster"][0] == "unsupported"  # faster nowhere
    assert (
        speed_text(0.5) == "GRU faster" and speed_text(1.4) == "about even" and speed_text(2) == "LSTM faster"
    )
    assert verdicts["LSTM for long sequences"][0] == "depends"
    assert verdicts["GRU better on small data"][0] == "unsupported"
    assert (
        "adding T = 100: GRU; copy: cannot decide; aⁿbⁿ counting: LSTM"
        == verdicts["LSTM for long sequences"][1]
    )


def test_generalises_to_is_the_last_n_before_the_first_mistake() -> None:
    ns = np.arange(1, 6)
    assert generalises_to(np.array([True, True, False, True, True]), ns) == 2
    assert generalises_to(np.ones(5, bool), ns) == 5
    assert generalises_to(np.array([False, True, True, True, True]), ns) == 0


class CountingOracle(torch.nn.Module):
    """Answers aⁿbⁿ exactly by counting (a minus b reaching 0 at a b): what a trained model should do."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        count = torch.cumsum(x[..., 0] - x[..., 1], dim=0)  # (T, B)
        return ((count == 0) & (x[..., 1] == 1)).float()[..., None] * 2 - 1  # logit > 0: "last b"


def test_anbn_right_marks_an_exact_counter_right_and_a_shifted_one_wrong() -> None:
    ns = np.arange(1, 8)
    assert anbn_right(CountingOracle(), ns).all()

    class OffByOne(CountingOracle):
        def forward(self, x):
            return torch.roll(super().forward(x), 1, dims=0)

    assert not anbn_right(OffByOne(), ns).any()


def test_training_runs_are_bounded_by_steps_and_report_their_measures() -> None:
    config = TaskConfig("gru", hidden_size=4, batch_size=8)
    assert adding_steps(config, comparison_training(steps=3), T=10) is None  # cannot solve in 3 steps
    run = train_anbn(
        TaskConfig("lstm", hidden_size=4, batch_size=8), comparison_training(steps=2), max_n=3, test_up_to=6
    )
    assert 0 <= run.generalises_to <= 6 and np.isfinite(run.train_loss)
    assert anbn_states(run.model, 5).shape == (10, 4)
    # untrained: near chance, 1/8, over the scored steps only (blank steps would score 0 or 1)
    accuracy = copy_accuracy(
        config, CopyTask(length=2, delay=3), comparison_training(steps=0), test_size=2000
    )
    assert abs(accuracy - 1 / 8) < 0.05


def test_anbn_states_of_the_gru_are_its_outputs() -> None:
    torch.manual_seed(0)
    model = Reader("gru", 2, 3, 1, every_step=True)
    states = anbn_states(model, 4)
    x = torch.tensor([[[1.0, 0.0]]] * 4 + [[[0.0, 1.0]]] * 4)
    np.testing.assert_allclose(states, model.rnn(x)[0][:, 0].detach().numpy(), rtol=1e-6)


def test_the_trace_steps_the_reference_on_the_trained_weights() -> None:
    model, _ = train_cuisine(
        CuisineConfig(hidden_size=6, embedding_size=4, batch_size=4), cuisine_training(steps=2)
    )
    batch = cuisine_batch(3, np.random.default_rng(0))
    run = trace(model, batch)
    with torch.no_grad():
        expected = model.rnn(model.embed(torch.from_numpy(batch.x)))[0].double().numpy()
    np.testing.assert_allclose(run.h, expected, atol=1e-5)
    assert run.z.shape == run.h.shape and ((run.z > 0) & (run.z < 1)).all()
    assert set(cuisine_accuracy(model, batch)) == {"first person", "second person"}


def test_a_trace_of_an_lstm_tagger_is_refused() -> None:
    model, _ = train_cuisine(
        CuisineConfig(cell="lstm", hidden_size=4, embedding_size=4), cuisine_training(steps=1)
    )
    with pytest.raises(ValueError, match="GRU"):
        trace(model, cuisine_batch(2, np.random.default_rng(0)))


def test_units_and_summary_on_a_made_up_trace() -> None:
    batch = cuisine_batch(40, np.random.default_rng(0))
    T, B, H = batch.x.shape[0], batch.x.shape[1], 5
    rng = np.random.default_rng(1)
    h = rng.normal(0, 1, (T, B, H))
    for b, s in enumerate(batch.stories):
        h[s.second_name - 1, b, 3] = 10.0 * s.cuisines[0]  # unit 3 encodes the first cuisine
    z = np.full((T, B, H), 0.9)
    for b, s in enumerate(batch.stories):
        z[s.first_dish, b], z[s.second_name, b], z[s.second_dish, b] = 0.1, 0.5, 0.2
    run = GRUTrace(z, h)
    assert first_cuisine_units(run, batch, k=2)[0] == 3
    summary = update_gate_summary(run, batch, np.array([0, 3]))
    assert list(summary) == list(PLACES)
    assert summary == pytest.approx({PLACES[0]: 0.1, PLACES[1]: 0.9, PLACES[2]: 0.5, PLACES[3]: 0.2})
    holds = [result[2] for result in check_update_story(summary).values()]
    assert holds == [True, True, True]
    summary[PLACES[2]] = 0.88
    assert [result[2] for result in check_update_story(summary).values()] == [True, False, True]


def test_compare_steps_lets_unsolved_runs_lose_only_to_runs_that_all_did_better() -> None:
    cap = 400
    # the chapter's case: the LSTM solved none, the GRU 4 of 5, each GRU run no slower than any LSTM run
    assert compare_steps([None] * 5, [372, 328, 350, 389, None], cap).winner == "GRU"
    assert compare_steps([100, 120, 110], [None, None, None], cap).winner == "LSTM"
    # one LSTM run beat a GRU run: no dominance, and the medians are within the spread
    assert compare_steps([300, None, None], [372, 328, None], cap).winner is None
    assert compare_steps([None, None], [None, None], cap).winner is None


def test_paired_timing_reports_each_layer_and_the_median_ratio() -> None:
    torch.manual_seed(0)
    layers = {"LSTM": torch.nn.LSTM(2, 3), "GRU": torch.nn.GRU(2, 3)}
    timed = paired_ms_per_step(layers, T=3, batch_size=2, repeats=3)
    assert set(timed) == {"LSTM", "GRU", "GRU / LSTM"}
    assert all(value > 0 for value in timed.values())


@pytest.mark.parametrize("implementation", ["fast", "plain", "torch"])
def test_the_reader_draws_torchs_weights_and_computes_the_same_on_each_implementation(implementation) -> None:
    torch.manual_seed(0)
    reference = Reader("gru", 2, 3, 1, every_step=True, implementation="torch")
    torch.manual_seed(0)
    model = Reader("gru", 2, 3, 1, every_step=True, implementation=implementation)
    assert list(model.state_dict()) == list(reference.state_dict())
    for name, value in reference.state_dict().items():
        assert torch.equal(model.state_dict()[name], value), name
    assert isinstance(model.rnn, torch.nn.GRU) == (implementation == "torch")
    x = torch.randn(5, 2, 2)
    torch.testing.assert_close(model(x), reference(x), rtol=1e-5, atol=1e-6)


def test_the_reader_trains_the_gru_on_our_fast_path_and_the_lstm_on_torch_by_default() -> None:
    assert Reader("gru", 2, 3, 1, every_step=False).rnn.fast is True
    assert isinstance(Reader("lstm", 2, 3, 1, every_step=False).rnn, torch.nn.LSTM)
    with pytest.raises(ValueError, match="implementation"):
        Reader("gru", 2, 3, 1, every_step=True, implementation="cuda")
