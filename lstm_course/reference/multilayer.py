"""Stacked and bidirectional networks over any of the three cells, with torch.nn's shapes and parameter keys.

Letters: T time, B batch, D input, H hidden, L layers, K directions (1, or 2 when bidirectional).
Layer 0 reads x (T, B, D); layer l > 0 reads the previous layer's output (T, B, K*H). The reverse direction
runs the same cell over the sequence backwards and its outputs are flipped back: out[t] = [h_fwd_t, h_rev_t].
States are stacked as torch does: index l*K + k for layer l, direction k (0 forward, 1 reverse).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from . import _validate as v
from .convert import layer_params
from .gru import gru_backward, gru_forward
from .lstm import lstm_backward, lstm_forward
from .rnn import rnn_backward, rnn_forward

_FORWARD: dict[str, Callable[..., Any]] = {"rnn": rnn_forward, "gru": gru_forward}  # the LSTM has c too
_BACKWARD: dict[str, Callable[..., Any]] = {"rnn": rnn_backward, "gru": gru_backward}


class MultilayerCache(NamedTuple):
    """What :func:`multilayer_backward` needs."""

    cell: str  # "rnn", "lstm" or "gru"
    directions: int  # K
    sizes: tuple[int, int, int]  # (T, B, H)
    caches: list[list[Any]]  # caches[l][k]: the single-layer cache of layer l, direction k


def _expected_keys(num_layers: int, directions: int) -> set[str]:
    suffixes = [f"_l{layer}{rev}" for layer in range(num_layers) for rev in ("", "_reverse")[:directions]]
    return {name + s for name in v.PARAM_NAMES for s in suffixes}


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
    _, first = v.cell_params(layer_params(params, 0), gates, "params[..._l0]")
    H = first["H"]
    for layer in range(num_layers):
        for reverse in (False, True)[:directions]:
            name = f"params[..._l{layer}{'_reverse' if reverse else ''}]"
            _, s = v.cell_params(layer_params(params, layer, reverse), gates, name)
            D = first["D"] if layer == 0 else directions * H  # layers above 0 read the K*H-wide output
            if (s["H"], s["D"]) != (H, D):
                raise ValueError(
                    f"{name}: weight_ih must have shape ({gates}H, {D}) and weight_hh ({gates}H, H) "
                    f"with H = {H}, got H = {s['H']}, input size {s['D']}"
                )
    return H


def _initial(name: str, value: Any, shape: tuple[int, int, int]) -> Any:
    if value is None:
        return [None] * shape[0]
    array = v.as_array(name, value)
    v.check_shape(name, array, ("L*K", "B", "H"), dict(zip(("L*K", "B", "H"), shape, strict=True)))
    return array


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
        out: (T, B, K*H) the last layer's outputs (it may share memory with the cache and be read-only, as
        :func:`lstm_forward`'s is: copy it before editing); h_n: (L*K, B, H) the final states, for the LSTM
        (h_n, c_n); and the cache for :func:`multilayer_backward`.
    """
    gates = v.check_cell(cell)
    num_layers = v.positive_int("num_layers", num_layers)
    if c0 is not None and cell != "lstm":
        raise ValueError(f"c0 is for the LSTM only, got cell={cell!r}")
    K = 2 if bidirectional else 1
    H = _check_params(params, gates, num_layers, K)
    x = v.sequence("x", x, {})
    hs = _initial("h0", h0, (num_layers * K, x.shape[1], H))
    cs = _initial("c0", c0, (num_layers * K, x.shape[1], H))
    layer_in, caches, h_n, c_n = x, [], [], []
    for layer in range(num_layers):
        outs, layer_caches = [], []
        for k in range(K):
            p, index = layer_params(params, layer, reverse=k == 1), layer * K + k
            seq = layer_in if k == 0 else layer_in[::-1]  # the reverse direction reads x_T .. x_1
            if cell == "lstm":
                out, (h, c), cache = lstm_forward(seq, p, hs[index], cs[index])
                c_n.append(c)
            else:
                out, h, cache = _FORWARD[cell](seq, p, hs[index])
            outs.append(out if k == 0 else out[::-1])  # flip back: out[t] belongs to x_t
            h_n.append(h)
            layer_caches.append(cache)
        caches.append(layer_caches)
        layer_in = outs[0] if K == 1 else np.concatenate(outs, axis=2)  # (T, B, K*H)
    state: Any = np.stack(h_n) if cell != "lstm" else (np.stack(h_n), np.stack(c_n))
    return layer_in, state, MultilayerCache(cell, K, (x.shape[0], x.shape[1], H), caches)


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
    cell, K, (T, B, H), caches = cache
    L = len(caches)
    if dc_n is not None and cell != "lstm":
        raise ValueError(f"dc_n is for the LSTM only, got cell={cell!r}")
    dout = v.as_array("dout", dout)
    v.check_shape("dout", dout, ("T", "B", "K*H"), {"T": T, "B": B, "K*H": K * H})
    dhs, dcs = _initial("dh_n", dh_n, (L * K, B, H)), _initial("dc_n", dc_n, (L * K, B, H))
    grads: dict[str, np.ndarray] = {}
    dh0: list[Any] = [None] * (L * K)  # filled per layer and direction
    dc0: list[Any] = [None] * (L * K)
    for layer in reversed(range(L)):
        dlayer_in: Any = None
        for k in range(K):
            index, suffix = layer * K + k, f"_l{layer}" + ("_reverse" if k == 1 else "")
            d = dout[:, :, k * H : (k + 1) * H]  # this direction's share of the output
            if k == 1:
                d = d[::-1]  # the reverse direction saw time backwards
            if cell == "lstm":
                dx, g, (dh0[index], dc0[index]) = lstm_backward(d, caches[layer][k], dhs[index], dcs[index])
            else:
                dx, g, dh0[index] = _BACKWARD[cell](d, caches[layer][k], dhs[index])
            dx = dx if k == 0 else dx[::-1]
            dlayer_in = dx if dlayer_in is None else dlayer_in + dx  # both directions read the same input
            grads.update({name + suffix: value for name, value in g.items()})
        dout = dlayer_in  # the gradient of this layer's input is the gradient of the layer below's output
    dstate: Any = np.stack(dh0) if cell != "lstm" else (np.stack(dh0), np.stack(dc0))
    return np.ascontiguousarray(dout), grads, dstate
