"""The date task: deterministic disjoint splits, a long split longer than train, unambiguous sources,
vocabularies, padded time-major batches and the two metrics."""

import datetime

import pytest
import torch

pytest.importorskip("babel")

from lstm_course.tasks.dates import (  # noqa: E402
    FIRST_DATE,
    LAST_DATE,
    DateBatch,
    DatePair,
    DatesConfig,
    DateSplits,
    Vocab,
    char_accuracy,
    date_count,
    date_formats,
    encode_batch,
    exact_match,
    join_pairs,
    make_date_splits,
    render_date,
    source_vocab,
    target_vocab,
)

SMALL = DatesConfig(n_train=600, n_valid=100, n_test=200, n_long=50, seed=3)


@pytest.fixture(scope="module")
def splits() -> DateSplits:
    return make_date_splits(SMALL)


def test_splits_have_the_asked_sizes_and_are_deterministic(splits):
    assert [len(s) for s in splits] == [600, 100, 200, 50]
    assert make_date_splits(SMALL) == splits
    other = make_date_splits(DatesConfig(n_train=600, n_valid=100, n_test=200, n_long=50, seed=4))
    assert other.train != splits.train


def test_splits_are_disjoint_by_source(splits):
    sources = [pair.source for split in splits for pair in split]
    assert len(sources) == len(set(sources))


def test_long_split_is_longer_than_every_training_source(splits):
    longest_short = max(len(pair.source) for split in splits[:3] for pair in split)
    assert longest_short < SMALL.long_min_chars <= min(len(pair.source) for pair in splits.long)


def test_test_split_lengths_are_spread(splits):
    lengths = [len(pair.source) for pair in splits.test]
    assert min(lengths) <= 8 and max(lengths) >= 25
    assert len(set(lengths)) >= 15


def test_targets_are_iso_dates_of_the_source_date(splits):
    for pair in splits.train[:200]:
        date = datetime.date.fromisoformat(pair.target)
        assert FIRST_DATE <= date <= LAST_DATE
        assert render_date(date, pair.locale, pair.pattern) == pair


def test_every_source_has_one_reading():
    """Every format over the window, and every day/month both at most 12: no source maps to two dates."""
    formats = date_formats(DatesConfig().locales)
    readings: dict[str, str] = {}
    days = [FIRST_DATE + datetime.timedelta(days=k) for k in range(0, (LAST_DATE - FIRST_DATE).days + 1, 31)]
    days += [
        datetime.date(year, month, day)
        for year in (1987, 2012)
        for month in range(1, 13)
        for day in range(1, 13)
    ]
    for date in days:
        for locale, pattern in formats:
            pair = render_date(date, locale, pattern)
            assert readings.setdefault(pair.source, pair.target) == pair.target, pair


def test_the_month_first_short_format_is_left_out():
    assert ("en_US", "short") not in date_formats(("en_US", "es_ES"))
    assert ("es_ES", "short") in date_formats(("en_US", "es_ES"))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("n_train", 0),
        ("n_valid", -1),
        ("n_test", 1.5),
        ("n_long", True),
        ("seed", -1),
        ("long_min_chars", 3),
        ("locales", ()),
        ("locales", ("xx_NOWHERE",)),
        ("locales", ["en_US"]),
    ],
)
def test_config_bad_fields_are_named(field, value):
    with pytest.raises(ValueError, match=field):
        DatesConfig(**{field: value})


def test_unreachable_long_split_raises_naming_the_field():
    with pytest.raises(ValueError, match="long_min_chars"):
        make_date_splits(DatesConfig(n_train=10, n_valid=1, n_test=1, n_long=1, long_min_chars=200))


def test_vocab_round_trip_and_specials(splits):
    vocab = source_vocab(splits)
    assert (Vocab.PAD, Vocab.BOS, Vocab.EOS) == (0, 1, 2)
    text = splits.long[0].source
    ids = vocab.encode(text)
    assert min(ids) >= 3 and len(ids) == len(text)
    assert vocab.decode(ids) == text
    assert vocab.decode([Vocab.BOS, *ids, Vocab.EOS, ids[0], Vocab.PAD]) == text
    assert vocab.decode([Vocab.PAD, ids[0], Vocab.PAD, ids[1]]) == text[:2]
    assert len(vocab) == 3 + len(set("".join(p.source for s in splits for p in s)))


def test_vocab_bad_input():
    vocab = Vocab.from_texts(["abc"])
    with pytest.raises(ValueError, match="'z'"):
        vocab.encode("abz")
    with pytest.raises(ValueError, match="ids"):
        vocab.decode([len(vocab)])
    with pytest.raises(TypeError, match="texts"):
        Vocab.from_texts("abc")
    with pytest.raises(ValueError, match="texts"):
        Vocab.from_texts([""])


def test_target_vocab_is_digits_and_dash():
    vocab = target_vocab()
    assert len(vocab) == 3 + 11
    assert vocab.decode(vocab.encode("2026-11-29")) == "2026-11-29"


