"""The tools around the exercise notebooks: building them from their sources, and grading submissions.

``lstm_course.grading.notebooks`` builds the student notebooks from the single sources in
``exercises/source/``; ``lstm_course.grading.grader`` grades submissions through nbval in a subprocess, with
``lstm_course.grading.nbval_plugin`` recording every cell's result there; ``lstm_course.grading.report``
writes and prints the grade table. The checks the notebooks call live in ``lstm_course.checks``.
"""
