"""What a detection amounts to: observed time, accepted events, frequency, sizes, one summary dict.

The :class:`~nbtools.widgets.SpikePicker` shows these numbers; a report or a
batch table gets the same ones by calling the same functions.
"""

from __future__ import annotations

import numpy as np

from .recipe import recipe_of
from .sizing import charge_to_radius
from .stats import impact_frequency, observed_time

__all__ = ["mark_accepted", "event_radii", "decay_time", "summarize", "false_event_text", "decisions_text"]


def mark_accepted(events, rejected_at) -> np.ndarray:
    """Boolean ``accepted`` column: False where an event spans a rejected sample index.

    ``rejected_at`` holds the ``i_peak`` sample indices of events a user
    rejected; an event of a new detection is rejected when one of them lies
    within its ``[i_start, max(i_end, i_peak)]`` (so decisions survive small
    changes of the settings).

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"i_start": [0, 10], "i_peak": [2, 12], "i_end": [5, 15]})
    >>> mark_accepted(ev, [12]).tolist()
    [True, False]
    """
    n = len(events)
    acc = np.ones(n, dtype=bool)
    r = np.sort(np.asarray(list(rejected_at), dtype=np.int64))
    if n == 0 or r.size == 0:
        return acc
    a = events["i_start"].to_numpy(np.int64)
    b = np.maximum(events["i_end"].to_numpy(np.int64), events["i_peak"].to_numpy(np.int64))
    lo = np.searchsorted(r, a, side="left")
    hi = np.searchsorted(r, b, side="right")
    acc[hi > lo] = False
    return acc


def event_radii(events, recipe=None) -> np.ndarray:
    """Radius (m) of each event's particle from its charge, for the material and conversion of
    ``recipe`` (default: the recipe that made ``events``); NaN without a charge (steps)."""
    r = recipe if recipe is not None else recipe_of(events)
    q = events["charge"].to_numpy(float)
    if not np.isfinite(q).any():
        return np.full(q.size, np.nan)
    return np.atleast_1d(charge_to_radius(q, r.material, r.conversion))


def decay_time(events, min_count: int = 3):
    """Median decay constant (s) of the events with a finite positive ``decay_tau``; None with fewer
    than ``min_count`` (e.g. the transient shape to inject in an injection-recovery test)."""
    tau = events["decay_tau"].to_numpy(float) if "decay_tau" in events else np.empty(0)
    tau = tau[np.isfinite(tau) & (tau > 0)]
    return float(np.median(tau)) if tau.size >= min_count else None


def summarize(events, accepted=None, *, blank_rate=None, conf: float = 0.95) -> dict:
    """The numbers of a detection, as one dict.

    Parameters
    ----------
    events : DataFrame
        A :func:`~nbtools.impact.find_events` result (or a preview).
    accepted : array of bool, optional
        Events kept after review (default all; see :func:`mark_accepted`).
    blank_rate : dict, optional
        :func:`~nbtools.impact.false_event_rate` of a blank (default: the
        one ``find_events(..., blank=...)`` put in ``attrs['blank_rate']``).
    conf : float
        Confidence level of the frequency interval.

    Returns
    -------
    dict
        ``n_events`` (accepted), ``n_rejected`` (by review), ``frequency``,
        ``frequency_low``, ``frequency_high`` (1/s, over the observed time),
        ``observed_time`` (s), ``noise`` (A, the recording's own: the one
        noise SD of the detection), ``threshold_A`` (A), ``threshold`` (SD),
        ``expected_false_per_s`` (Rice), ``preview``, ``kind``, ``polarity``,
        ``decisions`` (what 'auto' chose and why: ``{setting: reason}``),
        ``rejected_reasons`` (detector's rejections by reason),
        ``noise_model_ok`` (False when the other sign's candidates show
        non-Gaussian noise); with a blank: ``blank_false_per_s``,
        ``blank_false_high``, ``blank_count``, ``blank_duration``,
        ``blank_matched`` and ``blank_note`` (how the blank was searched).
        :func:`false_event_text` says the false-event numbers in words.
    """
    a = events.attrs
    n_acc = len(events) if accepted is None else int(np.count_nonzero(accepted))
    t_obs = observed_time(events)
    f = impact_frequency(n_acc, duration=t_obs, conf=conf)
    rej = a.get("rejected")
    reasons = rej["reason"].value_counts().to_dict() if rej is not None and "reason" in rej else {}
    recipe = recipe_of(events)
    check = a.get("noise_model_check") or {}
    out = dict(n_events=n_acc, n_rejected=int(len(events) - n_acc), frequency=f["frequency"],
               frequency_low=f["low"], frequency_high=f["high"], observed_time=t_obs,
               noise=float(a["noise"]), threshold=float(a["threshold"]),
               threshold_A=float(a["threshold_A"]), expected_false_per_s=float(a["expected_false_per_s"]),
               preview=bool(a.get("preview", False)), kind=str(a.get("kind", recipe.event_kind)),
               polarity=recipe.polarity,
               decisions={k: d["reason"] for k, d in (a.get("decisions") or {}).items()},
               rejected_reasons={str(k): int(v) for k, v in reasons.items()},
               noise_model_ok=check.get("ok"), opposite_count=check.get("opposite_polarity_count"),
               opposite_expected=check.get("expected"))
    blank_rate = a.get("blank_rate") if blank_rate is None else blank_rate
    if blank_rate is not None:
        out.update(blank_false_per_s=blank_rate["empirical_per_s"], blank_false_high=blank_rate["empirical_high"],
                   blank_count=blank_rate["count"], blank_duration=blank_rate["duration"],
                   blank_matched=blank_rate.get("matched"), blank_note=blank_rate.get("note"))
    return out


