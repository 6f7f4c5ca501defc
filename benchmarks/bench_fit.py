"""Fitting speed: one 1,000-point fit (Butler-Volmer, exact MHC), a 20,000-curve batch, SECCM pixels.

Run:  python benchmarks/bench_fit.py [--n-curves 20000] [--serial-subset 300] [--seccm-side 100]

Prints the time of a single fit against its naive alternative measured in the same
run (plain lmfit for BV; MHC with scipy.integrate.quad per point), the accuracy of
the vectorised Chidsey integral against scipy.integrate.quad, and batch throughput
(curves/s) of ``nbtools.batch.fit_many`` (the batched engine of nbtools.fitting, on
1 core and on all) against a plain serial lmfit loop (run on a subset and
extrapolated, as stated in the output) and against the previous fit_many (MINPACK per
curve on Dask processes), with the parameter agreement; then SECCM pixels of a
simulated scan with the two-couple whole-cycle model: fit_pixels now against the
previous fit_pixels (first-order Laviron kernel at 0.1 mV, MINPACK per pixel).
"""

import argparse
import os
import time

import lmfit
import numpy as np
from scipy.integrate import quad

from nbtools.batch import fit_many
from nbtools.kinetics import (
    ButlerVolmerModel,
    butler_volmer,
    chidsey_rate,
    fit,
    marcus_hush_chidsey,
)

F_RT = 96485.33212 / (8.314462618 * 298.15)


def best_of(fn, n=7):
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t)
    return min(ts), float(np.median(ts)), out


def chidsey_quad(eta_t, lam_t):
    c = lam_t + eta_t
    f = lambda x: np.exp(-((x - c) ** 2) / (4 * lam_t) - np.logaddexp(0.0, x))  # noqa: E731
    lo, hi = c - 2 * lam_t - 12 * np.sqrt(lam_t) - 40, c + 12 * np.sqrt(lam_t) + 40
    return quad(f, lo, hi, points=[0.0] if lo < 0 < hi else None, limit=400, epsrel=1e-12,
                epsabs=0)[0]


def single_fits():
    rng = np.random.default_rng(0)
    eta = np.linspace(-0.3, 0.3, 1000)
    print("== one 1,000-point fit ==")
    y = butler_volmer(eta, 2e-9, 0.4)
    y = y + rng.normal(0, 0.01 * np.abs(y).max(), y.size)
    m = ButlerVolmerModel()
    p = m.make_params(i0=1e-9, alpha=0.5)
    tb, mb, r = best_of(lambda: fit(m, eta, y, p))
    tl, ml, _ = best_of(lambda: m.fit(y, p, eta=eta))
    print(f"Butler-Volmer  nbtools.kinetics.fit (checks + 95% CI): best {tb*1e3:6.1f} ms, "
          f"median {mb*1e3:6.1f} ms  (target < 50 ms); nfev {r.nfev}")
    print(f"Butler-Volmer  plain lmfit Model.fit                 : best {tl*1e3:6.1f} ms, "
          f"median {ml*1e3:6.1f} ms")

    y = marcus_hush_chidsey(eta, 2e-9, 0.3)
    y = y + rng.normal(0, 0.01 * np.abs(y).max(), y.size)
    from nbtools.kinetics import MarcusHushChidseyModel

    mm = MarcusHushChidseyModel()
    pm = mm.make_params(i0=1e-9, lam=0.5)
    tm, mmed, rm = best_of(lambda: fit(mm, eta, y, pm), n=5)
    print(f"MHC exact      nbtools.kinetics.fit                  : best {tm*1e3:6.1f} ms, "
          f"median {mmed*1e3:6.1f} ms  (target < 200 ms); nfev {rm.nfev}; "
          f"lam = {rm.params['lam'].value:.4f} eV (true 0.3)")
    # naive alternative: one model evaluation with scipy quad per point (x nfev)
    lt = 0.3 * F_RT
    et = eta * F_RT
    sub = et[::20]
    t0 = time.perf_counter()
    k0 = chidsey_quad(0.0, lt)
    ref = np.array([(chidsey_quad(-e, lt) - chidsey_quad(e, lt)) / k0 for e in sub])
    tq = (time.perf_counter() - t0) * 20
    tv, _, _ = best_of(lambda: marcus_hush_chidsey(eta, 1.0, 0.3))
    print(f"MHC model evaluation, 1,000 points: vectorised {tv*1e3:.2f} ms vs scipy.quad per point "
          f"{tq*1e3:.0f} ms (measured on 50 points, x20) -> x{tq/tv:.0f}; a quad-based fit with "
          f"the same nfev would take ~{tq*rm.nfev:.1f} s")
    got = marcus_hush_chidsey(eta, 1.0, 0.3)[::20]
    err = np.max(np.abs(got - ref) / np.maximum(np.abs(ref), 1e-12))
    errk = max(abs(chidsey_rate(e, l) / chidsey_quad(e, l) - 1)
               for l in (1.0, 8.3, 40.0) for e in (-30.0, -2.0, 0.0, 3.0, 30.0))
    print(f"accuracy vs scipy.integrate.quad: normalised current max rel. err {err:.1e}; "
          f"rate k_red max rel. err {errk:.1e} (lam~ 1-40, eta~ -30..30)")


