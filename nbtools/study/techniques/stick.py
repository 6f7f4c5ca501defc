"""Particle on a stick: the curve files of one folder -> one particle.

Voltammograms (one per scan rate) and a potential-step series are told apart
by :func:`nbtools.stick.classify_curve`; :func:`nbtools.stick.analyse_particle`
gives the peaks, the size, the scan-rate slope, tau and D from the steps and
k_s from the peak separations. The particle's row holds them with their
intervals; the peaks, PITT and Laviron tables are written beside it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..columns import STICK_UNITS
from . import Outcome

__all__ = ["ENTITY", "ENTITY_UNITS", "analyse"]

ENTITY = "particle"
ENTITY_UNITS = STICK_UNITS


def analyse(unit, recipe, settings) -> Outcome:
    """Run the particle-on-a-stick workflow on the curves of one folder."""
    from ...errors import DataError
    from ...stick import analyse_particle, classify_curve, read_curve_csv, scan_rate

    cvs, steps = [], []
    for path in unit.paths:
        df = read_curve_csv(path)
        if classify_curve(df) == "steps":
            steps.append(df)
        else:
            df.attrs["v"] = scan_rate(df)
            cvs.append(df)
    if not cvs:
        raise DataError(f"{unit.name}: no voltammogram among {len(unit.paths)} curve file(s); a particle needs "
                        "CVs at one or more scan rates (and optionally a potential-step series)")
    cvs.sort(key=lambda d: d.attrs["v"])
    res = analyse_particle(cvs, steps[0] if steps else None, recipe)
    row = _particle_row(res, len(steps))
    tables = {ENTITY: (pd.DataFrame([row]), ENTITY_UNITS), "peaks": (res["peaks"], res["peaks"].attrs["units"])}
    for key in ("pitt", "laviron"):
        if res[key] is not None:
            tables[key] = (res[key].reset_index(drop=True), {"tau": "s", "D": "m2/s", "ks": "1/s", "k0": "m/s",
                                                            "E": "V", "v": "V/s", "dEp": "V"})
    return Outcome(dict(row), tables, res["recipe"])


def _particle_row(res, n_steps) -> dict:
    s, peaks, lav, pitt = res["size"], res["peaks"], res["laviron"], res["pitt"]
    row = {"charge": float(s["charge"]), "capacity_Ah": float(s["capacity_Ah"]), "radius": float(s["radius"]),
           "mass": float(s["mass"]), "material": s["material"], "E0": float(peaks["E_mid"].median()),
           "n_cv": len(peaks), "v_min": float(peaks["v"].min()), "v_max": float(peaks["v"].max()),
           "n_steps": n_steps}
    if res["slope"] is not None:
        sl = res["slope"]
        row.update(slope=float(sl["slope"]), slope_lower=float(sl["lower"]), slope_upper=float(sl["upper"]),
                   regime=str(sl["regime"]))
    if pitt is not None:
        row.update(tau=float(pitt.attrs["tau"]), tau_spread=float(pitt.attrs.get("tau_spread", np.nan)),
                   D=float(pitt.attrs["D"]))
    row.update(ks=float(lav.attrs["ks"]), ks_app=float(lav.attrs["ks_app"]), k0=float(lav.attrs["k0"]),
               ks_used=int(lav.attrs["n_used"]))
    return row
