"""Dates written in many languages and formats, to translate into ISO dates (chapters 7 and 8).

A source is one date rendered by ``babel.dates`` (bundled CLDR data, nothing is downloaded) in one locale and
one pattern; its target is the same date as ``YYYY-MM-DD``::

    Dienstag, 29. September 2026                 de_DE  full        ->  2026-09-29
    martes, 29 de septiembre de 2026             es_ES  full        ->  2026-09-29
    Sep 29, 2026                                 en_US  medium      ->  2026-09-29
    29/9/26                                      es_ES  short       ->  2026-09-29
    2026/09/29                                   it_IT  y/MM/dd     ->  2026-09-29

Every mapping is a function of the source alone:

- dates lie in a 100-year window, 1950-01-01 to 2049-12-31, so a two-digit year has one reading (``26`` is
  2026, ``51`` is 1951);
- every numeric pattern puts the day before the month, or starts with the four-digit year. The one month-first
  numeric format among the locales, ``en_US``'s short ``M/d/yy``, is left out: ``9/5/26`` would read as 9 May
  in ``es_ES``.

With ``max_dates`` K > 1 a source holds k = 1..K dates (k uniform), each rendered as above, joined by
``"; "``; the target is their ISO dates in order, joined by one space::

    29/9/26; Sep 29, 2026                                          ->  2026-09-29 2026-09-29

so the information a source carries grows with its length, as in translation (chapter 8). The target
characters then include the space: use ``target_vocab(max_dates=K)``. ``max_dates=1`` (the default) draws
exactly the single-date splits, draw for draw.

The **long** split holds the sources of at least ``long_min_chars`` characters (the full formats with long
weekday and month names), and train, validation and test hold none of them: a model is tested on sources
longer than any it was trained on. Splits are disjoint by source.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from lstm_course.tasks.text import CharVocab

#: The window of dates: every date from FIRST_DATE to LAST_DATE inclusive.
FIRST_DATE = datetime.date(1950, 1, 1)
LAST_DATE = datetime.date(2049, 12, 31)
#: babel's named formats in every locale, and numeric patterns (day before month, or year first) once.
NAMED_FORMATS = ("full", "long", "medium", "short")
NUMERIC_PATTERNS = ("d.M.y", "y/MM/dd")
#: (locale, format) pairs left out because their reading would be ambiguous (month before day).
EXCLUDED = frozenset({("en_US", "short")})
#: Characters of an ISO date.
TARGET_CHARS = "-0123456789"
TARGET_LENGTH = 10  # len("YYYY-MM-DD")
#: Between the dates of a multi-date source, and between their ISO dates in its target.
SOURCE_SEPARATOR = "; "
TARGET_SEPARATOR = " "


def _check_positive_int(name: str, value: object, minimum: int = 1) -> None:
    """Raise a ValueError naming ``name`` unless value is an int (not a bool) >= minimum."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"DatesConfig.{name} must be an int >= {minimum}, got {value!r}")


@dataclass(frozen=True)
class DatesConfig:
    """How many dates of each split, from which locales, and where the long split starts."""

    n_train: int = 20_000  # training pairs
    n_valid: int = 1_000  # validation pairs
    n_test: int = 1_000  # test pairs, same length range as train
    n_long: int = 1_000  # pairs with sources of at least long_min_chars characters
    seed: int = 0  # the draw of dates, locales and formats
    locales: tuple[str, ...] = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "pt_BR", "nl_NL")
    long_min_chars: int = 30  # sources this long or longer go to the long split only
    max_dates: int = 1  # K: each source holds k = 1..K dates (uniform), K = 1 the single-date task

    def __post_init__(self) -> None:
        for name in ("n_train", "n_valid", "n_test"):
            _check_positive_int(name, getattr(self, name))
        _check_positive_int("n_long", self.n_long, minimum=0)  # 0: sources that long are dropped
        _check_positive_int("max_dates", self.max_dates)
        _check_positive_int("seed", self.seed, minimum=0)
        _check_positive_int("long_min_chars", self.long_min_chars, minimum=TARGET_LENGTH)
        if not isinstance(self.locales, tuple) or not self.locales:
            raise ValueError(
                f"DatesConfig.locales must be a non-empty tuple of locale names, got {self.locales!r}"
            )
        from babel import Locale, UnknownLocaleError

        for locale in self.locales:
            try:
                Locale.parse(locale)
            except (UnknownLocaleError, ValueError, TypeError) as err:
                message = f"DatesConfig.locales: {locale!r} is not a locale babel knows ({err})"
                raise ValueError(message) from None


#: The splits of exercise 09: the notebook trains on their train split, its check scores on their test split.
EXERCISE_DATES = DatesConfig(n_train=10_000, n_valid=200, n_test=1_000, n_long=50, seed=9)


class DatePair(NamedTuple):
    """One translation pair: a rendered date and its ISO form, and the locale and pattern that rendered it.

    A multi-date pair (``max_dates`` > 1) joins its dates' locales and patterns with ``"; "`` too.
    """

    source: str
    target: str
    locale: str
    pattern: str


