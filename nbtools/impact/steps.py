"""Step-type events (staircases of blocking collisions): ``find_events(kind='step')``.

A two-window test at every sample: the difference of the means of the ``w``
samples after and before it, minus the local drift (running median of the
differences at lag ``w``), in units of its noise SD ``sigma sqrt(2/w)``.
Local maxima of |z| above the threshold, at least ``w`` samples apart, are
steps; their height comes from the stretches to the neighbouring steps (at most
PLATEAU_WINDOWS windows and one baseline window long): a least-squares line
common to both plus the step.
A candidate where a line that only bends there fits the plateaus as well as
a step is a slope change of the background; a smaller step of the other
sign within RELAX_WINDOWS windows of a step is the relaxation of an
overshoot. Both are kept among the rejected candidates with that reason.
The noise is the MAD of the two-window differences themselves (steps are rare), expressed per sample:
the noise at the test's own time scale, right for filtered (correlated) noise too.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import signal

from ..errors import DataError
from .baseline import running_median
from .noise import auto_threshold, rice_rate
from .parallel import MIN_PIECE, pieces, pmap
from .table import EVENT_COLUMNS, empty_table

__all__ = ["find_steps", "step_window", "PLATEAU_WINDOWS", "RELAX_WINDOWS"]


#: the plateaus that give a step's height span at most this many windows
PLATEAU_WINDOWS = 10
#: a smaller opposite step within this many windows of a step is its relaxation
RELAX_WINDOWS = 2


def _step_height(x, a0, s, b1, slope):
    """(level before, height, abrupt) of a step at sample ``s`` from the
    plateaus ``x[a0:s]`` and ``x[s:b1]``: least squares of a common line plus
    the step, the samples next to the step left out (a step between samples
    leaves part of itself in one of them). ``abrupt`` is False when a line
    that only changes its slope at ``s`` fits as well (a kink of a drifting
    background, not a step). Short plateaus: drift-corrected medians with the
    running ``slope`` (A/sample), taken as abrupt."""
    pre = np.arange(a0, s - 1)
    post = np.arange(s + 1, b1)
    if pre.size >= 3 and post.size >= 3:
        u = np.concatenate([pre, post]) - s
        y = np.concatenate([x[pre], x[post]])
        one = np.ones(u.size)
        coef, rss_step = np.linalg.lstsq(np.column_stack([one, u, u >= 0]), y, rcond=None)[:2]
        rss_kink = np.linalg.lstsq(np.column_stack([one, u, np.maximum(u, 0)]), y, rcond=None)[1]
        abrupt = not (rss_step.size and rss_kink.size and rss_kink[0] <= rss_step[0])
        return float(coef[0]), float(coef[2]), abrupt
    pre_c = x[a0:s] + slope * (s - np.arange(a0, s))
    post_c = x[s:b1] - slope * (np.arange(s, b1) - s)
    before = float(np.median(pre_c))
    return before, float(np.median(post_c)) - before, True


def _noise_diff(x):
    d = np.diff(x)
    return 1.4826 * float(np.median(np.abs(d - np.median(d)))) / math.sqrt(2.0)


#: above this many samples the drift's running median runs over block medians (DRIFT_BLOCKS per window)
EXACT_DRIFT_WINDOW = 4096
DRIFT_BLOCKS = 256


def _running_drift(dw, win, workers=1):
    """Running median over ``win`` samples of the drift ``dw`` (NaN ignored, 0 where none). Long
    windows: the running median of block medians (DRIFT_BLOCKS blocks per window) interpolated back
    to the samples: the drift is smooth on the window's scale, and a sample-by-sample median over
    10^5 samples costs seconds per 10^6 samples."""
    if win <= EXACT_DRIFT_WINDOW:
        return np.nan_to_num(_running_median(dw, win, workers), nan=0.0, posinf=np.inf, neginf=-np.inf)
    n = dw.size
    B = win // DRIFT_BLOCKS
    nb = -(-n // B)
    padded = np.full(nb * B, np.nan)
    padded[:n] = dw
    blocks = padded.reshape(nb, B)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN blocks at the ends
            med = np.nanmedian(blocks, axis=1)
    smooth = pd.Series(med).rolling(max(1, win // B) | 1, center=True, min_periods=1).median().to_numpy()
    centres = (np.arange(nb) + 0.5) * B - 0.5
    ok = np.isfinite(smooth)
    if not ok.any():
        return np.zeros(n)
    return np.interp(np.arange(n), centres[ok], smooth[ok])


def _noise_windows(diff, w):
    """The per-sample noise SD that white noise would need to give the measured spread of the
    two-window differences ``diff`` (MAD; steps are rare): the noise at the test's own time scale.
    Unlike first differences, it is not fooled by a low-pass filter that smooths neighbouring
    samples (every amplifier has one), which would make noise look like steps."""
    d = diff[np.isfinite(diff)]
    if d.size == 0:
        return float("nan")
    return 1.4826 * float(np.median(np.abs(d - np.median(d)))) / math.sqrt(2.0 / w)


def _level_curve(x, fs, t0, window, points=2000):
    """The local level of a staircase for display: running median (over ``window`` s) of about
    ``points`` block means; ``{'t': s, 'value': A}``."""
    n = x.size
    B = max(n // points, 1)
    nb = n // B
    means = x[: nb * B].reshape(nb, B).mean(axis=1)
    value = running_median(means, max(1, int(round(window * fs / B))))
    return dict(t=(np.arange(nb) + 0.5) * B / fs + t0, value=np.asarray(value, np.float64))


def _running_median(values, win, workers):
    """Centred running median of ``values`` over ``win`` (odd) points, NaN ignored (at least one
    value per window), NaN where a window holds none: pieces on ``workers`` threads, each with the
    ``win // 2`` values beyond its ends (every window sees the same values, so the same median)."""
    n = values.size
    h = win // 2
    ranges = pieces([(0, n)], 1, workers, min_len=max(MIN_PIECE, 4 * win))

    def one(r):
        a, b = r
        a0, b1 = max(0, a - h), min(n, b + h)
        med = pd.Series(values[a0:b1]).rolling(win, center=True, min_periods=1).median().to_numpy()
        return med[a - a0:b - a0]

    return np.concatenate(pmap(one, ranges, workers)) if n else np.empty(0)


