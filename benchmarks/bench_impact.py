"""Benchmark: nbtools.impact.find_events against scipy.signal.find_peaks.

On the same float32 trace (default 1e8 samples of a simulated recording at
100 kHz: Poisson spikes, white + 1/f noise, 50 Hz pickup, drift, 4-pole
Bessel filter), in one run:

- ``find_events`` end to end (baseline, noise, threshold, detection, all
  features, both polarities), best of ``--repeat`` runs after a warm-up;
- ``scipy.signal.find_peaks(x, height=..., prominence=..., wlen=...)`` (one
  polarity, peak positions only) at the same threshold;

then prints samples/s of both and the ratio. With ``--big-gb`` (default 4) it
first writes a float32 .npy of that size in a temporary directory, runs
``find_events`` on it memory-mapped in a subprocess and prints the peak
resident memory of that process (``VmHWM``; ``getrusage`` maxrss is printed
too, but a child inherits its parent's maxrss at fork); the file is deleted
afterwards.

The process runs on one CPU (``sched_setaffinity``; thread pools set to 1)
unless ``--all-cores``.

Usage::

    python benchmarks/bench_impact.py [--n 1e8] [--big-gb 4] [--repeat 2] [--all-cores]
"""

from __future__ import annotations

import os
import sys

# one core, as the target says: thread pools off before numpy/numba load,
# and (below) the process pinned to one CPU unless --all-cores
for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    if "--all-cores" not in sys.argv:
        os.environ.setdefault(_var, "1")

import argparse
import subprocess
import tempfile
import textwrap
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
ev = find_events(Trace(x, fs={fs}))
el = time.perf_counter() - t
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"{{x.nbytes / 2**30:.2f}} GiB memory-mapped: {{el:.1f}} s, {{x.size / el / 1e6:.1f}} M samples/s, "
      f"{{len(ev)}} events, peak memory VmHWM {{int(hwm) / 1024:.0f}} MiB "
      f"(getrusage maxrss {{maxrss / 1024:.0f}} MiB)")
"""


def best_time(fn, repeat):
    best = np.inf
    res = None
    for _ in range(repeat):
        t = time.perf_counter()
        res = fn()
        best = min(best, time.perf_counter() - t)
    return best, res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=float, default=1e8, help="samples (default 1e8)")
    ap.add_argument("--fs", type=float, default=100e3)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--big-gb", type=float, default=4.0, help="size of the memory-mapped file (0: skip)")
    ap.add_argument("--all-cores", action="store_true", help="do not pin the process to one CPU")
    args = ap.parse_args(argv)
    if not args.all_cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        print(f"pinned to CPU {sorted(os.sched_getaffinity(0))[0]}; thread pools: 1", flush=True)

    from scipy.signal import find_peaks

    from nbtools.impact import find_events

    n = int(args.n)
    fs = args.fs
    if args.big_gb > 0:
        # first, while this process is small (a child inherits the parent's
        # maxrss at fork; VmHWM of the child is its own)
        big_n = int(args.big_gb * 2**30 / 4)
        with tempfile.TemporaryDirectory(prefix="nbtools_bench_") as tmp:
            path = os.path.join(tmp, "big.npy")
            print(f"writing {big_n * 4 / 2**30:.2f} GiB float32 to {path} ...", flush=True)
            write_npy(path, big_n, fs)
            subprocess.run([sys.executable, "-c", MEASURE.format(path=path, fs=fs)], check=True)

    print(f"simulating {n:.3g} float32 samples at {fs:g} Hz ...", flush=True)
    x = make_trace(n, fs)
    find_events(x[:200_000], fs=fs)  # compile / load the numba kernels

    t_fe, ev = best_time(lambda: find_events(x, fs=fs), args.repeat)
    thr = ev.attrs["threshold_A"]
    base = float(np.median(x[: min(n, 1_000_000)]))
    wlen = int(0.02 * fs)

    def fp():
        return find_peaks(x, height=base + thr, prominence=thr, wlen=wlen)

    t_fp, (peaks, _) = best_time(fp, 1)
    r_fe = n / t_fe
    r_fp = n / t_fp
    print(f"find_events : {t_fe:8.3f} s  {r_fe / 1e6:8.1f} M samples/s  {len(ev)} events "
          f"(both polarities, all features)")
    print(f"find_peaks  : {t_fp:8.3f} s  {r_fp / 1e6:8.1f} M samples/s  {len(peaks)} peaks "
          f"(positive only, positions)")
    print(f"ratio       : {r_fe / r_fp:8.2f} x  (find_events / find_peaks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
