"""The naive baseline computes what torch.nn computes: outputs, final states, every gradient and dx."""

import pytest
import torch
from torch import nn

from lstm_course.benchmarks.naive import GATES, NaiveRecurrent, naive_from_torch

T, B, D, H = 6, 3, 4, 5
MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def torch_weight_grads(naive: NaiveRecurrent, cell: str) -> dict[str, torch.Tensor]:
    """The naive gradients in torch.nn's layout: gate blocks stacked, weights transposed."""
    gates = GATES[cell]
    p = naive.params
    bias_ih = [p["b_xn" if g == "n" else f"b_{g}"].grad for g in gates]
    bias_hh = [p["b_hn" if g == "n" else f"b_{g}"].grad for g in gates]
    return {
        "weight_ih_l0": torch.cat([p[f"W_x{g}"].grad.T for g in gates]),
        "weight_hh_l0": torch.cat([p[f"W_h{g}"].grad.T for g in gates]),
        "bias_ih_l0": torch.cat(bias_ih),
        "bias_hh_l0": torch.cat(bias_hh),
    }


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_naive_matches_torch_nn_in_float64(cell):
    torch.manual_seed(0)
    theirs = MODULES[cell](D, H).double()
    naive = naive_from_torch(theirs)
    x = torch.randn(T, B, D, dtype=torch.float64)
    dout = torch.randn(T, B, H, dtype=torch.float64)
    x_theirs, x_naive = x.clone().requires_grad_(), x.clone().requires_grad_()

    out_theirs, state_theirs = theirs(x_theirs)
    out_naive, state_naive = naive(x_naive)
    torch.testing.assert_close(out_naive, out_theirs, rtol=0, atol=1e-12)
    for ours_state, their_state in zip(
        state_naive, state_theirs if cell == "lstm" else (state_theirs,), strict=True
    ):
        torch.testing.assert_close(ours_state, their_state[0], rtol=0, atol=1e-12)

    out_theirs.backward(dout)
    out_naive.backward(dout)
    torch.testing.assert_close(x_naive.grad, x_theirs.grad, rtol=0, atol=1e-9)
    for name, grad in torch_weight_grads(naive, cell).items():
        torch.testing.assert_close(grad, getattr(theirs, name).grad, rtol=0, atol=1e-9, msg=name)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_naive_has_one_matrix_per_gate_and_input(cell):
    naive = NaiveRecurrent(cell, D, H)
    shapes = {name: tuple(p.shape) for name, p in naive.params.items()}
    for gate in GATES[cell]:
        assert shapes[f"W_x{gate}"] == (D, H) and shapes[f"W_h{gate}"] == (H, H)
    assert (
        sum(p.numel() for p in naive.parameters())
        == sum(p.numel() for p in MODULES[cell](D, H).parameters()) - (len(GATES[cell]) - (cell == "gru")) * H
    )  # torch keeps b_ih and b_hh apart, the naive cell one bias per gate (two for the GRU's n)


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="hidden_size"):
        NaiveRecurrent("lstm", 2, 0)
    with pytest.raises(ValueError, match="cell"):
        NaiveRecurrent("transformer", 2, 3)
    with pytest.raises(ValueError, match="x must be"):
        NaiveRecurrent("gru", 2, 3)(torch.zeros(4, 1, 3))
    with pytest.raises(TypeError, match="module"):
        naive_from_torch(nn.Linear(2, 3))
    with pytest.raises(ValueError, match="one layer"):
        naive_from_torch(nn.LSTM(2, 3, num_layers=2))
