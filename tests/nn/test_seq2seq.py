"""The encoder-decoder: shapes, masks, greedy decoding with attention weights, learning to reverse."""

import pytest
import torch
import torch.nn.functional as F

from lstm_course.nn.seq2seq import Seq2Seq

S, T, B, V = 6, 4, 3, 9


@pytest.mark.parametrize("attention", ["additive", "dot", None])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_shapes_and_masks(cell, attention):
    model = Seq2Seq(V, V, 8, cell=cell, attention=attention)
    src = torch.randint(0, V, (S, B))
    logits, weights = model(src, torch.randint(0, V, (T, B)), src_lengths=[6, 2, 4])
    assert logits.shape == (T, B, V)
    tokens, att = model.greedy_decode(src, max_len=5, bos=0, src_lengths=[6, 2, 4])
    assert tokens.shape == (5, B) and tokens.dtype == torch.long
    if attention is None:
        assert weights is None and att is None
    else:
        assert weights.shape == (B, T, S) and att.shape == (B, 5, S)
        assert torch.all(weights[1, :, 2:] == 0) and torch.all(att[1, :, 2:] == 0)
        torch.testing.assert_close(att.sum(-1), torch.ones(B, 5))


def test_greedy_decode_stops_at_eos():
    model = Seq2Seq(V, V, 8)
    with torch.no_grad():
        model.out.bias.fill_(-10.0)
        model.out.bias[3] = 10.0  # always predicts 3
    tokens, _ = model.greedy_decode(torch.randint(0, V, (S, B)), max_len=10, bos=0, eos=3)
    assert tokens.shape == (1, B)


def test_bad_arguments():
    with pytest.raises(ValueError, match="attention"):
        Seq2Seq(V, V, 8, attention="multihead")
    with pytest.raises(TypeError, match="src must be a torch.long"):
        Seq2Seq(V, V, 8)(torch.zeros(S, B), torch.zeros(T, B, dtype=torch.long))


@pytest.mark.slow
def test_learns_to_reverse_with_attention():
    """Reverse 5 tokens: the attention moves from the last source step back to the first."""
    torch.manual_seed(0)
    model = Seq2Seq(8, 8, 32, attention="dot")
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(300):
        src = torch.randint(2, 8, (5, 32))
        tgt = src.flip(0)
        tgt_in = torch.cat([torch.zeros(1, 32, dtype=torch.long), tgt[:-1]])
        logits, _ = model(src, tgt_in)
        loss = F.cross_entropy(logits.reshape(-1, 8), tgt.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    src = torch.randint(2, 8, (5, 64))
    tokens, weights = model.greedy_decode(src, max_len=5, bos=0)
    assert (tokens == src.flip(0)).float().mean() > 0.9
    focus = weights.mean(0).argmax(-1)  # (T,): the source step each output looks at most
    assert focus[0] == 4 and torch.all(focus.diff() <= 0) and focus[-1] <= 1  # right to left
