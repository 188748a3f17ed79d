"""plot/diagrams: every diagram draws, returns its Axes, carries the chapters' symbols and renders to PNG; the
annotated LSTM cell writes the values it was given."""

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from lstm_course.plot import diagrams  # noqa: E402
from lstm_course.plot.diagrams.cells import format_value  # noqa: E402
from lstm_course.reference import init_params, lstm_step_forward  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def texts(ax: Axes) -> list[str]:
    """Every text drawn on ``ax``."""
    return [t.get_text() for t in ax.texts]


#: Each diagram, drawn with its defaults, and labels it must show (mathtext, as drawn).
DIAGRAMS = {
    "feedforward vs recurrent": (
        diagrams.plot_feedforward_vs_recurrent,
        ["$x$", "$h$", r"$\hat y$", "$x_t$", "$h_t$", r"$\hat y_t$", "feedforward", "recurrent"],
    ),
    "unrolled RNN": (
        diagrams.plot_unrolled_rnn,
        ["$h_0$", "$h_{1}$", "$h_{4}$", "$x_{2}$", "$L_{3}$", r"$\partial L / \partial h_{1}$"],
    ),
    "sequence shapes": (
        diagrams.plot_sequence_shapes,
        [
            "one-to-many",
            "many-to-one",
            "many-to-many, aligned",
            "many-to-many, unaligned",
            "$x_{1}$",
            "$y_{3}$",
        ],
    ),
    "the book by shape": (
        diagrams.plot_book_shapes,
        [
            "one-to-one",
            "one-to-many",
            "many-to-one",
            "many-to-many, aligned",
            "many-to-many, unaligned",
            "• feedforward net (ch. 1)",
            "• surname → language (ch. 9)",
            "• BIO tagging (ch. 6)",
            "$x_{1}$",
        ],
    ),
    "LSTM cell": (
        diagrams.plot_lstm_cell,
        [
            "$x_t$",
            "$h_{t-1}$",
            "$c_{t-1}$",
            "$i_t$",
            "$f_t$",
            "$g_t$",
            "$o_t$",
            "$c_t$",
            "$h_t$",
            r"$\sigma$",
            r"$\tanh$",
            r"$\odot$",
            "$+$",
            r"$\tanh(c_t)$",
            "candidate",
        ],
    ),
    "GRU cell": (
        diagrams.plot_gru_cell,
        [
            "$h_{t-1}$",
            "$x_t$",
            "$z_t$",
            "$r_t$",
            "$n_t$",
            "$h_t$",
            "$W_{hn}$",
            "$1-$",
            r"$z_t \odot h_{t-1}$",
            "update",
            "reset",
            "candidate",
        ],
    ),
    "stacked RNN": (
        diagrams.plot_stacked_rnn,
        ["layer 1", "layer 2", "$h^{(1)}_{1}$", "$h^{(2)}_{3}$", "$x_{1}$", "$y_{3}$"],
    ),
    "bidirectional": (
        diagrams.plot_bidirectional,
        [
            "forward",
            "backward",
            r"$\overrightarrow{h}_{1}$",
            r"$\overleftarrow{h}_{3}$",
            r"$[\overrightarrow{h}_{2}; \overleftarrow{h}_{2}]$",
        ],
    ),
    "encoder-decoder": (
        diagrams.plot_encoder_decoder,
        ["encoder", "decoder", "$h_{3}$", "$s_{1}$", "$s_0 = h_T$", "$y_{0}$", "$y_{3}$"],
    ),
    "attention": (
        diagrams.plot_attention,
        ["$c_t$", "$s_t$", "$s_{t-1}$", r"$\alpha_{t,1}$", r"$\alpha_{t,4}$", "$h_{4}$"],
    ),
}


@pytest.mark.parametrize("name", DIAGRAMS)
def test_diagram_draws_its_symbols(name):
    draw, expected = DIAGRAMS[name]
    ax = draw()
    assert isinstance(ax, Axes)
    missing = [text for text in expected if text not in texts(ax)]
    assert not missing, f"{name} lacks {missing}"


