"""The shared mistake machinery: right when unmutated for every cell, and each variant names its mistake."""

import numpy as np
import pytest

from lstm_course import reference as ref
from lstm_course.cellspec import SPECS
from lstm_course.checks import lstm as lstm_checks
from lstm_course.checks import rnn as rnn_checks
from lstm_course.checks.harness import Feedback, expect_array, random_params
from lstm_course.checks.mistakes import (
    CellSteps,
    TanhSite,
    bptt,
    bptt_variants,
    gate_order_text,
    gate_order_variants,
    reordered_gates,
    row_layout,
    run_steps,
    sequence_forward_variants,
    step_backward_mistakes,
    tanh_derivative_mistakes,
)

CELLS = {
    "rnn": CellSteps(SPECS["rnn"], ref.rnn_step_forward, ref.rnn_step_backward),
    "lstm": CellSteps(SPECS["lstm"], ref.lstm_step_forward, ref.lstm_step_backward),
    "gru": CellSteps(SPECS["gru"], ref.gru_step_forward, ref.gru_step_backward),
}
SEQUENCE = {"rnn": (ref.rnn_forward, ref.rnn_backward), "lstm": (ref.lstm_forward, ref.lstm_backward)}
SEQUENCE["gru"] = (ref.gru_forward, ref.gru_backward)


def inputs(cell: str, rng: np.random.Generator, T: int = 4, B: int = 2, D: int = 3, H: int = 5) -> tuple:
    x = rng.normal(size=(T, B, D))
    initial = tuple(rng.normal(size=(B, H)) for _ in SPECS[cell].states)
    return x, random_params(cell, D, H, rng), initial


def test_gate_order_text_names_a_swap_or_the_order_read() -> None:
    gates = SPECS["lstm"].gates
    assert gate_order_text(gates, (1, 0, 2, 3)) == (
        "the gates look swapped: your output matches the reference when i and f are exchanged"
    )
    # gate i read from block 3, f from block 0, ...: block 0 is read as f
    assert gate_order_text(gates, (3, 0, 1, 2)) == (
        "the gates are in the wrong order: your output matches rows read as (f, g, o, i) "
        "instead of (i, f, g, o)"
    )
    assert row_layout(SPECS["lstm"]) == " (torch's rows: [0:H] i, [H:2H] f, [2H:3H] g, [3H:4H] o)"
    assert row_layout(SPECS["gru"]) == " (torch's rows: [0:H] r, [H:2H] z, [2H:3H] n)"


def test_reordered_gates_moves_whole_blocks() -> None:
    params = {"weight_ih": np.arange(6.0)[:, None], "bias_ih": np.arange(6.0)}
    moved = reordered_gates(params, (2, 0, 1))
    assert moved["bias_ih"].tolist() == [4, 5, 0, 1, 2, 3]
    assert moved["weight_ih"][:, 0].tolist() == [4, 5, 0, 1, 2, 3]


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_unmutated_sequence_and_bptt_equal_the_reference(cell: str, rng: np.random.Generator) -> None:
    x, params, initial = inputs(cell, rng)
    forward, backward = SEQUENCE[cell]
    out, final, _ = run_steps(CELLS[cell], x, params, initial)
    e_out, e_final, cache = forward(x, params, *initial)
    np.testing.assert_allclose(out, e_out, rtol=1e-12)
    dout = rng.normal(size=out.shape)
    dfinal = tuple(rng.normal(size=state.shape) for state in initial)
    got = bptt(CELLS[cell], x, params, initial, dout, dfinal)
    e_dx, e_grads, e_dinitial = backward(dout, cache, *dfinal)
    np.testing.assert_allclose(got["dx"], e_dx, rtol=1e-10, atol=1e-12)
    for name in e_grads:
        np.testing.assert_allclose(got["grads"][name], e_grads[name], rtol=1e-10, atol=1e-12)
    e_dinitial = e_dinitial if isinstance(e_dinitial, tuple) else (e_dinitial,)
    for state, expected in zip(SPECS[cell].states, e_dinitial, strict=True):
        np.testing.assert_allclose(got[f"d{state}0"], expected, rtol=1e-10, atol=1e-12)


