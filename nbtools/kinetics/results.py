"""Fit results that explain themselves: summary, report, export, and the fit again.

Plain functions on the :class:`lmfit.model.ModelResult` that
:func:`nbtools.kinetics.fit` returns (with its ``recipe``, ``ci`` and
``nb_warnings``), so that a script, a test, the :class:`~nbtools.widgets.FitPanel`
and a batch table all show the same numbers:

- :func:`fit_summary`: fitted values, standard errors and intervals (derived
  parameters included, :func:`~nbtools.kinetics.intervals.parameter_table`) and
  fit statistics, as JSON-safe values;
- :func:`report_text`: the same as a plain-text report;
- :func:`export_fit`: report (text), recipe and results (JSON: a recipe file that
  :func:`nbtools.recipes.from_json` reads back) and the fitted curve (CSV) into a
  folder, never over an existing file;
- :func:`refit` / :func:`read_fit_settings`: the fit again from a recipe, an
  exported JSON file or the settings dict of older nbtools versions;
- :func:`fit_window_from`, :func:`model_curve`, :func:`residual_check`,
  :func:`format_quantity`: small helpers of the fit panel.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, ParameterError
from ..recipes import from_json
from .checks import residual_autocorrelation, residual_message, result_residuals
from .fitting import fit
from .intervals import parameter_table
from ._base import MODELS, param_name, unit_text
from .recipe import FitRecipe, model_settings, params_spec

__all__ = ["fit_summary", "fit_quality_text", "compare_results", "report_text", "export_fit", "refit",
           "read_fit_settings", "panel_recipe", "fit_window_from",
           "model_curve", "residual_check", "format_quantity", "LEGACY_OPTIONS"]

#: options of the fit settings dicts written by nbtools before recipes (read by :func:`read_fit_settings`)
LEGACY_OPTIONS = ("conf", "level", "method", "nan_policy", "n_boot", "seed", "x_min", "x_max")

_PREFIXED_UNITS = ("A", "C")
_PREFIXES = [(1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "µ"), (1e-3, "m"), (1.0, "")]
_SUFFIXES = ("_report.txt", "_fit.json", "_curve.csv")


def format_quantity(value: float, unit: str = "", digits: int = 3) -> str:
    """``value`` with its unit, SI-prefixed for currents and charges (``2.5e-9, 'A'`` -> ``'2.5 nA'``),
    ``digits`` significant digits (3: what a label needs)."""
    unit = unit_text(unit)
    if value is None or not np.isfinite(value):
        return f"{value} {unit}".strip()
    if unit in _PREFIXED_UNITS and value != 0:
        mag = abs(value)
        for base, p in _PREFIXES:
            if float(f"{mag / base:.{digits}g}") < 1000.0:  # after rounding
                return f"{value / base:.{digits}g} {p}{unit}"
        return f"{value:.{digits}g} {unit}"
    return f"{value:.{digits}g} {unit}".strip()


def _num(v):
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


# --------------------------------------------------------------------------- summary and report
def fit_summary(result) -> dict:
    """Fitted values, standard errors and intervals per parameter, and fit statistics (JSON-safe).

    Returns
    -------
    dict
        ``params`` (name -> value, stderr, lower, upper, vary, derived, unit,
        label and symbol (the plain name people read); None where unknown),
        ``statistics`` (success, message, ndata, nvarys, nfev, chisqr, redchi,
        rsquared, weighted, residual_sd (the SD of the residuals in the data's
        unit ``y_unit``, for unweighted fits: what the reduced chi-square is
        there), y_unit, and the goodness of fit against the curve's own noise
        (:func:`nbtools.kinetics.goodness.goodness`): noise, redchi_noise,
        resid_r1, runs_p, resid_structure, aic, bic), ``not_determined``
        (parameter -> why the data do not determine it: relative error > 100 %,
        at a bound, no standard error), ``interval_level``, ``interval_method``
        and ``warnings``.
    """
    table = parameter_table(result)
    pars = {}
    for name, row in table.iterrows():
        label, symbol = param_name(str(name))
        p = {"value": float(row["value"]), "stderr": _num(row["stderr"]), "vary": bool(row["vary"]),
             "derived": bool(row["derived"]), "unit": row["unit"], "label": label, "symbol": symbol}
        if _num(row["lower"]) is not None and _num(row["upper"]) is not None:
            p["lower"], p["upper"] = float(row["lower"]), float(row["upper"])
        pars[name] = p
    weighted = getattr(result, "weights", None) is not None
    redchi = _num(result.redchi)
    stats = {"success": bool(result.success), "message": str(result.message),
             "ndata": int(result.ndata), "nvarys": int(result.nvarys), "nfev": int(result.nfev),
             "chisqr": _num(result.chisqr), "redchi": redchi,
             "rsquared": _num(getattr(result, "rsquared", None)), "weighted": weighted,
             "residual_sd": None if weighted or redchi is None else math.sqrt(max(redchi, 0.0)),
             "y_unit": _y_unit(result)}
    good = getattr(result, "nb_goodness", None) or {}
    for key in ("noise", "redchi_noise", "resid_r1", "runs_p", "aic", "bic"):
        stats[key] = _num(good.get(key))
    stats["resid_structure"] = bool(good.get("resid_structure", False))
    return {"params": pars, "statistics": stats, "not_determined": dict(getattr(result, "nb_not_determined", {})),
            "interval_level": table.attrs["level"],
            "interval_method": table.attrs["method"],
            "warnings": list(getattr(result, "nb_warnings", []) or [])}


def _y_unit(result) -> str:
    entry = MODELS.get(_model_name(result))
    return entry.y[1] if entry is not None else ""


def fit_quality_text(stats: dict) -> str:
    """The goodness of fit in words a person reads (:func:`fit_summary`'s ``statistics``): the
    residuals' SD in the data's unit for an unweighted fit (the reduced chi-square there is in the
    data's unit squared), the reduced chi-square for a weighted one (1: residuals as large as the
    uncertainties given); R² and the number of points.

    Examples
    --------
    >>> fit_quality_text({"weighted": False, "residual_sd": 1.96e-13, "y_unit": "A", "redchi": 3.86e-26,
    ...                   "rsquared": 0.99934, "ndata": 601})
    'residuals 196 fA (SD), R² 0.9993, 601 points'
    """
    parts = []
    if not stats.get("weighted") and stats.get("residual_sd") is not None:
        sd = f"residuals {format_quantity(stats['residual_sd'], stats.get('y_unit', ''))} (SD)"
        if stats.get("redchi_noise") is not None and stats.get("runs_p") is not None:
            sd = sd[:-1] + f", {math.sqrt(stats['redchi_noise']):.2g} times the data's noise)"
        parts.append(sd)
    elif stats.get("redchi") is not None:
        parts.append(f"reduced χ² {stats['redchi']:.3g} (1: residuals as large as the uncertainties given)")
    if stats.get("rsquared") is not None:
        parts.append(f"R² {_r2(stats['rsquared'])}")
    parts.append(f"{stats['ndata']} points")
    return ", ".join(parts)


def compare_results(results, *, nested=None):
    """Compare models fitted to the same curve (:func:`nbtools.kinetics.fit` results): AIC, BIC, tests.

    Parameters
    ----------
    results : dict
        Model name -> ModelResult, all fitted to the same points (same window).
    nested : list of (str, str), optional
        (smaller, larger) pairs where the smaller model is a special case of
        the larger; default: where its varying parameters are a subset of the
        larger's (ButlerVolmer of ButlerVolmerMT).

    Returns
    -------
    pandas.DataFrame
        Index model; columns ``parameters``, ``aic``, ``bic``, ``weight``
        (Akaike weight), ``delta_aic`` (from the lowest). attrs:
        ``preferred_aic``, ``preferred_bic`` and ``tests``: ``'<small> vs
        <large>'`` -> ``{"f_p", "lr_p"}`` (small p: the larger model's extra
        parameters are needed).

    Raises
    ------
    DataError
        The results were fitted to different points.
    """
    from .goodness import compare_models, nested_pairs

    names = list(results)
    ref = results[names[0]]
    for m in names[1:]:
        r = results[m]
        if r.ndata != ref.ndata or not np.array_equal(np.asarray(r.data), np.asarray(ref.data)):
            raise DataError(f"{m} and {names[0]} were fitted to different points (another window or data): fit "
                            "them to the same points to compare them")
    free = {m: [n for n, p in results[m].params.items() if p.vary and not p.expr] for m in names}
    k = {m: len(v) for m, v in free.items()}
    if nested is None:
        nested = nested_pairs(free)
    cmp = compare_models({m: [results[m].chisqr] for m in names}, [ref.ndata], k, nested=nested)
    aic = {m: float(cmp["aic"][m][0]) for m in names}
    best = min(aic.values())
    df = pd.DataFrame({"parameters": [k[m] for m in names], "aic": [aic[m] for m in names],
                       "bic": [float(cmp["bic"][m][0]) for m in names],
                       "weight": [float(cmp["weight"][m][0]) for m in names],
                       "delta_aic": [aic[m] - best for m in names]}, index=pd.Index(names, name="model"))
    df.attrs = {"preferred_aic": str(cmp["preferred_aic"][0]), "preferred_bic": str(cmp["preferred_bic"][0]),
                "tests": {f"{a} vs {b}": {"f_p": float(t["f_p"][0]), "lr_p": float(t["lr_p"][0])}
                          for (a, b), t in cmp["tests"].items()}}
    return df


def _r2(r2: float) -> str:
    """R² with enough digits to differ from 1 (three after the leading nines)."""
    if r2 >= 1.0 or r2 <= 0.0:
        return f"{r2:.3g}"
    lost = max(0, int(math.floor(-math.log10(1.0 - r2))))
    return f"{r2:.{min(lost + 1, 9)}f}" if lost >= 2 else f"{r2:.3f}"


def _model_name(result) -> str:
    recipe = getattr(result, "recipe", None)
    if recipe is not None and recipe.model:
        return recipe.model
    return getattr(result, "nb_entry", None) or type(result.model).__name__


def report_text(result, *, model_name: str | None = None, x_label: str = "", y_label: str = "",
                warnings=None) -> str:
    """Plain-text fit report: model, statistics, values with their intervals, warnings.

    ``model_name`` defaults to the recipe's model; ``warnings`` to the fit's own
    (``result.nb_warnings``).
    """
    s = fit_summary(result)
    st = s["statistics"]
    lvl = s["interval_level"]
    name = _model_name(result) if model_name is None else model_name
    lines = [f"nbtools fit report: {name}".rstrip(": ")]
    if x_label or y_label:
        lines.append(f"data: {y_label} against {x_label}, {st['ndata']} points")
    lines.append(("fit converged" if st["success"] else "fit DID NOT converge") + f" ({st['message']})")
    lines.append(f"{fit_quality_text(st)}; {st['nfev']} function evaluations")
    head = f"{'parameter':<44} {'value':>14} {'std. error':>14}"
    if lvl:
        head += f"   {lvl:.0%} interval ({s['interval_method']})"
    lines += ["", head]
    for pname, p in s["params"].items():
        lines.append(_report_line(pname, p))
    msgs = list(warnings) if warnings is not None else s["warnings"]
    if msgs:
        lines += ["", "warnings:"] + [f"- {m}" for m in msgs]
    return "\n".join(lines) + "\n"


def _report_line(name, p) -> str:
    unit = p["unit"]
    val = format_quantity(p["value"], unit)
    label, symbol = param_name(name)
    title = f"{label}, {symbol} ({name})" if symbol != name else f"{label} ({name})" if label != name else name
    if not p["vary"] and not p["derived"]:
        return f"{title:<44} {val:>14} {'(fixed)':>14}"
    err = format_quantity(p["stderr"], unit) if p["stderr"] is not None else "n/a"
    line = f"{title:<44} {val:>14} {err:>14}"
    if p.get("lower") is not None and p.get("upper") is not None:
        line += f"   [{format_quantity(p['lower'], unit)}, {format_quantity(p['upper'], unit)}]"
    if p["derived"]:
        line += "   (derived)"
    return line


def residual_check(result, *, limit=0.6, min_points=20):
    """A message when the residuals are strongly serially correlated (systematic misfit), else None.

    :func:`nbtools.kinetics.fit` runs this check itself (its warnings include it); see
    :func:`~nbtools.kinetics.checks.residual_autocorrelation`.
    """
    res = result_residuals(result)
    w = result.weights if getattr(result, "weights", None) is not None else 1.0
    r1 = residual_autocorrelation(res, scale=float(np.max(np.abs(result.data * w))))
    return residual_message(r1, int(np.isfinite(res).sum()), limit=limit, min_points=min_points)


# --------------------------------------------------------------------------- settings and the fit again
def fit_window_from(x, low=None, high=None):
    """The ``window`` setting for "fit from ``low`` to ``high``" (None: that end of the data).

    Returns None when both are None; an open end takes the data's smallest or
    largest finite ``x``.
    """
    if low is None and high is None:
        return None
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        raise DataError("x has no finite values: no fit window")
    return (float(np.min(x)) if low is None else float(low), float(np.max(x)) if high is None else float(high))


def _legacy_recipe(settings: dict, x=None) -> FitRecipe:
    """A FitRecipe from the settings dict of nbtools' fit panel before recipes (``"nbtools_fit": 1``)."""
    opts = {k: v for k, v in (settings.get("options") or {}).items() if k in LEGACY_OPTIONS}
    params = {}
    for name, p in (settings.get("params") or {}).items():
        spec = {k: p[k] for k in ("value", "vary") if k in p}
        spec["min"] = -np.inf if p.get("min") is None else p["min"]
        spec["max"] = np.inf if p.get("max") is None else p["max"]
        params[name] = spec
    lo, hi = opts.pop("x_min", None), opts.pop("x_max", None)
    window = None
    if lo is not None or hi is not None:
        if x is None and (lo is None or hi is None):
            raise ParameterError("these fit settings have a one-sided window (x_min or x_max): give the data (x)")
        window = fit_window_from(x, lo, hi) if x is not None else (lo, hi)
    return FitRecipe(model=settings["model"], params=params, window=window, **opts)


