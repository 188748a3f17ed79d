"""Execute the book's notebooks several at a time, into the execution cache that myst-nb then reads.

myst-nb executes the chapters one after another while Sphinx reads them. Most experiments train with one torch
thread, so on a 2-core machine one core idles. With ``BOOK_JOBS=N`` (N > 1; ``make book`` sets it), this
extension runs, when Sphinx is about to read the documents (``env-before-read-docs``):

1. it reads each notebook page exactly as myst-nb's parser does (the same reader, the same kernel aliases and
   per-notebook configuration), so the notebook it hashes is the notebook myst-nb will hash;
2. every notebook the cache does not hold yet is executed in a pool of N processes, the longest first (seconds
   from the last build, else ``execution_seconds.json`` beside this file; a chapter never timed goes first),
   with myst-nb's own settings: working directory, per-cell timeout, ``allow_errors``;
3. each result goes into the cache as myst-nb itself would store it, so that when Sphinx reads the pages,
   myst-nb finds every one in the cache and executes nothing.

Each kernel gets ``cores // N`` BLAS/OpenMP threads (set in the pool's worker processes only), so N kernels do
not oversubscribe the cores. With ``raise_on_error`` a failing cell stops the build, its cell and traceback
printed; without it the failing notebook is left to myst-nb, which reports it in its usual way. ``BOOK_JOBS``
unset or 1 changes nothing: myst-nb executes as it always did.

Pages that read the chapters' results (``results_pages`` in the Sphinx config: the appendices) are kept fresh
here too. The extension sets ``LSTM_COURSE_RESULTS`` to ``_build/results`` before anything executes, so every
kernel records there (:mod:`lstm_course.results`); whenever Sphinx reads any other page, it reads the results
pages as well (``env-get-outdated``), and it reads them last (``env-before-read-docs``), after every chapter
has executed, serially or in the pool. The pool never executes them: they carry ``execution_mode: force`` in
their ``mystnb`` metadata, so myst-nb executes them each time it reads them, never from the cache.

At the end of the build the extension prints each notebook's execution seconds (from myst-nb's execution data,
so also for a serial build), and the CPU seconds of the kernels it ran, and keeps the seconds in
``_build/.execution-seconds.json`` for the next build's order.
"""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

from sphinx.util import logging

logger = logging.getLogger(__name__)

# what BLAS and OpenMP libraries (OpenBLAS, MKL, BLIS, Accelerate, numexpr, torch) read to size their pools
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
PR_SET_PDEATHSIG = 1  # prctl(2): the signal this process gets when its parent ends
_CPU_SECONDS: dict[str, float] = {}  # this build's kernels, by docname, for the closing table
_PARALLEL_DONE: list[float] = []  # when this build's parallel execution ended (time.time()), if it ran
HINTS_FILE = Path(__file__).with_name("execution_seconds.json")
TIMINGS_NAME = ".execution-seconds.json"  # in the build folder, beside .package-hash
RESULTS_NAME = "results"  # in the build folder: the chapters' recorded numbers (lstm_course.results)
RESULTS_VARIABLE = "LSTM_COURSE_RESULTS"


class Job(NamedTuple):
    """One notebook to execute: what myst-nb would execute for this page, and with which settings."""

    docname: str
    path: str  # the source file, as myst-nb names it in the cache
    notebook: Any  # nbformat.NotebookNode, read as myst-nb reads it
    read_fmt: dict | None  # the reader's format, recorded in the cache's project
    cwd: str  # the kernel's working directory
    timeout: int | None  # seconds per cell
    allow_errors: bool


class Done(NamedTuple):
    """A finished job: the executed notebook, or the error that stopped it."""

    job: Job
    notebook: Any
    seconds: float  # wall-clock seconds of the execution
    cpu_seconds: float  # user + system seconds of the kernel process
    error: str | None  # the exception's class name, None on success
    traceback: str | None  # jupyter-cache's report: the failing cell and its traceback


def jobs_from_environment(environ: dict[str, str] | None = None) -> int:
    """The number of notebooks to execute at once: ``BOOK_JOBS``, 1 when unset."""
    value = (os.environ if environ is None else environ).get("BOOK_JOBS", "").strip()
    if value == "":
        return 1
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"BOOK_JOBS must be a positive integer, got {value!r}")
    return int(value)


def threads_per_kernel(jobs: int, cores: int | None = None) -> int:
    """BLAS/OpenMP threads for each of ``jobs`` kernels sharing ``cores`` cores (at least 1)."""
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive int, got {jobs!r}")
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // jobs)


def longest_first(docnames: list[str], seconds: dict[str, float]) -> list[str]:
    """The docnames in the order to start them: never timed first (in the given order), then slowest first.

    With N workers, starting the longest notebooks first keeps one long chapter from running alone at the end.
    A notebook with no recorded time may be a new, long chapter, so it starts first.
    """
    unknown = [name for name in docnames if name not in seconds]
    known = sorted((name for name in docnames if name in seconds), key=lambda name: -seconds[name])
    return unknown + known


