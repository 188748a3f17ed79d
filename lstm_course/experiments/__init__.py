"""The experiments the chapters run, one module per experiment.

Each is a plain function. One that trains takes a small frozen config dataclass for its model and task
sizes and a :class:`lstm_course.train.TrainConfig` for its training (each module's ``*_training()`` gives the
chapter's defaults): the chapter runs it full size at build time and the tests run it small. Results are
small tuples of NumPy arrays and numbers that ``lstm_course.plot`` can draw.
"""
