"""Start a submission's process in its sandbox and talk to it: ``Submission.call`` is like calling a function.

The process (``lstm_course.grading.child``) runs in a fresh work folder, under

- ``bwrap`` (Debian's ``bubblewrap``) when it is installed and starts: the whole file system read-only, a
  fresh ``/tmp``, the grader's other work folders hidden, only the work folder writable, no network, its own
  process tree; it dies with the grader;
- ``setrlimit`` always: address space (``Limits.memory``), CPU seconds, processes, file size.

Where bwrap is missing or fails to start (or ``LSTM_COURSE_SANDBOX=rlimits``), only the limits apply, and
``Submission.sandbox`` says so for the report.
"""

from __future__ import annotations

import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

import lstm_course
from lstm_course.grading import protocol

#: Set to ``rlimits`` to skip bwrap (the fallback, e.g. to test it); anything else uses bwrap when installed.
SANDBOX_ENV = "LSTM_COURSE_SANDBOX"


@dataclass(frozen=True)
class Limits:
    """What one submission may use."""

    memory: int = 4 * 2**30  # bytes of address space (RLIMIT_AS)
    cpu_seconds: int = 600  # RLIMIT_CPU; the wall-clock limits are the grader's
    processes: int = 256  # RLIMIT_NPROC (counted per user)
    file_size: int = 256 * 2**20  # bytes, the largest file it may write (RLIMIT_FSIZE)


class SubmissionCrashed(BaseException):
    """The submission's process ended: a crash, ``os._exit``, or killed for memory.

    A BaseException, so the checks' ``except Exception`` (which turns student errors into feedback) lets it
    through to the grader.
    """


class SubmissionTimedOut(BaseException):
    """The submission's process did not answer in time."""


def signal_name(number: int) -> str:
    """``SIGSEGV`` for 11."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def exit_text(code: int | None, limits: Limits) -> str:
    """What an exit status says: ``exited with status 3`` or ``killed by SIGSEGV (a segmentation fault)``."""
    if code is None:
        return "stopped"
    if code >= 0:
        return f"exited with status {code} (os._exit or sys.exit outside a cell?)"
    number = -code
    explanations: dict[int, str] = {
        signal.SIGSEGV: "a segmentation fault",
        signal.SIGKILL: f"killed: out of memory (the limit is {limits.memory / 2**30:g} GiB)?",
        signal.SIGXCPU: f"CPU time limit of {limits.cpu_seconds} s",
        signal.SIGABRT: "aborted",
        signal.SIGBUS: "a bus error",
    }
    why = explanations.get(number, "")
    return f"killed by {signal_name(number)}" + (f" ({why})" if why else "")


def _set_limits(limits: Limits) -> None:
    """In the child, before exec: the resource limits."""
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory, limits.memory))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size, limits.file_size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _needed_paths() -> set[Path]:
    """What the child reads: the interpreter, its prefixes (a venv and its base) and the package's parent."""
    executable = Path(sys.executable).resolve()
    package_parent = Path(lstm_course.__file__).resolve().parents[1]
    prefixes = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}
    return {executable.parent, package_parent, *prefixes}


def bwrap_prefix(workdir: Path, hidden: list[Path]) -> list[str] | None:
    """The bwrap command line around the child, or None when bwrap is not installed or not wanted."""
    wanted = os.environ.get(SANDBOX_ENV, "")
    binary = shutil.which("bwrap")
    if wanted == "rlimits" or binary is None:
        return None
    command = [binary, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    # the private /tmp would also hide Python, the venv or the package when they live under /tmp (a clone in
    # /tmp, say): bind those back, read-only, before hiding anything inside them
    for needed in sorted(_needed_paths()):
        if needed.is_relative_to("/tmp"):
            command += ["--ro-bind", str(needed), str(needed)]
    for folder in hidden:
        if folder.is_dir():
            command += ["--tmpfs", str(folder)]
    command += ["--bind", str(workdir), str(workdir), "--chdir", str(workdir)]
    command += ["--unshare-all", "--die-with-parent", "--new-session", "--"]
    return command


def child_env(workdir: Path) -> dict[str, str]:
    """A small environment: the package importable, one thread per library, nothing of the grader's."""
    package_parent = str(Path(lstm_course.__file__).resolve().parents[1])
    keep = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        PYTHONPATH=package_parent,
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONNOUSERSITE="1",
        HOME=str(workdir),
        TMPDIR=str(workdir),
        MPLBACKEND="Agg",
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
    )
    return env


