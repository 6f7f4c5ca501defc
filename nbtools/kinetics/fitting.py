"""Fitting with input checks, identifiability warnings and confidence intervals.

:func:`fit` wraps ``lmfit.Model.fit``: it validates the data and the starting
parameters (clear :mod:`nbtools.errors` messages), runs the fit, warns
(:class:`~nbtools.errors.NbtoolsWarning`) about strongly correlated parameters,
values stuck at a bound or outside the physically plausible range given in
:data:`~nbtools.kinetics.MODELS`, and attaches a table of confidence intervals.
"""

from __future__ import annotations

import warnings

import lmfit
import numpy as np
import pandas as pd
from scipy import stats

from ..errors import DataError, FitError, NbtoolsWarning, ParameterError
from .registry import get_entry

__all__ = ["fit", "confidence_intervals", "check_data", "check_params", "check_result",
           "check_values", "residual_autocorrelation", "residual_message"]

CORR_LIMIT = 0.98
RESID_CORR_LIMIT = 0.6  # lag-1 autocorrelation of the residuals above which a misfit is flagged
RESID_MIN_POINTS = 20
BOUND_RTOL = 1e-6  # a value within this fraction of its bounds' span is "stuck at the bound"


def _resolve_model(model):
    if isinstance(model, str):
        entry = get_entry(model)
        return entry.make_model(), entry
    if isinstance(model, type) and issubclass(model, lmfit.Model):
        model = model()
    if not isinstance(model, lmfit.Model):
        raise ParameterError(
            f"model must be an lmfit.Model or a name in nbtools.kinetics.MODELS, got {type(model).__name__}")
    return model, get_entry(model)


def check_data(x, y, *, entry=None, x_name="x", nan_policy="raise", min_points=3):
    """Validate and return float copies of ``x`` and ``y``.

    Raises
    ------
    DataError
        Different lengths, too few points, NaN/Inf (unless ``nan_policy='omit'``),
        constant ``y``, ``x`` not ordered as the model needs, or ``x`` far outside
        its plausible range (a unit slip such as mV given as V).
    """
    x = np.array(x, dtype=float, copy=True).ravel()
    y = np.array(y, dtype=float, copy=True).ravel()
    if x.size != y.size:
        raise DataError(f"{x_name} has {x.size} points but y has {y.size}; pass arrays of equal length")
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if bad.any():
        if nan_policy == "omit":
            x, y = x[~bad], y[~bad]
        else:
            idx = np.flatnonzero(bad)
            raise DataError(
                f"{bad.sum()} of {bad.size} points have NaN/Inf in {x_name} or y (first at index "
                f"{idx[0]}); remove them or pass nan_policy='omit'")
    if x.size < min_points:
        raise DataError(f"need at least {min_points} finite points to fit, got {x.size}")
    if np.ptp(y) == 0:
        raise DataError(f"y is constant ({y[0]:g}) over all {y.size} points: nothing to fit")
    order = entry.x_order if entry is not None else "monotonic"
    d = np.diff(x)
    if order in ("monotonic", "increasing"):
        if np.any(d == 0):
            i = int(np.flatnonzero(d == 0)[0])
            raise DataError(
                f"{x_name} has duplicated values (e.g. {x[i]:g} at indices {i} and {i + 1}); "
                f"average repeats or pass one sweep only")
        ok = np.all(d > 0) if order == "increasing" else (np.all(d > 0) or np.all(d < 0))
        if not ok:
            i = int(np.flatnonzero(np.sign(d) != np.sign(d[0]))[0]) if order == "monotonic" \
                else int(np.flatnonzero(d <= 0)[0])
            want = "strictly increasing" if order == "increasing" else "monotonic"
            raise DataError(
                f"{x_name} must be {want} for this model but turns at index {i + 1} "
                f"({x_name}={x[i + 1]:g}); pass one sweep, or sort with numpy.argsort")
    if entry is not None and entry.x_range is not None:
        lo, hi = entry.x_range
        if x.min() < lo or x.max() > hi:
            raise DataError(
                f"{x_name} spans {x.min():.4g} .. {x.max():.4g} {entry.x_unit}, outside the plausible "
                f"range {lo:g} .. {hi:g} {entry.x_unit} for {entry.name}; values look like "
                f"milli-units (e.g. mV): convert to SI ({entry.x_unit})")
    return x, y


