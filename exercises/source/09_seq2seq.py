# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Exercise 9: an encoder–decoder with attention, trained to translate dates
#
# Dates written in eight languages and many formats ("martes, 29 de septiembre de 2026", "29.09.26",
# "Sep 29, 2026") are to be translated into ISO dates ("2026-09-29"), character by character. You write,
# in PyTorch, the decoder's attention step, the training loop (teacher forcing), and greedy decoding. To
# pass, your model must translate at least 90% of the test split exactly right, after training on the CPU
# (the solution takes well under a minute).
#
# The encoder is given: an embedding and the course's LSTM read the source; its outputs $k_1, \dots, k_S$ (one
# per source character, zeros at padding) are the **keys**, and its final state starts the decoder. One
# decoder step, given the previous token $y_{t-1}$ and state $(h_{t-1}, c_{t-1})$:
#
# $$\text{score}_j = \frac{k_j \cdot h_{t-1}}{\sqrt{H}} \;(-\infty \text{ at padded } j),\qquad
#   \alpha = \operatorname{softmax}_j(\text{score}),\qquad \text{context} = \sum_j \alpha_j k_j,$$
#
# $$(h_t, c_t) = \operatorname{LSTM}\big([e(y_{t-1});\, \text{context}],\, (h_{t-1}, c_{t-1})\big),\qquad
#   \text{logits} = W_\text{out} [h_t;\, \text{context}] + b_\text{out}.$$
#
# **How to work.** Replace each `raise NotImplementedError(...)` with your code and run the check below it.
# Leave the check cells as they are. Token ids: `Vocab.PAD` = 0, `Vocab.BOS` = 1, `Vocab.EOS` = 2. Batches are
# time-major: `src` (S, B), `tgt_in` (T, B) = BOS then the target, `tgt_out` (T, B) = the target then EOS.

# %%
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lstm_course.checks.seq2seq import check_attention_step, check_seq2seq_training
from lstm_course.nn import LSTM
from lstm_course.nn.arrays import on_arrays
from lstm_course.nn.cells import lstm_step
from lstm_course.tasks.dates import (
    EXERCISE_DATES,
    Vocab,
    encode_batch,
    make_date_splits,
    source_vocab,
    target_vocab,
)

torch.set_num_threads(1)  # a model this small runs fastest on one thread (several spin waiting on each other)
SPLITS = make_date_splits(EXERCISE_DATES)
SRC, TGT = source_vocab(SPLITS), target_vocab()
HIDDEN, EMBED = 64, 32
MAX_OUTPUT = 11  # ten characters and EOS
print(len(SPLITS.train), "training pairs; for example", SPLITS.train[0].source, "->", SPLITS.train[0].target)

# %% [markdown]
# ## 1. The model (given)
#
# `DateTranslator` holds the encoder and the decoder's parameters in a dict, `model.decoder`:
# `embedding` (V, E), the LSTM's `weight_ih` (4H, E + H), `weight_hh` (4H, H), `bias_ih`, `bias_hh` (4H,)
# (gates in torch's order i, f, g, o), and the output layer's `out_weight` (V, 2H), `out_bias` (V,).
# `encode` returns the keys (B, S, H), the mask (B, S) (True at real characters) and the initial state.


# %%
class DateTranslator(nn.Module):
    def __init__(self, src_size: int, tgt_size: int, hidden: int = HIDDEN, embed: int = EMBED) -> None:
        super().__init__()
        self.src_embedding = nn.Embedding(src_size, embed)
        self.encoder = LSTM(embed, hidden, fast=True)
        bound = 1 / math.sqrt(hidden)

        def uniform(*shape: int) -> nn.Parameter:
            return nn.Parameter(torch.empty(*shape).uniform_(-bound, bound))

        self.decoder = nn.ParameterDict(
            {
                "embedding": nn.Parameter(torch.randn(tgt_size, embed)),
                "weight_ih": uniform(4 * hidden, embed + hidden),
                "weight_hh": uniform(4 * hidden, hidden),
                "bias_ih": uniform(4 * hidden),
                "bias_hh": uniform(4 * hidden),
                "out_weight": uniform(tgt_size, 2 * hidden),
                "out_bias": uniform(tgt_size),
            }
        )

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor):
        """src (S, B) -> keys (B, S, H), mask (B, S) bool, (h, c) each (B, H)."""
        out, (h_n, c_n) = self.encoder(self.src_embedding(src), lengths=src_lengths)  # out (S, B, H)
        mask = torch.arange(src.shape[0])[None, :] < src_lengths[:, None]
        return out.transpose(0, 1), mask, (h_n[0], c_n[0])


