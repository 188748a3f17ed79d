"""The contract every fuzz test asserts, and the strategies the tests share.

The contract (issue 14): a public function either returns a finite, correct answer, or raises ValueError,
TypeError or KeyError whose message names the argument. Never a warning (the pytest configuration turns
every warning into an error), never another exception (a raw NumPy or torch error), never a mutated input.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from hypothesis import strategies as st

NAMED_ERRORS = (ValueError, TypeError, KeyError)


def fingerprint(value: Any) -> Any:
    """A hashable digest of value's contents (arrays, tensors, dicts, sequences), to see a mutation."""
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu()
        return (
            "tensor",
            str(value.dtype),
            tuple(value.shape),
            hashlib.sha1(value.float().numpy().tobytes()).hexdigest(),
        )
    if isinstance(value, np.ndarray):
        return (
            "array",
            str(value.dtype),
            value.shape,
            value.strides,
            hashlib.sha1(np.ascontiguousarray(value).tobytes()).hexdigest(),
        )
    if isinstance(value, dict):
        return ("dict", tuple((repr(k), fingerprint(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(fingerprint(v) for v in value))
    return ("other", repr(value))


def leaves(value: Any) -> Iterable[Any]:
    """Every array or tensor inside value (tuples, lists, dicts, NamedTuples)."""
    if isinstance(value, dict):
        for v in value.values():
            yield from leaves(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from leaves(v)
    elif isinstance(value, np.ndarray) or hasattr(value, "detach"):
        yield value


def all_finite(value: Any) -> bool:
    """Every float array or tensor in value is finite."""
    for leaf in leaves(value):
        if hasattr(leaf, "detach"):
            if leaf.is_floating_point() and not bool(leaf.detach().isfinite().all()):
                return False
        elif leaf.dtype.kind == "f" and not np.isfinite(leaf).all():
            return False
    return True


def obeys_contract(call: Callable[[], Any], inputs: Any, names: Iterable[str]) -> tuple[bool, Any]:
    """Run call(); return (True, result) or (False, the named error).

    Fails the test when the error is of another type or names none of ``names`` (regexes), when an input
    changed, or when the result holds NaN or inf.
    """
    before = fingerprint(inputs)
    try:
        result = call()
    except NAMED_ERRORS as error:
        message = str(error)
        assert any(re.search(name, message) for name in names), (
            f"{type(error).__name__} names none of {list(names)}: {message}"
        )
        assert fingerprint(inputs) == before, "an input was changed by a call that raised"
        return False, error
    assert fingerprint(inputs) == before, "an input was changed"
    assert all_finite(result), "a result holds NaN or inf"
    return True, result


# ---- strategies ------------------------------------------------------------------------------------------

MAGNITUDES = (0.0, 1e-300, 1e-30, 1e-3, 1.0, 3.0, 1e3, 1e30)  # tiny to 1e30, as issue 14 asks
NON_FINITE = (np.nan, np.inf, -np.inf)
LAYOUTS = ("contiguous", "fortran", "strided", "readonly", "broadcast")


@st.composite
def arrays(draw, shape: tuple[int, ...], dtypes=(np.float64, np.float32), poison: bool = True) -> np.ndarray:
    """An array of ``shape``: a drawn dtype and layout, values of magnitudes from 0 to 1e30, and sometimes
    one NaN or inf (when ``poison``)."""
    dtype = draw(st.sampled_from(dtypes))
    scale = draw(st.sampled_from(MAGNITUDES))
    seed = draw(st.integers(0, 2**32 - 1))
    values = np.random.default_rng(seed).normal(size=shape) * scale
    if poison and values.size and draw(st.integers(0, 4)) == 0:
        values.flat[draw(st.integers(0, values.size - 1))] = draw(st.sampled_from(NON_FINITE))
    if np.dtype(dtype).kind != "f":  # integers hold no NaN or inf: small whole numbers instead
        values = np.rint(np.clip(np.nan_to_num(values), -100, 100))
    values = values.astype(dtype)
    layout = draw(st.sampled_from(LAYOUTS))
    if layout == "fortran":
        return np.asfortranarray(values)
    if layout == "strided" and values.ndim:
        wide = np.repeat(values, 2, axis=-1)  # every other column is the array: a non-contiguous view
        return wide[..., ::2]
    if layout == "readonly":
        values.flags.writeable = False
        return values
    if layout == "broadcast" and values.ndim and values.shape[0] > 0:
        return np.broadcast_to(values[:1], values.shape)  # read-only, stride 0 along the first axis
    return values


def is_finite(*values: Any) -> bool:
    return all(all_finite(v) for v in values)
