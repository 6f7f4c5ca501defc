"""Benchmark: SECCM Dataset construction and all maps, vectorised vs a per-pixel loop.

Usage::

    python benchmarks/bench_seccm.py            # 200 x 200 landings x 1000 samples (float32)
    python benchmarks/bench_seccm.py --nx 60 --ny 60 --samples 500   # smaller, while developing

Prints the time of each step, the total (target < 5 s at full size), and the
throughput of a naive per-pixel Python loop (``np.trapezoid`` on each curve)
measured in the same run on a subset, with the ratio.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def make_arrays(nx, ny, m, seed=0):
    """Float32 current and potential (per pixel) of a CV scan, cheap to build."""
    rng = np.random.default_rng(seed)
    n = nx * ny
    half = m // 2
    E = np.concatenate([np.linspace(3.7, 4.4, half, endpoint=False), np.linspace(4.4, 3.7, m - half)])
    dt = 2 * 0.7 / 0.5 / m
    f = 38.92
    shape = np.exp(f * (E - 4.0)) / (1 + np.exp(f * (E - 4.0))) ** 2
    shape = np.where(np.arange(m) < half, shape, -np.roll(shape, 20))
    # a quarter of the landings on particles (two populations, so classify has something to split)
    on_particle = rng.random((n, 1)) < 0.25
    amp = np.where(on_particle, rng.uniform(2e-11, 5e-11, size=(n, 1)), 0.0).astype(np.float32)
    cap = np.float32(2e-12) * np.sign(np.gradient(E)).astype(np.float32)
    cur = (amp * shape.astype(np.float32)[None, :] + cap[None, :]).astype(np.float32)
    cur += rng.standard_normal((n, m), dtype=np.float32) * np.float32(1e-13)
    pot = np.broadcast_to(E.astype(np.float32), (n, m)).copy()
    pot += rng.standard_normal((n, m), dtype=np.float32) * np.float32(1e-4)  # per-landing readback
    x = (np.arange(n) % nx) * 1e-6
    y = (np.arange(n) // nx) * 1e-6
    return cur, pot, x, y, dt


def naive_charge(cur, pot, dt):
    """The obvious per-pixel loop: anodic branch, window ends baseline, trapezoid."""
    out = np.empty(cur.shape[0])
    for i in range(cur.shape[0]):
        c = cur[i].astype(np.float64)
        e = pot[i].astype(np.float64)
        up = np.flatnonzero(np.diff(e) > 0)
        k0, k1 = up[0], up[-1] + 1
        cc, ee = c[k0 : k1 + 1], e[k0 : k1 + 1]
        # same convention as nbtools: skip the vertex sample at each end
        base = cc[1] + (cc[-2] - cc[1]) * (ee - ee[1]) / (ee[-2] - ee[1])
        out[i] = np.trapezoid(cc - base, dx=dt)
    return out


def naive_peak(cur, pot):
    out = np.empty(cur.shape[0])
    for i in range(cur.shape[0]):
        e = pot[i]
        up = np.diff(e) > 0
        c = np.where(np.r_[up, False], cur[i], -np.inf)
        out[i] = e[np.argmax(c)]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nx", type=int, default=200)
    ap.add_argument("--ny", type=int, default=200)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--naive", type=int, default=400, help="pixels in the naive-loop subset")
    a = ap.parse_args()

    from nbtools import seccm

    n, m = a.nx * a.ny, a.samples
    cur, pot, x, y, dt = make_arrays(a.nx, a.ny, m)
    print(f"scan {a.ny} x {a.nx} landings x {m} samples, float32: {cur.nbytes / 1e6:.0f} MB per variable")

    import os

    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared machine)")
    # warm-up: compiled kernels load from numba's cache (or compile) on first use
    w = seccm.from_arrays(cur[:4], pot[:4], x[:4], y[:4], dt=dt)
    seccm.charge(w), seccm.current_at(w, 4.0), seccm.peak(w), seccm.onset(w, 5e-12), seccm.group_stats(w, [0, 1])
    steps = {}
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    ds = seccm.from_arrays(cur, pot, x, y, dt=dt)
    steps["from_arrays + quality labels"] = time.perf_counter() - t0
    calls = {
        "current_at (anodic)": lambda: seccm.current_at(ds, 4.0),
        "current_at (both)": lambda: seccm.current_at(ds, 4.0, branch="both"),
        "charge": lambda: seccm.charge(ds, window=(3.75, 4.35)),
        "peak anodic": lambda: seccm.peak(ds, "anodic"),
        "peak cathodic": lambda: seccm.peak(ds, "cathodic"),
        "onset": lambda: seccm.onset(ds, 5e-12),
        "peak_separation": lambda: seccm.peak_separation(ds),
        "classify": lambda: seccm.classify(ds),
    }
    results = {}
    for name, fn in calls.items():
        t = time.perf_counter()
        results[name] = fn()
        steps[name] = time.perf_counter() - t
    total = sum(steps.values())
    cpu = time.process_time() - cpu0
    for k, v in steps.items():
        print(f"  {k:32s} {v:7.3f} s")
    print(f"  {'TOTAL':32s} {total:7.3f} s wall, {cpu:.3f} s CPU (all threads)   (target < 5 s)   "
          f"{n / total:,.0f} pixels/s for everything")
    print(f"load average after: {os.getloadavg()[0]:.1f}")

    # what a PixelSelector does on a new selection: mean curve + 95 % band of the group
    mask = results["classify"]
    t = time.perf_counter()
    c0 = time.process_time()
    g = seccm.group_stats(ds, mask)
    tg = time.perf_counter() - t
    cg = time.process_time() - c0
    t = time.perf_counter()
    g2 = seccm.group_stats(ds, ~mask)
    tg2 = time.perf_counter() - t
    print(f"group_stats (selection response): {g.attrs['n_pixels']} pixels {tg:.3f} s, "
          f"{g2.attrs['n_pixels']} pixels {tg2:.3f} s wall ({cg:.3f} s CPU for the first)   (target < 0.2 s)")

    k = min(a.naive, n)
    t = time.perf_counter()
    naive_charge(cur[:k], pot[:k], dt)
    tn_q = (time.perf_counter() - t) / k
    t = time.perf_counter()
    naive_peak(cur[:k], pot[:k])
    tn_p = (time.perf_counter() - t) / k
    tv_q = steps["charge"] / n
    tv_p = steps["peak anodic"] / n
    print(f"naive per-pixel loop on {k} pixels: charge {1 / tn_q:,.0f} px/s, peak {1 / tn_p:,.0f} px/s")
    print(f"vectorised:                       charge {1 / tv_q:,.0f} px/s, peak {1 / tv_p:,.0f} px/s")
    print(f"speed-up: charge x{tn_q / tv_q:.1f}, peak x{tn_p / tv_p:.1f}; "
          f"naive loop for the whole scan would take {tn_q * n + tn_p * n:.1f} s for these two maps")
    sub = ds.isel(pixel=slice(0, 50))
    vq = seccm.from_grid(seccm.charge(sub, end_points=1, smooth=1), sub).values
    nq = naive_charge(cur[:50], pot[:50], dt)
    print(f"naive vs vectorised charge, first 50 pixels: max |difference| {np.max(np.abs(vq - nq)):.2e} C "
          f"(charges up to {np.max(np.abs(nq)):.2e} C)")


if __name__ == "__main__":
    main()
