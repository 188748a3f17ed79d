"""What a forward function returns belongs to the caller: editing it in place cannot change the backward.

Every forward function of the reference returns arrays its cache does not share (copies), or read-only views
(the vectorised LSTM's ``out``, where an edit raises). Each case runs forward, edits every returned array in
place, and checks that the backward gives exactly what it gives without the edit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from lstm_course import reference as ref
from lstm_course.cellspec import SPECS
from lstm_course.reference import cells

T, B, D, H = 4, 2, 3, 5
Run = Callable[[np.random.Generator], tuple[list[np.ndarray], Callable[[], Any]]]


def _arrays(value: Any) -> Iterator[np.ndarray]:
    """Every array in a nest of tuples, lists and dicts, in order."""
    if isinstance(value, np.ndarray):
        yield value
    elif isinstance(value, dict):
        for key in sorted(value):
            yield from _arrays(value[key])
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _arrays(item)


def _like(rng: np.random.Generator, arrays: list[np.ndarray]) -> list[np.ndarray]:
    return [rng.normal(size=array.shape) for array in arrays]


def _step(cell: str) -> Run:
    def run(rng):
        params = ref.init_params(cell, D, H, rng)
        states = [rng.normal(size=(B, H)) for _ in SPECS[cell].states]
        new, cache = cells.step_forward(cell, rng.normal(size=(B, D)), states, params)
        dnew = _like(rng, list(new))
        return list(new), lambda: cells.step_backward(cell, dnew, cache)

    return run


def _sequence(cell: str) -> Run:
    def run(rng):
        params = ref.init_params(cell, D, H, rng)
        states = [rng.normal(size=(B, H)) for _ in SPECS[cell].states]
        out, final, cache = cells.sequence_forward(cell, rng.normal(size=(T, B, D)), params, states)
        dout, dfinal = rng.normal(size=out.shape), _like(rng, list(final))
        return [out, *final], lambda: cells.sequence_backward(cell, dout, cache, dfinal)

    return run


def _lstm_vectorised(rng):
    params = ref.init_params("lstm", D, H, rng)
    out, final, cache = ref.lstm_forward_vectorised(rng.normal(size=(T, B, D)), params)
    dout, dfinal = rng.normal(size=out.shape), _like(rng, list(final))
    return [out, *final], lambda: ref.lstm_backward_vectorised(dout, cache, *dfinal)


def _multilayer(cell: str, bidirectional: bool) -> Run:
    def run(rng):
        params = ref.init_multilayer_params(cell, D, H, rng, num_layers=2, bidirectional=bidirectional)
        out, final, cache = ref.multilayer_forward(
            cell, rng.normal(size=(T, B, D)), params, num_layers=2, bidirectional=bidirectional
        )
        returned = list(_arrays(final))
        dout, dfinal = rng.normal(size=out.shape), _like(rng, returned)
        return [out, *returned], lambda: ref.multilayer_backward(dout, cache, *dfinal)

    return run


def _dot_product_attention(rng):
    query, keys, values = (rng.normal(size=shape) for shape in [(B, 3, D), (B, T, D), (B, T, H)])
    context, weights, cache = ref.dot_product_attention_forward(query, keys, values)
    dcontext = rng.normal(size=context.shape)
    return [context, weights], lambda: ref.dot_product_attention_backward(dcontext, cache)


def _additive_attention(rng):
    query, keys, values = (rng.normal(size=shape) for shape in [(B, 3, D), (B, T, H), (B, T, H)])
    params = ref.init_additive_attention(D, H, 6, rng)
    context, weights, cache = ref.additive_attention_forward(query, keys, values, params)
    dcontext = rng.normal(size=context.shape)
    return [context, weights], lambda: ref.additive_attention_backward(dcontext, cache)


def _dense(rng):
    out, cache = ref.dense_forward(rng.normal(size=(B, D)), rng.normal(size=(H, D)), rng.normal(size=H))
    dout = rng.normal(size=out.shape)
    return [out], lambda: ref.dense_backward(dout, cache)


def _embedding(rng):
    out, cache = ref.embedding_forward(np.array([[0, 2], [1, 2]]), rng.normal(size=(3, D)))
    dout = rng.normal(size=out.shape)
    return [out], lambda: ref.embedding_backward(dout, cache)


CASES: dict[str, Run] = {
    **{f"{cell}_step_forward": _step(cell) for cell in cells.CELLS},
    **{f"{cell}_forward": _sequence(cell) for cell in cells.CELLS},
    "lstm_forward_vectorised": _lstm_vectorised,
    **{
        f"multilayer_forward-{cell}-{'bi' if bi else 'uni'}": _multilayer(cell, bi)
        for cell in cells.CELLS
        for bi in (False, True)
    },
    "dot_product_attention_forward": _dot_product_attention,
    "additive_attention_forward": _additive_attention,
    "dense_forward": _dense,
    "embedding_forward": _embedding,
}


@pytest.mark.parametrize("name", list(CASES))
def test_editing_what_forward_returns_leaves_the_backward_unchanged(name):
    run = CASES[name]
    _, backward = run(np.random.default_rng(0))
    expected = list(_arrays(backward()))
    returned, backward = run(np.random.default_rng(0))  # the same numbers again
    for array in returned:
        if array.flags.writeable:
            array += 1.0
        else:  # read-only is the other way to keep the cache safe: the edit must fail loudly
            with pytest.raises(ValueError, match="read-only"):
                array += 1.0
    got = list(_arrays(backward()))
    assert len(got) == len(expected)
    for ours, theirs in zip(got, expected, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_only_the_vectorised_lstm_returns_a_read_only_view(rng):
    """The loop's out is the caller's to edit; the vectorised one's is a view of its cache and says so."""
    params, x = ref.init_params("lstm", D, H, rng), rng.normal(size=(T, B, D))
    out, final, _ = ref.lstm_forward(x, params)
    assert out.flags.writeable and all(state.flags.writeable for state in final)
    fast_out, fast_final, _ = ref.lstm_forward_vectorised(x, params)
    assert not fast_out.flags.writeable and all(state.flags.writeable for state in fast_final)
