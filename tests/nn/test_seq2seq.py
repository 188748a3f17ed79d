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


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("attention", [None, "dot"])
def test_fast_path_equals_the_step_loop(cell, attention):
    """fast=True (encoder, and the teacher-forced decoder without attention): the same logits and grads."""
    torch.manual_seed(0)
    slow = Seq2Seq(V, V, 8, cell=cell, attention=attention).double()
    fast = Seq2Seq(V, V, 8, cell=cell, attention=attention, fast=True).double()
    fast.load_state_dict(slow.state_dict())
    src, tgt_in = torch.randint(0, V, (S, B)), torch.randint(0, V, (T, B))
    outputs = []
    for model in (slow, fast):
        logits, _ = model(src, tgt_in, src_lengths=[6, 2, 4])
        (logits * torch.linspace(-1, 1, V, dtype=torch.float64)).sum().backward()
        outputs.append((logits, [p.grad for p in model.parameters()]))
    torch.testing.assert_close(outputs[0][0], outputs[1][0], rtol=1e-9, atol=1e-10)
    for slow_grad, fast_grad in zip(outputs[0][1], outputs[1][1], strict=True):
        torch.testing.assert_close(slow_grad, fast_grad, rtol=1e-9, atol=1e-10)


def _trim(tokens: list[int], eos: int) -> list[int]:
    return tokens[: tokens.index(eos) + 1] if eos in tokens else tokens


@pytest.mark.parametrize("attention", [None, "additive"])
def test_beam_of_one_is_greedy(attention):
    torch.manual_seed(1)
    model = Seq2Seq(V, V, 8, attention=attention)
    src, eos = torch.randint(0, V, (S, 5)), 2
    greedy, _ = model.greedy_decode(src, max_len=7, bos=1, eos=eos, src_lengths=[6, 2, 4, 6, 1])
    found = model.beam_search(src, 7, 1, eos, beam_size=1, src_lengths=[6, 2, 4, 6, 1])
    assert found.tokens == [_trim(column, eos) for column in greedy.T.tolist()]


def _sequence_log_prob(model: Seq2Seq, src: torch.Tensor, tokens: list[int], bos: int, length: int) -> float:
    """log p(tokens | src) by teacher forcing: the sum over t of log p(tokens[t] | tokens[:t])."""
    tgt_in = torch.tensor([[bos, *tokens[:-1]]]).T  # (T, 1)
    with torch.no_grad():
        logits, _ = model(src, tgt_in, src_lengths=[length])
    log_p = torch.log_softmax(logits[:, 0], dim=-1)  # (T, V)
    return float(log_p[torch.arange(len(tokens)), torch.tensor(tokens)].sum())


@pytest.mark.parametrize("beam_size", [1, 3, 12])
def test_beam_scores_are_sums_of_log_probs(beam_size):
    torch.manual_seed(2)
    model = Seq2Seq(V, V, 8, cell="gru", attention="dot").double()
    src, lengths = torch.randint(0, V, (S, 4)), [6, 3, 5, 1]
    found = model.beam_search(src, 6, 1, 2, beam_size=beam_size, src_lengths=lengths)
    assert found.scores.shape == (4,)
    for b, tokens in enumerate(found.tokens):
        assert 1 <= len(tokens) <= 6
        expected = _sequence_log_prob(model, src[: lengths[b], b : b + 1], tokens, 1, lengths[b])
        assert found.scores[b].item() == pytest.approx(expected, abs=1e-9)


def test_a_wider_beam_never_scores_lower():
    torch.manual_seed(3)
    model = Seq2Seq(V, V, 8).double()
    src = torch.randint(0, V, (S, 6))
    scores = [model.beam_search(src, 5, 1, 2, beam_size=k).scores for k in (1, 2, 4, 8)]
    for narrow, wide in zip(scores, scores[1:], strict=False):
        assert torch.all(wide >= narrow - 1e-9)


def _bigram_model(next_probs: dict[int, dict[int, float]], vocab: int) -> Seq2Seq:
    """A GRU decoder whose next token depends only on the previous one, with the given probabilities.

    The update gate is shut (z = 0) and the recurrent weights are zero, so s_t = tanh(10 e(y_{t-1})) is the
    one-hot of the previous token (to 4e-9); the output layer's column of that token holds the log-probs.
    """
    model = Seq2Seq(3, vocab, vocab, cell="gru", attention=None, embedding_dim=vocab)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.tgt_embedding.weight.copy_(torch.eye(vocab))
        model.decoder.weight_ih[2 * vocab :].copy_(10 * torch.eye(vocab))  # the candidate n (gates r, z, n)
        model.decoder.bias_ih[vocab : 2 * vocab] = -30.0  # z = sigmoid(-30): the old state is forgotten
        model.out.weight.fill_(-40.0)
        for previous, probs in next_probs.items():
            for token, p in probs.items():
                model.out.weight[token, previous] = torch.log(torch.tensor(p))
    return model


def test_beam_beats_greedy_on_a_hand_built_model():
    """Greedy takes the likelier first token (A, 0.55) and then must choose among four at about 0.25; the beam
    keeps B (0.45), after which EOS is certain: 0.45 > 0.55 * 0.28."""
    bos, eos, a, b = 0, 1, 2, 3
    model = _bigram_model(
        {bos: {a: 0.55, b: 0.45}, a: {4: 0.28, 5: 0.25, 6: 0.24, 7: 0.23}, b: {eos: 1.0}}
        | {token: {eos: 1.0} for token in (4, 5, 6, 7)},
        vocab=8,
    )
    src = torch.zeros(2, 1, dtype=torch.long)
    greedy, _ = model.greedy_decode(src, max_len=4, bos=bos, eos=eos)
    assert greedy[:, 0].tolist() == [a, 4, eos]
    found = model.beam_search(src, 4, bos, eos, beam_size=2)
    assert found.tokens == [[b, eos]]
    assert found.scores.item() == pytest.approx(float(torch.log(torch.tensor(0.45))), abs=1e-4)
    assert model.beam_search(src, 4, bos, eos, beam_size=1).tokens == [[a, 4, eos]]


def test_beam_search_bad_arguments():
    model = Seq2Seq(V, V, 8)
    src = torch.randint(0, V, (S, B))
    with pytest.raises(ValueError, match="beam_size"):
        model.beam_search(src, 5, 1, 2, beam_size=0)
    with pytest.raises(ValueError, match="max_len"):
        model.beam_search(src, 0, 1, 2, beam_size=2)
    with pytest.raises(ValueError, match="eos"):
        model.beam_search(src, 5, 1, V, beam_size=2)
    with pytest.raises(TypeError, match="fast"):
        Seq2Seq(V, V, 8, fast=1)
