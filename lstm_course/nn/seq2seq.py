"""An encoder-decoder (sequence to sequence) with optional attention, and greedy decoding.

Letters: S (source steps), T (target steps), B (batch), E (embedding size), H (hidden size), V (vocabulary).
Sequences of token indices are time-major: src (S, B), tgt (T, B).

The decoder follows Bahdanau et al. (2015): at step t the query is the previous decoder state s_{t-1}; the
context c_t = attention(s_{t-1}, encoder outputs) joins the embedded previous token as the decoder's input,
and the logits come from [s_t; c_t]. With attention=None the decoder sees only the encoder's final state.

``fast=True`` runs the encoder on the fast path (``lstm_course.nn.fast``), and, without attention, the
teacher-forced decoder too: with no context to compute between steps, its inputs are all known at once. The
results equal the step-by-step path to rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lstm_course import cellspec
from lstm_course.nn._validate import check_lengths, internal_inputs
from lstm_course.nn.attention import AdditiveAttention, DotProductAttention, length_mask
from lstm_course.nn.cells import CELL_MODULES, packed_state, state_tuple
from lstm_course.nn.recurrent import LAYERS

ATTENTION = ("additive", "dot", None)
GATED = ("lstm", "gru")  # the cells offered here; the code below reads the registry, not the name


def _check_tokens(name: str, tokens: Tensor, vocab: int, dims: int, layout: str) -> None:
    """Raise unless tokens is a torch.long tensor of ``dims`` dimensions with every id in [0, vocab)."""
    if not isinstance(tokens, Tensor) or tokens.dtype != torch.long or tokens.dim() != dims:
        got = f"{tokens.dtype} of shape {tuple(tokens.shape)}" if isinstance(tokens, Tensor) else type(tokens)
        raise TypeError(f"Seq2Seq: {name} must be a torch.long tensor {layout}, got {got}")
    if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= vocab):
        raise ValueError(
            f"Seq2Seq: {name} token ids must be in [0, {vocab}), got {int(tokens.min())}..{int(tokens.max())}"
        )


def _check_token_id(name: str, value: object, vocab: int) -> int:
    """Raise unless value is one int id in [0, vocab) (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < vocab:
        raise ValueError(f"Seq2Seq: {name} must be a token id, an int in [0, {vocab}), got {value!r}")
    return value


class BeamResult(NamedTuple):
    """The best hypothesis of each sequence: its tokens (up to and with EOS, no BOS) and log-probability."""

    tokens: list[list[int]]  # B lists of token ids
    scores: Tensor  # (B,) the sum of log p(token | source, tokens before it) over those tokens


class Seq2Seq(nn.Module):
    """Encoder (our LSTM or GRU), decoder cell with attention, Linear to target logits."""

    def __init__(
        self, src_vocab: int, tgt_vocab: int, hidden_size: int, *, cell: str = "lstm",
        attention: str | None = "additive", embedding_dim: int | None = None, fast: bool = False,
    ) -> None:  # fmt: skip
        super().__init__()
        if cell not in GATED:
            raise ValueError(f"cell must be 'lstm' or 'gru', got {cell!r}")
        if attention not in ATTENTION:
            raise ValueError(f"attention must be one of {ATTENTION}, got {attention!r}")
        E, H = embedding_dim or hidden_size, hidden_size
        self.cell, self.attention_kind, self.hidden_size = cell, attention, hidden_size
        self.spec = cellspec.spec(cell)  # its states: (h,) or (h, c)
        self.src_embedding = nn.Embedding(src_vocab, E)
        self.tgt_embedding = nn.Embedding(tgt_vocab, E)
        if not isinstance(fast, bool):
            raise TypeError(f"fast must be True or False, got {fast!r}")
        self.fast = fast
        self.encoder = LAYERS[cell](E, H, fast=fast)
        context = 0 if attention is None else H
        self.decoder = CELL_MODULES[cell](E + context, H)
        self.attention: nn.Module | None = None
        if attention == "additive":
            self.attention = AdditiveAttention(H, H, H)
        elif attention == "dot":
            self.attention = DotProductAttention()
        self.out = nn.Linear(H + context, tgt_vocab)

    def encode(self, src: Tensor, src_lengths: Tensor | Sequence[int] | None = None):
        """src (S, B) long -> (keys (B, S, H), mask (B, 1, S) or None, the decoder's initial state)."""
        _check_tokens("src", src, self.src_embedding.num_embeddings, 2, "(S, B)")
        with internal_inputs():  # the embedding of checked token ids: the model's own parameters
            enc_out, state = self.encoder(self.src_embedding(src), lengths=src_lengths)  # (S, B, H)
        mask = None
        if src_lengths is not None:
            lengths = check_lengths(src_lengths, src.shape[1], src.shape[0], "Seq2Seq").to(src.device)
            mask = length_mask(lengths, src.shape[0])
        state = packed_state(tuple(s[0] for s in state_tuple(self.spec, state)))  # layer 0: each (B, H)
        return enc_out.transpose(0, 1), mask, state

    def step(self, token: Tensor, state, keys: Tensor, mask: Tensor | None):
        """One decoder step: token (B,) long -> (logits (B, V), new state, weights (B, S) or None)."""
        h = state_tuple(self.spec, state)[0]  # (B, H)
        parts, weights = [self.tgt_embedding(token)], None
        if self.attention is not None:
            context, w = self.attention(h.unsqueeze(1), keys, keys, mask)  # (B, 1, H), (B, 1, S)
            parts.append(context.squeeze(1))
            weights = w.squeeze(1)
        state = self.decoder(torch.cat(parts, dim=-1), state)
        h = state_tuple(self.spec, state)[0]
        logits = self.out(torch.cat([h, *parts[1:]], dim=-1))
        return logits, state, weights

    def forward(self, src: Tensor, tgt_in: Tensor, src_lengths: Tensor | Sequence[int] | None = None):
        """Teacher forcing: src (S, B), tgt_in (T, B) (targets shifted right, starting with BOS)
        -> (logits (T, B, V), weights (B, T, S) or None)."""
        keys, mask, state = self.encode(src, src_lengths)
        _check_tokens("tgt_in", tgt_in, self.tgt_embedding.num_embeddings, 2, "(T, B)")
        if tgt_in.shape[1] != src.shape[1] or tgt_in.shape[0] < 1:
            raise ValueError(
                f"Seq2Seq: tgt_in must have shape (T, B) with T >= 1 and B = {src.shape[1]} as in src, "
                f"got {tuple(tgt_in.shape)}"
            )
        if self.fast and self.attention is None:
            return self._forward_fast(tgt_in, state), None
        logits, weights = [], []
        # every input below is made from token ids checked above and the model's own parameters
        with internal_inputs():
            for token in tgt_in.unbind(0):
                out, state, w = self.step(token, state, keys, mask)
                logits.append(out)
                weights.append(w)
        return torch.stack(logits), (None if self.attention is None else torch.stack(weights, dim=1))

    def _forward_fast(self, tgt_in: Tensor, state) -> Tensor:
        """Teacher forcing without attention in one fast-path call: tgt_in (T, B) -> logits (T, B, V)."""
        decoder = self.decoder
        weights = (decoder.weight_ih, decoder.weight_hh, decoder.bias_ih, decoder.bias_hh)
        run = self.encoder.torch_cell.run_fast  # the decoder's cell is the encoder's kind
        with internal_inputs():  # made from checked token ids and the model's own parameters
            states, _ = run(self.tgt_embedding(tgt_in), state_tuple(self.spec, state), weights, None, False)
        return self.out(states)  # states (T, B, H): s_1 .. s_T

    @torch.no_grad()
    def greedy_decode(
        self, src: Tensor, max_len: int, bos: int, eos: int | None = None,
        src_lengths: Tensor | Sequence[int] | None = None,
    ) -> tuple[Tensor, Tensor | None]:  # fmt: skip
        """Decode by always taking the most likely token: -> (tokens (T, B) long, weights (B, T, S) or None).

        Stops after max_len steps, or earlier once every sequence has produced eos; the weights are what a
        plot of the attention shows (row t: where output t looked in the source).
        """
        if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1:
            raise ValueError(f"Seq2Seq.greedy_decode: max_len must be a positive int, got {max_len!r}")
        vocab = self.tgt_embedding.num_embeddings
        _check_token_id("bos", bos, vocab)
        if eos is not None:
            _check_token_id("eos", eos, vocab)
        was_training = self.training
        self.eval()
        try:
            keys, mask, state = self.encode(src, src_lengths)
            token = torch.full((src.shape[1],), bos, dtype=torch.long, device=src.device)
            done = torch.zeros_like(token, dtype=torch.bool)
            tokens, weights = [], []
            for _ in range(max_len):
                with internal_inputs():  # made from checked token ids and the model's own parameters
                    logits, state, w = self.step(token, state, keys, mask)
                token = logits.argmax(dim=-1)
                tokens.append(token)
                weights.append(w)
                if eos is not None:
                    done |= token == eos
                    if bool(done.all()):  # a device sync, so only when there is an eos to wait for
                        break
        finally:
            self.train(was_training)
        attention = None if self.attention is None else torch.stack(weights, dim=1)
        return torch.stack(tokens), attention

    @torch.no_grad()
    def beam_search(
        self, src: Tensor, max_len: int, bos: int, eos: int, beam_size: int,
        src_lengths: Tensor | Sequence[int] | None = None,
    ) -> BeamResult:  # fmt: skip
        """Keep the ``beam_size`` most likely prefixes of every sequence; return the most likely hypothesis.

        A prefix's score is the sum of the log-probabilities of its tokens (no length normalisation). A
        hypothesis ends at eos, and then keeps its score; decoding stops after max_len steps or when every
        beam has ended. With beam_size 1 this is greedy decoding.
        """
        if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1:
            raise ValueError(f"Seq2Seq.beam_search: max_len must be a positive int, got {max_len!r}")
        if isinstance(beam_size, bool) or not isinstance(beam_size, int) or beam_size < 1:
            raise ValueError(f"Seq2Seq.beam_search: beam_size must be a positive int, got {beam_size!r}")
        vocab = self.tgt_embedding.num_embeddings
        _check_token_id("bos", bos, vocab)
        _check_token_id("eos", eos, vocab)
        was_training = self.training
        self.eval()
        try:
            tokens, scores = self._beam_search(src, src_lengths, max_len, bos, eos, beam_size)
        finally:
            self.train(was_training)
        best = scores.argmax(dim=1)  # (B,)
        found = []
        for b, k in enumerate(best.tolist()):
            ids = tokens[b, k].tolist()
            found.append(ids[: ids.index(eos) + 1] if eos in ids else ids)
        return BeamResult(found, scores[torch.arange(len(best)), best])

    def _beam_search(self, src, src_lengths, max_len: int, bos: int, eos: int, K: int):
        """-> (tokens (B, K, steps) long, scores (B, K)): every beam; an ended one repeats eos at no cost."""
        keys, mask, state = self.encode(src, src_lengths)  # keys (B, S, H)
        B, V = src.shape[1], self.tgt_embedding.num_embeddings
        # every beam of a sequence reads the same source: K copies, beam k of sequence b in row b*K + k
        keys = keys.repeat_interleave(K, dim=0)
        mask = None if mask is None else mask.repeat_interleave(K, dim=0)
        states = tuple(s.repeat_interleave(K, dim=0) for s in state_tuple(self.spec, state))
        # at the start only beam 0 is alive, so the first step's K best come from K different tokens
        scores = torch.full((B, K), -torch.inf, device=src.device)
        scores[:, 0] = 0.0
        ended = torch.zeros(B, K, dtype=torch.bool, device=src.device)
        tokens = torch.zeros(B, K, 0, dtype=torch.long, device=src.device)
        token = torch.full((B * K,), bos, dtype=torch.long, device=src.device)
        for _ in range(max_len):
            with internal_inputs():  # made from checked token ids and the model's own parameters
                logits, new_state, _ = self.step(token, packed_state(states), keys, mask)
            log_p = F.log_softmax(logits, dim=-1).view(B, K, V)
            # an ended beam continues only with eos, at log-probability 0: its score stays
            stay = torch.full((V,), -torch.inf, device=src.device)
            stay[eos] = 0.0
            log_p = torch.where(ended.unsqueeze(-1), stay, log_p)
            # score of beam k followed by token v = score_k + log p(v | beam k), over all K*V pairs
            candidates = (scores.unsqueeze(-1) + log_p).view(B, K * V)
            scores, flat = candidates.topk(K, dim=1)  # (B, K)
            beam, token_of = flat // V, flat % V  # which beam each survivor extends, and with which token
            rows = (torch.arange(B, device=src.device).unsqueeze(1) * K + beam).view(-1)  # (B*K,)
            tokens = torch.cat(
                [tokens.gather(1, beam.unsqueeze(-1).expand_as(tokens)), token_of.unsqueeze(-1)], 2
            )
            ended = ended.gather(1, beam) | (token_of == eos)
            states = tuple(s[rows] for s in state_tuple(self.spec, new_state))
            token = token_of.view(-1)
            if bool(ended.all()):
                break
        return tokens, scores
