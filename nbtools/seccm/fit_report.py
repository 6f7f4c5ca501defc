"""What a per-pixel fit found and how far to trust it.

Parameter statistics over the fitted pixels (determined ones only), the
reasons of failures, which parameters the data do not determine and where,
the goodness of fit (:func:`fit_quality`), one status sentence for a person
(:func:`fit_status_text`), and the comparison of models fitted to the same
pixels (:func:`compare_fits`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..kinetics.goodness import REDCHI_NOISE_LIMIT, compare_models, nested_pairs
from ..kinetics.registry import param_name
from .layout import from_grid

__all__ = ["fit_parameters", "fit_summary", "fit_failures", "not_determined_counts", "fit_quality",
           "fit_status_text", "compare_fits", "comparison_summary", "comparison_text"]


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
        value), ``n_determined`` (of those, pixels where the data determine
        the parameter: relative standard error <= 100 %, not at a bound),
        ``median``, ``q1``, ``q3`` (interquartile range, over the determined
        pixels; NaN where none is), ``rel_stderr`` (median relative standard
        error over the pixels with a value) and ``n_stderr`` (pixels with a
        finite standard error). attrs: ``n_fitted``, ``n_failed``,
        ``failures`` (:func:`fit_failures`) and ``not_determined``
        (:func:`not_determined_counts`).
    """
    rows = _rows(result, pixels)
    ok = result.fit_status.values[rows] == "ok"
    out = []
    for p in fit_parameters(result):
        v = from_grid(result[p], ds).values[rows][ok].astype(np.float64)
        e = from_grid(result[f"{p}_stderr"], ds).values[rows][ok].astype(np.float64)
        why = _why(result, p)[rows][ok]
        fin = np.isfinite(v)
        det = fin & (why == "")
        vd = v[det]
        v, e = v[fin], e[fin]
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.abs(e / np.where(v != 0, v, np.nan))
        q1, med, q3 = np.percentile(vd, [25, 50, 75]) if vd.size else (np.nan,) * 3
        out.append({"parameter": p, "unit": str(result[p].attrs.get("units", "")), "n": int(v.size),
                    "n_determined": int(det.sum()), "median": med, "q1": q1, "q3": q3,
                    "rel_stderr": float(np.nanmedian(rel)) if np.isfinite(rel).any() else np.nan,
                    "n_stderr": int(np.isfinite(e).sum())})
    df = pd.DataFrame(out, columns=["parameter", "unit", "n", "n_determined", "median", "q1", "q3", "rel_stderr",
                                    "n_stderr"])
    df = df.set_index("parameter")
    df.attrs = {"n_fitted": int(ok.sum()), "n_failed": int(rows.size - ok.sum()),
                "failures": fit_failures(result, rows).to_dict(),
                "not_determined": not_determined_counts(result, rows)}
    return df


def _why(result, p):
    """Per pixel: why parameter ``p`` is not determined ('' where it is, or for results without the record)."""
    n = result.sizes["pixel"]
    if "not_determined" not in result or p not in result.parameter.values:
        return np.full(n, "", dtype=object)
    return result.not_determined.sel(parameter=p).values.astype(object)


def not_determined_counts(result, pixels=None) -> dict:
    """Parameter -> {reason: number of fitted pixels} where the data do not determine it.

    Reasons: ``'relative error > 100 %'``, ``'at its lower bound'``, ``'at its
    upper bound'``, ``'no standard error'``, ``'not identifiable: ...'`` (ks
    and alpha of reversible pixels). Parameters determined everywhere are left out.
    """
    rows = _rows(result, pixels)
    ok = result.fit_status.values[rows] == "ok"
    out = {}
    for p in fit_parameters(result):
        why = _why(result, p)[rows][ok]
        why = why[why != ""]
        if why.size:
            out[p] = pd.Series(why.astype(str)).value_counts().to_dict()
    return out


def fit_quality(result, ds, pixels=None) -> dict:
    """The goodness of fit over the fitted pixels.

    Returns
    -------
    dict
        ``n_fitted``; ``n_structure`` (pixels whose residuals have structure the
        model does not follow), ``n_misfit`` (residuals more than sqrt(2) times
        the pixel's own noise), medians of ``r2`` and ``redchi_noise`` (reduced
        chi-square relative to each pixel's noise: about 1 when the model
        follows the data to within their noise) and ``noise`` (A).
    """
    rows = _rows(result, pixels)
    ok = result.fit_status.values[rows] == "ok"
    rc = _per_pixel(result, ds, "redchi_noise")[rows][ok]
    struct = _per_pixel(result, ds, "resid_structure")[rows][ok]
    return {"n_fitted": int(ok.sum()), "n_structure": int(np.sum(struct > 0)),
            "n_misfit": int(np.sum(rc > REDCHI_NOISE_LIMIT)), "r2": _median(_per_pixel(result, ds, "r2")[rows][ok]),
            "redchi_noise": _median(rc), "noise": _median(_per_pixel(result, ds, "noise")[rows][ok])}


