"""Nanoimpact analysis: event detection, features, sizing, statistics, trust.

Public API
----------
EventRecipe, recipe_of
    The settings of detection and sizing (kind ``"impact.events"``), validated
    once; ``events.attrs["recipe"]`` reproduces a table.
find_events
    Spikes or steps in a current trace -> DataFrame of events (``attrs``:
    recipe, noise, threshold, rejected candidates with reasons, ...).
prepare, PreparedTrace
    Baseline and noise estimated once; ``.detect(threshold)`` (exact) and
    ``.preview(threshold)`` (fast, from low-threshold candidates).
charge_to_radius, radius_to_charge, event_radii
    Particle size <-> charge for a material of :mod:`nbtools.materials`.
summarize, observed_time, masked_time, mark_accepted, decay_time, false_event_text, decisions_text
    The numbers of a detection (frequency over the observed time, ...), and
    the false-event rates and what 'auto' decided, in words.
impact_frequency, frequency_over_time, collision_frequency,
concentration_from_frequency, stokes_einstein, histogram
    Statistics.
false_event_rate, injection_recovery, detection_limit, noise_model_check, rice_rate, inject_events
    How far to trust the detections (``rice_rate``: the expected false-event
    rate of Gaussian noise; ``inject_events``: synthetic transients added to
    a recording).
fit_events
    Per-event exponential-decay fit.
export_events
    CSV / Parquet / JSON files of an event table, never overwriting.
"""

from .detect import DEFAULTS, EVENT_COLUMNS, PreparedTrace, find_events, prepare
from .export import export_events
from .fit import fit_events
from .inject import inject_events
from .noise import rice_rate
from .recipe import EventRecipe, recipe_of
from .sizing import charge_to_radius, radius_to_charge
from .stats import (
    collision_frequency,
    concentration_from_frequency,
    frequency_over_time,
    histogram,
    impact_frequency,
    masked_time,
    noise_model_check,
    observed_time,
    stokes_einstein,
)
from .summary import decay_time, decisions_text, event_radii, false_event_text, mark_accepted, summarize
from .trust import detection_limit, false_event_rate, injection_recovery

__all__ = [
    "EventRecipe", "recipe_of", "find_events", "prepare", "PreparedTrace", "DEFAULTS", "EVENT_COLUMNS",
    "charge_to_radius", "radius_to_charge", "event_radii", "summarize", "observed_time", "masked_time",
    "mark_accepted", "impact_frequency", "frequency_over_time", "collision_frequency",
    "concentration_from_frequency", "stokes_einstein", "histogram", "false_event_rate", "injection_recovery",
    "noise_model_check", "rice_rate", "inject_events", "detection_limit", "decay_time", "fit_events",
    "export_events", "false_event_text", "decisions_text",
]
