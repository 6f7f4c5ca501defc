"""Recipes of the SECCM analyses: maps, landing quality, classify, per-pixel fits, and the dashboard's composite.

Each recipe is a frozen, validated, JSON-serialisable
:class:`~nbtools.recipes.Recipe`; every setting is checked here, once.

========================  ===================  =============================================
kind                      class                made by / read by
========================  ===================  =============================================
``"seccm.map"``           :class:`MapRecipe`         :func:`~nbtools.seccm.make_map`, ``charge`` ...
``"seccm.quality"``       :class:`QualityRecipe`     :func:`~nbtools.seccm.quality`, ``label_landings``
``"seccm.classify"``      :class:`ClassifyRecipe`    :func:`~nbtools.seccm.classify`
``"seccm.pixel_fit"``     :class:`PixelFitRecipe`    :func:`~nbtools.seccm.fit_pixels`
``"seccm.analysis"``      :class:`AnalysisRecipe`    the SECCM dashboard (map + classify + fit)
========================  ===================  =============================================

Examples
--------
>>> from nbtools.seccm.recipe import MapRecipe
>>> r = MapRecipe(map="charge", window=(4.3, 3.9))
>>> r.window
(3.9, 4.3)
>>> from nbtools.recipes import from_json
>>> from_json(r.to_json()) == r
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pandas as pd

from ..errors import ParameterError
from ..recipes import (Recipe, check_bool, check_choice, check_int, check_mapping, check_number, check_optional,
                       check_window, param, register)

__all__ = ["MapRecipe", "QualityRecipe", "ClassifyRecipe", "PixelFitRecipe", "AnalysisRecipe", "StepFitRecipe",
           "MAP_OPTIONS", "BRANCHES", "ACTIVITIES", "STEP_MODELS"]

#: sweep branches of a voltammogram (see :mod:`nbtools.seccm.maps`)
BRANCHES = ("anodic", "cathodic", "forward", "reverse")
ENGINES = ("numba", "numpy")

_PEAK = ("direction", "window", "cycle", "smooth", "min_prominence", "engine")
#: the settings each SECCM map reads (the registry :data:`nbtools.seccm.MAPS` adds function, label, unit)
MAP_OPTIONS = {
    "charge": ("window", "time_window", "branch", "cycle", "smooth", "baseline", "end_points", "engine"),
    "current_at": ("potential", "branch", "cycle", "smooth", "engine"),
    "peak_potential": _PEAK,
    "peak_current": _PEAK,
    "peak_prominence": _PEAK,
    "onset": ("onset_current", "branch", "cycle", "window", "smooth", "engine"),
    "peak_separation": ("window", "cycle", "smooth", "min_prominence", "engine"),
    "status": (),
    "current_density": ("potential", "branch", "cycle", "smooth", "engine", "droplet_radius", "pipette_radius",
                        "wetting"),
}

#: activity maps :func:`~nbtools.seccm.classify` computes itself ('given': a map passed as ``activity=``)
ACTIVITIES = ("charge", "peak_current", "given")


# ------------------------------------------------------------------ checks (one per concept)
def _in_unit(check, unit):
    """``check`` with its messages in ``unit`` (param()'s own ``unit`` is the field's unit)."""

    def checked(name, value, **kwargs):
        return check(name, value, unit=unit, **kwargs)

    checked.__name__ = getattr(check, "__name__", "check")
    return checked


_window_V = _in_unit(check_window, "V")
_window_s = _in_unit(check_window, "s")
_current = check_optional(_in_unit(check_number, "A"))
_potential = check_optional(_in_unit(check_number, "V"))
_length = check_optional(_in_unit(check_number, "m"))

def _check_cycle(name, value):
    """Which sweep of a branch: an int (0 first, -1 last) or None (all of them)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ParameterError(f"{name} must be a whole number (0 first sweep, -1 last) or None (all), found {value!r}")
    return check_int(name, value)


