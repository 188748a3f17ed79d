"""Template sentences with Faker's names, cities and companies, tagged BIO exactly (chapter 6).

Four templates, each tagged by construction (no tagger guesses a tag)::

    john smith lives in aachen .             B-PER I-PER O O B-LOC O
    john smith works for roth inc .          B-PER I-PER O O B-ORG I-ORG O
    roth inc moved to aachen .               B-ORG I-ORG O O B-LOC O
    yesterday horn , as usual , said so .    O B-PER O O O O O O O      (or: ... horn , as usual , flooded .)

The last template holds the **ambiguous token**: a word that is a surname in Faker's ``en_US`` list *and* a
city in one of its city lists (``horn``, ``hall``, ``roth``, ...). The words before it are the same for both
readings; only the deciding word after it (``said`` for a person, ``flooded`` for a place), ``lookahead``
steps ahead, tells its tag. Between them sit 0 to ``max_gap`` neutral filler words. Every other token's tag
follows from the token itself and the words before it, so a model that reads left to right can tag all of them
and guess only the ambiguous one.

Needs ``faker`` (the book and test extras). Words are lower case; the pools are fixed at import (sorted, then
a seeded draw), so the vocabulary is the same on every machine with the same Faker version.
"""

from __future__ import annotations

import importlib
from typing import NamedTuple

import numpy as np

TAGS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG")
TAG_INDEX = {tag: k for k, tag in enumerate(TAGS)}
#: Target value of padded steps (torch's default ``ignore_index``).
IGNORE = -100
PAD = "<pad>"

# Faker's locales whose address providers list real city names
CITY_LOCALES = ("de_DE", "it_IT", "nl_NL", "nl_BE")
POOL_SIZE = 40  # first names, surnames and cities drawn for the vocabulary
POOL_SEED = 2024  # the draw of the pools

PREFIXES = ((), ("yesterday",), ("we", "heard", "that"), ("in", "the", "news", ","))
FILLERS = ("as", "usual", "once", "again", "then", "indeed", "still", "also")
PERSON_ENDINGS = (("said", "so"), ("smiled",), ("wrote", "a", "letter"), ("laughed",))
PLACE_ENDINGS = (("flooded",), ("grew", "quickly"), ("has", "a", "port"), ("was", "rebuilt"))
TEMPLATE_WORDS = ("lives", "in", "works", "for", "moved", "to", ".", ",")


def _plain_words(names) -> list[str]:
    """Lower-case one-word names (letters only), sorted and without repeats."""
    return sorted({name.lower() for name in names if name.isalpha()})


def _faker_pools() -> dict[str, tuple[str, ...]]:
    """The word pools, from Faker's provider lists: first names, surnames, cities, ambiguous, suffixes."""
    person = importlib.import_module("faker.providers.person.en_US").Provider
    company = importlib.import_module("faker.providers.company.en_US").Provider
    surnames = _plain_words(person.last_names)
    cities = _plain_words(
        city
        for locale in CITY_LOCALES
        for city in importlib.import_module(f"faker.providers.address.{locale}").Provider.cities
    )
    firsts = _plain_words(person.first_names)
    ambiguous = sorted(set(surnames) & set(cities) - set(firsts))
    rng = np.random.default_rng(POOL_SEED)

    def draw(words: list[str]) -> tuple[str, ...]:
        # pools stay disjoint from each other, so only the ambiguous words carry two readings
        kept = [w for w in words if w not in ambiguous]
        return tuple(sorted(rng.choice(kept, size=POOL_SIZE, replace=False).tolist()))

    suffixes = tuple(s.lower() for s in company.company_suffixes)  # "inc", "and sons", ...
    return {
        "first": draw([w for w in firsts if w not in surnames and w not in cities]),
        "surname": draw([w for w in surnames if w not in firsts and w not in cities]),
        "city": draw([w for w in cities if w not in firsts and w not in surnames]),
        "ambiguous": tuple(ambiguous),
        "suffix": suffixes,
    }


POOLS = _faker_pools()
FIRST_NAMES, SURNAMES, CITIES = POOLS["first"], POOLS["surname"], POOLS["city"]
AMBIGUOUS = POOLS["ambiguous"]  # surnames that are also cities
COMPANY_SUFFIXES = tuple(
    tuple(suffix.split()) for suffix in POOLS["suffix"]
)  # ("and", "sons"), ("inc",), ...

