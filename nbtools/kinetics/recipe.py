"""Recipes of the kinetics layer: a kinetic fit (``"kinetics.fit"``) and the particle-on-a-stick workflow
(``"stick.workflow"``).

A :class:`FitRecipe` is everything :func:`nbtools.kinetics.fit` needs besides the
data: the model (a name in :data:`~nbtools.kinetics.MODELS` and the options of its
class), the per-parameter starting values, bounds and fixed values, the fit window,
the interval method and the optimiser settings. It is validated once, when it is
made; :func:`~nbtools.kinetics.fit`, :func:`nbtools.batch.fit_many` and the
:class:`~nbtools.widgets.FitPanel` accept one, and every fit result carries the
recipe that made it (``result.recipe``)::

    r = FitRecipe(model="LavironCV", params={"v": {"value": 0.01, "vary": False}}, conf="profile")
    res = kinetics.fit(r, E, i)            # or kinetics.fit("LavironCV", E, i, recipe=r)
    kinetics.fit(res.recipe, E, i)         # the same fit again

Public API
----------
FitRecipe, StickRecipe, check_param_spec, params_spec, model_settings, INTERVALS, METHODS
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import ClassVar

import lmfit

from ..errors import ParameterError
from ..recipes import (FrozenDict, Recipe, check_bool, check_choice, check_int, check_mapping, check_number,
                       check_optional, check_text, check_window, param, register)
from ._base import MODELS

__all__ = ["FitRecipe", "StickRecipe", "check_param_spec", "params_spec", "model_settings", "INTERVALS",
           "METHODS", "WEIGHTS"]

#: interval methods (``conf``): alias -> name used by :func:`nbtools.kinetics.confidence_intervals`
INTERVALS = {"stderr": "stderr", "standard errors": "stderr", "conf_interval": "conf_interval",
             "profile": "conf_interval", "profile likelihood": "conf_interval", "bootstrap": "bootstrap",
             None: None, "none": None}
#: lmfit minimisers a fit may use (``method``)
METHODS = ("leastsq", "least_squares", "nelder", "lbfgsb", "powell", "cg", "bfgs", "tnc", "trust-constr",
           "slsqp", "differential_evolution", "basinhopping", "ampgo", "shgo", "dual_annealing")
#: weighting of the points (``weights``): "none" (all equal) or "given" (1/sigma per point, passed as
#: the ``weights`` array of the fit call: data, not a setting)
WEIGHTS = ("none", "given")

_SPEC_KEYS = ("value", "min", "max", "vary", "expr")


# --------------------------------------------------------------------------- checks
def check_param_spec(name, value):
    """One parameter's settings: a number (its starting value) or a dict of ``value``, ``min``,
    ``max``, ``vary`` (False: held at ``value``) and ``expr`` (an lmfit constraint).

    Returns the dict with the keys given, numbers as floats (bounds may be +-inf).

    Examples
    --------
    >>> check_param_spec("params['v']", 0.01)
    {'value': 0.01}
    >>> check_param_spec("params['alpha']", {"min": "0.1", "max": 0.9})
    {'min': 0.1, 'max': 0.9}
    """
    if not isinstance(value, dict):
        return {"value": check_number(name, value)}
    unknown = sorted(set(value) - set(_SPEC_KEYS))
    if unknown:
        raise ParameterError(f"{name}: unknown key(s) {unknown}; a parameter takes {', '.join(_SPEC_KEYS)}")
    out = {}
    if "value" in value:
        out["value"] = check_number(f"{name} value", value["value"])
    for side in ("min", "max"):
        if side in value:
            v = value[side]
            out[side] = (-math.inf if side == "min" else math.inf) if v is None else \
                check_number(f"{name} {side}", v, finite=False)
    if "vary" in value:
        out["vary"] = check_bool(f"{name} vary", value["vary"])
    if "expr" in value and value["expr"] is not None:
        out["expr"] = check_text(f"{name} expr", value["expr"])
    lo, hi = out.get("min", -math.inf), out.get("max", math.inf)
    if lo > hi:
        raise ParameterError(f"{name}: min {lo:g} > max {hi:g}; swap the bounds")
    if lo == hi:
        raise ParameterError(f"{name}: min == max == {lo:g}; to hold a parameter give its value and vary=False")
    if "value" in out and not lo <= out["value"] <= hi:
        raise ParameterError(f"{name}: starting value {out['value']:g} is outside its bounds [{lo:g}, {hi:g}]; "
                             "change the value or the bounds")
    return out


def _check_option(name, value):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    return check_number(name, value)


def _check_model_name(name, value):
    if value is None:
        return None
    value = check_text(name, value)
    if value not in MODELS:
        raise ParameterError(f"{name} {value!r} is not in nbtools.kinetics.MODELS; choose one of {sorted(MODELS)}")
    return value


_MODEL_CACHE: dict = {}


def _model_facts(name, options) -> tuple:
    """(entry name, parameter names, derived parameter names) of a registry model with ``options`` (cached)."""
    key = (name, json.dumps(options, sort_keys=True, default=str))
    hit = _MODEL_CACHE.get(key)
    if hit is None:
        entry = MODELS[name]
        allowed = entry.model_class.option_names()
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            raise ParameterError(f"options {unknown} are not options of {name} ({entry.model_class.__name__}); "
                                 f"it takes {', '.join(allowed) or 'none'}")
        try:
            model = entry.make_model(**options)
        except ParameterError:
            raise
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"options {dict(options)} do not make a {name} model: {exc}") from None
        names = tuple(model.param_names)
        hit = (model.entry_name, names, tuple(n for n in model.make_params() if n not in names))
        if len(_MODEL_CACHE) > 64:
            _MODEL_CACHE.clear()
        _MODEL_CACHE[key] = hit
    return hit


# --------------------------------------------------------------------------- the fit recipe
@register
@dataclass(frozen=True)
class FitRecipe(Recipe):
    """The settings of one kinetic fit (kind ``"kinetics.fit"``).

    Attributes
    ----------
    model : str or None
        Name in :data:`nbtools.kinetics.MODELS`; None: the model is given to the
        fit call (a model outside the registry).
    options : dict
        Options of the model's class (``radius`` of the PITT models, which adds
        the derived ``D``; ``sampling`` of the Laviron models; ...).
    params : dict
        Per parameter, a starting value or a dict of ``value``, ``min``, ``max``,
        ``vary`` and ``expr``: ``{"v": {"value": 0.01, "vary": False}}`` fixes the
        scan rate, ``{"alpha": {"min": 0.3, "max": 0.7}}`` bounds alpha. Applied
        on top of the registry defaults and, with ``guess``, the data-based guess.
    guess : bool
        Parameters without a value in ``params`` start from the model's guess
        from the data (True) or from the registry defaults (False).
    window : (low, high) or None
        Fit only the points with low <= x <= high (x in the model's unit: V for
        ``eta``/``E``, s for ``t``). Not for voltammogram models (x in time order).
    weights : {"none", "given"}
        "given": the fit call passes 1/sigma per point (``weights=``).
    method : str
        lmfit minimiser (``"leastsq"``: Levenberg-Marquardt).
    nan_policy : {"raise", "omit"}
        NaN/Inf points refuse the fit or are left out.
    max_nfev : int or None
        Most model evaluations (None: lmfit's default).
    conf : {"stderr", "profile", "bootstrap", None}
        Interval method: covariance standard errors with Student-t quantiles,
        profile likelihood (lmfit ``conf_interval``), residual bootstrap, or none.
    level : float
        Confidence level of the intervals (0 < level < 1).
    n_boot, seed : int
        Bootstrap refits and the seed of their random numbers.
    """

    kind: ClassVar[str] = "kinetics.fit"
    model: str | None = param(None, _check_model_name, "model name in nbtools.kinetics.MODELS")
    options: FrozenDict = param({}, check_mapping, "options of the model class (radius, sampling, ...)",
                                values=_check_option)
    params: FrozenDict = param({}, check_mapping, "per parameter: value, min, max, vary", values=check_param_spec)
    guess: bool = param(True, check_bool, "start the parameters without a value from the data-based guess")
    window: tuple | None = param(None, check_window, "fit only x from low to high (model's x unit)")
    weights: str = param("none", check_choice, "weights of the points: none, or given (1/sigma)",
                         choices=WEIGHTS)
    method: str = param("leastsq", check_choice, "lmfit minimiser", choices=METHODS)
    nan_policy: str = param("raise", check_choice, "NaN/Inf points: raise or omit", choices=("raise", "omit"))
    max_nfev: int | None = param(None, check_optional(check_int), "most model evaluations (None: lmfit's)",
                                 min=1)
    conf: str | None = param("stderr", check_choice, "interval method: stderr, profile, bootstrap or none",
                             choices=INTERVALS)
    level: float = param(0.95, check_number, "confidence level of the intervals", min=0, max=1,
                         min_open=True, max_open=True)
    n_boot: int = param(200, check_int, "bootstrap refits", min=2)
    seed: int | None = param(0, check_optional(check_int), "seed of the bootstrap", min=0)

    def _check_together(self):
        if self.model is None:
            if self.options:
                raise ParameterError("options need a model name (model=...): a model given to the fit call "
                                     "brings its own options")
            return
        entry_name, names, derived = _model_facts(self.model, self.options)
        if entry_name != self.model:
            raise ParameterError(f"options {dict(self.options)} turn {self.model} into {entry_name}: choose "
                                 f"model={entry_name!r} instead")
        for k, spec in self.params.items():
            if k in derived:
                raise ParameterError(f"params: {k!r} of {self.model} is derived from other parameters; set those")
            if k not in names:
                hint = f" ({MODELS[self.model].hints})" if MODELS[self.model].hints else ""
                raise ParameterError(f"params has unknown parameter {k!r}; {self.model} has {list(names)}{hint}")
        if self.window is not None and MODELS[self.model].x_order == "time-order":
            raise ParameterError(f"window: {self.model} follows the potential programme in time order and a "
                                 f"window would cut it; set window=None and pass the part of the curve to fit")

    # ------------------------------------------------------------- use
    @property
    def entry(self):
        """The registry entry of the model (None when the recipe names no model)."""
        return MODELS.get(self.model) if self.model else None

    def make_model(self):
        """A new lmfit model of this recipe (the registry model with its options)."""
        if self.model is None:
            raise ParameterError("this recipe names no model (it was made with a model outside "
                                 "nbtools.kinetics.MODELS): pass the model to the fit call")
        return MODELS[self.model].make_model(**self.options)

    def param_spec(self) -> dict:
        """``params`` as plain dicts (name -> value/min/max/vary/expr)."""
        return {k: dict(v) for k, v in self.params.items()}

    def fit_options(self) -> dict:
        """Keyword arguments of :func:`nbtools.kinetics.confidence_intervals` for this recipe."""
        return {"level": self.level, "method": self.conf, "n_boot": self.n_boot, "seed": self.seed}

    # ------------------------------------------------------------- edited copies
    def varying(self) -> list[str]:
        """Names of the parameters this fit varies (registry default or ``params``' ``vary``)."""
        if self.model is None:
            raise ParameterError("this recipe names no model: the varying parameters depend on it")
        _, names, _ = _model_facts(self.model, self.options)
        infos = MODELS[self.model].params
        out = []
        for n in names:
            spec = self.params.get(n, {})
            if spec.get("expr"):
                continue
            if spec.get("vary", infos[n].vary if n in infos else True):
                out.append(n)
        return out

    def with_params(self, changes: dict) -> "FitRecipe":
        """A copy with ``changes`` (name -> dict of value/min/max/vary) merged into ``params``."""
        merged = self.param_spec()
        for name, keys in changes.items():
            merged[name] = {**merged.get(name, {}), **(keys if isinstance(keys, dict) else {"value": keys})}
        return self.replace(params=merged)

    def with_values(self, values: dict) -> "FitRecipe":
        """A copy whose parameters in ``values`` (name -> number) start from those values."""
        return self.with_params({k: {"value": float(v)} for k, v in values.items()})

    def reset_starts(self) -> "FitRecipe":
        """A copy whose varying parameters start from the data-based guess again (their values dropped)."""
        free = set(self.varying())
        spec = {k: {kk: vv for kk, vv in v.items() if kk != "value" or k not in free}
                for k, v in self.param_spec().items()}
        return self.replace(params={k: v for k, v in spec.items() if v}, guess=True)

    def for_model(self, name: str, params=None) -> "FitRecipe":
        """The same settings for model ``name``: the options it takes, ``params`` (default: none) of
        the names it has; no window for a voltammogram model."""
        entry = MODELS.get(name)
        if entry is None:
            _check_model_name("model", name)
        allowed = entry.model_class.option_names()
        options = {k: v for k, v in self.options.items() if k in allowed}
        _, names, _ = _model_facts(name, options)
        spec = {k: v for k, v in (params or {}).items() if k in names}
        window = None if entry.x_order == "time-order" else self.window
        return self.replace(model=name, options=options, params=spec, window=window)


def params_spec(params, *, guess=True) -> dict:
    """The ``params`` setting of a :class:`FitRecipe` from lmfit.Parameters or a dict.

    For lmfit.Parameters every parameter without an ``expr`` is described by its
    value, bounds and vary flag; with ``guess`` the varying ones leave out their
    value (they start from the data-based guess, inside the bounds).
    """
    if params is None:
        return {}
    if isinstance(params, lmfit.Parameters):
        out = {}
        for name, p in params.items():
            if p.expr:
                continue
            spec = {"min": float(p.min), "max": float(p.max), "vary": bool(p.vary)}
            if not (guess and p.vary):
                given = getattr(p, "user_value", None)  # set by build_params: the value before lmfit clipped it
                spec["value"] = float(p.value if given is None else given)
            out[name] = spec
        return out
    if isinstance(params, dict):
        return {str(k): v for k, v in params.items()}
    raise ParameterError(f"params must be None, a dict or lmfit.Parameters, found {type(params).__name__}")


def model_settings(model) -> dict:
    """``{"model": name, "options": {...}}`` of a model given to a fit (a name, class or instance).

    ``options`` are those of the instance that differ from the registry entry's; a
    model outside the registry gives ``{"model": None, "options": {}}``.
    """
    if isinstance(model, str):
        return {"model": model}
    if isinstance(model, type) and issubclass(model, lmfit.Model):
        model = model()
    name = getattr(model, "entry_name", "")
    if name not in MODELS or not hasattr(model, "options"):
        return {"model": None, "options": {}}
    base = MODELS[name].make_model().options()
    return {"model": name, "options": {k: v for k, v in model.options().items() if base.get(k) != v}}


# --------------------------------------------------------------------------- particle on a stick
def _check_material(name, value):
    from ..materials import list_materials

    value = check_text(name, value)
    known = list(list_materials()["name"])
    if value not in known:
        raise ParameterError(f"{name} {value!r} is not in nbtools.materials; choose one of {known}")
    return value


@register
@dataclass(frozen=True)
class StickRecipe(Recipe):
    """The settings of the particle-on-a-stick workflow (kind ``"stick.workflow"``).

    Used by :func:`nbtools.stick.analyse_particle` and the ParticleOnAStick dashboard.
    """

    kind: ClassVar[str] = "stick.workflow"
    material: str = param("LiMn2O4", _check_material, "electrode material (nbtools.materials)")
    conversion: float = param(1.0, check_number, "fraction of the formula unit converted in the window",
                              min=0, max=1, min_open=True)
    smooth: float = param(0.015, check_number, "Savitzky-Golay window that locates each CV peak (0: none)",
                          "V", min=0)
    peak_fraction: float | None = param(0.7, check_optional(check_number), "fraction of the peak height above "
                                        "which a cubic gives the peak potential (None: three points)",
                                        min=0, max=1, min_open=True, max_open=True)
    slope_tolerance: float = param(0.12, check_number, "log i_p - log v slope within this of 1 or 1/2 decides",
                                   min=0, max=0.5, min_open=True)
    step_jump: float = param(1e-3, check_number, "a potential jump above this starts a new step", "V",
                             min=0, min_open=True)
    every_nth_step: int = param(1, check_int, "fit every n-th potential step (2: a quick look)", min=1)
    pitt_model: str = param("PITTSphereBiot", check_choice, "model of the potential-step transients",
                            choices=("PITTSphereBiot", "PITTSphere"))
    level: float = param(0.95, check_number, "confidence level of the tau intervals", min=0, max=1,
                         min_open=True, max_open=True)
    alpha: float = param(0.5, check_number, "transfer coefficient of the Laviron working curve", min=0, max=1,
                         min_open=True, max_open=True)
    sigma_max: float = param(3.0, check_number, "CVs with sigma = F v tau/(R T) above this are not used for k_s",
                             min=0, min_open=True)
    min_dEp: float = param(0.010, check_number, "CVs with a smaller peak separation are not used for k_s",
                           "V", min=0)
    T: float = param(298.15, check_number, "temperature", "K", min=0, min_open=True)
    Ru: float = param(0.0, check_number, "uncompensated resistance: CV peak potentials are corrected by i_p Ru "
                      "before Laviron (0: none)", "ohm", min=0)