def _check_baseline(name, value):
    """'linear', 'none' or a constant current in A."""
    if isinstance(value, str) and value.strip().lower() in ("linear", "none"):
        return value.strip().lower()
    try:
        return check_number(name, value, unit="A")
    except ParameterError:
        raise ParameterError(f"{name} must be 'linear', 'none' or a current in A, found {value!r}") from None


def _check_threshold(name, value):
    """'auto' (None: the same), 'otsu' or a number in the units of the activity map."""
    if value is None:
        return "auto"
    return check_number(name, value, literals=("auto", "otsu"))


def _check_activity(name, value):
    """The name of an activity map; the message says what was found instead."""
    if isinstance(value, str) and value.strip().lower() in ACTIVITIES:
        return value.strip().lower()
    if isinstance(value, str):
        found = f"the string {value!r}"
    elif hasattr(value, "dims"):
        found = f"a {type(value).__name__} with dims {tuple(value.dims)}"
    else:
        found = f"{type(value).__name__} {value!r:.80}"
    raise ParameterError(
        f"{name}: expected a map DataArray with dims ('y', 'x') from nbtools.seccm maps "
        f"(e.g. seccm.charge(ds, window=(E1, E2))) or one of the names {list(ACTIVITIES[:2])}; found {found}")


def _check_pixels(name, value):
    """None (every pixel) or pixel indices (ints >= 0), stored sorted without repeats."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ParameterError(f"{name} must be pixel indices, a mask or None (all pixels), found {value!r:.80}")
    out = sorted({check_int(f"{name}[]", v, min=0) for v in value})
    return tuple(out)


def _check_param_setting(name, value):
    """A parameter's start/fixed value: a number, or a dict of value/min/max/vary/expr."""
    if isinstance(value, dict):
        keys = {"value", "min", "max", "vary", "expr"}
        bad = sorted(set(value) - keys)
        if bad:
            raise ParameterError(f"{name}: unknown key(s) {bad}; use value, min, max, vary, expr")
        out = {}
        for k, v in value.items():
            if k == "vary":
                out[k] = check_bool(f"{name}['vary']", v)
            elif k == "expr":
                out[k] = None if v is None else str(v)
            else:
                out[k] = check_number(f"{name}[{k!r}]", v, finite=k == "value")
        return out
    return check_number(name, value)


def check_fit_params(params, param_names, name="params"):
    """Parameter settings of a fit: every name among the model's ``param_names``."""
    unknown = [k for k in params if k not in param_names]
    if unknown:
        raise ParameterError(f"{name}: unknown parameter(s) {unknown}; the model has {list(param_names)}")


