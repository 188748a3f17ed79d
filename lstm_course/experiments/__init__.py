"""The experiments the chapters run, one module per experiment.

Each is a plain function with its sizes as arguments: the chapter runs it full size at build time and the
tests run it small. Results are small tuples of NumPy arrays and numbers that ``lstm_course.plot`` can draw.
"""