def arrows_through(ax: Axes, text: Text, renderer) -> bool:
    """Whether an arrow of ``ax`` runs through the box of ``text`` (shrunk by a few percent)."""
    box = text.get_window_extent(renderer).expanded(0.95, 0.9)
    for arrow in (p for p in ax.patches if isinstance(p, FancyArrowPatch)):
        path = arrow.get_path().transformed(arrow.get_transform()).interpolated(50)
        if any(box.contains(x, y) for x, y in path.vertices):
            return True
    return False


@pytest.mark.parametrize("name", DIAGRAMS)
def test_diagram_texts_stay_inside_the_canvas_and_off_the_arrows(name):
    """A label outside the canvas is cut off; one an arrow runs through is hard to read (a label drawn on a
    line on purpose carries a background, which interrupts the line, and is exempt)."""
    draw, _ = DIAGRAMS[name]
    ax = draw()
    ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()
    canvas = ax.get_window_extent(renderer).expanded(1.002, 1.002)
    outside = [
        t.get_text()
        for t in ax.texts
        if not canvas.contains(*t.get_window_extent(renderer).p0)
        or not canvas.contains(*t.get_window_extent(renderer).p1)
    ]
    assert not outside, f"{name}: texts outside the canvas: {outside}"
    crossed = [
        t.get_text() for t in ax.texts if t.get_bbox_patch() is None and arrows_through(ax, t, renderer)
    ]
    assert not crossed, f"{name}: arrows run through {crossed}"


@pytest.mark.parametrize("name", DIAGRAMS)
def test_diagram_draws_on_a_given_axes_and_renders_to_png(name):
    draw, _ = DIAGRAMS[name]
    fig, ax = plt.subplots()
    assert draw(ax) is ax
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def test_lstm_cell_names_g_by_its_other_names():
    joined = " ".join(texts(diagrams.plot_lstm_cell()))
    for name in (r"\tilde c_t", "N_t", "candidate", "conveyor belt"):
        assert name in joined


def test_unrolled_rnn_for_chapter_3_labels_each_step_back_with_its_jacobian():
    ax = diagrams.plot_unrolled_rnn(times=("t", "t+1", "...", "T"), losses="last", jacobians=True)
    drawn = texts(ax)
    assert "$J_{t+1}$" in drawn and "$L$" in drawn and "$h_0$" not in drawn
    assert any(r"\mathrm{diag}(1 - h_s^2)\, W_{hh}" in text for text in drawn)
    # One loss only, at the last step: no L_t.
    assert not any(text.startswith("$L_") for text in drawn)


def test_unrolled_rnn_without_gradient_draws_no_gradient_label():
    assert not any(r"\partial L" in text for text in texts(diagrams.plot_unrolled_rnn(gradient=False)))


def test_unrolled_rnn_refuses_an_unknown_loss_placement():
    with pytest.raises(ValueError, match="losses"):
        diagrams.plot_unrolled_rnn(losses="some")


@pytest.mark.parametrize("times", [(), ("...", "t", "T"), ("...",)])
def test_unrolled_rnn_refuses_times_that_do_not_start_with_a_step(times):
    # a leading "..." has no state for h_0 to go into: it crashed inside matplotlib ("Either posA and posB")
    with pytest.raises(ValueError, match="times"):
        diagrams.plot_unrolled_rnn(times=times)


def test_format_value():
    assert format_value(0.123) == "0.12"
    assert format_value(np.array([-1.0])) == "-1.00"
    assert format_value([0.5, -0.25]) == "[0.50, -0.25]"
    assert format_value("dogs") == "'dogs'"


def test_annotated_cell_writes_every_value_it_was_given():
    values = {
        "x": "dogs",
        "h_prev": 0.12,
        "c_prev": 2.31,
        "i": 0.93,
        "f": 0.04,
        "g": -0.97,
        "o": 0.88,
        "c": -0.81,
        "h": -0.59,
    }
    drawn = texts(diagrams.plot_lstm_cell(values=values, title="unit 7"))
    for text in (
        "$x_t$ = 'dogs'",
        "$h_{t-1}$ = 0.12",
        "$c_{t-1}$ = 2.31",
        "$i_t$ = 0.93",
        "$f_t$ = 0.04",
        "$g_t$ = -0.97",
        "$o_t$ = 0.88",
        "$c_t$ = -0.81",
        "$h_t$ = -0.59",
        "unit 7",
    ):
        assert text in drawn, text
    # What the cell computes on the way, from the values given: f c_prev, i g, tanh(c).
    for text in (r"$f_t \odot c_{t-1}$ = 0.09", r"$i_t \odot g_t$ = -0.90", r"$\tanh(c_t)$ = -0.67"):
        assert text in drawn, text


