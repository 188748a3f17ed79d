"""Fuzz lstm_course.nn (every torch mode, plain and fast), TrainConfig, checkpoint metadata and the CLI."""

from __future__ import annotations

import contextlib
import io
import math

import numpy as np
import pytest
import torch
from fuzz_contract import is_finite, obeys_contract
from hypothesis import given
from hypothesis import strategies as st

from lstm_course import train
from lstm_course.cli import main
from lstm_course.nn.cells import MODES
from lstm_course.nn.recurrent import LAYERS

TIMEOUTS = ("--timeout", "--total-timeout")
MODE_NAMES = tuple(MODES)  # a new torch mode is fuzzed as soon as it is registered
VALUES = st.sampled_from([0.0, 1e-30, 1.0, 1e3, 1e30, math.nan, math.inf, -math.inf])


def _layer(mode: str, D: int, H: int, fast: bool):
    cell = MODES[mode].spec.name
    kwargs = {"nonlinearity": mode.split("_")[1].lower()} if cell == "rnn" else {}
    torch.manual_seed(0)
    return LAYERS[cell](D, H, num_layers=2, bidirectional=True, fast=fast, dtype=torch.float64, **kwargs)


@pytest.mark.parametrize("mode", MODE_NAMES)
@given(data=st.data())
def test_layers(mode, data):
    T, B = data.draw(st.integers(0, 3)), data.draw(st.integers(0, 3))
    D, H = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    dtype = data.draw(st.sampled_from([torch.float64, torch.float64, torch.float32]))
    x = torch.randn(
        T, B, D, dtype=dtype, generator=torch.Generator().manual_seed(data.draw(st.integers(0, 99)))
    )
    if x.numel() and data.draw(st.booleans()):
        x.view(-1)[data.draw(st.integers(0, x.numel() - 1))] = data.draw(VALUES)
    lengths = data.draw(
        st.none()
        | st.lists(st.integers(-1, 4), min_size=B, max_size=B + 1)
        | st.lists(st.integers(1, max(T, 1)), min_size=B, max_size=B).map(np.array)
    )
    plain, fast = _layer(mode, D, H, fast=False), _layer(mode, D, H, fast=True)
    names = [r"input", r"lengths", r"hx", r"dtype"]
    ok, result = obeys_contract(lambda: plain(x, lengths=lengths), (x, lengths), names)
    if not ok:
        return
    assert is_finite(x) and x.dtype == torch.float64
    out_fast, _ = fast(x, lengths=lengths)
    torch.testing.assert_close(result[0], out_fast, rtol=1e-9, atol=1e-9)


FIELDS = {
    "steps": st.sampled_from([0, 5, -1, True, 2.5, np.int64(3)]),
    "lr": st.sampled_from([1e-3, 0.0, -1.0, math.nan, math.inf, "0.1"]),
    "momentum": st.sampled_from([0.0, 0.9, 1.0, -0.1, math.nan]),
    "clip": st.sampled_from([None, 1.0, 0.0, math.nan]),
    "seed": st.sampled_from([0, -1, 2**64, 2**70, 1.5]),
    "device": st.sampled_from([None, "cpu", "tpu", "cpu:banana", 3]),
    "optimizer": st.sampled_from(["adam", "sgd", "rmsprop", None]),
}


@given(fields=st.fixed_dictionaries({}, optional=FIELDS))
def test_train_config(fields):
    names = [rf"TrainConfig\.{name}\b" for name in FIELDS]
    ok, config = obeys_contract(lambda: train.TrainConfig(**fields), fields, names)
    if ok:
        assert all(getattr(config, name) == value for name, value in fields.items())


PLAIN = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6,
)
ODD = st.sampled_from([np.float64(0.5), np.int64(2), float("nan"), {1: "int key"}, (1, 2), object()])


@given(value=PLAIN | ODD)
def test_checkpoint_metadata_round_trips_or_is_refused(value, tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "model.pt"
    model = torch.nn.Linear(2, 1)
    ok, _ = obeys_contract(lambda: train.save_checkpoint(path, model, note=value), (), [r"note", r"metadata"])
    if ok:
        loaded = train.load_checkpoint(path, torch.nn.Linear(2, 1))
        assert loaded["note"] == value or (isinstance(value, float) and math.isnan(value))
    else:
        assert not path.exists(), "a refused checkpoint was written"


@given(
    timeout=st.sampled_from(["nan", "-1", "0", "inf", "abc", "1e400", "5"]), option=st.sampled_from(TIMEOUTS)
)
def test_cli_usage_mistakes_exit_2_in_one_line(timeout, option, tmp_path_factory):
    """An empty folder and any timeout: a usage mistake either way, so exit 2 and a short message."""
    folder = tmp_path_factory.mktemp("empty")
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        try:
            code = main(["grade", str(folder), option, timeout])
        except SystemExit as exit_info:  # argparse's own exit for a value its type refuses
            code = exit_info.code
    assert code == 2
    error = stderr.getvalue().strip()
    assert error and "Traceback" not in error and len(error.splitlines()) <= 3, error