def check_params(params):
    """Raise ParameterError for non-finite values, inverted bounds or values outside bounds."""
    for name, p in params.items():
        if p.expr:
            continue
        if not np.isfinite(p.value):
            raise ParameterError(f"parameter {name!r} has a non-finite initial value {p.value:g}")
        if p.min > p.max:
            raise ParameterError(f"parameter {name!r} has min {p.min:g} > max {p.max:g}; swap the bounds")
        if p.vary and p.min == p.max:
            raise ParameterError(f"parameter {name!r} has min == max == {p.min:g}; set vary=False to fix it")
        init = getattr(p, "user_value", p.value)
        if init is not None and (init < p.min or init > p.max):
            raise ParameterError(
                f"parameter {name!r}: initial value {init:g} is outside its bounds "
                f"[{p.min:g}, {p.max:g}]; change the value or the bounds")
        if p.vary and p.value in (p.min, p.max):
            raise ParameterError(
                f"parameter {name!r}: initial value {p.value:g} sits on its bound [{p.min:g}, "
                f"{p.max:g}] (lmfit clips values outside the bounds to the bound, so the "
                f"value given may have been outside them); start strictly inside the bounds")


def _guess_free(model, pars, y, x):
    """Put per-curve guesses into the varying parameters of ``pars`` (in place), inside their bounds."""
    if not hasattr(model, "guess_values") or y is None:
        return pars
    extra = {k: pars[k].value for k in ("v", "T") if k in pars}
    try:
        vals = model.guess_values(y, x, **extra)
    except Exception:  # no usable guess: keep the given values
        return pars
    for k, val in vals.items():
        p = pars.get(k)
        if p is None or not p.vary or p.expr or not np.isfinite(val):
            continue
        lo, hi = p.min, p.max
        span = hi - lo if np.isfinite(hi - lo) else max(abs(val), 1e-300)
        val = float(np.clip(val, lo + 1e-6 * span, hi - 1e-6 * span)) if lo < hi else val
        p.value = val
        p.user_value = val
    return pars


def _build_params(model, params, y, x, x_name, guess=None):
    if guess is not None and not isinstance(guess, bool):
        raise ParameterError(f"guess must be None, True or False, got {guess!r}")
    if params is None:
        if guess is False:
            return model.make_params()
        try:
            return model.guess(y, **{x_name: x})
        except (NotImplementedError, TypeError):
            return model.make_params()
        except Exception:  # a failed guess falls back to the defaults
            return model.make_params()
    if isinstance(params, lmfit.Parameters):
        pars = params.copy()
        return _guess_free(model, pars, y, x) if guess else pars
    if isinstance(params, dict):
        # start from the guess (using fixed values such as the scan rate v given here),
        # then apply the user's values and bounds
        base = model.make_params()
        if hasattr(model, "guess_values") and y is not None and guess is not False:
            extra = {}
            for k in ("v", "T"):
                if k in params:
                    extra[k] = params[k]["value"] if isinstance(params[k], dict) else params[k]
            try:
                vals = model.guess_values(y, x, **extra)
                base = model.make_params(**{k: v for k, v in vals.items() if k in base})
            except Exception:  # a failed guess falls back to the defaults
                base = model.make_params()
        for k, v in params.items():
            if k not in base:
                entry = getattr(model, "entry", None)
                hint = f" ({entry.hints})" if entry is not None and entry.hints else ""
                raise ParameterError(
                    f"params has unknown parameter {k!r}; {type(model).__name__} has "
                    f"{list(base)}{hint}")
            if isinstance(v, dict):
                if "min" in v and "max" in v and v["min"] > v["max"]:
                    raise ParameterError(f"parameter {k!r} has min {v['min']!r} > max {v['max']!r}; "
                                         f"swap the bounds")
                for attr in ("value", "min", "max", "vary", "expr"):
                    if attr in v:
                        setattr(base[k], attr, v[attr])
                if "value" in v:
                    base[k].user_value = v["value"]
            else:
                base[k].value = float(v)
                base[k].user_value = float(v)
        return base
    raise ParameterError(f"params must be None, a dict or lmfit.Parameters, got {type(params).__name__}")


