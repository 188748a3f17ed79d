"""Argument checking shared by every reference module.

The rules, in one place:

- Arrays may be NumPy arrays, lists or scalars. Integer and boolean input is accepted and treated as float.
  Complex, object, string and datetime arrays are refused with a ``TypeError``.
- dtype: a function computes in the *promotion of its float inputs* (``np.result_type`` of the float arrays
  among the input and the parameters; float64 when all of them are integers). So float32 input with float32
  parameters gives float32 output, and float32 input with float64 parameters gives float64, as NumPy promotes.
  Initial states and incoming gradients (h0, dout, dh_T, ...) are cast to that dtype.
- A wrong shape raises ``ValueError`` and a missing parameter ``KeyError``; each message names the argument
  and the shape it expected, written with the dimension letters (T time, B batch, D input, H hidden).
  A parameter dict with a key the cell does not use raises ``ValueError`` naming the key.
- Non-finite values: every float array a function reads (inputs, states, parameters, incoming gradients)
  must be finite; NaN, +inf or -inf raise ``ValueError`` naming the argument (see the package docstring for
  why: no NaN appears quietly).
- A torch tensor is read as NumPy reads it; one that requires grad (or lives on a GPU) raises ``TypeError``
  naming the argument and saying to pass ``.detach().cpu().numpy()``.
- A backward function given a cache of the wrong type raises ``TypeError`` naming ``cache`` and the type
  it expected (the forward function returns it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..cellspec import CellSpec

_ACCEPTED_KINDS = "biuf"  # bool, signed int, unsigned int, float
PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def as_array(name: str, value: Any, finite: bool = True) -> np.ndarray:
    """``value`` as an ndarray of a number kind; TypeError naming ``name`` otherwise.

    With ``finite`` (the default) a float array holding NaN or inf raises ValueError naming ``name``.
    """
    try:
        array = np.asarray(value)
    # ValueError/TypeError: ragged lists and the like; RuntimeError: a torch tensor that requires grad
    except (ValueError, TypeError, RuntimeError) as error:
        if hasattr(value, "detach"):
            raise TypeError(
                f"{name} is a torch tensor NumPy cannot read ({_first_line(error)}); the reference takes "
                f"NumPy arrays: pass {name}.detach().cpu().numpy()"
            ) from None
        raise TypeError(f"{name} must be a numeric array, got {type(value).__name__}: {error}") from None
    if array.dtype.kind not in _ACCEPTED_KINDS:
        raise TypeError(f"{name} must be a real (float or integer) array, got dtype {array.dtype}")
    if finite:
        check_finite(name, array)
    return array


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def check_finite(name: str, array: np.ndarray) -> None:
    """ValueError naming ``name`` when the float array holds NaN or inf (the package's NaN policy)."""
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        bad = np.argwhere(~np.isfinite(array))[0]
        where = f" at index {tuple(int(i) for i in bad)}" if array.ndim else ""
        raise ValueError(
            f"{name} must be finite, got {array[tuple(bad)]}{where}: the reference refuses NaN and inf "
            "rather than return NaN quietly"
        )


def check_cache(cache: Any, expected: type, made_by: str) -> None:
    """TypeError naming ``cache`` unless it is an ``expected`` (the NamedTuple ``made_by`` returns)."""
    if not isinstance(cache, expected):
        raise TypeError(
            f"cache must be the {expected.__name__} that {made_by} returns, got {type(cache).__name__}"
        )


def sequence_cache(cache: Any, expected: type, step: type, made_by: str) -> list:
    """The steps of a sequence cache, checked: an ``expected`` holding one or more ``step`` caches."""
    check_cache(cache, expected, made_by)
    steps = cache.steps
    if not isinstance(steps, list) or not steps or not all(isinstance(s, step) for s in steps):
        raise TypeError(
            f"cache.steps must be the non-empty list of {step.__name__} that {made_by} returns, "
            f"got {type(steps).__name__} of {len(steps) if hasattr(steps, '__len__') else '?'} items"
        )
    return steps


def float_dtype(*arrays: np.ndarray) -> np.dtype:
    """The dtype to compute in: the promotion of the float arrays, float64 if there are none."""
    floats = [a.dtype for a in arrays if a.dtype.kind == "f"]
    return np.result_type(*floats) if floats else np.dtype(np.float64)


def cast(name: str, array: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``array`` in ``dtype`` (no copy if it already is); ValueError naming ``name`` if a value overflows."""
    if array.dtype == dtype:
        return array
    with np.errstate(over="ignore"):  # an overflow is reported below, by name, instead of as a warning
        out = array.astype(dtype)
    if array.dtype.kind == "f" and not np.isfinite(out).all():
        raise ValueError(f"{name} holds values too large for {np.dtype(dtype)}, the dtype it is computed in")
    return out


def as_float(name: str, value: Any, dtype: np.dtype | None = None) -> np.ndarray:
    """``value`` as a float array (of ``dtype`` when given); integers become float."""
    array = as_array(name, value)
    target = dtype if dtype is not None else float_dtype(array)
    return cast(name, array, target)


def _fmt(spec: tuple[str | int, ...], sizes: Mapping[str, int]) -> str:
    letters = "(" + ", ".join(str(s) for s in spec) + ")"
    known = [f"{s} = {sizes[s]}" for s in spec if isinstance(s, str) and s in sizes]
    return letters + (f" with {', '.join(known)}" if known else "")


def check_shape(name: str, array: np.ndarray, spec: tuple[str | int, ...], sizes: dict[str, int]) -> None:
    """Check ``array.shape`` against ``spec`` (letters or ints), binding new letters into ``sizes``.

    A letter seen before must have the same size; a letter seen for the first time is bound to this size.
    ValueError names ``name``, the expected shape in letters with the known sizes, and the shape it got.
    """
    if array.ndim != len(spec):  # the message is built only on failure: this runs at every step of a loop
        got = f"{array.shape} ({array.ndim}-D)"
        raise ValueError(f"{name} must have shape {_fmt(spec, sizes)}, got shape {got}")
    bound: dict[str, int] = {}
    for letter, size in zip(spec, array.shape, strict=True):
        if isinstance(letter, int):
            want = letter
        else:
            want = sizes.get(letter, bound.get(letter, size))
            bound[letter] = want
        if size != want:
            raise ValueError(f"{name} must have shape {_fmt(spec, sizes)}, got shape {array.shape}")
    sizes.update(bound)


def sequence(name: str, value: Any, sizes: dict[str, int]) -> np.ndarray:
    """A time-major input of shape (T, B, D) with T >= 1 and B >= 1 (D checked against ``sizes``)."""
    array = as_array(name, value)
    check_shape(name, array, ("T", "B", "D"), sizes)
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"{name} must have shape (T, B, D) with T >= 1 and B >= 1, got shape {array.shape}")
    return array


def cell_params(
    params: Mapping[str, Any], gates: int, name: str = "params"
) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Check a cell's parameter dict (torch layout); return it as arrays and the sizes {"H": .., "D": ..}.

    Expected: weight_ih (G*H, D), weight_hh (G*H, H), bias_ih (G*H,), bias_hh (G*H,).
    """
    if not isinstance(params, Mapping):
        got = type(params).__name__
        raise TypeError(f"{name} must be a dict of arrays with keys {PARAM_NAMES}, got {got}")
    for key in PARAM_NAMES:
        if key not in params:
            raise KeyError(f"{name} is missing {key!r}; expected keys {PARAM_NAMES} (G={gates})")
    extra = [key for key in params if key not in PARAM_NAMES]
    if extra:
        raise ValueError(f"{name} has keys {extra!r} that a cell does not use; expected only {PARAM_NAMES}")
    arrays = {key: as_array(f"{name}[{key!r}]", params[key]) for key in PARAM_NAMES}
    w_hh = arrays["weight_hh"]
    if w_hh.ndim != 2 or w_hh.shape[0] != gates * w_hh.shape[1]:
        raise ValueError(f"{name}['weight_hh'] must have shape ({gates}H, H) for G={gates}, got {w_hh.shape}")
    sizes = {"H": w_hh.shape[1], "G*H": gates * w_hh.shape[1]}
    check_shape(f"{name}['weight_ih']", arrays["weight_ih"], ("G*H", "D"), sizes)
    check_shape(f"{name}['bias_ih']", arrays["bias_ih"], ("G*H",), sizes)
    check_shape(f"{name}['bias_hh']", arrays["bias_hh"], ("G*H",), sizes)
    return arrays, {"H": sizes["H"], "D": sizes["D"]}


def cast_params(params: dict[str, np.ndarray], dtype: np.dtype) -> dict[str, np.ndarray]:
    """The same dict with every array in ``dtype`` (no copy when it already is)."""
    return {key: value.astype(dtype, copy=False) for key, value in params.items()}


def state(name: str, value: Any, batch: int, hidden: int, dtype: np.dtype) -> np.ndarray:
    """An initial/previous state of shape (B, H): zeros when ``value`` is None, else checked and cast."""
    if value is None:
        return np.zeros((batch, hidden), dtype=dtype)
    array = as_array(name, value)
    check_shape(name, array, ("B", "H"), {"B": batch, "H": hidden})
    return cast(name, array, dtype)


def optional_grad(name: str, value: Any, shape: tuple[int, ...], letters: str, dtype: np.dtype) -> np.ndarray:
    """An incoming gradient such as dh_T: zeros when None, else checked against ``shape``."""
    if value is None:
        return np.zeros(shape, dtype=dtype)
    array = as_array(name, value)
    spec = tuple(letters.split(","))
    check_shape(name, array, spec, dict(zip(spec, shape, strict=True)))
    return cast(name, array, dtype)


def step_inputs(
    spec: CellSpec, x_t: Any, states: tuple[Any, ...], params: Any
) -> tuple[np.ndarray, tuple[np.ndarray, ...], dict[str, np.ndarray]]:
    """Check one step's input for ``spec``'s cell; return x_t, the states and params in one float dtype.

    x_t: (B, D); states: one (B, H) array or None (zeros) per name in ``spec.states``, named h_prev,
    c_prev, ...; params: the cell's dict, G = ``spec.num_gates``.
    """
    params, sizes = cell_params(params, spec.num_gates)
    x_t = as_array("x_t", x_t)
    check_shape("x_t", x_t, ("B", "D"), sizes)
    dtype = float_dtype(x_t, *params.values())
    batch = x_t.shape[0]
    states = tuple(
        state(f"{name}_prev", value, batch, sizes["H"], dtype)
        for name, value in zip(spec.states, states, strict=True)
    )
    return x_t.astype(dtype, copy=False), states, cast_params(params, dtype)


def sequence_inputs(
    spec: CellSpec, x: Any, initial: tuple[Any, ...], params: Any
) -> tuple[np.ndarray, tuple[np.ndarray, ...], dict[str, np.ndarray]]:
    """Check a sequence's input for ``spec``'s cell; return x, the initial states and params in one dtype.

    x: (T, B, D); initial: one (B, H) array or None (zeros) per name in ``spec.states``, named h0, c0, ...
    """
    params, sizes = cell_params(params, spec.num_gates)
    x = sequence("x", x, sizes)
    dtype = float_dtype(x, *params.values())
    batch = x.shape[1]
    initial = tuple(
        state(f"{name}0", value, batch, sizes["H"], dtype)
        for name, value in zip(spec.states, initial, strict=True)
    )
    return x.astype(dtype, copy=False), initial, cast_params(params, dtype)


def state_grads(grads: Mapping[str, Any], like: np.ndarray) -> tuple[np.ndarray, ...]:
    """Gradients flowing into a step's states ({"dh": dh, ...}): each (B, H) as ``like``, in its dtype."""
    batch, hidden = like.shape
    arrays = tuple(as_float(name, value, like.dtype) for name, value in grads.items())
    for name, array in zip(grads, arrays, strict=True):
        check_shape(name, array, ("B", "H"), {"B": batch, "H": hidden})
    return arrays


def sequence_grads(
    spec: CellSpec, dout: Any, final: tuple[Any, ...], shape: tuple[int, int, int], dtype: np.dtype
) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """dout of ``shape`` (T, B, H) and the gradients into the final states (dh_T, dc_T, ..., None: zeros)."""
    T, batch, hidden = shape
    dout = as_float("dout", dout, dtype)
    check_shape("dout", dout, ("T", "B", "H"), {"T": T, "B": batch, "H": hidden})
    final = tuple(
        optional_grad(f"d{name}_T", value, (batch, hidden), "B,H", dtype)
        for name, value in zip(spec.states, final, strict=True)
    )
    return dout, final


def positive_int(name: str, value: object) -> int:
    """``value`` as an int; ValueError naming ``name`` when it is not a positive integer (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)
