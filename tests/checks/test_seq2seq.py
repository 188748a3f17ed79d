"""Exercise 09's checks: a right attention step and a model that translates pass; each listed mistake gets its
own feedback (the training check is driven by stand-in models, so no test trains)."""

import functools
import math

import numpy as np
import pytest
import torch

pytest.importorskip("babel")

from lstm_course.checks.seq2seq import (  # noqa: E402
    MISTAKES,
    STEP_MESSAGES,
    check_attention_step,
    check_seq2seq_training,
    exercise_splits,
    reference_attention_step,
)
from lstm_course.nn.arrays import on_arrays  # noqa: E402
from lstm_course.nn.cells import lstm_step  # noqa: E402
from lstm_course.tasks.dates import source_vocab, target_vocab  # noqa: E402


def torch_step(params, token, h, c, keys, mask):
    """A right step in torch, as a student writes it."""
    scores = (keys @ h.unsqueeze(-1)).squeeze(-1) / math.sqrt(h.shape[1])
    alpha = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=1)
    context = (alpha.unsqueeze(1) @ keys).squeeze(1)
    x = torch.cat([params["embedding"][token], context], dim=1)
    h, c = lstm_step(x, h, c, params["weight_ih"], params["weight_hh"], params["bias_ih"], params["bias_hh"])
    logits = torch.cat([h, context], dim=1) @ params["out_weight"].T + params["out_bias"]
    return logits, h, c, alpha


def test_a_right_torch_step_passes(capsys: pytest.CaptureFixture[str]) -> None:
    check_attention_step(on_arrays(torch_step))
    assert capsys.readouterr().out == "✓ attention_step: 2/2 checks passed\n"


@pytest.mark.parametrize("mistake", MISTAKES)
def test_each_step_mistake_is_named(mistake: str) -> None:
    wrong = functools.partial(reference_attention_step, mistake=mistake)
    first = STEP_MESSAGES[mistake].split(":")[0]
    with pytest.raises(AssertionError, match="^" + first.replace("(", r"\(").replace(")", r"\)")):
        check_attention_step(wrong)


def test_a_step_returning_tensors_is_told_to_return_arrays() -> None:
    with pytest.raises(AssertionError, match="alpha should be a NumPy array"):
        check_attention_step(lambda *args: torch_step(*(torch.as_tensor(a) if isinstance(a, np.ndarray) else
                                                          {k: torch.as_tensor(v) for k, v in a.items()}
                                                          for a in args)))  # fmt: skip


# ---- training: stand-in models -----------------------------------------------------------------------------

SRC = source_vocab(exercise_splits())
TGT = target_vocab()
ANSWERS = {pair.source: pair.target for pair in exercise_splits().test}


def sources(batch: dict) -> list[str]:
    return [SRC.decode(column) for column in batch["src"].T.tolist()]


def oracle_train(seed: int, loss: float = 0.02) -> tuple:
    return "a model", [2.5] * 10 + [loss] * 40


def oracle_translate(model, batch: dict) -> list[str]:
    return [ANSWERS[source] for source in sources(batch)]


def test_a_model_that_translates_passes(capsys: pytest.CaptureFixture[str]) -> None:
    check_seq2seq_training(oracle_train, oracle_translate)
    assert capsys.readouterr().out == "✓ seq2seq_training: 2/2 checks passed\n"


def test_teacher_forcing_at_test_time_is_named() -> None:
    def reads_targets(model, batch: dict) -> list[str]:
        return [TGT.decode(column) for column in batch["tgt_out"].T.tolist()]

    with pytest.raises(AssertionError, match="^teacher forcing is left on at test time: translate reads"):
        check_seq2seq_training(oracle_train, reads_targets)


def test_a_translation_reading_tgt_in_is_caught_too() -> None:
    def reads_tgt_in(model, batch: dict) -> list[str]:
        return [TGT.decode(column[1:]) for column in batch["tgt_in"].T.tolist()]

    with pytest.raises(AssertionError, match=r"^teacher forcing is left on .* \(\d+% became those targets\)"):
        check_seq2seq_training(oracle_train, reads_tgt_in)


def test_eos_never_produced_is_named() -> None:
    def runs_on(model, batch: dict) -> list[str]:
        return [answer + "-0" for answer in oracle_translate(model, batch)]

    with pytest.raises(AssertionError, match=r"^EOS is never produced: 100% of the translations run past"):
        check_seq2seq_training(oracle_train, runs_on)


def test_a_model_that_does_not_learn_is_told_so() -> None:
    def constant(model, batch: dict) -> list[str]:
        return ["2000-01-01"] * batch["src"].shape[1]

    with pytest.raises(AssertionError, match="^the model does not learn: the training loss is still 2.50"):
        check_seq2seq_training(functools.partial(oracle_train, loss=2.5), constant)


def test_learning_but_decoding_wrongly_is_told_apart() -> None:
    def shifted(model, batch: dict) -> list[str]:
        return [answer[1:] + "0" for answer in oracle_translate(model, batch)]

    with pytest.raises(
        AssertionError, match="^the model learns but decodes wrongly: its training loss is 0.020"
    ):
        check_seq2seq_training(oracle_train, shifted)


def test_learning_too_little_is_named() -> None:
    def mostly_right(model, batch: dict) -> list[str]:
        answers = oracle_translate(model, batch)
        return [a if k % 5 else a[:-1] + "x" for k, a in enumerate(answers)]

    with pytest.raises(AssertionError, match="^the model learns, but not enough yet: exact match 0.800"):
        check_seq2seq_training(functools.partial(oracle_train, loss=0.3), mostly_right)


def test_divergence_and_bad_returns_are_named() -> None:
    with pytest.raises(AssertionError, match="^training diverged: the loss became NaN or inf at step 3"):
        check_seq2seq_training(lambda seed: ("m", [1.0, 0.5, 0.4, float("nan")]), oracle_translate)
    with pytest.raises(AssertionError, match="^translate should return a list of 1000 strings"):
        check_seq2seq_training(oracle_train, lambda model, batch: np.zeros(3))
    with pytest.raises(AssertionError, match=r"^train should return 2 values \(model, losses\)"):
        check_seq2seq_training(lambda seed: "model", oracle_translate)
