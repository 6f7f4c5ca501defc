"""Benchmark: nbtools.impact.find_events against scipy.signal.find_peaks.

On the same float32 trace (default 1e8 samples of a simulated recording at
100 kHz: Poisson spikes, white + 1/f noise, 50 Hz pickup, drift, 4-pole
Bessel filter), in one run:

- ``find_events`` end to end (baseline, noise, threshold, detection, all
  features, both polarities), best of ``--repeat`` runs after a warm-up;
- ``scipy.signal.find_peaks(x, height=..., prominence=..., wlen=...)`` (one
  polarity, peak positions only) at the same threshold;

then prints samples/s of both and the ratio. With ``--big-gb`` (default 4) it
writes a float32 .npy of that size in a temporary directory, runs
``find_events`` on it memory-mapped in a subprocess and prints the peak
resident memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``); the file is
deleted afterwards.

Usage::

    python benchmarks/bench_impact.py [--n 1e8] [--big-gb 4] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np


def make_trace(n, fs=100e3, piece=10_000_000, seed=0):
    """float32 recording of n samples, simulated piecewise to bound memory."""
    from nbtools.simulate import impact_trace

    out = np.empty(n, np.float32)
    i = 0
    k = 0
    while i < n:
        m = min(piece, n - i)
        tr, _ = impact_trace(duration=m / fs, fs=fs, rate=20, polarity="both", pink_noise=2e-12,
                             mains=1e-12, drift=20e-12, seed=seed + k)
        out[i:i + m] = tr.current[:m]
        i += m
        k += 1
    return out


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
    args = ap.parse_args(argv)

    from scipy.signal import find_peaks

    from nbtools.impact import find_events

    n = int(args.n)
    fs = args.fs
    print(f"simulating {n:.3g} float32 samples at {fs:g} Hz ...", flush=True)
    x = make_trace(n, fs)
    find_events(x[:200_000], fs)  # compile / load the numba kernels

    t_fe, ev = best_time(lambda: find_events(x, fs), args.repeat)
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

    if args.big_gb > 0:
        big_n = int(args.big_gb * 2**30 / 4)
        with tempfile.TemporaryDirectory(prefix="nbtools_bench_") as tmp:
            path = os.path.join(tmp, "big.npy")
            mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(big_n,))
            for i in range(0, big_n, n):
                m = min(n, big_n - i)
                mm[i:i + m] = x[:m]
            mm.flush()
            del mm
            code = textwrap.dedent(f"""
                import resource, time, numpy as np
                from nbtools import Trace
                from nbtools.impact import find_events
                x = np.load({path!r}, mmap_mode="r")
                t = time.perf_counter()
                ev = find_events(Trace(x, fs={fs}))
                el = time.perf_counter() - t
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                print(f"{{x.nbytes / 2**30:.2f}} GiB memory-mapped: {{el:.1f}} s, "
                      f"{{x.size / el / 1e6:.1f}} M samples/s, {{len(ev)}} events, peak RSS {{rss:.0f}} MiB")
            """)
            subprocess.run([sys.executable, "-c", code], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
