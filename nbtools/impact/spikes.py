"""Spike detection at one threshold on a prepared background.

:func:`detect_spikes` is the threshold-dependent part of
:func:`~nbtools.impact.find_events` for ``kind='spike'``: hysteresis scan,
merging, features, rejections (charging transient, range switches, too
short, too close) and the table with its ``attrs``. The background (baseline,
noise, mains) comes from :func:`~nbtools.impact.background.estimate_background`.
"""

from __future__ import annotations

import numpy as np

from .noise import charge_noise_sd, rice_rate
from ._kernels import TAIL_TAUS
from .stages import (extend_tails, features, hysteresis_scan, mains_coefs, merge_close, merge_tails,
                     reference_decay)
from .table import SNR_PEAK_OWN, event_table

#: no event's decay constant is fitted longer than this many times the recording's (its strong
#: events'); for a weak event (below SNR_PEAK_OWN), whose tail the noise hides, WEAK_CAP times
TAIL_CAP = 10.0
WEAK_CAP = 3.0

__all__ = ["detect_spikes"]


def _candidates(bg, recipe, th, fs):
    """Events of the hysteresis scan, merged, with their feature rows: ``(starts, ends, signs, feat,
    n_merged)``."""
    sigma = bg.sigma
    pol = recipe.polarity
    on_pos = th * sigma if pol in ("both", "positive") else np.inf
    on_neg = th * sigma if pol in ("both", "negative") else np.inf
    off = recipe.hysteresis * sigma
    src, chunks, B, bvals = bg.src, bg.chunks, bg.B, bg.bvals
    w = bg.workers
    starts, ends, signs = hysteresis_scan(src, chunks, B, bvals, on_pos, off, on_neg, off, bg.mins, bg.maxs, workers=w)
    if recipe.merge:
        starts, ends, signs = merge_close(starts, ends, signs, int(round(recipe.min_separation * fs)))
    mcoef, seg_len = mains_coefs(src, chunks, B, bvals, starts, ends, bg.omega, 4.0 * sigma, workers=w)
    fk = dict(omega=bg.omega, mcoef=mcoef, seg_len=seg_len, workers=w)
    feat = features(src, chunks, B, bvals, starts, ends, signs, off, off, **fk)
    n_merged = 0
    if recipe.merge:
        starts, ends, signs, n_merged, keep, changed = merge_tails(starts, ends, signs, feat, th * sigma, off)
        if n_merged:
            feat = feat[keep]
            redo = np.unique(np.clip(np.concatenate([changed - 1, changed, changed + 1]), 0, starts.size - 1))
            feat[redo] = features(src, chunks, B, bvals, starts, ends, signs, off, off, redo, **fk)
    # every event integrated to TAIL_TAUS of its own fitted decay constants (the rest is modelled);
    # weak ones, whose tail the noise hides, from TAIL_TAUS decays of the recording's strong events
    # on; their decay fitted up to WEAK_CAP of those (strong ones': up to TAIL_CAP)
    tau_ref = reference_decay(feat, sigma)
    first = None
    if np.isfinite(tau_ref):
        weak = np.abs(feat[:, 15]) < SNR_PEAK_OWN * sigma
        fk["tau_max"] = np.where(weak, WEAK_CAP, TAIL_CAP) * tau_ref
        first = np.where(weak, feat[:, 2] + TAIL_TAUS * tau_ref, 0.0)
    feat = extend_tails(feat, lambda which, ib_min: features(
        src, chunks, B, bvals, starts, ends, signs, off, off, which, ib_min=ib_min, **fk), first)
    return starts, ends, signs, feat, n_merged


def _reasons(bg, recipe, feat, fs, t0):
    """Rejection reason of each candidate ('' = accepted) and the masked time spans ``[[t0, t1], ...]`` (s)."""
    reason = np.full(feat.shape[0], "", dtype=object)
    m = bg.masks
    masked = [[a / fs + t0, b / fs + t0] for a, b in zip(m.a, m.b)]
    if recipe.mask_start == "auto" and feat.shape[0] and feat[0, 9] == 0:
        reason[0] = "charging transient"
        masked.insert(0, [t0, float(feat[0, 1]) / fs + t0])
    for a, b, why in zip(m.a, m.b, m.why):
        hit = (feat[:, 1] > a) & (feat[:, 0] < b) & (reason == "")
        reason[hit] = why
    dur = feat[:, 10] - feat[:, 9]
    reason[(reason == "") & (dur < recipe.min_duration * fs)] = "too short"
    gap = int(round(recipe.min_separation * fs))
    if not recipe.merge and gap > 0:
        last_end = -np.inf
        for k in range(feat.shape[0]):
            if reason[k]:
                continue
            if feat[k, 9] - last_end < gap:
                reason[k] = "too close"
                continue
            last_end = feat[k, 10]
    return reason, masked


def detect_spikes(samples, bg, recipe, th, *, range_mask):
    """Spike events at ``th`` noise SDs (a number) on the background ``bg`` of ``samples``.

    Returns the event table with every ``attrs`` entry of
    :func:`~nbtools.impact.find_events` but ``recipe``, ``params`` and the
    noise-model check (added by the prepared trace).
    """
    fs, t0, n = samples.fs, samples.t0, samples.n
    sigma = bg.sigma
    starts, ends, signs, feat, n_merged = _candidates(bg, recipe, th, fs)
    reason, masked = _reasons(bg, recipe, feat, fs, t0)
    # events still open at the end of the trace are kept (truncated)
    n_int = feat[:, 1] - feat[:, 0]
    curve = bg.charge_curve_for(int(n_int.max()) if n_int.size else 0)
    charge_sd = charge_noise_sd(curve, n_int) * feat[:, 13] / fs
    df_all = event_table(feat, signs, fs, sigma, "spike", charge_sd=charge_sd)
    ok = reason == ""
    events = df_all[ok].reset_index(drop=True)
    rejected = df_all[~ok].reset_index(drop=True)
    rejected["reason"] = reason[~ok].astype(str)
    events.attrs.update(
        noise=float(sigma),
        noise_estimate=float(bg.sigma_own),
        noise_upcrossings=float(bg.nu0),
        noise_bandwidth=float(bg.nu0 * fs),
        noise_bandwidth_estimate=float(bg.nu0_own * fs),
        threshold=float(th),
        threshold_A=float(th * sigma),
        hysteresis_A=float(recipe.hysteresis * sigma),
        baseline_method=bg.method,
        baseline_window=float(bg.window),
        baseline_block=int(bg.B),
        resolved=dict(baseline_window=float(bg.window), threshold=float(th), range_mask=float(range_mask),
                      block=int(bg.B)),
        n_samples=n,
        fs=float(fs),
        t0=float(t0),
        duration=n / fs,
        expected_false_per_s=float(rice_rate(bg.nu0 * fs, th, recipe.n_polarities)),
        masked=masked,
        baseline_curve=bg.curve(fs, t0),
        source=samples.source,
        kind="spike",
        n_merged=int(n_merged),
        mains=dict(freq=bg.mains_freq,
                   amplitude=None if not np.isfinite(bg.mains_amplitude) else float(bg.mains_amplitude)),
        rejected=rejected,
    )
    return events
