"""Everything a model trains on. Each task returns NumPy arrays with documented shapes, time-major.

Randomness is explicit: every generator takes an ``rng: np.random.Generator``.
"""

from lstm_course.tasks.adding import ADDING_BASELINE_MSE, adding_batch

__all__ = ["ADDING_BASELINE_MSE", "adding_batch"]
