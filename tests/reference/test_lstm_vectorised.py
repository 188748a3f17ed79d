"""The vectorised, in-place LSTM (the benchmark's) equals the loop over the step functions (the book's)."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_course import reference as ref

SHAPES = [(1, 1, 1, 1), (1, 3, 2, 5), (4, 1, 3, 1), (3, 2, 3, 4), (5, 3, 1, 2)]  # (T, B, D, H)
RTOL, ATOL = 1e-12, 1e-13


def _close(ours, theirs, name):
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL, err_msg=name)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "T{}B{}D{}H{}".format(*s))
@pytest.mark.parametrize("given", [False, True], ids=["zero-states", "given-states"])
def test_vectorised_equals_the_loop(shape, given, rng):
    """Outputs, final states, dx, every gradient and (dh0, dc0), with h0/c0 and dh_T/dc_T given or None."""
    T, B, D, H = shape
    params = ref.init_params("lstm", D, H, rng)
    x = np.asfortranarray(rng.normal(size=(T, B, D)))[::-1]  # strided: reversed in time, Fortran order
    h0, c0 = (rng.normal(size=(B, H)), rng.normal(size=(B, H))) if given else (None, None)
    dout = rng.normal(size=(T, B, H))
    dh_T, dc_T = (rng.normal(size=(B, H)), rng.normal(size=(B, H))) if given else (None, None)

    out, (h_T, c_T), cache = ref.lstm_forward(x, params, h0, c0)
    fast_out, (fast_h_T, fast_c_T), fast_cache = ref.lstm_forward_vectorised(x, params, h0, c0)
    _close(fast_out, out, "out")
    _close(fast_h_T, h_T, "h_T")
    _close(fast_c_T, c_T, "c_T")

    dx, grads, (dh0, dc0) = ref.lstm_backward(dout, cache, dh_T, dc_T)
    fast_dx, fast_grads, (fast_dh0, fast_dc0) = ref.lstm_backward_vectorised(dout, fast_cache, dh_T, dc_T)
    _close(fast_dx, dx, "dx")
    _close(fast_dh0, dh0, "dh0")
    _close(fast_dc0, dc0, "dc0")
    assert set(fast_grads) == set(grads) == set(params)
    for key in params:
        _close(fast_grads[key], grads[key], key)


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (3, 1, 2, 1), (2, 3, 2, 4)], ids=["T1B1H1", "B1H1", "B3H4"])
def test_vectorised_backward_leaves_its_inputs_alone(shape, rng):
    """It works in place on copies: dout, dh_T and dc_T come back unchanged (B = 1 or H = 1 included,
    where a transpose is contiguous and would not copy)."""
    T, B, D, H = shape
    params = ref.init_params("lstm", D, H, rng)
    _, _, cache = ref.lstm_forward_vectorised(rng.normal(size=(T, B, D)), params)
    dout, dh_T, dc_T = rng.normal(size=(T, B, H)), rng.normal(size=(B, H)), rng.normal(size=(B, H))
    kept = [dout.copy(), dh_T.copy(), dc_T.copy()]
    ref.lstm_backward_vectorised(dout, cache, dh_T, dc_T)
    for before, after in zip(kept, [dout, dh_T, dc_T], strict=True):
        np.testing.assert_array_equal(before, after)


def test_vectorised_keeps_float32(rng):
    params = ref.init_params("lstm", 3, 4, rng, dtype=np.float32)
    x = rng.normal(size=(5, 2, 3)).astype(np.float32)
    out, final, cache = ref.lstm_forward_vectorised(x, params)
    dx, grads, dinit = ref.lstm_backward_vectorised(np.ones_like(out), cache)
    loop_out = ref.lstm_forward(x, params)[0]
    assert all(a.dtype == np.float32 for a in [out, *final, dx, *grads.values(), *dinit])
    np.testing.assert_allclose(out, loop_out, rtol=1e-5, atol=1e-6)


def test_vectorised_validates_as_the_loop_does(rng):
    params = ref.init_params("lstm", 3, 4, rng)
    x = rng.normal(size=(5, 2, 3))
    with pytest.raises(ValueError, match=r"x must have shape \(T, B, D\) with D = 3"):
        ref.lstm_forward_vectorised(x[..., :-1], params)
    with pytest.raises(ValueError, match=r"c0 must have shape \(B, H\) with B = 2, H = 4"):
        ref.lstm_forward_vectorised(x, params, None, np.zeros((2, 5)))
    out, _, cache = ref.lstm_forward_vectorised(x, params)
    with pytest.raises(ValueError, match=r"dout must have shape \(T, B, H\) with T = 5, B = 2, H = 4"):
        ref.lstm_backward_vectorised(out[:-1], cache)
    with pytest.raises(ValueError, match=r"dc_T must have shape \(B, H\)"):
        ref.lstm_backward_vectorised(out, cache, None, np.zeros((2, 3)))
