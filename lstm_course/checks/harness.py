"""The machinery every exercise check shares: fresh seeds, calling student code, comparing arrays, diagnosing.

A check is a list of named cases. Each case draws fresh random inputs, calls the student's function, and
compares the result with ``lstm_course.reference``. The first failing case raises ``CheckFailure`` (an
AssertionError, so nbval reports it) whose first line is the specific feedback; the seed that reproduces it
follows. When every case passes, the check prints exactly one fixed line, ``✓ <name>: N/N checks passed``
(``lstm_course.checks.success``).

A diagnosis tries known mistake-variants of the reference on the same inputs: when the student's output
matches one of them, the feedback names that mistake.
"""

from __future__ import annotations

import copy
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from lstm_course.cellspec import spec
from lstm_course.checks.success import success_line


class CheckFailure(AssertionError):
    """A check found a mistake; the message's first line says which.

    In Jupyter the failing cell shows only this message, without a traceback (``_render_traceback_``).
    """

    def _render_traceback_(self) -> list[str]:
        return ["CheckFailure: " + str(self).split("\n", 1)[0], *str(self).splitlines()[1:]]


class Feedback(Exception):
    """Raised inside a case: ``first`` is the specific feedback line, ``details`` the evidence."""

    def __init__(self, first: str, details: str = "") -> None:
        super().__init__(first)
        self.first = first
        self.details = details


def fresh_seed() -> int:
    """A seed nobody can predict (from os.urandom), so a hard-coded answer cannot pass."""
    return int.from_bytes(os.urandom(4), "little")


Case = tuple[str, Callable[[np.random.Generator], None]]


@dataclass
class CheckCases:
    """A check's cases as ``run_check`` got them, for the grader to run one by one (``collect_cases``)."""

    name: str
    cases: list[Case]
    call: str | None


_collected: list[CheckCases] | None = None


@contextmanager
def collect_cases() -> Iterator[list[CheckCases]]:
    """Inside this block ``run_check`` runs nothing: it records its cases (the grader scores each one)."""
    global _collected
    previous, _collected = _collected, []
    try:
        yield _collected
    finally:
        _collected = previous


def run_check(name: str, cases: Sequence[Case], seed: int | None = None, call: str | None = None) -> None:
    """Run every case with an rng from ``seed``; print the success line or raise ``CheckFailure``.

    Args:
        name: what is checked, e.g. ``"lstm_step_forward"``; it appears in the success line.
        cases: (label, case) pairs; a case takes an rng and raises ``Feedback`` on a mistake.
        seed: None draws a fresh one.
        call: how to re-run this check with the seed, e.g. ``"check_sigmoid(sigmoid, seed={seed})"``.
    """
    if _collected is not None:
        _collected.append(CheckCases(name, list(cases), call))
        return
    seed = fresh_seed() if seed is None else int(seed)
    for i, (label, case) in enumerate(cases):
        try:
            case(np.random.default_rng([seed, i]))
        except Feedback as fb:
            lines = [fb.first]
            if fb.details:
                lines.append(fb.details)
            lines.append(
                f"(case: {label}; seed {seed}"
                + (f": reproduce with {call.format(seed=seed)})" if call else ")")
            )
            raise CheckFailure("\n".join(lines)) from None
    print(success_line(name, len(cases)))


def call_student(
    fn: Callable[..., Any], *args: Any, name: str | None = None, on_warning: str | None = None, **kwargs: Any
) -> Any:
    """Call the student's ``fn``; turn its exceptions, warnings and in-place edits of inputs into feedback.

    NotImplementedError passes through unchanged: an unfinished exercise is not a wrong one.
    ``on_warning`` replaces the generic feedback when NumPy warns (overflow, invalid value).
    """
    name = name or getattr(fn, "__name__", "your function")
    before = copy.deepcopy((args, kwargs))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fn(*args, **kwargs)
        except NotImplementedError:
            raise
        except Exception as exc:  # noqa: BLE001 - any error in student code becomes feedback
            raise Feedback(
                f"{name} raised {type(exc).__name__}: {exc}",
                "inputs: " + describe(args, kwargs),
            ) from None
    runtime = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    if runtime:
        first = on_warning or f"{name} made NumPy warn: some intermediate value overflowed or was invalid"
        raise Feedback(first, f"NumPy warned '{runtime[0].message}'; inputs: " + describe(args, kwargs))
    changed = _changed_inputs(before, (args, kwargs))
    if changed:
        raise Feedback(f"{name} modified its input {changed} in place: compute new arrays instead")
    return result


def _changed_inputs(before: Any, after: Any, path: str = "") -> str | None:
    """The path of the first array in ``after`` that differs from ``before``, or None."""
    if isinstance(before, np.ndarray):
        same = before.shape == after.shape and np.array_equal(before, after, equal_nan=True)
        return None if same else (path or "argument")
    if isinstance(before, dict):
        for key in before:
            found = _changed_inputs(before[key], after[key], f"{path}[{key!r}]")
            if found:
                return found
    if isinstance(before, (tuple, list)) and len(before) == 2 and path == "":
        args, kwargs = before
        for i, arg in enumerate(args):
            found = _changed_inputs(arg, after[0][i], f"#{i + 1}")
            if found:
                return found
        for key, arg in kwargs.items():
            found = _changed_inputs(arg, after[1][key], key)
            if found:
                return found
    return None


