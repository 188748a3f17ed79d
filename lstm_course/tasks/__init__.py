"""Everything a model trains on. Each task returns NumPy arrays with documented shapes, time-major.

Randomness is explicit: every generator takes an ``rng: np.random.Generator``.

- :mod:`~lstm_course.tasks.adding`: the adding problem (a long-lag regression).
- :mod:`~lstm_course.tasks.order`: which token came first (order matters; a bag of tokens cannot tell).
- :mod:`~lstm_course.tasks.text`: characters of CPython's bundled pydoc topics, for language models.
- :mod:`~lstm_course.tasks.grammar`: generated sentences with subjects, for the gate stories.
- :mod:`~lstm_course.tasks.copy`: read a few symbols, wait, write them back.
- :mod:`~lstm_course.tasks.anbn`: the strings aⁿbⁿ, for counting.
- :mod:`~lstm_course.tasks.cuisine`: generated two-person cuisine stories, for the GRU's update-gate story.
- :mod:`~lstm_course.tasks.dates`: dates in many languages and formats, to translate into ISO dates (seq2seq).
"""

from lstm_course.tasks.adding import ADDING_BASELINE_MSE, adding_batch
from lstm_course.tasks.grammar import grammar_batch
from lstm_course.tasks.order import order_batch
from lstm_course.tasks.text import CharVocab, char_lm_batch, pydoc_text

__all__ = [
    "ADDING_BASELINE_MSE",
    "CharVocab",
    "adding_batch",
    "char_lm_batch",
    "grammar_batch",
    "order_batch",
    "pydoc_text",
]
