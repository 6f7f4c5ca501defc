"""Benchmark: a study (nbtools.study.run on a local Dask cluster) against find_events in a plain loop.

Two sets of simulated recordings (float32 .npy, 100 kHz, Poisson spikes in white noise) are written into a
temporary folder: ``--small`` files of ``--small-samples`` (default 200 x 1e6) and ``--big`` files of
``--big-samples`` (default 20 x 1e8, 8 GB on disk: each big file is a different arrangement of ten
simulated 1e7-sample pieces, so contents and SHA-256 differ without simulating 2e9 samples). For each set, in
one run:

- the plain loop: ``find_events(load_trace(path, fs=...), recipe)`` file after file in this process (after a
  warm-up, so numba's compilation is not counted);
- the plain loop split over as many processes as cores (the ceiling of any parallel run on this machine);
- the study at 1 worker and at all cores (``workers=None``): everything a study does (SHA-256 of each input,
  events, summary, Parquet + CSV per file, population, statistics, report.html).

Printed per set and worker count: files/s and samples/s over the whole run (cluster start, worker imports and
numba compilation in each new worker, tables and report included) and in the steady state (between the first
and the last file finished, what a long study sees), the overhead against the plain loop (target < 10 % at one
worker) and the speed-up (target >= 1.7x at two workers on two cores), and the peak resident memory of each
worker (getrusage maxrss). The temporary folder is deleted at the end.

Usage::

    python benchmarks/bench_batch.py [--small 200] [--small-samples 1e6] [--big 20] [--big-samples 1e8]
                                     [--workers-max N] [--keep DIR]
    python benchmarks/bench_batch.py --quick        # 40 x 1e6 and 4 x 1e7: a two-minute check
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FS = 100e3


def simulate(n, seed):
    from nbtools.simulate import impact_trace

    tr, _ = impact_trace(duration=n / FS, fs=FS, rate=5.0, seed=seed)
    return np.asarray(tr.current[:n], dtype=np.float32)


def write_small(folder: Path, count: int, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        p = folder / f"rec_{i:04d}.npy"
        np.save(p, simulate(n, seed=i))
        paths.append(p)
    return paths


def write_big(folder: Path, count: int, n: int) -> list[Path]:
    """``count`` files of ``n`` samples, each a different arrangement of ten simulated pieces."""
    folder.mkdir(parents=True, exist_ok=True)
    piece = max(n // 10, 1)
    pool = [simulate(piece, seed=1000 + k) for k in range(10)]
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        p = folder / f"big_{i:03d}.npy"
        mm = np.lib.format.open_memmap(p, mode="w+", dtype=np.float32, shape=(piece * 10,))
        for j, k in enumerate(rng.permutation(10)):
            mm[j * piece:(j + 1) * piece] = pool[k]
        mm.flush()
        del mm
        paths.append(p)
    return paths


def plain_loop(paths, recipe, times=None) -> float:
    """find_events file after file; per-file seconds appended to ``times``."""
    from nbtools.impact import find_events
    from nbtools.io import load_trace

    t0 = time.perf_counter()
    for p in paths:
        t = time.perf_counter()
        find_events(load_trace(p, fs=FS), recipe)
        if times is not None:
            times.append(time.perf_counter() - t)
    return time.perf_counter() - t0


def _warm(_=None):
    """Compile numba's kernels for in-memory and memory-mapped (read-only) float32 samples."""
    from nbtools.impact import EventRecipe, find_events

    x = simulate(200_000, seed=99)
    find_events(x, EventRecipe(threshold=6), fs=FS)
    with tempfile.TemporaryDirectory() as d:
        np.save(Path(d) / "w.npy", x)
        find_events(np.load(Path(d) / "w.npy", mmap_mode="r"), EventRecipe(threshold=6), fs=FS)


def _loop_part(paths):
    from nbtools.impact import EventRecipe

    return plain_loop(paths, EventRecipe(threshold=6))


def plain_parallel(paths, processes: int) -> float:
    """The plain loop split over ``processes`` warmed-up processes: what the cores can give at best."""
    import multiprocessing as mp

    with mp.get_context("spawn").Pool(processes, initializer=_warm) as pool:
        pool.map(_warm, range(processes))
        t0 = time.perf_counter()
        pool.map(_loop_part, [paths[i::processes] for i in range(processes)])
        return time.perf_counter() - t0