def _agreement(a, b, names):
    """Max relative difference of parameters and median of standard errors on curves both converged."""
    ok = (a["status"] != "failed").to_numpy() & (b["status"] != "failed").to_numpy()
    if "fit_status" in a:
        ok &= (a["fit_status"] == "converged").to_numpy()
    par = max(float(np.max(np.abs(a[n][ok] / b[n][ok] - 1))) for n in names)
    err = max(float(np.median(np.abs(a[f"{n}_stderr"][ok] / b[f"{n}_stderr"][ok] - 1))) for n in names)
    return ok.sum(), par, err


def batch(n_curves, subset, n_points=200):
    print(f"\n== batch: {n_curves} Butler-Volmer curves x {n_points} points, {os.cpu_count()} cores ==")
    rng = np.random.default_rng(1)
    eta = np.linspace(-0.15, 0.15, n_points)
    i0 = 10 ** rng.uniform(-10, -8, n_curves)
    al = rng.uniform(0.3, 0.7, n_curves)
    Y = butler_volmer(eta[None, :], i0[:, None], al[:, None])
    Y += rng.normal(0, 0.01, Y.shape) * np.abs(Y).max(axis=1, keepdims=True)
    Y[::1000] = np.nan  # a few unusable curves (all NaN)
    # plain serial lmfit loop (same guess) on a subset, extrapolated
    m = ButlerVolmerModel()
    t0 = time.perf_counter()
    for y in Y[1:subset + 1]:
        m.fit(y, m.guess(y, eta), eta=eta)
    t_serial = (time.perf_counter() - t0) / subset * n_curves
    print(f"plain serial lmfit loop: {subset} curves measured, extrapolated to {n_curves}: "
          f"{t_serial:.1f} s = {n_curves / t_serial:.0f} curves/s")
    t0 = time.perf_counter()
    old = fit_many("ButlerVolmer", eta, Y, engine="fast")  # the previous default: Dask processes, MINPACK
    t_old = time.perf_counter() - t0
    print(f"fit_many engine='fast' (the previous default, local Dask processes): {n_curves / t_old:.0f} curves/s")
    fit_many("ButlerVolmer", eta, Y[:50])  # compile / load the cached kernels
    for workers in (1, None):
        t0 = time.perf_counter()
        df = fit_many("ButlerVolmer", eta, Y, n_workers=workers)  # default: the batch engine
        t_b = time.perf_counter() - t0
        ok = df.status != "failed"
        err_i0 = np.median(np.abs(df.i0[ok] / i0[ok.to_numpy()] - 1))
        print(f"fit_many default (engine='{df.attrs['engine']}', {workers or os.cpu_count()} core(s)): "
              f"{n_curves / t_b:,.0f} curves/s -> x{t_serial / t_b:.1f} the serial lmfit loop "
              f"(target >= 30x on all cores), x{t_old / t_b:.1f} the previous fit_many; "
              f"failed (all-NaN) curves: {df.attrs['n_failed']}; median |i0 error| {err_i0:.2%}")
    n_ok, par, err = _agreement(df, old, ["i0", "alpha"])
    print(f"agreement with MINPACK per curve on {n_ok} converged curves: parameters max rel diff {par:.1e} "
          f"(target 1e-3), standard errors median rel diff {err:.1e} (target 5 %)")


def _old_laviron(monkeypatch_off=False):
    """The Laviron g = 0 kernel as it was before the high-order scheme (first order, 0.1 mV substeps),
    for the 'today' comparison. Returns a function to restore the current kernel."""
    from nbtools.kinetics import insertion
    from nbtools.kinetics._laviron_kernel import laviron_fraction

    current = insertion.rate_g0

    def rate_old(E, v, E0, f, ks, alpha, max_step, average):
        dE = np.abs(np.diff(E))
        nsub = np.maximum(1, np.ceil(dE / 1e-4)).astype(np.int64)
        x0 = 1.0 / (1.0 + np.exp(f * (E[0] - E0)))
        x, r = laviron_fraction(E, dE / v, x0, E0, f, ks, alpha, 0.0, nsub)
        if average:
            with np.errstate(all="ignore"):
                r = np.r_[0.0, np.diff(x) / (dE / v)]
        return r

    insertion.rate_g0 = rate_old
    insertion._RATES.items.clear()

    def restore():
        insertion.rate_g0 = current
        insertion._RATES.items.clear()

    return restore


