"""Plain functions behind :class:`~nbtools.widgets.FitPanel`: settings, report, export.

No widgets here, so scripts and tests can do what the panel does:

- :func:`fit_settings` / :func:`refit`: a JSON-serialisable description of a fit
  (model name, starting values, bounds, vary flags, options) and the call that
  reproduces it with :func:`nbtools.kinetics.fit`;
- :func:`fit_summary`, :func:`report_text`: fitted values with their intervals;
- :func:`export_fit`: report (text), settings and results (JSON) and the fitted
  curve (CSV) into a folder, never over an existing file.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ParameterError

__all__ = ["fit_settings", "refit", "fit_summary", "report_text", "export_fit", "format_quantity",
           "residual_check", "fit_window", "DEFAULT_OPTIONS"]

FORMAT_VERSION = 1
DEFAULT_OPTIONS = {"conf": "stderr", "level": 0.95, "method": "leastsq", "nan_policy": "raise",
                   "n_boot": 200, "seed": 0, "x_min": None, "x_max": None}

_PREFIXED_UNITS = ("A", "C")
_PREFIXES = [(1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "µ"), (1e-3, "m"), (1.0, "")]


def _bound_out(b: float):
    """JSON has no infinity: an open bound is stored as null."""
    return None if not math.isfinite(b) else float(b)


def _bound_in(b, default: float) -> float:
    return default if b is None else float(b)


def format_quantity(value: float, unit: str = "", digits: int = 5) -> str:
    """``value`` with its unit, SI-prefixed for currents and charges (``2.5e-9, 'A'`` -> ``'2.5 nA'``)."""
    if value is None or not np.isfinite(value):
        return f"{value} {unit}".strip()
    if unit in _PREFIXED_UNITS and value != 0:
        mag = abs(value)
        for base, p in _PREFIXES:
            if float(f"{mag / base:.{digits}g}") < 1000.0:  # after rounding
                return f"{value / base:.{digits}g} {p}{unit}"
        return f"{value:.{digits}g} {unit}"
    return f"{value:.{digits}g} {unit}".strip()


def fit_settings(model_name: str, x_name: str, params, *, options=None, units=None) -> dict:
    """JSON-serialisable description of a fit that :func:`refit` reproduces exactly.

    Parameters
    ----------
    model_name : str
        Name in :data:`nbtools.kinetics.MODELS`.
    x_name : str
        Independent variable of the model (e.g. ``"eta"``).
    params : lmfit.Parameters or dict
        Starting values, bounds and vary flags (lmfit Parameters, or name ->
        ``{"value", "min", "max", "vary"}``). Derived parameters (with an
        expression) are left out: the model defines them.
    options : dict, optional
        Options of :func:`nbtools.kinetics.fit` (``conf``, ``level``, ``method``,
        ``nan_policy``, ``n_boot``, ``seed``) and the fit window ``x_min``/``x_max``
        (None: open); defaults in ``DEFAULT_OPTIONS``.
    units : dict, optional
        Parameter name -> unit, stored for the reader.
    """
    units = units or {}
    opts = {**DEFAULT_OPTIONS, **(options or {})}
    unknown = set(opts) - set(DEFAULT_OPTIONS)
    if unknown:
        raise ParameterError(f"unknown fit options {sorted(unknown)}; known: {sorted(DEFAULT_OPTIONS)}")
    out = {}
    for name, p in params.items():
        if isinstance(p, dict):
            row = {"value": p["value"], "min": p.get("min", -np.inf), "max": p.get("max", np.inf),
                   "vary": p.get("vary", True)}
        elif p.expr:
            continue
        else:
            row = {"value": p.value, "min": p.min, "max": p.max, "vary": p.vary}
        out[name] = {"value": float(row["value"]), "min": _bound_out(float(row["min"])),
                     "max": _bound_out(float(row["max"])), "vary": bool(row["vary"]),
                     "unit": units.get(name, "")}
    return {"nbtools_fit": FORMAT_VERSION, "model": str(model_name), "x_name": str(x_name),
            "params": out, "options": opts}


def core_params(settings: dict) -> dict:
    """The ``params`` argument of :func:`nbtools.kinetics.fit` from :func:`fit_settings` output."""
    try:
        items = settings["params"].items()
    except (KeyError, TypeError, AttributeError):
        raise ParameterError("fit settings need a 'params' mapping (name -> value, min, max, vary)") from None
    return {name: {"value": float(p["value"]), "min": _bound_in(p.get("min"), -np.inf),
                   "max": _bound_in(p.get("max"), np.inf), "vary": bool(p.get("vary", True))}
            for name, p in items}


def refit(x, y, settings: dict, *, model=None, weights=None):
    """Run :func:`nbtools.kinetics.fit` as described by ``settings`` (from :func:`fit_settings`).

    Parameters
    ----------
    x, y : array_like
        The data (SI).
    settings : dict
        Output of :func:`fit_settings` (or ``FitPanel.params``), possibly read back from JSON.
    model : lmfit.Model, optional
        A configured model instance to use instead of the registry default of
        ``settings["model"]`` (e.g. a PITT model built with a radius).
    weights : array_like, optional
        1/sigma per point.

    Returns
    -------
    lmfit.model.ModelResult
    """
    from ..kinetics import fit

    if not isinstance(settings, dict) or "model" not in settings:
        raise ParameterError("fit settings must be a dict with at least 'model' and 'params'")
    opts = {**DEFAULT_OPTIONS, **settings.get("options", {})}
    x, y, weights = fit_window(x, y, weights, opts.get("x_min"), opts.get("x_max"),
                               model=model if model is not None else settings["model"])
    return fit(model if model is not None else settings["model"], x, y, core_params(settings),
               weights=weights, conf=opts["conf"], level=opts["level"], method=opts["method"],
               nan_policy=opts["nan_policy"], n_boot=int(opts["n_boot"]), seed=opts["seed"])


def fit_window(x, y, weights, x_min, x_max, *, model=None):
    """The points with ``x_min <= x <= x_max`` (None: open), as new arrays.

    Refused for models whose x is a potential programme in time order (a CV): cutting
    it would break the model's time integration.
    """
    if x_min is None and x_max is None:
        return x, y, weights
    from ..kinetics import get_entry

    entry = get_entry(model) if model is not None else None
    if entry is not None and entry.x_order == "time-order":
        raise ParameterError(f"{entry.name} follows the potential programme in time order: a fit window "
                             f"would cut it; clear 'fit from/to' and pass the part of the curve to fit")
    lo = -np.inf if x_min is None else float(x_min)
    hi = np.inf if x_max is None else float(x_max)
    if lo >= hi:
        raise ParameterError(f"fit window: 'from' ({lo:g}) must be below 'to' ({hi:g})")
    x = np.asarray(x, dtype=float)
    keep = (x >= lo) & (x <= hi)
    if keep.sum() < 3:
        raise ParameterError(f"fit window {lo:g} .. {hi:g} keeps {int(keep.sum())} points; widen it")
    w = None if weights is None else np.asarray(weights, dtype=float)[keep]
    return x[keep], np.asarray(y, dtype=float)[keep], w


def residual_check(result, *, limit=0.6, min_points=20):
    """A message when the residuals are strongly serially correlated (systematic misfit), else None.

    Kept for existing callers: the check lives in :func:`nbtools.kinetics.check_result`
    (which :func:`nbtools.kinetics.fit` runs, so fits warn about it themselves); see
    :func:`nbtools.kinetics.fitting.residual_autocorrelation`.
    """
    from ..kinetics.fitting import _result_residuals, residual_autocorrelation, residual_message

    res = _result_residuals(result)
    w = result.weights if getattr(result, "weights", None) is not None else 1.0
    r1 = residual_autocorrelation(res, scale=float(np.max(np.abs(result.data * w))))
    return residual_message(r1, int(np.isfinite(res).sum()), limit=limit, min_points=min_points)


def fit_summary(result) -> dict:
    """Fitted values, standard errors and intervals per parameter, and fit statistics (JSON-safe)."""
    ci = getattr(result, "ci", None)
    model = result.model
    pars = {}
    for name, p in result.params.items():
        info = model.param_info(name) if hasattr(model, "param_info") else None
        row = {"value": float(p.value), "stderr": _num(p.stderr), "vary": bool(p.vary),
               "derived": bool(p.expr), "unit": info.unit if info else ""}
        if ci is not None and name in ci.index:
            row["lower"], row["upper"] = _num(ci.loc[name, "lower"]), _num(ci.loc[name, "upper"])
        elif p.expr and row["stderr"] is not None and ci is not None and len(ci):
            # derived parameter: value +- t * propagated standard error
            from scipy import stats as _st

            tq = _st.t.ppf(0.5 + float(ci["level"].iloc[0]) / 2, max(result.ndata - result.nvarys, 1))
            row["lower"], row["upper"] = row["value"] - tq * row["stderr"], row["value"] + tq * row["stderr"]
        pars[name] = row
    stats = {"success": bool(result.success), "message": str(result.message),
             "ndata": int(result.ndata), "nvarys": int(result.nvarys), "nfev": int(result.nfev),
             "chisqr": _num(result.chisqr), "redchi": _num(result.redchi),
             "rsquared": _num(getattr(result, "rsquared", None))}
    level = float(ci["level"].iloc[0]) if ci is not None and len(ci) else None
    method = str(ci["method"].iloc[0]) if ci is not None and len(ci) else None
    return {"params": pars, "statistics": stats, "interval_level": level, "interval_method": method,
            "warnings": list(getattr(result, "nb_warnings", []) or [])}


def _num(v):
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def report_text(result, *, model_name: str = "", x_label: str = "", y_label: str = "",
                warnings=()) -> str:
    """Plain-text fit report: model, statistics, values with their intervals, warnings."""
    s = fit_summary(result)
    st = s["statistics"]
    lvl = s["interval_level"]
    lines = [f"nbtools fit report: {model_name}".rstrip(": ")]
    if x_label or y_label:
        lines.append(f"data: {y_label} against {x_label}, {st['ndata']} points")
    lines.append(("fit converged" if st["success"] else "fit DID NOT converge") + f" ({st['message']})")
    lines.append(f"function evaluations {st['nfev']}, reduced chi-square {st['redchi']:.4g}"
                 + (f", R^2 {st['rsquared']:.6f}" if st["rsquared"] is not None else ""))
    head = f"{'parameter':<10} {'value':>14} {'std. error':>14}"
    if lvl:
        head += f"   {lvl:.0%} interval ({s['interval_method']})"
    lines += ["", head]
    for name, p in s["params"].items():
        unit = p["unit"]
        val = format_quantity(p["value"], unit)
        if not p["vary"]:
            lines.append(f"{name:<10} {val:>14} {'(fixed)':>14}")
            continue
        err = format_quantity(p["stderr"], unit) if p["stderr"] is not None else "n/a"
        line = f"{name:<10} {val:>14} {err:>14}"
        if p.get("lower") is not None and p.get("upper") is not None:
            line += f"   [{format_quantity(p['lower'], unit)}, {format_quantity(p['upper'], unit)}]"
        if p["derived"]:
            line += "   (derived)"
        lines.append(line)
    msgs = list(warnings) or s["warnings"]
    if msgs:
        lines += ["", "warnings:"] + [f"- {m}" for m in msgs]
    return "\n".join(lines) + "\n"


def _free_stem(folder: Path, stem: str, suffixes) -> str:
    for k in range(10_000):
        cand = stem if k == 0 else f"{stem}-{k}"
        if not any((folder / f"{cand}{sfx}").exists() for sfx in suffixes):
            return cand
    raise ParameterError(f"no free file name for {stem!r} in {folder}; choose another name")


def export_fit(result, folder, stem: str, *, settings: dict, report: str, x_header: str,
               y_header: str) -> list[Path]:
    """Write ``<stem>_report.txt``, ``<stem>_fit.json`` and ``<stem>_curve.csv`` into ``folder``.

    Existing files are never replaced: when any of the three names is taken,
    ``-1``, ``-2``, ... is appended to the stem. The folder is created if needed.

    Parameters
    ----------
    result : lmfit.model.ModelResult
    folder : str or Path
    stem : str
        File name start (no folder separators).
    settings : dict
        From :func:`fit_settings` (stored in the JSON with the fitted values).
    report : str
        From :func:`report_text`.
    x_header, y_header : str
        CSV headers with units, e.g. ``"Overpotential / V"``, ``"Current / A"``.

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
    folder.mkdir(parents=True, exist_ok=True)
    suffixes = ("_report.txt", "_fit.json", "_curve.csv")
    stem = _free_stem(folder, stem, suffixes)
    x = np.asarray(result.userkws[result.model.independent_vars[0]], dtype=float)
    quantity, _, unit = y_header.partition(" / ")
    unit = f" / {unit}" if unit else ""
    curve = pd.DataFrame({x_header: x, y_header: result.data,
                          f"Fit {quantity.lower() or 'y'}{unit}": result.best_fit,
                          f"Residual{unit}": result.data - result.best_fit})
    payload = {**settings, "result": fit_summary(result)}
    texts = {"_report.txt": report,
             "_fit.json": json.dumps(payload, indent=2, allow_nan=False) + "\n",
             "_curve.csv": curve.to_csv(index=False, float_format="%.10g")}
    written = []
    for sfx in suffixes:
        path = folder / f"{stem}{sfx}"
        with open(path, "x", encoding="utf-8", newline="") as fh:  # "x": never overwrite
            fh.write(texts[sfx])
        written.append(path)
    return written
