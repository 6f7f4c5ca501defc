"""Confidence intervals of fitted parameters: covariance, profile likelihood, bootstrap.

:func:`confidence_intervals` gives the table of the varying parameters
(``result.ci``); :func:`parameter_table` adds the fixed and the derived ones
(an ``expr`` such as ``D = r^2/tau``: value +- t x propagated standard error).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import NbtoolsWarning, ParameterError

__all__ = ["confidence_intervals", "parameter_table", "INTERVAL_METHODS"]

#: interval methods of :func:`confidence_intervals` (``conf`` of :func:`nbtools.kinetics.fit`)
INTERVAL_METHODS = ("stderr", "conf_interval", "bootstrap")


def confidence_intervals(result, level=0.95, *, method="stderr", n_boot=200, seed=None):
    """Confidence intervals of the varying parameters of an lmfit result.

    Parameters
    ----------
    result : lmfit.model.ModelResult
    level : float
        Confidence level (0.95 = 95 %).
    method : {"stderr", "conf_interval", "bootstrap"}
        ``stderr``: value +- t(level, dof) * stderr from the covariance matrix.
        ``conf_interval``: lmfit profile-likelihood intervals (F-test).
        ``bootstrap``: residual bootstrap (``n_boot`` refits, percentile intervals).

    Returns
    -------
    pandas.DataFrame
        Indexed by parameter: value, stderr, lower, upper, level, method, unit.
    """
    if not 0 < level < 1:
        raise ParameterError(f"level must be between 0 and 1, got {level!r}")
    free = [n for n, p in result.params.items() if p.vary and not p.expr]
    rows = {n: {"value": result.params[n].value, "stderr": result.params[n].stderr or np.nan}
            for n in free}
    dof = max(int(result.ndata) - len(free), 1)
    tq = stats.t.ppf(0.5 + level / 2, dof)
    used = method
    if method == "stderr":
        for n, r in rows.items():
            r["lower"], r["upper"] = r["value"] - tq * r["stderr"], r["value"] + tq * r["stderr"]
    elif method == "conf_interval":
        try:
            with np.errstate(all="ignore"):
                ci = result.conf_interval(sigmas=[level])
            for n, r in rows.items():
                vals = sorted(v for p, v in ci[n] if p > 0)
                r["lower"], r["upper"] = vals[0], vals[-1]
        except Exception as exc:  # lmfit raises many types here
            warnings.warn(f"conf_interval failed ({exc}); using standard errors instead",
                          NbtoolsWarning, stacklevel=2)
            return confidence_intervals(result, level, method="stderr")
    elif method == "bootstrap":
        samples = _bootstrap(result, free, n_boot, seed)
        for j, (n, r) in enumerate(rows.items()):
            col = samples[:, j]
            col = col[np.isfinite(col)]
            r["lower"], r["upper"] = np.quantile(col, [0.5 - level / 2, 0.5 + level / 2])
            r["stderr"] = float(np.std(col, ddof=1))
    else:
        raise ParameterError(
            f"conf (the interval method) must be 'stderr', 'conf_interval' or 'bootstrap', got {method!r}")
    df = pd.DataFrame.from_dict(rows, orient="index")
    df["level"] = level
    df["method"] = used
    model = result.model
    df["unit"] = [(model.param_info(n).unit if hasattr(model, "param_info") and model.param_info(n)
                   else "") for n in df.index]
    return df


def _bootstrap(result, free, n_boot, seed):
    rng = np.random.default_rng(seed)
    model = result.model
    kws = dict(result.userkws)
    best = result.best_fit
    resid = result.data - best
    resid = resid - resid.mean()
    w = result.weights
    out = np.full((n_boot, len(free)), np.nan)
    for b in range(n_boot):
        yb = best + rng.choice(resid, size=resid.size, replace=True)
        try:
            with np.errstate(all="ignore"):
                rb = model.fit(yb, result.params.copy(), weights=w, **kws)
            out[b] = [rb.params[n].value for n in free]
        except Exception:
            continue
    return out


def parameter_table(result) -> pd.DataFrame:
    """Every parameter of a fit: value, standard error, interval, unit, varied or fixed, derived.

    The intervals of the varying parameters come from ``result.ci`` (made by
    :func:`nbtools.kinetics.fit` with its ``conf`` and ``level``); a derived
    parameter (an ``expr``, e.g. ``D = r^2/tau``) gets value +- t(level, dof) x its
    propagated standard error; fixed parameters have none.

    Returns
    -------
    pandas.DataFrame
        Indexed by parameter: ``value``, ``stderr``, ``lower``, ``upper`` (NaN where
        unknown), ``unit``, ``vary``, ``derived``; ``attrs``: ``level`` and ``method``
        of the intervals (None without intervals).
    """
    ci = getattr(result, "ci", None)
    has_ci = ci is not None and len(ci) > 0
    level = float(ci["level"].iloc[0]) if has_ci else None
    method = str(ci["method"].iloc[0]) if has_ci else None
    tq = stats.t.ppf(0.5 + level / 2, max(int(result.ndata) - int(result.nvarys), 1)) if has_ci else np.nan
    model = result.model
    rows = {}
    for name, p in result.params.items():
        info = model.param_info(name) if hasattr(model, "param_info") else None
        err = _finite(p.stderr)
        lo = hi = np.nan
        if has_ci and name in ci.index:
            lo, hi = float(ci.loc[name, "lower"]), float(ci.loc[name, "upper"])
        elif p.expr and has_ci and np.isfinite(err):
            lo, hi = p.value - tq * err, p.value + tq * err
        rows[name] = {"value": float(p.value), "stderr": err, "lower": lo, "upper": hi,
                      "unit": info.unit if info else "", "vary": bool(p.vary), "derived": bool(p.expr)}
    df = pd.DataFrame.from_dict(rows, orient="index")
    df.attrs.update(level=level, method=method)
    return df


def _finite(v) -> float:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return np.nan
    return v if np.isfinite(v) else np.nan
