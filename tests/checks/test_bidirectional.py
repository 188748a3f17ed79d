"""Exercise 07's checks: the solution passes; each mistake in a direction or the layer gets its feedback."""

from functools import partial

import numpy as np
import pytest
import torch

from lstm_course.checks.bidirectional import (
    check_bidirectional_forward,
    check_run_direction,
    direction_with,
    expected_direction,
    gru_step,
    rnn_step,
)
from lstm_course.checks.harness import CheckFailure, random_params


def correct_direction(step, x, lengths, params, reverse=False):
    return direction_with(step, x, lengths, params, reverse)


def layer(step, x, lengths, params_fwd, params_rev, direction=correct_direction, order=(0, 1), stack=False):
    """A bidirectional layer over ``direction``; ``order`` (1, 0) puts the reverse direction first."""
    parts = [direction(step, x, lengths, params_fwd, False), direction(step, x, lengths, params_rev, True)]
    first, second = parts[order[0]], parts[order[1]]
    out = np.stack([first[0], second[0]]) if stack else np.concatenate([first[0], second[0]], axis=2)
    return out, np.stack([first[1], second[1]])


def test_the_solution_passes_every_check(capsys: pytest.CaptureFixture[str]) -> None:
    check_run_direction(correct_direction)
    check_bidirectional_forward(layer)
    assert capsys.readouterr().out.splitlines() == [
        "✓ run_direction: 6/6 checks passed",
        "✓ bidirectional_forward: 4/4 checks passed",
    ]


@pytest.mark.parametrize("cell", ["rnn", "gru"])
def test_the_expected_values_are_torch_with_lengths(cell: str) -> None:
    rng = np.random.default_rng(3)
    T, B, D, H = 6, 4, 3, 5
    lengths = np.array([6, 2, 4, 1])
    x = rng.normal(0, 1, (T, B, D))
    x[np.arange(T)[:, None] >= lengths[None, :]] = 0.0
    params_fwd, params_rev = random_params(cell, D, H, rng), random_params(cell, D, H, rng)
    step = {"rnn": rnn_step, "gru": gru_step}[cell]
    fwd = expected_direction(step, x, lengths, params_fwd, reverse=False)
    rev = expected_direction(step, x, lengths, params_rev, reverse=True)
    module = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU}[cell](D, H, bidirectional=True).double()
    weights = {f"{k}_l0": v for k, v in params_fwd.items()} | {
        f"{k}_l0_reverse": v for k, v in params_rev.items()
    }
    module.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        torch.from_numpy(x), torch.from_numpy(lengths), enforce_sorted=False
    )
    out, h_n = module(packed)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=T)
    np.testing.assert_allclose(out.detach().numpy(), np.concatenate([fwd[0], rev[0]], axis=2), atol=1e-12)
    np.testing.assert_allclose(h_n.detach().numpy(), np.stack([fwd[1], rev[1]]), atol=1e-12)
    for reverse, expected in ((False, fwd), (True, rev)):
        params = params_rev if reverse else params_fwd
        got = direction_with(step, x, lengths, params, reverse)
        np.testing.assert_allclose(got[0], expected[0], atol=1e-12)
        np.testing.assert_allclose(got[1], expected[1], atol=1e-12)


def _feedback(check, fn) -> str:
    with pytest.raises(CheckFailure) as info:
        check(fn, seed=7)
    return str(info.value).splitlines()[0]


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        ({"from_padding": True}, "the reverse pass starts at the padding"),
        ({"unflipped": True}, "the reverse outputs are not flipped back"),
        ({"through_padding": True}, "the padding changed the state"),
        ({"padded_outputs": True}, "padded steps (t >= lengths[b]) must output zeros"),
    ],
)
def test_run_direction_mistakes_are_named(knobs: dict, message: str) -> None:
    def mutant(step, x, lengths, params, reverse=False):
        return direction_with(step, x, lengths, params, reverse, **knobs)

    assert _feedback(check_run_direction, mutant).startswith(message)


@pytest.mark.parametrize(
    ("reverse", "message"),
    [
        (True, "h_last of the reverse direction is its last state"),
        (False, "h_last is the state after the first step"),
    ],
)
def test_h_last_from_the_wrong_end_is_named(reverse: bool, message: str) -> None:
    def mutant(step, x, lengths, params, reverse_=False):
        wrong = direction_with(step, x, lengths, params, reverse_, last_read_first=True)
        right = direction_with(step, x, lengths, params, reverse_)
        return right[0], (wrong if reverse_ == reverse else right)[1]

    assert _feedback(check_run_direction, mutant).startswith(message)


def test_a_forward_only_direction_is_caught_in_reverse() -> None:
    def mutant(step, x, lengths, params, reverse=False):
        return direction_with(step, x, lengths, params, False)

    assert "out is wrong" in _feedback(check_run_direction, mutant)


def _swapped(step, x, lengths, params_fwd, params_rev, both=False):
    fwd = correct_direction(step, x, lengths, params_rev if both else params_fwd, False)
    rev = correct_direction(step, x, lengths, params_fwd, True)
    return np.concatenate([fwd[0], rev[0]], axis=2), np.stack([fwd[1], rev[1]])


def _flawed(**knobs):
    def direction(step, x, lengths, params, reverse=False):
        return direction_with(step, x, lengths, params, reverse, **(knobs if reverse else {}))

    return direction


@pytest.mark.parametrize(
    ("mutant", "message"),
    [
        (partial(layer, order=(1, 0)), "the two directions are concatenated in the wrong order"),
        (partial(layer, direction=_flawed(from_padding=True)), "the reverse pass starts at the padding"),
        (partial(layer, direction=_flawed(unflipped=True)), "the reverse outputs are not flipped back"),
        (_swapped, "the reverse direction used params_fwd"),
        (partial(_swapped, both=True), "the two directions' parameters are swapped"),
        (partial(layer, stack=True), "out stacks the directions on a new axis"),
    ],
)
def test_bidirectional_mistakes_are_named(mutant, message: str) -> None:
    assert _feedback(check_bidirectional_forward, mutant).startswith(message)


def test_a_wrong_run_direction_is_named_first() -> None:
    namespace = {"np": np, "run_direction": _flawed(unflipped=True)}
    exec(
        "def bidirectional_forward(step, x, lengths, params_fwd, params_rev):\n"
        "    out_f, h_f = run_direction(step, x, lengths, params_fwd, False)\n"
        "    out_r, h_r = run_direction(step, x, lengths, params_rev, True)\n"
        "    return np.concatenate([out_f, out_r], axis=2), np.stack([h_f, h_r])\n",
        namespace,
    )
    assert _feedback(check_bidirectional_forward, namespace["bidirectional_forward"]) == (
        "run_direction is not right yet: make check_run_direction pass first"
    )
