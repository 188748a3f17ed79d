"""lstm_course: the package behind the LSTM course.

Layers, one way only (data flows down this list):

- ``lstm_course.cellspec``: the cell types (gates in torch's order, states), read by both implementations.
- ``lstm_course.reference``: pure NumPy equations, forward and hand-written backward through time.
- ``lstm_course.nn``: PyTorch modules written from the same equations, weight-compatible with ``torch.nn``.
- ``lstm_course.tasks``: the data every model trains on (synthetic tasks, offline corpora).
- ``lstm_course.train``: the training loop and checkpoints.
- ``lstm_course.experiments``: the experiments the chapters run, as functions tests can run small.
- ``lstm_course.plot``: figures; they take data and return an Axes, and train nothing.
- ``lstm_course.checks``: exercise checks with feedback that names the mistake.
- ``lstm_course.grading``: the exercise notebook builder and the grader (student code runs elsewhere).
"""

__version__ = "0.1.0"

from lstm_course.source import show_source  # noqa: E402 - after the version, which the build reads

__all__ = ["__version__", "show_source"]