def fit(model, x, y=None, params=None, *, weights=None, conf="stderr", level=0.95, n_boot=200,
        seed=None, nan_policy="raise", method="leastsq", warn=True, guess=None, **fit_kws):
    """Fit a model to one curve, with checks, warnings and confidence intervals.

    Parameters
    ----------
    model : lmfit.Model or str
        A model instance or a name in :data:`nbtools.kinetics.MODELS`.
    x, y : array_like
        Independent variable (SI; e.g. ``eta`` in V, ``t`` in s) and data (e.g. A).
        ``x`` may be a :class:`nbtools.Trace` (e.g. one impact event) with ``y`` None.
    params : lmfit.Parameters or dict, optional
        Starting values (dict of values or of ``{"value", "min", "max", "vary"}``);
        a dict is applied on top of ``model.guess`` (which uses e.g. the scan rate
        ``v`` given there). Default: ``model.guess`` where available, else the
        registry defaults. Never modified.
    guess : bool or None
        Whether ``model.guess`` supplies starting values: None (default) for ``params``
        None or a dict, not for lmfit.Parameters (used as given); True also for
        lmfit.Parameters (values of the varying parameters from the guess, bounds and
        fixed parameters kept); False never (registry defaults, then ``params``).
    weights : array_like, optional
        1/sigma per point.
    conf : {"stderr", "conf_interval", "bootstrap", None}
        How to compute the ``level`` intervals in ``result.ci``: covariance
        standard errors with Student-t quantiles (fast), lmfit's profile
        likelihood ``conf_interval`` (better for non-linear, slower), or a
        residual bootstrap with ``n_boot`` refits.
    level : float
        Confidence level of the intervals.
    nan_policy : {"raise", "omit"}
        What to do with NaN/Inf points.
    warn : bool
        Issue NbtoolsWarning for identifiability/plausibility problems.

    Returns
    -------
    lmfit.model.ModelResult
        With extra attributes ``ci`` (DataFrame: value, stderr, lower, upper,
        level, method, unit per parameter) and ``nb_warnings`` (list of str).

    Raises
    ------
    DataError, ParameterError, FitError

    Examples
    --------
    >>> import numpy as np
    >>> from nbtools.kinetics import fit, butler_volmer
    >>> eta = np.linspace(-0.15, 0.15, 200)
    >>> y = butler_volmer(eta, 2e-9, 0.4)
    >>> res = fit("ButlerVolmer", eta, y + 1e-12 * np.random.default_rng(0).normal(size=200))
    >>> round(res.params["alpha"].value, 2)
    0.4
    """
    model, entry = _resolve_model(model)
    x_name = model.independent_vars[0]
    if y is None and hasattr(x, "current") and hasattr(x, "time"):  # a Trace (e.g. one event)
        x, y = x.time, x.current
    if y is None:
        raise DataError(f"fit needs the measured current y (A) as well as {x_name}; "
                        "call fit(model, x, y) or pass a Trace as x")
    x, y = check_data(x, y, entry=entry, x_name=x_name, nan_policy=nan_policy)
    if weights is not None:
        weights = np.asarray(weights, dtype=float)
        if weights.shape != y.shape or not np.all(np.isfinite(weights)):
            raise DataError("weights must be finite and have the same length as y")
    pars = _build_params(model, params, y, x, x_name, guess)
    check_params(pars)
    nvary = sum(p.vary and not p.expr for p in pars.values())
    if y.size <= nvary:
        raise DataError(f"{y.size} points cannot determine {nvary} varying parameters")
    try:
        with np.errstate(all="ignore"):
            init = model.eval(pars, **{x_name: x})
    except Exception as exc:
        raise FitError(f"{type(model).__name__} cannot be evaluated at the initial parameters: {exc}") from exc
    if not np.all(np.isfinite(init)):
        raise FitError(
            f"{type(model).__name__} gives NaN/Inf at the initial parameters "
            f"({_fmt_params(pars)}); check units of {x_name} and the starting values")
    try:
        with np.errstate(all="ignore"):
            result = model.fit(y, pars, weights=weights, method=method, nan_policy="raise",
                               **{x_name: x}, **fit_kws)
    except Exception as exc:
        raise FitError(f"fit of {type(model).__name__} failed: {exc}") from exc
    if not np.all(np.isfinite(result.best_fit)):
        raise FitError(f"fit of {type(model).__name__} ended with NaN/Inf model values")
    result.nb_entry = entry.name if entry is not None else None
    result.nb_x_name = x_name
    result.nb_warnings = check_result(result, entry=entry, warn=warn)
    result.ci = None
    if conf:
        result.ci = confidence_intervals(result, level=level, method=conf, n_boot=n_boot, seed=seed)
    return result