def step_window(recipe, fs) -> int:
    """Samples of each window of the two-window test: ``min_duration`` (at least 3; 5 when 0)."""
    return max(3, int(round(recipe.min_duration * fs)) or 5)


def find_steps(samples, recipe, *, window, range_mask, workers=1):
    """Step events of ``samples`` (:class:`~nbtools.impact.source.Samples`) for ``recipe``
    (``event_kind='step'``, ``polarity`` not 'auto'); ``window`` and ``range_mask`` (s) are the
    resolved 'auto' values; the running median of the drift and the heights of the candidates on
    ``workers`` threads (the same numbers).

    Returns the event table of :func:`~nbtools.impact.find_events` with its ``attrs`` but
    ``recipe`` and ``params`` (added by the prepared trace).
    """
    p = recipe
    fs, t0, meta, source = samples.fs, samples.t0, samples.meta, samples.source
    x = np.asarray(samples.x, dtype=np.float64)
    n = x.size
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        raise DataError(
            f"the trace has a non-finite sample (NaN or Inf) at index {bad[0]} (t = {bad[0] / fs:g} s); "
            "remove or interpolate the gap before detecting steps")
    if np.ptp(x) == 0:
        raise DataError("the trace is constant (every sample equal): no noise, no steps to detect")
    w = step_window(p, fs)
    if n < 4 * w:
        raise DataError(f"the trace has {n} samples; step detection needs at least {4 * w}")
    npol = p.n_polarities
    th = auto_threshold(0.25 / w, p.false_rate, npol) if p.threshold == "auto" else p.threshold
    # drift per sample: running median over the baseline window of the
    # differences at lag w / w (first differences are far noisier than the
    # window means they correct)
    win = max(3, int(window * fs) | 1)
    dw = np.full(n, np.nan)
    dw[w // 2: w // 2 + n - w] = (x[w:] - x[:-w]) / w
    drift = _running_drift(dw, win, workers)
    c = np.concatenate([[0.0], np.cumsum(x)])
    i = np.arange(w, n - w + 1)
    after = (c[i + w] - c[i]) / w
    before = (c[i] - c[i - w]) / w
    diff = after - before - drift[i] * w
    sig_est = _noise_windows(diff, w)
    if not sig_est > 0:
        sig_est = _noise_diff(x)
    sigma = p.noise if p.noise is not None else sig_est
    if not sigma > 0:
        sigma = float(np.std(np.diff(x))) / math.sqrt(2) or 1e-30
    dz = diff / (sigma * math.sqrt(2.0 / w))
    z = np.zeros(n)
    z[i] = dz
    if p.polarity == "positive":
        score = z
    elif p.polarity == "negative":
        score = -z
    else:
        score = np.abs(z)
    pk, _ = signal.find_peaks(score, height=th, distance=w)
    # mask the start (charging) when asked
    masked = []
    reason = np.full(pk.size, "", dtype=object)
    if p.mask_start not in ("auto", None) and p.mask_start > 0:
        reason[pk < p.mask_start * fs] = "in masked region (mask_start)"
        masked.append([t0, t0 + p.mask_start])
    for tc in (meta or {}).get("range_changes", []) or []:
        ci = (float(tc) - t0) * fs
        wr = range_mask * fs
        reason[(np.abs(pk - ci) <= wr) & (reason == "")] = "range switch"
    if p.mask_start == "auto" and pk.size:
        # charging decay: where the drift per window exceeds a tenth of the
        # threshold, two-window differences are not steps
        steep = np.abs(drift) * w > 0.1 * th * sigma * math.sqrt(2.0 / w) + 3 * np.median(np.abs(drift)) * w
        calm = np.flatnonzero(~steep)
        t_calm = int(calm[0]) if calm.size else n
        hit = (pk < t_calm) & (reason == "")
        reason[hit] = "charging transient"
        if t_calm > 0:
            masked.append([t0, t0 + t_calm / fs])
    # heights from the stretches between neighbouring steps
    edges = np.concatenate([[0], pk, [n]])
    h = np.empty(pk.size)
    base = np.empty(pk.size)
    abrupt = np.ones(pk.size, bool)
    # plateaus of at most PLATEAU_WINDOWS windows: the drift correction is
    # linear, a decaying background is not over a whole baseline window
    reach = min(win, PLATEAU_WINDOWS * w)

    def heights(ks):
        out = []
        for k in ks:
            s = pk[k]
            # (the samples next to the neighbouring steps hold part of them)
            a0 = max(edges[k] + (2 if k else 0), s - reach)
            b1 = min(edges[k + 2] - (1 if k + 1 < pk.size else 0), s + reach)
            out.append(_step_height(x, a0, s, b1, drift[s]))
        return ks, out

    for ks, rows in pmap(heights, np.array_split(np.arange(pk.size), max(1, min(pk.size, 4 * workers))), workers):
        for k, (b_, h_, ab_) in zip(ks, rows):
            base[k], h[k], abrupt[k] = b_, h_, ab_
    small = (np.abs(h) < th * sigma * math.sqrt(2.0 / w)) | (np.sign(h) != np.sign(z[pk]))
    reason[small & (reason == "")] = "too small (height below threshold)"
    reason[~abrupt & (reason == "")] = "slope change, not a step"
    # an overshoot relaxing: a smaller step of the other sign right after a step
    last = -1
    for k in range(pk.size):
        if reason[k]:
            continue
        if last >= 0 and pk[k] - pk[last] <= RELAX_WINDOWS * w and np.sign(h[k]) != np.sign(h[last]) \
                and abs(h[k]) < 0.5 * abs(h[last]):
            reason[k] = "relaxation after the previous step"
            continue
        last = k
    ts = pk / fs
    df = pd.DataFrame({c_: pd.Series(dtype=float) for c_ in EVENT_COLUMNS})
    df = pd.DataFrame({
        "t_start": ts, "t_peak": ts, "t_end": ts, "peak": h, "charge": np.nan, "charge_sd": np.nan,
        "duration": 0.0, "snr": np.abs(h) / sigma, "rise_time": np.nan, "decay_tau": np.nan,
        "fwhm": np.nan, "baseline": base, "polarity": np.where(h > 0, "positive", "negative"),
        "kind": "step", "step_height": h, "flags": "", "i_start": pk.astype(np.int64), "i_peak": pk.astype(np.int64),
        "i_end": pk.astype(np.int64), "i_int_start": pk.astype(np.int64), "i_int_end": pk.astype(np.int64),
        "z": z[pk],
    })
    ok = reason == ""
    events = df[ok].reset_index(drop=True)
    rejected = df[~ok].reset_index(drop=True)
    rejected["reason"] = reason[~ok].astype(str)
    if rejected.empty:
        rejected = empty_table("step")
    events.attrs.update(
        noise=float(sigma), noise_estimate=float(sig_est), noise_upcrossings=0.25 / w,
        noise_bandwidth=0.25 / w * fs, threshold=float(th), threshold_A=float(th * sigma * math.sqrt(2.0 / w)),
        hysteresis_A=float("nan"), baseline_method="step: window difference with drift correction",
        baseline_window=float(window), baseline_block=int(w),
        resolved=dict(baseline_window=float(window), threshold=float(th),
                      window_samples=int(w), range_mask=float(range_mask)),
        n_samples=n, fs=float(fs), t0=float(t0), duration=n / fs,
        expected_false_per_s=float(rice_rate(0.25 / w * fs, th, npol)),
        masked=masked, source=source, kind="step", n_merged=0, rejected=rejected,
        baseline_curve=_level_curve(x, fs, t0, window),
    )
    return events
