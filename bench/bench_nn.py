"""Benchmark: our LSTM (plain and fast paths) against torch.nn.LSTM, forward + backward, float32.

A driver spawns one worker process per measurement and alternates the implementations round by round, so
each runs in a fresh process under the same machine conditions; it prints medians and ratios to torch.nn.LSTM
measured in the same invocation. Not a test: run ``python bench/bench_nn.py``; --help lists the options.

Shapes (B, T, D, H): (64, 100, 64, 128) and (128, 200, 128, 256). On CUDA too when it is available.
``--compile`` adds torch.compile of our plain LSTM (opt-in; its first pass, the compile, is reported apart).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

SHAPES = [(64, 100, 64, 128), (128, 200, 128, 256)]
IMPLS = ["torch.nn", "ours-plain", "ours-fast"]


def build(impl: str, D: int, H: int, device: str):
    """The module to time (compiled lazily: its first pass includes the compile)."""
    import torch

    import lstm_course.nn as our

    if impl == "torch.nn":
        return torch.nn.LSTM(D, H, device=device)
    model = our.LSTM(D, H, device=device, fast=impl == "ours-fast")
    return torch.compile(model) if impl == "ours-compiled" else model


def worker(impl: str, shape: tuple[int, ...], device: str, reps: int, warmup: int, threads: int) -> dict:
    """Time `reps` forward+backward passes after `warmup` ones; returns the per-pass seconds."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    B, T, D, H = shape
    torch.manual_seed(0)
    model = build(impl, D, H, device)
    x = torch.randn(T, B, D, device=device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def step() -> None:
        out, (h, c) = model(x)
        (out.sum() + h.sum()).backward()

    t0 = time.perf_counter()
    step()  # the first pass includes any compile time
    sync()
    first = time.perf_counter() - t0
    for _ in range(max(warmup - 1, 0)):
        step()
    sync()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t0)
    return {"times": times, "first": first}


def spawn(impl: str, shape, device: str, args) -> dict:
    cmd = [
        sys.executable, __file__, "--worker", impl, "--shape", ",".join(map(str, shape)), "--device", device,
        "--reps", str(args.reps), "--warmup", str(args.warmup), "--threads", str(args.threads),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def drive(args) -> None:
    import torch

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() and not args.cpu_only else [])
    impls = IMPLS + (["ours-compiled"] if args.compile else [])
    threads = args.threads or torch.get_num_threads()
    print(f"torch {torch.__version__}, threads {threads}, rounds {args.rounds}, {args.reps} timed passes per "
          "worker; forward+backward, float32, time-major")  # fmt: skip
    shapes = SHAPES[:1] if args.small else SHAPES
    for device in devices:
        for shape in shapes:
            times: dict[str, list[float]] = {impl: [] for impl in impls}
            first: dict[str, list[float]] = {impl: [] for impl in impls}
            for _ in range(args.rounds):
                for impl in impls:  # alternate: one worker per implementation per round
                    result = spawn(impl, shape, device, args)
                    times[impl] += result["times"]
                    first[impl].append(result["first"])
            report(device, shape, times, first)


def report(device: str, shape, times: dict, first: dict) -> None:
    B, T, D, H = shape
    base = statistics.median(times["torch.nn"])
    print(f"\n{device}  (B, T, D, H) = ({B}, {T}, {D}, {H})")
    for impl, ts in times.items():
        med = statistics.median(ts)
        extra = ""
        if impl == "ours-compiled":
            extra = f"   first pass (compile) {statistics.median(first[impl]):.1f} s"
        print(f"  {impl:14s} median {1e3 * med:8.2f} ms  ({len(ts)} passes)  "
              f"ratio to torch.nn {med / base:5.2f}x{extra}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="worker processes per implementation and shape")
    parser.add_argument("--reps", type=int, default=5, help="timed passes per worker")
    parser.add_argument("--warmup", type=int, default=2, help="untimed passes per worker")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile of our LSTM (slow)")
    parser.add_argument("--cpu-only", action="store_true", help="skip CUDA even when it is available")
    parser.add_argument("--small", action="store_true", help=f"only the small shape {SHAPES[0]} (B, T, D, H)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--shape", help=argparse.SUPPRESS)
    parser.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        shape = tuple(int(s) for s in args.shape.split(","))
        print(json.dumps(worker(args.worker, shape, args.device, args.reps, args.warmup, args.threads)))
    else:
        drive(args)


if __name__ == "__main__":
    main()
