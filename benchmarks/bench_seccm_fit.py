"""Per-pixel fit throughput of nbtools.seccm.fit_pixels (CouplesCV, whole cycle) and recovery.

Run:  python benchmarks/bench_seccm_fit.py [--n-pixels 60] [--serial-subset 6]

Fits particle pixels of the bundled example scan (data/seccm_example.nc, 300
samples per cycle, two couples, ks ~ 5 1/s at 0.5 V/s) through
``nbtools.batch.fit_many`` (local Dask processes) and prints pixels/s against the
naive alternative measured in the same run: a serial loop of plain lmfit fits of
the same model from the same per-pixel guess (on a subset, extrapolated). Also
prints the cost of one Laviron kernel call against the kernel's loop before its
g = 0 fast path (kept here) and the recovery of Q, E0, alpha
and ks against the truth file.
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
    nfev = []
    for p in sub:
        E, i, _ = seccm.pixel_curve(ds, p)
        pars = model.make_params(**model.guess_values(i, E, v=v))
        pars["v"].set(value=v, vary=False)
        nfev.append(model.fit(i, pars, E=E).nfev)
    ts = (time.perf_counter() - t0) / sub.size
    print(f"naive serial lmfit: {ts:.3f} s/pixel ({1 / ts:.2f} pixels/s, measured on {sub.size} pixels, "
          f"{np.mean(nfev):.0f} model evaluations per fit); fit_pixels is {ts * idx.size / tb:.1f}x faster")

    kernel_timing(ds, idx[0], v)

    q = 2e-11 * t["activity"][ds.iy.values, ds.ix.values] / 2
    ok = r.fit_status.values[idx] == "ok"
    val = {k: seccm.from_grid(r[k], ds).values[idx][ok] for k in ("Q1", "Q2", "E01", "E02", "alpha", "ks")}
    print(f"converged {ok.sum()} / {idx.size}")
    for k in ("Q1", "Q2"):
        rel = val[k] / q[idx][ok] - 1
        print(f"  {k}: relative error median {np.median(rel):+.2%}, max |.| {np.max(np.abs(rel)):.2%}")
    for k, e0 in (("E01", 4.0), ("E02", 4.15)):
        print(f"  {k}: max |E0 - truth| {np.max(np.abs(val[k] - e0)) * 1e3:.2f} mV")
    # ks and alpha are NaN where fit_pixels finds them not identifiable
    print(f"  alpha: {np.nanmin(val['alpha']):.4f} .. {np.nanmax(val['alpha']):.4f} (truth 0.5; "
          f"{np.isnan(val['alpha']).sum()} not identifiable)")
    ratio = val["ks"] / t["k_s"][idx][ok]
    print(f"  ks / truth: median {np.nanmedian(ratio):.3f}, range {np.nanmin(ratio):.3f} .. {np.nanmax(ratio):.3f}")


def _old_kernel():
    """The g = 0 loop of the kernel before the fast path (exp per node, 3 linearisations per substep)."""
    import math

    from numba import njit

    from nbtools.kinetics._laviron_kernel import _lin, _phi

    @njit
    def old(E, dt, x0, E0, f, ks, alpha, g, nsub):
        n = E.size
        r = np.zeros(n)
        xc = x0
        for k in range(n - 1):
            m = nsub[k]
            h = dt[k] / m
            dE = (E[k + 1] - E[k]) / m
            rate = 0.0
            for j in range(m):
                es = E[k] + j * dE
                xs, k0 = _lin(es, xc, E0, f, ks, alpha, g)
                xe, k1 = _lin(es + dE, xc, E0, f, ks, alpha, g)
                xq, kt = _lin(es + 0.5 * dE, xc, E0, f, ks, alpha, g)
                s = (xe - xs) / h
                z = kt * h
                dec = math.exp(-z)
                ph = _phi(z) * h
                rate = -kt * (xc - xs) * dec + s * (1.0 - dec)
                xc = xc * dec + xs * (1.0 - dec) + s * (h - ph)
            r[k + 1] = rate
        return r

    return old


def kernel_timing(ds, pixel, v, repeat=50):
    """One Laviron curve of a pixel's programme: the kernel against its loop before the g = 0 fast path."""
    from nbtools.kinetics import insertion
    from nbtools.kinetics._laviron_kernel import laviron_fraction

    E, _, _ = seccm.pixel_curve(ds, pixel)
    E = np.ascontiguousarray(E)
    dE = np.abs(np.diff(E))
    nsub = np.maximum(1, np.ceil(dE / insertion.MAX_STEP)).astype(np.int64)
    f = insertion._f(298.15)
    x0 = 1 / (1 + np.exp(-f * (4.0 - E[0])))
    out = {}
    for name, fn in (("now", lambda *a: laviron_fraction(*a)[1]), ("before", _old_kernel())):
        fn(E, dE / v, x0, 4.0, f, 5.0, 0.5, 0.0, nsub)
        t0 = time.perf_counter()
        for _ in range(repeat):
            out[name] = fn(E, dE / v, x0, 4.0, f, 5.0, 0.5, 0.0, nsub)
        out[name + " ms"] = (time.perf_counter() - t0) / repeat * 1e3
    dev = np.max(np.abs(out["now"] - out["before"])) / np.max(np.abs(out["before"]))
    print(f"Laviron kernel, one curve ({int(nsub.sum())} substeps): {out['now ms']:.3f} ms, before the g = 0 "
          f"path {out['before ms']:.3f} ms ({out['before ms'] / out['now ms']:.1f}x); max difference {dev:.1e} "
          "of the peak")


if __name__ == "__main__":
    main()
