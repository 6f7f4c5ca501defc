"""Cost and calibration of the goodness of fit every fit now reports (nbtools.kinetics.goodness).

Run:  python benchmarks/bench_fit_goodness.py [--n-curves 10000] [--n-points 200]

Prints (1) the time of ``goodness`` on n curves against the time of the batched fit
itself (``fit_many(engine="batch")``, which includes it), measured in the same run;
(2) the calibration of the reduced chi-square relative to each curve's own noise on
fits of the true model (mean and 5-95 % range: about 1) and how often the residual
structure flag fires there (false alarms, target <= 0.1 %); (3) how often it fires on
a wrong model (Butler-Volmer fitted to mass-transport-limited curves: target 100 %).
"""

import argparse
import time

import numpy as np

from nbtools.batch import fit_many
from nbtools.kinetics import butler_volmer, butler_volmer_mt
from nbtools.kinetics.goodness import goodness, noise_sd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-curves", type=int, default=10000)
    ap.add_argument("--n-points", type=int, default=200)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    eta = np.linspace(-0.2, 0.2, a.n_points)
    sigma = 1e-11
    i0 = rng.uniform(1e-9, 3e-9, a.n_curves)
    Y = butler_volmer(eta[None, :], i0[:, None], 0.5) + rng.normal(0, sigma, (a.n_curves, a.n_points))
    t = time.perf_counter()
    df = fit_many("ButlerVolmer", eta, Y, engine="batch")
    t_fit = time.perf_counter() - t
    F = butler_volmer(eta[None, :], df["i0"].to_numpy()[:, None], df["alpha"].to_numpy()[:, None])
    t = time.perf_counter()
    goodness(Y, F, 2)
    t_good = time.perf_counter() - t
    print(f"{a.n_curves} curves x {a.n_points} points: fit_many(engine='batch') {t_fit:.2f} s "
          f"(goodness included), goodness alone {t_good:.2f} s ({t_good / t_fit:.0%} of the fit)")
    rc = df["redchi_noise"].to_numpy()
    print(f"true model: reduced chi-square vs each curve's noise mean {np.mean(rc):.3f}, 5-95 % "
          f"{np.percentile(rc, 5):.2f}-{np.percentile(rc, 95):.2f}; noise_sd/sigma median "
          f"{np.median(noise_sd(Y)) / sigma:.3f}; residual structure flagged in {df['resid_structure'].mean():.2%}")
    m = min(a.n_curves, 2000)
    Ym = butler_volmer_mt(eta[None, :], i0[:m, None], 0.5, 2e-8, -2e-8) + rng.normal(0, sigma, (m, a.n_points))
    wrong = fit_many("ButlerVolmer", eta, Ym, engine="batch")
    print(f"wrong model on {m} curves: residual structure flagged in {wrong['resid_structure'].mean():.1%}, "
          f"median reduced chi-square vs noise {np.median(wrong['redchi_noise']):.3g}")


if __name__ == "__main__":
    main()