def test_a_gru_step_with_r_and_z_swapped_is_named(rng: np.random.Generator) -> None:
    """The coming GRU check gets gate diagnoses from the spec alone."""
    x, params, (h,) = inputs("gru", rng)
    student = ref.gru_step_forward(x[0], h, reordered_gates(params, (1, 0, 2)))[0]
    expected = ref.gru_step_forward(x[0], h, params)[0]
    with pytest.raises(
        Feedback, match=r"^the gates look swapped: .* when r and z are exchanged \(torch's rows"
    ):
        expect_array(
            "h", student, expected, variants=gate_order_variants(CELLS["gru"], x[0], (h,), params, 0)
        )


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_each_sequence_variant_is_recognised_as_itself(cell: str, rng: np.random.Generator) -> None:
    x, params, initial = inputs(cell, rng)
    expected = run_steps(CELLS[cell], x, params, initial)[0]
    variants = sequence_forward_variants(CELLS[cell], x, params, initial)
    assert len(variants) == 1 + 2 * len(SPECS[cell].states)
    for message, compute in variants:
        with pytest.raises(Feedback) as info:
            expect_array("out", compute(), expected, variants=variants)
        assert info.value.first == message


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_each_bptt_variant_is_recognised_as_itself(cell: str, rng: np.random.Generator) -> None:
    x, params, initial = inputs(cell, rng)
    dout = rng.normal(size=(x.shape[0], x.shape[1], initial[0].shape[1]))
    dfinal = tuple(rng.normal(size=state.shape) for state in initial)
    expected = bptt(CELLS[cell], x, params, initial, dout, dfinal)
    recognised = []
    for output in ["dx", "dh0"]:
        variants = bptt_variants(CELLS[cell], x, params, initial, dout, dfinal, output)
        for message, compute in variants:
            if np.allclose(compute(), expected[output]):
                continue  # e.g. grads not accumulated: dx is still right
            with pytest.raises(Feedback) as info:
                expect_array(output, compute(), expected[output], variants=variants)
            assert info.value.first == message
            recognised.append(message)
    # every mistake but "grads not accumulated" shows in dx or dh0
    assert len(set(recognised)) == len(variants) - 1


def test_tanh_derivative_feedback_names_the_site() -> None:
    messages = [
        message for message, _ in tanh_derivative_mistakes(TanhSite("g", "a_g", " for the candidate"))
    ]
    assert messages[0] == (
        "wrong tanh derivative for the candidate: with g = tanh(a_g), dg/da_g = 1 - g**2 (you used 1 - g)"
    )
    y, a = np.tanh(np.linspace(-2, 2, 5)), np.linspace(-2, 2, 5)
    derivatives = [derivative(y, a) for _, derivative in tanh_derivative_mistakes(TanhSite("h", "a"))]
    assert all(not np.allclose(wrong, 1 - y**2) for wrong in derivatives)


def same(got: np.ndarray, expected: np.ndarray) -> bool:
    return got.shape == expected.shape and np.allclose(got, expected)


@pytest.mark.parametrize("module", [rnn_checks, lstm_checks], ids=["rnn", "lstm"])
def test_every_step_backward_mistake_is_a_knob_the_cell_takes(module, rng: np.random.Generator) -> None:
    """A variant that raises is skipped silently in a check: a knob the cell's backward lacks would hide."""
    cell = module.RNN if module is rnn_checks else module.LSTM
    x, params, initial = inputs(cell.spec.name, rng, D=5)
    dstates = tuple(rng.normal(size=state.shape) for state in initial)
    right = module._step_backward(*dstates, x[0], *initial, params)
    mistakes = [
        *step_backward_mistakes(
            cell.spec, module.TANH_SITES, "dx", getattr(module, "STEP_BACKWARD_MISTAKES", ())
        ),
        *step_backward_mistakes(cell.spec, module.TANH_SITES, "grads"),
    ]
    for message, knobs in mistakes:
        if knobs == {"transposed": True} and cell.spec.num_gates > 1:
            continue  # a transposed (G*H, D) weight cannot multiply da (B, G*H): no student gets that far
        wrong = module._step_backward(*dstates, x[0], *initial, params, **knobs)
        differs = [
            key
            for key in right
            if key != "grads"
            and not same(wrong[key], right[key])
            or key == "grads"
            and any(not same(wrong[key][k], right[key][k]) for k in right[key])
        ]
        assert differs, message
