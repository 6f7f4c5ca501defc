"""Accuracy and speed of nbtools.gitt and nbtools.kinetics.arrhenius_fit on simulated records with known answers.

Printed:

- D across SOC, spherical diffusion fit: 14 pulses (SOC 0.2-0.76) of a 1 um particle whose D(x) dips threefold,
  Frumkin OCV, 0.05 mV noise, 100 MOhm series resistance; per seed the largest and mean |D/D_true - 1| over the
  pulses with D_true at each pulse's mean surface SOC (target < 10 %; also against D at the charge midpoint), the
  share of 95 % intervals that contain the truth, and R_ohm recovered;
- D by Weppner-Huggins on short pulses (t_p ~ 5e-4 r^2/D, linear OCV) at SOC 0.2, 0.5, 0.78;
- Ea of D from GITT records simulated at 4 temperatures (45 kJ/mol) and from value series with 5 % scatter
  (target within 5 %);
- analysis speed (pulses/s) and simulation time.

Usage::

    python benchmarks/bench_gitt.py [--seeds 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from nbtools import gitt
from nbtools.kinetics import arrhenius, arrhenius_fit
from nbtools.simulate import arrhenius_series
from nbtools.simulate.gitt import d_dip, frumkin_ocv, gitt_sequence

R_P = 1e-6
D_DIP = d_dip(1e-14, 3e-15, 0.5, 0.25)


def sphere_fit(seeds):
    rows = []
    for seed in range(seeds):
        t0 = time.perf_counter()
        df = gitt_sequence(n_pulses=14, dx_pulse=0.04, x0=0.8, t_pulse=30.0, t_rest=150.0,
                           D=D_DIP, radius=R_P, points_pulse=60, points_rest=60,
                           noise=5e-5, R_ohm=1e8, seed=seed)
        t1 = time.perf_counter()
        res = gitt.analyze(df, radius=R_P, capacity=df.attrs["truth"]["Q"], soc0=0.2)
        t2 = time.perf_counter()
        p = res.pulses
        d = res.d_vs_soc()
        truth = D_DIP(1 - d["soc"].to_numpy())  # D at the mean surface SOC of each pulse
        at_mid = pd.DataFrame(df.attrs["truth"]["pulses"])["D"].to_numpy()  # D at the charge midpoint
        ratio = d["D"].to_numpy() / truth
        inside = ((d["D_low"] <= truth) & (truth <= d["D_high"])).mean()
        rows.append({"seed": seed, "max_err_fit": np.max(np.abs(ratio - 1)), "mean_err_fit":
                     np.mean(np.abs(ratio - 1)), "max_err_vs_mid": np.max(np.abs(d["D"].to_numpy() / at_mid - 1)),
                     "max_err_wh": np.max(np.abs(p["D_wh"] / at_mid - 1)),
                     "covered": inside, "R_ohm_err": abs(np.median(p["R_ohm"]) / 1e8 - 1),
                     "sim_s": t1 - t0, "pulses_per_s": len(p) / (t2 - t1)})
    return pd.DataFrame(rows)


def weppner_huggins(seeds):
    D = d_dip(1e-14, 7e-15, 0.5, 0.3)
    errs = []
    for seed in range(seeds):
        for x0 in (0.8, 0.5, 0.22):
            tau = R_P**2 / float(D(np.array([x0]))[0])
            df = gitt_sequence(n_pulses=2, dx_pulse=0.005, x0=x0, t_pulse=5e-4 * tau, t_rest=0.4 * tau, D=D,
                               ocv=lambda x: 4.3 - 0.6 * np.asarray(x), radius=R_P, points_pulse=120,
                               points_rest=60, noise=1e-5, seed=seed)
            res = gitt.analyze(df, radius=R_P, capacity=df.attrs["truth"]["Q"], soc0=1 - x0)
            d = res.d_vs_soc("wh")
            errs.append(np.max(np.abs(d["D"].to_numpy() / D(1 - d["soc"].to_numpy()) - 1)))
    return np.array(errs)


def arrhenius_gitt(seeds, Ea=45e3):
    out = []
    T = np.array([283.15, 298.15, 313.15, 328.15])
    for seed in range(seeds):
        D, Derr = [], []
        for k, Tk in enumerate(T):
            Dk = float(arrhenius(Tk, 3e-15, Ea))
            tau = R_P**2 / Dk
            df = gitt_sequence(n_pulses=3, dx_pulse=0.04, x0=0.6, t_pulse=0.1 * tau, t_rest=0.5 * tau, D=Dk,
                               radius=R_P, ocv=frumkin_ocv(T=Tk), T=Tk, points_pulse=50, points_rest=50,
                               noise=5e-5, seed=100 * seed + k)
            m = gitt.analyze(df, radius=R_P).mean_D()
            D.append(m["D"])
            Derr.append(m["D_err"])
        r = arrhenius_fit(T, D, Derr, quantity="D")
        out.append((r.Ea / Ea - 1, r.Ea_low <= Ea <= r.Ea_high))
    return np.array(out)


def arrhenius_values(n=200, Ea=55e3):
    T = (278.15, 288.15, 298.15, 308.15, 318.15, 328.15)
    out = []
    for seed in range(n):
        s = arrhenius_series(T, Ea=Ea, value_ref=1e-9, rel_err=0.05, seed=seed, quantity="k0")
        r = arrhenius_fit(s["T"], s["value"], s["err"])
        out.append((r.Ea / Ea - 1, r.Ea_low <= Ea <= r.Ea_high))
    return np.array(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    a = ap.parse_args()
    s = sphere_fit(a.seeds)
    print("D across SOC (sphere fit, 14 pulses, D dip x3):")
    print(s.round(3).to_string(index=False))
    print(f"  worst |D/D_true - 1| over {a.seeds} seeds: {s['max_err_fit'].max():.3f} (target < 0.10); "
          f"Weppner-Huggins on these long pulses: {s['max_err_wh'].max():.2f} (flagged in the notes)")
    w = weppner_huggins(a.seeds)
    print(f"Weppner-Huggins, short pulses, linear OCV: worst |D/D_true - 1| {w.max():.3f}, median {np.median(w):.3f}")
    g = arrhenius_gitt(a.seeds)
    print(f"Ea of D from GITT at 4 temperatures: worst |Ea/Ea_true - 1| {np.abs(g[:, 0]).max():.3f} "
          f"(target < 0.05); interval covers the truth in {g[:, 1].mean():.0%}")
    v = arrhenius_values()
    print(f"Ea from 200 value series (6 T, 5 % scatter): worst {np.abs(v[:, 0]).max():.3f}, "
          f"95th percentile {np.percentile(np.abs(v[:, 0]), 95):.3f}; 95 % interval coverage {v[:, 1].mean():.0%}")


if __name__ == "__main__":
    main()
