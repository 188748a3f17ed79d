"""Exercise 04's checks: the reference passes; LSTM mistakes (gates, cell, derivatives, BPTT) fail by name."""

import types

import numpy as np
import pytest

from lstm_course import reference as ref
from lstm_course.checks.lstm import (
    check_lstm_backward,
    check_lstm_forward,
    check_lstm_step_backward,
    check_lstm_step_forward,
)


def test_the_reference_passes_every_check(capsys: pytest.CaptureFixture[str]) -> None:
    check_lstm_step_forward(ref.lstm_step_forward)
    check_lstm_step_backward(ref.lstm_step_forward, ref.lstm_step_backward)
    check_lstm_forward(ref.lstm_forward)
    check_lstm_backward(ref.lstm_forward, ref.lstm_backward)
    assert capsys.readouterr().out.splitlines() == [
        "✓ lstm_step_forward: 6/6 checks passed",
        "✓ lstm_step_backward: 5/5 checks passed",
        "✓ lstm_forward: 4/4 checks passed",
        "✓ lstm_backward: 4/4 checks passed",
    ]


def step(x, h_prev, c_prev, p, *, order="ifgo", forget=True, tanh_c=True):
    """A student's LSTM step; ``order`` is how they read torch's four row blocks."""
    H = h_prev.shape[1]
    a = x @ p["weight_ih"].T + p["bias_ih"] + h_prev @ p["weight_hh"].T + p["bias_hh"]
    blocks = dict(zip(order, (a[:, k * H : (k + 1) * H] for k in range(4)), strict=True))
    i, f, g, o = (
        ref.sigmoid(blocks["i"]),
        ref.sigmoid(blocks["f"]),
        np.tanh(blocks["g"]),
        ref.sigmoid(blocks["o"]),
    )
    c = (f * c_prev if forget else 0) + i * g
    h = o * (np.tanh(c) if tanh_c else c)
    return h, c, (x, h_prev, c_prev, i, f, g, o, c, p)


def step_backward(dh, dc, cache, *, tanh_derivative=lambda t: 1 - t * t, through_h=True, forget=True):
    x, h_prev, c_prev, i, f, g, o, c, p = cache
    tc = np.tanh(c)
    dc = dc + (dh * o * tanh_derivative(tc) if through_h else 0)
    da = np.concatenate(
        [dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g * g), dh * tc * o * (1 - o)], axis=1
    )
    grads = {"weight_ih": da.T @ x, "weight_hh": da.T @ h_prev, "bias_ih": da.sum(0), "bias_hh": da.sum(0)}
    return da @ p["weight_ih"], da @ p["weight_hh"], dc * f if forget else dc, grads


def forward(x, p, h0=None, c0=None):
    B, H = x.shape[1], p["weight_hh"].shape[1]
    h = np.zeros((B, H)) if h0 is None else h0
    c = np.zeros((B, H)) if c0 is None else c0
    out, caches = [], []
    for t in range(x.shape[0]):
        h, c, cache = step(x[t], h, c, p)
        out.append(h)
        caches.append(cache)
    return np.stack(out), (h, c), caches


def backward(dout, caches, dh_T=None, dc_T=None, *, carry_h=True, carry_c=True):
    dh_next = np.zeros_like(dout[0]) if dh_T is None else dh_T
    dc_next = np.zeros_like(dout[0]) if dc_T is None else dc_T
    dx, grads = [None] * len(caches), None
    for t in reversed(range(len(caches))):
        dx[t], dh_prev, dc_prev, g = step_backward(dout[t] + dh_next, dc_next, caches[t])
        dh_next = dh_prev if carry_h else np.zeros_like(dh_prev)
        dc_next = dc_prev if carry_c else np.zeros_like(dc_prev)
        grads = g if grads is None else {k: grads[k] + g[k] for k in g}
    return np.stack(dx), grads, (dh_prev, dc_prev)


