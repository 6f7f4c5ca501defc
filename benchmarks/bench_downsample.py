"""What TraceView costs per zoom: downsample_window vs a plain NumPy min/max decimation.

Usage::

    .venv/bin/python benchmarks/bench_downsample.py            # 1e8 float32 samples (400 MB)
    .venv/bin/python benchmarks/bench_downsample.py --n 2e7

For the whole trace and for a 1 % window it prints the time per redraw of
:func:`nbtools.plotting.downsample_window` (MinMaxLTTB, at most 2,000 points,
extremes kept) and of the naive alternative measured in the same run: NumPy
min/max per bucket over the same window (reshape + min + max), and the number
of points that drawing every sample would send instead.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from nbtools import Trace
from nbtools.plotting import downsample_window


def naive_minmax(y: np.ndarray, n_out: int) -> np.ndarray:
    """Min and max of n_out/2 equal buckets (drops the remainder), interleaved."""
    nb = max(n_out // 2, 1)
    m = len(y) // nb * nb
    b = y[:m].reshape(nb, -1)
    return np.column_stack([b.min(axis=1), b.max(axis=1)]).ravel()


def best_of(func, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        func()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=float, default=1e8, help="number of samples (float32)")
    ap.add_argument("--points", type=int, default=2000, help="max points per redraw")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n = int(args.n)
    fs = 100_000.0
    rng = np.random.default_rng(0)
    y = rng.normal(0, 3e-12, n).astype(np.float32)
    y[rng.integers(0, n, 1000)] += np.float32(200e-12)
    tr = Trace(y, fs=fs)
    print(f"trace: {n:,} float32 samples ({y.nbytes / 1e6:.0f} MB), {tr.duration:.0f} s at {fs:g} Hz")
    for label, (t0, t1) in {"whole trace": (None, None),
                            "1 % window": (0.40 * tr.duration, 0.41 * tr.duration)}.items():
        i0 = 0 if t0 is None else tr.index_at(t0)
        i1 = n if t1 is None else tr.index_at(t1)
        window = y[i0:i1]
        ours = best_of(lambda: downsample_window(tr, t0=t0, t1=t1, n_out=args.points), args.repeat)
        naive = best_of(lambda: naive_minmax(window, args.points), args.repeat)
        pts = len(downsample_window(tr, t0=t0, t1=t1, n_out=args.points)[0])
        print(f"{label:>12}: downsample_window {ours * 1e3:8.2f} ms ({(i1 - i0) / ours / 1e6:8.0f} Msamples/s), "
              f"numpy min/max {naive * 1e3:8.2f} ms, ratio naive/ours {naive / ours:5.2f}x; "
              f"{pts} points sent instead of {i1 - i0:,}")


if __name__ == "__main__":
    main()
