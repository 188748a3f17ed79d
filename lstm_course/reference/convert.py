"""Moving weights between torch.nn state dicts and the reference's parameter dicts (never imports torch).

A stacked or bidirectional network's parameters live in one flat dict with torch's keys:
``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``, and for the backward direction
the same with ``_reverse``. One cell's dict (what the step and sequence functions take) has no suffix.

Every conversion checks the whole dict as nanoGPT's ``from_pretrained`` does: the structure (cell, sizes,
layers, directions) is read from ``weight_ih_l0`` and ``weight_hh_l0``, and then every key that structure
has must be present (KeyError naming it), no other key may be (ValueError naming it), and every shape must be
the expected one (ValueError naming the key and both shapes). This is the one conversion module: torch code
passes tensors in (they are detached and copied) and turns the arrays it gets back into tensors itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from lstm_course import cellspec

from . import _validate

_KEY = re.compile(r"^(weight_ih|weight_hh|bias_ih|bias_hh)_l(\d+)(_reverse)?$")


def _to_numpy(name: str, value: Any) -> np.ndarray:
    """A copy of ``value`` as an ndarray; a torch tensor is recognised by its methods (no torch import).

    A bfloat16 tensor, which NumPy has no dtype for, becomes float32 (exactly: every bfloat16 is a float32).
    Conversions move weights and compute nothing, so NaN and inf are copied as they are.
    """
    if hasattr(value, "detach"):
        value = value.detach()
    if str(getattr(value, "dtype", "")) == "torch.bfloat16" and hasattr(value, "float"):
        value = value.float()
    if hasattr(value, "cpu"):
        value = value.cpu()
    if hasattr(value, "numpy"):
        try:
            value = value.numpy()
        except (TypeError, RuntimeError) as error:  # a dtype NumPy lacks, such as torch.complex32
            raise TypeError(f"{name} cannot become a NumPy array: {error}") from None
    return np.array(_validate.as_array(name, value, finite=False), copy=True)


def _check_key_type(key: object, owner: str) -> None:
    """TypeError naming ``owner`` unless the key is a str (torch's state dicts key by name)."""
    if not isinstance(key, str):
        raise TypeError(f"{owner} keys must be str such as 'weight_ih_l0', got {type(key).__name__} {key!r}")


def _check_key(key: str) -> None:
    if key.startswith("weight_hr"):
        raise ValueError(f"{key!r}: LSTMs with proj_size > 0 are not supported by the reference")
    if not _KEY.match(key):
        raise ValueError(
            f"unexpected key {key!r}: expected weight_ih/weight_hh/bias_ih/bias_hh with a layer suffix "
            "such as _l0 or _l1_reverse (pass prefix= to pick one module out of a model's state dict; "
            "bias=False modules are not supported)"
        )


def expected_shapes(
    cell: str, input_size: int, hidden_size: int, num_layers: int = 1, bidirectional: bool = False
) -> dict[str, tuple[int, ...]]:
    """Every key of a torch.nn.RNN/LSTM/GRU state dict (bias=True) and its shape, in torch's order.

    weight_ih_l{k} (G*H, D_k) with D_0 = D and D_k = K*H above, weight_hh_l{k} (G*H, H), bias_ih_l{k} and
    bias_hh_l{k} (G*H,); K = 2 directions adds the same keys with ``_reverse``.
    """
    G, H = cellspec.spec(cell).num_gates, hidden_size
    K = 2 if bidirectional else 1
    shapes: dict[str, tuple[int, ...]] = {}
    for layer in range(num_layers):
        layer_input = input_size if layer == 0 else K * H
        for suffix in (f"_l{layer}", f"_l{layer}_reverse")[:K]:
            shapes[f"weight_ih{suffix}"] = (G * H, layer_input)
            shapes[f"weight_hh{suffix}"] = (G * H, H)
            shapes[f"bias_ih{suffix}"] = (G * H,)
            shapes[f"bias_hh{suffix}"] = (G * H,)
    return shapes


def check_params(
    params: Mapping[str, Any], expected: Mapping[str, tuple[int, ...]], owner: str = "params"
) -> None:
    """Every expected key present (KeyError), no other key (ValueError), each shape equal (ValueError)."""
    for key, shape in expected.items():
        if key not in params:
            hint = " (bias=False modules are not supported)" if key.startswith("bias") else ""
            raise KeyError(f"{owner} is missing {key!r}, expected shape {shape}{hint}")
    for key in params:
        if key not in expected:
            raise ValueError(
                f"unexpected key {key!r} in {owner} (shape {tuple(np.shape(params[key]))}): the other keys "
                f"describe {len(expected)} parameters, {', '.join(expected)}"
            )
    for key, shape in expected.items():
        got = tuple(np.shape(params[key]))
        if got != shape:
            raise ValueError(f"{owner}[{key!r}] has shape {got}, expected {shape}")


def _cell_of(num_gates: int, owner: str) -> str:
    """The one registered cell with ``num_gates`` gates (weight_hh is (G*H, H))."""
    cells = [spec.name for spec in cellspec.SPECS.values() if spec.num_gates == num_gates]
    if len(cells) != 1:
        raise ValueError(
            f"{owner}: weight_hh_l0 has {num_gates} gate blocks of H rows; the cells with that many are "
            f"{cells} (pass cell= to name one)"
        )
    return cells[0]


def expected_from_params(
    params: Mapping[str, Any], owner: str = "params", cell: str | None = None
) -> dict[str, tuple[int, ...]]:
    """The keys and shapes that ``params``'s own structure implies, read from weight_ih_l0 and weight_hh_l0.

    H from weight_hh_l0 (G*H, H), the gate count G (hence the cell, unless ``cell`` is given) from its rows,
    D from weight_ih_l0 (G*H, D), the layers from the largest ``_l{k}``, the directions from any ``_reverse``.
    """
    for key in ("weight_ih_l0", "weight_hh_l0"):
        if key not in params:
            raise KeyError(f"{owner} is missing {key!r}: the structure of the network is read from it")
    w_ih, w_hh = np.shape(params["weight_ih_l0"]), np.shape(params["weight_hh_l0"])
    if len(w_hh) != 2 or w_hh[1] < 1 or w_hh[0] % w_hh[1] != 0:
        raise ValueError(f"{owner}['weight_hh_l0'] must have shape (G*H, H), got {w_hh}")
    if len(w_ih) != 2:
        raise ValueError(f"{owner}['weight_ih_l0'] must have shape (G*H, D), got {w_ih}")
    H = w_hh[1]
    if cell is None:
        cell = _cell_of(w_hh[0] // H, owner)
    layers = 1 + max(int(match.group(2)) for match in map(_KEY.match, params) if match)
    bidirectional = any(key.endswith("_reverse") for key in params)
    return expected_shapes(cell, w_ih[1], H, layers, bidirectional)


def params_from_state_dict(
    state_dict: Mapping[str, Any], prefix: str = "", cell: str | None = None
) -> dict[str, np.ndarray]:
    """NumPy copies of a torch.nn.RNN/LSTM/GRU state dict, keys unchanged (``weight_ih_l0`` ...), checked.

    Args:
        state_dict: maps torch's keys to tensors (or arrays); tensors are detached and copied to the CPU.
        prefix: keep only the keys starting with it and drop it, e.g. ``"lstm."`` for a model's submodule.
        cell: "rnn", "lstm" or "gru" to insist on; None reads it from the gate count of weight_hh_l0.

    Returns:
        A flat dict: weight_ih_l{k} (G*H, D_k), weight_hh_l{k} (G*H, H), bias_ih_l{k} (G*H,),
        bias_hh_l{k} (G*H,), every key and shape checked against the structure (see the module docstring).
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict must be a mapping of names to tensors, got {type(state_dict).__name__}")
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a str, got {type(prefix).__name__} {prefix!r}")
    params = {}
    for key, value in state_dict.items():
        _check_key_type(key, "state_dict")
        if not key.startswith(prefix):
            continue
        name = key[len(prefix) :]
        _check_key(name)
        params[name] = _to_numpy(f"state_dict[{key!r}]", value)
    if not params:
        raise ValueError(f"state_dict has no keys starting with prefix {prefix!r}")
    check_params(params, expected_from_params(params, "state_dict", cell), "state_dict")
    return params


def layer_params(params: Mapping[str, Any], layer: int, reverse: bool = False) -> dict[str, np.ndarray]:
    """One cell's parameters from a flat dict: the keys of ``layer`` (and direction), suffix dropped."""
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    out = {}
    for name in _validate.PARAM_NAMES:
        if name + suffix not in params:
            raise KeyError(f"params is missing {name + suffix!r} (layer {layer}, reverse={reverse})")
        out[name] = params[name + suffix]
    return out


def state_dict_from_params(params: Mapping[str, Any], cell: str | None = None) -> dict[str, np.ndarray]:
    """The flat dict with torch's keys as NumPy arrays; make them tensors for ``module.load_state_dict``.

    Accepts one cell's dict (weight_ih, ...; becomes layer 0: weight_ih_l0, ...) or an already flat dict
    (weight_ih_l0, ..., weight_hh_l1_reverse). Every key and shape is checked as in
    ``params_from_state_dict``; the arrays are copies.
    """
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict of arrays, got {type(params).__name__}")
    for key in params:
        _check_key_type(key, "params")
    single = [key for key in params if key in _validate.PARAM_NAMES]
    if single:  # one cell's dict: exactly its four keys, as the step and sequence functions insist
        extra = [key for key in params if key not in _validate.PARAM_NAMES]
        if extra:
            raise ValueError(
                f"params looks like one cell's dict ({', '.join(single)}) but also has {extra!r}; a cell's "
                f"dict has exactly {_validate.PARAM_NAMES}"
            )
        missing = [key for key in _validate.PARAM_NAMES if key not in params]
        if missing:
            raise KeyError(f"params looks like one cell's dict but is missing {missing!r}")
        out = {f"{name}_l0": _to_numpy(f"params[{name!r}]", value) for name, value in params.items()}
    else:
        out = {}
        for key, value in params.items():
            _check_key(key)
            out[key] = _to_numpy(f"params[{key!r}]", value)
    check_params(out, expected_from_params(out, "params", cell), "params")
    return out
