"""Exercise 02's checks: the reference passes; mistakes in the step and in BPTT fail with named feedback."""

import numpy as np
import pytest

from lstm_course import reference as ref
from lstm_course.checks.rnn import (
    check_rnn_backward,
    check_rnn_forward,
    check_rnn_step_backward,
    check_rnn_step_forward,
)


def test_the_reference_passes_every_check(capsys: pytest.CaptureFixture[str]) -> None:
    check_rnn_step_forward(ref.rnn_step_forward)
    check_rnn_step_backward(ref.rnn_step_forward, ref.rnn_step_backward)
    check_rnn_forward(ref.rnn_forward)
    check_rnn_backward(ref.rnn_forward, ref.rnn_backward)
    assert capsys.readouterr().out.splitlines() == [
        "✓ rnn_step_forward: 5/5 checks passed",
        "✓ rnn_step_backward: 4/4 checks passed",
        "✓ rnn_forward: 4/4 checks passed",
        "✓ rnn_backward: 4/4 checks passed",
    ]


def step_transposed(x: np.ndarray, h: np.ndarray, p: dict) -> tuple:
    return np.tanh(x @ p["weight_ih"] + p["bias_ih"] + h @ p["weight_hh"] + p["bias_hh"]), None


def step_no_bias_hh(x: np.ndarray, h: np.ndarray, p: dict) -> tuple:
    return np.tanh(x @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T), None