VOCAB: tuple[str, ...] = tuple(
    dict.fromkeys(
        (PAD, *TEMPLATE_WORDS)
        + tuple(w for prefix in PREFIXES for w in prefix)
        + FILLERS
        + tuple(w for ending in PERSON_ENDINGS + PLACE_ENDINGS for w in ending)
        + tuple(w for suffix in COMPANY_SUFFIXES for w in suffix)
        + FIRST_NAMES
        + SURNAMES
        + CITIES
        + AMBIGUOUS
    )
)
WORD_INDEX = {w: k for k, w in enumerate(VOCAB)}


class Sentence(NamedTuple):
    """One tagged sentence.

    words: (T,) the words. tags: (T,) their BIO tags. lookahead: (T,) int64, how many steps ahead the word
    that decides the tag is (0: the word and the words before it decide). ambiguous: (T,) bool, the words
    with two readings.
    """

    words: list[str]
    tags: list[str]
    lookahead: np.ndarray
    ambiguous: np.ndarray


class TaggingBatch(NamedTuple):
    """A padded batch of sentences, time-major.

    x: (T, B, V) one-hot words, float32, padded with ``<pad>``. y: (T, B) int64 tag indices, ``IGNORE`` at
    padding. lookahead: (T, B) int64, -1 at padding. ambiguous: (T, B) bool. lengths: (B,) real words per
    sentence.
    """

    x: np.ndarray
    y: np.ndarray
    lookahead: np.ndarray
    ambiguous: np.ndarray
    lengths: np.ndarray


def _pick(rng: np.random.Generator, options):
    return options[rng.integers(len(options))]


def _person(rng: np.random.Generator) -> list[tuple[str, str]]:
    return [(_pick(rng, FIRST_NAMES), "B-PER"), (_pick(rng, SURNAMES), "I-PER")]


def _company(rng: np.random.Generator) -> list[tuple[str, str]]:
    suffix = _pick(rng, COMPANY_SUFFIXES)
    return [(_pick(rng, SURNAMES), "B-ORG")] + [(w, "I-ORG") for w in suffix]


def _city(rng: np.random.Generator) -> list[tuple[str, str]]:
    return [(_pick(rng, CITIES), "B-LOC")]


def _outside(words) -> list[tuple[str, str]]:
    return [(w, "O") for w in words]


def _check_gap(max_gap: object) -> int:
    if isinstance(max_gap, bool) or not isinstance(max_gap, (int, np.integer)) or max_gap < 0:
        raise ValueError(f"max_gap must be an int >= 0, got {max_gap!r}")
    return int(max_gap)


