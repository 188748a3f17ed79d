"""lstm_course.train: fit (seeding, clipping, early stops, non-finite losses, progress), safe checkpoints."""

import math
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lstm_course.experiments.threads import torch_threads
from lstm_course.nn import SequenceRegressor
from lstm_course.tasks import ADDING_BASELINE_MSE, adding_batch
from lstm_course.train import History, TrainConfig, fit, load_checkpoint, save_checkpoint, show_progress


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny tensors: one thread avoids OpenMP hand-offs, which on a busy machine cost 10x."""
    with torch_threads(1):
        yield


def batches(rng):
    return adding_batch(8, 6, rng)


def mse(model, x, y):
    return F.mse_loss(model(x), y)


def small_model(seed=0):
    torch.manual_seed(seed)
    return SequenceRegressor("lstm", 2, 6, 1)


def cfg(**kwargs):
    return TrainConfig(**{"steps": 12, "lr": 1e-2, "device": "cpu", "progress": False, **kwargs})


def test_fit_is_reproducible_and_records_every_step():
    h1 = fit(small_model(), batches, mse, cfg())
    h2 = fit(small_model(), batches, mse, cfg())
    assert isinstance(h1, History)
    assert h1.loss == h2.loss and h1.grad_norm == h2.grad_norm
    assert h1.steps == len(h1.loss) == len(h1.grad_norm) == 12 and h1.stopped == "steps"
    assert h1.seconds > 0
    h3 = fit(small_model(), batches, mse, cfg(seed=1))
    assert h3.loss != h1.loss


def test_fit_learns_something():
    # a model that learns nothing can at best answer the mean, 1, and score the baseline MSE 1/6
    h = fit(small_model(), batches, mse, cfg(steps=150, lr=2e-2))
    assert np.mean(h.loss[-20:]) < 0.5 * ADDING_BASELINE_MSE


def test_clipping_records_the_norm_before_clipping_and_bounds_the_update():
    model = small_model()
    before = [p.detach().clone() for p in model.parameters()]
    h = fit(model, batches, mse, cfg(steps=1, clip=1e-3, optimizer="sgd", lr=1.0))
    assert h.grad_norm[0] > 1e-3  # the recorded norm is the unclipped one
    step = torch.sqrt(
        sum(((p.detach() - b) ** 2).sum() for p, b in zip(model.parameters(), before, strict=True))
    )
    assert step.item() == pytest.approx(1e-3, rel=1e-4)  # SGD with lr 1 moves by the clipped norm
    unclipped = fit(small_model(), batches, mse, cfg(steps=1, clip=None))
    assert unclipped.grad_norm[0] == pytest.approx(h.grad_norm[0], rel=1e-6)


def test_target_loss_stops_early():
    h = fit(small_model(), batches, mse, cfg(steps=500, target_loss=10.0, target_window=5))
    assert h.stopped == "target" and h.steps == 5


def test_time_limit_stops():
    h = fit(small_model(), batches, mse, cfg(steps=10_000, time_limit_s=0.05))
    assert h.stopped == "time" and 1 <= h.steps < 10_000


def exploding(model, x, y):
    return mse(model, x, y) * (math.inf if exploding.calls.append(1) or len(exploding.calls) > 3 else 1.0)


def test_nonfinite_loss_raises_naming_the_step():
    exploding.calls = []
    with pytest.raises(FloatingPointError, match="loss is inf at step 3"):
        fit(small_model(), batches, exploding, cfg())


def test_nonfinite_loss_stop_records_it_and_keeps_weights():
    exploding.calls = []
    model = small_model()
    h = fit(model, batches, exploding, cfg(on_nonfinite="stop"))
    assert h.stopped == "nonfinite" and h.steps == 3
    assert h.loss[-1] == math.inf and len(h.loss) == 4
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_progress_bar_off_under_ci_or_without_a_terminal(monkeypatch):
    monkeypatch.setenv("CI", "true")
    assert show_progress(None) is False
    monkeypatch.delenv("CI")
    monkeypatch.setattr("sys.stderr.isatty", lambda: False)
    assert show_progress(None) is False
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert show_progress(None) is True
    assert show_progress(False) is False


def test_progress_none_under_ci_prints_nothing(monkeypatch, capsys):
    monkeypatch.setenv("CI", "1")
    fit(small_model(), batches, mse, cfg(progress=None, steps=3))
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_config_checks():
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="on_nonfinite"):
        TrainConfig(on_nonfinite="ignore")
    with pytest.raises(ValueError, match="clip"):
        TrainConfig(clip=0)


def test_checkpoint_round_trip(tmp_path):
    model = small_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    fit(model, batches, mse, cfg(steps=2))
    optimizer.zero_grad()
    mse(model, *map(torch.as_tensor, adding_batch(4, 6, np.random.default_rng(0)))).backward()
    optimizer.step()
    path = save_checkpoint(tmp_path / "ck.pt", model, optimizer, step=2, task="adding", losses=[0.5, 0.25])
    other = small_model(seed=1)
    other_opt = torch.optim.Adam(other.parameters(), lr=1e-2)
    meta = load_checkpoint(path, other, other_opt)
    assert meta == {"step": 2, "task": "adding", "losses": [0.5, 0.25]}
    for a, b in zip(model.state_dict().values(), other.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert other_opt.state_dict()["state"].keys() == optimizer.state_dict()["state"].keys()


def test_save_refuses_metadata_that_would_not_load(tmp_path):
    with pytest.raises(TypeError, match="only str, numbers"):
        save_checkpoint(tmp_path / "ck.pt", small_model(), note=Path("x"))


class Payload:
    """Unpickling this runs code: it would create the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


@pytest.mark.parametrize("writer", ["torch.save", "pickle"])
def test_load_refuses_a_malicious_pickle(tmp_path, writer):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    payload = {
        "format": "lstm_course.checkpoint/1",
        "model": {},
        "optimizer": None,
        "metadata": Payload(marker),
    }
    if writer == "torch.save":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload))
    with pytest.raises(ValueError, match="refusing.*pickled Python objects"):
        load_checkpoint(path, small_model())
    assert not marker.exists()
    if writer == "pickle":  # the payload is real: a plain unpickler would have run it
        pickle.loads(path.read_bytes())
        assert marker.exists()


def test_progress_bar_closed_when_fit_raises(monkeypatch):
    import lstm_course.train as train

    class Bar:
        closed = False

        def update(self, n):
            pass

        def set_postfix(self, **kwargs):
            pass

        def close(self):
            self.closed = True

    bar = Bar()
    monkeypatch.setattr(train, "_progress_bar", lambda config: bar)
    with pytest.raises(FloatingPointError, match="step 0"):
        fit(small_model(), batches, lambda m, x, y: torch.tensor(math.nan, requires_grad=True), cfg())
    assert bar.closed