def test_encode_batch_is_time_major_padded_and_shifted():
    pairs = [DatePair("ab", "1-2", "x", "p"), DatePair("abca", "12", "x", "p")]
    src_vocab, tgt_vocab = Vocab.from_texts(["abc"]), target_vocab()
    batch = encode_batch(pairs, src_vocab, tgt_vocab)
    assert isinstance(batch, DateBatch)
    assert batch.src.shape == (4, 2) and batch.src.dtype == torch.long
    assert batch.src_lengths.tolist() == [2, 4]
    assert batch.src[:, 0].tolist() == [*src_vocab.encode("ab"), Vocab.PAD, Vocab.PAD]
    assert batch.tgt_in.shape == batch.tgt_out.shape == (4, 2)
    assert batch.tgt_in[:, 0].tolist() == [Vocab.BOS, *tgt_vocab.encode("1-2")]
    assert batch.tgt_out[:, 0].tolist() == [*tgt_vocab.encode("1-2"), Vocab.EOS]
    assert batch.tgt_out[:, 1].tolist() == [*tgt_vocab.encode("12"), Vocab.EOS, Vocab.PAD]
    assert tgt_vocab.decode(batch.tgt_out[:, 1].tolist()) == "12"


def test_encode_batch_reverses_each_source_within_its_length():
    pairs = [DatePair("ab", "1", "x", "p"), DatePair("abc", "2", "x", "p")]
    src_vocab = Vocab.from_texts(["abc"])
    batch = encode_batch(pairs, src_vocab, target_vocab(), reverse_source=True)
    assert batch.src[:, 0].tolist() == [*src_vocab.encode("ba"), Vocab.PAD]
    assert batch.src[:, 1].tolist() == src_vocab.encode("cba")
    with pytest.raises(ValueError, match="pairs"):
        encode_batch([], src_vocab, target_vocab())


def test_metrics():
    targets = ["2026-11-29", "1950-01-01"]
    assert exact_match(targets, targets) == 1.0
    assert exact_match(["2026-11-29", "1950-01-02"], targets) == 0.5
    assert char_accuracy(["2026-11-29", "1950-01-02"], targets) == 19 / 20
    # position-wise over the target: a short prediction loses its missing characters, a long one gains nothing
    assert char_accuracy(["2026-11", "1950-01-01xyz"], targets) == 17 / 20
    with pytest.raises(ValueError, match="equally long"):
        exact_match(["a"], targets)
    with pytest.raises(TypeError, match="predictions"):
        char_accuracy("ab", ["a", "b"])


# The sha256 of repr(make_date_splits(SMALL)) before max_dates existed (computed from that commit's code).
SMALL_SPLITS_SHA256 = "0663885070c5ad1e1e8223e3caa4a6d90789a0794b863486757ff95c6e9cd7a2"


def test_one_date_per_source_is_the_single_date_task_draw_for_draw(splits):
    import hashlib

    assert hashlib.sha256(repr(splits).encode()).hexdigest() == SMALL_SPLITS_SHA256
    assert make_date_splits(DatesConfig(**{**SMALL.__dict__, "max_dates": 1})) == splits


MULTI = DatesConfig(n_train=300, n_valid=20, n_test=200, n_long=0, long_min_chars=1000, max_dates=3, seed=5)


def test_multi_date_sources_hold_one_to_k_dates_in_order():
    multi = make_date_splits(MULTI)
    assert [len(split) for split in multi] == [300, 20, 200, 0]
    counts = [date_count(pair) for split in multi for pair in split]
    assert set(counts) == {1, 2, 3}
    for pair in multi.train + multi.test:
        parts = pair.source.split("; ")
        dates = pair.target.split(" ")
        assert len(parts) == len(dates) == len(pair.locale.split("; ")) == len(pair.pattern.split("; "))
        for part, iso, locale, pattern in zip(
            parts, dates, pair.locale.split("; "), pair.pattern.split("; "), strict=True
        ):
            assert render_date(datetime.date.fromisoformat(iso), locale, pattern).source == part
    sources = [pair.source for split in multi for pair in split]
    assert len(set(sources)) == len(sources)


def test_join_pairs_and_date_count():
    a, b = (
        DatePair("29/9/26", "2026-09-29", "es_ES", "short"),
        DatePair("1.2.1950", "1950-02-01", "de_DE", "d.M.y"),
    )
    joined = join_pairs([a, b])
    assert joined == DatePair("29/9/26; 1.2.1950", "2026-09-29 1950-02-01", "es_ES; de_DE", "short; d.M.y")
    assert date_count(joined) == 2 and date_count(a) == 1
    with pytest.raises(ValueError, match="pairs"):
        join_pairs([])
    with pytest.raises(TypeError, match="pair"):
        date_count("2026-09-29")


def test_multi_date_target_vocab_adds_the_space_only():
    assert target_vocab(2).chars.chars == " -0123456789"
    assert target_vocab(1) == target_vocab()
    multi = make_date_splits(MULTI)
    vocab = target_vocab(MULTI.max_dates)
    assert vocab.decode([*vocab.encode(multi.test[0].target), Vocab.EOS]) == multi.test[0].target
    with pytest.raises(ValueError, match="max_dates"):
        target_vocab(0)


@pytest.mark.parametrize("value", [0, 1.5, True])
def test_max_dates_bad_values_are_named(value):
    with pytest.raises(ValueError, match="max_dates"):
        DatesConfig(max_dates=value)
