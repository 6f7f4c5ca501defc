"""Fitting one curve: checks, starting values, the fit, warnings and confidence intervals.

:func:`fit` wraps ``lmfit.Model.fit``. What it does is described by a
:class:`~nbtools.kinetics.recipe.FitRecipe` (made from its keywords, or given);
it validates the data (:func:`~nbtools.kinetics.checks.check_data`) and the
starting parameters (:func:`build_params`, :func:`~nbtools.kinetics.checks.check_params`),
runs the fit, warns (:class:`~nbtools.errors.NbtoolsWarning`) about strongly
correlated parameters, values stuck at a bound or outside the physically
plausible range given in :data:`~nbtools.kinetics.MODELS`, attaches a table of
confidence intervals and the recipe (``result.recipe``).
"""

from __future__ import annotations

import warnings

import lmfit
import numpy as np

from ..errors import DataError, FitError, NbtoolsWarning, ParameterError
from .checks import (  # noqa: F401  (BOUND_RTOL, check_values, ...: also importable from here)
    BOUND_RTOL,
    CORR_LIMIT,
    RESID_CORR_LIMIT,
    RESID_MIN_POINTS,
    check_data,
    check_params,
    check_result,
    check_values,
    residual_autocorrelation,
    residual_message,
)
from .intervals import confidence_intervals
from .recipe import FitRecipe, model_settings, params_spec
from .registry import get_entry

__all__ = ["fit", "setup_fit", "resolve_model", "build_params", "guessed_values", "start_params", "select_window"]


def resolve_model(model):
    """(lmfit model, registry entry or None) of a name in MODELS, a FitRecipe, an lmfit.Model class or instance."""
    if isinstance(model, FitRecipe):
        return model.make_model(), model.entry
    if isinstance(model, str):
        entry = get_entry(model)
        return entry.make_model(), entry
    if isinstance(model, type) and issubclass(model, lmfit.Model):
        model = model()
    if not isinstance(model, lmfit.Model):
        raise ParameterError(
            f"model must be an lmfit.Model or a name in nbtools.kinetics.MODELS, got {type(model).__name__}")
    return model, get_entry(model)


def setup_fit(model=None, params=None, recipe=None, *, weights=None, **settings):
    """The lmfit model, its registry entry and the validated recipe of a fit call.

    The arguments are those of :func:`fit`: ``model`` (a name, a model or a
    FitRecipe), ``params`` (a dict or lmfit.Parameters), a ``recipe`` and
    keyword settings, which override the recipe's. Used by :func:`fit` and
    :func:`nbtools.batch.fit_many`, so both read their arguments the same way.

    Returns
    -------
    model : lmfit.Model
    entry : ModelEntry or None
    recipe : FitRecipe
    """
    if isinstance(model, FitRecipe):
        if recipe is not None:
            raise ParameterError("pass the recipe once: fit(recipe, x, y) or fit(model, x, y, recipe=recipe)")
        model, recipe = None, model
    instance = None
    if model is not None:
        if not isinstance(model, str):
            instance, _ = resolve_model(model)
        settings.update(model_settings(instance if instance is not None else model))
    guess = settings.pop("guess", None)
    if params is not None:
        if guess is None and isinstance(params, lmfit.Parameters):
            guess = False  # lmfit.Parameters are used as given
        settings["params"] = params_spec(params, guess=True if guess is None else guess)
    if guess is not None:
        settings["guess"] = guess
    if weights is not None:
        settings["weights"] = "given"
    rec = FitRecipe.coerce(recipe, **settings)
    if instance is None:
        instance = rec.make_model()
    return instance, get_entry(instance), rec


def _fill_guess(pars, values, given) -> None:
    """Put guessed values into the parameters that have no given value (in place), inside their bounds."""
    for k, val in values.items():
        p = pars.get(k)
        if p is None or k in given or p.expr or val is None or not np.isfinite(val):
            continue
        val = float(val)
        lo, hi = p.min, p.max
        if p.vary and lo < hi:
            span = hi - lo if np.isfinite(hi - lo) else max(abs(val), 1e-300)
            val = float(np.clip(val, lo + 1e-6 * span, hi - 1e-6 * span))
        p.set(value=val)
        p.user_value = val