# %% [markdown]
# ## 2. The attention step
#
# Write one decoder step for a batch, in torch, from the equations above. `params` is the dict of the
# decoder's parameters, `token` (B,) the previous tokens, `h`, `c` (B, H), `keys` (B, S, H), `mask` (B, S).
# Return `(logits (B, V), h_t, c_t, alpha (B, S))`. `lstm_step(x, h, c, weight_ih, weight_hh, bias_ih,
# bias_hh)` computes the LSTM. The check sends NumPy arrays, so it calls your step through `on_arrays`, which
# turns them into tensors and your tensors back into arrays.


# %%
def attention_step(params, token, h, c, keys, mask):
    """One decoder step: -> (logits (B, V), h (B, H), c (B, H), alpha (B, S))."""
    ### BEGIN SOLUTION
    scores = (keys @ h.unsqueeze(-1)).squeeze(-1) / math.sqrt(h.shape[1])  # (B, S)
    alpha = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=1)  # (B, S)
    context = (alpha.unsqueeze(1) @ keys).squeeze(1)  # (B, H)
    x = torch.cat([params["embedding"][token], context], dim=1)  # (B, E + H)
    h, c = lstm_step(x, h, c, params["weight_ih"], params["weight_hh"], params["bias_ih"], params["bias_hh"])
    logits = torch.cat([h, context], dim=1) @ params["out_weight"].T + params["out_bias"]  # (B, V)
    return logits, h, c, alpha
    ### END SOLUTION


attention_step_on_arrays = on_arrays(attention_step)

# %%
# NBVAL_CHECK_OUTPUT
check_attention_step(attention_step_on_arrays)

# %% [markdown]
# ## 3. Training with teacher forcing
#
# `train(seed)` builds a `DateTranslator(len(SRC), len(TGT))` after `torch.manual_seed(seed)`, and trains
# it on random batches of `SPLITS.train` (`encode_batch(pairs, SRC, TGT)` pads and encodes them). At each
# decoder step the input is the **true** previous token, `batch.tgt_in[t]`, and the loss compares the logits
# with `batch.tgt_out[t]`, ignoring `PAD`. Use Adam, clip the gradient norm, and return the model and the
# list of losses, one per step. Keep training short: the check runs it.


# %%
def train(seed: int):
    """Train a fresh model from ``seed``; return (model, losses)."""
    ### BEGIN SOLUTION
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = DateTranslator(len(SRC), len(TGT))
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    losses = []
    for _ in range(400):
        batch = encode_batch([SPLITS.train[k] for k in rng.integers(len(SPLITS.train), size=64)], SRC, TGT)
        keys, mask, (h, c) = model.encode(batch.src, batch.src_lengths)
        logits = []
        for token in batch.tgt_in:  # teacher forcing: the true previous token
            step_logits, h, c, _ = attention_step(model.decoder, token, h, c, keys, mask)
            logits.append(step_logits)
        logits = torch.stack(logits)  # (T, B, V)
        loss = F.cross_entropy(logits.flatten(0, 1), batch.tgt_out.flatten(), ignore_index=Vocab.PAD)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
    return model, losses
    ### END SOLUTION


# %% [markdown]
# ## 4. Greedy decoding
#
# `translate(model, batch)` gets a batch as a dict of NumPy arrays (`src`, `src_lengths`, `tgt_in`,
# `tgt_out`, like `encode_batch`'s) and returns one string per pair. At test time there is no true previous
# token: start from `BOS`, feed back your own most likely token, for at most `MAX_OUTPUT` steps, and decode
# each column with `TGT.decode` (it stops at `EOS`). The batch carries the targets only because a training
# batch does: a translation must not read them.


# %%
def translate(model, batch) -> list[str]:
    """Greedy translations of batch['src'] (S, B): a list of B strings."""
    ### BEGIN SOLUTION
    src, lengths = torch.as_tensor(batch["src"]), torch.as_tensor(batch["src_lengths"])
    with torch.no_grad():
        keys, mask, (h, c) = model.encode(src, lengths)
        token = torch.full((src.shape[1],), Vocab.BOS)
        tokens = []
        for _ in range(MAX_OUTPUT):
            logits, h, c, _ = attention_step(model.decoder, token, h, c, keys, mask)
            token = logits.argmax(dim=1)  # free running: our own prediction is the next input
            tokens.append(token)
    return [TGT.decode(column) for column in torch.stack(tokens).T.tolist()]
    ### END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
check_seq2seq_training(train, translate)

# %% [markdown]
# Passed? Chapter 7 trains the same task without attention, where the encoder's last state is the only bridge,
# and measures where it fails; chapter 8 adds attention. Try your model on the long split (`SPLITS.long`,
# sources longer than any in training), or draw `alpha` for one date as a heatmap: where does the decoder look
# when it writes the year?
