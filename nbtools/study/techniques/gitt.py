"""GITT: one galvanostatic pulse record per file -> one row per pulse.

:func:`nbtools.gitt.analyze` with the study's :class:`~nbtools.gitt.GITTRecipe`, called as a user would call it;
the pulses table is the population (D, tau, Weppner-Huggins D, R_ohm per pulse, with their SOC), the OCV curve is
written beside it, and the file's row holds the geometric-mean D and its standard error (what an Arrhenius fit over
temperature folders needs).
"""

from __future__ import annotations

import numpy as np

from . import Outcome

__all__ = ["ENTITY", "ENTITY_UNITS", "analyse"]

ENTITY = "pulse"
ENTITY_UNITS = {"t_start": "s", "t_pulse": "s", "current": "A", "charge": "C", "E_before": "V", "E_after": "V",
                "dE_s": "V", "dE_s_err": "V", "dE_t": "V", "window_lo": "s", "window_hi": "s", "ir_intercept": "V",
                "tau_wh": "s", "tau": "s", "D": "m2/s", "D_low": "m2/s", "D_high": "m2/s", "D_wh": "m2/s",
                "D_wh_low": "m2/s", "D_wh_high": "m2/s", "R_ohm": "Ohm", "fit_rmse": "V", "fit_dE_s": "V",
                "fit_jump": "V", "fit_offset": "V"}
_OCV_UNITS = {"E": "V", "E_err": "V", "E_measured": "V", "remaining": "V", "drift": "V/s", "t_rest": "s"}


def analyse(unit, recipe, settings) -> Outcome:
    """Analyse the pulse record of ``unit`` (one file) with ``recipe``."""
    from ...gitt import analyze, read

    fmt = (settings.get("options") or {}).get("format")
    res = analyze(read(unit.path, format=fmt), recipe)
    p = res.pulses
    m = res.mean_D()
    row = {"n_pulses": int(len(p)), "n_analysed": int((p["status"] == "ok").sum()),
           "n_rests_relaxed": int(res.ocv["relaxed"].sum()), "noise": float(res.info["noise"]),
           "soc_axis": res.info["soc_axis"], "notes": "; ".join(res.warnings[:5])}
    row.update({f"{k}_mean": v for k, v in m.items() if k != "n"})
    if "D" in p and np.isfinite(p["D"]).any():
        row.update(D_min=float(np.nanmin(p["D"])), D_max=float(np.nanmax(p["D"])))
    table = p.copy()
    table.attrs = {}
    ocv = res.ocv.copy()
    ocv.attrs = {}
    return Outcome(row, {ENTITY: (table, ENTITY_UNITS), "ocv": (ocv, _OCV_UNITS)}, res.recipe)
