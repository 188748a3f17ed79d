"""The experiments' choice of implementation: ours (fast or plain) or torch.nn's, validated and equivalent."""

import numpy as np
import pytest
import torch

from lstm_course.experiments.adding import AddingConfig, adding_model, adding_training, train_adding
from lstm_course.experiments.forget_bias import ForgetBiasConfig
from lstm_course.experiments.gates import GrammarConfig, grammar_training, train_grammar
from lstm_course.experiments.implementations import (
    IMPLEMENTATIONS,
    TORCH_LAYERS,
    check_implementation,
    float32_training_gaps,
    with_implementation,
)
from lstm_course.experiments.threads import one_blas_thread
from lstm_course.nn import LSTM, RNN, SequenceRegressor, SequenceTagger
from lstm_course.tasks import adding_batch


@pytest.mark.parametrize(
    "make",
    [
        lambda bad: AddingConfig(implementation=bad),
        lambda bad: ForgetBiasConfig(implementation=bad),
        lambda bad: GrammarConfig(implementation=bad),
        lambda bad: check_implementation(bad),
    ],
    ids=["AddingConfig", "ForgetBiasConfig", "GrammarConfig", "check_implementation"],
)
@pytest.mark.parametrize("bad", ["cuda", "Torch", "", None, True])
def test_a_bad_implementation_is_refused_by_name(make, bad):
    with pytest.raises(ValueError, match="implementation"):
        make(bad)


def test_the_defaults_are_the_fastest_measured():
    # torch.nn trains the chapter 4 shapes about twice as fast as our fast path (measured: see the module)
    assert ForgetBiasConfig().implementation == "torch" and AddingConfig().implementation == "torch"
    assert GrammarConfig().implementation in IMPLEMENTATIONS


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_every_implementation_starts_from_the_same_weights_and_computes_the_same_function(cell):
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((7, 3, 2)))
    outputs, weights, kinds = {}, {}, {}
    for implementation in IMPLEMENTATIONS:
        torch.manual_seed(4)
        model = with_implementation(SequenceRegressor(cell, 2, 5, 1), implementation).double()
        kinds[implementation] = type(model.rnn)
        weights[implementation] = {k: v.clone() for k, v in model.state_dict().items()}
        loss = model(x).square().sum()
        loss.backward()
        outputs[implementation] = (loss.detach(), model.rnn.weight_hh_l0.grad.clone())
    assert kinds["torch"] is TORCH_LAYERS[cell] and issubclass(kinds["torch"], torch.nn.RNNBase)
    assert kinds["fast"] is kinds["plain"] and kinds["fast"] is not kinds["torch"]
    for implementation in ("plain", "torch"):
        assert weights[implementation].keys() == weights["fast"].keys()  # torch.nn's names are ours
        for name, value in weights["fast"].items():
            assert torch.equal(weights[implementation][name], value), (implementation, name)
        for ours, theirs in zip(outputs["fast"], outputs[implementation], strict=True):
            torch.testing.assert_close(theirs, ours, rtol=1e-9, atol=1e-12)


def test_fast_and_plain_set_our_layers_switch():
    model = SequenceRegressor("lstm", 2, 4, 1, fast=True)
    assert with_implementation(model, "plain").rnn.fast is False
    assert with_implementation(model, "fast").rnn.fast is True and isinstance(model.rnn, LSTM)


def test_the_torch_layer_refuses_what_it_does_not_support():
    model = with_implementation(SequenceTagger("rnn", 3, 4, 2), "torch")
    with pytest.raises(ValueError, match="lengths"):
        model(torch.zeros(5, 2, 3), lengths=[5, 3])
    with pytest.raises(ValueError, match="torch"):
        with_implementation(SequenceTagger("lstm", 3, 4, 2, bidirectional=True), "torch")
    relu = SequenceRegressor("rnn", 3, 4, 2)
    relu.rnn = RNN(3, 4, nonlinearity="relu")
    with pytest.raises(ValueError, match="torch"):
        with_implementation(relu, "torch")


def test_the_forget_bias_reaches_the_torch_layer():
    model = adding_model(AddingConfig("lstm", hidden_size=4, forget_bias=2.0, implementation="torch"))
    assert isinstance(model.rnn, TORCH_LAYERS["lstm"])
    total = model.rnn.bias_ih_l0.detach() + model.rnn.bias_hh_l0.detach()
    assert torch.equal(total[4:8], torch.full((4,), 2.0))


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_experiments_train_on_each_implementation(implementation):
    config = AddingConfig("lstm", T=6, hidden_size=8, batch_size=8, implementation=implementation)
    run = train_adding(config, adding_training(steps=5))
    assert run.history.steps == 5 and np.isfinite(run.history.loss).all()
    tagger, history = train_grammar(
        GrammarConfig("lstm", hidden_size=4, batch_size=4, implementation=implementation),
        grammar_training(steps=3),
    )
    assert history.steps == 3 and (type(tagger.rnn) is LSTM) == (implementation != "torch")


def test_the_first_steps_agree_across_implementations_in_float64():
    # Not required of the experiments (they train in float32), but the same start and the same function
    # give the same first Adam steps up to rounding.
    x, y = (torch.from_numpy(a).double() for a in adding_batch(4, 6, np.random.default_rng(1)))
    losses = {}
    for implementation in IMPLEMENTATIONS:
        torch.manual_seed(0)
        model = with_implementation(SequenceRegressor("lstm", 2, 3, 1), implementation).double()
        optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
        trace = []
        for _ in range(3):
            optimiser.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            optimiser.step()
            trace.append(loss.item())
        losses[implementation] = trace
    assert losses["torch"] == pytest.approx(losses["fast"], rel=1e-9)
    assert losses["plain"] == pytest.approx(losses["fast"], rel=1e-9)


def test_float32_training_gaps_are_float32_rounding_and_see_a_changed_weight(monkeypatch):
    gaps = float32_training_gaps(T=12, hidden_size=6, batch_size=3)
    assert set(gaps) == {"out", "dx", "dweight_ih_l0", "dweight_hh_l0", "dbias_ih_l0", "dbias_hh_l0"}
    assert max(gaps.values()) < 1e-5
    # The comparison can fail: a torch.nn.LSTM that ignores the loaded weights differs far beyond rounding.
    monkeypatch.setattr(torch.nn.LSTM, "load_state_dict", lambda self, state: None)
    assert min(float32_training_gaps(T=12, hidden_size=6, batch_size=3).values()) > 1e-3


def test_one_blas_thread_limits_numpy_blas():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):  # restored on exit, whatever happens
        assert one_blas_thread() is True
        blas = [pool["num_threads"] for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]
        assert blas and all(n == 1 for n in blas)


def test_a_character_model_trains_its_lstm_on_torch_and_its_rnn_on_our_fast_path_by_default() -> None:
    from lstm_course.experiments.char_lm import char_lm_model

    assert isinstance(char_lm_model(5, 4, "lstm").rnn, torch.nn.LSTM)
    rnn = char_lm_model(5, 4, "rnn").rnn
    assert not isinstance(rnn, torch.nn.RNN) and rnn.fast is True
    assert char_lm_model(5, 4, "lstm", "plain").rnn.fast is False
    with pytest.raises(ValueError, match="implementation"):
        char_lm_model(5, 4, "lstm", "gpu")