def _rate(x) -> str:
    return f"{x:.2g} per second"


def false_event_text(s: dict) -> str:
    """The false-event numbers of a :func:`summarize` dict in words: Rice's estimate for Gaussian
    noise and, with a blank, its measured count, and which to trust.

    Examples
    --------
    >>> s = dict(expected_false_per_s=1e-5, threshold=5.3, observed_time=500.0, n_events=60,
    ...          noise_model_ok=None)
    >>> false_event_text(s).startswith("Gaussian noise of this bandwidth would give 1e-05 false events per second")
    True
    """
    T, n = float(s["observed_time"]), int(s["n_events"])
    rice = float(s["expected_false_per_s"])
    parts = [f"Gaussian noise of this bandwidth would give {_rate(rice)} false events at {s['threshold']:.3g} σ "
             f"(Rice's formula): {rice * T:.2g} in the {T:.3g} s observed."]
    if "blank_count" in s:
        note = s.get("blank_note") or "the blank gave"
        parts.append(f"{note[0].upper()}{note[1:]} {s['blank_count']} false events in {s['blank_duration']:.3g} s "
                     f"({_rate(s['blank_false_per_s'])}, at most {s['blank_false_high']:.2g} at 95 % confidence).")
        parts.append(f"Real noise has more large excursions than Gaussian noise, so the blank's count is the one to "
                     f"trust: about {s['blank_false_per_s'] * T:.2g} (at most {s['blank_false_high'] * T:.2g}) of "
                     f"the {n} events may be noise.")
    else:
        if s.get("noise_model_ok") is False:
            parts.append(f"Here {s.get('opposite_count')} candidates of the other sign crossed the threshold where "
                         f"Gaussian noise expects {s.get('opposite_expected', float('nan')):.2g}: the noise has "
                         "more large excursions, and Rice's estimate is too low.")
        else:
            parts.append("Real noise often has more large excursions than Gaussian noise.")
        parts.append("Load a blank recording (same electrode and settings, no particles) to measure the "
                     "false-event rate.")
    return " ".join(parts)


def decisions_text(s: dict) -> str:
    """What 'auto' decided, in words (:func:`summarize`'s ``decisions``), or ''."""
    d = s.get("decisions") or {}
    parts = []
    if "event_kind" in d:
        what = "steps" if s.get("kind") == "step" else "spikes (transients)"
        parts.append(f"Detected as {what}: {d['event_kind']}.")
    if "polarity" in d:
        parts.append(f"Sign {s.get('polarity')}: {d['polarity']}.")
    return " ".join(parts)