def _per_pixel(result, ds, name):
    """A per-pixel float array of a result's map or pixel variable (NaN when the result has none)."""
    if name not in result:
        return np.full(result.sizes["pixel"], np.nan)
    a = result[name]
    v = a.values if a.dims == ("pixel",) else from_grid(a, ds).values
    return np.asarray(v, dtype=float)


def _median(a):
    a = a[np.isfinite(a)]
    return float(np.median(a)) if a.size else np.nan


def _param_words(p):
    label, symbol = param_name(p)
    return f"{label} {symbol}" if symbol != label else label


def fit_status_text(result, ds, pixels=None, *, seconds=None):
    """One status sentence a person can act on, and its level ('info' or 'warning').

    Says how many pixels were fitted, which parameters the data do not
    determine in how many pixels and why (relative error > 100 %, at a
    bound, not identifiable), and in how many pixels the residuals have
    structure the model does not follow. Plain success ('info') only when
    every fitted parameter is determined in every pixel and the residuals
    look like noise.

    Examples
    --------
    ``'Fitted 4 of 4 pixels in 3 s; rate constant kₛ not determined in 3 (relative
    error > 100 %); the residuals have structure the model does not follow in 4
    (see the fitted curve).'``
    """
    rows = _rows(result, pixels)
    st = result.fit_status.values[rows].astype(str)
    n_ok = int((st == "ok").sum())
    n_fail = int(np.char.startswith(st, "failed").sum())
    took = f" in {seconds:.0f} s" if seconds is not None else ""
    parts = [f"Fitted {n_ok} of {n_ok + n_fail} pixels{took}"]
    if n_fail:
        parts.append(f"{n_fail} failed (grey on the maps, reasons in the table)")
    warn = bool(n_fail) or n_ok == 0
    groups = {}  # parameters with the same counts and reasons are named together
    for p, reasons in not_determined_counts(result, rows).items():
        total = sum(reasons.values())
        why = ", ".join(f"{r}" if len(reasons) == 1 else f"{r} in {c}" for r, c in reasons.items())
        groups.setdefault((total, why), []).append(p)
    for (total, why), names in groups.items():
        who = _param_words(names[0]) if len(names) == 1 else ", ".join(param_name(p)[1] for p in names)
        parts.append(f"{who} not determined in {total} ({why})")
        warn = True
    q = fit_quality(result, ds, rows)
    if q["n_structure"]:
        parts.append(f"the residuals have structure the model does not follow in {q['n_structure']} "
                     "(see the fitted curve)")
        warn = True
    elif n_ok and np.isfinite(q["redchi_noise"]):
        parts.append(f"residuals as large as {np.sqrt(q['redchi_noise']):.2g} times each curve's noise (median), "
                     f"R² {q['r2']:.3f}")
    return "; ".join(parts) + ".", ("warning" if warn else "info")


# ------------------------------------------------------------------ model comparison
def _label_results(results):
    if isinstance(results, dict):
        return dict(results)
    out = {}
    for r in results:
        name = str(r.attrs.get("model", "model"))
        k = 2
        base = name
        while name in out:
            name, k = f"{base} ({k})", k + 1
        out[name] = r
    return out