def write_back(target: Any, after: Any, replaced: set[tuple], path: tuple = ()) -> None:
    """Make the grader's arguments what the child's became: in-place edits in place, replacements replaced."""
    if isinstance(target, np.ndarray) and isinstance(after, np.ndarray):
        if target.shape == after.shape and target.flags.writeable:
            np.copyto(target, after, casting="unsafe")
    elif isinstance(target, np.random.Generator) and isinstance(after, np.random.Generator):
        target.bit_generator.state = after.bit_generator.state
    elif type(target) is dict and type(after) is dict:
        for key in [k for k in target if k not in after]:
            del target[key]
        for key, value in after.items():
            sub = (*path, key)
            if key in target and sub not in replaced and type(target[key]) is type(value):
                write_back(target[key], value, replaced, sub)
            else:
                target[key] = value
    elif type(target) in (list, tuple) and type(after) is type(target) and len(target) == len(after):
        for index, (old, new) in enumerate(zip(target, after, strict=True)):
            sub = (*path, index)
            if type(target) is list and (sub in replaced or type(old) is not type(new)):
                target[index] = new
            else:
                write_back(old, new, replaced, sub)


class RemoteFunction:
    """A function of the submission: calling it sends the arguments to its process and returns the result.

    ``__globals__`` maps the submission's other callables to RemoteFunctions, so a check can find the step
    functions a sequence function calls (``checks.harness.student_helpers``).
    """

    def __init__(self, submission: Submission, name: str, namespace: dict[str, RemoteFunction]) -> None:
        self.submission = submission
        self.__name__ = self.__qualname__ = name
        self.__globals__ = namespace

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.submission.call(self.__name__, args, kwargs)

    def __repr__(self) -> str:
        return f"<the submission's {self.__name__}>"


def _remote_exception(error: dict) -> BaseException:
    """The child's exception, raised again here under its own name (NotImplementedError stays itself)."""
    kind, message = str(error.get("type", "Exception")), str(error.get("message", ""))
    if kind == "NotImplementedError":
        return NotImplementedError(message)
    name = kind if kind.isidentifier() else "Exception"
    return type(name, (Exception,), {})(message)