def study(paths, recipe, out: Path, workers) -> dict:
    from nbtools.study import run

    done = []

    def progress(k, total, record):
        if record is not None:
            done.append(time.perf_counter())

    t0 = time.perf_counter()
    s = run(recipe, paths[0].parent, out=out, workers=workers, options={"fs": FS}, progress=progress)
    total = time.perf_counter() - t0
    assert s.counts()["computed"] == len(paths) and s.counts()["failed"] == 0, s.summary()
    w = workers  # each worker's first file carries its start-up (imports, numba compilation): left out
    steady = (done[-1] - done[w - 1]) / (len(done) - w) if len(done) > w else float("nan")
    peaks, tasks = {}, []
    for name in s.files["name"]:
        r = s.record(name)
        peaks[r["worker"]] = max(peaks.get(r["worker"], 0), r.get("worker_peak_rss") or 0)
        tasks.append(r["elapsed_s"])
    return {"total": total, "per_file_steady": steady, "peaks": peaks, "events": len(s.population),
            "task_median": float(np.median(tasks))}


def report(label, paths, n, loop_s, loop_times, par, runs):
    count = len(paths)
    per_loop = loop_s / count
    loop_median = float(np.median(loop_times))
    print(f"\n== {label}: {count} files x {n:.0e} samples (load average {os.getloadavg()[0]:.1f})")
    print(f"plain loop      {count / loop_s:8.2f} files/s  {count * n / loop_s:10.3e} samples/s  ({loop_s:.1f} s; "
          f"median {1e3 * loop_median:.1f} ms per file)")
    for k, t in par:
        print(f"plain loop x{k:<3}  {count / t:8.2f} files/s  {count * n / t:10.3e} samples/s  ({t:.1f} s in {k} "
              f"processes: speed-up {loop_s / t:.2f}x, the cores' ceiling for the study)")
    for workers, r in runs:
        name = f"study {workers} worker{'s' if workers > 1 else ''}"
        steady = r["per_file_steady"]
        print(f"{name:<15} {count / r['total']:8.2f} files/s  {count * n / r['total']:10.3e} samples/s  "
              f"({r['total']:.1f} s whole run; overhead {100 * (r['total'] / loop_s - 1):+.0f} %, "
              f"speed-up {loop_s / r['total']:.2f}x)")
        print(f"{'  steady state':<15} {1 / steady:8.2f} files/s  {n / steady:10.3e} samples/s  "
              f"(speed-up {per_loop / steady:.2f}x; one file's task: median {1e3 * r['task_median']:.1f} ms, "
              f"{100 * (r['task_median'] / loop_median - 1):+.1f} % against the loop's median)")
        print(f"{'  peak memory':<15} " + ", ".join(f"{v / 2**20:.0f} MiB" for v in r["peaks"].values())
              + " per worker (maxrss)")


def run_set(label, folder, count, n, writer, workers_max, recipe, tmp):
    t = time.perf_counter()
    paths = writer(folder, count, n)
    print(f"[{label}] wrote {count} files in {time.perf_counter() - t:.0f} s "
          f"({sum(p.stat().st_size for p in paths) / 2**30:.2f} GiB)", flush=True)
    loop_times = []
    loop_s = plain_loop(paths, recipe, loop_times)
    print(f"[{label}] plain loop {loop_s:.1f} s (load average {os.getloadavg()[0]:.1f})", flush=True)
    par = [(workers_max, plain_parallel(paths, workers_max))] if workers_max > 1 else []
    runs = []
    for workers in sorted({1, workers_max}):
        out = tmp / f"out_{label}_{workers}"
        r = study(paths, recipe, out, workers)
        print(f"[{label}] study at {workers} worker(s): {r['total']:.1f} s (load average {os.getloadavg()[0]:.1f})",
              flush=True)
        runs.append((workers, r))
        shutil.rmtree(out, ignore_errors=True)
    report(label, paths, n, loop_s, loop_times, par, runs)
    shutil.rmtree(folder, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", type=int, default=200)
    ap.add_argument("--small-samples", type=float, default=1e6)
    ap.add_argument("--big", type=int, default=20)
    ap.add_argument("--big-samples", type=float, default=1e8)
    ap.add_argument("--workers-max", type=int, default=None, help="workers of the all-cores run (default: cores)")
    ap.add_argument("--quick", action="store_true", help="40 x 1e6 and 4 x 1e7 samples")
    ap.add_argument("--keep", help="folder for the files (default: a temporary folder, deleted)")
    a = ap.parse_args(argv)
    if a.quick:
        a.small, a.big, a.big_samples = 40, 4, 1e7
    from nbtools.impact import EventRecipe, find_events
    from nbtools.study.execute import default_workers

    workers_max = a.workers_max or default_workers()
    recipe = EventRecipe(threshold=6)
    _warm()  # numba compiled before the plain loop is timed
    tmp = Path(a.keep or tempfile.mkdtemp(prefix="nbtools_bench_batch_"))
    print(f"nbtools study benchmark: {os.cpu_count()} CPUs, all cores = {workers_max} workers; files in {tmp}")
    try:
        run_set("small", tmp / "small", a.small, int(a.small_samples), write_small, workers_max, recipe, tmp)
        if a.big:
            run_set("big", tmp / "big", a.big, int(a.big_samples), write_big, workers_max, recipe, tmp)
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