def _fmt_params(pars):
    return ", ".join(f"{k}={p.value:.4g}" for k, p in pars.items())


def residual_autocorrelation(residuals, *, scale=None):
    """Lag-1 autocorrelation of residuals in data order (NaN if undefined).

    About 0 (within ~2/sqrt(n)) for a model that follows the data with white noise;
    near 1 when the curve has a shape the model does not follow (or when the noise
    was heavily low-pass filtered). An rms residual below ``1e-6 * scale`` (``scale``
    = max |data|: a fit of noise-free model data, converged to the tolerance of the
    optimiser) gives NaN.
    """
    res = np.asarray(residuals, dtype=float)
    res = res[np.isfinite(res)]
    if res.size < 3:
        return np.nan
    res = res - res.mean()
    ss = float(res @ res)
    tiny = 1e-6 * scale if scale is not None and np.isfinite(scale) else 0.0
    if ss == 0 or np.sqrt(ss / res.size) <= tiny:
        return np.nan
    return float(res[1:] @ res[:-1]) / ss


def residual_message(r1, n, *, limit=RESID_CORR_LIMIT, min_points=RESID_MIN_POINTS):
    """The warning text for a lag-1 residual autocorrelation ``r1`` of ``n`` points, or None."""
    if n < min_points or not np.isfinite(r1) or r1 <= limit:
        return None
    return (f"the residuals are strongly correlated (lag-1 r = {r1:.2f}): the data have a shape the "
            f"model does not follow (a wrong or incomplete model, or heavily filtered noise); look at "
            f"the residual plot before trusting the values")


def _result_residuals(result):
    res = getattr(result, "residual", None)
    if res is None or np.size(res) != np.size(result.data):
        res = np.asarray(result.data, dtype=float) - np.asarray(result.best_fit, dtype=float)
        w = getattr(result, "weights", None)
        if w is not None:
            res = res * np.asarray(w, dtype=float)
    return np.asarray(res, dtype=float)


def check_result(result, *, entry=None, warn=True, resid_limit=RESID_CORR_LIMIT,
                 resid_min_points=RESID_MIN_POINTS, bound_rtol=BOUND_RTOL):
    """Identifiability, plausibility and misfit checks of a ModelResult; returns the messages.

    Flags non-convergence, missing uncertainties, |correlation| > 0.98, values at a
    bound (within ``bound_rtol`` of the bounds' span), values outside the plausible
    range listed in the registry, and serially correlated residuals (lag-1
    autocorrelation > ``resid_limit`` with at least ``resid_min_points`` points: a
    converged fit of the wrong model). The autocorrelation is stored as
    ``result.nb_residual_r1``. The checks themselves are :func:`check_values`.
    """
    pars = result.params
    free = {n: (p.min, p.max) for n, p in pars.items() if p.vary and not p.expr}
    corr = np.array([[1.0 if a == b else (pars[a].correl or {}).get(b, np.nan) for b in free]
                     for a in free], dtype=float).reshape(len(free), len(free))
    res = _result_residuals(result)
    scale = float(np.max(np.abs(result.data * (result.weights if result.weights is not None else 1.0))))
    r1 = residual_autocorrelation(res, scale=scale)
    try:
        result.nb_residual_r1 = r1
    except AttributeError:  # a result object that takes no new attributes
        pass
    msgs = check_values({n: p.value for n, p in pars.items()}, free, corr=corr,
                        errorbars=bool(result.errorbars), success=bool(result.success),
                        message=result.message, model=result.model, entry=entry,
                        residual_r1=r1, n_residuals=int(np.isfinite(res).sum()),
                        bound_rtol=bound_rtol, resid_limit=resid_limit,
                        resid_min_points=resid_min_points)
    if warn:
        for m in msgs:
            warnings.warn(m, NbtoolsWarning, stacklevel=3)
    return msgs


