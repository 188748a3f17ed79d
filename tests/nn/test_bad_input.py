"""Bad input to RNN/LSTM/GRU: each gets a clear error naming the argument."""

import math

import numpy as np
import pytest
import torch

import lstm_course.nn as our

T, B, D, H = 5, 3, 4, 6


@pytest.fixture(params=["RNN", "LSTM", "GRU"])
def module(request):
    return getattr(our, request.param)(D, H, num_layers=2, bidirectional=True)


def hx_like(module, *shape):
    h = torch.zeros(*shape)
    return (h, h.clone()) if module.mode == "LSTM" else h


def test_wrong_input_size(module):
    with pytest.raises(ValueError, match=r"input\.size\(-1\) must equal input_size=4"):
        module(torch.randn(T, B, D + 1))


def test_wrong_input_rank(module):
    with pytest.raises(ValueError, match=r"input must be 3-D"):
        module(torch.randn(1, T, B, D))


def test_wrong_input_dtype(module):
    with pytest.raises(TypeError, match="floating-point"):
        module(torch.ones(T, B, D, dtype=torch.long))
    with pytest.raises(TypeError, match="float64.*float32"):
        module(torch.randn(T, B, D, dtype=torch.float64))


def test_wrong_state_shape(module):
    with pytest.raises(ValueError, match=r"(hx|h_0).*must have shape \(4, 3, 6\), got \(2, 3, 6\)"):
        module(torch.randn(T, B, D), hx_like(module, 2, B, H))
    with pytest.raises(ValueError, match=r"must have shape \(4, 3, 6\), got \(4, 2, 6\)"):
        module(torch.randn(T, B, D), hx_like(module, 4, B - 1, H))


def test_lstm_state_must_be_a_pair():
    lstm = our.LSTM(D, H)
    with pytest.raises(TypeError, match=r"hx must be a tuple \(h_0, c_0\)"):
        lstm(torch.randn(T, B, D), torch.zeros(1, B, H))
    with pytest.raises(ValueError, match=r"hx\[1\] \(c_0\) must have shape"):
        lstm(torch.randn(T, B, D), (torch.zeros(1, B, H), torch.zeros(1, B, H + 1)))


@pytest.mark.parametrize(
    "lengths, error, match",
    [
        ([T + 1, 2, 3], ValueError, r"lengths must be in \[1, T=5\]"),
        ([0, 2, 3], ValueError, r"lengths must be in \[1, T=5\]"),
        ([2, 3], ValueError, r"lengths must have shape \(B,\) = \(3,\)"),
        (torch.tensor([[2, 3, 4]]), ValueError, r"lengths must have shape \(B,\)"),
        (torch.tensor([2.0, 3.0, 4.0]), TypeError, "lengths must hold integers"),
        ([2.0, 3.0, 4.0], TypeError, "lengths must hold ints"),
        (torch.tensor([True, True, True]), TypeError, "lengths must hold integers"),
        (5, TypeError, "lengths must be a 1-D integer tensor"),
    ],
    ids=["too-long", "zero", "wrong-count", "2-D", "float-tensor", "float-list", "bool", "scalar"],
)
def test_wrong_lengths(module, lengths, error, match):
    with pytest.raises(error, match=match):
        module(torch.randn(T, B, D), lengths=lengths)


def test_packed_sequence_refused(module):
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.randn(T, B, D), [5, 4, 3])
    with pytest.raises(TypeError, match="lengths="):
        module(packed)


def test_constructor_checks():
    with pytest.raises(NotImplementedError, match="proj_size"):
        our.LSTM(D, H, proj_size=2)
    with pytest.raises(ValueError, match="num_layers"):
        our.GRU(D, H, num_layers=0)
    with pytest.raises(ValueError, match="dropout"):
        our.GRU(D, H, num_layers=2, dropout=1.5)
    with pytest.raises(ValueError, match="nonlinearity"):
        our.RNN(D, H, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="input_size"):
        our.RNN(0, H)