def read_notebook(path: str, text: str, md_config, nb_config):
    """The notebook myst-nb's parser builds from this source before it executes it, or None for a plain page.

    Returns (notebook, read_fmt, nb_config for this notebook). These are the steps of ``myst_nb.sphinx_.Parser
    .parse`` up to ``create_client``: the reader, the kernel-name alias, the notebook's own configuration.
    """
    from myst_nb.core.nb_to_tokens import nb_node_to_dict
    from myst_nb.core.read import create_nb_reader

    reader = create_nb_reader(path, md_config, nb_config, text)
    if reader is None:
        return None
    notebook = reader.read(text)
    kernel_name = notebook.metadata.get("kernelspec", {}).get("name", None)
    if kernel_name is not None and nb_config.kernel_rgx_aliases:
        for pattern, alias in nb_config.kernel_rgx_aliases.items():
            if re.fullmatch(pattern, kernel_name):
                notebook.metadata["kernelspec"]["name"] = alias
                break
    if nb_config.metadata_key in notebook.metadata:
        overrides = nb_node_to_dict(notebook.metadata[nb_config.metadata_key])
        overrides.pop("output_folder", None)
        nb_config = nb_config.copy(**overrides)
    return notebook, reader.read_fmt, nb_config


def _start_worker(threads: int) -> None:
    """Pool initializer: the thread limits the kernels this worker starts inherit, and death with the build.

    On Linux the worker is killed when the build process ends (killed, or stopped with Ctrl-C) instead of
    running the notebooks still queued for it, and its kernel follows: ipykernel exits when its parent goes.
    """
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: the workers finish what they were given


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Kill the pool's workers now (nbclient answers SIGTERM by shutting down the kernel and carrying on)."""
    for process in list((pool._processes or {}).values()):
        process.kill()


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def execute_job(job: Job) -> Done:
    """Run one notebook as myst-nb's cache client runs it (in a worker process)."""
    from jupyter_cache.executors.utils import single_nb_execution

    cpu_before = _children_cpu_seconds()
    result = single_nb_execution(
        job.notebook, cwd=job.cwd, timeout=job.timeout, allow_errors=job.allow_errors, meta_override=True
    )
    # the kernel is this worker's child, reaped when the client shuts it down
    cpu_seconds = _children_cpu_seconds() - cpu_before
    error = type(result.err).__name__ if result.err is not None else None
    return Done(job, result.nb, result.time, cpu_seconds, error, result.exc_string)