def panel_recipe(model=None, recipe=None, *, params=None, options=None, x=None) -> FitRecipe:
    """The recipe of an interactive fit: ``recipe`` with a registry model (name or instance, whose
    options it takes), starting ``params`` and the settings dict of older nbtools (``options``: conf,
    level, ..., ``x_min``/``x_max`` as the window over ``x``); the model defaults to ButlerVolmer.
    """
    opts = dict(options or {})
    lo, hi = opts.pop("x_min", None), opts.pop("x_max", None)
    settings = dict(opts)
    if model is not None:
        settings.update(model_settings(model))
        if settings["model"] is None:
            raise ParameterError(f"an interactive fit needs a model from nbtools.kinetics.MODELS (a name or an "
                                 f"instance), got {model!r}; known: {sorted(MODELS)}")
    if lo is not None or hi is not None:
        settings["window"] = fit_window_from(x, lo, hi)
    if params is not None:
        settings["params"] = params_spec(params)
    rec = FitRecipe.coerce(recipe, **settings)
    return rec if rec.model is not None else rec.replace(model="ButlerVolmer")


def read_fit_settings(source, x=None) -> FitRecipe:
    """The FitRecipe of a fit: a recipe, its dict / JSON text / ``.json`` path (e.g. an exported
    ``*_fit.json``), or the settings dict of older nbtools (``x`` fills a one-sided window)."""
    if isinstance(source, FitRecipe):
        return source
    if isinstance(source, dict) and "recipe" not in source:
        if "model" not in source:
            raise ParameterError("fit settings must be a FitRecipe, a recipe dict or JSON, or the settings "
                                 "dict of an older export (with 'model' and 'params')")
        return _legacy_recipe(source, x)
    recipe = from_json(source)
    if not isinstance(recipe, FitRecipe):
        raise ParameterError(f"expected a fit recipe ('kinetics.fit'), found {recipe.kind!r}")
    return recipe


