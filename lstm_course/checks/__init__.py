"""Exercise checks whose feedback names the mistake.

One module per exercise topic, each with ``check_*`` functions that a notebook's check cells call:
``lstm_course.checks.activations`` (01), ``lstm_course.checks.rnn`` (02),
``lstm_course.checks.gradients`` (03), ``lstm_course.checks.lstm`` (04),
``lstm_course.checks.adding`` (05), ``lstm_course.checks.gru`` (06),
``lstm_course.checks.bidirectional`` (07), ``lstm_course.checks.attention`` (08),
``lstm_course.checks.seq2seq`` (09). They share
``lstm_course.checks.harness``: fresh seeds, calling student code safely, comparing arrays, and trying known
mistake-variants; ``lstm_course.checks.mistakes``: the wrong variants of any registered cell;
``lstm_course.checks.success``: the line a passing check prints.

Building the notebooks and grading them is ``lstm_course.grading``'s job.
"""
