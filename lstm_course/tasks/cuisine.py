"""Two-person cuisine stories, generated, for the GRU's update-gate story.

"Dhaval eats samosa almost every day , so Dhaval 's favourite cuisine is Indian . their brother Bhavin ,
however , loves pasta , so Bhavin 's favourite cuisine is Italian ." A model reads the words one by one and,
at each "is", predicts the cuisine that follows. The first answer needs the first person's dish, kept over
the words after it; the second needs the second person's dish, which must overwrite it. Between the two, 0
to ``max_fillers`` filler sentences about the first person lengthen the wait.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

CUISINES = ("Indian", "Italian", "Japanese", "Mexican", "Chinese")
DISHES = {
    "Indian": ("samosa", "biryani", "dosa", "paneer"),
    "Italian": ("pasta", "pizza", "risotto", "lasagna"),
    "Japanese": ("sushi", "ramen", "tempura", "udon"),
    "Mexican": ("tacos", "burritos", "enchiladas", "tamales"),
    "Chinese": ("dumplings", "chow-mein", "wontons", "dim-sum"),
}
NAMES = (
    "Dhaval", "Bhavin", "Asha", "Maria", "Luca", "Giulia", "Kenji", "Yuki", "Carlos", "Sofia", "Wei", "Mei",
    "Omar", "Lena", "Jonas", "Amara", "Ravi", "Nina", "Tom", "Ines",
)  # fmt: skip
RELATIONS = ("brother", "sister", "friend", "cousin", "neighbour")
FREQUENCIES = (("almost", "every", "day"), ("every", "week"), ("whenever", "possible"))
FILLERS = (
    ("{a}", "lives", "in", "a", "small", "town", "."),
    ("{a}", "works", "at", "the", "library", "."),
    ("{a}", "has", "a", "cat", "."),
    ("{a}", "likes", "long", "walks", "."),
)
GLUE = (".", ",", "eats", "so", "'s", "favourite", "cuisine", "is", "the", "however", "loves", "their")
IGNORE = -100  # the target of a step that is not scored (torch's cross_entropy ignore_index)


def _vocabulary() -> tuple[str, ...]:
    words = ["<pad>", *CUISINES, *NAMES, *RELATIONS, *GLUE]
    words += [dish for dishes in DISHES.values() for dish in dishes]
    words += [word for words_ in FREQUENCIES for word in words_]
    words += [word for filler in FILLERS for word in filler if word != "{a}"]
    return tuple(dict.fromkeys(words))  # unique, in first-seen order; <pad> is 0


VOCAB = _vocabulary()
INDEX = {word: k for k, word in enumerate(VOCAB)}


class CuisineStory(NamedTuple):
    """One story: its words, the answer at each "is", and where its parts are (word positions)."""

    words: list[str]
    answers: dict[int, int]  # position of an "is" -> the cuisine (index into CUISINES) that follows it
    first_dish: int  # position of the first person's dish
    second_name: int  # position of the second person's name
    second_dish: int  # position of the second person's dish
    cuisines: tuple[int, int]  # the first and the second person's cuisine


def story(rng: np.random.Generator, max_fillers: int = 2) -> CuisineStory:
    """A random two-person story with two different cuisines and 0 .. ``max_fillers`` filler sentences."""
    first, second = rng.choice(len(CUISINES), size=2, replace=False)
    name_a, name_b = (str(name) for name in rng.choice(NAMES, size=2, replace=False))
    dish_a = str(rng.choice(DISHES[CUISINES[first]]))
    dish_b = str(rng.choice(DISHES[CUISINES[second]]))
    frequency = FREQUENCIES[rng.integers(len(FREQUENCIES))]
    words = [name_a, "eats", dish_a, *frequency, ",", "so", name_a, "'s", "favourite", "cuisine", "is"]
    answers = {len(words) - 1: int(first)}
    words += [CUISINES[first], "."]
    for k in rng.choice(len(FILLERS), size=rng.integers(0, max_fillers + 1), replace=False):
        words += [name_a if word == "{a}" else word for word in FILLERS[k]]
    words += ["their", RELATIONS[rng.integers(len(RELATIONS))]]
    second_name = len(words)
    words += [name_b, ",", "however", ",", "loves"]
    second_dish = len(words)
    words += [dish_b, ",", "so", name_b, "'s", "favourite", "cuisine", "is"]
    answers[len(words) - 1] = int(second)
    words += [CUISINES[second], "."]
    return CuisineStory(words, answers, 2, second_name, second_dish, (int(first), int(second)))


class CuisineBatch(NamedTuple):
    """x (T, B) int64 word indices (0 pads), y (T, B) int64 the cuisine at each "is" (IGNORE elsewhere),
    lengths (B,), and the stories."""

    x: np.ndarray
    y: np.ndarray
    lengths: np.ndarray
    stories: list[CuisineStory]


def encode(words: list[str]) -> np.ndarray:
    """(T,) int64 indices of ``words``."""
    return np.array([INDEX[word] for word in words], dtype=np.int64)


def batch_of(stories: list[CuisineStory]) -> CuisineBatch:
    """The stories padded into one batch."""
    lengths = np.array([len(s.words) for s in stories])
    x = np.zeros((lengths.max(), len(stories)), dtype=np.int64)
    y = np.full(x.shape, IGNORE, dtype=np.int64)
    for b, s in enumerate(stories):
        x[: lengths[b], b] = encode(s.words)
        for position, cuisine in s.answers.items():
            y[position, b] = cuisine
    return CuisineBatch(x, y, lengths, stories)


def cuisine_batch(batch_size: int, rng: np.random.Generator, max_fillers: int = 2) -> CuisineBatch:
    """``batch_size`` random stories, padded."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
    return batch_of([story(rng, max_fillers) for _ in range(batch_size)])
