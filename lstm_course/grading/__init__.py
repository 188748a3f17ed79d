"""The tools around the exercise notebooks: building them from their sources, and grading submissions.

``lstm_course.grading.notebooks`` builds the student notebooks from the single sources in
``exercises/source/``. ``lstm_course.grading.grader`` grades submissions: each runs in its own process
(``lstm_course.grading.child``, started in a sandbox by ``lstm_course.grading.sandbox``), which sends back
only data (``lstm_course.grading.protocol``), while the checks, the points and the feedback are computed in
the grader. ``lstm_course.grading.report`` writes the grade table, the students' feedback and the class
summary. ``lstm_course.grading.nbval_plugin`` logs cell results for the students' ``pytest --nbval-lax``
route. The checks themselves live in ``lstm_course.checks``.
"""
