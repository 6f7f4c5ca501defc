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
Recipes (:mod:`nbtools.kinetics.recipe`)
    FitRecipe (kind "kinetics.fit": model, options, params, window, intervals, ...),
    StickRecipe (kind "stick.workflow", the particle-on-a-stick settings).
Fitting (:mod:`~nbtools.kinetics.fitting`, :mod:`~nbtools.kinetics.checks`, :mod:`~nbtools.kinetics.intervals`)
    fit, setup_fit, resolve_model, build_params, start_params, guessed_values, select_window,
    confidence_intervals, parameter_table, check_data, check_params, check_result, check_values,
    residual_autocorrelation.
Results (:mod:`nbtools.kinetics.results`)
    fit_summary, compare_results, report_text, export_fit, refit, read_fit_settings, residual_check,
    fit_window_from, model_curve, format_quantity.
How far to trust a fit (:mod:`nbtools.kinetics.goodness`)
    noise_sd, goodness, determination, compare_models (used by fit, fit_many and seccm.fit_pixels).
CV analysis (particle on a stick)
    find_cv_peaks, scan_rate_slope, laviron_lambda, laviron_ks, capacity_from_charge.
Whole-cycle SECCM model (:mod:`nbtools.kinetics.couples`)
    CouplesCVModel, couples_cv, double_layer_current (registered as "CouplesCV", "CouplesCV1").
Uncompensated resistance (:mod:`nbtools.kinetics.ohmic`)
    ir_corrected_potential, ir_drop, check_ir_drop, step_biot, cv_with_ir, IR_LIMIT; every CV and PITT
    model has the parameter ``Ru`` (ohm, fixed 0 by default: no iR drop).
Single particle vs composite electrode: :func:`nbtools.ensemble.compare_with_ensemble`.
Constants (:mod:`nbtools.kinetics.constants`)
    F, R, T_DEFAULT.
Temperature (:mod:`nbtools.kinetics.arrhenius`)
    arrhenius, arrhenius_fit, ArrheniusResult (activation energies of k0, D ... with intervals).
"""

from ._base import KineticsModel, ModelEntry, ParamInfo
from .constants import T_DEFAULT, F, R
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
from .ohmic import IR_LIMIT, check_ir_drop, ir_corrected_potential, ir_drop, step_biot
from .insertion import (
    FrumkinCVModel,
    cv_with_ir,
    LavironCVModel,
    frumkin_cv,
    frumkin_eq_potential,
    frumkin_fraction,
    laviron_cv,
    laviron_unit_rates,
    sweep_sign,
)
from .transients import (
    ImpactDiffusionModel,
    ImpactKineticModel,
    impact_diffusion,
    impact_kinetic,
    impact_mixed,
)
from .couples import CouplesCVModel, couples_cv, double_layer_current
from .registry import MODELS, get_entry
from .recipe import FitRecipe, StickRecipe
from .checks import check_data, check_params, check_result, check_values, residual_autocorrelation
from .intervals import confidence_intervals, parameter_table
from .fitting import build_params, fit, guessed_values, resolve_model, select_window, setup_fit, start_params
from .results import (
    export_fit,
    compare_results,
    fit_summary,
    fit_window_from,
    format_quantity,
    model_curve,
    read_fit_settings,
    refit,
    report_text,
    residual_check,
)

__all__ = [
    "MODELS",
    "ModelEntry",
    "ParamInfo",
    "KineticsModel",
    "get_entry",
    "F",
    "R",
    "T_DEFAULT",
    "FitRecipe",
    "StickRecipe",
    "fit",
    "setup_fit",
    "resolve_model",
    "build_params",
    "start_params",
    "guessed_values",
    "select_window",
    "confidence_intervals",
    "parameter_table",
    "check_data",
    "check_params",
    "check_result",
    "check_values",
    "residual_autocorrelation",
    "fit_summary",
    "compare_results",
    "report_text",
    "export_fit",
    "refit",
    "read_fit_settings",
    "residual_check",
    "fit_window_from",
    "model_curve",
    "format_quantity",
    "CouplesCVModel",
    "couples_cv",
    "double_layer_current",
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
    "laviron_unit_rates",
    "sweep_sign",
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
    "IR_LIMIT",
    "ir_corrected_potential",
    "ir_drop",
    "check_ir_drop",
    "step_biot",
    "cv_with_ir",
]

# temperature dependence (Arrhenius fits of k0, D ...)
from .arrhenius import ArrheniusResult, arrhenius, arrhenius_fit  # noqa: E402

__all__ += ["arrhenius", "arrhenius_fit", "ArrheniusResult"]