def sentence(rng: np.random.Generator, *, max_gap: int = 6, ambiguous_share: float = 0.5) -> Sentence:
    """A random tagged sentence; with probability ``ambiguous_share`` the ambiguous template.

    In that template 0..``max_gap`` filler words stand between the ambiguous word and the word deciding it.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    max_gap = _check_gap(max_gap)
    if not 0.0 <= ambiguous_share <= 1.0:
        raise ValueError(f"ambiguous_share must be in [0, 1], got {ambiguous_share!r}")
    lookahead: dict[int, int] = {}
    if rng.random() < ambiguous_share:
        person = bool(rng.integers(2))
        prefix = _outside(_pick(rng, PREFIXES))
        gap = int(rng.integers(max_gap + 1))
        fillers = _outside(rng.choice(FILLERS, size=gap).tolist())
        ending = _outside(_pick(rng, PERSON_ENDINGS if person else PLACE_ENDINGS))
        tagged = prefix + [(_pick(rng, AMBIGUOUS), "B-PER" if person else "B-LOC")] + fillers + ending
        lookahead[len(prefix)] = gap + 1  # the first word of the ending decides
    else:
        template = int(rng.integers(3))
        if template == 0:
            tagged = _person(rng) + _outside(["lives", "in"]) + _city(rng)
        elif template == 1:
            tagged = _person(rng) + _outside(["works", "for"]) + _company(rng)
        else:
            tagged = _company(rng) + _outside(["moved", "to"]) + _city(rng)
    tagged += [(".", "O")]
    words, tags = (list(column) for column in zip(*tagged, strict=True))
    steps = np.zeros(len(words), dtype=np.int64)
    for at, ahead in lookahead.items():
        steps[at] = ahead
    return Sentence(words, tags, steps, np.array([w in AMBIGUOUS for w in words]))


def encode(words: list[str]) -> np.ndarray:
    """(T, V) one-hot float32 rows for a list of words."""
    unknown = [w for w in words if w not in WORD_INDEX]
    if unknown:
        raise ValueError(f"words not in the tagging VOCAB: {unknown[:5]}")
    x = np.zeros((len(words), len(VOCAB)), dtype=np.float32)
    x[np.arange(len(words)), [WORD_INDEX[w] for w in words]] = 1.0
    return x


def pad_batch(sentences: list[Sentence], total_length: int | None = None) -> TaggingBatch:
    """Sentences padded at the end with ``<pad>`` to the longest (or to ``total_length``)."""
    lengths = np.array([len(s.words) for s in sentences], dtype=np.int64)
    T = int(lengths.max()) if total_length is None else int(total_length)
    if T < lengths.max():
        raise ValueError(
            f"total_length {total_length} is shorter than the longest sentence ({lengths.max()})"
        )
    B = len(sentences)
    x = np.zeros((T, B, len(VOCAB)), dtype=np.float32)
    x[:, :, WORD_INDEX[PAD]] = 1.0
    y = np.full((T, B), IGNORE, dtype=np.int64)
    lookahead = np.full((T, B), -1, dtype=np.int64)
    ambiguous = np.zeros((T, B), dtype=bool)
    for b, s in enumerate(sentences):
        n = len(s.words)
        x[:n, b] = encode(s.words)
        y[:n, b] = [TAG_INDEX[tag] for tag in s.tags]
        lookahead[:n, b], ambiguous[:n, b] = s.lookahead, s.ambiguous
    return TaggingBatch(x, y, lookahead, ambiguous, lengths)


def tagging_batch(
    batch_size: int,
    rng: np.random.Generator,
    *,
    max_gap: int = 6,
    ambiguous_share: float = 0.5,
    total_length: int | None = None,
) -> TaggingBatch:
    """A batch of ``batch_size`` random sentences (see :func:`sentence`), padded with :func:`pad_batch`."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    sentences = [sentence(rng, max_gap=max_gap, ambiguous_share=ambiguous_share) for _ in range(batch_size)]
    return pad_batch(sentences, total_length)


def lengths_from_x(x) -> np.ndarray:
    """(B,) the real length of each sentence of a one-hot batch x (T, B, V): its steps that are not pad."""
    return (np.asarray(x)[:, :, WORD_INDEX[PAD]] == 0).sum(axis=0)


# ---- the same sentences as characters, for the bidirectional "language model" ----------------------------

CHARS = PAD[0] + "".join(sorted({ch for word in VOCAB[1:] for ch in word} | {" "}))  # index 0 pads


class CharBatch(NamedTuple):
    """Sentences as characters, time-major: x (T, B, C) one-hot float32 (index 0 pads), y (T, B) int64 the
    next character (``IGNORE`` after the last one), lengths (B,)."""

    x: np.ndarray
    y: np.ndarray
    lengths: np.ndarray


def char_indices(text: str) -> np.ndarray:
    """(len(text),) int64 indices into CHARS; a character outside it raises a ValueError naming it."""
    unknown = sorted(set(text) - set(CHARS[1:]))
    if unknown:
        raise ValueError(f"characters not in CHARS: {unknown}")
    return np.array([CHARS.index(ch) for ch in text], dtype=np.int64)


def char_batch_of(texts: list[str]) -> CharBatch:
    """The texts as a padded :class:`CharBatch`: y[t] is the character after x[t], ``IGNORE`` past the end."""
    lengths = np.array([len(text) for text in texts], dtype=np.int64)
    T, B = int(lengths.max()), len(texts)
    index = np.zeros((T, B), dtype=np.int64)
    y = np.full((T, B), IGNORE, dtype=np.int64)
    for b, text in enumerate(texts):
        codes = char_indices(text)
        index[: len(text), b] = codes
        y[: len(text) - 1, b] = codes[1:]
    x = np.eye(len(CHARS), dtype=np.float32)[index]  # (T, B, C); padding is the one-hot of index 0
    return CharBatch(x, y, lengths)


def char_batch(batch_size: int, rng: np.random.Generator, *, max_gap: int = 6) -> CharBatch:
    """``batch_size`` random sentences (:func:`sentence`) spelt out as characters, words joined by spaces."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    return char_batch_of([" ".join(sentence(rng, max_gap=max_gap).words) for _ in range(batch_size)])
