"""The benchmarks' shapes come from the experiments' configs."""

import pytest

from lstm_course.benchmarks.shapes import GENERATION_VOCAB, book_shapes, parse_shape


def test_book_shapes_are_the_experiments():
    shapes = {shape.label: shape.dims for shape in book_shapes()}
    assert shapes["ch4 forget bias"] == (128, 100, 2, 32)
    assert shapes["ch4 adding"] == (64, 100, 2, 64)
    assert shapes["large"] == (64, 100, 64, 128) and shapes["larger"] == (128, 200, 128, 256)
    assert shapes["ch9 generation"][3] == 128


@pytest.mark.slow
def test_generation_vocab_is_the_plays():
    from lstm_course.experiments.applications_generation import GenerationConfig
    from lstm_course.tasks.shakespeare import shakespeare_text
    from lstm_course.tasks.text import CharVocab

    text = shakespeare_text(GenerationConfig().max_chars)
    assert len(CharVocab.from_text(text)) == GENERATION_VOCAB


def test_parse_shape():
    assert parse_shape("2,3,4,5").dims == (2, 3, 4, 5)
    for bad in ("2,3,4", "2,3,0,5", "a,b,c,d", None):
        with pytest.raises(ValueError, match="shape"):
            parse_shape(bad)