def step(x: np.ndarray, h: np.ndarray, p: dict) -> tuple:
    hn = np.tanh(x @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"])
    return hn, (x, h, hn, p)


def step_backward(dh: np.ndarray, cache: tuple, derivative=lambda h: 1 - h * h) -> tuple:
    x, h_prev, h, p = cache
    da = dh * derivative(h)
    grads = {"weight_ih": da.T @ x, "weight_hh": da.T @ h_prev, "bias_ih": da.sum(0), "bias_hh": da.sum(0)}
    return da @ p["weight_ih"], da @ p["weight_hh"], grads


def forward(x: np.ndarray, p: dict, h0: np.ndarray | None = None, off_by_one: bool = False) -> tuple:
    h = np.zeros((x.shape[1], p["weight_hh"].shape[1])) if h0 is None else h0
    out, caches = [], []
    for t in range(x.shape[0]):
        h_new, cache = step(x[t], h, p)
        out.append(h if off_by_one else h_new)
        caches.append(cache)
        h = h_new
    return np.stack(out), h, caches


def backward(
    dout: np.ndarray,
    caches: list,
    dh_T=None,
    carry: bool = True,
    accumulate: bool = True,
    step=step_backward,
    first: int = 0,
) -> tuple:
    dh_next = np.zeros_like(dout[0]) if dh_T is None else dh_T
    dx, grads = [np.zeros((dout.shape[1], caches[0][0].shape[1]))] * len(caches), None
    for t in reversed(range(first, len(caches))):
        dx[t], dh_prev, g = step(dout[t] + dh_next, caches[t])
        dh_next = dh_prev if carry else np.zeros_like(dh_prev)
        grads = g if grads is None or not accumulate else {k: grads[k] + g[k] for k in g}
    return np.stack(dx), grads, dh_prev


def test_the_mutant_helpers_are_right_when_unmutated(capsys: pytest.CaptureFixture[str]) -> None:
    # every case runs and passes, so a mutation test below fails only for its mutation
    check_rnn_step_backward(step, step_backward)
    check_rnn_backward(forward, backward)
    assert capsys.readouterr().out.splitlines() == [
        "✓ rnn_step_backward: 4/4 checks passed",
        "✓ rnn_backward: 4/4 checks passed",
    ]


def test_step_mistakes_are_named() -> None:
    with pytest.raises(AssertionError, match="^both weights are transposed"):
        check_rnn_step_forward(step_transposed)
    with pytest.raises(AssertionError, match="^bias_hh is missing"):
        check_rnn_step_forward(step_no_bias_hh)
    with pytest.raises(
        AssertionError, match=r"^wrong tanh derivative: with h = tanh\(a\), dh/da = 1 - h\*\*2"
    ):
        check_rnn_step_backward(step, lambda dh, c: step_backward(dh, c, lambda h: 1 - h))
    with pytest.raises(
        AssertionError, match="^wrong tanh derivative: 1 - h\\*\\*2 is already in terms of the output"
    ):
        check_rnn_step_backward(step, lambda dh, c: step_backward(dh, c, lambda h: 1 - np.tanh(h) ** 2))


def test_bptt_mistakes_are_named() -> None:
    with pytest.raises(
        AssertionError, match=r"^off by one in time: your out\[t\] is the reference's out\[t-1\]"
    ):
        check_rnn_forward(lambda x, p, h0=None: forward(x, p, h0, off_by_one=True))
    with pytest.raises(AssertionError) as info:
        check_rnn_backward(forward, lambda d, c, dh_T=None: backward(d, c, dh_T, carry=False))
    assert str(info.value).startswith(
        "the gradient matches for the last time step but not earlier ones: is dh from step t+1 added"
    )
    with pytest.raises(AssertionError, match="^the grads are those of the first time step only: accumulate"):
        check_rnn_backward(forward, lambda d, c, dh_T=None: backward(d, c, dh_T, accumulate=False))
    with pytest.raises(AssertionError, match="^dh_T is ignored"):
        check_rnn_backward(forward, lambda d, c, dh_T=None: backward(d, c, None))


NOTEBOOK = """
import numpy as np


def rnn_step_forward(x_t, h_prev, params):
    a = x_t @ params["weight_ih"].T + params["bias_ih"] + h_prev @ params["weight_hh"].T + params["bias_hh"]
    h = np.tanh(a)
    return h, (x_t, h_prev, h, params)


def rnn_step_backward(dh, cache):
    x_t, h_prev, h, params = cache
    da = dh * (1 - h)  # the mistake: tanh's derivative is 1 - h**2
    grads = {"weight_ih": da.T @ x_t, "weight_hh": da.T @ h_prev, "bias_ih": da.sum(0), "bias_hh": da.sum(0)}
    return da @ params["weight_ih"], da @ params["weight_hh"], grads


def rnn_forward(x, params, h0=None):
    h = np.zeros((x.shape[1], params["weight_hh"].shape[1])) if h0 is None else h0
    out, caches = [], []
    for t in range(x.shape[0]):
        h, cache = rnn_step_forward(x[t], h, params)
        out.append(h)
        caches.append(cache)
    return np.stack(out), h, caches


def rnn_backward(dout, cache, dh_T=None):
    dh_next = np.zeros_like(dout[0]) if dh_T is None else dh_T
    dx, grads = [None] * len(cache), None
    for t in reversed(range(len(cache))):
        dx[t], dh_next, g = rnn_step_backward(dout[t] + dh_next, cache[t])
        grads = g if grads is None else {k: grads[k] + g[k] for k in g}
    return np.stack(dx), grads, dh_next
"""


def test_a_right_bptt_on_a_wrong_step_backward_names_the_step_backward() -> None:
    namespace: dict = {}
    exec(compile(NOTEBOOK, "<notebook>", "exec"), namespace)  # noqa: S102 - a notebook's globals
    with pytest.raises(AssertionError) as info:
        check_rnn_backward(namespace["rnn_forward"], namespace["rnn_backward"])
    first, details = str(info.value).splitlines()[:2]
    assert first == "rnn_step_backward is not right yet: make check_rnn_step_backward pass first"
    assert details.startswith("check_rnn_step_backward says: wrong tanh derivative: with h = tanh(a)")
    assert "seed" in str(info.value)


def test_the_h0_none_case_diagnoses_from_zeros() -> None:
    def no_carry_without_h0(x: np.ndarray, p: dict, h0: np.ndarray | None = None) -> tuple:
        if h0 is not None:
            return forward(x, p, h0)
        zeros = np.zeros((x.shape[1], p["weight_hh"].shape[1]))
        out = np.stack([step(x[t], zeros, p)[0] for t in range(x.shape[0])])
        return out, out[-1], None

    with pytest.raises(AssertionError, match="^the hidden state is not carried: every step starts from h0"):
        check_rnn_forward(no_carry_without_h0)


def test_transposed_weights_in_the_step_backward_name_the_output_checked() -> None:
    def transposed(dh: np.ndarray, cache: tuple) -> tuple:
        _, _, grads = step_backward(dh, cache)
        x, h_prev, h, p = cache
        da = dh * (1 - h * h)
        return da @ p["weight_ih"].T, da @ p["weight_hh"].T, grads

    with pytest.raises(
        AssertionError,
        match=r"^the weight is transposed in the backward pass: dx_t = da @ weight_ih \(no \.T\)",
    ):
        check_rnn_step_backward(step, transposed)


def test_a_right_forward_on_a_wrong_step_names_the_step() -> None:
    namespace: dict = {}
    wrong = NOTEBOOK.replace('+ params["bias_hh"]\n    h = np.tanh(a)', "\n    h = np.tanh(a)")
    assert wrong != NOTEBOOK
    exec(compile(wrong, "<notebook>", "exec"), namespace)  # noqa: S102 - a notebook's globals
    with pytest.raises(AssertionError) as info:
        check_rnn_forward(namespace["rnn_forward"])
    first, details = str(info.value).splitlines()[:2]
    assert first == "rnn_step_forward is not right yet: make check_rnn_step_forward pass first"
    assert details.startswith("check_rnn_step_forward says: bias_hh is missing")


def step_backward_transposed_dw_hh(dh: np.ndarray, cache: tuple) -> tuple:
    dx, dh_prev, grads = step_backward(dh, cache)
    return dx, dh_prev, {**grads, "weight_hh": grads["weight_hh"].T}


@pytest.mark.parametrize(
    ("mistake", "message"),
    [
        (
            {"step": lambda dh, cache: step_backward(dh, cache, lambda h: 1 - h)},
            r"^wrong tanh derivative: with h = tanh\(a\), dh/da = 1 - h\*\*2 \(you used 1 - h\)",
        ),
        (
            {"step": step_backward_transposed_dw_hh},
            r"^the weight gradient is transposed: dW_hh = da.T @ h_prev",
        ),
        ({"first": 1}, r"^off by one in time: the loop stops before t = 0"),
    ],
)
def test_mistakes_inside_rnn_backward_are_named(mistake: dict, message: str) -> None:
    """rnn_backward that does not call an rnn_step_backward: the step's mistakes are found in the loop."""
    with pytest.raises(AssertionError, match=message):
        check_rnn_backward(forward, lambda d, c, dh_T=None: backward(d, c, dh_T, **mistake))
