"""Nanoimpact: one recording -> its events, a summary row, the false events of its blank.

The row holds :func:`nbtools.impact.summarize` (event count, frequency with
its Poisson interval over the observed time, noise, threshold), the false
events counted in the blank at the recording's threshold
(:func:`nbtools.impact.false_event_rate`) and, when asked, the 90 %
detection limit of an injection-recovery test.
"""

from __future__ import annotations

import numpy as np

from ..columns import EVENT_UNITS
from . import Outcome, reader_options

__all__ = ["ENTITY", "ENTITY_UNITS", "analyse", "effective_recipe"]

ENTITY = "events"
ENTITY_UNITS = EVENT_UNITS


def effective_recipe(recipe, blank):
    """The recipe a recording is detected with: a recipe that detects with a blank's noise (its
    ``blank`` set, as the dashboard saves it with a blank chosen) takes the recording's own blank."""
    if recipe.blank is not None and blank is not None:
        return recipe.replace(blank=str(blank))
    return recipe


def _load(path, settings):
    from ...io import load_trace

    return load_trace(path, **reader_options(path, settings.get("options"), "trace"))


def analyse(unit, recipe, settings) -> Outcome:
    """Detect the events of ``unit`` (one recording) with ``recipe``."""
    from ...impact import decisions_text, event_radii, false_event_rate, find_events, summarize

    trace = _load(unit.path, settings)
    blank = _load(unit.blank, settings) if unit.blank else None
    rec = effective_recipe(recipe, unit.blank)
    if rec.blank is not None and blank is None:  # the recipe's own blank file
        blank = _load(rec.blank, settings)
    events = find_events(trace, rec.replace(blank=None), blank=blank) if blank is not None and rec.blank \
        else find_events(trace, rec)
    rate = false_event_rate(blank, events) if blank is not None else None
    s = summarize(events, blank_rate=rate)
    a = events.attrs
    row = {k: v for k, v in s.items() if k not in ("rejected_reasons", "preview", "decisions")}
    row["decisions"] = decisions_text(s)  # what 'auto' chose, in words: one cell of the files table
    row.update(format=trace.meta.get("format"), n_samples=int(a["n_samples"]), fs=float(a["fs"]),
               duration=float(a["duration"]), noise_bandwidth=float(a.get("noise_bandwidth", np.nan)),
               rejected=", ".join(f"{k}: {v}" for k, v in s["rejected_reasons"].items()),
               noise_gaussian=a.get("noise_model_check", {}).get("ok"))
    expected = (rate["empirical_per_s"] if rate else s["expected_false_per_s"]) * s["observed_time"]
    row["false_events"] = float(expected)
    row["false_fraction"] = float(expected / s["n_events"]) if s["n_events"] else np.nan
    events.attrs = {}  # the table written: its columns (pandas deep-copies attrs on every column access)
    table = events
    table["radius"] = event_radii(events, a["recipe"])
    table.insert(0, "event", np.arange(len(table)))
    limit = _detection_limit(trace, events, a, rec, settings) if settings.get("detection_limit") else None
    if limit is not None:
        row.update(detection_limit_charge=limit[0], detection_limit_radius=limit[1])
        table["below_detection_limit"] = table["radius"] < limit[1]
    rejected = a.get("rejected")
    tables = {ENTITY: (table, ENTITY_UNITS)}
    if rejected is not None and len(rejected):
        tables["rejected"] = (rejected.reset_index(drop=True), ENTITY_UNITS)
    return Outcome(row, tables, a["recipe"])


def _detection_limit(trace, events, attrs, recipe, settings):
    """(charge C, radius m) where an injection-recovery test finds 90 % of the injected transients."""
    from ...impact import injection_recovery

    q = np.abs(events["charge"].to_numpy(float))
    q = q[np.isfinite(q) & (q > 0)]
    centre = float(np.median(q)) if q.size else float(attrs["threshold_A"]) * 1e-3
    charges = centre * np.logspace(-1.5, 0.5, settings.get("detection_limit_sizes", 6))
    rec = attrs["recipe"]
    res = injection_recovery(trace, charges, recipe=rec, n_per_charge=settings.get("detection_limit_n", 10),
                             material=recipe.material, conversion=recipe.conversion)
    return float(res.attrs["detection_limit"]), float(res.attrs.get("detection_limit_radius", np.nan))
