"""Moving weights between torch.nn state dicts and the reference's parameter dicts (never imports torch).

A stacked or bidirectional network's parameters live in one flat dict with torch's keys:
``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``, and for the backward direction
the same with ``_reverse``. One cell's dict (what the step and sequence functions take) has no suffix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from . import _validate as v

_KEY = re.compile(r"^(weight_ih|weight_hh|bias_ih|bias_hh)_l(\d+)(_reverse)?$")


def _to_numpy(name: str, value: Any) -> np.ndarray:
    """A copy of ``value`` as an ndarray; a torch tensor is recognised by its methods (no torch import)."""
    if hasattr(value, "detach"):
        value = value.detach()
    if hasattr(value, "cpu"):
        value = value.cpu()
    if hasattr(value, "numpy"):
        value = value.numpy()
    return np.array(v.as_array(name, value), copy=True)


def _check_key(key: str) -> None:
    if key.startswith("weight_hr"):
        raise ValueError(f"{key!r}: LSTMs with proj_size > 0 are not supported by the reference")
    if not _KEY.match(key):
        raise ValueError(
            f"unexpected key {key!r}: expected weight_ih/weight_hh/bias_ih/bias_hh with a layer suffix "
            "such as _l0 or _l1_reverse (pass prefix= to pick one module out of a model's state dict; "
            "bias=False modules are not supported)"
        )


def params_from_state_dict(state_dict: Mapping[str, Any], prefix: str = "") -> dict[str, np.ndarray]:
    """NumPy copies of a torch.nn.RNN/LSTM/GRU state dict, keys unchanged (``weight_ih_l0`` ...).

    Args:
        state_dict: maps torch's keys to tensors (or arrays); tensors are detached and copied to the CPU.
        prefix: keep only the keys starting with it and drop it, e.g. ``"lstm."`` for a model's submodule.

    Returns:
        A flat dict: weight_ih_l{k} (G*H, D_k), weight_hh_l{k} (G*H, H), bias_ih_l{k} (G*H,),
        bias_hh_l{k} (G*H,).
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict must be a mapping of names to tensors, got {type(state_dict).__name__}")
    params = {}
    for key, value in state_dict.items():
        if not key.startswith(prefix):
            continue
        name = key[len(prefix) :]
        _check_key(name)
        params[name] = _to_numpy(f"state_dict[{key!r}]", value)
    if not params:
        raise ValueError(f"state_dict has no keys starting with prefix {prefix!r}")
    return params


def layer_params(params: Mapping[str, Any], layer: int, reverse: bool = False) -> dict[str, np.ndarray]:
    """One cell's parameters from a flat dict: the keys of ``layer`` (and direction), suffix dropped."""
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    out = {}
    for name in v.PARAM_NAMES:
        if name + suffix not in params:
            raise KeyError(f"params is missing {name + suffix!r} (layer {layer}, reverse={reverse})")
        out[name] = params[name + suffix]
    return out


def state_dict_from_params(params: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The flat dict with torch's keys as NumPy arrays; make them tensors for ``module.load_state_dict``.

    Accepts one cell's dict (weight_ih, ...; becomes layer 0: weight_ih_l0, ...) or an already flat dict
    (weight_ih_l0, ..., weight_hh_l1_reverse), whose keys are checked. The arrays are copies.
    """
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict of arrays, got {type(params).__name__}")
    if set(params) == set(v.PARAM_NAMES):
        return {f"{name}_l0": _to_numpy(f"params[{name!r}]", value) for name, value in params.items()}
    out = {}
    for key, value in params.items():
        _check_key(key)
        out[key] = _to_numpy(f"params[{key!r}]", value)
    return out