def test_the_mutant_helpers_are_right_when_unmutated(capsys: pytest.CaptureFixture[str]) -> None:
    # every case runs and passes, so a mutation test below fails only for its mutation
    check_lstm_step_forward(step)
    check_lstm_step_backward(step, step_backward)
    check_lstm_backward(forward, backward)
    assert capsys.readouterr().out.splitlines() == [
        "✓ lstm_step_forward: 6/6 checks passed",
        "✓ lstm_step_backward: 5/5 checks passed",
        "✓ lstm_backward: 4/4 checks passed",
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"order": "figo"},
            r"^the gates look swapped: your output matches the reference when i and f are exchanged",
        ),
        (
            {"order": "ifog"},
            r"^the gates look swapped: your output matches the reference when g and o are exchanged",
        ),
        ({"order": "oifg"}, r"^the gates are in the wrong order"),
        ({"forget": False}, r"^c_prev is dropped: c = f \* c_prev \+ i \* g"),
        ({"tanh_c": False}, r"^h = o \* tanh\(c\): the tanh on the cell is missing"),
    ],
)
def test_step_forward_mistakes_are_named(kwargs: dict, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_lstm_step_forward(lambda x, h, c, p: step(x, h, c, p, **kwargs))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"tanh_derivative": lambda t: 1 - t},
            r"^wrong tanh derivative for tanh\(c\): with tanh_c = tanh\(c\), dtanh_c/dc = 1 - tanh_c\*\*2 "
            r"\(you used 1 - tanh_c\)",
        ),
        ({"through_h": False}, r"^the cell gradient ignores the path through h"),
        ({"forget": False}, r"^dc_prev misses the forget gate"),
    ],
)
def test_step_backward_mistakes_are_named(kwargs: dict, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_lstm_step_backward(step, lambda dh, dc, cache: step_backward(dh, dc, cache, **kwargs))


def test_bptt_mistakes_are_named() -> None:
    with pytest.raises(
        AssertionError,
        match=r"^the gradient matches for the last time step but not earlier ones: is "
        r"dh from step t\+1 added",
    ):
        check_lstm_backward(forward, lambda d, c, dh=None, dc=None: backward(d, c, dh, dc, carry_h=False))
    with pytest.raises(AssertionError, match="^the cell gradient is not carried back in time"):
        check_lstm_backward(forward, lambda d, c, dh=None, dc=None: backward(d, c, dh, dc, carry_c=False))
    with pytest.raises(AssertionError, match="^dc_T is ignored"):
        check_lstm_backward(forward, lambda d, c, dh=None, dc=None: backward(d, c, dh, None))


def test_forward_over_time_mistakes_are_named() -> None:
    def no_c0(x, p, h0=None, c0=None):
        return forward(x, p, h0, None)

    with pytest.raises(AssertionError, match="^c0 is ignored"):
        check_lstm_forward(no_c0)
    with pytest.raises(AssertionError, match="^lstm_forward raised TypeError"):
        check_lstm_forward(lambda x, p: forward(x, p))


def test_a_right_bptt_on_a_wrong_step_backward_names_the_step_backward() -> None:
    """As in a notebook: lstm_backward calls the lstm_step_backward of its globals, which is wrong."""

    def wrong_step_backward(dh, dc, cache):
        return step_backward(dh, dc, cache, tanh_derivative=lambda t: 1 - t)

    names = {
        "step_backward": wrong_step_backward,
        "lstm_step_forward": step,
        "lstm_step_backward": wrong_step_backward,
    }
    notebook_backward = types.FunctionType(
        backward.__code__, {**globals(), **names}, "lstm_backward", backward.__defaults__
    )
    notebook_backward.__kwdefaults__ = backward.__kwdefaults__
    with pytest.raises(AssertionError) as info:
        check_lstm_backward(forward, notebook_backward)
    first, details = str(info.value).splitlines()[:2]
    assert first == "lstm_step_backward is not right yet: make check_lstm_step_backward pass first"
    assert details.startswith("check_lstm_step_backward says: wrong tanh derivative for tanh(c)")
    assert "seed" in str(info.value)


def test_a_right_forward_on_a_wrong_step_names_the_step() -> None:
    """As in a notebook: lstm_forward calls the lstm_step_forward of its globals, which forgets c_prev."""

    def wrong_step(x, h_prev, c_prev, p):
        return step(x, h_prev, c_prev, p, forget=False)

    notebook_forward = types.FunctionType(
        forward.__code__,
        {**globals(), "step": wrong_step, "lstm_step_forward": wrong_step},
        "lstm_forward",
        forward.__defaults__,
    )
    with pytest.raises(AssertionError) as info:
        check_lstm_forward(notebook_forward)
    first, details = str(info.value).splitlines()[:2]
    assert first == "lstm_step_forward is not right yet: make check_lstm_step_forward pass first"
    assert details.startswith("check_lstm_step_forward says: c_prev is dropped")


def test_a_wrong_tanh_derivative_inside_lstm_backward_is_named() -> None:
    """lstm_backward that does not call an lstm_step_backward: the step's mistake is found in the loop."""

    def wrong_step_backward(dh, dc, cache):
        return step_backward(dh, dc, cache, tanh_derivative=lambda t: 1 - t)

    inline = types.FunctionType(
        backward.__code__, {**globals(), "step_backward": wrong_step_backward}, "lstm_backward"
    )
    inline.__kwdefaults__ = backward.__kwdefaults__
    with pytest.raises(AssertionError, match=r"^wrong tanh derivative for tanh\(c\)"):
        check_lstm_backward(forward, lambda d, c, dh=None, dc=None: inline(d, c, dh, dc))
