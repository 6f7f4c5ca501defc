"""Benchmark: nbtools.impact.find_events on one core and on every core, against find_peaks and memory speed.

On the same float32 recording (default 1e8 samples of a simulated recording
at 100 kHz: Poisson spikes, white + 1/f noise, 50 Hz pickup, drift, 4-pole
Bessel filter), written to a .npy file and read memory-mapped, in one run
(each timing the best of ``--repeat`` after a warm-up, one core and all cores
alternating, the file in the page cache):

- ``find_events(x, workers=1)``: end to end (baseline, noise, threshold,
  detection, all features, polarity decided), the serial path;
- ``find_events(x, workers=N)`` (default every core of this process's
  affinity mask), and whether its table equals the serial one exactly;
- ``scipy.signal.find_peaks(x, height=..., prominence=..., wlen=...)`` (one
  polarity, peak positions only) at the same threshold;
- ``np.sum(x)`` over the same memory map: reading the samples once, the
  memory-speed limit of any detector;

then prints M samples/s of each and the ratios (all cores / one core,
find_events / find_peaks, np.sum / find_events). The load of the machine
(``os.getloadavg``, CPU time of this process over wall time) is printed
with the numbers: on a shared machine, other work takes cores away from
the parallel run.

With ``--big-gb`` (default 0: skipped) it also writes a float32 .npy of that
size, runs ``find_events`` on it memory-mapped in a subprocess (every core)
and prints the peak resident memory of that process (``VmHWM``; a child
inherits its parent's maxrss at fork); the file is deleted afterwards.

Usage::

    python benchmarks/bench_impact.py [--n 1e8] [--workers N] [--repeat 3] [--big-gb 0] [--file PATH]
"""

from __future__ import annotations

import os
import sys

# BLAS pools at one thread: nbtools' own thread pool (workers=) is what is measured
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import subprocess
import tempfile
import time

import numpy as np


def pieces(n, fs=100e3, piece=10_000_000, seed=0):
    """float32 pieces of a simulated recording, n samples in all."""
    from nbtools.simulate import impact_trace

    i = 0
    k = 0
    while i < n:
        m = min(piece, n - i)
        tr, _ = impact_trace(duration=m / fs, fs=fs, rate=20, polarity="both", pink_noise=2e-12,
                             mains=1e-12, drift=20e-12, seed=seed + k)
        yield tr.current[:m]
        i += m
        k += 1


def make_trace(n, fs=100e3):
    out = np.empty(n, np.float32)
    i = 0
    for p in pieces(n, fs):
        out[i:i + p.size] = p
        i += p.size
    return out


def write_npy(path, n, fs):
    """A float32 .npy written piece by piece with plain file writes (no
    memory map, so this process stays small)."""
    with open(path, "wb") as f:
        np.lib.format.write_array_header_2_0(
            f, {"descr": np.dtype(np.float32).str, "fortran_order": False, "shape": (n,)})
        for p in pieces(n, fs, seed=1000):
            f.write(p.tobytes())


MEASURE = """
import resource, time, numpy as np
from nbtools import Trace
from nbtools.impact import find_events
x = np.load({path!r}, mmap_mode="r")
t = time.perf_counter()
ev = find_events(Trace(x, fs={fs}), workers={workers})
el = time.perf_counter() - t
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"{{x.nbytes / 2**30:.2f}} GiB memory-mapped: {{el:.1f}} s, {{x.size / el / 1e6:.1f}} M samples/s, "
      f"{{len(ev)}} events, peak memory VmHWM {{int(hwm) / 1024:.0f}} MiB "
      f"(getrusage maxrss {{maxrss / 1024:.0f}} MiB)")
"""


def best_time(fn, repeat):
    """(best wall time, CPU time of this process during that run, last result) of ``repeat`` runs."""
    best, cpu = np.inf, np.nan
    res = None
    for _ in range(repeat):
        c = time.process_time()
        t = time.perf_counter()
        res = fn()
        el = time.perf_counter() - t
        if el < best:
            best, cpu = el, time.process_time() - c
    return best, cpu, res


def critical_path(fn, workers):
    """Load-independent estimate of ``fn()``'s wall time on ``workers`` dedicated cores: ``fn`` runs on
    one thread with nbtools' thread pool (``pmap``) replaced by a recorder that times each task in
    CPU time of its thread (``time.thread_time``, which other processes do not inflate); the estimate
    is the CPU time outside the pools plus, for each pool, the time of the tasks handed in order to
    the first free of ``workers`` threads (as ``ThreadPoolExecutor.map`` does). Returns
    ``(estimate, serial part, CPU time in all)`` (s). The two polarities, which the real run detects
    side by side, are timed one after the other (a conservative estimate)."""
    from nbtools.impact import parallel, prepared, stages, steps

    state = {"depth": 0, "pools": 0.0, "span": 0.0}

    def pmap(f, items, w):
        if state["depth"]:
            return [f(it) for it in items]
        state["depth"] += 1
        out, free = [], [0.0] * max(1, min(workers, len(items)))
        try:
            for it in items:
                c = time.thread_time()
                out.append(f(it))
                d = time.thread_time() - c
                state["pools"] += d
                k = free.index(min(free))
                free[k] += d
        finally:
            state["depth"] -= 1
        state["span"] += max(free)
        return out

    saved = [(m, m.pmap) for m in (prepared, stages, steps)]
    for m, _ in saved:
        m.pmap = pmap
    # the two polarities (prepared.py) run one after the other here, each with its own pools: their
    # parts outside the pools count as serial (in the real run they overlap)
    prepared.pmap = lambda f, items, w: [f(it) for it in items]
    try:
        c = time.thread_time()
        fn()
        total = time.thread_time() - c
    finally:
        for m, f in saved:
            m.pmap = f
    serial = total - state["pools"]
    return serial + state["span"], serial, total


