"""on_arrays: a torch function called with NumPy arrays returns arrays, and nothing records gradients."""

import numpy as np
import pytest
import torch

from lstm_course.nn.arrays import on_arrays


def test_arrays_in_arrays_out():
    def step(params, x, scale):
        assert isinstance(params["w"], torch.Tensor) and isinstance(x, torch.Tensor)
        return params["w"] @ x * scale, x.sum()

    w, x = np.arange(6.0).reshape(2, 3), np.ones(3)
    y, total = on_arrays(step)({"w": w}, x, 2.0)
    assert isinstance(y, np.ndarray) and isinstance(total, np.ndarray)
    np.testing.assert_allclose(y, w @ x * 2.0)
    assert total == 3.0
    assert on_arrays(step).__wrapped__ is step  # the grader looks through it to the student's function


def test_no_graph_is_recorded():
    seen = []
    on_arrays(lambda x: seen.append(torch.is_grad_enabled()))(np.ones(2))
    assert seen == [False]
    with pytest.raises(TypeError, match="fn must be callable"):
        on_arrays(3)
