"""Benchmark: the NumPy reference LSTM against torch.nn.LSTM, CPU, float32, forward + backward.

Two NumPy versions are timed: the book's loop over the step functions (``lstm_forward`` + ``lstm_backward``)
and the vectorised, in-place one (``lstm_forward_vectorised`` + ``lstm_backward_vectorised``).

Run ``python bench/bench_reference.py`` (see bench/README.md). The driver spawns one short-lived worker
process per measurement, alternating torch and the NumPy versions, so that the libraries' thread pools never
share a process and slow drifts of the load hit all alike. It prints the median time per forward+backward,
the ratio NumPy / torch per shape and the achieved GFLOP/s, counting 8*B*T*H*(2D+3H) FLOP per
forward+backward.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import statistics
import subprocess
import sys
import time

SHAPES = [(64, 100, 64, 128), (128, 200, 128, 256)]  # (B, T, D, H)
TARGETS = {SHAPES[0]: 1.5, SHAPES[1]: 1.3}  # the ratio vectorised NumPy / torch we aim to stay under
NUMPY_ENGINES = {  # engine: (forward, backward) in lstm_course.reference
    "numpy-loop": ("lstm_forward", "lstm_backward"),
    "numpy-vectorised": ("lstm_forward_vectorised", "lstm_backward_vectorised"),
}
BLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def flops(B: int, T: int, D: int, H: int) -> float:
    """FLOP of one forward+backward: 8*B*T*H*(2D + 3H) (the matrix products; dx adds 8*B*T*H*D more)."""
    return 8.0 * B * T * H * (2 * D + 3 * H)


def blas_kernel() -> str:
    """Which OpenBLAS kernel NumPy runs: threadpoolctl's report if installed, else OpenBLAS's own answer."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return _openblas_corename()
    info = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    return ", ".join(f"{p.get('internal_api')} {p.get('architecture')} x{p.get('num_threads')}" for p in info)


def _openblas_corename() -> str:
    """Ask the OpenBLAS library loaded into this process for its core name (what threadpoolctl does)."""
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
            name = f"{prefix}_get_corename{suffix}"
            if hasattr(lib, name):
                corename = getattr(lib, name)
                corename.restype = ctypes.c_char_p
                threads = getattr(lib, f"{prefix}_get_num_threads{suffix}")()
                return (
                    f"openblas {corename().decode()} x{threads} (asked OpenBLAS; threadpoolctl not installed)"
                )
    return "unknown (no OpenBLAS found, threadpoolctl not installed)"


def numpy_worker(engine: str, shape: tuple[int, ...], warmup: int, iters: int) -> dict:
    import numpy as np

    from lstm_course import reference
    from lstm_course.reference import init_params

    forward_name, backward_name = NUMPY_ENGINES[engine]
    lstm_forward, lstm_backward = getattr(reference, forward_name), getattr(reference, backward_name)

    B, T, D, H = shape
    rng = np.random.default_rng(0)
    params = init_params("lstm", D, H, rng, dtype=np.float32)
    x = rng.standard_normal((T, B, D), dtype=np.float32)
    dout = rng.standard_normal((T, B, H), dtype=np.float32)

    def run() -> None:
        out, _, cache = lstm_forward(x, params)
        lstm_backward(dout, cache)

    return _time(run, warmup, iters) | {"kernel": blas_kernel()}


def torch_worker(shape: tuple[int, ...], warmup: int, iters: int, threads: int | None = None) -> dict:
    import torch

    if threads:
        torch.set_num_threads(threads)
    B, T, D, H = shape
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(D, H)  # float32, time-major, as the reference
    x = torch.randn(T, B, D, requires_grad=True)  # the reference computes dx too
    dout = torch.randn(T, B, H)

    def run() -> None:
        out, _ = lstm(x)
        out.backward(dout)
        x.grad = None
        lstm.zero_grad(set_to_none=True)

    return _time(run, warmup, iters) | {
        "kernel": f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    }


def _time(run, warmup: int, iters: int) -> dict:
    for _ in range(warmup):
        run()
    times, cpu, faults = [], [], []
    for _ in range(iters):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)  # all threads of the process, user + system
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    return {"times": times, "cpu": cpu, "page_faults": statistics.median(faults)}


