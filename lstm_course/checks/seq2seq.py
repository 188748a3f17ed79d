"""Checks for exercise 09: an encoder-decoder with dot-product attention (PyTorch), trained on the date task.

The student writes three functions:

- ``attention_step(params, token, h, c, keys, mask) -> (logits, h, c, alpha)``: one decoder step (Bahdanau's
  order: the previous state is the query), with scaled dot-product attention over the encoder outputs;
- ``train(seed) -> (model, losses)``: the training loop, teacher forcing;
- ``translate(model, batch) -> list[str]``: greedy decoding of a batch, feeding back its own predictions.

Only data crosses between the checks and the student's code (the isolated grader runs the student's code in
another process): ``check_attention_step`` sends NumPy arrays, so the notebook wraps its torch
``attention_step`` with :func:`lstm_course.nn.arrays.on_arrays`; ``check_seq2seq_training`` gets the trained
model back only as a handle it passes to ``translate``, with a batch of arrays, and reads the translations.

``translate``'s batch holds the targets too (``tgt_in``, ``tgt_out``, as a training batch does); the check
runs it a second time with the targets of other pairs, so a translation that reads them (teacher forcing left
on at test time) is caught.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import torch

from lstm_course.checks.harness import Feedback, call_student, describe, expect_array, expect_tuple, run_check
from lstm_course.tasks.dates import (
    EXERCISE_DATES,
    TARGET_LENGTH,
    DatePair,
    DateSplits,
    Vocab,
    char_accuracy,
    encode_batch,
    exact_match,
    make_date_splits,
    source_vocab,
    target_vocab,
)

TARGET_EXACT = 0.90  #: exact match to reach on the test split
STEP_KEYS = ("embedding", "weight_ih", "weight_hh", "bias_ih", "bias_hh", "out_weight", "out_bias")
#: a mean training loss (nats a token) below this: the model fits the teacher-forced targets
LEARNED_LOSS = 0.1
NOT_LEARNING_LOSS = 0.5  #: above this after training, the model has not learned


@functools.lru_cache(maxsize=1)
def exercise_splits() -> DateSplits:
    """The exercise's splits (made once a process)."""
    return make_date_splits(EXERCISE_DATES)


# ---- the attention step ------------------------------------------------------------------------------------

MISTAKES = ("no mask", "mask after softmax", "softmax over the batch", "unscaled", "new state as query")


