"""Parameter initialisation as torch.nn does it: every weight and bias drawn from U(-1/sqrt(H), 1/sqrt(H))."""

from __future__ import annotations

import numpy as np

from ..cellspec import spec
from . import _validate as validate


def init_params(
    cell: str,
    input_size: int,
    hidden_size: int,
    rng: np.random.Generator,
    *,
    forget_bias: float | None = None,
    dtype: type = np.float64,
) -> dict[str, np.ndarray]:
    """Parameters of one cell in torch's layout, each entry drawn from U(-k, k) with k = 1/sqrt(H).

    Args:
        cell: "rnn" (G = 1), "lstm" (G = 4, gates i, f, g, o) or "gru" (G = 3, gates r, z, n).
        input_size: D. hidden_size: H.
        rng: the random generator.
        forget_bias: LSTM only: make the forget gate's total bias b_ih + b_hh equal to this
            (the bias_ih slice is set to it and the bias_hh slice to 0). None keeps the random draw.
        dtype: float dtype of the arrays.

    Returns:
        weight_ih (G*H, D), weight_hh (G*H, H), bias_ih (G*H,), bias_hh (G*H,).
    """
    cell_spec = spec(cell)
    D, H = validate.positive_int("input_size", input_size), validate.positive_int("hidden_size", hidden_size)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if np.dtype(dtype).kind != "f":
        raise TypeError(f"dtype must be a float dtype, got {np.dtype(dtype)}")
    k = 1.0 / np.sqrt(H)
    GH = cell_spec.num_gates * H
    shapes = {"weight_ih": (GH, D), "weight_hh": (GH, H), "bias_ih": (GH,), "bias_hh": (GH,)}
    params: dict[str, np.ndarray] = {
        name: rng.uniform(-k, k, size=shape).astype(dtype) for name, shape in shapes.items()
    }
    if forget_bias is not None:
        if "f" not in cell_spec.gates:
            raise ValueError(f"forget_bias applies to the LSTM only, got cell={cell!r}")
        forget = slice(cell_spec.gates.index("f") * H, (cell_spec.gates.index("f") + 1) * H)  # i, f, g, o
        params["bias_ih"][forget] = forget_bias
        params["bias_hh"][forget] = 0.0
    return params


def init_multilayer_params(
    cell: str,
    input_size: int,
    hidden_size: int,
    rng: np.random.Generator,
    *,
    num_layers: int = 1,
    bidirectional: bool = False,
    forget_bias: float | None = None,
    dtype: type = np.float64,
) -> dict[str, np.ndarray]:
    """Parameters of a stacked (and optionally bidirectional) network, keyed as torch.nn.RNN/LSTM/GRU does.

    Keys are ``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}`` and, with
    ``bidirectional``, the same with the suffix ``_reverse``. Layer 0 has weight_ih (G*H, D); later layers
    take the previous layer's output, so weight_ih (G*H, H) or (G*H, 2H) when bidirectional.
    """
    num_layers = validate.positive_int("num_layers", num_layers)
    directions = 2 if bidirectional else 1
    params: dict[str, np.ndarray] = {}
    for layer in range(num_layers):
        layer_input = input_size if layer == 0 else directions * hidden_size
        for suffix in ("", "_reverse")[:directions]:
            one = init_params(cell, layer_input, hidden_size, rng, forget_bias=forget_bias, dtype=dtype)
            params.update({f"{name}_l{layer}{suffix}": value for name, value in one.items()})
    return params
