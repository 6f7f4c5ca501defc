"""Per-pixel fit throughput of nbtools.seccm.fit_pixels (CouplesCV, whole cycle) and recovery.

Run:  python benchmarks/bench_seccm_fit.py [--n-pixels 60] [--serial-subset 6]

Fits particle pixels of the bundled example scan (data/seccm_example.nc, 300
samples per cycle, two couples, ks ~ 5 1/s at 0.5 V/s) through
``nbtools.batch.fit_many`` (local Dask processes) and prints pixels/s against the
naive alternative measured in the same run: a serial loop of plain lmfit fits of
the same model from the same per-pixel guess (on a subset, extrapolated). Also
prints the recovery of Q, E0, alpha and ks against the truth file.
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np

from nbtools import seccm

DATA = Path(__file__).resolve().parents[1] / "data"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-pixels", type=int, default=60)
    ap.add_argument("--serial-subset", type=int, default=6)
    a = ap.parse_args()
    ds = seccm.load(DATA / "seccm_example.nc")
    t = np.load(DATA / "seccm_example_truth.npz")
    part = t["particle"][ds.iy.values, ds.ix.values] & (ds.status.values == "landed")
    idx = np.flatnonzero(part)
    idx = idx[np.linspace(0, idx.size - 1, min(a.n_pixels, idx.size)).round().astype(int)]
    print(f"{idx.size} particle pixels, {ds.sizes['sample']} samples each, {os.cpu_count()} cores")

    seccm.fit_pixels(ds, pixels=idx[:1], scheduler="sync")  # compile kernels
    t0 = time.perf_counter()
    r = seccm.fit_pixels(ds, pixels=idx)
    tb = time.perf_counter() - t0
    print(f"fit_pixels (fit_many, {r.attrs['scheduler']}, engine {r.attrs['engine']}): {tb:.1f} s, "
          f"{idx.size / tb:.2f} pixels/s")

    # naive: serial lmfit of the same model from the same guess
    model = seccm.CouplesCVModel(couples=2)
    v = float(ds.attrs["scan_rate"])
    sub = idx[: a.serial_subset]
    t0 = time.perf_counter()
    for p in sub:
        E, i, _ = seccm.pixel_curve(ds, p)
        pars = model.make_params(**model.guess_values(i, E, v=v))
        pars["v"].set(value=v, vary=False)
        model.fit(i, pars, E=E)
    ts = (time.perf_counter() - t0) / sub.size
    print(f"naive serial lmfit: {ts:.2f} s/pixel ({1 / ts:.2f} pixels/s, measured on {sub.size} pixels); "
          f"fit_pixels is {ts * idx.size / tb:.1f}x faster")

    q = 2e-11 * t["activity"][ds.iy.values, ds.ix.values] / 2
    ok = r.fit_status.values[idx] == "ok"
    val = {k: seccm.from_grid(r[k], ds).values[idx][ok] for k in ("Q1", "Q2", "E01", "E02", "alpha", "ks")}
    print(f"converged {ok.sum()} / {idx.size}")
    for k in ("Q1", "Q2"):
        rel = val[k] / q[idx][ok] - 1
        print(f"  {k}: relative error median {np.median(rel):+.2%}, max |.| {np.max(np.abs(rel)):.2%}")
    for k, e0 in (("E01", 4.0), ("E02", 4.15)):
        print(f"  {k}: max |E0 - truth| {np.max(np.abs(val[k] - e0)) * 1e3:.2f} mV")
    print(f"  alpha: {np.min(val['alpha']):.4f} .. {np.max(val['alpha']):.4f} (truth 0.5)")
    ratio = val["ks"] / t["k_s"][idx][ok]
    print(f"  ks / truth: median {np.median(ratio):.3f}, range {np.min(ratio):.3f} .. {np.max(ratio):.3f}")


if __name__ == "__main__":
    main()