# ------------------------------------------------------------------ maps
@register
@dataclass(frozen=True)
class MapRecipe(Recipe):
    """One SECCM map and its options (each map reads the settings in :data:`MAP_OPTIONS`).

    Examples
    --------
    >>> MapRecipe(map="current_at", potential=4.0).options()
    ('potential', 'branch', 'cycle', 'smooth', 'engine')
    """

    kind: ClassVar[str] = "seccm.map"
    map: str = param("charge", check_choice, "which map (a key of nbtools.seccm.MAPS)", choices=tuple(MAP_OPTIONS))
    window: object = param(None, _window_V, "potential window of the sweep (None: all of it)", "V")
    time_window: object = param(None, _window_s, "time window from the landing start instead of a potential "
                                "window (charge of transients)", "s")
    branch: str = param("anodic", check_choice, "sweep branch (current_at also takes 'both')",
                        choices=BRANCHES + ("both",))
    cycle: object = param(-1, _check_cycle, "which sweep of the branch: 0 first, -1 last, None all")
    smooth: int = param(5, check_int, "moving-average width in samples (sweep directions, peaks, onsets)", min=1)
    baseline: object = param("linear", _check_baseline, "charge baseline: 'linear', 'none' or a current", "A")
    end_points: int = param(15, check_int, "samples averaged at each window end for the linear baseline", min=1)
    potential: object = param(None, _potential, "potential of current_at", "V")
    onset_current: object = param(None, _current, "current threshold of the onset", "A")
    direction: str = param("anodic", check_choice, "peak direction", choices=("anodic", "cathodic"))
    min_prominence: object = param(None, _current,
                                   "least peak height above the background line (None: 5 x the pixel's noise)",
                                   "A", min=0)
    engine: str = param("numba", check_choice, "compiled kernels or the NumPy reference", choices=ENGINES)
    droplet_radius: object = param(None, _length, "radius of the meniscus footprint on the sample (None: the "
                                   "scan's per-pixel 'droplet_radius', else pipette_radius x wetting)", "m",
                                   min=0, min_open=True)
    pipette_radius: object = param(None, _length, "inner radius of the pipette opening (None: "
                                   "attrs['pipette_radius'] when the scan gives it)", "m", min=0, min_open=True)
    wetting: float = param(1.0, check_number, "footprint radius over the pipette radius (1: the meniscus wets "
                           "the area under the opening)", min=0, min_open=True)

    def _check_together(self):
        if self.map in ("current_at", "current_density") and self.potential is None:
            raise ParameterError(f"map {self.map!r} needs potential= (V), e.g. potential=4.0")
        if self.map == "onset" and not self.onset_current:
            raise ParameterError(f"map 'onset' needs a non-zero current threshold onset_current= in A (positive: "
                                 f"anodic onset, negative: cathodic), found {self.onset_current!r}")
        if self.branch == "both" and self.map not in ("current_at", "current_density"):
            raise ParameterError(f"branch='both' applies to map 'current_at' only, not {self.map!r}; "
                                 f"use one of {BRANCHES}")
        if self.time_window is not None and self.window is not None:
            raise ParameterError("give window= (V) or time_window= (s), not both")

    def options(self) -> tuple:
        """The settings this recipe's map reads."""
        return MAP_OPTIONS[self.map]


# ------------------------------------------------------------------ landing quality
@register
@dataclass(frozen=True)
class QualityRecipe(Recipe):
    """Settings of the landing-quality labels (:func:`nbtools.seccm.quality`).

    Every decision compares a curve with its own noise, so the labels do not
    depend on the current's scale (pA or nA); the settings below are ratios
    and fractions, except the optional ``offset`` and ``rail`` (A) and
    ``z_limit`` (m).
    """

    kind: ClassVar[str] = "seccm.quality"
    offset: object = param(None, _current, "current read without contact (None: attrs['current_offset'], "
                           "else measured on the no-contact pixels, else 0)", "A")
    rail: object = param(None, _current, "amplifier limit (None: attrs['current_range'] or "
                         "estimated)", "A", min=0, min_open=True)
    min_saturated: int = param(3, check_int, "samples on the rail that make a pixel 'saturated'", min=1)
    n_windows: int = param(20, check_int, "parts each curve is cut into (its shape, stretches without current)",
                           min=5)
    min_evidence: float = param(5.0, check_number, "evidence of contact needed: the sweep signature or the "
                                "curve's shape, in standard deviations of the curve's own noise", min=0,
                                min_open=True)
    min_dead_fraction: float = param(0.2, check_number, "shortest stretch without current at the start or end "
                                     "that makes a failed landing (fraction of the curve; 1: never)", min=0,
                                     max=1, min_open=True)
    noisy_factor: float = param(3.0, check_number, "noise above this multiple of the scan's median noise: 'noisy'",
                                min=0, min_open=True)
    z_limit: object = param(None, check_optional(check_number), "Z position where the approach runs out of travel "
                            "(None: attrs['z_limit'] when the file gives it)", "m")
    engine: str = param("numba", check_choice, "compiled kernel or the NumPy reference", choices=ENGINES)


