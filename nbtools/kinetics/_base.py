"""Model metadata and the lmfit base class shared by every kinetics model.

A model is a plain NumPy function whose signature names its parameters, a thin
:class:`KineticsModel` subclass (hints, ``guess``), and a :class:`ModelEntry` in
:data:`nbtools.kinetics.MODELS` describing units and validity. User interfaces
build everything from the entry; they never branch on model names.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any

import lmfit
import numpy as np

from .constants import T_DEFAULT

__all__ = ["ParamInfo", "ModelEntry", "KineticsModel", "MODELS", "PARAM_NAMES", "param_name", "param_title",
           "unit_text"]

#: the model registry, name -> ModelEntry (filled by :mod:`nbtools.kinetics.registry`; kept here so
#: that a model finds its entry without importing the registry module, which imports every model)
MODELS: dict = {}


@dataclass(frozen=True)
class ParamInfo:
    """What a parameter means.

    Attributes
    ----------
    unit : str
        SI unit ("" for dimensionless).
    description : str
        One line.
    value, min, max : float
        Default initial value and bounds (used as lmfit parameter hints).
    vary : bool
        Whether it varies by default (``T`` does not).
    plausible : tuple of float or None
        Physically plausible range for a single entity. A fitted value outside it
        triggers an :class:`~nbtools.errors.NbtoolsWarning` (for example mA given as A).
    scale : bool
        True for amplitude-like parameters (the model is proportional to them).
    label, symbol : str
        Plain name and symbol shown to people ("formal potential of couple 1",
        "E⁰₁"); set by the registry (:data:`nbtools.kinetics.registry.PARAM_NAMES`).
    """

    unit: str
    description: str
    value: float
    min: float = -np.inf
    max: float = np.inf
    vary: bool = True
    plausible: tuple[float, float] | None = None
    scale: bool = False
    label: str = ""
    symbol: str = ""

    def hint(self) -> dict[str, Any]:
        return {"value": self.value, "min": self.min, "max": self.max, "vary": self.vary}


#: plain names and symbols of the parameters: what a dashboard shows (with the unit) instead of the
#: Python name; numbered names (Q1, E02, ...) add "of couple n" and a subscript
PARAM_NAMES = {
    "Q": ("charge", "Q"), "E0": ("formal potential", "E⁰"), "g": ("interaction parameter", "g"),
    "v": ("scan rate", "v"), "ks": ("rate constant", "kₛ"), "alpha": ("transfer coefficient", "α"),
    "C": ("double-layer capacitance", "C_dl"), "dC": ("change of the capacitance with potential", "dC/dE"),
    "ib": ("background current", "i_b"), "tau": ("diffusion time r²/D", "τ"), "biot": ("Biot number", "L"),
    "D": ("diffusion coefficient", "D"), "i0": ("exchange current", "i₀"),
    "il_a": ("anodic limiting current", "i_L,a"), "il_c": ("cathodic limiting current", "i_L,c"),
    "lam": ("reorganisation energy", "λ"), "k": ("decay rate", "k"), "t0": ("landing time", "t₀"),
    "t_s": ("sampling interval", "t_s"), "tau_f": ("filter time constant", "τ_f"), "T": ("temperature", "T"),
    "Ru": ("uncompensated resistance", "R_u"), "dE": ("potential step", "ΔE"),
}
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def param_name(name: str) -> tuple[str, str]:
    """``(plain name, symbol)`` of a parameter (``'E01'`` -> ``('formal potential of couple 1', 'E⁰₁')``);
    an unknown name is its own name and symbol.

    Examples
    --------
    >>> param_name("Q2")
    ('charge of couple 2', 'Q₂')
    """
    if name in PARAM_NAMES:
        return PARAM_NAMES[name]
    m = re.fullmatch(r"([A-Za-z_]*?0?)(\d+)", name)
    if m and m.group(1) in PARAM_NAMES:
        label, symbol = PARAM_NAMES[m.group(1)]
        return f"{label} of couple {m.group(2)}", symbol + m.group(2).translate(_SUB)
    return name, name


def unit_text(unit: str) -> str:
    """A unit as people write it (``'1/s'`` -> ``'s⁻¹'``, ``'m^2/s'`` -> ``'m²/s'``)."""
    if unit.startswith("1/") and "/" not in unit[2:]:
        unit = unit[2:] + "⁻¹"
    return unit.replace("^2", "²").replace("^3", "³").replace("^-1", "⁻¹")


def param_title(name: str, unit: str = "") -> str:
    """``'formal potential of couple 1, E⁰₁ / V'``: the plain name, symbol and unit of a parameter.

    Examples
    --------
    >>> param_title("ks", "1/s")
    'rate constant, kₛ / s⁻¹'
    """
    label, symbol = param_name(name)
    head = f"{label}, {symbol}" if symbol != label else label
    return f"{head} / {unit_text(unit)}" if unit else head



TEMPERATURE = ParamInfo("K", "temperature (fixed)", T_DEFAULT, 1.0, 2000.0, vary=False,
                        plausible=(150.0, 600.0))


@dataclass(frozen=True)
class ModelEntry:
    """One registry entry of :data:`nbtools.kinetics.MODELS`.

    Attributes
    ----------
    name : str
        Registry key.
    model_class : type
        :class:`KineticsModel` subclass.
    kwargs : dict
        Keyword arguments the class is built with for this entry.
    independent_vars : dict
        Independent variable name -> unit (the first is the x axis).
    y : tuple
        (name, unit) of the dependent variable.
    params : dict
        Parameter name -> :class:`ParamInfo`.
    description : str
        One line.
    validity : str
        Where the model holds (and where an approximation stops holding).
    x_order : str
        "monotonic" (strictly increasing or decreasing, no duplicates),
        "increasing" (strictly increasing, e.g. time) or "time-order" (a
        potential programme in time order, e.g. a CV; repeats allowed).
    x_range : tuple or None
        Plausible range of x in SI; data outside raises DataError (usually a
        unit slip, e.g. mV given as V).
    hints : str
        Identifiability advice shown with correlation warnings.
    """

    name: str
    model_class: type
    kwargs: dict
    independent_vars: dict
    y: tuple
    params: dict
    description: str
    validity: str
    x_order: str = "monotonic"
    x_range: tuple | None = None
    hints: str = ""
    example_spec: dict | None = field(default=None, repr=False)

    def example(self, *, noise=0.01, seed=0):
        """Synthetic data with known truth for demos and tests.

        Returns
        -------
        dict
            ``x`` (the independent variable, SI), ``y`` (model + Gaussian noise of
            ``noise`` x max|y|), ``truth`` (parameter values) and ``params``
            (lmfit.Parameters with fixed values such as ``v`` set, free ones at
            their defaults).
        """
        if self.example_spec is None:
            raise NotImplementedError(f"{self.name} has no example")
        x = np.asarray(self.example_spec["x"](), dtype=float)
        truth = dict(self.example_spec["truth"])
        model = self.make_model()
        y = model.eval(model.make_params(**truth), **{self.x_name: x})
        rng = np.random.default_rng(seed)
        y = y + rng.normal(0.0, noise * float(np.max(np.abs(y))), y.size)
        fixed = {k: v for k, v in truth.items() if not self.params[k].vary}
        return {"x": x, "y": y, "truth": truth, "params": model.make_params(**fixed)}

    def make_model(self, **kwargs) -> "KineticsModel":
        """Build the lmfit model (extra keyword arguments go to the class)."""
        return self.model_class(**{**self.kwargs, **kwargs})

    def make_params(self, **overrides) -> lmfit.Parameters:
        """Default parameters (values, bounds, vary) with optional overrides."""
        return self.make_model().make_params(**overrides)

    @property
    def x_name(self) -> str:
        return next(iter(self.independent_vars))

    @property
    def x_unit(self) -> str:
        return self.independent_vars[self.x_name]

    def to_dict(self) -> dict:
        """JSON-serialisable summary (for UIs and docs); infinite bounds become None."""

        def fin(v):
            return float(v) if np.isfinite(v) else None

        return {
            "name": self.name,
            "model": self.model_class.__name__,
            "kwargs": dict(self.kwargs),
            "independent_vars": dict(self.independent_vars),
            "y": list(self.y),
            "params": {k: {"unit": p.unit, "description": p.description, "value": p.value,
                           "min": fin(p.min), "max": fin(p.max), "vary": p.vary,
                           "plausible": list(p.plausible) if p.plausible else None}
                       for k, p in self.params.items()},
            "description": self.description,
            "validity": self.validity,
            "x_order": self.x_order,
            "x_range": list(self.x_range) if self.x_range else None,
            "hints": self.hints,
        }


class KineticsModel(lmfit.Model):
    """lmfit Model with parameter hints taken from ``PARAMS`` (name -> ParamInfo).

    Subclasses set ``PARAMS`` (superset of their parameters), ``ENTRY`` (the
    registry key of the default configuration) and call ``_setup`` in ``__init__``.
    """

    PARAMS: dict = {}

    def __init__(self, func, *, independent_vars=None, prefix="", nan_policy="raise",
                 entry_name="", **kwargs):
        super().__init__(func, independent_vars=independent_vars, prefix=prefix,
                         nan_policy=nan_policy, **kwargs)
        self.entry_name = entry_name
        for name in self._param_root_names:
            info = self.PARAMS.get(name)
            if info is not None:
                self.set_param_hint(name, **info.hint())

    def param_info(self, name: str) -> ParamInfo | None:
        """ParamInfo of a (possibly prefixed) parameter name."""
        if self.prefix and name.startswith(self.prefix):
            name = name[len(self.prefix):]
        return self.PARAMS.get(name)

    @property
    def entry(self) -> "ModelEntry | None":
        return MODELS.get(self.entry_name)

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        """Names of the configuration options of the class (``radius``, ``sampling``, ...).

        The arguments of ``__init__`` other than lmfit's keyword arguments; each is
        kept as an attribute of the same name.
        """
        sig = inspect.signature(cls.__init__).parameters
        return tuple(n for n, p in sig.items()
                     if n != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL))

    def options(self) -> dict:
        """This model's configuration options, ``option name -> value``."""
        return {n: getattr(self, n) for n in self.option_names()}

    def guess_values(self, data, x, **kwargs) -> dict:
        """Starting values (dict name -> value) from one curve; models override this."""
        raise NotImplementedError(f"{type(self).__name__} has no guess")

    def guess(self, data, *args, **kwargs):
        """lmfit-style guess: Parameters with values from :meth:`guess_values`."""
        xname = self.independent_vars[0]
        x = args[0] if args else kwargs.pop(xname)
        extra = {k: kwargs.pop(k) for k in ("v", "T") if k in kwargs}
        vals = self.guess_values(data, x, **extra)
        return self._guess_finish(self.make_params(**vals), **kwargs)

    def _guess_finish(self, params, **kwargs):
        return lmfit.models.update_param_vals(params, self.prefix, **kwargs)
