"""Per-pulse GITT analysis: Weppner-Huggins with an automatic sqrt(t) window, and the spherical diffusion fit.

For each pulse (and the rest after it):

- ``dE_s``: relaxed potential after the rest minus relaxed potential before the
  pulse (each the end of a straight-line fit to the last 10 % of the rest, plus
  what the fitted pulses before it still had to relax: a second pass removes
  those tails from the data when the rests were too short to level off);
- Weppner-Huggins: ``E = a + b sqrt(t)`` fitted in the widest window of the pulse
  whose residuals stay within the noise (plus 0.5 % of the window's potential
  change); ``dE_t = b sqrt(t_p)`` (the IR jump is the intercept, not part of it),
  ``tau_WH = (9 pi t_p / 4)(dE_t/dE_s)^2`` and ``D = r^2/tau``;
- SOC of a D: the mean surface SOC during the pulse (``soc_probe``; the surface runs ahead of the
  charge passed, by several times the pulse's SOC step for short pulses), also given for
  Weppner-Huggins (``soc_probe_wh``); ``soc`` is the charge midpoint;
- spherical diffusion fit: the pulse and its relaxation against
  :func:`nbtools.gitt.sphere.gitt_sphere_potential` (exact at any ``t_p/tau``;
  parameters E before, IR jump, dE_s, tau; least squares with the linear
  parameters solved for each tau), standard errors from the Jacobian; then, when
  the surface SOC stays within the relaxed points, again with the surface SOC
  mapped to potential through the measured OCV (PCHIP through the relaxed points:
  no bias where the OCV bends; the amplitude is the pulse's charge), the error of
  the OCV slope (from the two relaxed potentials) added to that of tau.

Intervals on D are log-normal (``D exp(+-z sigma_lnD)``) at ``recipe.level``.
A pulse that cannot be analysed gets NaN and a ``status`` saying why; the others go on.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from ..errors import DataError, NbtoolsWarning
from .recipe import GITTRecipe
from .segment import segment_pulses
from .sphere import pulse_shape

__all__ = ["analyze_pulses", "relaxed_potential", "sqrt_window", "fit_sphere_pulse", "estimate_noise",
           "pulse_curves"]

_STARTS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2)
_ENDS = (0.25, 0.4, 0.6, 0.8, 1.0)
_SYSTEMATIC = 0.005  # allowed systematic deviation from sqrt(t), fraction of the window's potential change


def estimate_noise(E, segments):
    """White-noise SD of E (V) from the rests: robust SD of second differences / sqrt(6)."""
    d2 = []
    for r in segments.itertuples():
        if r.kind == "rest" and r.stop - r.start >= 5:
            d2.append(np.diff(E[r.start:r.stop], 2))
    if not d2:
        return 0.0
    d = np.concatenate(d2)
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / math.sqrt(6.0))


def relaxed_potential(t, E):
    """Potential at the end of a rest and its standard error: a line through the last 10 % (>= 3 points).

    Returns
    -------
    (E_end, se, slope, slope_se) : floats (V, V, V/s, V/s)
    """
    n = len(E)
    m = max(3, n // 10)
    if n < 3:
        return (float(E[-1]) if n else np.nan), np.nan, np.nan, np.nan
    tt, ee = t[-m:], E[-m:]
    if np.ptp(tt) == 0:
        return float(np.mean(ee)), np.nan, np.nan, np.nan
    A = np.c_[np.ones(m), tt - tt[-1]]
    coef, *_ = np.linalg.lstsq(A, ee, rcond=None)
    res = ee - A @ coef
    s2 = float(res @ res) / max(m - 2, 1)
    cov = s2 * np.linalg.inv(A.T @ A)
    return (float(coef[0]), float(math.sqrt(max(cov[0, 0], 0.0))), float(coef[1]),
            float(math.sqrt(max(cov[1, 1], 0.0))))


def _line(x, y):
    A = np.c_[np.ones(x.size), x]
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    res = y - A @ coef
    rss = float(res @ res)
    cov = rss / max(x.size - 2, 1) * np.linalg.inv(A.T @ A)
    return coef, rss, cov


def sqrt_window(tp, E, t_pulse, *, noise=0.0, window="auto"):
    """The sqrt(t) window of one pulse and the line E = a + b sqrt(t) in it.

    Parameters
    ----------
    tp : ndarray
        Time since the pulse started (s), > 0.
    E : ndarray
        Potential during the pulse (V).
    t_pulse : float
        Pulse length (s).
    noise : float
        Noise SD of E (V).
    window : 'auto' or (low, high)
        Fractions of the pulse; 'auto' tries starts 0-20 % and ends 25-100 % and
        keeps the widest span in sqrt(t) whose reduced chi-square (noise plus
        0.5 % of the window's potential change) passes, else the best one.

    Returns
    -------
    dict
        ``t_lo``, ``t_hi`` (s), ``n``, ``slope`` (V/s^0.5), ``slope_err``,
        ``intercept`` (V), ``chi2`` (reduced, against the allowed deviation),
        ``accepted`` (bool), ``tried`` (windows tried).
    """
    cands = [window] if window != "auto" else [(a, b) for a in _STARTS for b in _ENDS if b > a]
    best, best_ok = None, None
    for lo, hi in cands:
        m = (tp > lo * t_pulse) & (tp <= hi * t_pulse * (1 + 1e-9))
        n = int(m.sum())
        if n < 5:
            continue
        x = np.sqrt(tp[m])
        coef, rss, cov = _line(x, E[m])
        span_e = abs(coef[1]) * (x.max() - x.min())
        allowed = noise**2 + (_SYSTEMATIC * span_e) ** 2
        chi2 = rss / (n - 2) / allowed if allowed > 0 else (0.0 if rss == 0 else np.inf)
        ok = chi2 <= 1.0 + 3.0 * math.sqrt(2.0 / (n - 2))
        rec = {"t_lo": float(tp[m].min()), "t_hi": float(tp[m].max()), "n": n, "slope": float(coef[1]),
               "slope_err": float(math.sqrt(max(cov[1, 1], 0.0))), "intercept": float(coef[0]),
               "chi2": float(chi2), "accepted": bool(ok), "span": float(x.max() - x.min())}
        if ok and (best_ok is None or rec["span"] > best_ok["span"] * (1 + 1e-9)):
            best_ok = rec
        if best is None or chi2 < best["chi2"]:
            best = rec
    out = best_ok or best
    if out is None:
        return None
    out = dict(out)
    out.pop("span", None)
    out["tried"] = len(cands)
    return out


def fit_sphere_pulse(t, E, t_pulse, *, tau_bounds=None, ocv=None, soc_start=None, dsoc=None):
    """Fit the spherical diffusion model to one pulse and its relaxation.

    Parameters
    ----------
    t : ndarray
        Time since the pulse started (s); samples before the pulse (t <= 0) anchor E_before.
    E : ndarray
        Potential (V).
    t_pulse : float
        Pulse length (s).
    tau_bounds : (float, float), optional
        Search range of tau = r^2/D (s); default ``(t_pulse/30, 1e6 t_pulse)``.
    ocv, soc_start, dsoc : callable, float, float, optional
        The measured open-circuit curve E(SOC) (the relaxed points, interpolated),
        the SOC before the pulse and the SOC the pulse's charge moves. With them the
        surface SOC follows the sphere's diffusion and the potential is
        ``OCV(soc_surface) + jump + offset``: exact for a curved OCV (the linear form
        underestimates D where the OCV bends within a pulse's surface excursion);
        ``dE_s`` is then ``OCV(soc_start + dsoc) - OCV(soc_start)``.

    Returns
    -------
    dict
        ``E_before``, ``jump``, ``dE_s`` (V), ``tau`` (s), ``ln_tau_err`` (SE of ln tau),
        errors of the others (``*_err``), ``rmse`` (V), ``at_bound`` (bool), ``n``, ``model``.
    """
    from scipy.optimize import minimize_scalar

    t = np.asarray(t, float)
    E = np.asarray(E, float)
    on = ((t > 0) & (t <= t_pulse * (1 + 1e-9))).astype(float)
    lo, hi = tau_bounds or (t_pulse / 30.0, 1e6 * t_pulse)
    ones = np.ones_like(t)

    use_ocv = ocv is not None

    def design(ltau):
        shape = pulse_shape(t, t_pulse, math.exp(ltau))
        if use_ocv:
            return np.c_[ones, on], ocv(soc_start + dsoc * shape)
        return np.c_[ones, on, shape], 0.0

    def solve(ltau):
        A, base = design(ltau)
        coef, *_ = np.linalg.lstsq(A, E - base, rcond=None)
        return A, base, coef, E - base - A @ coef

    def rss(ltau):
        r = solve(ltau)[3]
        return float(r @ r)

    grid = np.linspace(math.log(lo), math.log(hi), 48)
    vals = np.array([rss(g) for g in grid])
    j = int(np.argmin(vals))
    a, b = grid[max(j - 1, 0)], grid[min(j + 1, grid.size - 1)]
    r = minimize_scalar(rss, bounds=(a, b), method="bounded", options={"xatol": 1e-5})
    ltau = float(r.x) if r.fun <= vals[j] else float(grid[j])
    A, base, coef, res = solve(ltau)
    n = E.size
    h = 1e-4
    if use_ocv:
        # Jacobian in (offset, jump, ln tau)
        dmodel = (design(ltau + h)[1] - design(ltau - h)[1]) / (2 * h)
        J = np.c_[A, dmodel]
        E_before = float(coef[0] + ocv(soc_start))
        dE_s = float(ocv(soc_start + dsoc) - ocv(soc_start))
    else:
        # Jacobian in (E_before, jump, dE_s, ln tau)
        dshape = (pulse_shape(t, t_pulse, math.exp(ltau + h)) - pulse_shape(t, t_pulse, math.exp(ltau - h))) / (2 * h)
        J = np.c_[A, coef[2] * dshape]
        E_before, dE_s = float(coef[0]), float(coef[2])
    s2 = float(res @ res) / max(n - J.shape[1], 1)
    try:
        err = np.sqrt(np.clip(np.diag(s2 * np.linalg.inv(J.T @ J)), 0, None))
    except np.linalg.LinAlgError:
        err = np.full(J.shape[1], np.nan)
    at_bound = ltau <= grid[0] + 0.05 or ltau >= grid[-1] - 0.05
    return {"E_before": E_before, "offset": float(coef[0]), "jump": float(coef[1]), "dE_s": dE_s,
            "tau": math.exp(ltau),
            "E_before_err": float(err[0]), "jump_err": float(err[1]),
            "dE_s_err": float(err[2]) if not use_ocv else np.nan,
            "ln_tau_err": float(err[-1]), "rmse": math.sqrt(float(res @ res) / n), "at_bound": bool(at_bound),
            "n": int(n), "model": "measured OCV" if use_ocv else "linear OCV"}


#: how far (in SOC) an absolute SOC axis may leave 0..1 before analyze warns (rounding of capacities)
SOC_SLACK = 0.005


def _soc_axis(segments, recipe):
    q = np.r_[0.0, np.cumsum(segments["charge"].to_numpy())]  # charge passed at each segment boundary
    if recipe.capacity is not None:
        soc = recipe.soc0 + q / recipe.capacity
        if soc.min() < -SOC_SLACK or soc.max() > 1 + SOC_SLACK:
            warnings.warn(f"gitt: with capacity = {recipe.capacity:g} C and soc0 = {recipe.soc0:g}, the SOC runs from "
                          f"{soc.min():.3g} to {soc.max():.3g}, outside 0 to 1: set soc0 to the SOC at the start of "
                          "the record (a discharge starts near 1), or check the capacity and the current's sign "
                          "(anodic positive)", NbtoolsWarning, stacklevel=3)
        return soc, "absolute (soc0 + charge / capacity)"
    span = np.ptp(q)
    return (q - q.min()) / span if span > 0 else np.zeros_like(q), "relative to the charge passed in the record"


def _probe(soc_start, dsoc, t_pulse, tau):
    """Mean surface SOC during the pulse: the composition whose D the pulse measures."""
    shape = pulse_shape(np.linspace(0, t_pulse, 101)[1:], t_pulse, tau)
    return float(soc_start + dsoc * shape.mean())


def _surface_peak(t_pulse, tau):
    return float(np.max(pulse_shape(np.linspace(0, t_pulse, 64)[1:], t_pulse, tau)))


def _fit_pulse(t, E, t_pulse, ocv_fun, ocv_rows, soc_start, dsoc, notes):
    """The linear-OCV fit, then the measured-OCV fit when the surface stays within the measured OCV points."""
    f = fit_sphere_pulse(t, E, t_pulse)
    if ocv_fun is None:
        if len(ocv_rows) >= 3:
            notes.append("relaxed potentials not monotone in SOC: sphere fit with a linear OCV")
        return f
    lo_s, hi_s = min(r["soc"] for r in ocv_rows), max(r["soc"] for r in ocv_rows)
    for _ in range(2):  # the excursion depends on tau: check with the tau found
        far = soc_start + dsoc * _surface_peak(t_pulse, f["tau"])
        over = max(lo_s - min(soc_start, far), max(soc_start, far) - hi_s, 0.0)
        if over > 0.25 * abs(dsoc):
            notes.append(f"the surface SOC goes {over:.2g} beyond the measured OCV points: sphere fit with a "
                         "linear OCV (D biased where the OCV bends; use longer or smaller pulses)")
            return f
        g = fit_sphere_pulse(t, E, t_pulse, ocv=ocv_fun, soc_start=soc_start, dsoc=dsoc)
        if abs(math.log(g["tau"] / f["tau"])) < 0.05 or f["model"] == "measured OCV":
            return g
        f = g
    return f


def _ocv_interpolant(rows):
    """Monotone interpolant E(SOC) of the relaxed points (PCHIP, extrapolated), or None when not monotone."""
    from scipy.interpolate import PchipInterpolator

    if len(rows) < 3:
        return None
    soc = np.array([r["soc"] for r in rows])
    E = np.array([r["E"] for r in rows])
    order = np.argsort(soc)
    soc, E = soc[order], E[order]
    if np.any(np.diff(soc) <= 0) or not (np.all(np.diff(E) > 0) or np.all(np.diff(E) < 0)):
        return None
    return PchipInterpolator(soc, E, extrapolate=True)


def _lognormal(value, sd_ln, z):
    if not (np.isfinite(value) and np.isfinite(sd_ln)):
        return np.nan, np.nan
    return value * math.exp(-z * sd_ln), value * math.exp(z * sd_ln)


def analyze_pulses(data, recipe=None, /, **params):
    """Segment a galvanostatic record and analyse every pulse (see the module docstring).

    Parameters
    ----------
    data : pandas.DataFrame
        Columns ``t`` (s), ``E`` (V), ``i`` (A, anodic positive).
    recipe : GITTRecipe, dict or JSON, optional
        Settings; keywords override them.

    Returns
    -------
    (segments, pulses, ocv, info) : DataFrames and a dict (noise, levels, soc axis)
    """
    from scipy.stats import norm

    rec = GITTRecipe.coerce(recipe, **params)
    t = data["t"].to_numpy(float)
    E = data["E"].to_numpy(float)
    i = data["i"].to_numpy(float)
    if not np.all(np.isfinite(E)):
        raise DataError("the potential column E holds NaN/inf values; drop those rows first")
    seg = segment_pulses(t, i, min_samples=rec.min_samples)
    noise = rec.noise if rec.noise is not None else estimate_noise(E, seg)
    soc, soc_note = _soc_axis(seg, rec)
    z = float(norm.ppf(0.5 + rec.level / 2))
    r2_rel = 2 * rec.radius_err / rec.radius if rec.radius_err is not None else 0.0

    # pass 1, then (when the rests did not level off) pass 2 with the tails of earlier pulses removed
    ocv_rows, relaxed = _rest_rows(t, E, seg, soc, None)
    rows = _pulse_rows(t, E, seg, soc, rec, noise, z, r2_rel, ocv_rows, relaxed, None)
    tails = [{"segment": r["segment"], "t0": r["t_start"], "tp": r["t_pulse"], "tau": r["tau"], "K": r["fit_dE_s"]}
             for r in rows if np.isfinite(r.get("tau", np.nan)) and np.isfinite(r.get("fit_dE_s", np.nan))]
    if tails:
        ocv2, relaxed2 = _rest_rows(t, E, seg, soc, tails)
        redo = any(abs(r2["remaining"]) > max(r1["E_err"] if np.isfinite(r1["E_err"]) else 0.0, 1e-12)
                   for r1, r2 in zip(ocv_rows, ocv2))
        ocv_rows, relaxed = ocv2, relaxed2
        if redo:
            rows = _pulse_rows(t, E, seg, soc, rec, noise, z, r2_rel, ocv_rows, relaxed, tails)
            for r in rows:
                if any(not o["relaxed"] for o in ocv_rows if o["segment"] in (r["segment"] - 1, r["segment"] + 1)):
                    r["note"] = "; ".join(x for x in (r["note"], "rest too short to level off: the rest of the "
                                                      "relaxation extrapolated with the sphere model") if x)
    pulses = pd.DataFrame(rows)
    ocv = pd.DataFrame(ocv_rows, columns=["segment", "soc", "E", "E_err", "E_measured", "remaining", "drift",
                                          "t_rest", "relaxed"])
    info = {"noise": noise, "levels": seg.attrs.get("levels"), "soc_axis": soc_note, "level": rec.level}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pulses.attrs.update(recipe=rec.to_dict(), **info)
    return seg, pulses, ocv, info, rec



def _deficit(tt, tails, before_segment):
    """What the pulses before ``before_segment`` still have to relax at times ``tt`` (V; 0 when relaxed)."""
    out = np.zeros_like(np.asarray(tt, dtype=float))
    for tl in tails or ():
        if tl["segment"] >= before_segment:
            continue
        after = tt > tl["t0"] + tl["tp"]
        out[after] += tl["K"] * (pulse_shape(tt[after] - tl["t0"], tl["tp"], tl["tau"]) - 1.0)
    return out


def _rest_rows(t, E, seg, soc, tails):
    """Relaxed potential at the end of each rest; with ``tails`` (fitted pulses) the part still to relax is
    added (``E`` is then the fully relaxed potential, ``E_measured`` the last reading)."""
    from scipy.stats import t as student

    relaxed = {}
    ocv_rows = []
    for k, s in enumerate(seg.itertuples()):
        if s.kind != "rest":
            continue
        tt, ee = t[s.start:s.stop], E[s.start:s.stop]
        e_end, e_se, slope, slope_se = relaxed_potential(tt, ee)
        change = abs(ee[-1] - ee[0]) if ee.size else 0.0
        span = tt[-1] - tt[-max(3, tt.size // 10)]
        # levelled off: the end's slope is zero (t test at 1 %), or moves E by < 1 % of the relaxation
        q = float(student.ppf(0.995, max(max(3, tt.size // 10) - 2, 1)))
        flat = np.isfinite(slope) and (abs(slope) <= q * slope_se or abs(slope) * span <= 0.01 * change)
        remaining = 0.0
        if tails:
            remaining = -float(_deficit(np.array([tt[-1]]), tails, k)[0])
            last = [tl["K"] for tl in tails if tl["segment"] < k]
            scale = abs(last[-1]) if last else 0.0
            flat = abs(remaining) <= max(3 * (e_se if np.isfinite(e_se) else 0.0), 0.01 * scale)
        relaxed[k] = (e_end + remaining, e_se, slope)
        ocv_rows.append({"segment": k, "soc": float(soc[k + 1]), "E": e_end + remaining, "E_err": e_se,
                         "E_measured": e_end, "remaining": remaining, "drift": slope, "t_rest": float(s.duration),
                         "relaxed": bool(flat)})
    return ocv_rows, relaxed


def _pulse_rows(t, E, seg, soc, rec, noise, z, r2_rel, ocv_rows, relaxed, tails):
    """One row per pulse (see the module docstring); ``tails`` removes what earlier pulses still relax."""
    ocv_fun = _ocv_interpolant(ocv_rows)
    rows = []
    kinds = seg["kind"].tolist()
    pulse_no = 0
    for k, s in enumerate(seg.itertuples()):
        if s.kind != "pulse":
            continue
        row = {"pulse": pulse_no, "segment": k, "t_start": s.t_start, "t_pulse": s.duration, "current": s.current,
               "charge": s.charge, "soc_start": float(soc[k]), "soc_end": float(soc[k + 1]),
               "soc": float(0.5 * (soc[k] + soc[k + 1]))}
        pulse_no += 1
        notes = []
        before = relaxed.get(k - 1) if k > 0 and kinds[k - 1] == "rest" else None
        after = relaxed.get(k + 1) if k + 1 < len(kinds) and kinds[k + 1] == "rest" else None
        if before is None:
            notes.append("no rest before the pulse")
        if after is None:
            notes.append("no rest after the pulse")
        dEs = after[0] - before[0] if before and after else np.nan
        dEs_err = math.hypot(before[1], after[1]) if before and after else np.nan
        row.update(E_before=before[0] if before else np.nan, E_after=after[0] if after else np.nan,
                   dE_s=dEs, dE_s_err=dEs_err)
        # Weppner-Huggins
        tp = t[s.start:s.stop] - s.t_start
        e_pulse = E[s.start:s.stop] - _deficit(t[s.start:s.stop], tails, k)
        w = sqrt_window(tp, e_pulse, s.duration, noise=noise, window=rec.window) if s.duration > 0 else None
        tau_wh = sd_wh = np.nan
        if w is None:
            notes.append("too few samples in the pulse for a sqrt(t) fit")
        else:
            dEt = w["slope"] * math.sqrt(s.duration)
            row.update(dE_t=dEt, window_lo=w["t_lo"], window_hi=w["t_hi"], window_n=w["n"],
                       window_chi2=w["chi2"], window_accepted=w["accepted"], ir_intercept=w["intercept"])
            if not w["accepted"]:
                notes.append("no part of the pulse follows sqrt(t) within the noise (best window used)")
            if np.isfinite(dEs) and dEt != 0 and dEs != 0:
                if np.sign(dEt) != np.sign(dEs):
                    notes.append("dE_t and dE_s have opposite signs (relaxation overshoot?)")
                tau_wh = 9 * math.pi * s.duration / 4 * (dEt / dEs) ** 2
                rel_es = abs(dEs_err / dEs) if np.isfinite(dEs_err) else 0.0
                sd_wh = 2 * math.hypot(rel_es, abs(w["slope_err"] / w["slope"]))
                if np.isfinite(dEs_err) and abs(dEs) < 3 * dEs_err:
                    notes.append("dE_s is within 3 SE of zero (flat OCV, two-phase plateau?): D undefined")
                s_wh = s.duration / tau_wh
                if s_wh > 2e-3:
                    notes.append(f"WH: t_p/tau = {s_wh:.2g} > 0.002, the sqrt(t) law is approximate "
                                 "(use the sphere fit)")
        row.update(tau_wh=tau_wh, tau_wh_ln_err=sd_wh,
                   soc_probe_wh=_probe(float(soc[k]), float(soc[k + 1] - soc[k]), s.duration, tau_wh)
                   if np.isfinite(tau_wh) else np.nan)
        # spherical diffusion fit
        tau_fit = sd_fit = np.nan
        if rec.fit and before and after:
            prev = seg.iloc[k - 1]
            nxt = seg.iloc[k + 1]
            a = int(prev.stop - max(3, (prev.stop - prev.start) // 10))
            sl = slice(a, int(nxt.stop))
            try:
                f = _fit_pulse(t[sl] - s.t_start, E[sl] - _deficit(t[sl], tails, k), s.duration, ocv_fun, ocv_rows,
                               float(soc[k]),
                               float(soc[k + 1] - soc[k]), notes)
            except (np.linalg.LinAlgError, ValueError) as exc:  # pragma: no cover - defensive
                notes.append(f"sphere fit failed: {exc}")
            else:
                tau_fit, sd_fit = f["tau"], f["ln_tau_err"]
                if f["model"] == "measured OCV" and np.isfinite(dEs_err) and dEs:
                    # the OCV's slope comes from two relaxed potentials: its error enters D squared
                    sd_fit = math.hypot(sd_fit, 2 * dEs_err / abs(dEs))
                row.update(fit_model=f["model"], fit_offset=f["offset"], fit_dE_s=f["dE_s"], fit_jump=f["jump"],
                           R_ohm=f["jump"] / s.current if s.current else np.nan, fit_rmse=f["rmse"],
                           fit_at_bound=f["at_bound"])
                if f["at_bound"]:
                    notes.append("sphere fit: tau at the edge of what the pulse resolves")
                # SOC range the surface sweeps: the D found is an average over it
                peak = _surface_peak(s.duration, f["tau"])
                ends = (float(soc[k]), float(soc[k] + (soc[k + 1] - soc[k]) * peak))
                row.update(soc_surface_lo=min(ends), soc_surface_hi=max(ends),
                           soc_probe=_probe(float(soc[k]), float(soc[k + 1] - soc[k]), s.duration, f["tau"]))

        row.update(tau=tau_fit, tau_ln_err=sd_fit, t_pulse_over_tau=s.duration / tau_fit if tau_fit else np.nan)
        # D from tau
        for key, tau, sd in (("D", tau_fit, sd_fit), ("D_wh", tau_wh, sd_wh)):
            if rec.radius is not None and np.isfinite(tau):
                D = rec.radius**2 / tau
                sdD = math.hypot(sd, r2_rel) if np.isfinite(sd) else np.nan
                lo, hi = _lognormal(D, sdD, z)
                row.update({key: D, f"{key}_low": lo, f"{key}_high": hi})
            else:
                row.update({key: np.nan, f"{key}_low": np.nan, f"{key}_high": np.nan})
        row["status"] = "ok" if np.isfinite(tau_fit) or np.isfinite(tau_wh) else "failed"
        row["note"] = "; ".join(notes)
        rows.append(row)
    return rows


def pulse_curves(data, segments, pulses, ocv, pulse):
    """One pulse and its rest with the fitted sphere model and the sqrt(t) line (for plots).

    Returns
    -------
    pandas.DataFrame
        ``t`` (s since the pulse started), ``E`` (V), ``E_fit`` (sphere model), ``E_sqrt``
        (the Weppner-Huggins line, NaN outside the pulse), ``in_window`` (bool).
    """
    from ..errors import ParameterError

    if not 0 <= pulse < len(pulses):
        raise ParameterError(f"pulse must be 0 to {len(pulses) - 1}, found {pulse!r}")
    row = pulses.iloc[pulse]
    k = int(row["segment"])
    seg = segments.iloc[k]
    stop = int(segments.iloc[k + 1]["stop"]) if k + 1 < len(segments) else int(seg["stop"])
    if k > 0:  # the end of the rest before (as fitted)
        prev = segments.iloc[k - 1]
        start = int(prev["stop"] - max(3, (prev["stop"] - prev["start"]) // 10))
    else:
        start = int(seg["start"])
    t = data["t"].to_numpy(float)[start:stop] - float(seg["t_start"])
    E = data["E"].to_numpy(float)[start:stop]
    tp = float(row["t_pulse"])
    on = ((t > 0) & (t <= tp * (1 + 1e-9))).astype(float)
    fit = np.full(t.size, np.nan)
    if np.isfinite(row.get("tau", np.nan)):
        shape = pulse_shape(t, tp, float(row["tau"]))
        if row.get("fit_model") == "measured OCV":
            U = _ocv_interpolant(ocv.to_dict("records"))
            fit = row["fit_offset"] + row["fit_jump"] * on + U(row["soc_start"] + (row["soc_end"] - row["soc_start"])
                                                                * shape)
        else:
            fit = row["fit_offset"] + row["fit_jump"] * on + row["fit_dE_s"] * shape
    tails = [{"segment": r.segment, "t0": r.t_start, "tp": r.t_pulse, "tau": r.tau, "K": r.fit_dE_s}
             for r in pulses.itertuples() if np.isfinite(getattr(r, "tau", np.nan))
             and np.isfinite(getattr(r, "fit_dE_s", np.nan))]
    fit = fit + _deficit(t + float(seg["t_start"]), tails, k)  # what earlier pulses still relax
    line = np.full(t.size, np.nan)
    win = np.zeros(t.size, bool)
    if np.isfinite(row.get("dE_t", np.nan)):
        m = on > 0
        line[m] = row["ir_intercept"] + row["dE_t"] / math.sqrt(tp) * np.sqrt(t[m])
        win = (t >= row["window_lo"]) & (t <= row["window_hi"])
    return pd.DataFrame({"t": t, "E": E, "E_fit": fit, "E_sqrt": line, "in_window": win})
