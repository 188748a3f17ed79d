"""Benchmark: forward + backward with dx of the RNN, LSTM and GRU, every implementation against torch.nn.

Implementations: the NumPy reference (``numpy-loop``: the book's loop over the step functions; for the LSTM
also ``numpy-vectorised``), ours plain and fast (``lstm_course.nn``, ``fast=False``, ``fast=True``), the naive
tutorial-style baseline (``lstm_course.benchmarks.naive``) and ``torch.nn``. Float32, time-major, x requires
grad and an upstream gradient reaches every output, so every implementation computes dx and all weight
gradients. On the CPU at each thread count, and on CUDA when torch sees a GPU (torch implementations only).

A driver spawns one worker process per implementation and thread count, alternating them round by round, so
the libraries' thread pools never share a process and slow drifts of the load hit all alike. Each worker sets
the thread count before any library loads (torch.set_num_threads and the BLAS variables) and times every cell
and shape. The driver prints one table of medians and ratios to torch.nn from the same run and writes it with
its provenance as JSON (``--out``; the book's appendix B reads ``bench/results.json``). See bench/README.md.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMPLS = ["numpy-loop", "numpy-vectorised", "ours-plain", "ours-fast", "naive", "torch.nn"]
NUMPY_IMPLS = {  # impl: {cell: (forward, backward) in lstm_course.reference}
    "numpy-loop": {
        "rnn": ("rnn_forward", "rnn_backward"),
        "lstm": ("lstm_forward", "lstm_backward"),
        "gru": ("gru_forward", "gru_backward"),
    },
    "numpy-vectorised": {"lstm": ("lstm_forward_vectorised", "lstm_backward_vectorised")},
}
CELLS = ["rnn", "lstm", "gru"]
BLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")  # make some NumPy builds pick slower kernels
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# ---- worker side: one implementation, one thread count, every cell and shape ----------------------------


def openblas_kernel() -> str:
    """The OpenBLAS core type and thread count NumPy runs with, asked of the library in this process."""
    with open("/proc/self/maps") as maps:  # Linux only; elsewhere the kernel is reported unknown
        paths = sorted({line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line})
    for path in paths:
        lib = ctypes.CDLL(path)
        for prefix, suffix in (
            ("scipy_openblas", "64_"),
            ("scipy_openblas", ""),
            ("openblas", "64_"),
            ("openblas", ""),
        ):
            if hasattr(lib, f"{prefix}_get_corename{suffix}"):
                corename = getattr(lib, f"{prefix}_get_corename{suffix}")
                corename.restype = ctypes.c_char_p
                threads = getattr(lib, f"{prefix}_get_num_threads{suffix}")()
                return f"openblas {corename().decode()} x{threads}"
    return "unknown (no OpenBLAS found)"


def numpy_pass(impl: str, cell: str, dims: tuple[int, ...]):
    """A function running one forward+backward of the NumPy reference (dx included)."""
    import numpy as np

    from lstm_course import reference

    forward_name, backward_name = NUMPY_IMPLS[impl][cell]
    forward, backward = getattr(reference, forward_name), getattr(reference, backward_name)
    B, T, D, H = dims
    rng = np.random.default_rng(0)
    params = reference.init_params(cell, D, H, rng, dtype=np.float32)
    x = rng.standard_normal((T, B, D), dtype=np.float32)
    dout = rng.standard_normal((T, B, H), dtype=np.float32)

    def run() -> None:
        _, _, cache = forward(x, params)
        backward(dout, cache)

    return run


def torch_pass(impl: str, cell: str, dims: tuple[int, ...], device: str):
    """A function running one forward+backward of a torch implementation, with x.requires_grad."""
    import torch

    from lstm_course.benchmarks.naive import NaiveRecurrent
    from lstm_course.nn.recurrent import LAYERS

    B, T, D, H = dims
    torch.manual_seed(0)
    if impl == "torch.nn":
        model = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](D, H, device=device)
    elif impl == "naive":
        model = NaiveRecurrent(cell, D, H, device=device)
    else:
        model = LAYERS[cell](D, H, device=device, fast=impl == "ours-fast")
    x = torch.randn(T, B, D, device=device, requires_grad=True)
    dout = torch.randn(T, B, H, device=device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def run() -> None:
        out, _ = model(x)
        out.backward(dout)
        x.grad = None
        model.zero_grad(set_to_none=True)
        sync()

    return run


def time_passes(run, reps: int, budget: float) -> list[float]:
    """Seconds of up to ``reps`` passes after one warm-up; stops early once ``budget`` seconds are spent."""
    run()  # warm-up: first-call allocations, lazy initialisation
    times: list[float] = []
    while len(times) < reps and sum(times) < budget:
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def worker(args: argparse.Namespace) -> dict:
    """{"times": {cell: {shape: [seconds]}}, "blas": ...} for one implementation at one thread count."""
    shapes = json.loads(args.shapes_json)
    times: dict[str, dict[str, list[float]]] = {}
    if args.worker in NUMPY_IMPLS:
        cells = [cell for cell in args.cells if cell in NUMPY_IMPLS[args.worker]]
        for cell in cells:
            times[cell] = {
                label: time_passes(numpy_pass(args.worker, cell, dims), args.reps, args.budget)
                for label, dims in shapes
            }
        return {"times": times, "blas": openblas_kernel()}
    import torch

    torch.set_num_threads(args.worker_threads)
    for cell in args.cells:
        times[cell] = {
            label: time_passes(torch_pass(args.worker, cell, dims, args.device), args.reps, args.budget)
            for label, dims in shapes
        }
    return {"times": times, "blas": f"torch {torch.__version__}, {torch.get_num_threads()} threads"}


# ---- driver side ----------------------------------------------------------------------------------------


def spawn(impl: str, device: str, threads: int, shapes: list, args: argparse.Namespace) -> dict:
    """Run one worker process; its JSON answer."""
    env = dict(os.environ)
    for name in THREAD_VARS:  # read when the libraries load, before the worker's first line runs
        env[name] = str(threads)
    if args.unset_blas_vars:
        for name in BLAS_VARS:
            env.pop(name, None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    command = [
        sys.executable, __file__, "--worker", impl, "--device", device, "--worker-threads", str(threads),
        "--shapes-json", json.dumps(shapes), "--cells", *args.cells,
        "--reps", str(args.reps), "--budget", str(args.budget),
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"worker {impl} ({device}, {threads} threads) failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def git_commit() -> str:
    """HEAD's short hash, with "+changes" when the working tree differs from it."""

    def git(*words: str) -> str:
        done = subprocess.run(["git", "-C", str(ROOT), *words], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def provenance(args: argparse.Namespace, blas: str, gpu: str | None, commit: str) -> dict:
    import numpy
    import torch

    from lstm_course.benchmarks.results import this_machine

    blas_vars = ", ".join(f"{name}={os.environ.get(name, '(unset)')}" for name in BLAS_VARS)
    onednn = "oneDNN" if torch.backends.mkldnn.is_available() else "no oneDNN"
    return this_machine() | {
        "threads": args.threads,
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "blas": f"numpy: {blas} ({blas_vars}{', unset in the workers' if args.unset_blas_vars else ''}); "
        f"torch: {onednn}",
        "gpu": gpu,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "command": "python bench/bench.py " + " ".join(sys.argv[1:]),
        "python": platform.python_version(),
        "rounds": args.rounds,
        "reps": args.reps,
    }


def results_file(seconds: dict, dims: dict, about: dict) -> dict:
    """The results file's dict from {(device, threads, cell, shape label, impl): [seconds]}, validated."""
    from lstm_course.benchmarks.results import FORMAT, validate_results

    def order(key: tuple) -> tuple:
        device, threads, cell, label, _ = key
        return (device, threads, CELLS.index(cell), list(dims).index(label))

    measurements = [
        {
            "device": device,
            "threads": threads,
            "cell": cell,
            "shape": label,
            "dims": dims[label],
            "impl": impl,
            "median_ms": 1e3 * statistics.median(seconds[device, threads, cell, label, impl]),
            "passes": len(seconds[device, threads, cell, label, impl]),
        }
        for device, threads, cell, label, impl in sorted(seconds, key=order)
    ]
    return validate_results({"format": FORMAT, "provenance": about, "measurements": measurements})


def drive(args: argparse.Namespace) -> dict:
    """Run every worker, round by round; the results file's dict (also written to --out after each round)."""
    import torch

    from lstm_course.benchmarks.results import save_results
    from lstm_course.benchmarks.shapes import book_shapes, parse_shape

    shapes = [parse_shape(text) for text in args.shapes] if args.shapes else book_shapes()
    if args.shapes and len(shapes) > 1:
        shapes = [shape._replace(label=f"given {k + 1}") for k, shape in enumerate(shapes)]
    if args.quick and not args.shapes:
        shapes = shapes[:1]
    dims = {shape.label: list(shape.dims) for shape in shapes}
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() and not args.cpu_only else None
    runs = [("cpu", threads, impl) for threads in args.threads for impl in args.impls]
    # on the GPU the host's thread count hardly matters: one, and no NumPy
    runs += [("cuda", 1, impl) for impl in args.impls if impl not in NUMPY_IMPLS] if gpu else []
    seconds: dict[tuple, list[float]] = {}
    blas, commit = "not run", git_commit()  # the code as the run starts
    start = time.perf_counter()
    for round_number in range(1, args.rounds + 1):
        for device, threads, impl in runs:  # alternate: one worker per implementation per round
            answer = spawn(impl, device, threads, list(dims.items()), args)
            blas = answer["blas"] if impl in NUMPY_IMPLS else blas
            for cell, by_shape in answer["times"].items():
                for label, times in by_shape.items():
                    seconds.setdefault((device, threads, cell, label, impl), []).extend(times)
        elapsed = time.perf_counter() - start
        print(f"round {round_number}/{args.rounds} done, {elapsed:.0f} s", flush=True)
        # every round's file is complete in itself: a run stopped early keeps the rounds it finished
        about = provenance(args, blas, gpu, commit) | {"rounds": round_number, "seconds": round(elapsed, 1)}
        results = results_file(seconds, dims, about)
        if args.out:
            save_results(results, args.out)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="workers per implementation and threads")
    parser.add_argument(
        "--reps", type=int, default=3, help="timed passes per worker, cell and shape, at most"
    )
    parser.add_argument("--budget", type=float, default=0.5, help="seconds of passes per worker and shape")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts (default 1 2)")
    parser.add_argument("--shapes", nargs="+", help="B,T,D,H shapes (default: the book's and two large ones)")
    parser.add_argument("--cells", nargs="+", choices=CELLS, default=CELLS)
    parser.add_argument("--impls", nargs="+", choices=IMPLS, default=IMPLS, help="torch.nn is always timed")
    parser.add_argument("--cpu-only", action="store_true", help="skip CUDA even when it is available")
    parser.add_argument("--unset-blas-vars", action="store_true", help=f"unset {' and '.join(BLAS_VARS)}")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 round, 1 pass, 1 shape")
    parser.add_argument("--out", help="write the results as JSON here (e.g. bench/results.json)")
    parser.add_argument("--worker", choices=IMPLS, help=argparse.SUPPRESS)
    parser.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    parser.add_argument("--worker-threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--shapes-json", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return
    if min(args.threads) < 1 or args.rounds < 1 or args.reps < 1:
        parser.error("--threads, --rounds and --reps must be >= 1")
    if args.quick:
        args.rounds, args.reps = 1, 1
    args.impls = [impl for impl in IMPLS if impl in args.impls or impl == "torch.nn"]
    results = drive(args)

    from lstm_course.benchmarks.results import provenance_text, ratio_table

    print()
    print(provenance_text(results))
    for device in ("cpu", "cuda"):
        print()
        print(repr(ratio_table(results, device)))
    print(f"\nthe run took {results['provenance']['seconds']:.0f} s")
    if args.out:
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
