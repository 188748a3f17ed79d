"""Surnames and their language, from the name lists Faker bundles for each locale (MIT licence).

A surname that appears in the lists of two languages is dropped, so every name has one answer. Each language
keeps at most ``per_language`` names, drawn at random, so no language dominates by sheer size. Characters are
lower-cased; names are encoded as character indices, padded with 0 at the end.
"""

from __future__ import annotations

import importlib
from typing import NamedTuple

import numpy as np

#: language -> the Faker locale whose surnames it uses
LOCALES = {
    "Czech": "cs_CZ",
    "Dutch": "nl_NL",
    "Finnish": "fi_FI",
    "French": "fr_FR",
    "German": "de_DE",
    "Irish": "ga_IE",
    "Italian": "it_IT",
    "Polish": "pl_PL",
    "Spanish": "es_ES",
}
LANGUAGES = tuple(LOCALES)
PAD = 0  # the character index that pads a name


def locale_surnames(locale: str) -> list[str]:
    """The surnames Faker lists for ``locale`` (pl_PL keeps them by gender: male and unisex are taken)."""
    provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
    if locale == "pl_PL":
        names = [*provider.male_last_names, *getattr(provider, "unisex_last_names", ())]
    else:
        names = list(provider.last_names)
    return [name for name in names if isinstance(name, str) and name.strip()]


class Surnames(NamedTuple):
    """Names with their language index, and the character vocabulary (index 0 is the padding)."""

    names: list[str]  # lower-cased
    labels: np.ndarray  # (N,) int64 index into LANGUAGES
    chars: str  # chars[k - 1] is the character with index k; 0 pads


def load_surnames(per_language: int = 400, seed: int = 0) -> Surnames:
    """At most ``per_language`` unambiguous surnames per language, shuffled with ``seed``."""
    if isinstance(per_language, bool) or not isinstance(per_language, int) or per_language < 1:
        raise ValueError(f"per_language must be a positive int, got {per_language!r}")
    by_language = {lang: {name.lower() for name in locale_surnames(loc)} for lang, loc in LOCALES.items()}
    counts: dict[str, int] = {}
    for language_names in by_language.values():
        for name in language_names:
            counts[name] = counts.get(name, 0) + 1
    rng = np.random.default_rng(seed)
    names: list[str] = []
    labels: list[int] = []
    for label, lang in enumerate(LANGUAGES):
        unique = sorted(name for name in by_language[lang] if counts[name] == 1)
        kept = rng.permutation(len(unique))[:per_language]
        names += [unique[k] for k in kept]
        labels += [label] * len(kept)
    order = rng.permutation(len(names))
    chars = "".join(sorted(set("".join(names))))
    return Surnames([names[k] for k in order], np.asarray(labels, dtype=np.int64)[order], chars)


def encode_names(names: list[str], chars: str) -> tuple[np.ndarray, np.ndarray]:
    """Character indices x (T, N) padded with 0 at the end, and lengths (N,); T is the longest name.

    A character not in ``chars`` raises a KeyError naming it.
    """
    if not names:
        raise ValueError("names must hold at least one name")
    lookup = {ch: k + 1 for k, ch in enumerate(chars)}
    lengths = np.array([len(name) for name in names], dtype=np.int64)
    if lengths.min() < 1:
        raise ValueError("names must not be empty strings")
    x = np.full((lengths.max(), len(names)), PAD, dtype=np.int64)  # (T, N)
    for n, name in enumerate(names):
        try:
            x[: len(name), n] = [lookup[ch] for ch in name]
        except KeyError as err:
            raise KeyError(f"character {err.args[0]!r} of {name!r} is not in the vocabulary") from None
    return x, lengths


def split(data: Surnames, test_fraction: float = 0.2) -> tuple[Surnames, Surnames]:
    """The first 1 - test_fraction of the (already shuffled) names train, the rest test."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction!r}")
    cut = int(round(len(data.names) * (1.0 - test_fraction)))
    return (
        Surnames(data.names[:cut], data.labels[:cut], data.chars),
        Surnames(data.names[cut:], data.labels[cut:], data.chars),
    )