def reference_attention_step(
    params: dict, token: np.ndarray, h: np.ndarray, c: np.ndarray, keys: np.ndarray, mask: np.ndarray,
    mistake: str | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """One decoder step in float64, or with one of MISTAKES: (logits (B, V), h, c (B, H), alpha (B, S)).

    score_j = k_j . h_{t-1} / sqrt(H); alpha = softmax over j (masked); context = sum_j alpha_j k_j;
    (h_t, c_t) = LSTM([e(token); context], (h_{t-1}, c_{t-1})); logits = W_out [h_t; context] + b_out.
    """
    from lstm_course.nn.cells import lstm_step

    p = {key: torch.as_tensor(value) for key, value in params.items()}
    token_t, h_t, c_t = torch.as_tensor(token), torch.as_tensor(h), torch.as_tensor(c)
    keys_t, mask_t = torch.as_tensor(keys), torch.as_tensor(mask)
    H = h_t.shape[1]

    def attend(query: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scores = (keys_t @ query.unsqueeze(-1)).squeeze(-1)  # (B, S): k_j . q
        if mistake != "unscaled":
            scores = scores / math.sqrt(H)
        if mistake not in ("no mask", "mask after softmax"):
            scores = scores.masked_fill(~mask_t, -math.inf)
        alpha = torch.softmax(scores, dim=0 if mistake == "softmax over the batch" else 1)
        if mistake == "mask after softmax":
            alpha = alpha * mask_t
        return alpha, (alpha.unsqueeze(1) @ keys_t).squeeze(1)  # (B, S), (B, H)

    alpha, context = attend(h_t)
    x = torch.cat([p["embedding"][token_t], context], dim=1)  # (B, E + H)
    h_new, c_new = lstm_step(x, h_t, c_t, p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"])
    if mistake == "new state as query":
        alpha, context = attend(h_new)
    logits = torch.cat([h_new, context], dim=1) @ p["out_weight"].T + p["out_bias"]  # (B, V)
    return logits.numpy(), h_new.numpy(), c_new.numpy(), alpha.numpy()


STEP_MESSAGES = {
    "no mask": "the padded source steps get attention weight: set their scores to -inf before the softmax "
    "(scores.masked_fill(~mask, float('-inf')))",
    "mask after softmax": "the mask is applied after the softmax: the weights left no longer sum to 1; "
    "mask the scores (-inf) before the softmax",
    "softmax over the batch": "the softmax runs over the batch axis (dim=0); the weights of one sequence "
    "must sum to 1 over its source steps: softmax over dim=1 (S)",
    "unscaled": "the scores are not divided by sqrt(H): scaled dot-product attention uses k . h / sqrt(H)",
    "new state as query": "the attention reads the new state h_t; in this decoder (Bahdanau's order) the "
    "query is the previous state h_{t-1}, and the context joins the embedded token as the LSTM's input",
}


class StepInputs(NamedTuple):
    """The arguments of one decoder step, in ``attention_step``'s order."""

    params: dict[str, np.ndarray]  # float64 LSTM, embedding and output weights
    token: np.ndarray  # (B,) int
    h: np.ndarray  # (B, H)
    c: np.ndarray  # (B, H)
    keys: np.ndarray  # (B, S, H)
    mask: np.ndarray  # (B, S) bool: True at real source steps


def random_step_inputs(rng: np.random.Generator) -> StepInputs:
    """Random float64 parameters and inputs of one step, some sources padded."""
    B, S, H, E, V = int(rng.integers(2, 5)), int(rng.integers(3, 7)), int(rng.integers(3, 6)), 4, 9
    params = {
        "embedding": rng.normal(size=(V, E)),
        "weight_ih": rng.normal(size=(4 * H, E + H)) / 2,
        "weight_hh": rng.normal(size=(4 * H, H)) / 2,
        "bias_ih": rng.normal(size=4 * H) / 2,
        "bias_hh": rng.normal(size=4 * H) / 2,
        "out_weight": rng.normal(size=(V, 2 * H)),
        "out_bias": rng.normal(size=V),
    }
    lengths = rng.integers(1, S + 1, size=B)
    lengths[0] = S
    lengths[-1] = max(1, S - 2)  # at least one padded sequence
    mask = np.arange(S)[None, :] < lengths[:, None]  # (B, S)
    keys = rng.normal(size=(B, S, H)) * mask[:, :, None] * 2  # padded steps' keys are zero, as an LSTM gives
    return StepInputs(
        params, rng.integers(0, V, size=B), rng.normal(size=(B, H)), rng.normal(size=(B, H)), keys, mask
    )


def check_attention_step(attention_step: Callable[..., Any], seed: int | None = None) -> None:
    """The decoder step against the float64 reference on random inputs with padded sources."""

    def outputs(rng: np.random.Generator) -> None:
        inputs = random_step_inputs(rng)
        got = call_student(attention_step, *inputs, name="attention_step")
        got = expect_tuple("attention_step", got, 4, "logits, h, c, alpha")
        expected = reference_attention_step(*inputs)
        variants = [(STEP_MESSAGES[m], functools.partial(reference_attention_step, *inputs, mistake=m))
                    for m in MISTAKES]  # fmt: skip
        # the weights first: most mistakes show there, and their message is the most specific
        outputs = ((3, "alpha", "B, S"), (0, "logits", "B, V"), (1, "h", "B, H"), (2, "c", "B, H"))
        for index, name, dims in outputs:
            picked = [(message, functools.partial(_pick, compute, index)) for message, compute in variants]
            expect_array(name, got[index], expected[index], dims=dims, rtol=1e-6, atol=1e-8, variants=picked)

    def padding(rng: np.random.Generator) -> None:
        params, token, h, c, keys, mask = random_step_inputs(rng)
        got = call_student(attention_step, params, token, h, c, keys, mask, name="attention_step")
        alpha = np.asarray(expect_tuple("attention_step", got, 4, "logits, h, c, alpha")[3])
        if alpha.shape == mask.shape and np.any(np.abs(alpha[~mask]) > 1e-12):
            raise Feedback(
                STEP_MESSAGES["no mask"], f"alpha at padded steps: {alpha[~mask].round(4).tolist()}"
            )

    run_check(
        "attention_step",
        [("outputs match the reference", outputs), ("padded steps get no weight", padding)],
        seed,
        "check_attention_step(attention_step_on_arrays, seed={seed})",
    )


def _pick(compute: Callable[[], tuple], index: int) -> np.ndarray:
    return compute()[index]


# ---- training and decoding ---------------------------------------------------------------------------------


def batch_arrays(pairs: list[DatePair], src_vocab: Vocab, tgt_vocab: Vocab) -> dict[str, np.ndarray]:
    """A batch as a dict of int64 arrays: src (S, B), src_lengths (B,), tgt_in (T, B), tgt_out (T, B)."""
    batch = encode_batch(pairs, src_vocab, tgt_vocab)
    return {name: tensor.numpy() for name, tensor in batch._asdict().items()}


def _texts(value: Any, count: int, what: str) -> list[str]:
    """value as a list of count strings, or Feedback saying what translate should return."""
    if (
        not isinstance(value, (list, tuple))
        or len(value) != count
        or not all(isinstance(v, str) for v in value)
    ):
        got = (
            f"{type(value).__name__} of {len(value)}"
            if isinstance(value, (list, tuple))
            else describe([value])
        )
        raise Feedback(f"{what} should return a list of {count} strings (one translation a pair), got {got}")
    return list(value)


def _decoding_diagnosis(
    predictions: list[str], targets: list[str], losses: np.ndarray, exact: float
) -> tuple[str, str]:
    """The most likely reason a trained model missed the target: (feedback, evidence)."""
    final = float(np.mean(losses[-20:]))
    characters = char_accuracy(predictions, targets)
    evidence = (
        f"exact match {exact:.3f} (target {TARGET_EXACT}), character accuracy {characters:.3f}, mean "
        f"training loss of the last 20 steps {final:.3f} nats a token, {losses.size} steps"
    )
    too_long = np.mean([len(p) > TARGET_LENGTH for p in predictions])
    right_start = np.mean([p[:TARGET_LENGTH] == t for p, t in zip(predictions, targets, strict=True)])
    if too_long > 0.5:
        return (
            f"EOS is never produced: {too_long:.0%} of the translations run past the 10 characters of a date "
            f"({right_start:.0%} start with the right date); train on tgt_out, which ends with EOS, and stop "
            "decoding at EOS (the target vocabulary's decode stops there)",
            evidence,
        )
    if final > NOT_LEARNING_LOSS:
        return (
            f"the model does not learn: the training loss is still {final:.2f} nats a token at the end (a "
            "uniform guess over the 14 target tokens is 2.64); check that the logits at step t are "
            "compared with tgt_out[t] (the next token), that the optimizer steps after zero_grad and "
            "backward, and the learning rate",
            evidence,
        )
    if final < LEARNED_LOSS:
        return (
            f"the model learns but decodes wrongly: its training loss is {final:.3f} nats a token, yet "
            f"only {exact:.0%} of the test dates come out right; translate should start from BOS, feed back "
            "its own most likely token at every step, read the encoder's final state and the source mask, "
            "and decode the token ids with the target vocabulary",
            evidence,
        )
    return (
        f"the model learns, but not enough yet: exact match {exact:.3f} below {TARGET_EXACT}; train for more "
        "steps or tune the learning rate",
        evidence,
    )


def check_seq2seq_training(
    train: Callable[..., Any], translate: Callable[..., Any], seed: int | None = None
) -> None:
    """Grades by the result: train(seed) -> (model, losses); translate(model, batch) on the test split."""
    run: dict[str, Any] = {}
    splits = exercise_splits()
    src_vocab, tgt_vocab = source_vocab(splits), target_vocab()

    def trains(rng: np.random.Generator) -> None:
        start = time.perf_counter()
        got = call_student(train, int(rng.integers(2**31)), name="train")
        run["seconds"] = time.perf_counter() - start
        model, losses = expect_tuple("train", got, 2, "model, losses")
        try:
            numbers = np.asarray(losses, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            numbers = None
        if numbers is None or not numbers.size:
            raise Feedback(
                f"train's losses should be a list of numbers, one per step, got {describe([losses])}"
            )
        if not np.all(np.isfinite(numbers)):
            step = int(np.argmax(~np.isfinite(numbers)))
            raise Feedback(
                f"training diverged: the loss became NaN or inf at step {step}; lower the learning rate or "
                "clip the gradient norm"
            )
        run.update(model=model, losses=numbers)

    def translates(rng: np.random.Generator) -> None:
        pairs = list(splits.test)
        targets = [pair.target for pair in pairs]
        batch = batch_arrays(pairs, src_vocab, tgt_vocab)
        predictions = _texts(
            call_student(translate, run["model"], batch, name="translate"), len(pairs), "translate"
        )
        # the same sources with other pairs' targets: a translation must not change
        shift = int(rng.integers(1, len(pairs)))
        swapped = {**batch, "tgt_in": np.roll(batch["tgt_in"], shift, axis=1),
                   "tgt_out": np.roll(batch["tgt_out"], shift, axis=1)}  # fmt: skip
        again = _texts(
            call_student(translate, run["model"], swapped, name="translate"), len(pairs), "translate"
        )
        changed = np.mean([a != b for a, b in zip(predictions, again, strict=True)])
        if changed > 0.01:
            follows = exact_match(again, list(np.roll(np.array(targets), shift)))
            raise Feedback(
                "teacher forcing is left on at test time: translate reads the batch's targets (tgt_in or "
                f"tgt_out): given other pairs' targets, {changed:.0%} of its translations changed"
                + (f" ({follows:.0%} became those targets)" if follows > 0.05 else "")
                + "; at test time feed back the model's own previous prediction, starting from BOS",
            )
        exact = exact_match(predictions, targets)
        if exact < TARGET_EXACT:
            first, evidence = _decoding_diagnosis(predictions, targets, run["losses"], exact)
            raise Feedback(first, evidence + f"; training took {run['seconds']:.0f} s")

    run_check(
        "seq2seq_training",
        [
            ("train returns a model and finite losses", trains),
            (f"exact match at least {TARGET_EXACT} on the test split", translates),
        ],
        seed,
        "check_seq2seq_training(train, translate, seed={seed})",
    )
