"""The driver that runs ONE submission, inside its sandbox: ``python -m lstm_course.grading.child``.

It is the only place student code runs. It talks to the grader over its stdin and stdout (``protocol``: JSON
lines, arrays as ``.npy`` bytes, no pickle) and sends back only data:

1. It reads its orders: the code cells to run, the reference helpers the exercise allows (``sigmoid``), the
   course modules it may import (e.g. ``lstm_course.tasks``), and the names of the graded functions.
2. Before any student code: it keeps the allowed helpers, then takes ``lstm_course.reference`` out of
   ``sys.modules`` and puts a module holding only those helpers in its place; an import hook refuses the rest
   of the answer key (and ``lstm_course.grading``); ``lstm_course.checks`` becomes stubs, so the notebook's
   import cell still runs (the checks themselves run in the grader). The reference functions nothing else
   holds are garbage-collected, and an audit hook reports at once every file of the answer key the notebook
   opens (``watch_answer_key``). The student's prints go to ``output.txt`` in the work folder: the protocol
   has its own file descriptors.
3. It runs the cells in order, reporting the start and the end (or the error) of each.
4. It reports, per graded function, whether it IS the answer key: a reference function itself, a function of a
   module under ``lstm_course.reference``, or code whose file lies in the package. The import hook can be
   undone by hostile code; this check reads the function object itself.
5. It serves calls: the grader names a function and sends arguments (data, or a function of the allow-list
   ``grading.functions`` by its name); the child calls it and sends back the
   result, the arguments afterwards (a check sees in-place edits), the warnings it raised, or the exception as
   text.
"""

from __future__ import annotations

import functools
import gc
import importlib.abc
import importlib.util
import os
import sys
import types
import warnings
import weakref
from typing import Any

from lstm_course.grading import protocol

ANSWER_KEY = "lstm_course.reference"


class _StubLoader(importlib.abc.Loader):
    """``lstm_course.checks`` and its modules in the child: every ``check_*`` is a function doing nothing."""

    def create_module(self, spec: Any) -> types.ModuleType:
        module = types.ModuleType(spec.name)
        module.__path__ = []  # a package, so ``lstm_course.checks.lstm`` imports too

        def check_stub(name: str) -> Any:
            if not name.startswith("check_"):
                raise AttributeError(name)
            return lambda *args, **kwargs: print(f"({name} runs in the grader)")

        module.__dict__["__getattr__"] = check_stub  # PEP 562: the module's own __getattr__
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        return None


class AnswerKeyGuard(importlib.abc.MetaPathFinder):
    """Refuses ``lstm_course.reference.*`` and ``lstm_course.grading.*``; stubs ``lstm_course.checks``."""

    def __init__(self, allowed: list[str]) -> None:
        self.allowed = allowed
        self.blocked: list[str] = []

    def refuse(self, name: str) -> ImportError:
        self.blocked.append(name)
        allowed = ", ".join(self.allowed) or "nothing"
        return ImportError(
            f"{name} is the answer key: it cannot be imported here (this exercise allows: {allowed})"
        )

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname.startswith(ANSWER_KEY + "."):
            raise self.refuse(fullname)
        if fullname == "lstm_course.grading" or fullname.startswith("lstm_course.grading."):
            raise self.refuse(fullname)
        if fullname == "lstm_course.checks" or fullname.startswith("lstm_course.checks."):
            return importlib.util.spec_from_loader(fullname, _StubLoader(), is_package=True)
        return None