def describe(args: Iterable[Any], kwargs: dict[str, Any] | None = None) -> str:
    """A short description of arguments: arrays by shape and dtype, dicts by their arrays."""

    def one(value: Any) -> str:
        if isinstance(value, np.ndarray):
            return f"array{value.shape} {value.dtype}"
        if isinstance(value, dict):
            return "{" + ", ".join(f"{k}: {one(v)}" for k, v in value.items()) + "}"
        if value is None or isinstance(value, (int, float, str, bool)):
            return repr(value)
        return type(value).__name__

    parts = [one(a) for a in args] + [f"{k}={one(v)}" for k, v in (kwargs or {}).items()]
    return ", ".join(parts)


def shape_text(shape: tuple[int, ...], dims: str | None) -> str:
    """``(B, H) = (3, 4)`` when the letters are known, else ``(3, 4)``."""
    numbers = "(" + ", ".join(str(n) for n in shape) + (",)" if len(shape) == 1 else ")")
    if dims is None:
        return numbers
    letters = [d.strip() for d in dims.split(",")]
    return "(" + ", ".join(letters) + (",)" if len(letters) == 1 else ")") + " = " + numbers


#: Tolerances for float64 work: loose enough for a different but exact order of operations, tight enough that
#: any mistake in the equations fails. Errors within ``FLOAT32_*`` are named float32 arithmetic.
RTOL, ATOL = 1e-5, 1e-7
FLOAT32_RTOL, FLOAT32_ATOL = 1e-3, 1e-5


def close(got: Any, expected: np.ndarray, rtol: float = RTOL, atol: float = ATOL) -> bool:
    """Whether ``got`` is an array of ``expected``'s shape with values within tolerance."""
    try:
        got = np.asarray(got)
    except Exception:  # noqa: BLE001
        return False
    if got.shape != expected.shape or not np.issubdtype(got.dtype, np.number):
        return False
    return bool(np.allclose(got, expected, rtol=rtol, atol=atol, equal_nan=False))


def expect_array(
    what: str,
    got: Any,
    expected: np.ndarray,
    *,
    dims: str | None = None,
    rtol: float = RTOL,
    atol: float = ATOL,
    variants: Sequence[tuple[str, Callable[[], Any]]] = (),
    time_axis: int | None = None,
) -> None:
    """Raise ``Feedback`` unless ``got`` matches ``expected`` in type, shape, dtype and values.

    Args:
        what: the output's name in the feedback, e.g. ``"h"`` or ``"grads['weight_ih']"``.
        dims: the shape's letters, e.g. ``"B, H"``.
        variants: (message, compute) pairs, mistakes tried in order when the values are wrong; compute returns
            what a student who made that mistake would get.
        time_axis: when set, a value mismatch reports at which time steps the values differ.
    """
    if not isinstance(got, np.ndarray):
        raise Feedback(
            f"{what} should be a NumPy array of shape {shape_text(expected.shape, dims)}, "
            f"got {type(got).__name__}"
        )
    if got.shape != expected.shape:
        hint = ""
        if got.shape == expected.shape[::-1] and len(got.shape) > 1:
            hint = ": transposed?"
        elif got.size == expected.size:
            hint = ": the right number of entries in the wrong layout"
        raise Feedback(f"{what}: shape {shape_text(expected.shape, dims)} expected, got {got.shape}{hint}")
    if got.dtype != expected.dtype:
        raise Feedback(f"{what}: dtype {expected.dtype} expected (the inputs' dtype), got {got.dtype}")
    if np.all(np.isfinite(expected)) and not np.all(np.isfinite(got)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(got))[0])
        raise Feedback(f"{what} contains NaN or inf (first at index {bad}) where the reference is finite")
    if np.allclose(got, expected, rtol=rtol, atol=atol):
        return
    for message, compute in variants:
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a mistake-variant may overflow; that is its business
                candidate = compute()
        except Exception:  # noqa: BLE001 - a variant that does not apply to these inputs
            continue
        if close(got, np.asarray(candidate), rtol=rtol, atol=atol):
            raise Feedback(message, mismatch(what, got, expected, time_axis))
    if expected.dtype == np.float64 and np.allclose(got, expected, rtol=FLOAT32_RTOL, atol=FLOAT32_ATOL):
        raise Feedback(
            f"{what} is off by float32 rounding: {mismatch_summary(got, expected, rtol, atol)}; "
            "compute in float64 (the inputs' dtype): no .astype(np.float32) or float32 arrays",
            mismatch(what, got, expected, time_axis),
        )
    raise Feedback(
        f"{what} is wrong: {mismatch_summary(got, expected, rtol, atol)}",
        mismatch(what, got, expected, time_axis) if time_axis is not None else "",
    )