def refit(x, y, settings, *, model=None, weights=None):
    """Run :func:`nbtools.kinetics.fit` as described by ``settings``.

    Parameters
    ----------
    x, y : array_like
        The data (SI).
    settings : FitRecipe, dict, JSON text or path
        The recipe (``result.recipe``, an exported ``*_fit.json``, or the settings
        dict of older nbtools versions).
    model : lmfit.Model, optional
        A model instance to use instead of the recipe's.
    weights : array_like, optional
        1/sigma per point.

    Returns
    -------
    lmfit.model.ModelResult
    """
    recipe = read_fit_settings(settings, x)
    if model is None:
        return fit(recipe, x, y, weights=weights)
    return fit(model, x, y, recipe=recipe, weights=weights)


def model_curve(recipe, x, params=None):
    """The model of ``recipe`` at ``x`` with ``params`` (lmfit.Parameters or values; default: the
    recipe's values over the registry defaults, no guess), NaN where it cannot be evaluated."""
    from .fitting import build_params

    model = recipe.make_model()
    if params is None:
        params = build_params(model, recipe.param_spec(), guess=False)
    elif not hasattr(params, "valuesdict"):
        params = build_params(model, {k: {"value": v} for k, v in params.items()}, guess=False)
    x = np.asarray(x, dtype=float)
    try:
        with np.errstate(all="ignore"):
            y = np.asarray(model.eval(params, **{model.independent_vars[0]: x}), dtype=float)
    except Exception:  # a start the model cannot evaluate: nothing to draw
        return np.full(x.shape, np.nan)
    return np.broadcast_to(y, x.shape).copy()


