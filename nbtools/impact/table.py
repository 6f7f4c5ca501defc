"""The event table: columns, peak times, and the baseline curve reported with it.

:func:`event_table` turns the feature rows of the kernels
(:func:`nbtools.impact._kernels.event_features`, N_FEATURES columns) into the
DataFrame that :func:`~nbtools.impact.find_events` returns
(:data:`EVENT_COLUMNS`); steps build theirs in :mod:`nbtools.impact.steps`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._kernels import N_FEATURES

__all__ = ["EVENT_COLUMNS", "event_table", "event_flags", "empty_table", "baseline_curve", "reference_events",
           "SNR_PEAK_OWN", "SNR_ARGMAX", "SNR_REFERENCE", "REFERENCE_COUNT"]

#: Columns of the event table, in order.
EVENT_COLUMNS = [
    "t_start", "t_peak", "t_end", "peak", "charge", "charge_sd", "duration", "snr",
    "rise_time", "decay_tau", "fwhm", "baseline", "polarity", "kind",
    "step_height", "flags", "i_start", "i_peak", "i_end", "i_int_start", "i_int_end",
]

#: notes in the ``flags`` column (several are joined with '; ')
FLAG_NO_DECAY = "decay time not determined"
FLAG_EXTRAPOLATED = "charge partly extrapolated"
FLAG_UNCERTAIN = "charge uncertain"
#: a charge whose modelled tail is more than this share, or whose SD is more than UNCERTAIN_SD of it,
#: is flagged
EXTRAPOLATED_SHARE = 0.25
UNCERTAIN_SD = 0.5


def event_flags(charge, charge_sd, decay, tail) -> np.ndarray:
    """The ``flags`` text of each spike: no decay fitted (``decay`` NaN or not positive: the value is
    NaN in the table, never negative), a modelled ``tail`` over EXTRAPOLATED_SHARE of the charge (an
    event cut short by its neighbour), a charge SD over UNCERTAIN_SD of it."""
    q = np.abs(np.asarray(charge, float))
    out = np.full(q.size, "", dtype=object)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.abs(np.asarray(tail, float)) / q
        rel = np.asarray(charge_sd, float) / q
    for k in range(q.size):
        notes = []
        if not (np.asarray(decay)[k] > 0):
            notes.append(FLAG_NO_DECAY)
        if share[k] > EXTRAPOLATED_SHARE:
            notes.append(f"{FLAG_EXTRAPOLATED} ({share[k] * 100:.0f} % modelled tail)")
        if rel[k] > UNCERTAIN_SD:
            notes.append(f"{FLAG_UNCERTAIN} (SD {rel[k] * 100:.0f} % of it)")
        out[k] = "; ".join(notes)
    return out

#: events above this SNR give their own peak time; weaker ones use the
#: rising edge (see peak_positions)
SNR_PEAK_OWN = 20.0
#: events at least this strong keep their own (parabolic) arg-max as peak time
SNR_ARGMAX = 100.0
#: without 3 events at SNR_PEAK_OWN, the shape of a recording's events comes
#: from its REFERENCE_COUNT strongest events above SNR_REFERENCE (at least 5)
SNR_REFERENCE = 8.0
REFERENCE_COUNT = 20


def reference_events(snr, valid):
    """Events whose shape (decay, half-max -> peak delay, rise) stands for the
    recording's: those with SNR >= SNR_PEAK_OWN when there are at least 3;
    otherwise the REFERENCE_COUNT strongest with SNR >= SNR_REFERENCE when
    there are at least 5 (a recording of small particles only); else none."""
    ref = valid & (snr >= SNR_PEAK_OWN)
    if ref.sum() >= 3:
        return ref
    cand = valid & (snr >= SNR_REFERENCE)
    if cand.sum() < 5:
        return np.zeros_like(ref)
    cut = np.sort(snr[cand])[-min(int(cand.sum()), REFERENCE_COUNT)]
    return cand & (snr >= cut)


def peak_positions(feat, snr):
    """Peak position (samples) of each event.

    On the slowly decaying top of a filtered transient the arg-max wanders
    by several samples even at SNR 20-30 (a 1 ms decay drops 2 % in 2
    samples at 100 kHz), while the rising edge is steep: its half-maximum
    crossing is precise to a fraction of a sample. With D the median
    half-max -> peak delay of the reference events (:func:`reference_events`;
    without any, every event keeps its own parabolic arg-max):
    events below SNR_PEAK_OWN get ``t_half + D``; events up to SNR_ARGMAX
    get ``t_half + D * rise / median rise`` (their 10-90 % rise time is
    precise enough to follow shapes that vary with particle size); stronger
    events keep their arg-max.
    """
    sub = feat[:, 11].copy()
    half = feat[:, 12]
    rise = feat[:, 5]
    strong = reference_events(snr, np.isfinite(half))
    if not strong.any():
        return sub
    delay = float(np.median(sub[strong] - half[strong]))
    weak = (snr < SNR_PEAK_OWN) & np.isfinite(half)
    sub[weak] = half[weak] + delay
    timed = strong & np.isfinite(rise) & (rise > 0) & (snr >= SNR_PEAK_OWN)
    if timed.sum() >= 3:
        mid = timed & (snr < SNR_ARGMAX)
        sub[mid] = half[mid] + delay * rise[mid] / float(np.median(rise[timed]))
    return sub


def event_table(feat, signs, fs, noise, kind, charge_sd=None):
    """The event DataFrame (:data:`EVENT_COLUMNS`) of kernel feature rows ``feat`` (n, N_FEATURES), their signs,
    the sampling rate (Hz), the noise SD (A), the event kind and each charge's SD (C)."""
    ia, ib, ip = feat[:, 0], feat[:, 1], feat[:, 2]
    if charge_sd is None:
        charge_sd = np.full(len(feat), np.nan)
    peak = feat[:, 3]
    decay = np.where(feat[:, 6] > 0, feat[:, 6], np.nan)  # a time constant is positive, or not known
    snr = np.abs(peak) / noise if noise > 0 else np.full(len(peak), np.inf)
    return pd.DataFrame({
        "t_start": feat[:, 9] / fs,
        "t_peak": peak_positions(feat, snr) / fs,
        "t_end": feat[:, 10] / fs,
        "peak": peak,
        "charge": feat[:, 4] / fs,
        "charge_sd": charge_sd,
        "duration": (feat[:, 10] - feat[:, 9]) / fs,
        "snr": snr,
        "rise_time": feat[:, 5] / fs,
        "decay_tau": decay / fs,
        "fwhm": feat[:, 7] / fs,
        "baseline": feat[:, 8],
        "polarity": pd.Categorical.from_codes((np.asarray(signs) > 0).astype(np.int8),
                                              categories=["negative", "positive"]),
        "kind": pd.Categorical.from_codes(np.zeros(len(peak), np.int8), categories=[kind]),
        "step_height": np.nan,
        "flags": event_flags(feat[:, 4], charge_sd * fs, decay, feat[:, 14]),
        "i_start": feat[:, 9].astype(np.int64),
        "i_peak": ip.astype(np.int64),
        "i_end": feat[:, 10].astype(np.int64),
        "i_int_start": ia.astype(np.int64),
        "i_int_end": ib.astype(np.int64),
    })


def empty_table(kind):
    """An event table without rows, with a ``reason`` column (the rejected candidates of a run)."""
    df = event_table(np.empty((0, N_FEATURES)), np.empty(0, np.int8), 1.0, 1.0, kind)
    df["reason"] = pd.Series(dtype=object)
    return df


def baseline_curve(B, bvals, n, fs, t0):
    """The baseline at the block centres (the kernels interpolate linearly in
    between), with the trace ends: ``{'t': s, 'value': A}`` arrays."""
    c = np.arange(bvals.size) * B + (B - 1) / 2.0
    c = np.clip(c, 0, n - 1)
    t = np.concatenate([[0.0], c, [n - 1]]) / fs + t0
    v = np.concatenate([[bvals[0]], bvals, [bvals[-1]]])
    return dict(t=t, value=v.astype(np.float64))
