"""Exercise 06's checks: the reference passes; GRU mistakes (conventions, gates, BPTT) fail by name."""

import types

import numpy as np
import pytest

from lstm_course import reference as ref
from lstm_course.checks import gru as gru_checks
from lstm_course.checks.gru import (
    check_gru_backward,
    check_gru_forward,
    check_gru_step_backward,
    check_gru_step_forward,
)
from lstm_course.checks.harness import random_params
from lstm_course.checks.mistakes import step_backward_mistakes


def test_the_reference_passes_every_check(capsys: pytest.CaptureFixture[str]) -> None:
    check_gru_step_forward(ref.gru_step_forward)
    check_gru_step_backward(ref.gru_step_forward, ref.gru_step_backward)
    check_gru_forward(ref.gru_forward)
    check_gru_backward(ref.gru_forward, ref.gru_backward)
    assert capsys.readouterr().out.splitlines() == [
        "✓ gru_step_forward: 6/6 checks passed",
        "✓ gru_step_backward: 5/5 checks passed",
        "✓ gru_forward: 4/4 checks passed",
        "✓ gru_backward: 4/4 checks passed",
    ]


def step(x, h_prev, p, *, order="rzn", reset="after", swap_z=False):
    """A student's GRU step; ``order`` is how they read torch's three row blocks."""
    H = h_prev.shape[1]

    def blocks(a):
        return dict(zip(order, (a[:, k * H : (k + 1) * H] for k in range(3)), strict=True))

    ax = blocks(x @ p["weight_ih"].T + p["bias_ih"])
    ah = blocks(h_prev @ p["weight_hh"].T + p["bias_hh"])
    r, z = ref.sigmoid(ax["r"] + ah["r"]), ref.sigmoid(ax["z"] + ah["z"])
    rows = slice(2 * H, 3 * H)  # the student's n block is torch's third block only with the right order
    if reset == "after":
        recurrent = r * ah["n"]
    elif reset == "before":
        recurrent = (r * h_prev) @ p["weight_hh"][rows].T + p["bias_hh"][rows]
    elif reset == "bias_outside":
        recurrent = r * (h_prev @ p["weight_hh"][rows].T) + p["bias_hh"][rows]
    else:
        recurrent = ah["n"]
    n = np.tanh(ax["n"] + recurrent)
    h = z * n + (1 - z) * h_prev if swap_z else (1 - z) * n + z * h_prev
    return h, (x, h_prev, r, z, n, ah["n"], p)


def step_backward(
    dh,
    cache,
    *,
    tanh_derivative=lambda n: 1 - n * n,
    direct=True,
    r_in_dhn=True,
    bias_outside=False,
    swap_z=False,
):
    x, h_prev, r, z, n, hn, p = cache
    keep, write = (1 - z, z) if swap_z else (z, 1 - z)
    dn = dh * write
    dz = dh * (n - h_prev) if swap_z else dh * (h_prev - n)
    dan = dn * tanh_derivative(n)
    dar, daz = dan * hn * r * (1 - r), dz * z * (1 - z)
    dhn = dan * r if r_in_dhn else dan
    dax = np.concatenate([dar, daz, dan], axis=1)
    dah = np.concatenate([dar, daz, dhn], axis=1)
    grads = {
        "weight_ih": dax.T @ x,
        "weight_hh": dah.T @ h_prev,
        "bias_ih": dax.sum(0),
        "bias_hh": dah.sum(0),
    }
    if bias_outside:
        grads["bias_hh"] = dax.sum(0)
    dh_prev = dah @ p["weight_hh"] + (dh * keep if direct else 0)
    return dax @ p["weight_ih"], dh_prev, grads


def forward(x, p, h0=None):
    B, H = x.shape[1], p["weight_hh"].shape[1]
    h = np.zeros((B, H)) if h0 is None else h0
    out, caches = [], []
    for t in range(x.shape[0]):
        h, cache = step(x[t], h, p)
        out.append(h)
        caches.append(cache)
    return np.stack(out), h, caches


def backward(dout, caches, dh_T=None, *, carry=True, accumulate=True):
    dh_next = np.zeros_like(dout[0]) if dh_T is None else dh_T
    dx, grads = [None] * len(caches), None
    for t in reversed(range(len(caches))):
        dx[t], dh_prev, g = step_backward(dout[t] + dh_next, caches[t])
        dh_next = dh_prev if carry else np.zeros_like(dh_prev)
        grads = g if grads is None or not accumulate else {k: grads[k] + g[k] for k in g}
    return np.stack(dx), grads, dh_prev