@pytest.mark.parametrize("shape", [(), (D,)], ids=["0-D", "1-D"])
def test_low_rank_input_gets_the_rank_error(module, shape):
    with pytest.raises(ValueError, match=r"input must be 3-D"):
        module(torch.randn(shape))


@pytest.mark.parametrize("fast", [False, True], ids=["plain", "fast"])
@pytest.mark.parametrize("shape", [(0, B, D), (T, 0, D), (0, D)], ids=["T=0", "B=0", "unbatched-T=0"])
def test_empty_time_or_batch_refused(fast, shape):
    for cls in (our.RNN, our.LSTM, our.GRU):
        with pytest.raises(ValueError, match=r"input must hold at least one time step.*T >= 1 and B >= 1"):
            cls(D, H, fast=fast)(torch.randn(shape))


def test_wrong_state_dtype_and_device(module):
    double = torch.zeros(4, B, H, dtype=torch.float64)
    with pytest.raises(TypeError, match=r"(hx|h_0).* has dtype torch\.float64 but the parameters are"):
        module(torch.randn(T, B, D), (double, double) if module.mode == "LSTM" else double)
    meta = torch.zeros(4, B, H, device="meta")
    with pytest.raises(ValueError, match=r"(hx|h_0).* is on meta but input is on cpu"):
        module(torch.randn(T, B, D), (meta, meta) if module.mode == "LSTM" else meta)


def test_lstm_cell_checks_input_once_and_still_checks_c(monkeypatch):
    cell = our.LSTMCell(D, H)
    calls = []
    original = our.LSTMCell._batched

    def spy(self, *args, **kwargs):
        calls.append(args)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(our.LSTMCell, "_batched", spy)
    h, c = cell(torch.randn(B, D), (torch.zeros(B, H), torch.zeros(B, H)))
    assert len(calls) == 1 and h.shape == c.shape == (B, H)
    with pytest.raises(ValueError, match=r"hx\[1\] \(c\) must have shape \(3, 6\), got \(3, 7\)"):
        cell(torch.randn(B, D), (torch.zeros(B, H), torch.zeros(B, H + 1)))
    with pytest.raises(ValueError, match=r"hx\[1\] \(c\) must have shape \(6,\), got \(3, 6\)"):
        cell(torch.randn(D), (torch.zeros(H), torch.zeros(B, H)))
    h, c = cell(torch.randn(D), (torch.zeros(H), torch.zeros(H)))
    assert h.shape == c.shape == (H,)