def same_table(a, b) -> bool:
    import pandas as pd

    try:
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        pd.testing.assert_frame_equal(a.attrs["rejected"], b.attrs["rejected"], check_exact=True)
    except AssertionError:
        return False
    return True


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=float, default=1e8, help="samples (default 1e8)")
    ap.add_argument("--fs", type=float, default=100e3)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=None, help="threads of the all-core run (default: every core)")
    ap.add_argument("--file", default=None, help="keep the simulated .npy here (reused when it holds n samples)")
    ap.add_argument("--big-gb", type=float, default=0.0, help="size of the memory-mapped file of the memory check "
                    "(0: skip)")
    args = ap.parse_args(argv)

    from scipy.signal import find_peaks

    from nbtools.impact import find_events
    from nbtools.threads import resolve_workers

    n = int(args.n)
    fs = args.fs
    workers = resolve_workers(args.workers)
    if args.big_gb > 0:
        # first, while this process is small (a child inherits the parent's
        # maxrss at fork; VmHWM of the child is its own)
        big_n = int(args.big_gb * 2**30 / 4)
        with tempfile.TemporaryDirectory(prefix="nbtools_bench_") as tmp:
            path = os.path.join(tmp, "big.npy")
            print(f"writing {big_n * 4 / 2**30:.2f} GiB float32 to {path} ...", flush=True)
            write_npy(path, big_n, fs)
            subprocess.run([sys.executable, "-c", MEASURE.format(path=path, fs=fs, workers=workers)], check=True)

    tmp = None
    path = args.file
    if path is None:
        tmp = tempfile.TemporaryDirectory(prefix="nbtools_bench_")
        path = os.path.join(tmp.name, "trace.npy")
    if not (os.path.exists(path) and np.load(path, mmap_mode="r").shape == (n,)):
        print(f"simulating {n:.3g} float32 samples at {fs:g} Hz into {path} ...", flush=True)
        write_npy(path, n, fs)
    x = np.load(path, mmap_mode="r")
    find_events(np.asarray(x[:200_000]), fs=fs)  # compile / load the numba kernels
    find_events(x[:200_000], fs=fs)  # (read-only arrays of a memory map)

    load0 = os.getloadavg()
    t_sum, c_sum, total = best_time(lambda: np.sum(x, dtype=np.float64), max(10, args.repeat))
    # one core and all cores alternate, so that a change of the machine's load hits both alike
    t_1 = t_n = np.inf
    for _ in range(args.repeat):
        t, c, ev1_ = best_time(lambda: find_events(x, fs=fs, workers=1), 1)
        if t < t_1:
            t_1, c_1, ev1 = t, c, ev1_
        t, c, evn_ = best_time(lambda: find_events(x, fs=fs, workers=workers), 1)
        if t < t_n:
            t_n, c_n, evn = t, c, evn_
    thr = ev1.attrs["threshold_A"]
    base = float(np.median(x[: min(n, 1_000_000)]))
    wlen = int(0.02 * fs)
    t_fp, c_fp, (peaks, _) = best_time(lambda: find_peaks(x, height=base + thr, prominence=thr, wlen=wlen), 1)
    load1 = os.getloadavg()
    same = same_table(ev1, evn)
    est, serial, work = critical_path(lambda: find_events(x, fs=fs, workers=workers), workers)

    def line(name, t, cpu, what):
        print(f"{name:<22}: {t:8.3f} s {n / t / 1e6:9.1f} M samples/s  CPU/wall {cpu / t:4.2f}  {what}")

    print(f"{n:.3g} float32 samples, memory-mapped ({x.nbytes / 2**20:.0f} MiB, page cache warm); "
          f"{os.cpu_count()} CPUs, {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'} "
          f"usable; load average before {load0[0]:.2f}, after {load1[0]:.2f}")
    line("np.sum (read once)", t_sum, c_sum, "the memory-speed limit")
    line("find_events 1 core", t_1, c_1, f"{len(ev1)} events, all features (workers=1)")
    line(f"find_events {workers} cores", t_n, c_n, f"{len(evn)} events (workers={workers}); "
         f"table identical to 1 core: {same}")
    line("find_peaks", t_fp, c_fp, f"{len(peaks)} peaks (positive only, positions)")
    print(f"all cores / one core  : {t_1 / t_n:6.2f} x   (target >= 1.8 on 2 cores)")
    print(f"find_events / find_peaks: {t_fp / t_1:6.2f} x on one core, {t_fp / t_n:6.2f} x on {workers}")
    print(f"np.sum / find_events  : {t_n / t_sum:6.1f} x slower than reading the samples once on {workers} cores "
          f"({t_1 / t_sum:.1f} x on one; target <= 2 on a quiet machine)")
    print(f"load-independent estimate (each pool task timed in its thread's CPU time, tasks scheduled on "
          f"{workers} cores): {work:.3f} s of work, {serial:.3f} s of it outside the pools; {est:.3f} s on "
          f"{workers} cores = {work / est:.2f} x one core; {est / max(c_sum, 1e-9):.1f} x np.sum's CPU time")
    if tmp is not None:
        del x, ev1, evn
        tmp.cleanup()
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
