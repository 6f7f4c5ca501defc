"""What a per-pixel fit found: parameter statistics over the fitted pixels and the reasons of failures."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .layout import from_grid

__all__ = ["fit_parameters", "fit_summary", "fit_failures"]


def fit_parameters(result) -> list:
    """Names of the fitted parameters of a :func:`~nbtools.seccm.fit_pixels` result (those with an error map)."""
    return [k for k in result.data_vars if f"{k}_stderr" in result.data_vars]


def _rows(result, pixels):
    n = result.sizes["pixel"]
    if pixels is None:
        return np.arange(n)
    return np.asarray(pixels, dtype=np.int64)


def fit_summary(result, ds, pixels=None):
    """Median and spread of each fitted parameter over the converged pixels, and its uncertainty.

    Parameters
    ----------
    result : xarray.Dataset
        From :func:`~nbtools.seccm.fit_pixels`.
    ds : xarray.Dataset
        The scan it was fitted on.
    pixels : array_like of int, optional
        Pixels to summarise (default: all).

    Returns
    -------
    pandas.DataFrame
        Index ``parameter``; columns ``unit``, ``n`` (converged pixels with a
        value), ``median``, ``q1``, ``q3`` (interquartile range),
        ``rel_stderr`` (median relative standard error) and ``n_stderr``
        (pixels with a finite standard error: 0 means the data do not
        determine the parameter). attrs: ``n_fitted``, ``n_failed`` and
        ``failures`` (:func:`fit_failures`).
    """
    rows = _rows(result, pixels)
    ok = result.fit_status.values[rows] == "ok"
    out = []
    for p in fit_parameters(result):
        v = from_grid(result[p], ds).values[rows][ok].astype(np.float64)
        e = from_grid(result[f"{p}_stderr"], ds).values[rows][ok].astype(np.float64)
        fin = np.isfinite(v)
        v, e = v[fin], e[fin]
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.abs(e / np.where(v != 0, v, np.nan))
        q1, med, q3 = np.percentile(v, [25, 50, 75]) if v.size else (np.nan,) * 3
        out.append({"parameter": p, "unit": str(result[p].attrs.get("units", "")), "n": int(v.size),
                    "median": med, "q1": q1, "q3": q3,
                    "rel_stderr": float(np.nanmedian(rel)) if np.isfinite(rel).any() else np.nan,
                    "n_stderr": int(np.isfinite(e).sum())})
    df = pd.DataFrame(out, columns=["parameter", "unit", "n", "median", "q1", "q3", "rel_stderr", "n_stderr"])
    df = df.set_index("parameter")
    df.attrs = {"n_fitted": int(ok.sum()), "n_failed": int(rows.size - ok.sum()),
                "failures": fit_failures(result, rows).to_dict()}
    return df


def fit_failures(result, pixels=None):
    """How many pixels were not fitted, by reason (``'skipped: failed_landing'``, ``'failed: ...'``).

    Pixels that were not selected are not counted. Returns a pandas Series
    reason -> count, most frequent first.
    """
    st = result.fit_status.values[_rows(result, pixels)].astype(str)
    bad = st[(st != "ok") & ~np.char.startswith(st, "not selected")]
    return pd.Series(bad, dtype=str).value_counts().rename("pixels")
