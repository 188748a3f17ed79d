"""The diagrams' vocabulary: one look (colours per role, one font size) and the shapes every picture is
made of.

Coordinates are data units on an Axes with equal aspect and no frame; :func:`canvas` sizes a new figure from
the drawing's extent, so one unit is the same size in every diagram. Shapes return a :class:`Shape`, whose
edge points (``top``, ``left``, ...) are where arrows start and end; :func:`arrow` between two shapes is
clipped at their outlines, so it always touches both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Patch
from matplotlib.path import Path

#: The one font size of every label in every diagram (points).
FONT_SIZE = 12
#: Inches per data unit of a new figure: a box of width 1 is this wide on the page.
INCHES_PER_UNIT = 0.55

#: Colours per role: (fill, edge). Inputs green, states blue, gates yellow, outputs and losses red, operations
#: grey.
ROLES = {
    "input": ("#dff0d8", "#2e7d32"),
    "state": ("#dbe9f6", "#1f4e79"),
    "gate": ("#fff3c4", "#a07800"),
    "output": ("#f8dcdc", "#a12a2a"),
    "op": ("#ffffff", "#444444"),
    "cell": ("#f5f5f5", "#9e9e9e"),
    "attention": ("#ece1f5", "#6a3d9a"),
}
#: Line colours: the forward flow of data, the cell path (the LSTM's "conveyor belt"), the gradient of BPTT.
DATA_COLOUR = "#333333"
CELL_PATH_COLOUR = ROLES["state"][1]
GRADIENT_COLOUR = "#d62728"

#: The text of each operation node.
OPERATIONS = {
    "mul": r"$\odot$",
    "add": r"$+$",
    "times": r"$\times$",
    "one_minus": r"$1-$",
    "tanh": r"$\tanh$",
}


class Shape(NamedTuple):
    """A drawn box or node: its patch (arrows are clipped at it), centre and size in data units."""

    patch: Patch
    x: float
    y: float
    width: float
    height: float

    @property
    def top(self) -> tuple[float, float]:
        return (self.x, self.y + self.height / 2)

    @property
    def bottom(self) -> tuple[float, float]:
        return (self.x, self.y - self.height / 2)

    @property
    def left(self) -> tuple[float, float]:
        return (self.x - self.width / 2, self.y)

    @property
    def right(self) -> tuple[float, float]:
        return (self.x + self.width / 2, self.y)

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x, self.y)


Point = tuple[float, float]
Target = Shape | Point


def canvas(ax: Axes | None, xlim: tuple[float, float], ylim: tuple[float, float]) -> Axes:
    """An Axes ready to draw on: equal aspect, no frame, limits ``xlim`` × ``ylim`` (new figure when None)."""
    if ax is None:
        width, height = xlim[1] - xlim[0], ylim[1] - ylim[0]
        _, ax = plt.subplots(figsize=(width * INCHES_PER_UNIT, height * INCHES_PER_UNIT))
        ax.figure.subplots_adjust(left=0, right=1, bottom=0, top=1)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return ax


def label(
    ax: Axes,
    at: Point,
    text: str,
    *,
    colour: str = DATA_COLOUR,
    ha: str = "center",
    va: str = "center",
    **kwargs,
) -> None:
    """Text in the diagrams' font size (mathtext for symbols: ``r"$h_t$"``)."""
    ax.text(*at, text, fontsize=FONT_SIZE, color=colour, ha=ha, va=va, zorder=5, **kwargs)


def box(
    ax: Axes,
    at: Point,
    text: str = "",
    *,
    role: str = "state",
    width: float = 1.0,
    height: float = 0.7,
    rounded: bool = True,
    behind: bool = False,
) -> Shape:
    """A box for a state, a layer or an input, coloured by ``role`` (a key of ROLES), with ``text`` inside.

    ``behind`` puts it under the lines (for a frame that lines cross, like the LSTM cell's outline).
    """
    fill, edge = ROLES[role]
    style = "round,pad=0,rounding_size=0.12" if rounded else "square,pad=0"
    patch = FancyBboxPatch(
        (at[0] - width / 2, at[1] - height / 2),
        width,
        height,
        boxstyle=style,
        facecolor=fill,
        edgecolor=edge,
        linewidth=1.4,
        zorder=1 if behind else 3,
    )
    ax.add_patch(patch)
    if text:
        label(ax, at, text)
    return Shape(patch, at[0], at[1], width, height)


def layer(ax: Axes, at: Point, kind: str, *, width: float = 0.85, height: float = 0.6) -> Shape:
    """A learned layer (weights, bias, then ``kind``: "sigma" or "tanh"), drawn as a gate-coloured square."""
    text = {"sigma": r"$\sigma$", "tanh": r"$\tanh$"}[kind]
    # tanh is wider than σ: its box grows to hold it.
    width = width if kind == "sigma" else max(width, 1.0)
    return box(ax, at, text, role="gate", width=width, height=height, rounded=False)


