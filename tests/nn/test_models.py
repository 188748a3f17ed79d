"""Models, set_forget_bias, pick_device and the NumPy <-> torch conversion (reference/convert.py)."""

import numpy as np
import pytest
import torch
from torch import nn

import lstm_course.nn as our
from lstm_course import reference

T, B, D, H = 7, 3, 2, 8


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_sequence_regressor_uses_last_hidden_state(cell):
    model = our.SequenceRegressor(cell, D, H, 1, num_layers=2)
    assert isinstance(model.rnn, {"rnn": our.RNN, "lstm": our.LSTM, "gru": our.GRU}[cell])
    x = torch.randn(T, B, D)
    y = model(x)
    assert y.shape == (B, 1)
    out, _ = model.rnn(x)
    torch.testing.assert_close(y, model.head(out[-1]))
    y_len = model(x, lengths=[T, 3, 1])
    torch.testing.assert_close(y_len[0], y[0])
    torch.testing.assert_close(y_len[2], model.head(model.rnn(x[:1, 2:3])[0][-1])[0])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_bidirectional_regressor_reads_both_directions(cell):
    model = our.SequenceRegressor(cell, D, H, 1, num_layers=2, bidirectional=True)
    x = torch.randn(T, B, D)
    out, _ = model.rnn(x)  # (T, B, 2H): forward half ends at t = T-1, reverse half at t = 0
    torch.testing.assert_close(model(x), model.head(torch.cat([out[-1, :, :H], out[0, :, H:]], dim=-1)))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_sequence_tagger_reads_every_step_through_its_head(cell):
    model = our.SequenceTagger(cell, D, H, 5, bidirectional=True)
    x = torch.randn(T, B, D)
    y = model(x)
    assert y.shape == (T, B, 5)
    out, _ = model.rnn(x)  # (T, B, 2H): both directions at every step
    for t in range(T):
        torch.testing.assert_close(y[t], model.head(out[t]))
    # the reverse direction reaches the first step: changing the last input changes the first output
    x_changed = x.clone()
    x_changed[-1] += 1.0
    assert not torch.allclose(model(x_changed)[0], y[0])


def test_models_check_cell_name():
    with pytest.raises(ValueError, match="cell must be one of"):
        our.SequenceRegressor("transformer", D, H, 1)


@pytest.mark.parametrize("embedding_dim", [None, 4])
def test_charlm_forward_carries_the_state(embedding_dim):
    V = 11
    model = our.CharLM(V, H, cell="lstm", num_layers=2, embedding_dim=embedding_dim)
    idx = torch.randint(0, V, (T, B))
    logits, state = model(idx)
    assert logits.shape == (T, B, V)
    assert state[0].shape == (2, B, H)
    # feeding the sequence in two halves with the carried state gives the same logits
    first, state1 = model(idx[:3])
    second, _ = model(idx[3:], state1)
    torch.testing.assert_close(torch.cat([first, second]), logits)
    assert model.training


def _greedy(model: our.CharLM, prompt: list[int], length: int) -> list[int]:
    """The most likely next index, ``length`` times, re-reading the whole sequence each time."""
    sequence = list(prompt)
    with torch.no_grad():
        for _ in range(length):
            logits, _ = model(torch.tensor(sequence).unsqueeze(1))  # (T, 1, V)
            sequence.append(int(logits[-1, 0].argmax()))
    return sequence[len(prompt) :]


def test_charlm_sample_is_reproducible_per_seed():
    V = 11
    model = our.CharLM(V, H, cell="lstm", num_layers=2)
    drawn = model.sample([1, 2], 20, temperature=0.8, generator=torch.Generator().manual_seed(5))
    again = model.sample([1, 2], 20, temperature=0.8, generator=torch.Generator().manual_seed(5))
    other = model.sample([1, 2], 20, temperature=0.8, generator=torch.Generator().manual_seed(6))
    assert drawn == again and len(drawn) == 20 and all(0 <= i < V for i in drawn)
    assert other != drawn
    assert model.training  # sample restores the mode


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_charlm_sample_at_low_temperature_is_the_argmax(cell):
    model = our.CharLM(11, H, cell=cell, num_layers=2).double()
    with torch.no_grad():  # sharper logits than at init, so the argmax is far from any tie
        model.head.weight.mul_(20.0)
    drawn = model.sample([1, 2, 3], 15, temperature=1e-3, generator=torch.Generator().manual_seed(0))
    assert drawn == _greedy(model, [1, 2, 3], 15)


