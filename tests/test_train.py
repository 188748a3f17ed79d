"""lstm_course.train: fit (seeding, clipping, early stops, non-finite losses, progress), safe checkpoints."""

import copy
import io
import math
import os
import pickle
from collections import defaultdict, namedtuple
from enum import IntEnum
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

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
    monkeypatch.delenv("LSTM_COURSE_PROGRESS", raising=False)
    monkeypatch.setenv("CI", "true")
    assert show_progress(None) is False
    monkeypatch.delenv("CI")
    monkeypatch.setattr("sys.stderr.isatty", lambda: False)
    assert show_progress(None) is False
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert show_progress(None) is True
    assert show_progress(False) is False


def test_progress_none_under_ci_prints_nothing(monkeypatch, capsys):
    monkeypatch.delenv("LSTM_COURSE_PROGRESS", raising=False)
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


# ---- TrainConfig: every field checked at construction, named in the error ----------------------------

BAD_CONFIGS = [
    # (field, bad value, error type)
    ("steps", True, TypeError),
    ("steps", 2.0, TypeError),
    ("steps", -1, ValueError),
    ("lr", math.nan, ValueError),
    ("lr", math.inf, ValueError),
    ("lr", -1e-3, ValueError),
    ("lr", "1e-3", TypeError),
    ("lr", True, TypeError),
    ("optimizer", ["adam"], TypeError),
    ("optimizer", "rmsprop", ValueError),
    ("momentum", math.nan, ValueError),
    ("momentum", -0.5, ValueError),
    ("momentum", 1.0, ValueError),
    ("momentum", "0.9", TypeError),
    ("clip", math.nan, ValueError),
    ("clip", -1.0, ValueError),
    ("clip", "1", TypeError),
    ("seed", -1, ValueError),
    ("seed", 2**70, ValueError),
    ("seed", 1.5, TypeError),
    ("seed", True, TypeError),
    ("device", "tpu", ValueError),
    ("device", "meta", ValueError),
    ("device", "cpu:banana", ValueError),
    ("device", 3, TypeError),
    ("progress", "yes", TypeError),
    ("target_loss", math.nan, ValueError),
    ("target_loss", "0.1", TypeError),
    ("target_window", True, TypeError),
    ("target_window", 0, ValueError),
    ("time_limit_s", math.nan, ValueError),
    ("time_limit_s", -1.0, ValueError),
    ("time_limit_s", "10", TypeError),
    ("on_nonfinite", None, TypeError),
    ("on_nonfinite", "ignore", ValueError),
]


@pytest.mark.parametrize(
    ("name", "value", "error"), BAD_CONFIGS, ids=[f"{n}={v!r}" for n, v, _ in BAD_CONFIGS]
)
def test_config_refuses_a_bad_field_naming_it(name, value, error):
    with pytest.raises((TypeError, ValueError), match=rf"TrainConfig\.{name}\b") as info:
        TrainConfig(**{name: value})
    assert info.type is error


def test_config_refuses_a_device_this_machine_lacks(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"TrainConfig\.device.*cuda.*not available"):
        TrainConfig(device="cuda")


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"momentum": 0.9, "optimizer": "sgd"},
        {"seed": 2**64 - 1},
        {"steps": np.int64(3), "seed": np.int64(7), "target_window": np.int64(2)},
        {"lr": 1, "clip": None, "target_loss": 0.5, "time_limit_s": 2.5},
        {"device": "cpu"},
        {"device": torch.device("cpu")},
        {"device": None, "progress": None},
        {"lr": np.float64(1e-3), "clip": np.float32(2.0)},
    ],
    ids=repr,
)
def test_config_accepts_valid_fields(fields):
    config = TrainConfig(**fields)
    for name, value in fields.items():
        assert getattr(config, name) == value
    assert type(config.steps) is int and type(config.seed) is int  # numpy integers become plain ints


def test_fit_runs_with_numpy_integer_fields():
    h = fit(small_model(), batches, mse, cfg(steps=np.int64(2), seed=np.int64(3)))
    assert h.steps == 2


# ---- checkpoints: save refuses what load would refuse ---------------------------------------------------


class Colour(IntEnum):
    RED = 1


class Name(str):
    pass


Point = namedtuple("Point", "x y")


def self_referential_list():
    loop = [1]
    loop.append(loop)
    return loop


def self_referential_dict():
    loop = {"a": 1}
    loop["me"] = {"again": loop}
    return loop


