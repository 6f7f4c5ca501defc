"""The model registry: ``MODELS`` maps a name to a :class:`ModelEntry`.

User interfaces (e.g. ``nbtools.widgets.FitPanel``) build their controls from
these entries only: ``entry.make_model()``, ``entry.make_params()``,
``entry.params[name].unit``, ``entry.independent_vars``, ``entry.y``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import ParameterError
from . import couples as cpl
from . import diffusion as dif
from . import insertion as ins
from . import interfacial as itf
from . import transients as tr
from ._base import MODELS, PARAM_NAMES, ModelEntry, param_name, param_title, unit_text

__all__ = ["MODELS", "register", "get_entry", "PARAM_NAMES", "param_name", "param_title", "unit_text"]

def register(name, model_class, *, independent_vars, y, description, validity,
             x_order="monotonic", x_range=None, hints="", example=None, **kwargs):
    """Add a configuration of ``model_class`` to :data:`MODELS` and return its entry."""
    model = model_class(**kwargs)
    params = {p: _named(p, model.PARAMS[p]) for p in model.param_names}
    entry = ModelEntry(name=name, model_class=model_class, kwargs=dict(kwargs),
                       independent_vars=dict(independent_vars), y=tuple(y), params=params,
                       description=description, validity=validity, x_order=x_order,
                       x_range=x_range, hints=hints, example_spec=example)
    MODELS[name] = entry
    return entry


def _named(name, info):
    """``info`` with its plain name and symbol (:func:`param_name`) unless it has them."""
    if info.label:
        return info
    label, symbol = param_name(name)
    return dataclasses.replace(info, label=label, symbol=symbol)


def get_entry(model_or_name):
    """Registry entry of a model instance or name (None for foreign models)."""
    if isinstance(model_or_name, str):
        try:
            return MODELS[model_or_name]
        except KeyError:
            raise ParameterError(
                f"model {model_or_name!r} is not in nbtools.kinetics.MODELS; "
                f"choose one of {sorted(MODELS)}") from None
    return MODELS.get(getattr(model_or_name, "entry_name", ""), None)


def _cv(E1, E2, n):
    a = np.linspace(E1, E2, n)
    return np.r_[a, a[::-1][1:]]


def _populate():
    eta = {"eta": "V"}
    cur = ("i", "A")
    eta_range = (-3.0, 3.0)
    register("ButlerVolmer", itf.ButlerVolmerModel, independent_vars=eta, y=cur,
             example={"x": lambda: np.linspace(-0.15, 0.15, 301), "truth": {"i0": 2e-10, "alpha": 0.45}},
             description="Butler-Volmer i(eta) = i0[exp(alpha f eta) - exp(-(1-alpha) f eta)]",
             validity="no mass-transport limitation (|i| << limiting currents); single-step, "
                      "one electron; any eta",
             x_range=eta_range,
             hints="i0 and alpha separate only if data span both branches or |eta| > ~60 mV")
    register("ButlerVolmerMT", itf.ButlerVolmerModel, mass_transport=True, independent_vars=eta,
             y=cur,
             example={"x": lambda: np.linspace(-0.4, 0.4, 401), "truth": {"i0": 2e-10, "alpha": 0.5, "il_a": 2e-9, "il_c": -3e-9}},
             description="Butler-Volmer with anodic/cathodic limiting currents (steady state)",
             validity="steady-state mass transport (microdisc, sphere); il_a > 0, il_c < 0",
             x_range=eta_range,
             hints="limiting currents need the plateaus in the data; otherwise fix them")
    register("Tafel", itf.TafelModel, independent_vars=eta, y=cur,
             example={"x": lambda: np.r_[np.linspace(-0.35, -0.12, 120), np.linspace(0.12, 0.35, 120)], "truth": {"i0": 2e-11, "alpha": 0.5}},
             description="Tafel (one-way) branches i0 exp(alpha f eta) / -i0 exp(-(1-alpha) f eta)",
             validity="|eta| >= 0.12 V (back reaction < 1 %); use ButlerVolmer closer to E_eq",
             x_range=eta_range,
             hints="use only |eta| >= 0.12 V; i0 is an extrapolation to eta = 0")
    register("MarcusHushChidsey", itf.MarcusHushChidseyModel, independent_vars=eta, y=cur,
             example={"x": lambda: np.linspace(-0.5, 0.5, 401), "truth": {"i0": 2e-10, "lam": 0.25}},
             description="Marcus-Hush-Chidsey (exact Chidsey integral), i0 as in Butler-Volmer",
             validity="any lam and eta (exact integral); outer-sphere-like single electron transfer",
             x_range=eta_range,
             hints="lam is identifiable only when |eta| reaches ~lam/2 (curved Tafel plot)")
    register("MarcusHushChidseyZeng", itf.MarcusHushChidseyModel, method="zeng",
             independent_vars=eta, y=cur,
             example={"x": lambda: np.linspace(-0.5, 0.5, 401), "truth": {"i0": 2e-10, "lam": 0.25}},
             description="Marcus-Hush-Chidsey, Zeng-Smith-Bai-Bazant closed form",
             validity="lam ~ 8-15 kT (0.21-0.39 eV at 298 K): rates within 5 % of the exact "
                      "integral (normalised current within ~10 %); 7 % at 6 kT, 8.5 % at 20 kT, "
                      "27-56 % at 40-80 kT: use MarcusHushChidsey outside",
             x_range=eta_range,
             hints="lam is identifiable only when |eta| reaches ~lam/2")

    E = {"E": "V"}
    E_range = (-10.0, 10.0)
    register("FrumkinCV", ins.FrumkinCVModel, independent_vars=E, y=cur,
             example={"x": lambda: _cv(3.7, 4.3, 601), "truth": {"Q": 5e-11, "E0": 4.0, "g": 0.5, "v": 0.005}},
             description="Nernstian (equilibrium) insertion CV of a uniform particle with "
                         "regular-solution interaction g",
             validity="thin-layer regime: sigma = F v r^2/(R T D) <~ 1 and k_s >> f v "
                      "(Lambda > ~10); g < 2 (no miscibility gap)",
             x_order="time-order", x_range=E_range,
             hints="Q from the peak area; set v to the experiment's scan rate (fixed)")
    register("LavironCV", ins.LavironCVModel, independent_vars=E, y=cur,
             example={"x": lambda: _cv(3.6, 4.4, 801), "truth": {"Q": 5e-11, "E0": 4.0, "ks": 0.02, "alpha": 0.45, "v": 0.005}},
             description="Quasi-reversible thin-layer (Laviron) insertion CV: Q, E0, ks, alpha, g",
             validity="uniform particle (sigma <~ 1); any Lambda = ks/(f v); g < 2",
             x_order="time-order", x_range=E_range,
             hints="ks is measurable for Lambda = ks/(f v) < ~10; alpha needs Lambda < ~0.3; "
                   "use several scan rates (laviron_ks)")
    t = {"t": "s"}
    register("PITTSphere", dif.SphericalDiffusionPITTModel, independent_vars=t, y=cur,
             example={"x": lambda: np.linspace(0.1, 40.0, 400), "truth": {"Q": 1e-12, "tau": 20.0}},
             description="PITT current of a sphere, Nernstian surface: Q, tau = r^2/D",
             validity="small step (linear response, constant D), t from the step; "
                      "exact series (no approximation)",
             x_order="increasing", x_range=(0.0, 1e9),
             hints="D and r are not separable from one transient: fit tau = r^2/D and use "
                   "tau_to_D with r from microscopy; the record must reach t ~ 0.1-0.3 tau "
                   "to separate Q and tau")
    register("PITTSphereBiot", dif.SphericalDiffusionPITTModel, biot=True, independent_vars=t,
             y=cur,
             example={"x": lambda: np.linspace(0.05, 40.0, 400), "truth": {"Q": 1e-12, "tau": 20.0, "biot": 2.0}},
             description="PITT current of a sphere with finite surface kinetics: Q, tau, Biot "
                         "number L = k_eff r/D",
             validity="small step (linearised kinetics) or strongly driven irreversible kinetics; "
                      "exact series",
             x_order="increasing", x_range=(0.0, 1e9),
             hints="D and r are not separable: fit tau; Biot is identifiable only for ~0.1 < L "
                   "< ~30 (outside: pure kinetic or pure diffusion control)")
    register("ImpactKinetic", tr.ImpactKineticModel, independent_vars=t, y=cur,
             example={"x": lambda: np.arange(-2e-3, 1e-2, 1e-5), "truth": {"Q": 2e-15, "k": 800.0, "t0": 0.0, "t_s": 1e-5}},
             description="nano-impact spike, first-order charge transfer: Q k exp(-k (t - t0)), "
                         "optional RC filter",
             validity="uniform particle (fast solid diffusion, tau_D k << 1); linear kinetics",
             x_order="increasing", x_range=(-1e9, 1e9),
             hints="only k = (3 k0/r)(e^{alpha f eta} + ...) is identifiable from one spike; "
                   "use several potentials to separate k0 and alpha")
    register("ImpactDiffusion", tr.ImpactDiffusionModel, independent_vars=t, y=cur,
             example={"x": lambda: np.arange(-2e-3, 2e-2, 1e-5), "truth": {"Q": 2e-15, "tau": 5e-3, "t0": 0.0, "t_s": 1e-5}},
             description="nano-impact transient, diffusion-limited (de)lithiation of a sphere: "
                         "Q, tau = r^2/D, t0",
             validity="Nernstian surface (fast kinetics), constant D",
             x_order="increasing", x_range=(-1e9, 1e9),
             hints="fit tau = r^2/D; D needs r (from Q via radius_from_charge, or microscopy)")
    register("ImpactMixed", tr.ImpactDiffusionModel, biot=True, independent_vars=t, y=cur,
             example={"x": lambda: np.arange(-2e-3, 2e-2, 1e-5), "truth": {"Q": 2e-15, "tau": 5e-3, "biot": 3.0, "t0": 0.0, "t_s": 1e-5}},
             description="nano-impact transient, mixed kinetic/diffusion control of a sphere: "
                         "Q, tau, Biot, t0",
             validity="strongly driven irreversible kinetics (exact) or small steps",
             x_order="increasing", x_range=(-1e9, 1e9),
             hints="Biot identifiable only for ~0.1 < L < ~30")
    cv_long = {"x": lambda: _cv(3.7, 4.45, 751),
               "truth": {"Q1": 5e-11, "E01": 4.0, "Q2": 4e-11, "E02": 4.15, "ks": 0.05, "alpha": 0.45,
                         "C": 1e-10, "dC": 1e-10, "ib": 1e-13, "v": 0.005}}
    register("CouplesCV", cpl.CouplesCVModel, independent_vars=E, y=cur, example=cv_long,
             description="two Laviron couples (shared ks, alpha) + double-layer charging over a whole "
                         "cycle (SECCM landing on a LiMn2O4-like particle)",
             validity="uniform particle (sigma <~ 1); the whole cycle in time order; couples more "
                      "than ~64 mV apart; capacitance linear in E",
             x_order="time-order", x_range=E_range,
             hints="ks and alpha need Lambda = ks/(f v) < ~10; set v to the scan rate (fixed); "
                   "sampling='average' for currents averaged over each sample period")
    one = {"x": cv_long["x"], "truth": {k: v for k, v in cv_long["truth"].items() if k not in ("Q2", "E02")}}
    register("CouplesCV1", cpl.CouplesCVModel, couples=1, independent_vars=E, y=cur, example=one,
             description="one Laviron couple + double-layer charging over a whole cycle",
             validity="uniform particle (sigma <~ 1); the whole cycle in time order; capacitance "
                      "linear in E",
             x_order="time-order", x_range=E_range,
             hints="ks and alpha need Lambda = ks/(f v) < ~10; set v to the scan rate (fixed)")


_populate()