def guessed_values(model, x, y, known=None) -> dict:
    """The model's guess of its parameters from one curve (empty when it has none or it fails).

    ``known``: values the guess needs (the scan rate ``v``, the temperature ``T``).
    """
    if y is None:
        return {}
    known = {k: v for k, v in (known or {}).items() if k in ("v", "T")}
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")  # a guess is a heuristic: its own warnings help nobody
            if hasattr(model, "guess_values"):
                return dict(model.guess_values(y, x, **known))
            g = model.guess(y, **{model.independent_vars[0]: x})
        return {k: p.value for k, p in g.items()}
    except Exception:  # no usable guess (NotImplementedError, degenerate data, ...): keep the defaults
        return {}


def build_params(model, params=None, x=None, y=None, *, guess=True) -> lmfit.Parameters:
    """Starting parameters of a fit: registry defaults, then ``params``, then the data-based guess.

    Parameters
    ----------
    model : lmfit.Model
    params : dict or lmfit.Parameters, optional
        Per parameter a value or a dict of ``value``, ``min``, ``max``, ``vary``,
        ``expr`` (the ``params`` of a :class:`~nbtools.kinetics.recipe.FitRecipe`).
    x, y : array_like, optional
        The curve the guess is made from.
    guess : bool
        Parameters without a value in ``params`` start from ``model``'s guess
        (placed strictly inside their bounds); False: from the registry defaults.

    Returns
    -------
    lmfit.Parameters
        New parameters (``params`` is never modified); a given value is also kept
        as ``user_value`` (lmfit clips values to the bounds; the checks need the original).
    """
    spec = params if isinstance(params, dict) else params_spec(params, guess=guess)
    pars = model.make_params()
    given = set()
    for k, s in spec.items():
        if k not in pars:
            entry = get_entry(model)
            hint = f" ({entry.hints})" if entry is not None and entry.hints else ""
            raise ParameterError(f"params has unknown parameter {k!r}; {type(model).__name__} has {list(pars)}{hint}")
        s = s if isinstance(s, dict) else {"value": s}
        p = pars[k]
        if "min" in s or "max" in s:
            lo, hi = float(s.get("min", p.min)), float(s.get("max", p.max))
            if lo > hi:
                raise ParameterError(f"parameter {k!r} has min {lo!r} > max {hi!r}; swap the bounds")
            p.set(min=lo, max=hi)
        if s.get("expr"):
            p.set(expr=s["expr"])
        if "vary" in s:
            p.set(vary=bool(s["vary"]))
        if "value" in s:
            p.set(value=float(s["value"]))
            p.user_value = float(s["value"])
            given.add(k)
    if guess:
        _fill_guess(pars, guessed_values(model, x, y, {k: p.value for k, p in pars.items()}), given)
    return pars


def start_params(recipe, x, y, *, model=None, require_guess=False) -> lmfit.Parameters:
    """The parameters a fit with ``recipe`` starts from on this curve.

    As in :func:`fit`: the points in the recipe's window, NaN/Inf points left out,
    :func:`build_params` with the recipe's ``params`` and ``guess``.

    Parameters
    ----------
    recipe : FitRecipe
    x, y : array_like
    model : lmfit.Model, optional
        The model instance (default: the recipe's).
    require_guess : bool
        Raise DataError when the model cannot estimate its parameters from these data.
    """
    model = recipe.make_model() if model is None else model
    x, y, _ = select_window(x, y, window=recipe.window)
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if require_guess:
        base = build_params(model, recipe.param_spec(), guess=False)
        vals = guessed_values(model, x, y, {k: p.value for k, p in base.items()})
        if not any(k in vals for k, p in base.items() if p.vary and not p.expr):
            name = recipe.model or type(model).__name__
            raise DataError(f"{name} could not estimate starting values from these data; type them in")
    return build_params(model, recipe.param_spec(), x, y, guess=recipe.guess)


def select_window(x, y, *, window, weights=None):
    """The points with ``low <= x <= high`` of ``window`` (None: all), as new arrays.

    ``window`` is a recipe's (checked by :func:`nbtools.recipes.check_window`).

    Raises
    ------
    DataError
        When fewer than three points are left.
    """
    if window is None:
        return x, y, weights
    lo, hi = window
    x = np.asarray(x, dtype=float)
    keep = (x >= lo) & (x <= hi)
    if keep.sum() < 3:
        raise DataError(f"fit window {lo:g} .. {hi:g} keeps {int(keep.sum())} points; widen it")
    w = None if weights is None else np.asarray(weights, dtype=float)[keep]
    return x[keep], np.asarray(y, dtype=float)[keep], w


