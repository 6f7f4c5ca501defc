"""Checks of a kinetic fit: the data before it, the parameters it starts from, the result after it.

:func:`check_data` refuses data a model cannot be fitted to (clear
:mod:`nbtools.errors` messages); :func:`check_params` refuses inconsistent
starting values and bounds; :func:`check_result` (on an lmfit result) and
:func:`check_values` (on plain values, for fits made without lmfit, e.g.
:func:`nbtools.batch.fit_many`'s fast engine) word the identifiability,
plausibility and misfit warnings.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..errors import DataError, NbtoolsWarning, ParameterError

__all__ = ["check_data", "check_params", "check_result", "check_values", "residual_autocorrelation",
           "residual_message", "result_residuals", "CORR_LIMIT", "RESID_CORR_LIMIT", "RESID_MIN_POINTS",
           "BOUND_RTOL"]

CORR_LIMIT = 0.98
RESID_CORR_LIMIT = 0.6  # lag-1 autocorrelation of the residuals above which a misfit is flagged
RESID_MIN_POINTS = 20
BOUND_RTOL = 1e-6  # a value within this fraction of its bounds' span is "stuck at the bound"


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


def result_residuals(result):
    """Weighted residuals of an lmfit result in data order (data - fit, times the weights)."""
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
    res = result_residuals(result)
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