class DateSplits(NamedTuple):
    """Disjoint splits; ``long`` holds the sources of at least ``long_min_chars`` characters."""

    train: list[DatePair]
    valid: list[DatePair]
    test: list[DatePair]
    long: list[DatePair]


def date_formats(locales: Sequence[str]) -> list[tuple[str, str]]:
    """Every (locale, format or pattern) the task renders, in a fixed order.

    The numeric patterns read the same in every locale, so they come once, rendered in the first locale.
    """
    named = [(locale, name) for locale in locales for name in NAMED_FORMATS if (locale, name) not in EXCLUDED]
    return named + [(locales[0], pattern) for pattern in NUMERIC_PATTERNS]


def render_date(date: datetime.date, locale: str, pattern: str) -> DatePair:
    """The pair for one date in one locale and one babel format name or pattern."""
    from babel.dates import format_date

    return DatePair(format_date(date, pattern, locale=locale), date.isoformat(), locale, pattern)


def date_count(pair: DatePair) -> int:
    """How many dates a pair holds: the words of its target."""
    if not isinstance(pair, DatePair):
        raise TypeError(f"pair must be a DatePair, got {type(pair).__name__}")
    return len(pair.target.split(TARGET_SEPARATOR))


def join_pairs(pairs: Sequence[DatePair]) -> DatePair:
    """One multi-date pair from single-date pairs: sources joined by "; ", targets by a space."""
    if not pairs or not all(isinstance(pair, DatePair) for pair in pairs):
        raise ValueError("pairs must be a non-empty sequence of DatePair")
    return DatePair(
        SOURCE_SEPARATOR.join(pair.source for pair in pairs),
        TARGET_SEPARATOR.join(pair.target for pair in pairs),
        SOURCE_SEPARATOR.join(pair.locale for pair in pairs),
        SOURCE_SEPARATOR.join(pair.pattern for pair in pairs),
    )


def make_date_splits(config: DatesConfig = DatesConfig()) -> DateSplits:  # noqa: B008 (frozen, immutable)
    """Seeded, deterministic, disjoint splits: each draw is a uniform (locale, format) and a uniform date.

    A source already drawn is skipped, so no source appears twice. Draws whose source has at least
    ``long_min_chars`` characters fill the long split; the others fill train, then valid, then test. With
    ``max_dates`` K > 1, each draw first draws k uniform in 1..K, then k (locale, format) and dates.
    """
    if not isinstance(config, DatesConfig):
        raise TypeError(f"config must be a DatesConfig, got {type(config).__name__}")
    rng = np.random.default_rng(config.seed)
    formats = date_formats(config.locales)
    n_days = (LAST_DATE - FIRST_DATE).days + 1
    n_short = config.n_train + config.n_valid + config.n_test
    short: list[DatePair] = []
    long: list[DatePair] = []
    seen: dict[str, str] = {}
    max_draws = 50 * (n_short + config.n_long)
    draws = 0
    while len(short) < n_short or len(long) < config.n_long:
        if draws >= max_draws:
            raise ValueError(
                f"DatesConfig: after {draws} draws only {len(long)} of n_long={config.n_long} sources had "
                f"at least long_min_chars={config.long_min_chars} characters and {len(short)} of {n_short} "
                "fewer; lower long_min_chars or the split sizes"
            )
        draws += 1
        count = 1 if config.max_dates == 1 else int(rng.integers(1, config.max_dates + 1))
        parts = []
        for _ in range(count):
            locale, pattern = formats[int(rng.integers(len(formats)))]
            date = FIRST_DATE + datetime.timedelta(days=int(rng.integers(n_days)))
            parts.append(render_date(date, locale, pattern))
        pair = parts[0] if count == 1 else join_pairs(parts)
        if pair.source in seen:
            if seen[pair.source] != pair.target:  # the module's choices above make this impossible
                raise RuntimeError(f"ambiguous source {pair.source!r}: {seen[pair.source]} or {pair.target}")
            continue
        seen[pair.source] = pair.target
        if len(pair.source) >= config.long_min_chars:
            if len(long) < config.n_long:
                long.append(pair)
        elif len(short) < n_short:
            short.append(pair)
    train_end, valid_end = config.n_train, config.n_train + config.n_valid
    return DateSplits(short[:train_end], short[train_end:valid_end], short[valid_end:], long)


