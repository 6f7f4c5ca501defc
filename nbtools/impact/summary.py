"""What a detection amounts to: observed time, accepted events, frequency, sizes, one summary dict.

The :class:`~nbtools.widgets.SpikePicker` shows these numbers; a report or a
batch table gets the same ones by calling the same functions.
"""

from __future__ import annotations

import numpy as np

from .recipe import recipe_of
from .sizing import charge_to_radius
from .stats import impact_frequency, observed_time

__all__ = ["mark_accepted", "event_radii", "decay_time", "summarize"]


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
        :func:`~nbtools.impact.false_event_rate` of a blank.
    conf : float
        Confidence level of the frequency interval.

    Returns
    -------
    dict
        ``n_events`` (accepted), ``n_rejected`` (by review), ``frequency``,
        ``frequency_low``, ``frequency_high`` (1/s, over the observed time),
        ``observed_time`` (s), ``noise``, ``noise_estimate``, ``threshold_A``
        (A), ``threshold`` (SD), ``expected_false_per_s``, ``preview``,
        ``from_blank`` and ``blank_noise_ratio`` (the noise used over the
        recording's own), ``rejected_reasons`` (detector's rejections by
        reason); with ``blank_rate``: ``blank_false_per_s``,
        ``blank_false_high``, ``blank_count``, ``blank_duration``.
    """
    a = events.attrs
    n_acc = len(events) if accepted is None else int(np.count_nonzero(accepted))
    t_obs = observed_time(events)
    f = impact_frequency(n_acc, duration=t_obs, conf=conf)
    own = float(a.get("noise_estimate", a["noise"]))
    rej = a.get("rejected")
    reasons = rej["reason"].value_counts().to_dict() if rej is not None and "reason" in rej else {}
    out = dict(n_events=n_acc, n_rejected=int(len(events) - n_acc), frequency=f["frequency"],
               frequency_low=f["low"], frequency_high=f["high"], observed_time=t_obs,
               noise=float(a["noise"]), noise_estimate=own, threshold=float(a["threshold"]),
               threshold_A=float(a["threshold_A"]), expected_false_per_s=float(a["expected_false_per_s"]),
               preview=bool(a.get("preview", False)), from_blank="blank_source" in a,
               blank_noise_ratio=float(a["noise"]) / own if own > 0 else float("nan"),
               rejected_reasons={str(k): int(v) for k, v in reasons.items()})
    if blank_rate is not None:
        out.update(blank_false_per_s=blank_rate["empirical_per_s"], blank_false_high=blank_rate["empirical_high"],
                   blank_count=blank_rate["count"], blank_duration=blank_rate["duration"])
    return out