def install_guard(allowed: list[str], modules: list[str]) -> tuple[AnswerKeyGuard, list[Any], str]:
    """Keep the allowed helpers, hide the rest of the reference; return (guard, weak references to the
    reference's functions, package folder).

    Only weak references: once the reference's modules leave ``sys.modules`` and the garbage is collected,
    a function nothing else holds (exercise 07's key, ``multilayer_forward``) is gone from the process, so
    ``gc.get_objects()`` cannot find it either. What the allowed helpers, ``grading.functions`` and the
    imported course modules hold stays.
    """
    import lstm_course
    import lstm_course.reference as real

    for name in modules:
        __import__(name)
    helpers = {name: getattr(real, name) for name in allowed}
    package_dir = os.path.realpath(os.path.dirname(lstm_course.__file__))
    reference_functions = [
        weakref.ref(value)
        for name, module in list(sys.modules.items())
        if name == ANSWER_KEY or name.startswith(ANSWER_KEY + ".")
        for value in vars(module).values()
        if callable(value) and isinstance(value, (types.FunctionType, type))
    ]
    for name in list(sys.modules):
        if any(name == p or name.startswith(p + ".") for p in (ANSWER_KEY, "lstm_course.checks")):
            del sys.modules[name]
    guard = AnswerKeyGuard(allowed)
    facade = types.ModuleType(ANSWER_KEY, "The helpers this exercise allows; the rest is the answer key.")
    facade.__dict__.update(helpers)
    facade.__path__ = []  # a package: ``import lstm_course.reference.lstm`` asks the guard, which refuses

    def refuse_attribute(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise guard.refuse(f"{ANSWER_KEY}.{name}")

    facade.__dict__["__getattr__"] = refuse_attribute  # PEP 562: the module's own __getattr__
    sys.modules[ANSWER_KEY] = facade
    lstm_course.reference = facade  # type: ignore[attr-defined]
    if hasattr(lstm_course, "checks"):
        delattr(lstm_course, "checks")
    sys.meta_path.insert(0, guard)
    del real, helpers
    gc.collect()
    return guard, reference_functions, package_dir


#: The package folders whose files are the answer key (or the checks that hold it), relative to the package.
ANSWER_KEY_FOLDERS = ("reference", "checks", "grading")


def watch_answer_key(package_dir: str, report: Any) -> None:
    """From now on, ``report(path)`` every file opened in the answer key's folders.

    An audit hook (PEP 578): code in this process cannot remove it. Importing the answer key again after
    undoing the import hook, reading its source to ``exec`` it, ``inspect.getsource``: each opens one of these
    files. ``report`` sends the path on the grader's channel at once, so nothing the notebook does later can
    take it back.
    """
    folders = tuple(os.path.join(package_dir, folder) + os.sep for folder in ANSWER_KEY_FOLDERS)
    reported: set[str] = set()  # each file once (emptying it only sends a path again)

    def hook(event: str, args: tuple) -> None:
        if event != "open" or not args or isinstance(args[0], int):
            return
        try:
            path = os.path.realpath(os.fsdecode(args[0]))
        except (TypeError, ValueError, OSError):
            return
        if path.startswith(folders) and path not in reported:
            reported.add(path)
            report(path)

    sys.addaudithook(hook)


def answer_key_use(name: str, fn: Any, reference_functions: list[Any], package_dir: str) -> str | None:
    """Why ``fn`` is the answer key (a reference function, or code from the package), else None."""
    for _ in range(8):  # look through partials, bound methods and decorators
        if isinstance(fn, functools.partial):
            fn = fn.func
            continue
        inner = getattr(fn, "__func__", None) or getattr(fn, "__wrapped__", None)
        if inner is None or inner is fn:
            break
        fn = inner
    qualname = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", "a function")
    message = f"{name} is {ANSWER_KEY}'s {qualname} (the answer key): write your own"
    if any(fn is ref() for ref in reference_functions):
        return message
    module = getattr(fn, "__module__", None)
    if isinstance(module, str) and (module == ANSWER_KEY or module.startswith(ANSWER_KEY + ".")):
        return message
    # a callable object: the code of its class's __call__
    call = getattr(type(fn), "__call__", None)  # noqa: B004 - reading the method, not testing callability
    code = getattr(fn, "__code__", None) or getattr(call, "__code__", None)
    filename = getattr(code, "co_filename", "")
    if isinstance(filename, str) and os.path.realpath(filename).startswith(package_dir + os.sep):
        return f"{name} is code from the course package ({filename}), not yours: write your own"
    return None


def error_text(exc: BaseException) -> dict:
    """An exception as data: its type's name and message."""
    return {"type": type(exc).__name__, "message": str(exc)[:2000]}


def compile_cell(source: str, index: int) -> Any:
    """A code cell compiled as Python; IPython syntax (``%magic``, ``!cmd``) is translated by IPython."""
    try:
        return compile(source, f"<cell {index + 1}>", "exec")
    except SyntaxError:
        if not any(line.lstrip().startswith(("%", "!")) for line in source.splitlines()):
            raise
        from IPython.core.inputtransformer2 import TransformerManager

        return compile(TransformerManager().transform_cell(source), f"<cell {index + 1}>", "exec")


def identities(value: Any, path: tuple = (), found: dict | None = None) -> dict:
    """id() of every item reachable through dicts, lists and tuples, by its path of keys."""
    found = {} if found is None else found
    if type(value) is dict:
        items: Any = value.items()
    elif type(value) in (list, tuple):
        items = enumerate(value)
    else:
        return found
    for key, item in items:
        item_path = (*path, key)
        found[item_path] = id(item)
        identities(item, item_path, found)
    return found


class Driver:
    """Runs the cells, then serves calls, over the protocol's two file descriptors."""

    def __init__(self, reader: Any, writer: Any) -> None:
        self.reader, self.writer = reader, writer
        self.namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
        self.handles: dict[int, Any] = {}

    def send(self, message: dict) -> None:
        self.writer.write(protocol.dumps(message))
        self.writer.flush()

    def keep(self, value: Any) -> int:
        ref = len(self.handles) + 1
        self.handles[ref] = value
        return ref

    def run_cells(self, cells: list[list]) -> None:
        for index, source in cells:
            self.send({"event": "start", "cell": index})
            try:
                exec(compile_cell(source, index), self.namespace)  # noqa: S102 - the sandbox's one job
            except BaseException as exc:  # noqa: BLE001 - SystemExit and MemoryError are errors of the cell
                sys.stdout.flush()
                self.send({"event": "done", "cell": index, "error": error_text(exc)})
                continue
            sys.stdout.flush()
            self.send({"event": "done", "cell": index})

    def call(self, message: dict) -> dict:
        fn = self.namespace.get(message["fn"])
        if not callable(fn):
            return {"error": {"type": "NameError", "message": f"{message['fn']} is not defined"}}
        args = protocol.decode(message["args"], self.handles.__getitem__)
        kwargs = protocol.decode(message["kwargs"], self.handles.__getitem__)
        before = identities((args, kwargs))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - every error of student code is data
                sys.stdout.flush()
                return {"error": error_text(exc)}
        sys.stdout.flush()
        after = identities((args, kwargs))
        replaced = [list(path) for path, ident in after.items() if path in before and before[path] != ident]
        return {
            "ok": protocol.encode(result, self.keep),
            "after": protocol.encode((args, kwargs), self.keep),
            "replaced": replaced,
            "warnings": [[w.category.__name__, str(w.message)] for w in caught],
        }

    def serve(self) -> None:
        while True:
            line = self.reader.readline(protocol.MAX_LINE)
            if not line:
                return
            message = protocol.loads(line)
            if message.get("op") != "call":
                return
            try:
                reply = self.call(message)
            except Exception as exc:  # noqa: BLE001 - a result that cannot be sent is reported as such
                reply = {"error": {"type": "GradingError", "message": f"could not send the result: {exc}"}}
            self.send(reply)


def main() -> None:
    reader = os.fdopen(os.dup(0), "rb")
    writer = os.fdopen(os.dup(1), "wb")
    stdin = os.open(os.devnull, os.O_RDONLY)
    os.dup2(stdin, 0)
    output = os.open("output.txt", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(output, 1)
    os.dup2(output, 2)
    driver = Driver(reader, writer)
    driver.send({"event": "hello"})
    orders = protocol.loads(reader.readline(protocol.MAX_LINE))
    guard, reference_functions, package_dir = install_guard(orders["allowed"], orders["modules"])
    watch_answer_key(package_dir, lambda path: driver.send({"event": "answer-key", "path": path}))
    driver.run_cells(orders["cells"])
    key = {}
    for name in orders["graded"]:
        fn = driver.namespace.get(name)
        verdict = answer_key_use(name, fn, reference_functions, package_dir) if fn is not None else None
        if verdict:
            key[name] = verdict
    callables = sorted(k for k, v in list(driver.namespace.items()) if isinstance(k, str) and callable(v))
    driver.send({"event": "ready", "callables": callables, "key": key, "blocked": list(guard.blocked)})
    driver.serve()


if __name__ == "__main__":
    main()