def test_charlm_sample_follows_the_models_distribution():
    draws = 1000
    model = our.CharLM(5, H, cell="gru")
    logits = torch.tensor([2.0, 1.0, 0.0, -1.0, -2.0])
    with torch.no_grad():  # the same logits at every step, whatever the state: the draws are i.i.d.
        model.head.weight.zero_()
        model.head.bias.copy_(logits)
    drawn = model.sample([3, 1], draws, temperature=2.0, generator=torch.Generator().manual_seed(0))
    expected = torch.softmax(logits / 2.0, dim=-1).numpy()  # temperature 2 flattens it: 0.43 .. 0.06
    frequencies = np.bincount(drawn, minlength=5) / draws
    # 4 standard errors of a frequency from `draws` draws (a fixed seed, so it never flakes)
    np.testing.assert_allclose(frequencies, expected, atol=4 * np.sqrt(0.25 / draws))


def test_charlm_bad_input():
    model = our.CharLM(5, H)
    with pytest.raises(TypeError, match="torch.long"):
        model(torch.zeros(T, B))
    with pytest.raises(ValueError, match=r"in \[0, 5\)"):
        model(torch.full((T, B), 5))
    with pytest.raises(ValueError, match="temperature"):
        model.sample([0], 3, temperature=0)


@pytest.mark.parametrize(
    "make",
    [
        lambda: our.LSTM(D, H, 2, bidirectional=True),
        lambda: nn.LSTM(D, H, 2),
        lambda: our.LSTMCell(D, H),
        lambda: our.SequenceRegressor("lstm", D, H, 1),
    ],
    ids=["ours-bi", "torch.nn", "cell", "model"],
)
def test_set_forget_bias(make):
    module = make()
    count = our.set_forget_bias(module, 1.0)
    assert count >= 1
    for sub in module.modules():
        for name, p in sub.named_parameters(recurse=False):
            if name.startswith("bias_ih"):
                other = getattr(sub, name.replace("bias_ih", "bias_hh"))
                total = p[H : 2 * H] + other[H : 2 * H]
                assert torch.equal(total, torch.ones(H))
                assert not torch.equal(p[:H], torch.ones(H))  # other gates untouched


def test_set_forget_bias_refuses_modules_without_lstm():
    with pytest.raises(ValueError, match="no LSTM"):
        our.set_forget_bias(our.GRU(D, H), 1.0)
    with pytest.raises(ValueError, match="no LSTM"):
        our.set_forget_bias(our.LSTM(D, H, bias=False), 1.0)


def test_pick_device():
    device = our.pick_device()
    assert isinstance(device, torch.device)
    assert device.type == ("cuda" if torch.cuda.is_available() else device.type)
    assert torch.device("cpu") in our.available_devices()


def test_numpy_round_trip_into_our_and_torch_modules(rng):
    params = {name: rng.standard_normal(tuple(p.shape)) for name, p in nn.LSTM(D, H, 2).state_dict().items()}
    sd = {key: torch.from_numpy(value) for key, value in reference.state_dict_from_params(params).items()}
    assert all(isinstance(v, torch.Tensor) and v.dtype == torch.float64 for v in sd.values())
    mine = our.LSTM(D, H, 2, dtype=torch.float64)
    mine.load_state_dict(sd)
    theirs = nn.LSTM(D, H, 2, dtype=torch.float64)
    theirs.load_state_dict(sd)
    for module in (mine, theirs):
        back = reference.params_from_state_dict(module.state_dict(), cell="lstm")
        for k, v in params.items():
            np.testing.assert_array_equal(back[k], v)
    with pytest.raises(TypeError, match="weight_ih_l0"):
        reference.state_dict_from_params({**params, "weight_ih_l0": [[1.0], [2.0, 3.0]]})
