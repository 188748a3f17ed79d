"""Exercise checks whose feedback names the mistake, and the tools around the exercise notebooks.

One module per exercise topic, each with ``check_*`` functions that a notebook's check cells call:
:mod:`~lstm_course.checks.activations` (01), :mod:`~lstm_course.checks.rnn` (02),
:mod:`~lstm_course.checks.gradients` (03), :mod:`~lstm_course.checks.lstm` (04),
:mod:`~lstm_course.checks.adding` (05). They share :mod:`~lstm_course.checks.harness`: fresh seeds, calling
student code safely, comparing arrays, and trying known mistake-variants.

Around them: :mod:`~lstm_course.checks.notebooks` builds the student notebooks from the single sources in
``exercises/source/``, :mod:`~lstm_course.checks.grading` grades submissions through nbval, and
:mod:`~lstm_course.checks.nbval_log` is the pytest plugin the grader uses to record every cell's result.
"""
