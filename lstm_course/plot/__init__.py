"""Figures for the book. Every helper takes data and returns a matplotlib ``Axes``; none trains anything.

One module per kind of figure; import from the module, e.g. ``from lstm_course.plot.gradients import ...``.
"""