def check_values(values, free, *, corr=None, errorbars=True, success=True, message="", model=None,
                 entry=None, residual_r1=np.nan, n_residuals=0, bound_rtol=BOUND_RTOL,
                 resid_limit=RESID_CORR_LIMIT, resid_min_points=RESID_MIN_POINTS):
    """The checks of :func:`check_result` on plain values (for fits made without lmfit).

    Parameters
    ----------
    values : dict
        Every parameter's final value (fixed ones get the plausibility check too).
    free : dict
        Varying parameter name -> ``(lower, upper)`` bound, in parameter order.
    corr : ndarray, optional
        Correlation matrix of the varying parameters, ordered as ``free``.
    errorbars, success, message
        Whether the uncertainties could be estimated; whether the optimiser
        converged, and its message.
    model, entry
        The model (its ``param_info`` gives the plausible ranges) and its registry
        entry (its ``hints`` extend the identifiability messages).
    residual_r1, n_residuals
        Lag-1 autocorrelation of the residuals (:func:`residual_autocorrelation`)
        and the number of finite residuals.
    bound_rtol : float
        A value within this fraction of its bounds' span counts as stuck at the bound
        (one-sided bounds: within 1e-9 of the larger of |bound| and |value|).
    resid_limit, resid_min_points
        See :func:`residual_message`.

    Returns
    -------
    list of str
        The warning messages (empty for a fit that passes every check).
    """
    msgs = []
    hint = f" ({entry.hints})" if entry is not None and entry.hints else ""
    if not success:
        msgs.append(f"the fit did not converge: {message}")
    if free and not errorbars:
        msgs.append("parameter uncertainties could not be estimated (singular covariance): some "
                    "parameters are not identifiable from these data; fix one or add data" + hint)
    names = list(free)
    for i, n in enumerate(names):
        for j in range(i + 1, len(names)) if corr is not None else ():
            c = corr[i, j]
            if abs(c) > CORR_LIMIT:
                msgs.append(f"parameters {n!r} and {names[j]!r} are strongly correlated (r = {c:+.3f}): "
                            f"the data determine only a combination of them" + hint)
        lo, hi = free[n]
        v, span = values[n], hi - lo
        for b, side in ((lo, "lower"), (hi, "upper")):
            if np.isfinite(b):
                tol = bound_rtol * span if np.isfinite(span) else 1e-9 * max(abs(b), abs(v))
                if abs(v - b) <= tol:
                    msgs.append(f"parameter {n!r} = {v:.4g} is stuck at its {side} bound; "
                                f"the fit is not reliable: widen the bound or fix the parameter")
    for n, v in values.items():
        info = model.param_info(n) if hasattr(model, "param_info") else None
        if info is None or info.plausible is None or not np.isfinite(v):
            continue
        lo, hi = info.plausible
        if v < lo or v > hi:
            unit = f" {info.unit}" if info.unit else ""
            extra = ""
            if info.unit in ("A", "C") and abs(v) > hi:
                extra = f"; is y in m{info.unit} or u{info.unit} but passed as {info.unit}?"
            msgs.append(f"fitted {n} = {v:.4g}{unit} is outside the physically plausible range "
                        f"[{lo:g}, {hi:g}]{unit}{extra} Check units and the model")
    m = residual_message(residual_r1, n_residuals, limit=resid_limit, min_points=resid_min_points)
    if m:
        msgs.append(m)
    return msgs


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
