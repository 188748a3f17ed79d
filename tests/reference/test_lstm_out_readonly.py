"""lstm_forward's output shares memory with its cache, so it is read-only: an edit fails loudly."""

import numpy as np
import pytest

from lstm_course.reference import init_params, lstm_backward, lstm_forward


def test_output_is_read_only_and_final_state_is_a_copy(rng):
    params = init_params("lstm", 3, 4, rng)
    x = rng.standard_normal((5, 2, 3))
    out, (h_T, c_T), cache = lstm_forward(x, params)
    with pytest.raises(ValueError, match="read-only"):
        out[0] += 1.0
    h_T += 1.0  # the final states belong to the caller
    c_T += 1.0
    dx_before = lstm_backward(np.ones_like(out), cache)[0]
    out2, _, cache2 = lstm_forward(x, params)
    np.testing.assert_array_equal(dx_before, lstm_backward(np.ones_like(out2), cache2)[0])
