"""Kinetic models (lmfit) and analysis for single-entity battery electrochemistry.

SI units, IUPAC signs (anodic current positive, ``eta = E - E_eq``), temperature
``T`` a fixed parameter (298.15 K by default).

Public API
----------
MODELS
    Registry: name -> :class:`ModelEntry` (model class, independent variables and
    units, parameter units/defaults/bounds/plausible ranges, description, validity).
Models (lmfit.Model subclasses)
    ButlerVolmerModel, TafelModel, MarcusHushChidseyModel,
    FrumkinCVModel, LavironCVModel,
    SphericalDiffusionPITTModel, ImpactKineticModel, ImpactDiffusionModel.
Model functions
    butler_volmer, butler_volmer_mt, tafel, marcus_hush_chidsey,
    marcus_hush_chidsey_zeng, chidsey_rate, zeng_rate, frumkin_cv, frumkin_eq_potential,
    laviron_cv, pitt_sphere, impact_kinetic, impact_diffusion.
Helpers
    cottrell, microdisc_steady_state, sphere_steady_state, gitt_weppner_huggins, tau_to_D,
    pitt_guess (robust PITT starting values).
Fitting
    fit, confidence_intervals, check_result.
CV analysis (particle on a stick)
    find_cv_peaks, scan_rate_slope, laviron_ks, capacity_from_charge.
"""

from ._base import KineticsModel, ModelEntry, ParamInfo
from .interfacial import (
    ButlerVolmerModel,
    MarcusHushChidseyModel,
    TafelModel,
    butler_volmer,
    butler_volmer_mt,
    chidsey_rate,
    marcus_hush_chidsey,
    marcus_hush_chidsey_zeng,
    tafel,
    zeng_rate,
)
from .cv import (
    capacity_from_charge,
    find_cv_peaks,
    laviron_ks,
    laviron_lambda,
    radius_from_charge,
    scan_rate_slope,
)
from .diffusion import (
    SphericalDiffusionPITTModel,
    biot_roots,
    cottrell,
    gitt_weppner_huggins,
    microdisc_steady_state,
    pitt_guess,
    pitt_sphere,
    pitt_sphere_biot,
    sphere_steady_state,
    tau_to_D,
)
from .insertion import (
    FrumkinCVModel,
    LavironCVModel,
    frumkin_cv,
    frumkin_eq_potential,
    frumkin_fraction,
    laviron_cv,
)
from .transients import (
    ImpactDiffusionModel,
    ImpactKineticModel,
    impact_diffusion,
    impact_kinetic,
    impact_mixed,
)
from .fitting import check_data, check_params, check_result, confidence_intervals, fit
from .registry import MODELS, get_entry

__all__ = [
    "MODELS",
    "ModelEntry",
    "ParamInfo",
    "KineticsModel",
    "get_entry",
    "fit",
    "confidence_intervals",
    "check_data",
    "check_params",
    "check_result",
    "ButlerVolmerModel",
    "TafelModel",
    "MarcusHushChidseyModel",
    "butler_volmer",
    "butler_volmer_mt",
    "tafel",
    "chidsey_rate",
    "zeng_rate",
    "marcus_hush_chidsey",
    "marcus_hush_chidsey_zeng",
    "FrumkinCVModel",
    "LavironCVModel",
    "frumkin_cv",
    "frumkin_eq_potential",
    "frumkin_fraction",
    "laviron_cv",
    "SphericalDiffusionPITTModel",
    "pitt_sphere",
    "pitt_guess",
    "pitt_sphere_biot",
    "biot_roots",
    "tau_to_D",
    "gitt_weppner_huggins",
    "cottrell",
    "microdisc_steady_state",
    "sphere_steady_state",
    "ImpactKineticModel",
    "ImpactDiffusionModel",
    "impact_kinetic",
    "impact_diffusion",
    "impact_mixed",
    "find_cv_peaks",
    "scan_rate_slope",
    "laviron_lambda",
    "laviron_ks",
    "capacity_from_charge",
    "radius_from_charge",
]
