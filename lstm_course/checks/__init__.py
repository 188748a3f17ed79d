"""Exercise checks whose feedback names the mistake, and the tools around the exercise notebooks.

One module per exercise topic, each with ``check_*`` functions that a notebook's check cells call:
``lstm_course.checks.activations`` (01), ``lstm_course.checks.rnn`` (02),
``lstm_course.checks.gradients`` (03), ``lstm_course.checks.lstm`` (04),
``lstm_course.checks.adding`` (05). They share ``lstm_course.checks.harness``: fresh seeds, calling
student code safely, comparing arrays, and trying known mistake-variants.

Around them: ``lstm_course.checks.notebooks`` builds the student notebooks from the single sources in
``exercises/source/``, ``lstm_course.checks.grading`` grades submissions through nbval, and
``lstm_course.checks.nbval_log`` is the pytest plugin the grader uses to record every cell's result.
"""
