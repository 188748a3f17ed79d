"""Recurrent cells in the familiar cell-diagram form: the LSTM (plain, or with a trained model's values
written on it) and the GRU, drawn from the vocabulary with the chapters' symbols."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.axes import Axes

from lstm_course.plot.diagrams.vocabulary import (
    CELL_PATH_COLOUR,
    ROLES,
    box,
    canvas,
    junction,
    label,
    layer,
    node,
    path,
)

#: The values an annotated LSTM cell shows, and their symbols: the step's inputs, gates, and new states.
LSTM_SYMBOLS = {
    "x": "$x_t$",
    "h_prev": "$h_{t-1}$",
    "c_prev": "$c_{t-1}$",
    "i": "$i_t$",
    "f": "$f_t$",
    "g": "$g_t$",
    "o": "$o_t$",
    "c": "$c_t$",
    "h": "$h_t$",
}
#: What the cell computes from them on its way (shown beside the ⊙ and tanh nodes).
LSTM_PRODUCTS = {"f_c_prev": r"$f_t \odot c_{t-1}$", "i_g": r"$i_t \odot g_t$", "tanh_c": r"$\tanh(c_t)$"}
#: Colour of the numbers written on an annotated cell.
VALUE_COLOUR = ROLES["attention"][1]


def format_value(value: Any) -> str:
    """A value as the diagram writes it: a word in quotes, a number to 2 decimals, a few in brackets."""
    if isinstance(value, str):
        return f"'{value}'"
    array = np.asarray(value, dtype=np.float64).ravel()
    if array.size == 1:
        return f"{array[0]:.2f}"
    return "[" + ", ".join(f"{v:.2f}" for v in array) + "]"


def lstm_step_values(step: Any, units: Any = 0, row: int = 0) -> dict[str, np.ndarray]:
    """The values :func:`plot_lstm_cell` writes, from one step cache of the reference's ``lstm_step_forward``.

    Args:
        step: an ``LSTMStepCache`` (fields x, h_prev, c_prev, i, f, g, o, tanh_c; each (B, H), x (B, D)).
        units: the hidden unit(s) to show: an int or a few indices.
        row: the batch row.
    Returns: {"h_prev", "c_prev", "i", "f", "g", "o", "c", "h": (len(units),)}; x is left out (it has D
    entries, not H: pass it yourself, e.g. as the word it encodes).
    """
    pick = np.atleast_1d(units)
    names = ("h_prev", "c_prev", "i", "f", "g", "o")
    values = {name: np.asarray(getattr(step, name))[row, pick] for name in names}
    # c = f * c_prev + i * g, h = o * tanh(c)
    values["c"] = values["f"] * values["c_prev"] + values["i"] * values["g"]
    values["h"] = values["o"] * np.asarray(step.tanh_c)[row, pick]
    return values


def _products(values: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """f ⊙ c_prev, i ⊙ g and tanh(c) from the given values, where they are all given."""

    def get(name: str) -> np.ndarray | None:
        return None if name not in values else np.asarray(values[name], dtype=np.float64)

    products = {}
    f, c_prev, i, g, c = (get(n) for n in ("f", "c_prev", "i", "g", "c"))
    if f is not None and c_prev is not None:
        products["f_c_prev"] = f * c_prev
    if i is not None and g is not None:
        products["i_g"] = i * g
    if c is not None:
        products["tanh_c"] = np.tanh(c)
    return products


def _check_values(values: Mapping[str, Any]) -> int:
    """The number of units shown (1 to 3); ValueError naming an unknown key or a value of another size."""
    unknown = sorted(set(values) - set(LSTM_SYMBOLS))
    if unknown:
        raise ValueError(f"values has unknown keys {unknown}; use {list(LSTM_SYMBOLS)}")
    sizes = {k: np.asarray(v).size for k, v in values.items() if not isinstance(v, str)}
    if len(set(sizes.values())) > 1 or any(size > 3 for size in sizes.values()):
        raise ValueError(f"values must all hold the same 1 to 3 units, got sizes {sizes}")
    return max(sizes.values(), default=1)


def plot_lstm_cell(
    ax: Axes | None = None, *, values: Mapping[str, Any] | None = None, title: str = ""
) -> Axes:
    """The LSTM cell: the cell path (c, the "conveyor belt") on top, the four gate layers below it.

    Args:
        ax: the Axes to draw on; a new figure when None.
        values: to annotate the cell with one step of a model: {name: value} for names in LSTM_SYMBOLS (x may
            be a word), each one unit's number or the same few (up to 3) units' numbers, e.g. from
            :func:`lstm_step_values`. f ⊙ c_{t-1}, i ⊙ g and tanh(c_t) are computed from them and shown too.
        title: a line above the cell.
    """
    values = dict(values or {})
    units = _check_values(values)
    # Wider numbers need more room: stretch the cell sideways for more units.
    stretch = 1.0 if not values else 1.3 + 0.45 * (units - 1)

    def at(x: float, y: float) -> tuple[float, float]:
        return (x * stretch, y)

    top_y, bottom_y, layer_y = 5.6, 0.9, 2.4
    ax = canvas(ax, (-2.2 * stretch, 12.9 * stretch), (-1.9, 8.0 if title else 7.6))
    if title:
        label(ax, (5.4 * stretch, 7.7), title)
    box(ax, at(5.3, 3.3), role="cell", width=11.0 * stretch, height=6.2, behind=True)

    # The cell path: c_{t-1} -> ⊙ f -> + i⊙g -> c_t, drawn apart (thick, in the state colour).
    forget = node(ax, at(2.5, top_y), "mul")
    add = node(ax, at(6.0, top_y), "add")
    read = junction(ax, at(8.8, top_y), colour=CELL_PATH_COLOUR)
    path(ax, [at(-1.9, top_y), forget.left], style="cell")
    path(ax, [forget.right, add.left], style="cell")
    path(ax, [add.right, at(12.5, top_y)], style="cell")
    label(ax, at(4.25, 6.15), 'the cell path ("conveyor belt")', colour=CELL_PATH_COLOUR)

    # The gate layers read [h_{t-1}, x_t] from the bottom line.
    merge = junction(ax, at(1.3, bottom_y))
    path(ax, [at(-1.9, bottom_y), merge.centre], head=False)
    path(ax, [at(1.3, -1.0), merge.centre], head=False)
    names = {
        "f": (2.5, "sigma", "forget"),
        "i": (4.3, "sigma", "input"),
        "g": (6.0, "tanh", "candidate"),
        "o": (7.4, "sigma", "output"),
    }
    layers = {}
    for gate, (x, kind, name) in names.items():
        layers[gate] = layer(ax, at(x, layer_y), kind)
        path(ax, [at(x, bottom_y), layers[gate].bottom])
        label(ax, at(x, 1.6), name, backgroundcolor=ROLES["cell"][0], fontstyle="italic")
    path(ax, [merge.centre, at(7.4, bottom_y)], head=False)

    # f -> ⊙ on the cell path; i and g -> ⊙ -> +; o and tanh(c_t) -> ⊙ -> h_t.
    path(ax, [layers["f"].top, forget.bottom])
    write = node(ax, at(6.0, 4.3), "mul")
    path(ax, [layers["i"].top, (layers["i"].x, write.y), write.left])
    path(ax, [layers["g"].top, write.bottom])
    path(ax, [write.top, add.bottom])
    squash = node(ax, at(8.8, 4.2), "tanh")
    path(ax, [read.centre, squash.top])
    out = node(ax, at(8.8, layer_y), "mul")
    path(ax, [squash.bottom, out.top])
    path(ax, [layers["o"].right, out.left])
    h_split = junction(ax, at(10.4, bottom_y))
    path(ax, [out.bottom, at(8.8, bottom_y), h_split.centre], head=False)
    path(ax, [h_split.centre, at(12.5, bottom_y)])
    path(ax, [h_split.centre, at(10.4, 7.1)])

    positions = {
        "c_prev": (at(-1.9, top_y + 0.4), "left"),
        "h_prev": (at(-1.9, bottom_y + 0.4), "left"),
        "x": (at(1.3, -1.35), "center"),
        "f": (at(2.7, 3.8), "left"),
        "i": (at(4.5, 3.5), "left"),
        "g": (at(6.2, 3.55), "left"),
        "o": (at(7.4, 3.0), "center"),
        "c": (at(12.5, top_y + 0.4), "right"),
        "h": (at(12.5, bottom_y + 0.4), "right"),
    }
    for name, (where, ha) in positions.items():
        _value_label(ax, where, LSTM_SYMBOLS[name], values.get(name), ha)
    label(ax, at(10.55, 7.3), "$h_t$", ha="left")
    products = _products(values)
    product_positions = {
        "f_c_prev": (at(2.75, 5.05), "left"),
        "i_g": (at(6.2, 4.9), "left"),
        "tanh_c": (at(9.2, 3.6), "left"),
    }
    for name, (where, ha) in product_positions.items():
        _value_label(ax, where, LSTM_PRODUCTS[name], products.get(name), ha)
    label(ax, at(5.3, -1.5), r"$g_t$, the candidate, is also written $\tilde c_t$ or $N_t$")
    return ax


def _value_label(ax: Axes, where: tuple[float, float], symbol: str, value: Any, ha: str) -> None:
    """``symbol``, and when a value is given, `` = value`` after it in the value colour."""
    if value is None:
        label(ax, where, symbol, ha=ha)
        return
    label(
        ax,
        where,
        f"{symbol} = {format_value(value)}",
        ha=ha,
        colour=VALUE_COLOUR,
        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 0.5},
    )


def plot_gru_cell(ax: Axes | None = None) -> Axes:
    """The GRU cell as torch computes it: r multiplies (h W_hn^T + b_hn), h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}.

    The state path along the top keeps z_t ⊙ h_{t-1}; the update gate z_t shares the step between it and n_t.
    """
    top_y, bottom_y, layer_y = 6.0, 0.9, 2.2
    ax = canvas(ax, (-2.2, 12.9), (-1.7, 7.4))
    box(ax, (5.3, 3.5), role="cell", width=11.0, height=6.4, behind=True)

    # The state path: h_{t-1} -> ⊙ z -> + (1 - z) ⊙ n -> h_t.
    keep = node(ax, (7.4, top_y), "mul")
    add = node(ax, (9.2, top_y), "add")
    drop = junction(ax, (0.5, top_y), colour=CELL_PATH_COLOUR)
    read = junction(ax, (5.6, top_y), colour=CELL_PATH_COLOUR)
    path(ax, [(-1.9, top_y), keep.left], style="cell")
    path(ax, [keep.right, add.left], style="cell")
    path(ax, [add.right, (12.5, top_y)], style="cell")
    label(ax, (3.0, top_y + 0.45), "the state path", colour=CELL_PATH_COLOUR)

    # r and z read [h_{t-1}, x_t]; the candidate n reads x_t and r ⊙ (h_{t-1} W_hn^T + b_hn).
    merge = junction(ax, (1.2, bottom_y))
    path(ax, [drop.centre, (0.5, bottom_y), merge.centre], head=False)
    path(ax, [(1.2, -1.0), merge.centre], head=False)
    path(ax, [merge.centre, (7.0, bottom_y)], head=False)
    update = layer(ax, (2.3, layer_y), "sigma")
    reset = layer(ax, (3.9, layer_y), "sigma")
    candidate = layer(ax, (7.0, layer_y), "tanh")
    for gate, name in ((update, "update"), (reset, "reset"), (candidate, "candidate")):
        path(ax, [(gate.x, bottom_y), gate.bottom])
        label(ax, (gate.x, 1.45), name, backgroundcolor=ROLES["cell"][0], fontstyle="italic")
    recurrent = box(ax, (5.6, 4.3), "$W_{hn}$", role="gate", width=0.85, height=0.6, rounded=False)
    path(ax, [read.centre, recurrent.top])
    gate_reset = node(ax, (5.6, 3.3), "mul")
    path(ax, [recurrent.bottom, gate_reset.top])
    path(ax, [reset.top, (reset.x, gate_reset.y), gate_reset.left])
    path(ax, [gate_reset.bottom, (5.6, layer_y), candidate.left])

    # z -> ⊙ on the state path, and 1 - z -> ⊙ with n -> +.
    share = junction(ax, (7.4, 5.0))
    path(ax, [update.top, (update.x, 5.0), share.centre], head=False)
    path(ax, [share.centre, keep.bottom])
    complement = node(ax, (8.3, 4.0), "one_minus", radius=0.3)
    path(ax, [share.centre, (8.3, 5.0), complement.top])
    write = node(ax, (9.2, 3.0), "mul")
    path(ax, [complement.bottom, (8.3, write.y), write.left])
    path(ax, [candidate.right, (write.x, layer_y), write.bottom])
    path(ax, [write.top, add.bottom])
    h_split = junction(ax, (10.4, top_y), colour=CELL_PATH_COLOUR)
    path(ax, [h_split.centre, (10.4, 7.1)])

    for text, where, ha in (
        ("$h_{t-1}$", (-1.9, top_y + 0.4), "left"),
        ("$x_t$", (1.2, -1.35), "center"),
        ("$z_t$", (2.45, 3.6), "left"),
        ("$r_t$", (4.05, 2.85), "left"),
        ("$n_t$", (7.6, 2.5), "left"),
        ("$h_t$", (12.5, top_y + 0.4), "right"),
        ("$h_t$", (10.55, 7.2), "left"),
        (r"$z_t \odot h_{t-1}$", (7.65, 5.4), "left"),
        ("($x_t$ only)", (7.0, 0.45), "center"),
    ):
        label(ax, where, text, ha=ha)
    return ax
