"""Data only, between the grader and a submission's process: one JSON object a line, arrays as ``.npy`` bytes.

Nothing here ever unpickles: arrays are written with ``np.save(allow_pickle=False)`` and read with
``np.load(allow_pickle=False)``, so what a submission sends back can only be data. Every value is tagged:

- ``None``, ``bool``, ``int``, ``float`` and ``str`` are JSON as they are;
- ``{"nd": base64}`` an array, ``{"np": base64}`` a NumPy scalar (a 0-d array read back as its scalar);
- ``{"list": [...]}``, ``{"tuple": [...]}``, ``{"dict": [[key, value], ...]}`` containers (exact types only);
- ``{"rng": state}`` a ``np.random.Generator``, by its bit generator's state;
- ``{"fn": name}`` a function from the allow-list ``grading.functions.FUNCTIONS`` (e.g. the step function
  exercise 07's ``run_direction`` takes): only its name travels, and each side looks it up in its own copy of
  that table; any other name is a ProtocolError. Code never travels;
- ``{"ref": n, "type": name}`` anything else the submission holds (a NamedTuple cache, an object): the grader
  gets a ``RemoteObject`` it can hand back in a later call, never the object.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import numpy as np

from lstm_course.grading import functions

#: The bit generators a ``{"rng": state}`` may name (looked up in ``np.random``, nothing else).
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")

#: Containers nested deeper than this are sent as references.
MAX_DEPTH = 32

#: The longest line either side reads (a submission cannot make the grader read without end).
MAX_LINE = 512 * 2**20


class ProtocolError(ValueError):
    """A line that is not a message of this protocol."""


class RemoteObject:
    """A value that stays in the submission's process; only its number and type name travel."""

    def __init__(self, ref: int, type_name: str) -> None:
        self.ref = ref
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name} held by the submission>"


def remote_object(ref: int, type_name: str) -> RemoteObject:
    """A RemoteObject whose class carries the remote type's name (so feedback says ``got LSTMStepCache``)."""
    name = type_name if type_name.isidentifier() else "object"
    cls = type(name, (RemoteObject,), {})
    return cls(ref, type_name)


def array_bytes(array: np.ndarray) -> str:
    """An array as base64 of its ``.npy`` file (no pickle)."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def bytes_array(text: str) -> np.ndarray:
    """The array from ``array_bytes``; refuses object arrays."""
    return np.load(io.BytesIO(base64.b64decode(text)), allow_pickle=False)


def encode(value: Any, keep: Any = None, depth: int = 0) -> Any:
    """``value`` as tagged JSON-able data; ``keep(obj) -> int`` stores what is not data (None: refuse it)."""
    if value is None or isinstance(value, (bool, str)) or type(value) in (int, float):
        return value
    if type(value) is np.ndarray and value.dtype.kind in "biufc":
        return {"nd": array_bytes(value)}
    if isinstance(value, np.generic) and np.asarray(value).dtype.kind in "biufc":
        return {"np": array_bytes(np.asarray(value))}
    if isinstance(value, np.random.Generator):
        return {"rng": value.bit_generator.state}
    if isinstance(value, RemoteObject):
        return {"ref": value.ref, "type": value.type_name}
    name = functions.function_name(value)
    if name is not None:
        return {"fn": name}
    if depth < MAX_DEPTH:
        if type(value) is list:
            return {"list": [encode(v, keep, depth + 1) for v in value]}
        if type(value) is tuple:
            return {"tuple": [encode(v, keep, depth + 1) for v in value]}
        if type(value) is dict and all(type(k) in (str, int) for k in value):
            return {"dict": [[k, encode(v, keep, depth + 1)] for k, v in value.items()]}
    if keep is None:
        raise ProtocolError(f"cannot send a {type(value).__name__}")
    return {"ref": keep(value), "type": type(value).__name__}


def _generator(state: Any) -> np.random.Generator:
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in BIT_GENERATORS:
        raise ProtocolError(f"unknown bit generator {name!r}")
    bit_generator = getattr(np.random, name)()
    bit_generator.state = state
    return np.random.Generator(bit_generator)


def decode(data: Any, resolve: Any = None) -> Any:
    """The value ``encode`` wrote; ``resolve(ref) -> object`` turns references back into objects (else
    RemoteObject)."""
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if not isinstance(data, dict) or len(data) not in (1, 2):
        raise ProtocolError(f"not a tagged value: {str(data)[:80]}")
    if "nd" in data:
        return bytes_array(data["nd"])
    if "np" in data:
        return bytes_array(data["np"])[()]
    if "list" in data:
        return [decode(v, resolve) for v in data["list"]]
    if "tuple" in data:
        return tuple(decode(v, resolve) for v in data["tuple"])
    if "dict" in data:
        return {k: decode(v, resolve) for k, v in data["dict"]}
    if "rng" in data:
        return _generator(data["rng"])
    if "fn" in data:
        try:
            return functions.resolve(data["fn"])
        except ValueError as exc:
            raise ProtocolError(str(exc)) from None
    if "ref" in data:
        if resolve is not None:
            return resolve(int(data["ref"]))
        return remote_object(int(data["ref"]), str(data.get("type", "object")))
    raise ProtocolError(f"unknown tag in {str(data)[:80]}")


def dumps(message: dict) -> bytes:
    """One message as one line."""
    return (json.dumps(message, allow_nan=True) + "\n").encode("utf-8")


def loads(line: bytes) -> dict:
    """One line as a message (a dict)."""
    try:
        message = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"not a JSON line: {exc}") from None
    if not isinstance(message, dict):
        raise ProtocolError("a message is a JSON object")
    return message