# ------------------------------------------------------------------ classify
@register
@dataclass(frozen=True)
class ClassifyRecipe(Recipe):
    """Particle / substrate mask (:func:`nbtools.seccm.classify`)."""

    kind: ClassVar[str] = "seccm.classify"
    activity: str = param("charge", _check_activity, "activity map: 'charge', 'peak_current' or 'given' "
                          "(a map passed as activity=)")
    window: object = param(None, _window_V, "potential window of the redox process (None: whole sweep)", "V")
    branch: str = param("anodic", check_choice, "branch of the activity map", choices=BRANCHES)
    threshold: object = param("auto", _check_threshold, "'auto' (between two populations, when two show), "
                              "'otsu' (Otsu's threshold, when two show) or a value in the activity map's unit")
    min_size: int = param(2, check_int, "particles and holes smaller than this (pixels) are removed", min=1)
    fill_failed: bool = param(True, check_bool, "left-out pixels take their neighbours' majority label")
    include_failed: bool = param(False, check_bool, "use every pixel with data for the threshold")
    min_pixels: int = param(10, check_int, "fewest usable pixels to tell two populations apart", min=2)
    min_coherence: float = param(0.5, check_number, "a split whose particles form regions at least this coherent "
                                 "(0: scattered like noise, 1: compact) counts as two populations even when the "
                                 "values overlap", min=0, max=1)
    min_separation: object = param(None, check_optional(check_number), "least class separation that counts as "
                                   "two populations (None: 4 + 6/sqrt(n))", min=0, min_open=True)


# ------------------------------------------------------------------ per-pixel fits
def _check_model(name, value):
    if value == "given":
        return value
    from .pixel_models import get_pixel_model

    if not isinstance(value, str):
        raise ParameterError(f"{name} must be a model name (nbtools.seccm.pixel_models()), found {value!r:.80}")
    return get_pixel_model(value).name


@register
@dataclass(frozen=True)
class PixelFitRecipe(Recipe):
    """A voltammogram model fitted to every selected pixel (:func:`nbtools.seccm.fit_pixels`)."""

    kind: ClassVar[str] = "seccm.pixel_fit"
    model: str = param("CouplesCV", _check_model, "model name (nbtools.seccm.pixel_models(); 'given': an "
                       "lmfit model passed as model=)")
    couples: int = param(2, check_choice, "redox couples of CouplesCV", choices=(1, 2))
    sampling: object = param(None, check_optional(check_choice), "a sample is the current at it ('point') or "
                             "averaged over its interval ('average'); None: the model's default",
                             choices=("point", "average"))
    window: object = param(None, _window_V, "potential window of the samples fitted (None: all)", "V")
    params: object = param({}, check_mapping, "starting values, bounds or fixed values applied on every pixel's "
                           "guess (name -> value or {value, min, max, vary})", values=_check_param_setting)
    subtract_capacitive: object = param(None, check_optional(check_bool), "subtract the straight double-layer line "
                                        "of each sweep first (None: for models without a background term)")
    include_failed: bool = param(False, check_bool, "also fit pixels whose status is not 'landed'")
    pixels: object = param(None, _check_pixels, "pixel indices to fit (None: all)")
    max_pixels: object = param(None, check_optional(check_int), "fit at most this many of the usable pixels, "
                               "spread evenly (None: all)", min=1)

    def _check_together(self):
        if self.model == "given":
            return
        from .pixel_models import get_pixel_model

        entry = get_pixel_model(self.model)
        if self.sampling is not None and "sampling" not in entry.options:
            raise ParameterError(f"sampling={self.sampling!r}: model {self.model!r} has no sampling option; use "
                                 + " or ".join(repr(n) for n, m in _models().items() if "sampling" in m.options))
        check_fit_params(self.params, self.param_names())

    def param_names(self) -> tuple:
        """Parameter names of the model this recipe builds."""
        from .pixel_models import get_pixel_model

        return tuple(get_pixel_model(self.model).make_model(couples=self.couples).param_names)


def _models():
    from .pixel_models import pixel_models

    return pixel_models()


# ------------------------------------------------------------------ the dashboard's composite
def _part(cls):
    def check(name, value):
        if isinstance(value, cls):
            return value
        if isinstance(value, Recipe):
            raise ParameterError(f"{name} must be a {cls.__name__} ({cls.kind!r}), found {value.kind!r}")
        if isinstance(value, dict) and "recipe" not in value:
            cls._check_names(value)
            return cls(**value)
        return cls.coerce(value)

    check.__name__ = f"check_{cls.__name__}"
    return check


