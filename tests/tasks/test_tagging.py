"""The tagging sentences: exact BIO tags, the ambiguous word decided only by a later word, clean padding."""

import importlib

import numpy as np
import pytest

pytest.importorskip("faker")

from lstm_course.tasks.tagging import (  # noqa: E402
    AMBIGUOUS,
    CHARS,
    CITIES,
    FIRST_NAMES,
    IGNORE,
    PAD,
    PERSON_ENDINGS,
    PLACE_ENDINGS,
    SURNAMES,
    TAG_INDEX,
    TAGS,
    VOCAB,
    WORD_INDEX,
    char_batch,
    char_batch_of,
    lengths_from_x,
    pad_batch,
    sentence,
    tagging_batch,
)


def test_ambiguous_words_are_faker_surnames_and_faker_cities():
    surnames = {
        n.lower() for n in importlib.import_module("faker.providers.person.en_US").Provider.last_names
    }
    cities = {
        c.lower()
        for loc in ("de_DE", "it_IT", "nl_NL", "nl_BE")
        for c in importlib.import_module(f"faker.providers.address.{loc}").Provider.cities
    }
    assert len(AMBIGUOUS) >= 5
    assert set(AMBIGUOUS) <= surnames & cities
    # every other pool is one reading only, so the ambiguous words are the only words with two readings
    for pool in (FIRST_NAMES, SURNAMES, CITIES):
        assert not set(pool) & set(AMBIGUOUS)
    assert not set(FIRST_NAMES) & set(SURNAMES) and not set(SURNAMES) & set(CITIES)


def _spans(tags):
    """[(type, start, end)] of the BIO entities; an I- without its B- raises."""
    spans, current = [], None
    for k, tag in enumerate(tags + ["O"]):
        if tag.startswith("I-"):
            assert current is not None and current[0] == tag[2:], f"{tag} at {k} continues nothing: {tags}"
            continue
        if current is not None:
            spans.append((current[0], current[1], k))
            current = None
        if tag.startswith("B-"):
            current = (tag[2:], k)
    return spans


def test_bio_tags_are_exact(rng):
    for _ in range(300):
        s = sentence(rng)
        assert len(s.words) == len(s.tags) == len(s.lookahead) == len(s.ambiguous)
        assert set(s.tags) <= set(TAGS) and s.words[-1] == "."
        for kind, start, end in _spans(s.tags):
            words = s.words[start:end]
            if kind == "PER" and len(words) == 2:
                assert words[0] in FIRST_NAMES and words[1] in SURNAMES
            elif kind == "ORG":
                assert words[0] in SURNAMES and words[1] in ("inc", "and", "llc", "group", "plc", "ltd")
            else:
                assert len(words) == 1 and (words[0] in CITIES or words[0] in AMBIGUOUS)
        for word, tag in zip(s.words, s.tags, strict=True):
            if word in FIRST_NAMES + CITIES:
                assert tag == ("B-PER" if word in FIRST_NAMES else "B-LOC")


def test_only_the_word_after_the_gap_decides_the_ambiguous_tag(rng):
    seen = {"B-PER": 0, "B-LOC": 0}
    for _ in range(400):
        s = sentence(rng, ambiguous_share=1.0, max_gap=5)
        (at,) = np.flatnonzero(s.ambiguous)
        ahead = int(s.lookahead[at])
        assert 1 <= ahead <= 6
        decider = s.words[at + ahead]
        endings = PERSON_ENDINGS if s.tags[at] == "B-PER" else PLACE_ENDINGS
        assert decider in {ending[0] for ending in endings}
        # the words before and between are the same for both readings: prefix and filler words only
        between = s.words[at + 1 : at + ahead]
        assert all(word not in {e[0] for e in PERSON_ENDINGS + PLACE_ENDINGS} for word in between)
        assert all(tag == "O" for tag in s.tags[:at] + s.tags[at + 1 :])
        assert (s.lookahead[np.arange(len(s.words)) != at] == 0).all()
        seen[s.tags[at]] += 1
    assert min(seen.values()) > 150  # both readings, about equally often


def test_the_gap_spans_zero_to_max_gap(rng):
    gaps = {int(sentence(rng, ambiguous_share=1.0, max_gap=3).lookahead.max()) - 1 for _ in range(300)}
    assert gaps == {0, 1, 2, 3}


def test_batch_pads_with_pad_and_ignore(rng):
    b = tagging_batch(16, rng)
    T = int(b.lengths.max())
    assert b.x.shape == (T, 16, len(VOCAB)) and b.x.dtype == np.float32
    assert (b.x.sum(axis=-1) == 1).all()
    steps = np.arange(T)[:, None]
    padding = steps >= b.lengths[None, :]
    assert (b.x[:, :, WORD_INDEX[PAD]] == padding).all()
    assert (b.y[padding] == IGNORE).all() and (b.y[~padding] >= 0).all()
    assert (b.lookahead[padding] == -1).all() and not b.ambiguous[padding].any()
    assert (lengths_from_x(b.x) == b.lengths).all()


def test_pad_batch_reproduces_the_sentences(rng):
    sentences = [sentence(rng) for _ in range(5)]
    b = pad_batch(sentences, total_length=30)
    assert b.x.shape[0] == 30
    for k, s in enumerate(sentences):
        n = len(s.words)
        assert [VOCAB[i] for i in b.x[:n, k].argmax(axis=-1)] == s.words
        assert [TAGS[i] for i in b.y[:n, k]] == s.tags
        assert TAG_INDEX[s.tags[0]] == b.y[0, k]
    with pytest.raises(ValueError, match="total_length"):
        pad_batch(sentences, total_length=2)


def test_char_batch_targets_are_the_next_character(rng):
    b = char_batch_of(["roth inc moved to camo .", "berg flooded ."])
    assert b.x.shape == (24, 2, len(CHARS)) and list(b.lengths) == [24, 14]
    text = "".join(CHARS[i] for i in b.x[:14, 1].argmax(axis=-1))
    assert text == "berg flooded ."
    assert "".join(CHARS[i] for i in b.y[:13, 1]) == "erg flooded ."
    assert (b.y[13:, 1] == IGNORE).all() and (b.x[14:, 1, 0] == 1).all()
    assert char_batch(8, rng).x.shape[1:] == (8, len(CHARS))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda rng: sentence(rng, max_gap=-1), "max_gap"),
        (lambda rng: sentence(rng, ambiguous_share=1.5), "ambiguous_share"),
        (lambda rng: sentence(np.random.default_rng(0).integers), "rng"),
        (lambda rng: tagging_batch(0, rng), "batch_size"),
        (lambda rng: char_batch_of(["Capital"]), "CHARS"),
    ],
)
def test_bad_arguments_are_named(rng, call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call(rng)
