"""What ``bench/bench.py`` measures and how the book shows it.

- :mod:`~lstm_course.benchmarks.naive`: the tutorial-style baseline (one matmul per gate, plain autograd);
- :mod:`~lstm_course.benchmarks.shapes`: the shapes timed, read from the experiments' configs;
- :mod:`~lstm_course.benchmarks.results`: the results file (timings and provenance), validated, as a table.
"""