class Submission:
    """One submission's process: start it, run its cells, call its functions, stop it."""

    def __init__(self, workdir: Path, limits: Limits, hidden: list[Path] | None = None) -> None:
        self.workdir, self.limits = workdir, limits
        self.deadline = float("inf")
        self.buffer = b""
        self.exit_code: int | None = None
        self.answer_key_reads: list[str] = []  # files of the answer key the notebook opened (child.watch_...)
        command = [sys.executable, "-m", "lstm_course.grading.child"]
        prefix = bwrap_prefix(workdir, hidden or [])
        self.sandbox = "bwrap" if prefix else "rlimits only (bwrap is not installed or was switched off)"
        self.process = self._start((prefix or []) + command)
        if not self._said_hello() and prefix:
            self.kill()
            self.sandbox = "rlimits only (bwrap failed to start: see bwrap-failed.txt)"
            (workdir / "sandbox.txt").rename(workdir / "bwrap-failed.txt")
            self.process = self._start(command)
            self._said_hello()

    def _said_hello(self) -> bool:
        """Whether the driver started and greeted (False: the process ended first, e.g. bwrap failed)."""
        self.deadline = time.monotonic() + 60
        try:
            return self.receive().get("event") == "hello"
        except (SubmissionCrashed, SubmissionTimedOut):
            return False
        finally:
            self.deadline = float("inf")

    def _start(self, command: list[str]) -> subprocess.Popen[bytes]:
        # the sandbox's own messages (bwrap's, Python's before the driver runs) go to sandbox.txt
        with open(self.workdir / "sandbox.txt", "wb") as errors:
            return subprocess.Popen(
                command,
                cwd=self.workdir,
                env=child_env(self.workdir),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                preexec_fn=lambda: _set_limits(self.limits),  # noqa: PLW1509 - no threads in the grader
                start_new_session=True,
            )

    def _pipes(self) -> tuple[IO[bytes], IO[bytes]]:
        """The process's stdin and stdout (``_start`` opens both as pipes)."""
        stdin, stdout = self.process.stdin, self.process.stdout
        if stdin is None or stdout is None:
            raise TypeError("Submission.process has no stdin or stdout pipe: start it with subprocess.PIPE")
        return stdin, stdout

    def send(self, message: dict) -> None:
        stdin, _ = self._pipes()
        try:
            stdin.write(protocol.dumps(message))
            stdin.flush()
        except (BrokenPipeError, OSError):
            raise SubmissionCrashed(self.crash_text()) from None

    def receive(self) -> dict:
        """The next message; SubmissionTimedOut past ``deadline``, SubmissionCrashed if the process ended.

        The child's audit hook may report, at any moment, a file of the answer key the notebook opened: those
        reports are kept in ``answer_key_reads``, never returned.
        """
        while True:
            message = self._receive_line()
            if message.get("event") != "answer-key":
                return message
            self.answer_key_reads.append(str(message.get("path", "?"))[:300])

    def _receive_line(self) -> dict:
        _, stdout = self._pipes()
        while b"\n" not in self.buffer:
            left = self.deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise SubmissionTimedOut()
            ready, _, _ = select.select([stdout], [], [], min(left, 1.0))
            if not ready:
                continue
            chunk = os.read(stdout.fileno(), 1 << 20)
            if not chunk:
                raise SubmissionCrashed(self.crash_text())
            self.buffer += chunk
            if len(self.buffer) > protocol.MAX_LINE:
                self.kill()
                raise SubmissionCrashed("it sent more than the protocol allows in one message")
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            return protocol.loads(line)
        except protocol.ProtocolError as exc:
            self.kill()
            raise SubmissionCrashed(f"it wrote to the grader's channel ({exc})") from None

    def crash_text(self) -> str:
        try:
            self.exit_code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
        code = self.exit_code
        # bwrap passes a signal on as 128 + its number
        if self.sandbox == "bwrap" and code is not None and code > 128:
            code = -(code - 128)
        return exit_text(code, self.limits)

    def call(self, name: str, args: tuple, kwargs: dict) -> Any:
        """Call the submission's ``name``; its exception is raised here again, by name, as data."""
        self.send(
            {"op": "call", "fn": name, "args": protocol.encode(args), "kwargs": protocol.encode(kwargs)}
        )
        reply = self.receive()
        if "error" in reply:
            raise _remote_exception(reply["error"])
        for kind, text in reply.get("warnings", []):
            category = RuntimeWarning if kind == "RuntimeWarning" else UserWarning
            warnings.warn(text, category, stacklevel=2)
        replaced = {tuple(path) for path in reply.get("replaced", [])}
        write_back((args, kwargs), protocol.decode(reply["after"]), replaced)
        return protocol.decode(reply["ok"])

    def kill(self) -> None:
        """Stop the process now (its whole process group) and close the pipes to it."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
        self._close_pipes()

    def _close_pipes(self) -> None:
        for stream in self._pipes():
            try:
                stream.close()
            except OSError:
                pass

    def close(self) -> None:
        """End the session: the driver leaves at the end of its input; kill it if it does not."""
        try:
            self._pipes()[0].close()
        except OSError:
            pass
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass
        self.kill()