def _curve(x, y, x_name):
    if y is None and hasattr(x, "current") and hasattr(x, "time"):  # a Trace (e.g. one event)
        return x.time, x.current
    if x is None or y is None:
        raise DataError(f"fit needs the measured current y (A) as well as {x_name}; "
                        "call fit(model, x, y) or pass a Trace as x")
    return x, y


def _weights(weights, y, recipe):
    if weights is None:
        if recipe.weights == "given":
            raise DataError("this recipe fits with weights (weights='given'): pass weights= (1/sigma per point)")
        return None
    weights = np.asarray(weights, dtype=float).ravel()
    if weights.size != np.size(y) or not np.all(np.isfinite(weights)):
        raise DataError("weights must be finite and have the same length as y")
    return weights


def _omit_weights(weights, x, y, recipe):
    """The weights of the points :func:`check_data` keeps (it leaves NaN/Inf out with nan_policy='omit')."""
    if weights is None or recipe.nan_policy != "omit":
        return weights
    return weights[np.isfinite(np.asarray(x, dtype=float).ravel()) & np.isfinite(np.asarray(y, dtype=float).ravel())]


def fit(model, x=None, y=None, params=None, *, recipe=None, weights=None, warn=True, **settings):
    """Fit a model to one curve, with checks, warnings and confidence intervals.

    Parameters
    ----------
    model : str, lmfit.Model or FitRecipe
        A name in :data:`nbtools.kinetics.MODELS`, a model instance, or the
        recipe of the fit (``fit(result.recipe, x, y)`` repeats a fit).
    x, y : array_like
        Independent variable (SI; e.g. ``eta`` in V, ``t`` in s) and data (e.g. A).
        ``x`` may be a :class:`nbtools.Trace` (e.g. one impact event) with ``y`` None.
    params : lmfit.Parameters or dict, optional
        Starting values: a dict of values or of ``{"value", "min", "max", "vary"}``,
        applied on top of the model's guess from the data (which uses e.g. the scan
        rate ``v`` given there); lmfit.Parameters are used as given (unless
        ``guess=True``). Never modified.
    recipe : FitRecipe, dict, JSON text or path, optional
        The settings of the fit (:class:`~nbtools.kinetics.recipe.FitRecipe`);
        ``model``, ``params`` and keyword ``settings`` override it.
    weights : array_like, optional
        1/sigma per point (data: the recipe records ``weights="given"``).
    warn : bool
        Issue NbtoolsWarning for identifiability/plausibility problems.
    **settings
        Any setting of :class:`~nbtools.kinetics.recipe.FitRecipe`: ``guess``,
        ``window`` (fit only x in (low, high)), ``conf`` ("stderr", "profile" or
        "conf_interval", "bootstrap", None), ``level``, ``n_boot``, ``seed``,
        ``method`` (lmfit minimiser), ``nan_policy`` ("raise" or "omit"),
        ``max_nfev``, ``options`` (of the model class, e.g. ``{"radius": 2e-7}``).

    Returns
    -------
    lmfit.model.ModelResult
        With extra attributes ``recipe`` (the FitRecipe: ``fit(result.recipe, x,
        y)`` gives the same result), ``ci`` (DataFrame: value, stderr, lower,
        upper, level, method, unit per varying parameter; None for ``conf=None``),
        ``nb_goodness`` (:func:`nbtools.kinetics.goodness.goodness`: R², reduced
        chi-square relative to the curve's own noise, residual structure, AIC,
        BIC), ``nb_not_determined`` (parameter -> why the data do not determine
        it) and ``nb_warnings`` (list of str).

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
    >>> fit(res.recipe, eta, res.data).params["alpha"].value == res.params["alpha"].value
    True
    """
    model, entry, recipe = setup_fit(model, params, recipe, weights=weights, **settings)
    x_name = model.independent_vars[0]
    x, y = _curve(x, y, x_name)
    weights = _weights(weights, y, recipe)
    x, y, weights = select_window(x, y, window=recipe.window, weights=weights)
    weights = _omit_weights(weights, x, y, recipe)
    x, y = check_data(x, y, entry=entry, x_name=x_name, nan_policy=recipe.nan_policy)
    pars = build_params(model, recipe.param_spec(), x, y, guess=recipe.guess)
    check_params(pars)
    nvary = sum(p.vary and not p.expr for p in pars.values())
    if y.size <= nvary:
        raise DataError(f"{y.size} points cannot determine {nvary} varying parameters")
    _check_start(model, pars, x, x_name)
    kws = {} if recipe.max_nfev is None else {"max_nfev": recipe.max_nfev}
    try:
        with np.errstate(all="ignore"):
            result = model.fit(y, pars, weights=weights, method=recipe.method, nan_policy="raise",
                               **{x_name: x}, **kws)
    except Exception as exc:
        raise FitError(f"fit of {type(model).__name__} failed: {exc}") from exc
    if not np.all(np.isfinite(result.best_fit)):
        raise FitError(f"fit of {type(model).__name__} ended with NaN/Inf model values")
    result.recipe = recipe
    result.nb_entry = entry.name if entry is not None else None
    result.nb_x_name = x_name
    result.nb_warnings = check_result(result, entry=entry, warn=warn)
    result.nb_ir = _ir_check(result, y, warn)
    _add_trust(result, warn)
    result.ci = None
    if recipe.conf:
        result.ci = confidence_intervals(result, **recipe.fit_options())
    return result


