"""Chapter 9's data: surnames by language, digit strips and their captions, sunspots, Shakespeare's plays."""

import numpy as np
import pytest

from lstm_course.tasks import captions, series, shakespeare, surnames


def test_surnames_are_unambiguous_balanced_and_split_without_overlap():
    data = surnames.load_surnames(per_language=50, seed=0)
    assert np.bincount(data.labels, minlength=len(surnames.LANGUAGES)).max() <= 50
    every = surnames.load_surnames(per_language=10_000).names  # no cap: all of them
    assert len(set(every)) == len(every), "a surname appears under two languages"
    train, test = surnames.split(data, 0.2)
    assert len(test.names) == round(0.2 * len(data.names)) and not set(train.names) & set(test.names)
    again = surnames.load_surnames(per_language=50, seed=0)
    assert again.names == data.names and np.array_equal(again.labels, data.labels), "not reproducible"


def test_encode_names_pads_with_zero_after_each_name():
    x, lengths = surnames.encode_names(["ab", "b"], "ab")
    assert x.tolist() == [[1, 2], [2, 0]] and lengths.tolist() == [2, 1]
    with pytest.raises(KeyError, match="'z'"):
        surnames.encode_names(["az"], "ab")
    with pytest.raises(ValueError, match="names"):
        surnames.encode_names([], "ab")
    with pytest.raises(ValueError, match="per_language"):
        surnames.load_surnames(per_language=0)
    with pytest.raises(ValueError, match="test_fraction"):
        surnames.split(surnames.load_surnames(per_language=5), 1.0)


def test_caption_strips_hold_each_digit_at_its_start_and_its_word_in_the_caption():
    images = captions.load_digit_images(train_images=1000)
    assert len(images.train_images) == 1000 and images.train_images.max() <= 1.0
    batch = captions.caption_batch(images.test_images, images.test_digits, 20, np.random.default_rng(0))
    assert batch.images.shape == (20, 8, captions.canvas_width(4, 2)) and batch.captions.shape == (5, 20)
    assert np.array_equal(batch.columns, batch.images.transpose(2, 0, 1))
    for b in range(20):
        shown = batch.digits[b][batch.digits[b] >= 0]
        assert 2 <= len(shown) <= 4
        assert captions.caption_words(batch.captions[:, b]).split() == [captions.WORDS[3 + d] for d in shown]
        assert batch.captions[len(shown), b] == captions.EOS
        for k, digit in enumerate(shown):
            start = batch.starts[b, k]
            # the strip holds one of the test images of that digit at its start
            placed = batch.images[b, :, start : start + 8]
            matches = [
                np.array_equal(placed, image) for image in images.test_images[images.test_digits == digit]
            ]
            assert any(matches)
            assert k == 0 or start >= batch.starts[b, k - 1] + 8, "digits overlap"


def test_caption_batch_refuses_bad_arguments():
    images = captions.load_digit_images()
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="min_digits"):
        captions.caption_batch(images.train_images, images.train_digits, 2, rng, min_digits=3, max_digits=2)
    with pytest.raises(ValueError, match="max_gap"):
        captions.caption_batch(images.train_images, images.train_digits, 2, rng, max_gap=-1)
    with pytest.raises(ValueError, match="images"):
        captions.caption_batch(images.train_images[:, :4], images.train_digits, 2, rng)
    with pytest.raises(ValueError, match="train_images"):
        captions.load_digit_images(train_images=0)


def test_sunspots_and_forecast_windows():
    years, values = series.load_sunspots()
    assert years[0] == 1700 and len(values) == len(years) > 300 and np.isfinite(values).all()
    x, y = series.forecast_windows(np.arange(20.0), [5, 10], window=3, horizon=2)
    assert x.T.tolist() == [[2, 3, 4], [7, 8, 9]] and y.tolist() == [[5, 6], [10, 11]]
    naive = series.seasonal_naive(np.arange(20.0), [5, 10], horizon=2, period=4)
    assert naive.tolist() == [[1, 2], [6, 7]]
    with pytest.raises(ValueError, match="origins"):
        series.forecast_windows(np.arange(20.0), [2], window=3, horizon=2)
    with pytest.raises(ValueError, match="horizon"):
        series.forecast_windows(np.arange(20.0), [5], window=3, horizon=0)
    with pytest.raises(ValueError, match="horizon"):
        series.seasonal_naive(np.arange(20.0), [5], horizon=5, period=4)


def test_shakespeare_is_plain_text():
    text = shakespeare.shakespeare_text(200_000)
    assert len(text) == 200_000
    assert "**" not in text and "\n#" not in text and "  \n" not in text
    assert "THESEUS\nNow, fair Hippolyta" in text
    assert (
        shakespeare.plain_text("## ACT I\n**HAMLET**  \n_Exit_ don't_stop\n") == "HAMLET\nExit don't_stop\n"
    )
    with pytest.raises(ValueError, match="max_chars"):
        shakespeare.shakespeare_text(0)