@register
@dataclass(frozen=True)
class AnalysisRecipe(Recipe):
    """The SECCM dashboard's recipe: the map shown, the particle/substrate split and the per-pixel fit.

    Each part is a recipe of its own (``recipe.map`` is a :class:`MapRecipe`
    ...); in JSON the parts are nested objects of their settings.
    """

    kind: ClassVar[str] = "seccm.analysis"
    map: object = param(None, _part(MapRecipe), "the map shown (seccm.map)")
    classify: object = param(None, _part(ClassifyRecipe), "the particle/substrate split (seccm.classify)")
    fit: object = param(None, _part(PixelFitRecipe), "the per-pixel fit (seccm.pixel_fit)")

    def __post_init__(self):
        for name, cls in (("map", MapRecipe), ("classify", ClassifyRecipe), ("fit", PixelFitRecipe)):
            if getattr(self, name) is None:
                object.__setattr__(self, name, cls())
        super().__post_init__()

    def as_kwargs(self) -> dict:
        """Settings as keyword arguments: each part as the dict of its settings."""
        return {name: getattr(self, name).as_kwargs() for name in self.fields()}

    def changed(self) -> dict:
        """Parts whose settings differ from the defaults: part -> its changed settings."""
        return {name: ch for name in self.fields() if (ch := getattr(self, name).changed())}

    def describe(self):
        """Settings of every part as one table (column ``part``)."""
        frames = [getattr(self, name).describe().assign(part=name) for name in self.fields()]
        return pd.concat(frames, ignore_index=True)[["part", "name", "value", "unit", "description", "changed"]]

    def with_part(self, part: Recipe):
        """A copy with one part replaced by ``part`` (a MapRecipe, ClassifyRecipe or PixelFitRecipe)."""
        for name, cls in (("map", MapRecipe), ("classify", ClassifyRecipe), ("fit", PixelFitRecipe)):
            if isinstance(part, cls):
                return self.replace(**{name: part})
        raise ParameterError(f"expected a MapRecipe, ClassifyRecipe or PixelFitRecipe, found {type(part).__name__}")


# ------------------------------------------------------------------ per-pixel potential-step (PITT) fits
#: models of a current transient after a potential step (kinetics registry names)
STEP_MODELS = ("PITTSphere", "PITTSphereBiot")


def _check_radius(name, value):
    """'regions' (the equivalent radius of each selected region), a radius in m, or None (no D)."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "regions"):
        return None if value is None else "regions"
    if isinstance(value, str):
        raise ParameterError(f"{name} must be 'regions', a radius in m or None, found {value!r}")
    return check_number(name, value, min=0, min_open=True, unit="m")


@register
@dataclass(frozen=True)
class StepFitRecipe(Recipe):
    """A potential-step (PITT) transient fitted at every selected pixel (:func:`nbtools.seccm.fit_steps`)."""

    kind: ClassVar[str] = "seccm.step_fit"
    model: str = param("PITTSphere", check_choice, "transient model (kinetics registry)", choices=STEP_MODELS)
    time_window: object = param(None, _window_s, "time after the step fitted (None: every sample after it)", "s")
    step_time: object = param(None, check_optional(check_number), "time of the step (None: the last sample at "
                              "the initial potential)", "s")
    radius: object = param("regions", _check_radius, "particle radius for D = r^2/tau: 'regions' (equivalent "
                           "radius sqrt(area/pi) of each connected region of the selected pixels), a radius in m, "
                           "or None (tau only)", "m")
    params: object = param({}, check_mapping, "starting values, bounds or fixed values on every pixel's guess "
                           "(e.g. Ru: {value, vary})", values=_check_param_setting)
    include_failed: bool = param(False, check_bool, "also fit pixels whose status is not 'landed'")
    pixels: object = param(None, _check_pixels, "pixel indices to fit (None: all)")
    max_pixels: object = param(None, check_optional(check_int), "fit at most this many of the usable pixels, "
                               "spread evenly (None: all)", min=1)

    def _check_together(self):
        from ..kinetics import MODELS

        check_fit_params(self.params, tuple(MODELS[self.model].make_model().param_names))
