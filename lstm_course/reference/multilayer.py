"""Stacked and bidirectional networks over any of the three cells, with torch.nn's shapes and parameter keys.

Letters: T time, B batch, D input, H hidden, L layers, K directions (1, or 2 when bidirectional).
Layer 0 reads x (T, B, D); layer l > 0 reads the previous layer's output (T, B, K*H). The reverse direction
runs the same cell over the sequence backwards and its outputs are flipped back: out[t] = [h_fwd_t, h_rev_t].
States are stacked as torch does: index l*K + k for layer l, direction k (0 forward, 1 reverse).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..cellspec import SPECS
from . import _validate as validate
from . import cells
from .convert import layer_params


class MultilayerCache(NamedTuple):
    """What :func:`multilayer_backward` needs."""

    cell: str  # "rnn", "lstm" or "gru"
    directions: int  # K
    sizes: tuple[int, int, int]  # (T, B, H)
    caches: list[list[Any]]  # caches[l][k]: the single-layer cache of layer l, direction k


def _expected_keys(num_layers: int, directions: int) -> set[str]:
    suffixes = [f"_l{layer}{rev}" for layer in range(num_layers) for rev in ("", "_reverse")[:directions]]
    return {name + suffix for name in validate.PARAM_NAMES for suffix in suffixes}


def _check_params(params: Any, gates: int, num_layers: int, directions: int) -> int:
    """Check keys and shapes of a flat dict; return H."""
    if not isinstance(params, dict):
        raise TypeError(
            f"params must be a dict with torch's keys (weight_ih_l0, ...), got {type(params).__name__}"
        )
    expected = _expected_keys(num_layers, directions)
    extra = sorted(set(params) - expected)
    if extra:
        raise ValueError(
            f"params has keys {extra} that num_layers={num_layers}, "
            f"bidirectional={directions == 2} do not use"
        )
    missing = sorted(expected - set(params))
    if missing:
        raise KeyError(
            f"params is missing {', '.join(map(repr, missing))} for num_layers={num_layers}, "
            f"bidirectional={directions == 2}"
        )
    _, first = validate.cell_params(layer_params(params, 0), gates, "params[..._l0]")
    H = first["H"]
    for layer in range(num_layers):
        for reverse in (False, True)[:directions]:
            name = f"params[..._l{layer}{'_reverse' if reverse else ''}]"
            _, sizes = validate.cell_params(layer_params(params, layer, reverse), gates, name)
            D = first["D"] if layer == 0 else directions * H  # layers above 0 read the K*H-wide output
            if (sizes["H"], sizes["D"]) != (H, D):
                raise ValueError(
                    f"{name}: weight_ih must have shape ({gates}H, {D}) and weight_hh ({gates}H, H) "
                    f"with H = {H}, got H = {sizes['H']}, input size {sizes['D']}"
                )
    return H


def _initial(name: str, value: Any, shape: tuple[int, int, int]) -> Any:
    if value is None:
        return [None] * shape[0]
    array = validate.as_array(name, value)
    validate.check_shape(name, array, ("L*K", "B", "H"), dict(zip(("L*K", "B", "H"), shape, strict=True)))
    return array


def _refuse_foreign_states(cell: str, given: dict[str, Any], label: str) -> None:
    """ValueError when a state the cell does not carry is given (c0 for a GRU), spelt as ``label``."""
    for state, value in given.items():
        if value is not None and state not in SPECS[cell].states:
            owners = "/".join(name.upper() for name, spec in SPECS.items() if state in spec.states)
            raise ValueError(f"{label.format(state)} is for the {owners} only, got cell={cell!r}")


def _torch_states(stacked: tuple[np.ndarray, ...]) -> Any:
    """As torch returns states: one bare (h_n), several as a tuple ((h_n, c_n))."""
    return stacked if len(stacked) > 1 else stacked[0]


def multilayer_forward(
    cell: str,
    x: np.ndarray,
    params: dict,
    *,
    num_layers: int,
    bidirectional: bool,
    h0: np.ndarray | None = None,
    c0: np.ndarray | None = None,
) -> tuple[np.ndarray, Any, MultilayerCache]:
    """Run an L-layer, K-direction network as torch.nn.RNN/LSTM/GRU (time-major, no dropout).

    Args:
        cell: "rnn", "lstm" or "gru".
        x: (T, B, D) the inputs.
        params: flat dict with keys weight_ih_l{l}[_reverse], ...: weight_ih (G*H, D) for l = 0,
            (G*H, K*H) for l > 0.
        num_layers: L. bidirectional: K = 2 if True.
        h0: (L*K, B, H) initial hidden states (None: zeros). c0: the same for the LSTM's cells.

    Returns:
        out: (T, B, K*H) the last layer's outputs; h_n: (L*K, B, H) the final states, for the LSTM
        (h_n, c_n); and the cache for :func:`multilayer_backward`. The cache shares no memory with them.
    """
    spec = cells.lookup(cell).spec
    num_layers = validate.positive_int("num_layers", num_layers)
    given = {"h": h0, "c": c0}
    _refuse_foreign_states(cell, given, "{}0")
    K = 2 if bidirectional else 1
    H = _check_params(params, spec.num_gates, num_layers, K)
    x = validate.sequence("x", x, {})
    shape = (num_layers * K, x.shape[1], H)  # (L*K, B, H)
    states = spec.states  # ("h",) or ("h", "c")
    initial = {state: _initial(f"{state}0", given[state], shape) for state in states}
    # state -> its final (B, H) of each layer and direction, in h_n's order
    final: dict[str, list[np.ndarray]] = {state: [] for state in states}
    layer_in, caches = x, []
    for layer in range(num_layers):
        outs, layer_caches = [], []
        for k in range(K):
            p, index = layer_params(params, layer, reverse=k == 1), layer * K + k
            seq = layer_in if k == 0 else layer_in[::-1]  # the reverse direction reads x_T .. x_1
            start = tuple(initial[state][index] for state in states)
            out, ends, cache = cells.sequence_forward(cell, seq, p, start)
            outs.append(out if k == 0 else out[::-1])  # flip back: out[t] belongs to x_t
            for state, end in zip(states, ends, strict=True):
                final[state].append(end)
            layer_caches.append(cache)
        caches.append(layer_caches)
        layer_in = outs[0] if K == 1 else np.concatenate(outs, axis=2)  # (T, B, K*H)
    stacked = tuple(np.stack(final[state]) for state in states)
    return layer_in, _torch_states(stacked), MultilayerCache(cell, K, (x.shape[0], x.shape[1], H), caches)


def multilayer_backward(
    dout: np.ndarray, cache: MultilayerCache, dh_n: np.ndarray | None = None, dc_n: np.ndarray | None = None
) -> tuple[np.ndarray, dict, Any]:
    """Backpropagation through time and through the layers, for :func:`multilayer_forward`.

    Args:
        dout: (T, B, K*H) dL/d out.
        cache: from :func:`multilayer_forward`.
        dh_n: (L*K, B, H) extra gradients flowing into the final hidden states (None: zero).
        dc_n: the same for the LSTM's final cells.

    Returns:
        dx: (T, B, D); grads: a flat dict with params' keys; dh0: (L*K, B, H), for the LSTM (dh0, dc0).
    """
    validate.check_cache(cache, MultilayerCache, "multilayer_forward")
    cell, K, (T, B, H), caches = cache
    states, L = SPECS[cell].states, len(caches)
    given = {"h": dh_n, "c": dc_n}
    _refuse_foreign_states(cell, given, "d{}_n")
    dout = validate.as_array("dout", dout)
    validate.check_shape("dout", dout, ("T", "B", "K*H"), {"T": T, "B": B, "K*H": K * H})
    dfinal = {state: _initial(f"d{state}_n", given[state], (L * K, B, H)) for state in states}
    grads: dict[str, np.ndarray] = {}
    dinitial: dict[str, list[Any]] = {state: [None] * (L * K) for state in states}  # filled as the loop goes
    for layer in reversed(range(L)):
        dlayer_in: Any = None
        for k in range(K):
            index, suffix = layer * K + k, f"_l{layer}" + ("_reverse" if k == 1 else "")
            dout_k = dout[:, :, k * H : (k + 1) * H]  # this direction's share of the output
            if k == 1:
                dout_k = dout_k[::-1]  # the reverse direction saw time backwards
            dend = tuple(dfinal[state][index] for state in states)
            dx, layer_grads, dstart = cells.sequence_backward(cell, dout_k, caches[layer][k], dend)
            for state, value in zip(states, dstart, strict=True):
                dinitial[state][index] = value
            dx = dx if k == 0 else dx[::-1]
            dlayer_in = dx if dlayer_in is None else dlayer_in + dx  # both directions read the same input
            grads.update({name + suffix: value for name, value in layer_grads.items()})
        dout = dlayer_in  # the gradient of this layer's input is the gradient of the layer below's output
    stacked = tuple(np.stack(dinitial[state]) for state in states)
    return np.ascontiguousarray(dout), grads, _torch_states(stacked)