def mismatch_summary(got: np.ndarray, expected: np.ndarray, rtol: float = RTOL, atol: float = ATOL) -> str:
    """``max abs error 0.23 at index (1, 2): got 0.5, expected 0.73``, at the element worst relative to the
    tolerance ``atol + rtol * |expected|`` (the one that decided the failure)."""
    err = np.abs(got.astype(np.float64) - expected.astype(np.float64))
    excess = err / (atol + rtol * np.abs(expected.astype(np.float64)))
    idx = np.unravel_index(int(np.nanargmax(np.where(np.isnan(excess), np.inf, excess))), err.shape)
    where = tuple(int(i) for i in idx)
    return (
        f"max abs error {float(err[idx]):.3g} at index {where}: "
        f"got {float(got[idx]):.6g}, expected {float(expected[idx]):.6g}"
    )


def mismatch(what: str, got: np.ndarray, expected: np.ndarray, time_axis: int | None) -> str:
    """Evidence for a wrong output: the largest error, and along ``time_axis`` the steps that differ."""
    text = f"{what}: {mismatch_summary(got, expected)}"
    if time_axis is None or got.shape != expected.shape:
        return text
    steps = wrong_steps(got, expected, time_axis)
    return text + f"; wrong at time steps {steps} of 0..{got.shape[time_axis] - 1}"


def wrong_steps(got: np.ndarray, expected: np.ndarray, time_axis: int = 0) -> list[int]:
    """The indices along ``time_axis`` where ``got`` and ``expected`` differ."""
    g, e = np.moveaxis(got, time_axis, 0), np.moveaxis(expected, time_axis, 0)
    return [t for t in range(g.shape[0]) if not np.allclose(g[t], e[t], rtol=RTOL, atol=ATOL)]


def expect_tuple(what: str, got: Any, n: int, names: str) -> tuple[Any, ...]:
    """Unpack a returned tuple of ``n`` values, or explain what was expected."""
    if not isinstance(got, (tuple, list)) or len(got) != n:
        count = len(got) if isinstance(got, (tuple, list)) else 1
        raise Feedback(f"{what} should return {n} values ({names}), got {count} ({type(got).__name__})")
    return tuple(got)


def expect_grads(
    what: str,
    got: Any,
    expected: dict[str, np.ndarray],
    dims: dict[str, str],
    variants: Sequence[tuple[str, Callable[[], dict[str, np.ndarray]]]] = (),
) -> None:
    """Compare a dict of gradients key by key; variants return whole dicts, tried on the first wrong key."""
    if not isinstance(got, dict):
        raise Feedback(f"{what} should be a dict with keys {sorted(expected)}, got {type(got).__name__}")
    missing = sorted(set(expected) - set(got))
    if missing:
        raise Feedback(f"{what} is missing the keys {missing}")
    for key, value in expected.items():
        keyed = [(msg, _pick(compute, key)) for msg, compute in variants]
        expect_array(f"{what}[{key!r}]", got[key], value, dims=dims.get(key), variants=keyed)


def _pick(compute: Callable[[], dict[str, np.ndarray]], key: str) -> Callable[[], np.ndarray]:
    return lambda: compute()[key]


def random_params(
    cell: str, D: int, H: int, rng: np.random.Generator, scale: float = 0.5
) -> dict[str, np.ndarray]:
    """Parameters in torch's layout with fresh values (G gate blocks, from ``cellspec``), float64."""
    G = spec(cell).num_gates
    return {
        "weight_ih": rng.normal(0, scale, (G * H, D)),
        "weight_hh": rng.normal(0, scale, (G * H, H)),
        "bias_ih": rng.normal(0, scale, (G * H,)),
        "bias_hh": rng.normal(0, scale, (G * H,)),
    }


def sizes(rng: np.random.Generator, square: bool = False) -> tuple[int, int, int]:
    """Random distinct (B, D, H) in 2..6, so a transposed result cannot fit; square: D = H."""
    B, D, H = (int(n) for n in rng.choice(np.arange(2, 7), size=3, replace=False))
    return (B, H, H) if square else (B, D, H)


def student_helpers(fn: Callable[..., Any], *names: str) -> tuple[Callable[..., Any], ...] | None:
    """The functions ``names`` from the namespace ``fn`` was defined in (a notebook's globals), else None.

    A student's sequence function calls their step functions by these names, so a check can test them first.
    """
    namespace = getattr(fn, "__globals__", None) or {}
    found = [namespace.get(name) for name in names]
    return tuple(f for f in found if callable(f)) if all(callable(f) for f in found) else None


def require_passing(name: str, case: Callable[[], None]) -> None:
    """Run a case of check_<name> first; a failure says "<name> is not right yet: make check_<name> pass ...".

    Use it when the function checked calls the student's ``name`` (see ``student_helpers``).

    Feedback that already points at an earlier check ("... pass first") passes through unchanged.
    """
    try:
        case()
    except Feedback as fb:
        if fb.first.endswith("pass first"):
            raise
        raise Feedback(
            f"{name} is not right yet: make check_{name} pass first", f"check_{name} says: {fb.first}"
        ) from None
