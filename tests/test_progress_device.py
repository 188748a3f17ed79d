"""Who sees a progress bar (a person in Jupyter or a terminal, not the book build or CI), and the one switch,
LSTM_COURSE_DEVICE, that moves every chapter's experiments to another device."""

import importlib
import inspect
import os
import pkgutil
import sys
import types

import pytest
import torch
from jupyter_client.manager import start_new_kernel

import lstm_course.experiments
from lstm_course import train
from lstm_course.nn.device import pick_device
from lstm_course.train import DEVICE_ENV, PROGRESS_ENV, TrainConfig, course_device, show_progress


@pytest.fixture
def unset(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Neither switch nor CI set, and stderr not a terminal: the kernel test alone decides."""
    for name in (PROGRESS_ENV, DEVICE_ENV, "CI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(train, "_stderr_is_a_terminal", lambda: False)
    return monkeypatch


def fake_ipython(allow_stdin: bool | None) -> types.ModuleType:
    """A stand-in IPython module whose shell has a kernel (or none, for a plain IPython terminal)."""
    module = types.ModuleType("IPython")
    kernel = None if allow_stdin is None else types.SimpleNamespace(_allow_stdin=allow_stdin)
    shell = types.SimpleNamespace(kernel=kernel)
    module.get_ipython = lambda: shell  # type: ignore[attr-defined]
    return module


@pytest.mark.parametrize(("allow_stdin", "shown"), [(True, True), (False, False), (None, False)])
def test_a_kernel_shows_the_bar_when_a_person_ran_the_cell(
    allow_stdin: bool | None, shown: bool, unset: pytest.MonkeyPatch
) -> None:
    unset.setitem(sys.modules, "IPython", fake_ipython(allow_stdin))
    assert show_progress(None) is shown
    unset.setenv("CI", "true")  # CI wins over a kernel
    assert show_progress(None) is False


def test_the_environment_switch_forces_the_bar(unset: pytest.MonkeyPatch) -> None:
    assert show_progress(None) is False
    unset.setenv(PROGRESS_ENV, "1")
    assert show_progress(None) is True
    unset.setenv("CI", "true")  # an explicit request beats CI
    assert show_progress(None) is True
    unset.setenv(PROGRESS_ENV, "0")
    unset.setattr(train, "_stderr_is_a_terminal", lambda: True)
    assert show_progress(None) is False
    assert show_progress(True) is True  # a config's own True or False is never overridden
    unset.setenv(PROGRESS_ENV, "yes")
    with pytest.raises(ValueError, match=PROGRESS_ENV):
        show_progress(None)


@pytest.mark.slow
@pytest.mark.parametrize(("allow_stdin", "shown"), [(True, True), (False, False)])
def test_in_a_real_kernel_lab_shows_the_bar_and_nbclient_does_not(
    allow_stdin: bool, shown: bool, unset: pytest.MonkeyPatch
) -> None:
    # JupyterLab sends cells with allow_stdin=True; nbclient (the book build, jupytext --execute) with False
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    kernel, client = start_new_kernel(kernel_name="python3", env=env)
    try:
        code = "from lstm_course.train import show_progress; print(show_progress(None))"
        reply_id = client.execute(code, allow_stdin=allow_stdin)
        printed = []
        while True:
            message = client.get_iopub_msg(timeout=60)
            if message["parent_header"].get("msg_id") != reply_id:
                continue
            if message["msg_type"] == "stream":
                printed.append(message["content"]["text"])
            if message["msg_type"] == "error":
                pytest.fail("\n".join(message["content"]["traceback"]))
            if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                break
    finally:
        client.stop_channels()
        kernel.shutdown_kernel(now=True)
    assert "".join(printed).strip() == str(shown)


def training_configs() -> list[tuple[str, TrainConfig]]:
    """Every experiment's ``*_training()`` config, made now (so under the environment of the test)."""
    found = []
    for info in pkgutil.iter_modules(lstm_course.experiments.__path__, "lstm_course.experiments."):
        module = importlib.import_module(info.name)
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if name.endswith("_training") and function.__module__ == module.__name__:
                found.append((f"{info.name}.{name}", function()))
    return found


def test_every_experiment_trains_on_the_cpu_by_default_with_the_bar_decided_by_who_watches(
    unset: pytest.MonkeyPatch,
) -> None:
    configs = training_configs()
    assert len(configs) >= 10
    for name, config in configs:
        assert config.device == "cpu" and config.progress is None, (name, config)


def test_one_switch_moves_every_experiment(unset: pytest.MonkeyPatch) -> None:
    unset.setenv(DEVICE_ENV, "cpu:0")  # a device name other than the default that every machine has
    assert course_device() == "cpu:0"
    for name, config in training_configs():
        assert config.device == "cpu:0", name
    unset.setenv(DEVICE_ENV, "auto")
    assert course_device() == str(pick_device())


@pytest.mark.parametrize("value", ["tpu", "cuda:99", "banana"])
def test_a_device_the_machine_lacks_is_named(value: str, unset: pytest.MonkeyPatch) -> None:
    unset.setenv(DEVICE_ENV, value)
    with pytest.raises(ValueError, match=DEVICE_ENV):
        course_device()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_on_a_gpu_an_experiment_trains_there(unset: pytest.MonkeyPatch) -> None:
    from lstm_course.experiments.adding import adding_training

    unset.setenv(DEVICE_ENV, "cuda")
    assert adding_training().device == "cuda"