def compare_fits(results, ds, *, nested=None):
    """Compare models fitted to the same pixels: AIC, BIC, the preferred model, tests of nested models.

    Parameters
    ----------
    results : dict or list
        Label -> :func:`~nbtools.seccm.fit_pixels` result (a list: labelled by
        their ``attrs['model']``), fitted to the same data (the same window
        and double-layer treatment).
    ds : xarray.Dataset
        The scan.
    nested : list of (str, str), optional
        Pairs (smaller, larger) where the smaller model is a special case of
        the larger; default: where the smaller's fitted parameters are a
        subset of the larger's (one couple of two; FrumkinCV, the Nernstian
        limit of LavironCV).

    Returns
    -------
    pandas.DataFrame
        One row per pixel fitted by every model, with the same number of
        points: ``aic: <label>``, ``bic: <label>``, ``weight: <label>``
        (Akaike weights), ``preferred_aic``, ``preferred_bic``, ``delta_aic``
        (runner-up minus preferred: > 2 a clear, > 10 a decisive preference)
        and per nested pair ``F test p: <small> vs <large>`` and ``LR test p:
        ...`` (small: the larger model's extra parameters are needed). attrs:
        ``models`` (label -> number of fitted parameters), ``nested``,
        ``data`` (what was fitted) and ``n_excluded`` (pixels not fitted by
        every model).

    Raises
    ------
    ParameterError
        Fewer than two results, or results fitted to different data (another
        window or double-layer treatment): their residuals cannot be compared.
    """
    res = _label_results(results)
    if len(res) < 2:
        raise ParameterError("compare_fits needs the results of at least two models fitted to the same pixels")
    labels = list(res)
    data = {m: r.attrs.get("data", {}) for m, r in res.items()}
    key = {m: (str(d.get("window")), d.get("subtract_capacitive")) for m, d in data.items()}
    if len(set(key.values())) > 1:
        said = "; ".join(f"{m} to {d.get('text', 'unknown data')}" for m, d in data.items())
        raise ParameterError(f"these models were fitted to different data ({said}), so their residuals cannot be "
                             "compared: fit them with the same potential window and the same double-layer treatment")
    n = ds.sizes["pixel"]
    k = {m: len(fit_parameters(r)) for m, r in res.items()}
    nd = {m: _per_pixel(r, ds, "ndata") for m, r in res.items()}
    ok = np.ones(n, bool)
    for m, r in res.items():
        ok &= (r.fit_status.values == "ok") & np.isfinite(nd[m])
    same_n = np.all([nd[m] == nd[labels[0]] for m in labels], axis=0)
    fitted_any = np.any([r.fit_status.values == "ok" for r in res.values()], axis=0)
    use = np.flatnonzero(ok & same_n)
    rss = {m: (_per_pixel(r, ds, "redchi") * (nd[m] - k[m]))[use] for m, r in res.items()}
    if nested is None:
        nested = nested_pairs({m: fit_parameters(r) for m, r in res.items()})
    cmp = compare_models(rss, nd[labels[0]][use], k, nested=nested)
    cols = {}
    for m in labels:
        cols[f"aic: {m}"] = cmp["aic"][m]
        cols[f"bic: {m}"] = cmp["bic"][m]
    for m in labels:
        cols[f"weight: {m}"] = cmp["weight"][m]
    cols["preferred_aic"] = cmp["preferred_aic"]
    cols["preferred_bic"] = cmp["preferred_bic"]
    cols["delta_aic"] = cmp["delta_aic"]
    for (a, b), t in cmp["tests"].items():
        cols[f"F test p: {a} vs {b}"] = t["f_p"]
        cols[f"LR test p: {a} vs {b}"] = t["lr_p"]
    df = pd.DataFrame(cols, index=pd.Index(use, name="pixel"))
    df.attrs = {"models": k, "nested": [list(p) for p in nested], "data": data[labels[0]].get("text", ""),
                "n_excluded": int((fitted_any & ~(ok & same_n)).sum())}
    return df


def comparison_summary(table, *, level=0.05):
    """Per model: pixels where AIC and BIC prefer it, its median Akaike weight; and the nested tests.

    ``table``: :func:`compare_fits`. Returns a DataFrame indexed by model
    (``parameters``, ``preferred_aic``, ``preferred_bic``, ``median_weight``);
    ``attrs['tests']``: ``'<small> vs <large>'`` -> pixels where the larger
    model is needed (F test p < ``level``) and pixels tested.
    """
    rows = []
    for m, k in table.attrs["models"].items():
        rows.append({"model": m, "parameters": k, "preferred_aic": int((table["preferred_aic"] == m).sum()),
                     "preferred_bic": int((table["preferred_bic"] == m).sum()),
                     "median_weight": _median(table[f"weight: {m}"].to_numpy(float))})
    out = pd.DataFrame(rows).set_index("model")
    tests = {}
    for a, b in table.attrs["nested"]:
        p = table[f"F test p: {a} vs {b}"].to_numpy(float)
        tests[f"{a} vs {b}"] = {"larger_needed": int(np.sum(p < level)), "tested": int(np.isfinite(p).sum())}
    out.attrs = {"tests": tests, "n_pixels": len(table), "level": level}
    return out


def comparison_text(table, *, level=0.05) -> str:
    """The comparison in words: which model AIC and BIC prefer in how many pixels, and the nested tests."""
    s = comparison_summary(table, level=level)
    n = len(table)
    if n == 0:
        return "No pixel was fitted by every model with the same data: nothing to compare."
    best = s["preferred_aic"].idxmax()
    dA = _median(table.loc[table["preferred_aic"] == best, "delta_aic"].to_numpy(float))
    strength = "decisively" if dA > 10 else "clearly" if dA > 2 else "only weakly"
    parts = [f"AIC prefers {best} in {int(s.loc[best, 'preferred_aic'])} of {n} pixels ({strength}: median ΔAIC "
             f"{dA:.3g}); BIC prefers it in {int(s.loc[best, 'preferred_bic'])}. The preferred model is the better "
             "of those tried, not necessarily a good one: check its residuals"]
    for pair, t in s.attrs["tests"].items():
        a, b = pair.split(" vs ")
        parts.append(f"{a} is a special case of {b}: the F test finds {b}'s extra parameters needed in "
                     f"{t['larger_needed']} of {t['tested']} pixels (p < {level:g})")
    if table.attrs.get("n_excluded"):
        parts.append(f"{table.attrs['n_excluded']} pixels not fitted by every model are left out")
    return "; ".join(parts) + "."


def fit_failures(result, pixels=None):
    """How many pixels were not fitted, by reason (``'skipped: failed_landing'``, ``'failed: ...'``).

    Pixels that were not selected are not counted. Returns a pandas Series
    reason -> count, most frequent first.
    """
    st = result.fit_status.values[_rows(result, pixels)].astype(str)
    bad = st[(st != "ok") & ~np.char.startswith(st, "not selected")]
    return pd.Series(bad, dtype=str).value_counts().rename("pixels")