@dataclass(frozen=True)
class Vocab:
    """Characters after three special ids, PAD=0, BOS=1, EOS=2: character ``chars.chars[k]`` has id 3 + k."""

    chars: CharVocab

    PAD = 0
    BOS = 1
    EOS = 2
    SPECIALS = 3

    @classmethod
    def from_texts(cls, texts: Sequence[str]) -> Vocab:
        """The sorted set of characters in ``texts``."""
        if isinstance(texts, str) or not all(isinstance(text, str) for text in texts):
            raise TypeError("texts must be a sequence of str (not one str)")
        joined = "".join(texts)
        if not joined:
            raise ValueError("texts must hold at least one character")
        return cls(CharVocab.from_text(joined))

    def __len__(self) -> int:
        return self.SPECIALS + len(self.chars)

    def encode(self, text: str) -> list[int]:
        """The ids of the characters of ``text`` (no BOS or EOS); an unknown character raises ValueError."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        try:
            indices = self.chars.encode(text)
        except KeyError as err:
            raise ValueError(str(err.args[0])) from None
        return [self.SPECIALS + int(k) for k in indices]

    def decode(self, ids: Sequence[int]) -> str:
        """The text of ``ids``: stops at the first EOS, skips PAD and BOS."""
        characters = []
        for raw in ids:
            token = int(raw)
            if token == self.EOS:
                break
            if token in (self.PAD, self.BOS):
                continue
            if not self.SPECIALS <= token < len(self):
                raise ValueError(f"ids must lie in [0, {len(self)}), got {token}")
            characters.append(self.chars.chars[token - self.SPECIALS])
        return "".join(characters)


def source_vocab(splits: DateSplits) -> Vocab:
    """The characters of every source in every split (so the long split encodes too)."""
    if not isinstance(splits, DateSplits):
        raise TypeError(f"splits must be DateSplits, got {type(splits).__name__}")
    return Vocab.from_texts([pair.source for split in splits for pair in split])


def target_vocab(max_dates: int = 1) -> Vocab:
    """The characters of ISO dates: '-' and the digits, and with max_dates > 1 the space between dates."""
    if isinstance(max_dates, bool) or not isinstance(max_dates, int) or max_dates < 1:
        raise ValueError(f"max_dates must be an int >= 1, got {max_dates!r}")
    return Vocab(CharVocab(TARGET_CHARS if max_dates == 1 else TARGET_SEPARATOR + TARGET_CHARS))


class DateBatch(NamedTuple):
    """A padded batch, time-major as :class:`lstm_course.nn.seq2seq.Seq2Seq` reads it (PAD fills the ends).

    src (S, B) long, src_lengths (B,) long, tgt_in (T, B) long = BOS + target, tgt_out (T, B) long =
    target + EOS, with S the longest source and T = 1 + the longest target.
    """

    src: torch.Tensor
    src_lengths: torch.Tensor
    tgt_in: torch.Tensor
    tgt_out: torch.Tensor


def _padded(rows: list[list[int]]) -> torch.Tensor:
    """Rows of ids -> (max length, len(rows)) long, PAD after each row's end."""
    width = max(len(row) for row in rows)
    table = torch.full((len(rows), width), Vocab.PAD, dtype=torch.long)
    for b, row in enumerate(rows):
        table[b, : len(row)] = torch.tensor(row, dtype=torch.long)
    return table.T.contiguous()  # (width, B)


def encode_batch(
    pairs: Sequence[DatePair], src_vocab: Vocab, tgt_vocab: Vocab, *, reverse_source: bool = False
) -> DateBatch:
    """Encode and pad pairs; ``reverse_source`` reverses each source's characters (Sutskever et al. 2014)."""
    if not pairs:
        raise ValueError("pairs must hold at least one DatePair")
    if not isinstance(src_vocab, Vocab) or not isinstance(tgt_vocab, Vocab):
        raise TypeError("src_vocab and tgt_vocab must be Vocab")
    sources = [src_vocab.encode(pair.source) for pair in pairs]
    if any(not ids for ids in sources):
        raise ValueError("pairs: every source must have at least one character")
    if reverse_source:
        sources = [ids[::-1] for ids in sources]
    targets = [tgt_vocab.encode(pair.target) for pair in pairs]
    return DateBatch(
        src=_padded(sources),
        src_lengths=torch.tensor([len(ids) for ids in sources], dtype=torch.long),
        tgt_in=_padded([[Vocab.BOS, *ids] for ids in targets]),
        tgt_out=_padded([[*ids, Vocab.EOS] for ids in targets]),
    )


def _check_texts(predictions: Sequence[str], targets: Sequence[str]) -> None:
    """Raise unless both are equally long, non-empty sequences of str."""
    for name, texts in (("predictions", predictions), ("targets", targets)):
        if isinstance(texts, str) or not all(isinstance(text, str) for text in texts):
            raise TypeError(f"{name} must be a sequence of str (not one str)")
    if len(predictions) != len(targets) or not targets:
        raise ValueError(
            "predictions and targets must be equally long and non-empty, "
            f"got {len(predictions)} and {len(targets)}"
        )


def exact_match(predictions: Sequence[str], targets: Sequence[str]) -> float:
    """The fraction of predictions equal to their target."""
    _check_texts(predictions, targets)
    return sum(p == t for p, t in zip(predictions, targets, strict=True)) / len(targets)


def char_accuracy(predictions: Sequence[str], targets: Sequence[str]) -> float:
    """The fraction of target characters the prediction has at the same position (missing ones are wrong)."""
    _check_texts(predictions, targets)
    total = sum(len(t) for t in targets)
    if total == 0:
        raise ValueError("targets must hold at least one character")
    pairs = zip(predictions, targets, strict=True)
    hits = sum(sum(a == b for a, b in zip(p, t, strict=False)) for p, t in pairs)
    return hits / total
