"""Two-subject stories from a small grammar, for the gate stories of the LSTM chapter.

A story has three sentences::

    alice from the town is kind . the dogs , on the other hand , by the river are cruel . they are tall .

The words that agree with the *current* subject are scored: the verb of each sentence (``is`` /
``are``) and the pronoun that opens the last sentence (``she`` / ``he`` / ``they``, for the second
subject). The model reads one word per step and predicts the next word, but only at the steps just before
an agreeing word does that prediction count. Prepositional phrases (``by the river``) between a subject
and its verb set the lag the model has to bridge.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

FEMALE = ("alice", "mary")
MALE = ("bob", "tom")
PLURAL = ("cats", "dogs")  # always preceded by "the"
ADJECTIVES = ("kind", "cruel", "tall", "happy", "quiet", "loud")
PLACES = ("river", "mill", "hill", "town", "lake", "bridge", "forest")
PREPOSITIONS = ("from", "by", "near", "on", "in")
CONTRAST = (",", "on", "the", "other", "hand", ",")

#: The pronoun and verb of each subject class.
PRONOUN = {"female": "she", "male": "he", "plural": "they"}
VERB = {"female": "is", "male": "is", "plural": "are"}

PAD = "<pad>"
VOCAB: tuple[str, ...] = tuple(
    dict.fromkeys(
        (PAD, ".", ",", "the", "other", "hand", "is", "are", "she", "he", "they")
        + FEMALE
        + MALE
        + PLURAL
        + ADJECTIVES
        + PLACES
        + PREPOSITIONS
    )
)
WORD_INDEX = {w: i for i, w in enumerate(VOCAB)}
#: Target value of the steps that are not scored (torch's default ``ignore_index``).
IGNORE = -100


class Story(NamedTuple):
    """One story: its words and, per word, what is scored at that step.

    words: (T,) the words. targets: (T,) index of the next word where it agrees with the current subject, else
    ``IGNORE``. lags: (T,) steps from the current subject's word to the scored step, -1 where not scored.
    subjects: (T,) the class of the current subject ("female", "male", "plural") per word.
    starts: the step where each of the three subjects begins (its first word, "the" for "the dogs").
    """

    words: list[str]
    targets: np.ndarray
    lags: np.ndarray
    subjects: list[str]
    starts: tuple[int, ...]


class GrammarBatch(NamedTuple):
    """A padded batch of stories, time-major.

    x: (T, B, V) one-hot words, float32. y: (T, B) int64 targets (``IGNORE`` where not scored or padded).
    lags: (T, B) int64, -1 where not scored. lengths: (B,) the number of real words per story.
    """

    x: np.ndarray
    y: np.ndarray
    lags: np.ndarray
    lengths: np.ndarray


def _subject(rng: np.random.Generator) -> tuple[str, list[str]]:
    """A random subject class and its words, e.g. ("plural", ["the", "dogs"])."""
    kind = ("female", "male", "plural")[rng.integers(3)]
    names = {"female": FEMALE, "male": MALE, "plural": PLURAL}[kind]
    name = names[rng.integers(len(names))]
    return kind, (["the", name] if kind == "plural" else [name])


def _phrases(rng: np.random.Generator, count: int) -> list[str]:
    """``count`` prepositional phrases such as "by the river"."""
    words: list[str] = []
    for _ in range(count):
        words += [PREPOSITIONS[rng.integers(len(PREPOSITIONS))], "the", PLACES[rng.integers(len(PLACES))]]
    return words


def _check_phrase_range(min_phrases: int, max_phrases: int) -> None:
    if not (isinstance(min_phrases, (int, np.integer)) and isinstance(max_phrases, (int, np.integer))):
        raise TypeError(f"min_phrases and max_phrases must be ints, got {min_phrases!r} and {max_phrases!r}")
    if not 0 <= min_phrases <= max_phrases:
        raise ValueError(f"need 0 <= min_phrases <= max_phrases, got {min_phrases} and {max_phrases}")


def story(rng: np.random.Generator, *, min_phrases: int = 0, max_phrases: int = 3) -> Story:
    """A random three-sentence story; each named subject gets ``min_phrases..max_phrases`` phrases."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    _check_phrase_range(min_phrases, max_phrases)
    words: list[str] = []
    subjects: list[str] = []
    scored: dict[int, tuple[str, int]] = {}  # step -> (next word, lag)
    starts: list[int] = []

    def add(new: list[str], kind: str) -> None:
        words.extend(new)
        subjects.extend([kind] * len(new))

    def sentence(kind: str, subject_words: list[str], contrast: bool, phrases: bool = True) -> None:
        starts.append(len(words))
        add(subject_words, kind)
        subject_at = len(words) - 1
        count = int(rng.integers(min_phrases, max_phrases + 1)) if phrases else 0
        middle = (list(CONTRAST) if contrast else []) + _phrases(rng, count)
        add(middle, kind)
        scored[len(words) - 1] = (VERB[kind], len(words) - 1 - subject_at)
        add([VERB[kind], ADJECTIVES[rng.integers(len(ADJECTIVES))], "."], kind)

    first_kind, first_words = _subject(rng)
    sentence(first_kind, first_words, contrast=False)
    second_kind, second_words = _subject(rng)
    second_at = len(words) + len(second_words) - 1
    sentence(second_kind, second_words, contrast=bool(rng.integers(2)))
    scored[len(words) - 1] = (PRONOUN[second_kind], len(words) - 1 - second_at)
    sentence(second_kind, [PRONOUN[second_kind]], contrast=False, phrases=False)

    targets = np.full(len(words), IGNORE, dtype=np.int64)
    lags = np.full(len(words), -1, dtype=np.int64)
    for step, (word, lag) in scored.items():
        targets[step], lags[step] = WORD_INDEX[word], lag
    return Story(words, targets, lags, subjects, tuple(starts))


def encode(words: list[str]) -> np.ndarray:
    """(T, V) one-hot float32 rows for a list of words."""
    unknown = [w for w in words if w not in WORD_INDEX]
    if unknown:
        raise ValueError(f"words not in the grammar's VOCAB: {unknown[:5]}")
    x = np.zeros((len(words), len(VOCAB)), dtype=np.float32)
    x[np.arange(len(words)), [WORD_INDEX[w] for w in words]] = 1.0
    return x


def grammar_batch(
    batch_size: int, rng: np.random.Generator, *, min_phrases: int = 0, max_phrases: int = 3
) -> GrammarBatch:
    """A batch of ``batch_size`` random stories, padded at the end with ``<pad>`` (unscored)."""
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    stories = [story(rng, min_phrases=min_phrases, max_phrases=max_phrases) for _ in range(batch_size)]
    lengths = np.array([len(s.words) for s in stories], dtype=np.int64)
    T = int(lengths.max())
    x = np.zeros((T, batch_size, len(VOCAB)), dtype=np.float32)
    x[:, :, WORD_INDEX[PAD]] = 1.0
    y = np.full((T, batch_size), IGNORE, dtype=np.int64)
    lags = np.full((T, batch_size), -1, dtype=np.int64)
    for b, s in enumerate(stories):
        n = len(s.words)
        x[:n, b] = encode(s.words)
        y[:n, b], lags[:n, b] = s.targets, s.lags
    return GrammarBatch(x, y, lags, lengths)