@pytest.mark.parametrize(
    ("metadata", "named"),
    [
        ({"best_loss": np.mean([0.5, 0.25])}, r"metadata\['best_loss'\] is a numpy\.float64"),
        ({"step": np.int64(3)}, r"metadata\['step'\] is a numpy\.int64"),
        ({"colour": Colour.RED}, r"metadata\['colour'\] is a .*Colour"),
        ({"name": Name("x")}, r"metadata\['name'\] is a .*Name"),
        ({"point": Point(1, 2)}, r"metadata\['point'\] is a .*Point"),
        ({"counts": defaultdict(int, a=1)}, r"metadata\['counts'\] is a .*defaultdict"),
        ({"nested": [1, {"x": np.float32(1)}]}, r"metadata\['nested'\]\[1\]\['x'\] is a numpy\.float32"),
        ({"weights": torch.nn.Parameter(torch.zeros(2))}, r"metadata\['weights'\] is a .*Parameter"),
        ({"keys": {Colour.RED: 1}}, r"metadata\['keys'\] has a key .* of type .*Colour"),
        ({"note": Path("x")}, r"metadata\['note'\] is a .*Path"),
    ],
    ids=lambda v: str(v)[:30].replace("\\", ""),
)
def test_save_refuses_metadata_that_would_not_load(tmp_path, metadata, named):
    path = tmp_path / "ck.pt"
    with pytest.raises(TypeError, match=named):
        save_checkpoint(path, small_model(), **metadata)
    assert not path.exists()


@pytest.mark.parametrize("loop", [self_referential_list, self_referential_dict])
def test_save_refuses_self_referential_metadata(tmp_path, loop):
    with pytest.raises(ValueError, match=r"metadata\['loop'\].*refers to itself"):
        save_checkpoint(tmp_path / "ck.pt", small_model(), loop=loop())


def test_save_refuses_metadata_nested_too_deep(tmp_path):
    deep: list = []
    for _ in range(10_000):
        deep = [deep]
    with pytest.raises(ValueError, match=r"metadata\['deep'\].*nested deeper than"):
        save_checkpoint(tmp_path / "ck.pt", small_model(), deep=deep)


def test_save_keeps_shared_but_not_cyclic_references(tmp_path):
    shared = [0.5, 0.25]
    path = save_checkpoint(tmp_path / "ck.pt", small_model(), a=shared, b={"again": shared}, t=torch.ones(2))
    meta = load_checkpoint(path, small_model())
    assert meta["a"] == meta["b"]["again"] == shared and torch.equal(meta["t"], torch.ones(2))


def test_a_refused_save_leaves_the_old_checkpoint(tmp_path):
    path = save_checkpoint(tmp_path / "ck.pt", small_model(), step=1)
    before = path.read_bytes()
    with pytest.raises(TypeError):
        save_checkpoint(path, small_model(seed=1), step=np.int64(2))
    assert path.read_bytes() == before


# ---- checkpoints: load is all-or-nothing ----------------------------------------------------------------


def snapshot(module_or_optimizer) -> dict:
    """A deep copy of a state_dict, to compare before and after a refused load."""
    return copy.deepcopy(module_or_optimizer.state_dict())


def assert_same_state(before, after):
    if isinstance(before, Tensor):
        assert isinstance(after, Tensor) and before.dtype == after.dtype and torch.equal(before, after)
    elif isinstance(before, dict):
        assert isinstance(after, dict) and before.keys() == after.keys()
        for key in before:
            assert_same_state(before[key], after[key])
    elif isinstance(before, (list, tuple)):
        assert type(before) is type(after) and len(before) == len(after)
        for a, b in zip(before, after, strict=True):
            assert_same_state(a, b)
    else:
        assert before == after