def _add_trust(result, warn):
    """``result.nb_goodness`` (:func:`~nbtools.kinetics.goodness.goodness` against the curve's own noise)
    and ``result.nb_not_determined`` (name -> reason: relative error > 100 %, at a bound, no error);
    their warnings join ``result.nb_warnings``."""
    from .goodness import determination, goodness, trust_messages

    free = [n for n, p in result.params.items() if p.vary and not p.expr]
    vals = [result.params[n].value for n in free]
    errs = [np.nan if result.params[n].stderr is None else result.params[n].stderr for n in free]
    codes = determination(vals, errs, [result.params[n].min for n in free],
                          [result.params[n].max for n in free]) if free else []
    good = goodness(np.asarray(result.data, dtype=float), np.asarray(result.best_fit, dtype=float), len(free),
                    weights=getattr(result, "weights", None))
    skip = ("structure",) if any("strongly correlated (lag-1" in m for m in result.nb_warnings) else ()
    msgs = trust_messages(free, vals, errs, codes, good, skip=skip)
    result.nb_goodness = good
    result.nb_not_determined = {n: c for n, c in zip(free, codes) if c}
    result.nb_warnings = list(result.nb_warnings) + msgs
    if warn:
        for m in msgs:
            warnings.warn(m, NbtoolsWarning, stacklevel=3)


def _ir_check(result, y, warn):
    """The iR drop of a model with ``Ru`` at the measured currents (None without Ru); warns only when it matters.

    The drop matters above :data:`~nbtools.kinetics.ohmic.IR_LIMIT` x RT/F at the largest |i|
    (:func:`~nbtools.kinetics.ohmic.ir_drop`); the message joins ``result.nb_warnings``.
    """
    from .ohmic import ir_drop

    p = result.params.get("Ru")
    if p is None or not np.isfinite(p.value) or p.value <= 0:
        return None
    T = result.params["T"].value if "T" in result.params else None
    info = ir_drop(y, p.value, **({"T": T} if T else {}))
    if info["matters"]:
        how = (f"Ru fitted ({p.value:.3g} ohm): the kinetic parameters correlate with it" if p.vary
               else f"Ru fixed at {p.value:.3g} ohm: the kinetic parameters are only as good as this value")
        msg = (f"iR drop up to {info['drop_max'] * 1e3:.3g} mV at the largest current ({info['ratio']:.2g} RT/F): "
               f"{how}; plot against E - i Ru (nbtools.kinetics.ir_corrected_potential)")
        result.nb_warnings.append(msg)
        if warn:
            warnings.warn(msg, NbtoolsWarning, stacklevel=3)
    return info


def _check_start(model, pars, x, x_name):
    try:
        with np.errstate(all="ignore"):
            init = model.eval(pars, **{x_name: x})
    except Exception as exc:
        raise FitError(f"{type(model).__name__} cannot be evaluated at the initial parameters: {exc}") from exc
    if not np.all(np.isfinite(init)):
        shown = ", ".join(f"{k}={p.value:.4g}" for k, p in pars.items())
        raise FitError(f"{type(model).__name__} gives NaN/Inf at the initial parameters ({shown}); "
                       f"check units of {x_name} and the starting values")