def seccm_pixels(n_side, subset):
    from nbtools import seccm
    from nbtools.simulate import seccm_scan

    print(f"\n== SECCM: {n_side} x {n_side} simulated scan, two-couple whole-cycle model (CouplesCV) ==")
    t0 = time.perf_counter()
    ds, truth = seccm_scan(nx=n_side, ny=n_side, n_samples=300, seed=3, noise=2e-13)
    print(f"(simulated in {time.perf_counter() - t0:.0f} s; {ds.sizes['sample']} samples per landing)")
    mask = truth["particle"][ds.iy.values, ds.ix.values]
    idx = np.flatnonzero(mask & (ds.status.values == "landed"))
    n = idx.size
    v = float(ds.attrs["scan_rate"])
    xs = [seccm.pixel_curve(ds, p)[0] for p in idx]
    ys = [seccm.pixel_curve(ds, p)[1] for p in idx]
    pr = {"v": {"value": v, "vary": False}}
    sub = np.linspace(0, n - 1, min(subset, n)).round().astype(int)
    # today's fit_pixels: the first-order kernel at 0.1 mV through MINPACK per pixel on Dask processes
    restore = _old_laviron()
    try:
        t0 = time.perf_counter()
        old = fit_many("CouplesCV", [xs[k] for k in sub], [ys[k] for k in sub], pr, engine="fast")
        t_old = (time.perf_counter() - t0) / sub.size
    finally:
        restore()
    print(f"previous fit_pixels (first-order kernel, MINPACK per pixel, local Dask processes): "
          f"{1 / t_old:.1f} pixels/s (on {sub.size} pixels)")
    t0 = time.perf_counter()
    r = seccm.fit_pixels(ds, pixels=idx)
    t_new = time.perf_counter() - t0
    print(f"fit_pixels now (engine='{r.attrs['engine']}'): {n} particle pixels in {t_new:.1f} s = {n / t_new:.0f} "
          f"pixels/s -> x{t_old * n / t_new:.1f} the previous fit_pixels (target >= 20x); 40,000 such landings "
          f"(a 200 x 200 scan of particles) would take {40_000 / (n / t_new):.0f} s (target < 60 s)")
    landed = np.flatnonzero(ds.status.values == "landed")
    t0 = time.perf_counter()
    mask_c = seccm.classify(ds)  # the dashboard's path: classify, then fit the particle group
    r_c = seccm.fit_pixels(ds, pixels=mask_c.values)
    t_c = time.perf_counter() - t0
    print(f"classify + fit_pixels on the particle group (the dashboard's default): {int(mask_c.values.sum())} "
          f"pixels classified particle, {r_c.attrs['n_fitted']} fitted, in {t_c:.1f} s for the {n_side} x {n_side} "
          f"scan (target < 60 s for 200 x 200)")
    t0 = time.perf_counter()
    every = seccm.fit_pixels(ds)
    t_all = time.perf_counter() - t0
    st = every.fit_status.values[landed]
    stuck = np.char.find(st.astype(str), "max_iter") >= 0
    print(f"fit_pixels on every landed pixel ({landed.size}, {landed.size - n} of them bare substrate, where the "
          f"two-couple model is not identifiable): {t_all:.1f} s = {landed.size / t_all:.0f} pixels/s; "
          f"{int(stuck.sum())} ran to max_iter; a 200 x 200 scan like this one would take "
          f"{40_000 / (landed.size / t_all):.0f} s (classify first and fit the particle pixels)")
    new_df = fit_many("CouplesCV", [xs[k] for k in sub], [ys[k] for k in sub], pr)
    same = fit_many("CouplesCV", [xs[k] for k in sub], [ys[k] for k in sub], pr, engine="fast")
    n_ok, par, err = _agreement(new_df, same, ["Q1", "E01", "Q2", "E02", "ks", "alpha"])
    print(f"agreement with MINPACK per pixel (same model) on {n_ok} converged pixels: parameters max rel diff "
          f"{par:.1e}, standard errors median rel diff {err:.1e}")
    ok = r.fit_status.values[idx] == "ok"
    ks = seccm.from_grid(r.ks, ds).values[idx][ok] / np.asarray(truth["k_s"])[idx][ok]
    print(f"converged {ok.sum()} / {n}; ks / truth median {np.nanmedian(ks):.3f} "
          f"(the simulator averages the current over each sample; the default 'point' model reads ks low)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-curves", type=int, default=20_000)
    ap.add_argument("--serial-subset", type=int, default=300)
    ap.add_argument("--seccm-side", type=int, default=100, help="pixels per side of the simulated scan")
    ap.add_argument("--seccm-subset", type=int, default=120, help="pixels fitted the previous way (extrapolated)")
    ap.add_argument("--skip-single", action="store_true")
    a = ap.parse_args()
    if not a.skip_single:
        single_fits()
    batch(a.n_curves, min(a.serial_subset, a.n_curves - 1))
    seccm_pixels(a.seccm_side, a.seccm_subset)


if __name__ == "__main__":
    main()