def _load_seconds(path: Path) -> dict[str, float]:
    try:
        data = json.loads(path.read_text(encoding="utf8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float)}


def _timings_path(app) -> Path:
    return Path(app.outdir).parent / TIMINGS_NAME


def _pending_jobs(app, env, docnames, cache) -> list[Job]:
    """The notebook pages among ``docnames`` that myst-nb would execute: not excluded, not in the cache."""
    nb_config = env.mystnb_config
    jobs = []
    for docname in sorted(docnames):
        path = str(env.doc2path(docname))
        text = Path(path).read_text(encoding=app.config.source_encoding)
        read = read_notebook(path, text, env.myst_config, nb_config)
        if read is None:
            continue
        notebook, read_fmt, doc_config = read
        if doc_config.execution_in_temp:
            return []  # a temporary folder per notebook: leave it all to myst-nb
        if any(PurePosixPath(Path(path).as_posix()).match(p) for p in doc_config.execution_excludepatterns):
            continue
        if docname in app.config.results_pages or doc_config.execution_mode != "cache":
            continue  # myst-nb executes it when it reads it, after the chapters (see read_results_pages_last)
        try:
            cache.match_cache_notebook(notebook)
            continue  # in the cache already: myst-nb will take it from there
        except KeyError:
            pass
        cwd = os.path.abspath(Path(path).parent)  # myst-nb's working directory when run_in_temp is off
        jobs.append(
            Job(docname, path, notebook, read_fmt, cwd, doc_config.execution_timeout,
                doc_config.execution_allow_errors)
        )  # fmt: skip
    return jobs


def _store(cache, done: Done) -> None:
    """Put an executed notebook into the cache, as myst-nb's cache client does after its own execution."""
    from jupyter_cache.base import CacheBundleIn
    from jupyter_cache.cache.db import NbProjectRecord

    job = done.job
    if job.read_fmt is not None:
        record = cache.add_nb_to_project(job.path, read_data=job.read_fmt)
    else:
        record = cache.add_nb_to_project(job.path)
    NbProjectRecord.remove_tracebacks([record.pk], cache.db)
    cache.cache_notebook_bundle(
        CacheBundleIn(done.notebook, record.uri, data={"execution_seconds": done.seconds}),
        check_validity=False,
        overwrite=True,
    )


def execute_in_parallel(app, env, docnames) -> None:
    """``env-before-read-docs``: execute the notebooks myst-nb would execute, BOOK_JOBS at a time."""
    _CPU_SECONDS.clear()
    _PARALLEL_DONE.clear()
    jobs_wanted = jobs_from_environment()
    nb_config = env.mystnb_config
    if jobs_wanted <= 1 or nb_config.execution_mode != "cache":
        return
    try:
        _execute_pending(app, env, docnames, jobs_wanted)
    finally:
        _PARALLEL_DONE.append(time.time())


def _execute_pending(app, env, docnames, jobs_wanted: int) -> None:
    """Execute the pending notebooks in a pool, store each success, raise on a failure if configured to."""
    from jupyter_cache import get_cache
    from myst_nb.core.execute import ExecutionError

    nb_config = env.mystnb_config
    cache = get_cache(nb_config.execution_cache_path or ".jupyter_cache")
    pending = {job.docname: job for job in _pending_jobs(app, env, docnames, cache)}
    if not pending:
        return
    seconds = {**_load_seconds(HINTS_FILE), **_load_seconds(_timings_path(app))}
    order = longest_first(list(pending), seconds)
    workers = min(jobs_wanted, len(order))
    threads = threads_per_kernel(workers)
    logger.info(
        f"[parallel_execute] executing {len(order)} notebooks, {workers} at a time, "
        f"{threads} BLAS thread(s) each: {', '.join(order)}"
    )
    failures: list[Done] = []
    started = time.monotonic()
    pool = ProcessPoolExecutor(
        workers, mp_context=get_context("spawn"), initializer=_start_worker, initargs=(threads,)
    )
    futures = [pool.submit(execute_job, pending[name]) for name in order]
    remaining = set(futures)
    try:
        while remaining:
            finished, remaining = wait(remaining, return_when=FIRST_COMPLETED)
            for future in finished:
                done = future.result()
                if done.error is None:
                    _store(cache, done)
                    _CPU_SECONDS[done.job.docname] = done.cpu_seconds
                    logger.info(
                        f"[parallel_execute] {done.job.docname}: {done.seconds:.1f} s "
                        f"({done.cpu_seconds:.1f} CPU s), cached"
                    )
                    continue
                failures.append(done)
                logger.error(f"Executing notebook failed: {done.job.path}: {done.error}\n{done.traceback}")
            if failures and nb_config.execution_raise_on_error:
                break  # like a serial build, stop at the first failure
    finally:
        if remaining:  # a failure, an interrupt or an error here: the other notebooks stop too
            _stop_workers(pool)
        pool.shutdown(wait=True, cancel_futures=True)
    logger.info(f"[parallel_execute] done in {time.monotonic() - started:.1f} s")
    if failures and nb_config.execution_raise_on_error:
        raise ExecutionError(", ".join(done.job.path for done in failures))


def report_seconds(app, exception) -> None:
    """``build-finished``: each notebook's execution seconds, printed and kept for the next build's order."""
    from myst_nb.sphinx_ import NbMetadataCollector

    if exception is not None:
        return
    env = app.env
    seconds = {}
    for docname in sorted(env.found_docs):
        data = NbMetadataCollector.get_exec_data(env, docname)
        if data and data.get("runtime") is not None:
            seconds[docname] = float(data["runtime"])
    if not seconds:
        return
    lines = ["Execution seconds per notebook (wall; CPU of the kernel where this build ran it in parallel):"]
    for docname, value in seconds.items():
        extra = f"  {_CPU_SECONDS[docname]:7.1f} CPU" if docname in _CPU_SECONDS else ""
        mtime = NbMetadataCollector.get_exec_data(env, docname)["mtime"]
        if _PARALLEL_DONE and mtime > _PARALLEL_DONE[0]:
            extra += "  executed by myst-nb after the parallel run: its notebook hashed differently"
        lines.append(f"  {docname:40s} {value:7.1f}{extra}")
    lines.append(f"  {'total':40s} {sum(seconds.values()):7.1f}")
    print("\n".join(lines), flush=True)
    path = _timings_path(app)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(seconds, indent=1, sort_keys=True) + "\n", encoding="utf8")


def set_results_folder(app, config) -> None:
    """``config-inited``: every kernel of this build records its results in ``_build/results``."""
    os.environ[RESULTS_VARIABLE] = str(Path(app.outdir).parent.resolve() / RESULTS_NAME)


def results_pages_outdated(app, env, added, changed, removed) -> list[str]:
    """``env-get-outdated``: the results pages, whenever any other page is read (and so may execute)."""
    pages = [page for page in app.config.results_pages if page in env.found_docs]
    others = (set(added) | set(changed)) - set(pages)
    return pages if others else []


def read_results_pages_last(app, env, docnames) -> None:
    """``env-before-read-docs``: the results pages move to the end of the list, after every chapter."""
    pages = [name for name in docnames if name in app.config.results_pages]
    for name in pages:
        docnames.remove(name)
    docnames.extend(pages)


def setup(app):
    app.add_config_value("results_pages", [], "env")
    app.connect("config-inited", set_results_folder)
    app.connect("env-get-outdated", results_pages_outdated)
    app.connect("env-before-read-docs", read_results_pages_last, priority=100)
    app.connect("env-before-read-docs", execute_in_parallel, priority=900)
    app.connect("build-finished", report_seconds)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