def test_the_mutant_helpers_are_right_when_unmutated(capsys: pytest.CaptureFixture[str]) -> None:
    # every case runs and passes, so a mutation test below fails only for its mutation
    check_gru_step_forward(step)
    check_gru_step_backward(step, step_backward)
    check_gru_forward(forward)
    check_gru_backward(forward, backward)
    assert capsys.readouterr().out.splitlines() == [
        "✓ gru_step_forward: 6/6 checks passed",
        "✓ gru_step_backward: 5/5 checks passed",
        "✓ gru_forward: 4/4 checks passed",
        "✓ gru_backward: 4/4 checks passed",
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"reset": "before"},
            r"^r is applied before the recurrent matmul, \(r \* h_prev\) @ W_hn.T: that is Cho et al.'s "
            r"convention; torch's is n = tanh\(x W_in\^T \+ b_in \+ r \* \(h_prev W_hn\^T \+ b_hn\)\)\n",
        ),
        (
            {"swap_z": True},
            r"^z and 1 - z are swapped: torch's GRU keeps the old state with z, "
            r"h = \(1 - z\) \* n \+ z \* h_prev\n",
        ),
        (
            {"reset": "bias_outside"},
            r"^b_hn is outside the reset gate: r multiplies the whole recurrent part",
        ),
        ({"reset": "none"}, r"^the reset gate is missing: n = tanh"),
        (
            {"order": "zrn"},
            r"^the gates look swapped: your output matches the reference when r and z are exchanged "
            r"\(torch's rows: \[0:H\] r, \[H:2H\] z, \[2H:3H\] n\)\n",
        ),
        ({"order": "nzr"}, r"^the gates look swapped: .* when r and n are exchanged"),
        ({"order": "nrz"}, r"^the gates are in the wrong order"),
    ],
)
def test_step_forward_mistakes_are_named(kwargs: dict, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_gru_step_forward(lambda x, h, p: step(x, h, p, **kwargs))


def test_a_forward_that_forgets_bias_hh_is_named() -> None:
    """The shared parameter variants reach the GRU: bias_hh is a GRU bias too (torch has two)."""

    def no_bias_hh(x, h, p):
        return step(x, h, {**p, "bias_hh": np.zeros_like(p["bias_hh"])})

    with pytest.raises(
        AssertionError, match=r"^bias_hh is missing: torch's GRU adds both bias_ih and bias_hh"
    ):
        check_gru_step_forward(no_bias_hh)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"tanh_derivative": lambda n: 1 - n},
            r"^wrong tanh derivative for the candidate: with n = tanh\(a_n\), dn/da_n = 1 - n\*\*2 "
            r"\(you used 1 - n\)\n",
        ),
        ({"tanh_derivative": lambda n: n * (1 - n)}, r"^wrong derivative for the candidate: n \* \(1 - n\)"),
        (
            {"direct": False},
            r"^dh_prev misses the direct path: h = \(1 - z\) \* n \+ z \* h_prev, so dh_prev = dh \* z",
        ),
        ({"r_in_dhn": False}, r"^the recurrent candidate's gradient misses r: a_n = x_n \+ r \* h_n"),
        ({"bias_outside": True}, r"^b_hn's gradient is taken outside the reset gate"),
        ({"swap_z": True}, r"^z and 1 - z are swapped in the backward pass"),
    ],
)
def test_step_backward_mistakes_are_named(kwargs: dict, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_gru_step_backward(step, lambda dh, cache: step_backward(dh, cache, **kwargs))


def test_bptt_mistakes_are_named() -> None:
    with pytest.raises(
        AssertionError,
        match=r"^the gradient matches for the last time step but not earlier ones: is "
        r"dh from step t\+1 added",
    ):
        check_gru_backward(forward, lambda d, c, dh=None: backward(d, c, dh, carry=False))
    with pytest.raises(AssertionError, match="^the grads are those of the first time step only"):
        check_gru_backward(forward, lambda d, c, dh=None: backward(d, c, dh, accumulate=False))
    with pytest.raises(AssertionError, match="^dh_T is ignored"):
        check_gru_backward(forward, lambda d, c, dh=None: backward(d, c, None))


def test_forward_over_time_mistakes_are_named() -> None:
    with pytest.raises(AssertionError, match="^h0 is ignored"):
        check_gru_forward(lambda x, p, h0=None: forward(x, p, None))
    with pytest.raises(AssertionError, match="^gru_forward raised TypeError"):
        check_gru_forward(lambda x, p: forward(x, p))

    def last_state_first(x, p, h0=None):
        out, _, caches = forward(x, p, h0)
        return out, out[0], caches

    with pytest.raises(AssertionError, match="^h_T is the first step's state"):
        check_gru_forward(last_state_first)


def test_a_right_forward_on_a_wrong_step_names_the_step() -> None:
    """As in a notebook: gru_forward calls the gru_step_forward of its globals, which uses Cho's reset."""

    def wrong_step(x, h_prev, p):
        return step(x, h_prev, p, reset="before")

    notebook_forward = types.FunctionType(
        forward.__code__,
        {**globals(), "step": wrong_step, "gru_step_forward": wrong_step},
        "gru_forward",
        forward.__defaults__,
    )
    with pytest.raises(AssertionError) as info:
        check_gru_forward(notebook_forward)
    first, details = str(info.value).splitlines()[:2]
    assert first == "gru_step_forward is not right yet: make check_gru_step_forward pass first"
    assert details.startswith("check_gru_step_forward says: r is applied before the recurrent matmul")


def test_a_right_bptt_on_a_wrong_step_backward_names_the_step_backward() -> None:
    """As in a notebook: gru_backward calls the gru_step_backward of its globals, which drops dh * z."""

    def wrong_step_backward(dh, cache):
        return step_backward(dh, cache, direct=False)

    names = {
        "step_backward": wrong_step_backward,
        "gru_step_forward": step,
        "gru_step_backward": wrong_step_backward,
    }
    notebook_backward = types.FunctionType(
        backward.__code__, {**globals(), **names}, "gru_backward", backward.__defaults__
    )
    notebook_backward.__kwdefaults__ = backward.__kwdefaults__
    with pytest.raises(AssertionError) as info:
        check_gru_backward(forward, notebook_backward)
    first, details = str(info.value).splitlines()[:2]
    assert first == "gru_step_backward is not right yet: make check_gru_step_backward pass first"
    assert details.startswith("check_gru_step_backward says: dh_prev misses the direct path")


def test_a_wrong_tanh_derivative_inside_gru_backward_is_named() -> None:
    """gru_backward that does not call a gru_step_backward: the step's mistake is found in the loop."""

    def wrong_step_backward(dh, cache):
        return step_backward(dh, cache, tanh_derivative=lambda n: 1 - n)

    inline = types.FunctionType(
        backward.__code__, {**globals(), "step_backward": wrong_step_backward}, "gru_backward"
    )
    inline.__kwdefaults__ = backward.__kwdefaults__
    with pytest.raises(AssertionError, match=r"^wrong tanh derivative for the candidate"):
        check_gru_backward(forward, lambda d, c, dh=None: inline(d, c, dh))


def same(got: np.ndarray, expected: np.ndarray) -> bool:
    return got.shape == expected.shape and np.allclose(got, expected)


def test_every_step_backward_mistake_is_a_knob_the_gru_takes() -> None:
    """A variant that raises is skipped silently: a knob the backward lacks would hide its mistake."""
    rng = np.random.default_rng(0)
    B, D, H = 2, 5, 4
    x, h_prev, dh = rng.normal(size=(B, D)), rng.normal(size=(B, H)), rng.normal(size=(B, H))
    params = random_params("gru", D, H, rng)
    right = gru_checks._step_backward(dh, x, h_prev, params)
    e_dx, e_dh_prev, e_grads = ref.gru_step_backward(dh, ref.gru_step_forward(x, h_prev, params)[1])
    assert same(right["dx"], e_dx) and same(right["dh_prev"], e_dh_prev)
    assert all(same(right["grads"][k], e_grads[k]) for k in e_grads)
    mistakes = [
        *step_backward_mistakes(
            gru_checks.GRU.spec, gru_checks.TANH_SITES, "dx", gru_checks.STEP_BACKWARD_MISTAKES
        ),
        *step_backward_mistakes(gru_checks.GRU.spec, gru_checks.TANH_SITES, "grads"),
    ]
    for message, knobs in mistakes:
        if knobs == {"transposed": True}:
            continue  # a transposed (3H, D) weight cannot multiply da (B, 3H): no student gets that far
        wrong = gru_checks._step_backward(dh, x, h_prev, params, **knobs)
        differs = [key for key in ("dx", "dh_prev") if not same(wrong[key], right[key])]
        differs += [k for k in right["grads"] if not same(wrong["grads"][k], right["grads"][k])]
        assert differs, message
