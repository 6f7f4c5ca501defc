"""Can a per-pixel fit determine ks and alpha? Lambda = ks/(f v) and the peak separation it implies.

Above ``Lambda`` :data:`LAMBDA_MAX` a thin-layer CV is reversible; when the
peak separation the fitted ks implies is within :data:`MIN_STEPS` potential
steps of the acquisition, or ks has a relative standard error above 0.5,
ks and alpha are not identifiable: :func:`check_identifiability` sets them to
NaN with a reason per pixel.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
from scipy.constants import R, physical_constants

from ..errors import NbtoolsWarning

__all__ = ["LAMBDA_MAX", "MIN_STEPS", "ALPHA_GRID", "dEp_of_lambda", "potential_step", "check_identifiability"]

#: above this Lambda = ks/(f v) a thin-layer CV is reversible: ks and alpha are not identifiable
LAMBDA_MAX = 10.0
#: ks is also not identifiable when the peak separation it implies is within this many potential
#: steps of the acquisition (a sample's current lags by about one step), or its relative error > 0.5
MIN_STEPS = 3.0
#: alpha step of the working curves behind the identifiability check (interpolated between)
ALPHA_GRID = 0.05
_F = physical_constants["Faraday constant"][0]  # C/mol (CODATA, as nbtools.kinetics)
_T = 298.15  # K, when the fit has no T


def potential_step(ds):
    """Median potential step between samples of a scan (V)."""
    p = ds.potential.values
    p = p if p.ndim == 1 else p[: min(p.shape[0], 50)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(np.nanmedian(np.abs(np.diff(p, axis=-1))))


def dEp_of_lambda(lam, alpha):
    """Peak separation (V) of a thin-layer CV at Lambda (inverse of :func:`nbtools.kinetics.laviron_lambda`).

    Working curves on an alpha grid of :data:`ALPHA_GRID`, interpolated
    linearly in alpha (every pixel has its own fitted alpha). ``lam`` and
    ``alpha`` may be arrays (one value per pixel): a float or an array.
    """
    lam, alpha = np.broadcast_arrays(np.asarray(lam, np.float64), np.asarray(alpha, np.float64))
    a = np.clip(alpha, 0.1, 0.9)
    lo = np.minimum(np.floor(a / ALPHA_GRID + 1e-9) * ALPHA_GRID, 0.9 - ALPHA_GRID)
    w = (a - lo) / ALPHA_GRID
    out = np.zeros(lam.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = -np.log(lam)
    for lo_k in np.unique(lo):
        at = lo == lo_k
        for ag, wg in ((round(float(lo_k), 6), 1.0 - w[at]), (round(float(lo_k) + ALPHA_GRID, 6), w[at])):
            use = wg > 1e-12
            if not use.any():
                continue
            neg_log_L, d, d_max = _working_curve(ag)
            part = np.where(use, wg * np.interp(x[at], neg_log_L, d, left=0.0, right=d_max), 0.0)
            out[at] = out[at] + part
    out = np.where(np.isfinite(alpha), out, np.nan)  # no working curve for an alpha that is not a number
    return float(out) if out.ndim == 0 else out


@functools.lru_cache(maxsize=64)
def _working_curve(alpha):
    """``(-ln Lambda, dEp, largest dEp)`` of the working curve at ``alpha`` (computed once)."""
    from ..kinetics import laviron_lambda

    d = np.geomspace(2e-4, 0.8, 300)
    L = laviron_lambda(d, alpha=alpha)
    good = np.isfinite(L)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.log(L[good]), d[good], d[good][-1]


def _value(setting, default):
    if setting is None:
        return default
    return float(setting["value"]) if isinstance(setting, dict) else float(setting)


def check_identifiability(vals, errs, start, status, message, step, why=None):
    """Lambda = ks/(f v) per pixel; ks and alpha set to NaN (reason in ``message``) where not identifiable.

    ``vals``, ``errs``: parameter name -> per-pixel arrays (changed in
    place); ``start``: the fit's parameter settings (``v`` and ``T``);
    ``status``, ``message``: per-pixel fit status and messages; ``why``
    (optional, per-pixel object array): the short reason ks is not identifiable
    there ('' elsewhere), filled in place. Returns the Lambda array, or None for
    models without ``ks`` and ``v``.
    """
    if "ks" not in vals or "v" not in start:
        return None
    v = _value(start["v"], np.nan)
    T = _value(start.get("T"), _T)
    lam = vals["ks"] / (_F / (R * T) * v)
    fitted = status == "ok"
    alpha = np.nan_to_num(vals.get("alpha", np.full(lam.shape, 0.5)), nan=0.5)
    with np.errstate(invalid="ignore"):
        dep = np.where(np.isfinite(lam) & (lam > 0), dEp_of_lambda(np.where(lam > 0, lam, 1.0), alpha), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = errs["ks"] / np.abs(vals["ks"])
        bad = fitted & ~((lam <= LAMBDA_MAX) & (dep >= MIN_STEPS * step) & (rel <= 0.5))
    short = why
    for p in np.flatnonzero(bad):
        why = []
        if not lam[p] <= LAMBDA_MAX:
            why.append(f"Lambda = ks/(f v) = {lam[p]:.3g} > {LAMBDA_MAX:g} (reversible at this scan rate)")
        if not dep[p] >= MIN_STEPS * step:
            why.append(f"the implied peak separation {dep[p] * 1e3:.1f} mV is within {MIN_STEPS:g} potential "
                       f"steps ({step * 1e3:.2f} mV) of the acquisition")
        if not rel[p] <= 0.5:
            why.append("ks has no usable standard error" if not np.isfinite(rel[p])
                       else f"ks is uncertain by {rel[p]:.0%}")
        note = "ks and alpha not identifiable: " + "; ".join(why)
        if short is not None:
            short[p] = ("reversible at this scan rate" if not lam[p] <= LAMBDA_MAX else
                        "peak separation within the potential steps" if not dep[p] >= MIN_STEPS * step else
                        "relative error > 50 %" if np.isfinite(rel[p]) else "no standard error")
        message[p] = f"{message[p]}; {note}" if message[p] else note
    for k in ("ks", "alpha"):
        if k in vals:
            vals[k][bad] = np.nan
            errs[k][bad] = np.nan
    if bad.any():
        warnings.warn(
            f"fit_pixels: ks and alpha are not identifiable on {int(bad.sum())} of {int(fitted.sum())} fitted "
            f"pixels and are NaN there (reasons in fit_message: Lambda = ks/(f v) > {LAMBDA_MAX:g}, i.e. "
            f"reversible at v = {v:g} V/s; a peak separation within {MIN_STEPS:g} potential steps; or ks "
            "without a usable standard error). Measure reversible pixels at a faster scan rate for kinetics.",
            NbtoolsWarning, stacklevel=3)
    return lam
