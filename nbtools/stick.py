"""Particle-on-a-stick workflow: kinetics and diffusion of one particle.

Plain functions (no widgets) composing :mod:`nbtools.kinetics` for one particle
measured by cyclic voltammetry at several scan rates and by potential steps:

- :func:`read_curve_csv`, :func:`load_cv_series`: CSV files with units in the headers
  (``Time / s``, ``Potential / V``, ``Current / pA``) -> SI DataFrames;
- :func:`cv_peak_table`: peak potentials, currents and charges per scan rate;
- :func:`particle_size`: charge -> capacity and equivalent radius (nbtools.materials);
- :func:`scan_rate_verdict`: log i_p vs log v slope and what it means;
- :func:`split_steps`, :func:`pitt_table`: tau = r^2/D (and D) per potential step;
- :func:`laviron_table`: peak separation -> k_s and k0, only where the CV is thin-layer;
- :func:`analyse_particle`: all of the above for one particle, with its settings as one
  :class:`~nbtools.kinetics.StickRecipe` (``"stick.workflow"``);
- :func:`truth_comparison`, :func:`trust_table`: recovered values next to the known answers
  of an example.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError, NbtoolsWarning, ParameterError

__all__ = ["read_curve_csv", "classify_curve", "load_cv_series", "scan_rate", "cv_peak_table", "particle_size",
           "scan_rate_verdict", "split_steps", "pitt_start", "pitt_table", "laviron_table", "analyse_particle",
           "truth_comparison", "trust_table", "format_si"]

_KINDS = ("time", "potential", "current")


def read_curve_csv(path) -> pd.DataFrame:
    """Read a CSV/TSV with time, potential and current columns named with their units.

    Headers like ``Time / s``, ``Potential / V``, ``Current / pA`` (also ``E (mV)``,
    ``I [nA]``); the separator and decimal mark are detected. A thin call of
    :func:`nbtools.io.load_curve` (format ``'curve-csv'``).

    Returns
    -------
    pandas.DataFrame
        Columns ``t`` (s), ``E`` (V), ``i`` (A); ``attrs``: ``source``, ``columns``.
    """
    from .io import load_curve

    return load_curve(path, format="curve-csv")


def classify_curve(df: pd.DataFrame, *, max_levels=50) -> str:
    """``"steps"`` for a potential-step series (few distinct potentials), else ``"cv"``.

    A staircase voltammogram has one level per potential step (hundreds), a PITT
    series a handful: potentials are compared to 0.1 mV.
    """
    levels = np.unique(np.round(df["E"].to_numpy() / 1e-4)).size
    return "steps" if levels <= max_levels else "cv"


def scan_rate(df: pd.DataFrame) -> float:
    """Scan rate (V/s): median |dE/dt| of a voltammogram."""
    dE, dt = np.diff(df["E"].to_numpy()), np.diff(df["t"].to_numpy())
    ok = (dt > 0) & (dE != 0)
    if ok.sum() < 3:
        raise DataError(f"{df.attrs.get('source', 'CV')}: potential does not sweep; not a voltammogram")
    return float(np.median(np.abs(dE[ok] / dt[ok])))


def load_cv_series(paths) -> list[pd.DataFrame]:
    """Read voltammograms of one particle, sorted by scan rate (``attrs["v"]`` in V/s)."""
    cvs = []
    for p in paths:
        df = read_curve_csv(p)
        df.attrs["v"] = scan_rate(df)
        cvs.append(df)
    if not cvs:
        raise DataError("no voltammogram files given")
    return sorted(cvs, key=lambda d: d.attrs["v"])


def cv_peak_table(cvs, *, smooth=0.015, fit_window=0.7, Ru=0.0) -> pd.DataFrame:
    """One row per voltammogram: anodic/cathodic peak potentials, currents and charges.

    Parameters
    ----------
    cvs : list of DataFrame
        From :func:`load_cv_series` (``t``, ``E``, ``i``; ``attrs["v"]``).
    smooth : float
        Savitzky-Golay window (V), applied per sweep by :func:`nbtools.kinetics.find_cv_peaks`
        (``smooth=``) to locate each peak, whose potential then comes from a cubic
        fit of its top (``fit_window``), so that noise does not move it (0: none).
    fit_window : float or None
        Fraction of the peak height above which the cubic is fitted (None: three-point
        interpolation).
    Ru : float
        Uncompensated resistance (ohm): with ``Ru > 0`` the peak potentials are those the
        particle saw, ``E_peak - i_peak Ru`` (:func:`nbtools.kinetics.find_cv_peaks`, first
        order), and ``dEp_raw`` keeps the measured separation; 0 (default): unchanged.

    Returns
    -------
    pandas.DataFrame
        ``v`` (V/s), ``E_pa``, ``E_pc``, ``dEp``, ``E_mid`` (V), ``i_pa``, ``i_pc`` (A,
        baseline-corrected), ``Q_a``, ``Q_c`` (C), ``file``.
    """
    from .kinetics import find_cv_peaks

    rows = []
    for df in cvs:
        E, t = df["E"].to_numpy(), df["t"].to_numpy()
        pk = find_cv_peaks(E, df["i"].to_numpy(), t=t, smooth=smooth or None, fit_window=fit_window, Ru=Ru)
        an, ca = pk[pk["direction"] == "anodic"], pk[pk["direction"] == "cathodic"]
        name = Path(df.attrs.get("source", "")).name
        if an.empty or ca.empty:
            raise DataError(f"{name}: needs one anodic and one cathodic sweep, found "
                            f"{len(an)} and {len(ca)}")
        a, c = an.iloc[0], ca.iloc[0]
        key = "E_peak_iR" if Ru else "E_peak"
        rows.append({"v": df.attrs.get("v", np.nan), "E_pa": a[key], "E_pc": c[key],
                     "dEp": a[key] - c[key], "E_mid": 0.5 * (a[key] + c[key]),
                     "i_pa": a["i_peak"], "i_pc": c["i_peak"], "Q_a": a["charge"],
                     "Q_c": c["charge"], "file": name,
                     **({"dEp_raw": a["E_peak"] - c["E_peak"]} if Ru else {})})
    out = pd.DataFrame(rows)
    out.attrs["units"] = {"v": "V/s", "E_pa": "V", "E_pc": "V", "dEp": "V", "E_mid": "V",
                          "i_pa": "A", "i_pc": "A", "Q_a": "C", "Q_c": "C"}
    return out


def particle_size(charge, material="LiMn2O4", *, conversion=1.0) -> pd.Series:
    """Capacity and equivalent-sphere radius of a particle whose full (de)lithiation passed ``charge`` (C)."""
    from .impact import charge_to_radius
    from .materials import get_material

    m = get_material(material)
    q = abs(float(charge))
    r = charge_to_radius(q, m, conversion)
    return pd.Series({"charge": q, "capacity_Ah": q / 3600.0, "radius": r,
                      "mass": m.density * 4.0 / 3.0 * np.pi * r**3, "material": m.name,
                      "conversion": conversion})


_VERDICTS = {
    "thin-layer/surface-confined": "surface-confined / thin-layer (i_p ∝ v): the whole particle reacts uniformly",
    "diffusion-limited": "diffusion-limited (i_p ∝ √v): solid-state diffusion limits the current",
    "mixed": "mixed: between thin-layer (1) and diffusion-limited (1/2) behaviour",
    "undetermined": "undetermined: the slope is too uncertain or outside 1/2 .. 1 "
                    "(capacitive current, iR drop or misplaced peaks?)",
}


def scan_rate_verdict(v, ip, *, tolerance=0.12) -> pd.Series:
    """Slope of log|i_p| against log v, with a plain-words verdict.

    Adds to :func:`nbtools.kinetics.scan_rate_slope` (called with ``tol=tolerance``,
    which decides the regime) a ``verdict`` in plain words: slope within
    ``tolerance`` of 1 -> surface-confined / thin-layer (the whole particle reacts
    uniformly), of 1/2 -> limited by solid-state diffusion, clearly between -> mixed.
    """
    from .kinetics import scan_rate_slope

    s = scan_rate_slope(v, ip, tol=tolerance).copy()
    s["verdict"] = _VERDICTS[s["regime"]]
    return s


def split_steps(df: pd.DataFrame, *, min_jump=1e-3) -> list[pd.DataFrame]:
    """Cut a potential-step series where the potential jumps by more than ``min_jump`` (V).

    Each piece gets ``t_step`` (s since its step; the step time is taken half a sample
    before the first point) and ``attrs``: ``E`` (V), ``E_before`` (V, NaN for the first).
    """
    E = df["E"].to_numpy()
    cut = np.flatnonzero(np.abs(np.diff(E)) > min_jump) + 1
    edges = np.r_[0, cut, E.size]
    out = []
    for k, (a, b) in enumerate(zip(edges[:-1], edges[1:])):
        if b - a < 5:
            continue
        piece = df.iloc[a:b].reset_index(drop=True).copy()
        t = piece["t"].to_numpy()
        dt = np.median(np.diff(t)) if t.size > 1 else 0.0
        t_start = t[0] - dt if a == 0 else 0.5 * (df["t"].iloc[a - 1] + t[0])
        if a == 0 and t[0] > 0 and t[0] <= 1.5 * dt:
            t_start = 0.0  # the record starts at the step (t = 0)
        piece["t_step"] = t - t_start
        piece.attrs.update(E=float(np.median(piece["E"])),
                           E_before=float(np.median(df["E"].iloc[max(a - 5, 0):a])) if a else np.nan,
                           index=k)
        out.append(piece)
    if not out:
        raise DataError("no potential steps found (the potential never holds for 5 samples)")
    return out


def pitt_start(t, i, *, floor=None, model="PITTSphereBiot") -> dict:
    """Starting values ``{"Q", "tau"}`` for a PITT fit: the core model guess.

    ``model``'s own ``guess_values`` (:func:`nbtools.kinetics.diffusion.pitt_guess`: least
    squares over a grid of tau with Q solved linearly, and for the Biot model a coarse
    search over the Biot number), which is robust to a tail lost in noise. Only the keys
    shared by every PITT model are returned, so the dict can start either model.
    ``floor`` is no longer used (kept so that old calls still work).
    """
    from .kinetics import get_entry

    g = get_entry(model).make_model().guess_values(np.asarray(i, dtype=float),
                                                   np.asarray(t, dtype=float))
    return {"Q": float(g["Q"]), "tau": float(g["tau"])}


def pitt_table(steps, *, model="PITTSphereBiot", radius=None, level=0.95) -> pd.DataFrame:
    """Fit each potential step; one row per step with tau = r^2/D and, given ``radius`` (m), D.

    A step whose fit fails gets NaN and its reason in ``status``; the others go on.
    Warnings of a fit (NbtoolsWarning messages) are in ``warnings``, joined by " | ".
    ``attrs``: ``tau`` (geometric mean over the fitted steps, s), ``tau_spread`` (std of
    log10 tau), ``D`` (radius^2/tau, m^2/s; NaN without ``radius``), ``model``, ``radius``, ``level``.
    """
    from .kinetics import fit

    rows = []
    for k, s in enumerate(steps):
        row = {"step": k, "E_before": s.attrs.get("E_before", np.nan), "E": s.attrs.get("E", np.nan),
               "Q": np.nan, "tau": np.nan, "tau_lower": np.nan, "tau_upper": np.nan,
               "biot": np.nan, "status": "ok", "warnings": ""}
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                res = fit(model, s["t_step"].to_numpy(), s["i"].to_numpy(), level=level)
            msgs = [str(w.message) for w in caught if issubclass(w.category, NbtoolsWarning)]
            ci = res.ci
            row.update(Q=res.params["Q"].value, tau=res.params["tau"].value,
                       tau_lower=ci.loc["tau", "lower"], tau_upper=ci.loc["tau", "upper"],
                       warnings=" | ".join(msgs))
            if "biot" in res.params:
                row["biot"] = res.params["biot"].value
            if msgs:
                row["status"] = "check warnings"
        except Exception as exc:  # one bad step must not stop the series
            row["status"] = f"failed: {exc}"
        rows.append(row)
    out = pd.DataFrame(rows)
    if radius is not None:
        out["D"] = radius**2 / out["tau"]
        out["D_lower"] = radius**2 / out["tau_upper"].where(out["tau_upper"] > 0)
        out["D_upper"] = radius**2 / out["tau_lower"].where(out["tau_lower"] > 0)
    good = out["status"] != "failed"
    tau_ok = out.loc[good & np.isfinite(out["tau"]) & (out["tau"] > 0), "tau"]
    tau = float(np.exp(np.mean(np.log(tau_ok)))) if len(tau_ok) else np.nan
    out.attrs.update(model=model, radius=radius, level=level, tau=tau,
                     tau_spread=float(np.std(np.log10(tau_ok))) if len(tau_ok) > 1 else np.nan,
                     D=radius**2 / tau if radius is not None else np.nan)
    return out


def laviron_table(peaks: pd.DataFrame, *, tau=None, alpha=0.5, radius=None, sigma_max=3.0,
                  min_dEp=0.010, T=298.15) -> pd.DataFrame:
    """k_s from the peak separation of each scan rate (Laviron), with the solid-diffusion correction.

    The Laviron working curve assumes a uniformly reacting particle. Solid diffusion
    adds its own delay, so the peak separation gives an *apparent* rate ``ks_app``.
    For small perturbations the mean delays add (first moments), 1/ks_app ~ 1/ks + tau/15
    with tau = r^2/D from PITT; ``ks`` is corrected accordingly by
    :func:`nbtools.kinetics.laviron_ks` (``tau=``; an approximation, within ~6 % for
    sigma <= 3 and ks tau <= 3 in simulations, see there).

    Parameters
    ----------
    peaks : DataFrame
        From :func:`cv_peak_table`.
    tau : float, optional
        r^2/D (s) from PITT: enables the correction and sigma = F v tau/(R T).
    alpha : float
        Transfer coefficient of the working curve.
    radius : float, optional
        Particle radius (m): adds ``k0 = k_s r / 3`` (m/s).
    sigma_max : float
        CVs with a larger sigma (diffusion-dominated) are not used.
    min_dEp : float
        CVs with a smaller peak separation (V) are not used: it is within the noise of
        the peak potentials (a few mV for pA currents), and k_s is measurable only for
        Lambda = k_s/(f v) <~ 10.

    Returns
    -------
    pandas.DataFrame
        Per scan rate: ``v``, ``dEp``, ``Lambda``, ``ks_app``, ``ks`` (corrected, or
        ``ks_app`` without tau), ``sigma``, ``used``, ``k0``; ``attrs``: ``ks_app``, ``ks``,
        ``k0`` (geometric means over the used rows), ``ks_spread`` (std of log10),
        ``n_used``, ``note``.
    """
    from .kinetics import laviron_ks

    base = laviron_ks(peaks["v"].to_numpy(), peaks["E_pa"].to_numpy(), peaks["E_pc"].to_numpy(),
                      alpha=alpha, T=T, tau=tau)
    df = base[["v", "dEp", "Lambda", "ks_app", "ks", "sigma"]].copy()
    ok_sigma = df["sigma"] <= sigma_max if tau is not None else True
    df["used"] = np.isfinite(df["ks"]) & (df["dEp"] >= min_dEp) & ok_sigma
    df["k0"] = df["ks"] * radius / 3.0 if radius is not None else np.nan

    def gmean(col):
        vals = df.loc[df["used"], col]
        return float(10 ** np.mean(np.log10(vals))) if len(vals) else np.nan

    ks = gmean("ks")
    used = df.loc[df["used"], "ks"]
    df.attrs.update(ks=ks, ks_app=gmean("ks_app"), n_used=int(len(used)), min_dEp=min_dEp, sigma_max=sigma_max,
                    ks_spread=float(np.std(np.log10(used))) if len(used) > 1 else np.nan,
                    k0=ks * radius / 3.0 if radius is not None else np.nan,
                    note=(f"used: peak separation >= {min_dEp * 1e3:g} mV"
                          + (f" and sigma <= {sigma_max:g}; ks corrected for solid diffusion "
                             f"(1/ks = 1/ks_app - tau/15)" if tau is not None else
                             "; no tau: ks is the apparent rate (solid diffusion not removed)")))
    return df


def analyse_particle(cvs, steps=None, recipe=None, /, **params) -> dict:
    """The particle-on-a-stick workflow for one particle: peaks, size, slope, PITT, Laviron.

    Parameters
    ----------
    cvs : list of DataFrame
        Voltammograms from :func:`load_cv_series` (one per scan rate).
    steps : DataFrame, optional
        The potential-step series (:func:`read_curve_csv`), cut by :func:`split_steps`.
    recipe : StickRecipe, dict, JSON text or path, optional
        The settings (:class:`nbtools.kinetics.StickRecipe`); keyword ``params``
        override them (``material="LiCoO2"``, ``conversion=0.5``, ...).

    Returns
    -------
    dict
        ``cvs``, ``peaks`` (:func:`cv_peak_table`), ``size`` (:func:`particle_size`
        of the median charge of all sweeps), ``slope`` (:func:`scan_rate_verdict`,
        None below 3 scan rates), ``steps`` (the fitted pieces), ``pitt``
        (:func:`pitt_table` with the radius, or None), ``laviron``
        (:func:`laviron_table`, corrected with the PITT tau when there is one) and
        ``recipe`` (the StickRecipe: ``analyse_particle(cvs, steps, out["recipe"])``
        gives the same tables).
    """
    from .kinetics import StickRecipe

    rec = StickRecipe.coerce(recipe, **params)
    cvs = list(cvs)
    if not cvs:
        raise DataError("no voltammograms to analyse")
    out = {"cvs": cvs, "recipe": rec}
    out["peaks"] = peaks = cv_peak_table(cvs, smooth=rec.smooth, fit_window=rec.peak_fraction, Ru=rec.Ru)
    q = float(np.median(np.r_[peaks["Q_a"].abs(), peaks["Q_c"].abs()]))
    out["size"] = particle_size(q, rec.material, conversion=rec.conversion)
    radius = float(out["size"]["radius"])
    out["slope"] = (scan_rate_verdict(peaks["v"], peaks["i_pa"], tolerance=rec.slope_tolerance)
                    if len(cvs) >= 3 else None)
    out["steps"], out["pitt"] = [], None
    if steps is not None:
        out["steps"] = split_steps(steps, min_jump=rec.step_jump)[::rec.every_nth_step]
        out["pitt"] = pitt_table(out["steps"], model=rec.pitt_model, radius=radius, level=rec.level)
    tau = out["pitt"].attrs["tau"] if out["pitt"] is not None else np.nan
    out["laviron"] = laviron_table(peaks, tau=tau if np.isfinite(tau) else None, alpha=rec.alpha, radius=radius,
                                   sigma_max=rec.sigma_max, min_dEp=rec.min_dEp, T=rec.T)
    for key in ("peaks", "pitt", "laviron"):
        if out[key] is not None:
            out[key].attrs["recipe"] = rec
    return out


_PREFIX = [(1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "µ"), (1e-3, "m"), (1.0, "")]


def format_si(value, unit, digits=3) -> str:
    """``value`` with an SI prefix: ``format_si(2.5e-12, 'Ah') -> '2.5 pAh'``."""
    if value is None or not np.isfinite(value):
        return "n/a"
    if value == 0:
        return f"0 {unit}"
    for base, p in _PREFIX:
        if float(f"{abs(value) / base:.{digits}g}") < 1000:  # after rounding: 999.99 nm -> 1 µm
            return f"{value / base:.{digits}g} {p}{unit}"
    return f"{value:.{digits}g} {unit}"


def truth_comparison(rows) -> pd.DataFrame:
    """Table of recovered values against the truth of a simulated example.

    Parameters
    ----------
    rows : list of dict
        Each with ``quantity``, ``unit``, ``recovered``, ``truth`` and optional
        ``lower``/``upper`` (interval) and ``how``.

    Returns
    -------
    pandas.DataFrame
        Adds ``error_%`` = 100 (recovered - truth)/truth and ``covered`` (truth inside
        the interval, where one is given).
    """
    if not rows:
        raise ParameterError("no rows to compare")
    df = pd.DataFrame(rows)
    for col in ("lower", "upper", "how"):
        if col not in df:
            df[col] = np.nan if col != "how" else ""
    df["error_%"] = 100.0 * (df["recovered"] - df["truth"]) / df["truth"]
    has = df["lower"].notna() & df["upper"].notna()
    df["covered"] = np.where(has, (df["lower"] <= df["truth"]) & (df["truth"] <= df["upper"]), None)
    return df


def trust_table(results: dict, truth: dict, *, fit=None) -> pd.DataFrame:
    """Recovered values of :func:`analyse_particle` next to the truth of a simulated example.

    Parameters
    ----------
    results : dict
        From :func:`analyse_particle`.
    truth : dict
        The example's true values (``Q``, ``radius``, ``E0``, ``tau``, ``D``, ``ks``, ``k0``).
    fit : lmfit.model.ModelResult, optional
        A fit of one potential step with a derived ``D`` (the dashboard's fit panel).

    Returns
    -------
    pandas.DataFrame
        :func:`truth_comparison` columns plus ``error`` (text: mV for potentials,
        % otherwise) and ``good`` (within 5 mV for potentials, 10 % otherwise).
    """
    pt, lt, s = results["pitt"], results["laviron"], results["size"]
    rows = [
        {"quantity": "charge Q", "unit": "C", "recovered": s["charge"], "truth": truth["Q"],
         "how": "peak area with a linear baseline"},
        {"quantity": "radius r", "unit": "m", "recovered": s["radius"], "truth": truth["radius"],
         "how": "Q and the material's density (nbtools.materials)"},
        {"quantity": "formal potential E0", "unit": "V", "recovered": float(results["peaks"]["E_mid"].median()),
         "truth": truth["E0"], "how": "mid-peak potential, median over the scan rates"},
    ]
    if pt is not None:
        tau = pt.attrs["tau"]
        rows += [{"quantity": "τ = r²/D", "unit": "s", "recovered": tau, "truth": truth["tau"],
                  "how": "PITT, sphere with surface kinetics (Biot), mean of the steps"},
                 {"quantity": "D", "unit": "m²/s", "recovered": s["radius"] ** 2 / tau, "truth": truth["D"],
                  "how": "r² / τ"}]
    rows += [{"quantity": "k_s", "unit": "1/s", "recovered": lt.attrs["ks"], "truth": truth["ks"],
              "how": "Laviron peak separation, corrected for diffusion"},
             {"quantity": "k0", "unit": "m/s", "recovered": lt.attrs["k0"], "truth": truth["k0"],
              "how": "k_s r / 3"}]
    if fit is not None and "D" in fit.params:
        rows.append({"quantity": "D (FitPanel, one step)", "unit": "m²/s", "recovered": fit.params["D"].value,
                     "truth": truth["D"], "how": "section 5 fit"})
    df = truth_comparison(rows)
    volts = (df["unit"] == "V").to_numpy()
    diff = (df["recovered"] - df["truth"]).to_numpy(dtype=float)
    df["error"] = [f"{d * 1e3:+.1f} mV" if v else f"{e:+.1f} %" for d, v, e in zip(diff, volts, df["error_%"])]
    df["good"] = np.where(volts, np.abs(diff) <= 0.005, df["error_%"].abs() <= 10)
    return df
