"""Networks drawn as boxes and arrows: feedforward against recurrent, the unrolled RNN with the gradient path of
BPTT, the sequence shapes (one-to-many, ...), a stacked RNN and a bidirectional layer, unrolled in time."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.axes import Axes

from lstm_course.plot.diagrams.vocabulary import (
    GRADIENT_COLOUR,
    arrow,
    box,
    canvas,
    chain,
    label,
    path,
)


def _subscript(symbol: str, index: str) -> str:
    """``symbol`` with subscript ``index`` in mathtext: ("h", "t+1") -> "$h_{t+1}$"."""
    return f"${symbol}_{{{index}}}$"


def plot_feedforward_vs_recurrent(ax: Axes | None = None) -> Axes:
    """A feedforward net (x → h → ŷ) beside a recurrent one, whose hidden state loops back into itself."""
    ax = canvas(ax, (-0.3, 11.4), (-0.6, 5.0))
    label(ax, (1.5, 4.6), "feedforward")
    x = box(ax, (1.5, 0.0), "$x$", role="input")
    hidden = box(ax, (1.5, 1.9), "$h$")
    out = box(ax, (1.5, 3.8), r"$\hat y$", role="output")
    arrow(ax, x, hidden, "$W_1$", text_offset=(0.45, 0.0))
    arrow(ax, hidden, out, "$W_2$", text_offset=(0.45, 0.0))

    label(ax, (6.3, 4.6), "recurrent")
    x_t = box(ax, (6.3, 0.0), "$x_t$", role="input")
    h_t = box(ax, (6.3, 1.9), "$h_t$")
    out_t = box(ax, (6.3, 3.8), r"$\hat y_t$", role="output")
    arrow(ax, x_t, h_t, "$W_{ih}$", text_offset=(-0.55, 0.0))
    arrow(ax, h_t, out_t, "$W_{hy}$", text_offset=(-0.55, 0.0))
    # The loop: out of h_t's right side, round, and back in at its bottom, right of the input's arrow.
    loop_x = h_t.x + h_t.width / 2 + 0.7
    path(ax, [h_t.right, (loop_x, h_t.y), (loop_x, h_t.y - 0.95), (h_t.x + 0.3, h_t.y - 0.95),
              (h_t.x + 0.3, h_t.y - h_t.height / 2)])
    label(ax, (loop_x + 0.15, h_t.y - 0.45), "$W_{hh}$: $h_t$ goes back in,\nread at step $t+1$", ha="left")
    return ax


def plot_unrolled_rnn(
    ax: Axes | None = None,
    *,
    times: Sequence[str] = ("1", "2", "3", "4"),
    losses: str = "every",
    gradient: bool = True,
    jacobians: bool = False,
) -> Axes:
    """The RNN unrolled over ``times`` (step indices; "..." draws a gap), with the gradient path of BPTT in red.

    Args:
        ax: the Axes to draw on; a new figure when None.
        times: the step indices as mathtext, e.g. ("t", "t+1", "...", "T").
        losses: "every" (a loss L_t at every step, as a language model) or "last" (one loss L at the last step).
        gradient: draw the backward path: from each loss into its state, and from each state back to the previous.
        jacobians: label each backward step between states with its Jacobian J_s = ∂h_s/∂h_{s-1}, and define it.
    """
    if losses not in ("every", "last"):
        raise ValueError(f"losses must be 'every' or 'last', got {losses!r}")
    spacing = 2.4
    n = len(times)
    ax = canvas(ax, (-1.9, (n - 1) * spacing + 1.2), (-1.7 if jacobians else -0.6, 4.2))
    states = chain(ax, [("..." if t == "..." else _subscript("h", t)) for t in times], y=1.7, spacing=spacing)
    # The start: h_0 into the first state, or (when the chain starts later than step 1) the steps before.
    if times[0] == "1":
        label(ax, (-1.3, 1.7), "$h_0$", colour="0.35")
    arrow(ax, (-1.0, 1.7), states[0], dashed=times[0] != "1")
    last = max(k for k, shape in enumerate(states) if shape is not None)
    for k, (time, state) in enumerate(zip(times, states, strict=True)):
        if state is None:
            continue
        x_k = box(ax, (state.x, 0.0), _subscript("x", time), role="input")
        arrow(ax, x_k, state)
        if losses == "every" or k == last:
            name = _subscript("L", time) if losses == "every" else "$L$"
            loss = box(ax, (state.x, 3.5), name, role="output")
            arrow(ax, (state.x - 0.15 * gradient, state.y + 0.35), (state.x - 0.15 * gradient, loss.y - 0.35))
            if gradient:
                arrow(ax, (state.x + 0.15, loss.y - 0.35), (state.x + 0.15, state.y + 0.35), style="gradient")
        if gradient:
            label(ax, (state.x - 0.55, state.y - 0.62), rf"$\partial L / \partial h_{{{time}}}$",
                  colour=GRADIENT_COLOUR, ha="right")
    if gradient:
        _backward_steps(ax, times, states, spacing, jacobians)
    return ax


def _backward_steps(ax: Axes, times: Sequence[str], states: list, spacing: float, jacobians: bool) -> None:
    """Red arrows from each state back to the previous one (under the forward arrows), labelled J_s if asked."""
    for k in range(1, len(states)):
        later, earlier = states[k], states[k - 1]
        if later is None and earlier is None:
            continue
        # Just below the forward arrow (drawn through the centres); into or out of a gap "...", dashed.
        later_x = later.x - later.width / 2 if later is not None else earlier.x + spacing - 0.35
        earlier_x = earlier.x + earlier.width / 2 if earlier is not None else later.x - spacing + 0.35
        y = (later or earlier).y - 0.22
        arrow(ax, (later_x, y), (earlier_x, y), style="gradient", dashed=later is None or earlier is None)
        if jacobians and later is not None and earlier is not None:
            start, end = (later_x, y), (earlier_x, y)
            label(ax, ((start[0] + end[0]) / 2, later.y + 0.35), _subscript("J", times[k]), colour=GRADIENT_COLOUR)
    if jacobians:
        label(ax, (-1.8, -1.25),
              r"each step back multiplies by $J_s = \partial h_s / \partial h_{s-1}"
              r" = \mathrm{diag}(1 - h_s^2)\, W_{hh}$", colour=GRADIENT_COLOUR, ha="left")


#: The sequence shapes: title, an example, then per step whether it reads an input and whether it emits an output.
SEQUENCE_SHAPES = {
    "one-to-many": ("an image → its caption", "x..", "yyy"),
    "many-to-one": ("a review → its sentiment", "xxx", "..y"),
    "many-to-many, aligned": ("words → their tags", "xxx", "yyy"),
    "many-to-many, unaligned": ("a date → its ISO form (encoder–decoder)", "xxx...", "...yyy"),
}


def _sequence_shape(ax: Axes, origin: tuple[float, float], title: str, example: str, inputs: str,
                    outputs: str) -> None:
    """One panel of :func:`plot_sequence_shapes`: a chain of states with inputs below and outputs above."""
    x0, y0 = origin
    label(ax, (x0 - 0.35, y0 + 3.85), title, ha="left")
    label(ax, (x0 - 0.35, y0 + 3.3), example, ha="left", fontstyle="italic")
    states = chain(ax, [""] * len(inputs), y=y0 + 1.2, x0=x0, spacing=1.15, width=0.7, height=0.55)
    input_count = output_count = 0
    for state, has_input, has_output in zip(states, inputs, outputs, strict=True):
        if has_input == "x":
            input_count += 1
            arrow(ax, box(ax, (state.x, y0), _subscript("x", str(input_count)), role="input", width=0.7,
                          height=0.55), state)
        if has_output == "y":
            output_count += 1
            arrow(ax, state, box(ax, (state.x, y0 + 2.4), _subscript("y", str(output_count)), role="output",
                                 width=0.7, height=0.55))


def plot_sequence_shapes(ax: Axes | None = None) -> Axes:
    """The four shapes of sequence problems (one-to-many, many-to-one, many-to-many aligned and unaligned)."""
    ax = canvas(ax, (-0.6, 11.2), (-0.5, 9.5))
    origins = [(0.0, 5.2), (5.8, 5.2), (0.0, 0.0), (4.7, 0.0)]
    for origin, (title, (example, inputs, outputs)) in zip(origins, SEQUENCE_SHAPES.items(), strict=True):
        _sequence_shape(ax, origin, title, example, inputs, outputs)
    return ax
