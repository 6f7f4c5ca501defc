"""Recovery of known answers: PITT maps of a simulated SECCM step scan, R_u from simulated CVs, ensemble capacity.

Prints the figures quoted in the README (seeds fixed; run: ``python benchmarks/recovery_steps_ir.py``).
"""

from __future__ import annotations

import time
import warnings

import numpy as np


def pitt_maps(seeds=(0, 1, 2)):
    from nbtools import seccm
    from nbtools.simulate import seccm_step_scan

    for seed in seeds:
        ds, truth = seccm_step_scan(seed=seed)
        q = seccm.charge(ds, time_window=(ds.attrs["step_time"] + 0.1, float(ds.time.values[-1])), baseline="none")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mask = seccm.classify(ds, activity=q)
        t0 = time.perf_counter()
        res = seccm.fit_steps(ds, pixels=mask)
        el = time.perf_counter() - t0
        tau = res["tau"].values[ds.iy.values, ds.ix.values]
        sel = mask.values[ds.iy.values, ds.ix.values] & truth["particle"].ravel()
        rel = np.abs(tau[sel] / truth["tau_pixel"][sel] - 1)
        table = seccm.particle_table(res)
        dD = []
        for _, row in table.iterrows():
            j = np.bincount(truth["labels"][res["region"].values == row["region"]]).argmax()
            dD.append(abs(row["D"] / truth["D"][j - 1] - 1))
        print(f"PITT map seed {seed}: {sel.sum()} particle pixels in {el:.2f} s ({sel.sum() / el:.0f} px/s); "
              f"tau error median {np.median(rel):.2%}, max {rel.max():.2%}; D per particle max error {max(dD):.1%} "
              f"({len(dD)} particles)")


def ru_recovery():
    from nbtools.kinetics import fit
    from nbtools.simulate import ir_cv

    for kw, model, extra in ((dict(reversible=True, dE=5e-3, seed=1), "FrumkinCV", {"g": {"value": 0.0, "vary": False}}),
                             (dict(ks=0.3, dE=3e-3, seed=2), "LavironCV", {})):
        for Ru in (2e9, 5e9, 1e10):
            df = ir_cv(Q=5e-11, E0=4.0, v=0.01, Ru=Ru, noise=2e-14, **kw)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = fit(model, df.E.values, df.i.values, params={"v": 0.01, "Ru": {"value": 1e9, "vary": True}, **extra})
            print(f"R_u {model}: truth {Ru:.3g} ohm (drop {1e3 * df.attrs['truth']['drop_max']:.1f} mV), fitted "
                  f"{r.params['Ru'].value:.4g} ({r.params['Ru'].value / Ru - 1:+.1%})")


def ensemble():
    from nbtools.ensemble import compare_with_ensemble
    from nbtools.simulate import composite_cv

    el, parts, truth = composite_cv(40, seed=1)
    res = compare_with_ensemble(parts, el, c_rate=[1, 10, 100], scan_rate=truth["v"], particle_scan_rate=truth["v"],
                                electrode_mass=truth["mass"], material="LiMn2O4", thickness=60e-6)
    cap = res.table.set_index("quantity").loc["capacity per mass"]
    print(f"ensemble: capacity per mass {cap['ensemble']:.2f} vs {truth['capacity']:.2f} mAh/g "
          f"({cap['ensemble'] / truth['capacity'] - 1:+.2%}); limiting at 1, 10, 100 C: {list(res.rates['limiting'])}")


if __name__ == "__main__":
    pitt_maps()
    ru_recovery()
    ensemble()