def node(ax: Axes, at: Point, kind: str, *, radius: float = 0.25) -> Shape:
    """An operation without weights: "mul" (⊙), "add" (+), "times" (×), "one_minus" (1 − ·) or "tanh"."""
    fill, edge = ROLES["op"]
    width = 2 * radius if kind != "tanh" else 3.6 * radius
    patch: Patch
    if kind == "tanh":
        corner = (at[0] - width / 2, at[1] - radius)
        style = f"round,pad=0,rounding_size={radius}"
        patch = FancyBboxPatch(corner, width, 2 * radius, boxstyle=style)
    else:
        patch = Circle(at, radius)
    patch.set(facecolor=fill, edgecolor=edge, linewidth=1.4, zorder=4)
    ax.add_patch(patch)
    label(ax, at, OPERATIONS[kind])
    return Shape(patch, at[0], at[1], width, 2 * radius)


def junction(ax: Axes, at: Point, *, colour: str = DATA_COLOUR) -> Shape:
    """A copy/split point: one value goes on along several lines."""
    patch = Circle(at, 0.06, facecolor=colour, edgecolor=colour, zorder=4)
    ax.add_patch(patch)
    return Shape(patch, at[0], at[1], 0.0, 0.0)


def _point(target: Target) -> Point:
    return target.centre if isinstance(target, Shape) else target


def _line_style(style: str) -> dict:
    if style == "data":
        return {"color": DATA_COLOUR, "linewidth": 1.4}
    if style == "gradient":
        return {"color": GRADIENT_COLOUR, "linewidth": 2.2}
    if style == "cell":
        return {"color": CELL_PATH_COLOUR, "linewidth": 3.5}
    raise ValueError(f"style must be 'data', 'gradient' or 'cell', got {style!r}")


def arrow(
    ax: Axes,
    start: Target,
    end: Target,
    text: str = "",
    *,
    style: str = "data",
    bend: float = 0.0,
    text_offset: Point = (0.0, 0.2),
    head: bool = True,
    dashed: bool = False,
) -> FancyArrowPatch:
    """An arrow from ``start`` to ``end`` (shapes or points, clipped at a shape's outline), labelled.

    ``style`` is "data" (the forward flow), "gradient" (the highlighted gradient path) or "cell" (cell path);
    ``bend`` curves it (a matplotlib arc3 radius); ``text`` sits at the midpoint plus ``text_offset``.
    """
    line = _line_style(style)
    patch = FancyArrowPatch(
        _point(start),
        _point(end),
        patchA=start.patch if isinstance(start, Shape) else None,
        patchB=end.patch if isinstance(end, Shape) else None,
        arrowstyle="-|>" if head else "-",
        mutation_scale=14,
        connectionstyle=f"arc3,rad={bend}",
        shrinkA=1,
        shrinkB=1,
        linestyle="--" if dashed else "-",
        zorder=2,
        **line,
    )
    ax.add_patch(patch)
    if text:
        (x0, y0), (x1, y1) = _point(start), _point(end)
        middle = ((x0 + x1) / 2 + text_offset[0], (y0 + y1) / 2 + text_offset[1])
        label(ax, middle, text, colour=line["color"])
    return patch


def path(ax: Axes, points: Sequence[Point], *, style: str = "data", head: bool = True) -> FancyArrowPatch:
    """A line through ``points`` (right angles, as in a cell diagram), with an arrow head at the last one.

    Give the exact edge points of the shapes it joins (``shape.bottom``, ...): a path is not clipped.
    """
    line = _line_style(style)
    codes = [Path.MOVETO] + [Path.LINETO] * (len(points) - 1)
    patch = FancyArrowPatch(
        path=Path(points, codes),
        arrowstyle="-|>" if head else "-",
        mutation_scale=14,
        shrinkA=0,
        shrinkB=0,
        joinstyle="miter",
        zorder=2,
        **line,
    )
    ax.add_patch(patch)
    return patch


def chain(
    ax: Axes,
    texts: Sequence[str],
    *,
    y: float,
    x0: float = 0.0,
    spacing: float = 1.8,
    role: str = "state",
    style: str = "data",
    width: float = 1.0,
    height: float = 0.7,
) -> list[Shape | None]:
    """A time-unrolled chain: one box per entry of ``texts`` at ``y``, joined left to right by arrows.

    An entry "..." draws an ellipsis instead of a box (and returns None in its place); the arrows into and out
    of it are drawn dashed.
    """
    shapes: list[Shape | None] = []
    for k, text in enumerate(texts):
        at = (x0 + k * spacing, y)
        if text == "...":
            label(ax, at, r"$\cdots$")
            shapes.append(None)
        else:
            shapes.append(box(ax, at, text, role=role, width=width, height=height))
    for k in range(len(texts) - 1):
        left, right = shapes[k], shapes[k + 1]
        if left is not None and right is not None:
            arrow(ax, left, right, style=style)
        elif left is not None:
            arrow(ax, left, (x0 + (k + 1) * spacing - 0.35, y), style=style, dashed=True)
        elif right is not None:
            arrow(ax, (x0 + k * spacing + 0.35, y), right, style=style, dashed=True)
    return shapes