def _spawn(engine: str, unset_blas: bool, shape: tuple[int, ...], args: argparse.Namespace) -> dict:
    env = dict(os.environ)
    if unset_blas:
        for name in BLAS_VARS:
            env.pop(name, None)
    if args.threads:  # read by OpenBLAS when NumPy loads it; the torch worker calls set_num_threads
        env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = str(args.threads)
    command = [sys.executable, __file__, "--worker", engine, "--shape", ",".join(map(str, shape))]
    command += ["--warmup", str(args.warmup), "--iters", str(args.iters), "--threads", str(args.threads or 0)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def drive(args: argparse.Namespace) -> None:
    shapes = [tuple(int(n) for n in s.split(",")) for s in args.shapes] if args.shapes else SHAPES
    variants = [("torch", False)] + [(engine, False) for engine in NUMPY_ENGINES]
    if args.blas_env == "both" and any(name in os.environ for name in BLAS_VARS):
        variants += [(engine, True) for engine in NUMPY_ENGINES]
    print(
        f"CPU cores: {os.cpu_count()}; " + ", ".join(f"{n}={os.environ.get(n, '(unset)')}" for n in BLAS_VARS)
    )
    print(
        f"{args.rounds} rounds x {args.iters} timed runs per worker "
        f"(after {args.warmup} warm-up), alternating\n"
    )
    for shape in shapes:
        results: dict[tuple[str, bool], dict[str, list[float]]] = {
            v: {"times": [], "cpu": []} for v in variants
        }
        notes: dict[tuple[str, bool], dict] = {}
        for _ in range(args.rounds):
            for variant in variants:
                out = _spawn(*variant, shape, args)
                results[variant]["times"] += out["times"]
                results[variant]["cpu"] += out["cpu"]
                notes[variant] = out
        _report(shape, results, notes)


def _report(shape, results, notes) -> None:
    torch_ms = {key: statistics.median(results[("torch", False)][key]) for key in ("times", "cpu")}
    print(f"(B, T, D, H) = {shape}: {flops(*shape) / 1e9:.2f} GFLOP per forward+backward")
    for (engine, unset), measured in results.items():
        ms = {key: statistics.median(measured[key]) for key in ("times", "cpu")}
        label = engine + (" (OPENBLAS_* unset)" if unset else "")
        gflops = flops(*shape) / ms["times"] / 1e9
        print(
            f"  {label:36s} median {1e3 * ms['times']:7.1f} ms  {gflops:6.1f} GFLOP/s  "
            f"cpu {1e3 * ms['cpu']:7.1f} ms  page faults {notes[(engine, unset)]['page_faults']:6.0f}"
        )
        if engine in NUMPY_ENGINES:
            target = TARGETS.get(shape) if engine == "numpy-vectorised" else None
            print(
                f"  {'':36s} ratio to torch {ms['times'] / torch_ms['times']:4.2f}"
                + (f" (target <= {target})" if target else "")
                + f", in cpu time {ms['cpu'] / torch_ms['cpu']:4.2f}"
            )
        print(f"  {'':36s} {notes[(engine, unset)]['kernel']}")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=[*NUMPY_ENGINES, "torch"], help="internal: run one measurement")
    parser.add_argument("--shape", help="internal: B,T,D,H of the worker")
    parser.add_argument("--shapes", nargs="*", help="B,T,D,H shapes to run (default: the two targets)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating worker pairs per shape")
    parser.add_argument("--iters", type=int, default=3, help="timed forward+backward runs per worker")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs per worker")
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="threads for both libraries (default 0: each library's own default)",
    )
    parser.add_argument(
        "--blas-env",
        choices=["as-set", "both"],
        default="both",
        help="both: also time NumPy with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (torch keeps them)",
    )
    args = parser.parse_args()
    if args.worker:
        shape = tuple(int(n) for n in args.shape.split(","))
        # a NumPy worker's thread count comes from OPENBLAS_NUM_THREADS, set by the driver
        if args.worker in NUMPY_ENGINES:
            print(json.dumps(numpy_worker(args.worker, shape, args.warmup, args.iters)))
        else:
            print(json.dumps(torch_worker(shape, args.warmup, args.iters, args.threads)))
    else:
        drive(args)


if __name__ == "__main__":
    main()
