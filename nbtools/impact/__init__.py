"""Nanoimpact analysis: event detection, features, sizing, statistics, trust.

Public API
----------
find_events
    Spikes or steps in a current trace -> DataFrame of events (``attrs``:
    noise, threshold, params, rejected candidates with reasons, ...).
charge_to_radius, radius_to_charge
    Particle size <-> charge for a material of :mod:`nbtools.materials`.
impact_frequency, frequency_over_time, collision_frequency,
concentration_from_frequency, stokes_einstein, histogram
    Statistics.
false_event_rate, injection_recovery, noise_model_check
    How far to trust the detections.
fit_events
    Per-event exponential-decay fit.
"""

from .detect import DEFAULTS, EVENT_COLUMNS, PreparedTrace, find_events, prepare
from .fit import fit_events
from .sizing import charge_to_radius, radius_to_charge
from .stats import (
    collision_frequency,
    concentration_from_frequency,
    frequency_over_time,
    histogram,
    impact_frequency,
    noise_model_check,
    stokes_einstein,
)
from .trust import false_event_rate, injection_recovery

__all__ = [
    "find_events", "prepare", "PreparedTrace", "DEFAULTS", "EVENT_COLUMNS", "charge_to_radius", "radius_to_charge",
    "impact_frequency", "frequency_over_time", "collision_frequency", "concentration_from_frequency",
    "stokes_einstein", "histogram", "false_event_rate", "injection_recovery", "noise_model_check", "fit_events",
]