def test_greedy_decode_without_eos_never_syncs_on_done(monkeypatch):
    from lstm_course.nn.seq2seq import Seq2Seq

    model = Seq2Seq(7, 7, 8)
    calls = []
    original = torch.Tensor.all
    monkeypatch.setattr(torch.Tensor, "all", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    tokens, _ = model.greedy_decode(torch.randint(0, 7, (4, 2)), max_len=5, bos=0)
    assert tokens.shape == (5, 2) and calls == []


def test_decoding_and_sampling_restore_train_mode_on_error(monkeypatch):
    from lstm_course.nn.seq2seq import Seq2Seq

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    model = Seq2Seq(7, 7, 8)
    monkeypatch.setattr(model, "step", boom)
    with pytest.raises(RuntimeError, match="boom"):
        model.greedy_decode(torch.randint(0, 7, (4, 2)), max_len=5, bos=0)
    assert model.training
    lm = our.CharLM(5, H)
    monkeypatch.setattr(torch, "multinomial", boom)
    with pytest.raises(RuntimeError, match="boom"):
        lm.sample([1, 2], 3)
    assert lm.training


# ---- issue 14, item 8: each reproducer gets a named error, or the behaviour of torch's packing -------------


@pytest.mark.parametrize(
    "lengths",
    [np.array([5, 3, 2]), np.array([5, 3, 2], dtype=np.int32), [np.int64(5), np.int64(3), np.int64(2)]],
    ids=["numpy-int64", "numpy-int32", "list-of-np-int64"],
)
def test_lengths_accept_what_torch_packing_accepts(module, lengths):
    x = torch.randn(T, B, D)
    expected, _ = module(x, lengths=torch.tensor([5, 3, 2]))
    got, _ = module(x, lengths=lengths)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


@pytest.mark.parametrize("lengths", [[2**70, 3, 2], np.array([2**63 - 1, 3, 2]), [-(2**70), 1, 1]])
def test_huge_lengths_are_named(module, lengths):
    with pytest.raises(ValueError, match=r"every entry of lengths must be in \[1, T=5\]"):
        module(torch.randn(T, B, D), lengths=lengths)


def test_meta_device_and_device_mismatch_are_named(module):
    with pytest.raises(ValueError, match=r"input is on the meta device"):
        module(torch.randn(T, B, D, device="meta"))
    meta = type(module)(D, H, device="meta")
    with pytest.raises(ValueError, match=r"the parameters are on the meta device"):
        meta(torch.randn(T, B, D))
    with pytest.raises(ValueError, match=r"LSTMCell: input is on the meta device"):
        our.LSTMCell(D, H)(torch.randn(B, D, device="meta"))


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_non_finite_input_and_states_are_named(module, value):
    x = torch.randn(T, B, D)
    x[1, 2, 3] = value
    with pytest.raises(ValueError, match=r"input must be finite"):
        module(x)
    h = torch.zeros(4, B, H)
    h[0, 0, 0] = value
    with pytest.raises(ValueError, match=r"(hx|h_0).* must be finite"):
        module(torch.randn(T, B, D), (h, torch.zeros(4, B, H)) if module.mode == "LSTM" else h)
    cell = our.LSTMCell(D, H)
    with pytest.raises(ValueError, match=r"LSTMCell: hx\[1\] \(c\) must be finite"):
        cell(torch.randn(B, D), (torch.zeros(B, H), torch.full((B, H), value)))


def test_attention_refuses_mixed_dtypes_and_no_keys():
    from lstm_course.nn.attention import AdditiveAttention, DotProductAttention

    query, keys = torch.randn(2, 3, 4), torch.randn(2, 6, 4)
    with pytest.raises(TypeError, match=r"DotProductAttention: keys has dtype torch.float32 but query"):
        DotProductAttention()(query.double(), keys, keys)
    with pytest.raises(TypeError, match=r"AdditiveAttention: query has dtype torch.float64"):
        AdditiveAttention(4, 4, 5)(query.double(), keys.double(), keys.double())
    for attention in (DotProductAttention(), AdditiveAttention(4, 4, 5)):
        with pytest.raises(ValueError, match=r"keys must have shape \(B, Tk, Dk\) with Tk >= 1"):
            attention(query, keys[:, :0], keys[:, :0])


def test_seq2seq_refuses_out_of_range_ids_and_max_len_0():
    from lstm_course.nn.seq2seq import Seq2Seq

    model, src = Seq2Seq(5, 6, 8), torch.zeros(3, 2, dtype=torch.long)
    with pytest.raises(ValueError, match=r"src token ids must be in \[0, 5\)"):
        model(torch.tensor([[1, 2], [3, 9]]), torch.zeros(2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"tgt_in token ids must be in \[0, 6\)"):
        model(src, torch.full((2, 2), -1))
    with pytest.raises(ValueError, match=r"max_len must be a positive int, got 0"):
        model.greedy_decode(src, max_len=0, bos=0)
    with pytest.raises(ValueError, match=r"bos must be a token id"):
        model.greedy_decode(src, max_len=2, bos=6)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"length": -3}, r"length must be an int >= 0, got -3"),
        ({"length": 3, "temperature": math.nan}, r"temperature must be a finite number > 0, got nan"),
        ({"length": 3, "temperature": 1e-300}, r"temperature=1e-300 is too small"),
    ],
)
def test_charlm_sample_refuses_bad_length_and_temperature(kwargs, match):
    with pytest.raises(ValueError, match=match):
        our.CharLM(5, H).sample([1], **kwargs)