def test_annotated_cell_with_a_few_units():
    values = {"f": [0.1, 0.9], "c_prev": [1.0, -2.0]}
    drawn = texts(diagrams.plot_lstm_cell(values=values))
    assert "$f_t$ = [0.10, 0.90]" in drawn
    assert r"$f_t \odot c_{t-1}$ = [0.10, -1.80]" in drawn
    # Values not given keep their plain symbol.
    assert "$g_t$" in drawn


@pytest.mark.parametrize(
    "values, message",
    [
        ({"forget": 0.5}, "unknown keys"),
        ({"f": [0.1, 0.2], "i": 0.3}, "same"),
        ({"f": np.zeros(4)}, "1 to 3"),
    ],
)
def test_annotated_cell_refuses_values_it_cannot_place(values, message):
    with pytest.raises(ValueError, match=message):
        diagrams.plot_lstm_cell(values=values)


def test_lstm_step_values_are_the_reference_step(rng):
    params = init_params("lstm", 3, 5, rng)
    x, h_prev, c_prev = rng.standard_normal((2, 3)), rng.standard_normal((2, 5)), rng.standard_normal((2, 5))
    h, c, cache = lstm_step_forward(x, h_prev, c_prev, params)
    values = diagrams.lstm_step_values(cache, units=[1, 4], row=1)
    np.testing.assert_allclose(values["c"], c[1, [1, 4]], rtol=1e-12)
    np.testing.assert_allclose(values["h"], h[1, [1, 4]], rtol=1e-12)
    np.testing.assert_array_equal(values["f"], cache.f[1, [1, 4]])
    np.testing.assert_array_equal(values["c_prev"], c_prev[1, [1, 4]])
    assert set(values) == {"h_prev", "c_prev", "i", "f", "g", "o", "c", "h"}
    # And the cell writes them.
    drawn = texts(diagrams.plot_lstm_cell(values={k: v[0] for k, v in values.items()}))
    assert f"$c_t$ = {c[1, 1]:.2f}" in drawn


def test_stacked_rnn_draws_one_row_per_layer():
    drawn = texts(diagrams.plot_stacked_rnn(layers=3, steps=2))
    assert "layer 3" in drawn and "$h^{(3)}_{2}$" in drawn and "$h^{(1)}_{3}$" not in drawn


def test_vocabulary_chain_arrows_and_nodes():
    from lstm_course.plot.diagrams import vocabulary

    ax = vocabulary.canvas(None, (0, 8), (0, 2))
    shapes = vocabulary.chain(ax, ["$a$", "...", "$b$"], y=1.0, spacing=3.0)
    assert shapes[1] is None and shapes[0].right == (0.5, 1.0) and shapes[2].left == (5.5, 1.0)
    # An arrow between two shapes is clipped at both outlines.
    link = vocabulary.arrow(ax, shapes[0], shapes[2], style="gradient")
    assert link.patchA is shapes[0].patch and link.patchB is shapes[2].patch
    for kind, text in vocabulary.OPERATIONS.items():
        vocabulary.node(ax, (1.0, 1.0), kind)
        assert text in texts(ax)
    with pytest.raises(ValueError, match="style"):
        vocabulary.arrow(ax, (0, 0), (1, 1), style="dotted")


def test_book_shapes_draws_one_input_box_per_x_and_refuses_a_bad_shape():
    ax = diagrams.plot_book_shapes(shapes={"mine": ("xx.", ".yy", ("model A",))})
    assert texts(ax).count("$x_{1}$") == 1 and "$x_{2}$" in texts(ax) and "$x_{3}$" not in texts(ax)
    assert "$y_{2}$" in texts(ax) and "• model A" in texts(ax)
    with pytest.raises(ValueError, match="shapes"):
        diagrams.plot_book_shapes(shapes={"bad": ("xx", "y", ())})
    with pytest.raises(ValueError, match="shapes"):
        diagrams.plot_book_shapes(shapes={})
