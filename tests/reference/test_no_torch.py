"""lstm_course.reference is pure NumPy: importing it (and running it) never imports torch."""

from __future__ import annotations

import subprocess
import sys

import lstm_course.reference as ref


def test_reference_never_imports_torch():
    code = (
        "import sys, numpy as np, lstm_course.reference as r; "
        "p = r.init_params('lstm', 2, 3, np.random.default_rng(0)); "
        "out, _, c = r.lstm_forward(np.ones((2, 1, 2)), p); r.lstm_backward(out, c); "
        "out, _, c = r.lstm_forward_vectorised(np.ones((2, 1, 2)), p); r.lstm_backward_vectorised(out, c); "
        "print('torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False", result.stdout + result.stderr


def test_all_is_complete():
    public = {name for name in dir(ref) if not name.startswith("_")}
    modules = {"activations", "attention", "convert", "gradcheck", "gru", "init", "layers", "lstm"}
    modules |= {"cells", "lstm_vectorised", "multilayer", "optim", "rnn"}
    assert set(ref.__all__) == public - modules
    for name in ref.__all__:
        assert getattr(ref, name).__doc__, f"{name} has no docstring"
