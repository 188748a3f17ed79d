"""Networks drawn as boxes and arrows: feedforward against recurrent, the unrolled RNN with the gradient path
of BPTT, the sequence shapes (one-to-many, ...) and the book's models by shape, and unrolled in time a stacked
RNN, a bidirectional layer, an encoder-decoder, and attention over the encoder's states."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.axes import Axes

from lstm_course.plot.diagrams.vocabulary import (
    GRADIENT_COLOUR,
    ROLES,
    Shape,
    arrow,
    box,
    canvas,
    chain,
    label,
    node,
    path,
)


def _subscript(symbol: str, index: str) -> str:
    """``symbol`` with subscript ``index`` in mathtext: ("h", "t+1") -> "$h_{t+1}$"."""
    return f"${symbol}_{{{index}}}$"


def _boxes(shapes: Sequence[Shape | None]) -> list[Shape]:
    """The shapes of a chain drawn without "..." entries (``chain`` gives None only for "...")."""
    boxes = [shape for shape in shapes if shape is not None]
    if len(boxes) != len(shapes):
        raise TypeError("a chain with '...' gaps where only boxes were drawn")
    return boxes


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
    path(
        ax,
        [
            h_t.right,
            (loop_x, h_t.y),
            (loop_x, h_t.y - 0.95),
            (h_t.x + 0.3, h_t.y - 0.95),
            (h_t.x + 0.3, h_t.y - h_t.height / 2),
        ],
    )
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
    """The RNN unrolled over ``times`` (step indices; "..." draws a gap), with the gradient path of BPTT.

    Args:
        ax: the Axes to draw on; a new figure when None.
        times: the step indices as mathtext, e.g. ("t", "t+1", "...", "T").
        losses: "every" (a loss L_t at every step, as a language model) or "last" (one loss L at the end).
        gradient: draw the backward path: from each loss into its state, and from each state to the previous.
        jacobians: label each backward step between states with its Jacobian J_s = ∂h_s/∂h_{s-1}.
    """
    if losses not in ("every", "last"):
        raise ValueError(f"losses must be 'every' or 'last', got {losses!r}")
    if not times or times[0] == "...":
        raise ValueError(f"times must start with a step index (h_0 goes into it), not '...': got {times!r}")
    spacing = 2.4
    n = len(times)
    ax = canvas(ax, (-1.9, (n - 1) * spacing + 1.2), (-1.7 if jacobians else -0.6, 4.2))
    states = chain(ax, [("..." if t == "..." else _subscript("h", t)) for t in times], y=1.7, spacing=spacing)
    # The start: h_0 into the first state, or (when the chain starts later than step 1) the steps before.
    if times[0] == "1":
        label(ax, (-1.3, 1.7), "$h_0$", colour="0.35")
    first_state = _boxes(states[:1])[0]
    arrow(ax, (-1.0, 1.7), first_state, dashed=times[0] != "1")
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
            label(
                ax,
                (state.x - 0.55, state.y - 0.62),
                rf"$\partial L / \partial h_{{{time}}}$",
                colour=GRADIENT_COLOUR,
                ha="right",
            )
    if gradient:
        _backward_steps(ax, times, states, spacing, jacobians)
    return ax


def _backward_steps(ax: Axes, times: Sequence[str], states: list, spacing: float, jacobians: bool) -> None:
    """Red arrows from each state back to the previous one (below the forward ones), labelled J_s if asked."""
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
            middle = ((start[0] + end[0]) / 2, later.y + 0.35)
            label(ax, middle, _subscript("J", times[k]), colour=GRADIENT_COLOUR)
    if jacobians:
        label(
            ax,
            (-1.8, -1.25),
            r"each step back multiplies by $J_s = \partial h_s / \partial h_{s-1}"
            r" = \mathrm{diag}(1 - h_s^2)\, W_{hh}$",
            colour=GRADIENT_COLOUR,
            ha="left",
        )


#: The sequence shapes: title, an example, then per step whether it reads an input (x) and emits one (y).
SEQUENCE_SHAPES = {
    "one-to-many": ("an image → its caption", "x..", "yyy"),
    "many-to-one": ("a review → its sentiment", "xxx", "..y"),
    "many-to-many, aligned": ("words → their tags", "xxx", "yyy"),
    "many-to-many, unaligned": ("a date → its ISO form (encoder–decoder)", "xxx...", "...yyy"),
}


def _sequence_shape(
    ax: Axes, origin: tuple[float, float], title: str, example: str, inputs: str, outputs: str
) -> None:
    """One panel of :func:`plot_sequence_shapes`: a chain of states with inputs below and outputs above."""
    x0, y0 = origin
    label(ax, (x0 - 0.35, y0 + 3.85), title, ha="left")
    label(ax, (x0 - 0.35, y0 + 3.3), example, ha="left", fontstyle="italic")
    states = _boxes(chain(ax, [""] * len(inputs), y=y0 + 1.2, x0=x0, spacing=1.15, width=0.7, height=0.55))
    input_count = output_count = 0
    for state, has_input, has_output in zip(states, inputs, outputs, strict=True):
        if has_input == "x":
            input_count += 1
            arrow(
                ax,
                box(
                    ax, (state.x, y0), _subscript("x", str(input_count)), role="input", width=0.7, height=0.55
                ),
                state,
            )
        if has_output == "y":
            output_count += 1
            arrow(
                ax,
                state,
                box(
                    ax,
                    (state.x, y0 + 2.4),
                    _subscript("y", str(output_count)),
                    role="output",
                    width=0.7,
                    height=0.55,
                ),
            )


def plot_sequence_shapes(ax: Axes | None = None) -> Axes:
    """The four shapes of sequence problems (one-to-many, many-to-one, many-to-many aligned and unaligned)."""
    ax = canvas(ax, (-0.6, 11.2), (-0.5, 9.5))
    origins = [(0.0, 5.2), (5.8, 5.2), (0.0, 0.0), (4.7, 0.0)]
    for origin, (title, (example, inputs, outputs)) in zip(origins, SEQUENCE_SHAPES.items(), strict=True):
        _sequence_shape(ax, origin, title, example, inputs, outputs)
    return ax


#: The book's models by shape: shape -> (inputs, outputs, the models of the book with that shape).
BOOK_SHAPES = {
    "one-to-one": ("x", "y", ("feedforward net (ch. 1)",)),
    "one-to-many": ("x..", "yyy", ("sampling text (ch. 2, 9)", "digit-strip captions (ch. 9)")),
    "many-to-one": (
        "xxx",
        "..y",
        ("adding problem (ch. 3-5)", "surname → language (ch. 9)", "sunspot forecast (ch. 9)"),
    ),
    "many-to-many, aligned": (
        "xxx",
        "yyy",
        ("next character (ch. 2, 9)", "grammar, aⁿbⁿ (ch. 4, 5)", "BIO tagging (ch. 6)"),
    ),
    "many-to-many, unaligned": (
        "xxx...",
        "...yyy",
        ("encoder-decoder (ch. 7)", "attention (ch. 8)"),
    ),
}


def plot_book_shapes(ax: Axes | None = None, shapes: dict | None = None) -> Axes:
    """Every shape of sequence problem with the book's models of that shape listed under it.

    ``shapes`` maps a title to (inputs, outputs, model names) as ``BOOK_SHAPES`` does: inputs and outputs
    are strings of equal length, "x" (or "y") where a step reads an input (emits an output), "." where not.
    """
    shapes = BOOK_SHAPES if shapes is None else shapes
    if not isinstance(shapes, dict) or not shapes:
        raise ValueError("shapes must be a non-empty dict: title -> (inputs, outputs, model names)")
    for title, (inputs, outputs, _) in shapes.items():
        if len(inputs) != len(outputs) or not set(inputs + outputs) <= set("xy."):
            raise ValueError(
                f"shapes[{title!r}]: inputs and outputs must be equal-length strings of x, y and ."
            )
    columns, column_width, row_height = 3, 8.0, 6.6
    rows = -(-len(shapes) // columns)
    ax = canvas(ax, (-0.6, columns * column_width - 0.4), (-2.6, rows * row_height - 2.4))
    for k, (title, (inputs, outputs, models)) in enumerate(shapes.items()):
        x0, y0 = (k % columns) * column_width, (rows - 1 - k // columns) * row_height
        _sequence_shape(ax, (x0, y0), title, "", inputs, outputs)
        for line, model in enumerate(models):
            label(ax, (x0 - 0.35, y0 - 0.75 - 0.55 * line), f"• {model}", ha="left")
    return ax


def plot_stacked_rnn(ax: Axes | None = None, *, layers: int = 2, steps: int = 3) -> Axes:
    """A stacked RNN unrolled in time: layer l reads the hidden states of layer l - 1 (layer 1 reads x_t)."""
    spacing, rise = 2.0, 1.5
    ax = canvas(ax, (-2.3, (steps - 1) * spacing + 1.0), (-0.6, rise * (layers + 1) + 0.6))
    columns = [str(t + 1) for t in range(steps)]
    below = [box(ax, (k * spacing, 0.0), _subscript("x", t), role="input") for k, t in enumerate(columns)]
    for level in range(1, layers + 1):
        y = rise * level
        label(ax, (-0.7, y), f"layer {level}", ha="right")
        row = _boxes(chain(ax, [f"$h^{{({level})}}_{{{t}}}$" for t in columns], y=y, spacing=spacing))
        for lower, upper in zip(below, row, strict=True):
            arrow(ax, lower, upper)
        below = row
    for state, t in zip(below, columns, strict=True):
        arrow(ax, state, box(ax, (state.x, rise * (layers + 1)), _subscript("y", t), role="output"))
    return ax


def plot_bidirectional(ax: Axes | None = None, *, steps: int = 3) -> Axes:
    """A bidirectional layer: one RNN left to right, one right to left, their outputs joined at each step."""
    spacing = 2.4
    ax = canvas(ax, (-2.9, (steps - 1) * spacing + 1.2), (-0.6, 5.0))
    columns = [str(t + 1) for t in range(steps)]
    label(ax, (-1.0, 1.9), "forward", ha="right")
    label(ax, (-1.0, 3.1), "backward", ha="right")
    forward, backward = [], []
    for k, t in enumerate(columns):
        x = k * spacing
        x_t = box(ax, (x, 0.0), _subscript("x", t), role="input")
        forward.append(box(ax, (x - 0.45, 1.9), rf"$\overrightarrow{{h}}_{{{t}}}$", width=0.8))
        backward.append(box(ax, (x + 0.45, 3.1), rf"$\overleftarrow{{h}}_{{{t}}}$", width=0.8))
        joined = rf"$[\overrightarrow{{h}}_{{{t}}}; \overleftarrow{{h}}_{{{t}}}]$"
        out = box(ax, (x, 4.4), joined, role="output", width=1.7)
        for state in (forward[-1], backward[-1]):
            arrow(ax, x_t, state)
            arrow(ax, state, out)
    for k in range(steps - 1):
        arrow(ax, forward[k], forward[k + 1])
        arrow(ax, backward[k + 1], backward[k])
    return ax


def plot_encoder_decoder(ax: Axes | None = None, *, source: int = 3, target: int = 3) -> Axes:
    """An encoder–decoder unrolled: the encoder's last state is the decoder's first, the only bridge between.

    The decoder reads its previous output (y_0 is the start token) and emits the next.
    """
    spacing = 1.8
    ax = canvas(ax, (-1.0, (source + target - 1) * spacing + 1.0), (-1.2, 4.2))
    encoder = _boxes(chain(ax, [_subscript("h", str(j + 1)) for j in range(source)], y=1.6, spacing=spacing))
    decoder = _boxes(
        chain(
            ax,
            [_subscript("s", str(k + 1)) for k in range(target)],
            y=1.6,
            x0=source * spacing,
            spacing=spacing,
        )
    )
    for j, state in enumerate(encoder):
        arrow(ax, box(ax, (state.x, 0.0), _subscript("x", str(j + 1)), role="input"), state)
    arrow(ax, encoder[-1], decoder[0], style="cell")
    label(ax, ((encoder[-1].x + decoder[0].x) / 2, 2.15), "$s_0 = h_T$", colour=ROLES["state"][1])
    for k, state in enumerate(decoder):
        arrow(ax, box(ax, (state.x, 0.0), _subscript("y", str(k)), role="input"), state)
        arrow(ax, state, box(ax, (state.x, 3.2), _subscript("y", str(k + 1)), role="output"))
    label(ax, ((encoder[0].x + encoder[-1].x) / 2, -0.8), "encoder")
    label(ax, ((decoder[0].x + decoder[-1].x) / 2, -0.8), "decoder")
    return ax


def plot_attention(ax: Axes | None = None, *, source: int = 4) -> Axes:
    """Attention over the encoder states: weights α_{t,j} from scores with the decoder state, sum c_t."""
    spacing = 1.8
    ax = canvas(ax, (-0.8, (source - 1) * spacing + 5.2), (-0.6, 5.4))
    encoder = _boxes(chain(ax, [_subscript("h", str(j + 1)) for j in range(source)], y=0.0, spacing=spacing))
    middle = (source - 1) * spacing / 2
    weigh = node(ax, (middle, 2.6), "add", radius=0.3)
    label(ax, (middle + 0.45, 2.6), r"$\sum_j$", ha="left")
    for j, state in enumerate(encoder):
        arrow(ax, state, weigh, style="data")
        label(
            ax,
            ((state.x + middle) / 2 + (0.35 if state.x >= middle else -0.35), 1.35),
            rf"$\alpha_{{t,{j + 1}}}$",
            colour=ROLES["attention"][1],
        )
    context = box(ax, (middle, 4.2), "$c_t$", role="attention")
    arrow(ax, weigh, context)
    decoder_x = (source - 1) * spacing + 2.8
    previous = box(ax, (decoder_x, 2.6), "$s_{t-1}$")
    current = box(ax, (decoder_x, 4.2), "$s_t$")
    arrow(ax, previous, current)
    arrow(ax, context, current)
    arrow(ax, previous, encoder[-1], style="data", dashed=True, bend=-0.2)
    scores = "a score with each $h_j$,\n" + r"softmax $\to \alpha_{t,j}$"
    label(ax, (decoder_x + 0.7, 0.6), scores, colour=ROLES["attention"][1])  # right of the dashed arrow
    return ax