# --------------------------------------------------------------------------- export
def _free_stem(folder: Path, stem: str) -> str:
    for k in range(10_000):
        cand = stem if k == 0 else f"{stem}-{k}"
        if not any((folder / f"{cand}{sfx}").exists() for sfx in _SUFFIXES):
            return cand
    raise ParameterError(f"no free file name for {stem!r} in {folder}; choose another name")


def export_fit(result, folder, stem: str, *, report: str | None = None, x_header: str | None = None,
               y_header: str | None = None) -> list[Path]:
    """Write ``<stem>_report.txt``, ``<stem>_fit.json`` and ``<stem>_curve.csv`` into ``folder``.

    Existing files are never replaced: when any of the three names is taken,
    ``-1``, ``-2``, ... is appended to the stem. The folder is created if needed.
    The JSON file is the fit's recipe with the results added (``"result"``):
    :func:`nbtools.recipes.from_json` and :func:`refit` read it back.

    Parameters
    ----------
    result : lmfit.model.ModelResult
        From :func:`nbtools.kinetics.fit` (with its ``recipe``).
    folder : str or Path
    stem : str
        File name start (no folder separators).
    report : str, optional
        Text of the report (default: :func:`report_text`).
    x_header, y_header : str, optional
        CSV headers with units, e.g. ``"Overpotential / V"``, ``"Current / A"``
        (default: the model's variable names and units).

    Returns
    -------
    list of Path
        The files written.
    """
    stem = str(stem).strip()
    if not stem or any(c in stem for c in '/\\:*?"<>|') or stem in (".", ".."):
        raise ParameterError(f"file name {stem!r} is not usable: give a plain name without folders")
    folder = Path(folder).expanduser()
    if folder.exists() and not folder.is_dir():
        raise ParameterError(f"export folder {str(folder)!r} is a file; choose a folder")
    recipe = getattr(result, "recipe", None)
    if recipe is None:
        raise ParameterError("this result has no recipe: export fits made by nbtools.kinetics.fit")
    x_header, y_header = _headers(result, x_header, y_header)
    folder.mkdir(parents=True, exist_ok=True)
    stem = _free_stem(folder, stem)
    x = np.asarray(result.userkws[result.model.independent_vars[0]], dtype=float)
    quantity, _, unit = y_header.partition(" / ")
    unit = f" / {unit}" if unit else ""
    curve = pd.DataFrame({x_header: x, y_header: result.data,
                          f"Fit {quantity.lower() or 'y'}{unit}": result.best_fit,
                          f"Residual{unit}": result.data - result.best_fit})
    payload = {**recipe.to_dict(), "result": fit_summary(result)}
    texts = {"_report.txt": report if report is not None else report_text(result),
             "_fit.json": json.dumps(payload, indent=2, allow_nan=False) + "\n",
             "_curve.csv": curve.to_csv(index=False, float_format="%.10g")}
    written = []
    for sfx in _SUFFIXES:
        path = folder / f"{stem}{sfx}"
        with open(path, "x", encoding="utf-8", newline="") as fh:  # "x": never overwrite
            fh.write(texts[sfx])
        written.append(path)
    return written


def _headers(result, x_header, y_header):
    entry = getattr(result.model, "entry", None)
    if x_header is None:
        xn = result.model.independent_vars[0]
        x_header = f"{xn} / {entry.x_unit}" if entry is not None else xn
    if y_header is None:
        y_header = f"{entry.y[0]} / {entry.y[1]}" if entry is not None else "y"
    return x_header, y_header