def trained_with_adam(cell="lstm", seed=0):
    """A model and an Adam that has stepped once, so the optimizer has state."""
    torch.manual_seed(seed)
    model = SequenceRegressor(cell, 2, 6, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    mse(model, *map(torch.as_tensor, adding_batch(4, 6, np.random.default_rng(seed)))).backward()
    optimizer.step()
    return model, optimizer


def test_assert_same_state_sees_a_changed_weight():
    model, optimizer = trained_with_adam()
    before_model, before_opt = snapshot(model), snapshot(optimizer)
    with torch.no_grad():
        model.head.bias += 1
    with pytest.raises(AssertionError):
        assert_same_state(before_model, snapshot(model))
    optimizer.state_dict()["state"][0]["exp_avg"].add_(1)
    with pytest.raises(AssertionError):
        assert_same_state(before_opt, snapshot(optimizer))


def refused_load_keeps_everything(path, model, optimizer, match):
    before_model = snapshot(model)
    before_opt = None if optimizer is None else snapshot(optimizer)
    with pytest.raises(ValueError, match=match):
        load_checkpoint(path, model, optimizer)
    assert_same_state(before_model, snapshot(model))
    if optimizer is not None:
        assert_same_state(before_opt, snapshot(optimizer))


def test_load_an_lstm_checkpoint_into_a_gru_changes_nothing(tmp_path):
    path = save_checkpoint(tmp_path / "ck.pt", *trained_with_adam("lstm"))
    model, optimizer = trained_with_adam("gru", seed=1)
    refused_load_keeps_everything(path, model, optimizer, r"rnn\.weight_ih_l0.*\(24, 2\).*\(18, 2\)")


def test_load_with_an_optimizer_but_no_saved_state_changes_nothing(tmp_path):
    path = save_checkpoint(tmp_path / "ck.pt", trained_with_adam()[0])
    refused_load_keeps_everything(path, *trained_with_adam(seed=1), r"no optimizer state")


def test_load_an_optimizer_with_other_groups_changes_nothing(tmp_path):
    model, optimizer = trained_with_adam()
    path = save_checkpoint(tmp_path / "ck.pt", model, optimizer)
    other, _ = trained_with_adam(seed=1)
    params = list(other.parameters())
    split = torch.optim.Adam([{"params": params[:2]}, {"params": params[2:]}], lr=1e-2)
    refused_load_keeps_everything(path, other, split, r"optimizer.*2 parameter groups.*1")
    fewer = torch.optim.Adam(params[:-1], lr=1e-2)
    refused_load_keeps_everything(path, other, fewer, r"optimizer.*group 0 has 5 parameters.*had 6")


def test_load_optimizer_state_of_the_wrong_shape_changes_nothing(tmp_path):
    model, optimizer = trained_with_adam()
    path = save_checkpoint(tmp_path / "ck.pt", model, optimizer)
    params = list(model.parameters())
    reordered = torch.optim.Adam(params[1:] + params[:1], lr=1e-2)
    refused_load_keeps_everything(path, model, reordered, r"optimizer.*exp_avg.*shape")


def test_load_the_state_of_another_optimizer_type_changes_nothing(tmp_path):
    model, optimizer = trained_with_adam()
    path = save_checkpoint(tmp_path / "ck.pt", model, optimizer)
    sgd = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    mse(model, *map(torch.as_tensor, adding_batch(4, 6, np.random.default_rng(0)))).backward()
    sgd.step()
    refused_load_keeps_everything(path, model, sgd, r"optimizer.*does not fit")


def checkpoint_bytes(model_state: dict) -> bytes:
    """A checkpoint file's bytes, written by hand around model_state."""
    payload = {"format": "lstm_course.checkpoint/1", "model": model_state, "optimizer": None, "metadata": {}}
    return torch_bytes(payload)


def test_load_missing_and_unexpected_keys_changes_nothing(tmp_path):
    model, optimizer = trained_with_adam()
    path = tmp_path / "ck.pt"
    state = model.state_dict()
    state["extra.weight"] = state.pop("head.weight")
    path.write_bytes(checkpoint_bytes(state))
    refused_load_keeps_everything(path, model, None, r"missing.*head\.weight.*unexpected.*extra\.weight")


def test_load_a_model_entry_that_is_not_tensors_changes_nothing(tmp_path):
    model, _ = trained_with_adam()
    path = tmp_path / "ck.pt"
    state = dict(model.state_dict(), **{"head.bias": [1.0]})
    path.write_bytes(checkpoint_bytes(state))
    refused_load_keeps_everything(path, model, None, r"head\.bias.*is a list, not a tensor")


# ---- checkpoints: broken and hostile files ---------------------------------------------------------------


def good_checkpoint_bytes(tmp_path) -> bytes:
    return save_checkpoint(tmp_path / "good.pt", small_model(), step=1).read_bytes()


def broken_files(tmp_path) -> dict[str, tuple[bytes, str]]:
    good = good_checkpoint_bytes(tmp_path)
    rng = np.random.default_rng(0)
    random_bytes = bytes(rng.integers(0, 256, 512, dtype=np.uint8))
    random_bytes = b"\x13" + random_bytes[1:]  # neither zip's "PK" nor pickle's \x80
    plain = {"format": "lstm_course.checkpoint/1", "model": {}, "optimizer": None, "metadata": {}}
    without_model = {k: v for k, v in plain.items() if k != "model"}
    return {
        "truncated": (good[: len(good) // 2], r"damaged.*zip"),
        "empty": (b"", r"empty"),
        "text": (b"step: 3\nloss: 0.25\n", r"text file, not a checkpoint"),
        "random bytes": (random_bytes, r"not a checkpoint.*neither.*zip.*nor a pickle"),
        "plain pickle": (pickle.dumps(plain), r"pickle.*not in torch\.save's format"),
        "not a dict": (torch_bytes([1, 2, 3]), r"not a checkpoint written by save_checkpoint.*list"),
        "no format": (torch_bytes({"model": {}}), r"not a checkpoint written by save_checkpoint.*format"),
        "newer format": (torch_bytes(dict(plain, format="lstm_course.checkpoint/2")), r"format.*/2"),
        "no model": (torch_bytes(without_model), r"no 'model' entry"),
        "model not a dict": (torch_bytes(dict(plain, model=[1])), r"'model' entry is a list"),
        "metadata not a dict": (torch_bytes(dict(plain, metadata=3)), r"'metadata' entry is a int"),
        "optimizer not a dict": (torch_bytes(dict(plain, optimizer="adam")), r"'optimizer' entry is a str"),
    }


def torch_bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


BROKEN = [
    "truncated",
    "empty",
    "text",
    "random bytes",
    "plain pickle",
    "not a dict",
    "no format",
    "newer format",
    "no model",
    "model not a dict",
    "metadata not a dict",
    "optimizer not a dict",
]


@pytest.mark.parametrize("kind", BROKEN)
def test_load_a_broken_file_says_what_is_wrong(tmp_path, kind):
    data, says = broken_files(tmp_path)[kind]
    path = tmp_path / "broken.pt"
    path.write_bytes(data)
    model = small_model(seed=1)
    before = snapshot(model)
    with pytest.raises(ValueError, match=says) as info:
        load_checkpoint(path, model)
    assert str(path) in str(info.value)
    assert "pickled Python objects" not in str(info.value)  # only a hostile file is called that
    assert_same_state(before, snapshot(model))


def test_load_a_different_architecture_says_which_weights_differ(tmp_path):
    torch.manual_seed(0)
    path = save_checkpoint(tmp_path / "ck.pt", SequenceRegressor("lstm", 2, 8, 1))
    with pytest.raises(ValueError, match=r"different architecture.*rnn\.weight_hh_l0.*\(32, 8\).*\(24, 6\)"):
        load_checkpoint(path, small_model())


class Payload:
    """Unpickling this runs code: it would create the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


class ShellPayload(Payload):
    """Unpickling this runs a shell command that would write the marker file."""

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


HOSTILE = [
    # (payload class, writer, what the error says)
    (Payload, "torch.save", r"refusing.*pickled Python objects.*mkdir.*nothing in it ran"),
    (ShellPayload, "torch.save", r"refusing.*pickled Python objects.*system.*nothing in it ran"),
    (Payload, "pickle protocol 2", r"refusing.*pickled Python objects.*mkdir.*nothing in it ran"),
    (ShellPayload, "pickle protocol 2", r"refusing.*pickled Python objects.*system.*nothing in it ran"),
    (Payload, "pickle", r"refusing.*pickled Python objects.*mkdir.*nothing in it ran"),
    (ShellPayload, "pickle", r"refusing.*pickled Python objects.*system.*nothing in it ran"),
    (ShellPayload, "legacy torch.save", r"refusing.*pickled Python objects.*system.*nothing in it ran"),
]


@pytest.mark.parametrize(
    ("payload_class", "writer", "says"), HOSTILE, ids=[f"{row[0].__name__}-{row[1]}" for row in HOSTILE]
)
def test_load_refuses_a_malicious_pickle(tmp_path, payload_class, writer, says):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    payload = {
        "format": "lstm_course.checkpoint/1",
        "model": {},
        "optimizer": None,
        "metadata": payload_class(marker),
    }
    if writer == "torch.save":
        torch.save(payload, path)
    elif writer == "legacy torch.save":
        torch.save(payload, path, _use_new_zipfile_serialization=False)
    elif writer == "pickle protocol 2":
        path.write_bytes(pickle.dumps(payload, protocol=2))
    else:
        path.write_bytes(pickle.dumps(payload))
    with pytest.raises(ValueError, match=says):
        load_checkpoint(path, small_model())
    assert not marker.exists()
    if writer.startswith("pickle"):  # the payload is real: a plain unpickler would have run it
        pickle.loads(path.read_bytes())
        assert marker.exists()


def test_load_a_missing_file_or_a_folder_raises_the_usual_oserror(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt", small_model())
    with pytest.raises(IsADirectoryError):
        load_checkpoint(tmp_path, small_model())


@pytest.mark.parametrize(
    "optimizer_entry",
    [{"state": {}}, {"state": [], "param_groups": []}, {"state": {}, "param_groups": [{"params": [[0]]}]}],
    ids=["no groups", "state a list", "a list as parameter id"],
)
def test_load_an_optimizer_entry_that_is_not_a_state_dict_changes_nothing(tmp_path, optimizer_entry):
    model, optimizer = trained_with_adam()
    path = tmp_path / "ck.pt"
    payload = {"format": "lstm_course.checkpoint/1", "model": model.state_dict(), "metadata": {}}
    path.write_bytes(torch_bytes(dict(payload, optimizer=optimizer_entry)))
    refused_load_keeps_everything(path, *trained_with_adam(seed=1), r"'optimizer' entry is not an optimizer")
