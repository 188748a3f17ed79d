"""Architecture diagrams with the chapters' symbols, drawn with one vocabulary
(``lstm_course.plot.diagrams.vocabulary``).

Every function takes an optional Axes and returns it, like the rest of :mod:`lstm_course.plot`; the annotated
LSTM cell takes a trained model's values at one step and writes them on the picture. Nothing here trains.
"""

from lstm_course.plot.diagrams.cells import lstm_step_values, plot_gru_cell, plot_lstm_cell
from lstm_course.plot.diagrams.networks import (
    plot_attention,
    plot_bidirectional,
    plot_book_shapes,
    plot_encoder_decoder,
    plot_feedforward_vs_recurrent,
    plot_sequence_shapes,
    plot_stacked_rnn,
    plot_unrolled_rnn,
)

__all__ = [
    "lstm_step_values",
    "plot_attention",
    "plot_bidirectional",
    "plot_book_shapes",
    "plot_encoder_decoder",
    "plot_feedforward_vs_recurrent",
    "plot_gru_cell",
    "plot_lstm_cell",
    "plot_sequence_shapes",
    "plot_stacked_rnn",
    "plot_unrolled_rnn",
]
