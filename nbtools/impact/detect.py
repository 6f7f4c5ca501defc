"""Event detection: :func:`find_events`.

Pipeline (every stage works on sample ranges, so a memory-mapped file is
processed chunk by chunk with results identical to the in-memory run):

1. block means of the trace (one pass, also finds NaN/Inf);
2. baseline = running median of the block means (``baseline='auto'``);
3. noise = robust SD of the residual on a sample of the trace; threshold;
4. hysteresis detection (one pass, numba), events' blocks masked, 2-3 again;
5. rejections (charging transient, range switches, too short, too close);
6. features of each event (only samples near events are read).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

import warnings

from ..errors import DataError, NbtoolsWarning, ParameterError
from ..trace import Trace
from . import _kernels
from .baseline import blocks_of_events, block_size, running_median
from .noise import (MAX_NOISE_SAMPLES, NoiseSample, auto_threshold, charge_noise_curve, charge_noise_sd,
                    mains_amplitude, mains_sample, merge_curves, robust_sigma, upcrossing_rate)

__all__ = ["find_events", "prepare", "PreparedTrace", "EVENT_COLUMNS", "DEFAULTS"]

#: Columns of the event table, in order.
EVENT_COLUMNS = [
    "t_start", "t_peak", "t_end", "peak", "charge", "charge_sd", "duration", "snr",
    "rise_time", "decay_tau", "fwhm", "baseline", "polarity", "kind",
    "step_height", "i_start", "i_peak", "i_end", "i_int_start", "i_int_end",
]

#: Default parameters of :func:`find_events` (JSON-serialisable).
DEFAULTS = dict(
    threshold="auto",
    polarity="both",
    kind="spike",
    baseline="auto",
    baseline_window="auto",
    baseline_degree=3,
    hysteresis=1.0,
    min_duration=0.0,
    min_separation=0.0,
    merge=True,
    mask_start="auto",
    range_mask="auto",
    noise=None,
    false_rate=1e-7,
    iterations=3,
    mains="auto",
    chunk_size=None,
)

_POLARITY = {"both": "both", "positive": "positive", "anodic": "positive", "+": "positive",
             "negative": "negative", "cathodic": "negative", "-": "negative"}
_BASELINES = ("auto", "median", "poly", "constant", "none")
#: mains pickup is modelled ('auto') when its amplitude exceeds MAINS_MIN
#: noise SD and MAINS_LINE times the broadband level at nearby frequencies
MAINS_MIN = 0.05
MAINS_LINE = 2.0
#: arrays larger than this many samples (or memory maps) are processed in chunks
AUTO_CHUNK = 1 << 24


# --------------------------------------------------------------------------- input
@dataclass
class _Source:
    """Sample access by global index range; re-maps memory-mapped files per chunk."""

    x: np.ndarray
    filename: str | None = None
    offset: int = 0

    @classmethod
    def of(cls, x):
        fn = getattr(x, "filename", None)
        if isinstance(x, np.memmap) and fn and x.flags.c_contiguous:
            return cls(x, str(fn), int(getattr(x, "offset", 0)))
        return cls(x)

    @property
    def n(self):
        return self.x.shape[0]

    def read(self, i0, i1):
        if self.filename is None or i1 - i0 == self.n:
            out = np.asarray(self.x[i0:i1])
        else:
            out = np.memmap(self.filename, dtype=self.x.dtype, mode="r",
                            offset=self.offset + i0 * self.x.dtype.itemsize, shape=(i1 - i0,))
        if not out.dtype.isnative:  # e.g. big-endian file data: the kernels take native numbers
            out = out.astype(out.dtype.newbyteorder("="))
        return out


def _as_samples(trace, fs):
    """(samples, fs, t0, meta, source) from a Trace or a 1-D array."""
    if isinstance(trace, Trace):
        if fs is not None:
            try:
                fsf = float(fs)
            except (TypeError, ValueError):
                raise ParameterError(f"fs must be a sampling rate in Hz, found {fs!r}") from None
            if not math.isclose(fsf, trace.fs, rel_tol=1e-9):
                raise ParameterError(
                    f"fs={fs!r} Hz contradicts the Trace's fs={trace.fs:g} Hz; "
                    "leave fs=None for a Trace (it carries its own sampling rate)")
        return trace.current, trace.fs, trace.t0, trace.meta, trace.source
    if fs is None:
        raise ParameterError(
            "fs (sampling rate in Hz) is required when trace is a plain array; "
            "call find_events(current, fs=...) or pass an nbtools.Trace")
    try:
        fsf = float(fs)
    except (TypeError, ValueError):
        raise ParameterError(f"fs must be a sampling rate in Hz, found {fs!r}") from None
    if not np.isfinite(fsf) or fsf <= 0:
        raise ParameterError(f"fs must be a positive sampling rate in Hz, found {fs!r}")
    x = trace if isinstance(trace, np.ndarray) else np.asarray(trace)
    if x.ndim != 1:
        raise DataError(f"trace must be 1-D current samples, found an array of shape {x.shape}")
    return x, fsf, 0.0, {}, None


def _check_params(p, fs, n):
    """Validate and normalise parameters; returns resolved values (dict)."""
    known = set(DEFAULTS)
    r = {}
    pol = p["polarity"]
    if not isinstance(pol, str) or pol.lower() not in _POLARITY:
        raise ParameterError(
            f"polarity must be 'both', 'positive' (anodic) or 'negative' (cathodic), found {pol!r}")
    p["polarity"] = _POLARITY[pol.lower()]
    if p["kind"] not in ("spike", "step"):
        raise ParameterError(f"kind must be 'spike' or 'step', found {p['kind']!r}")
    if p["baseline"] not in _BASELINES:
        raise ParameterError(f"baseline must be one of {_BASELINES}, found {p['baseline']!r}")
    th = p["threshold"]
    if th != "auto":
        try:
            th = float(th)
        except (TypeError, ValueError):
            raise ParameterError(f"threshold must be 'auto' or a number of noise SDs, found {th!r}") from None
        if not np.isfinite(th) or th <= 0:
            raise ParameterError(f"threshold must be a positive number of noise SDs, found {th!r}")
        p["threshold"] = th
    h = float(p["hysteresis"])
    if not np.isfinite(h) or h < 0:
        raise ParameterError(f"hysteresis must be >= 0 (noise SDs), found {p['hysteresis']!r}")
    if th != "auto" and h >= th:
        raise ParameterError(
            f"hysteresis ({h:g}) must be below threshold ({th:g}): events end when the "
            "residual falls back within hysteresis x noise")
    p["hysteresis"] = h
    for k in ("min_duration", "min_separation"):
        v = float(p[k])
        if not np.isfinite(v) or v < 0:
            raise ParameterError(f"{k} must be a time >= 0 in seconds, found {p[k]!r}")
        p[k] = v
    fr = float(p["false_rate"])
    if not (0 < fr < 0.1):
        raise ParameterError(f"false_rate must be in (0, 0.1) false events per sample, found {p['false_rate']!r}")
    duration = n / fs
    bw = p["baseline_window"]
    if bw == "auto":
        win = max(1.0, 300.0 / fs)
        win = min(win, duration / 4.0)
    else:
        try:
            win = float(bw)
        except (TypeError, ValueError):
            raise ParameterError(f"baseline_window must be 'auto' or seconds, found {bw!r}") from None
        if not np.isfinite(win) or win <= 0:
            raise ParameterError(f"baseline_window must be a positive time in seconds, found {bw!r}")
        if win > duration:
            raise DataError(
                f"the trace ({duration:g} s, {n} samples) is shorter than baseline_window={win:g} s; "
                "pass a shorter baseline_window or baseline='constant'")
    r["baseline_window"] = win
    ms = p["mask_start"]
    if ms not in ("auto", None):
        ms = float(ms)
        if not np.isfinite(ms) or ms < 0:
            raise ParameterError(f"mask_start must be 'auto', None or seconds >= 0, found {p['mask_start']!r}")
        p["mask_start"] = ms
    rm = p["range_mask"]
    r["range_mask"] = max(10.0 / fs, 0.01) if rm == "auto" else float(rm)
    if p["noise"] is not None:
        nz = float(p["noise"])
        if not np.isfinite(nz) or nz <= 0:
            raise ParameterError(f"noise must be a positive current in A (or None), found {p['noise']!r}")
        p["noise"] = nz
    cs = p["chunk_size"]
    if cs is not None:
        cs = int(cs)
        if cs < 64:
            raise ParameterError(f"chunk_size must be at least 64 samples (or None), found {p['chunk_size']!r}")
        p["chunk_size"] = cs
    mn = p["mains"]
    if mn not in ("auto", None):
        try:
            mn = float(mn)
        except (TypeError, ValueError):
            raise ParameterError(f"mains must be 'auto', None or a frequency in Hz, found {p['mains']!r}") from None
        if not (0 < mn < fs / 2):
            raise ParameterError(f"mains must be a frequency in (0, fs/2) Hz, found {p['mains']!r}")
        p["mains"] = mn
    it = int(p["iterations"])
    if it < 1:
        raise ParameterError(f"iterations must be >= 1, found {p['iterations']!r}")
    p["iterations"] = it
    unknown = set(p) - known
    if unknown:
        raise ParameterError(f"unknown parameter(s) {sorted(unknown)}; known: {sorted(known)}")
    return r


# --------------------------------------------------------------------------- stages
def _chunks(n, chunk, B):
    chunk = max(B, (chunk // B) * B)
    return [(i, min(i + chunk, n)) for i in range(0, n, chunk)]


#: the hysteresis scan skips quiet sub-blocks of about this many samples
SUB_BLOCK = 256
#: at most this many sub-blocks in all (their min/max stay in memory)
MAX_SUB_BLOCKS = 1 << 22


def _sub_count(B, nb):
    """Sub-blocks per block: about SUB_BLOCK samples each, within MAX_SUB_BLOCKS."""
    return int(max(1, min(round(B / SUB_BLOCK), 8, MAX_SUB_BLOCKS // max(nb, 1), B)))


def _block_stats(src, chunks, B):
    """Block means, sub-block min/max (see :func:`_sub_count`), first bad sample."""
    nsub = _sub_count(B, (src.n + B - 1) // B)
    parts = []
    for i0, i1 in chunks:
        st = _kernels.block_stats(src.read(i0, i1), B, nsub)
        if st[3] >= 0:
            return None, None, None, i0 + st[3]
        parts.append(st[:3])
    return tuple(np.concatenate([q[k] for q in parts]) for k in range(3)) + (-1,)


def _baseline_values(method, means, B, win_blocks, mask, degree):
    nb = means.size
    if method == "none":
        return np.zeros(nb)
    valid = ~mask if mask is not None else np.ones(nb, bool)
    if not valid.any():
        valid = np.ones(nb, bool)
    if method == "constant":
        return np.full(nb, float(np.median(means[valid])))
    if method == "poly":
        c = np.arange(nb, dtype=np.float64)
        deg = int(min(degree, max(valid.sum() - 1, 0)))
        xc = (c - c.mean()) / max(c.std(), 1.0)
        coef = np.polyfit(xc[valid], means[valid], deg)
        return np.polyval(coef, xc)
    return running_median(means, win_blocks, None if mask is None else mask)


def _hysteresis(src, chunks, B, bvals, on_pos, off_pos, on_neg, off_neg, mins=None, maxs=None):
    """All events (global start, end, sign); exact across chunks (state carry)."""
    S, E, G = [], [], []
    cap = 4096
    starts = np.empty(cap, np.int64)
    ends = np.empty(cap, np.int64)
    signs = np.empty(cap, np.int8)
    pend_start, state = -1, 0
    for c0, c1 in chunks:
        x = src.read(c0, c1)
        i = 0
        m = c1 - c0
        while i < m:
            cnt, stop, st = _kernels.hysteresis(x, i, m, c0, B, bvals, on_pos, off_pos,
                                                on_neg, off_neg, starts, ends, signs, state, mins, maxs)
            s_g = starts[:cnt] + c0
            e_g = ends[:cnt] + c0
            g_g = signs[:cnt].copy()
            if cnt and pend_start >= 0:
                s_g[0] = pend_start  # continuation of an event open at the chunk start
                pend_start = -1
            if st != 0 and stop == m:
                # last event still open at the chunk end: carry it
                pend_start = int(s_g[-1])
                s_g, e_g, g_g = s_g[:-1], e_g[:-1], g_g[:-1]
            S.append(s_g)
            E.append(e_g)
            G.append(g_g)
            state = st if stop == m else 0
            if stop < m:
                cap *= 2
                starts = np.empty(cap, np.int64)
                ends = np.empty(cap, np.int64)
                signs = np.empty(cap, np.int8)
            i = stop
        del x
    if pend_start >= 0:
        S.append(np.array([pend_start], np.int64))
        E.append(np.array([src.n], np.int64))
        G.append(np.array([state], np.int8))
    if not S:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int8)
    return np.concatenate(S), np.concatenate(E), np.concatenate(G)


#: mains pickup is fitted once per segment of this many periods (shared by
#: the events in it); short enough to follow a drifting mains frequency
MAINS_SEG_PERIODS = 10
MAINS_HARMONICS = 3


def _mains_coefs(src, chunks, B, bvals, starts, ends, omega, clip):
    """Mains harmonics per segment of MAINS_SEG_PERIODS periods holding an
    event: ``(coef (n_seg, 2 h) NaN where not fitted, seg_len)``. Events and
    their tails are excluded from the fits; the segment grid is global, so
    the result does not depend on the chunking."""
    n = src.n
    nh = MAINS_HARMONICS
    if omega <= 0 or starts.size == 0:
        return np.empty((0, 2 * nh)), 1
    seg_len = max(64, int(round(MAINS_SEG_PERIODS * 2 * np.pi / omega)))
    nseg = (n + seg_len - 1) // seg_len
    coef = np.full((nseg, 2 * nh), np.nan)
    segs = np.unique(starts // seg_len).astype(np.int64)
    dur = ends - starts
    ex_a = starts - dur - 16
    ex_b = np.maximum.accumulate(ends + 3 * dur + 16)
    per = max(1, (chunks[0][1] - chunks[0][0]) // seg_len)
    k = 0
    while k < segs.size:
        # segments within one chunk's length of each other are read at once
        j0 = int(segs[k])
        m = int(np.searchsorted(segs, j0 + per, side="left"))
        grp = segs[k:m]
        g0, g1 = j0 * seg_len, min(n, (int(grp[-1]) + 1) * seg_len)
        _kernels.mains_segments(src.read(g0, g1), g0, B, bvals, grp, seg_len, ex_a, ex_b,
                                omega, nh, clip, coef)
        k = m
    return coef, seg_len


def _features(src, chunks, B, bvals, starts, ends, signs, off_pos, off_neg, which=None, omega=0.0,
              mcoef=None, seg_len=1, min_tail=0, weak_level=np.inf):
    """Feature rows for events ``which`` (default all), reading near them only."""
    ne = starts.size
    if mcoef is None:
        mcoef = np.empty((0, 2 * MAINS_HARMONICS))
    which = np.arange(ne, dtype=np.int64) if which is None else np.asarray(which, np.int64)
    out = np.empty((which.size, 13), np.float64)
    if which.size == 0:
        return out
    n = src.n
    chunk_of = np.searchsorted([c1 for _, c1 in chunks], starts[which], side="right")
    for k in np.unique(chunk_of):
        sel = np.flatnonzero(chunk_of == k)
        ev = which[sel]
        e0, e1 = int(ev[0]), int(ev[-1])
        w0 = 0 if e0 == 0 else min(int(ends[e0 - 1]), int(starts[e0]))
        w1 = n if e1 == ne - 1 else max(int(starts[e1 + 1]), int(ends[e1]))
        x = src.read(w0, w1)
        o = np.empty((ev.size, 13), np.float64)
        _kernels.event_features(x, w0, n, B, bvals, starts, ends, signs, ev, off_pos, off_neg, o, omega,
                                mcoef, seg_len, int(min_tail), float(weak_level))
        out[sel] = o
        del x
    return out


def _merge_close(starts, ends, signs, gap):
    """Merge same-sign events separated by fewer than ``gap`` samples."""
    if starts.size < 2 or gap <= 0:
        return starts, ends, signs
    keep_s, keep_e, keep_g = [int(starts[0])], [int(ends[0])], [int(signs[0])]
    for s, e, g in zip(starts[1:], ends[1:], signs[1:]):
        if g == keep_g[-1] and s - keep_e[-1] < gap:
            keep_e[-1] = max(keep_e[-1], int(e))
        else:
            keep_s.append(int(s))
            keep_e.append(int(e))
            keep_g.append(int(g))
    return (np.array(keep_s, np.int64), np.array(keep_e, np.int64), np.array(keep_g, np.int8))


#: events above this SNR give their own peak time; weaker ones use the
#: rising edge (see _peak_positions)
SNR_PEAK_OWN = 20.0
#: weak events are integrated at least this many decay constants past the peak
TAIL_TAUS = 4.0
#: the decay constant for that is the median of the strong events among the first TAIL_PROBE
TAIL_PROBE = 512


#: events at least this strong keep their own (parabolic) arg-max as peak time
SNR_ARGMAX = 100.0


#: without 3 events at SNR_PEAK_OWN, the shape of a recording's events comes
#: from its REFERENCE_COUNT strongest events above SNR_REFERENCE (at least 5)
SNR_REFERENCE = 8.0
REFERENCE_COUNT = 20


def _reference_events(snr, valid):
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


def _tail_samples(feat, sigma):
    """TAIL_TAUS x the median decay (samples) of the reference events (see
    :func:`_reference_events`; 0 without any)."""
    snr = np.abs(feat[:, 3]) / sigma
    ref = _reference_events(snr, np.isfinite(feat[:, 6]) & (feat[:, 6] > 0))
    if not ref.any():
        return 0
    return int(math.ceil(TAIL_TAUS * float(np.median(feat[ref, 6]))))


def _peak_positions(feat, snr):
    """Peak position (samples) of each event.

    On the slowly decaying top of a filtered transient the arg-max wanders
    by several samples even at SNR 20-30 (a 1 ms decay drops 2 % in 2
    samples at 100 kHz), while the rising edge is steep: its half-maximum
    crossing is precise to a fraction of a sample. With D the median
    half-max -> peak delay of the reference events (:func:`_reference_events`;
    without any, every event keeps its own parabolic arg-max):
    events below SNR_PEAK_OWN get ``t_half + D``; events up to SNR_ARGMAX
    get ``t_half + D * rise / median rise`` (their 10-90 % rise time is
    precise enough to follow shapes that vary with particle size); stronger
    events keep their arg-max.
    """
    sub = feat[:, 11].copy()
    half = feat[:, 12]
    rise = feat[:, 5]
    strong = _reference_events(snr, np.isfinite(half))
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


def _merge_tails(starts, ends, signs, feat):
    """Merge a candidate that rises out of the decaying tail of the previous
    event (same sign, starting within twice the previous event's fall time of
    its end, and peaking below half of it): a noise dip under the lower level
    split one transient in two. Returns the merged arrays, the number merged,
    the kept row indices and the positions of the extended events."""
    n = starts.size
    keep = np.empty(n, np.int64)
    changed = np.empty(n, np.int64)
    ends2 = ends.copy()
    nk, nch, merged = _kernels.merge_tails(starts, ends2, signs, feat[:, 3].copy(),
                                           feat[:, 2].astype(np.int64), keep, changed)
    keep = keep[:nk]
    return starts[keep], ends2[keep], signs[keep], merged, keep, changed[:nch]


def _table(feat, signs, fs, noise, kind, charge_sd=None):
    ia, ib, ip = feat[:, 0], feat[:, 1], feat[:, 2]
    if charge_sd is None:
        charge_sd = np.full(len(feat), np.nan)
    peak = feat[:, 3]
    snr = np.abs(peak) / noise if noise > 0 else np.full(len(peak), np.inf)
    df = pd.DataFrame({
        "t_start": feat[:, 9] / fs,
        "t_peak": _peak_positions(feat, snr) / fs,
        "t_end": feat[:, 10] / fs,
        "peak": peak,
        "charge": feat[:, 4] / fs,
        "charge_sd": charge_sd,
        "duration": (feat[:, 10] - feat[:, 9]) / fs,
        "snr": snr,
        "rise_time": feat[:, 5] / fs,
        "decay_tau": feat[:, 6] / fs,
        "fwhm": feat[:, 7] / fs,
        "baseline": feat[:, 8],
        "polarity": pd.Categorical.from_codes((np.asarray(signs) > 0).astype(np.int8),
                                              categories=["negative", "positive"]),
        "kind": pd.Categorical.from_codes(np.zeros(len(peak), np.int8), categories=[kind]),
        "step_height": np.nan,
        "i_start": feat[:, 9].astype(np.int64),
        "i_peak": ip.astype(np.int64),
        "i_end": feat[:, 10].astype(np.int64),
        "i_int_start": ia.astype(np.int64),
        "i_int_end": ib.astype(np.int64),
    })
    return df


def _empty_table(kind):
    df = _table(np.empty((0, 13)), np.empty(0, np.int8), 1.0, 1.0, kind)
    df["reason"] = pd.Series(dtype=object)
    return df


# --------------------------------------------------------------------------- API
def find_events(trace, fs=None, *, blank=None, **params) -> pd.DataFrame:
    """Detect impact events (spikes or steps) in a current trace.

    Parameters
    ----------
    trace : Trace or array_like
        Current in amperes (A); a 1-D array needs ``fs``. A memory-mapped
        array is read chunk by chunk.
    fs : float, optional
        Sampling rate (Hz); only for plain arrays (must match a Trace's).
    threshold : float or 'auto'
        Detection threshold in noise SDs. ``'auto'`` (default) picks the level
        whose expected false-event rate for Gaussian noise of the measured
        bandwidth (Rice formula) is ``false_rate`` per sample (about 5-5.6 SD).
    polarity : {'both', 'positive', 'negative'}
        Sign of the events (IUPAC: anodic = positive). Default 'both'.
    kind : {'spike', 'step'}
        Transients returning to the baseline, or current steps (staircase).
    baseline : {'auto', 'median', 'poly', 'constant', 'none'}
        Background model: running median of block means with events masked
        ('auto' = 'median'), a polynomial of degree ``baseline_degree``, a
        constant (median), or none (trace already baseline-subtracted).
    baseline_window : float or 'auto'
        Running-median window in seconds; 'auto' = max(1 s, 300 samples),
        at most a quarter of the trace. Must exceed the event durations.
    hysteresis : float
        An event ends when the residual falls back within this many noise
        SDs (default 1).
    min_duration, min_separation : float
        Seconds. Shorter events are rejected ('too short'); events of the
        same sign closer than ``min_separation`` are merged (``merge=True``)
        or the later one rejected ('too close').
    mask_start : float, 'auto' or None
        Seconds at the start to ignore (charging transient). 'auto' rejects
        an excursion that starts at the first sample. None masks nothing.
    range_mask : float or 'auto'
        Seconds masked on each side of current-range switches listed in the
        Trace meta ``'range_changes'`` (s); 'auto' = max(10 samples, 10 ms).
    noise : float, optional
        Noise SD in amperes, instead of estimating it from the trace.
    blank : Trace or array, optional
        Blank recording (same electrode, no particles): its noise SD is used.
        The returned ``params`` then hold ``noise`` and ``threshold`` as numbers.
    false_rate : float
        Target false events per sample for ``threshold='auto'`` (1e-7).
    iterations : int
        Baseline/noise re-estimations with event blocks masked (3).
    mains : 'auto', float or None
        Mains pickup (Hz) subtracted from each event's local baseline so it
        does not bias the charge: 3 harmonics fitted once per segment of 10
        periods holding events (events excluded from the fit). 'auto'
        tests 50 and 60 Hz in the residual and models the one that stands
        out as a spectral line (2x the neighbouring frequencies, > 0.05
        noise SD); None: a line only.
    chunk_size : int, optional
        Samples per chunk; default whole array in memory, 2**24 for memory
        maps. Results do not depend on it.

    Returns
    -------
    pandas.DataFrame
        One row per event: ``t_start``, ``t_peak``, ``t_end`` (s from the
        trace start), ``peak`` (A, baseline-subtracted, signed), ``charge`` (C,
        signed), ``charge_sd`` (C, the SD that the recording's own noise gives
        a charge integrated over this event's range, measured on its
        event-free samples; spikes only), ``duration`` (s, between the
        lower-level crossings), ``snr``
        (|peak|/noise), ``rise_time`` (10-90 %, s), ``decay_tau`` (s),
        ``fwhm`` (s), ``baseline`` (A, background at the peak), ``polarity``,
        ``kind``, ``step_height`` (A, steps only), sample indices ``i_start``,
        ``i_peak``, ``i_end``, ``i_int_start``, ``i_int_end`` (charge
        integration range). ``attrs``: ``noise`` (A), ``threshold`` (SD),
        ``threshold_A``, ``hysteresis_A``, ``baseline_method``, ``params``
        (JSON-serialisable; ``find_events(trace, **params)`` reproduces the
        result), ``resolved`` (values chosen for 'auto'), ``n_samples``,
        ``fs``, ``t0``, ``duration``, ``noise_bandwidth`` (mean-level
        up-crossings per s), ``expected_false_per_s``, ``masked`` (list of
        [start, stop] s), ``rejected`` (DataFrame of rejected candidates with a
        ``reason`` column), ``source``, ``noise_bandwidth_estimate`` (the
        recording's own, also with ``blank``), ``noise_model_check`` and
        ``opposite_polarity_count`` (spikes; see
        :func:`nbtools.impact.stats.noise_model_check`).

    Examples
    --------
    >>> from nbtools.simulate import impact_trace
    >>> from nbtools.impact import find_events
    >>> tr, truth = impact_trace(duration=2.0, fs=20e3, rate=5.0, seed=1)
    >>> ev = find_events(tr)
    >>> abs(len(ev) - len(truth)) <= 2
    True
    """
    return prepare(trace, fs, blank=blank, **params).detect()


class PreparedTrace:
    """A trace with its baseline, noise and mains pickup estimated once, for
    fast re-detection at other thresholds (e.g. a threshold slider).

    Made by :func:`prepare`. ``detect(threshold)`` equals
    ``find_events(trace, blank=blank, **params, threshold=threshold)``
    exactly, without repeating the baseline and noise estimation.

    Attributes
    ----------
    params : dict
        The parameters given to :func:`prepare` (normalised).
    noise : float
        Noise SD (A) used for detection.
    threshold_auto : float
        The automatic threshold (SD) for ``false_rate`` (spikes; NaN for steps).
    baseline_curve : dict
        ``{'t': s, 'value': A}`` of the background (spikes; None for steps).
    """

    def __init__(self, x, fs, t0, meta, source, p, resolved, blank_noise):
        self.params = dict(p)
        self._args = (x, fs, t0, meta, source, p, resolved, blank_noise)
        self._state = None
        self.noise = self.threshold_auto = float("nan")
        self.baseline_curve = None
        if p["kind"] == "spike":
            st = _prepare_spikes(x, fs, t0, meta, source, p, resolved, blank_noise)
            self._state = st
            self.noise = float(st["sigma"])
            self.threshold_auto = float(st["th_auto"])
            self.baseline_curve = _baseline_curve(st["B"], st["bvals"], st["n"], st["fs"], st["t0"])
            if blank_noise is not None:
                msg = blank_mismatch(st["sigma"], st["nu0"] * fs, st["sig_est"], st["nu0_est"] * fs)
                if msg:
                    warnings.warn(msg + " find_events(blank=...) detects with the blank's noise, so the threshold "
                                  "in amperes follows the blank, not this recording. Use a blank of the same "
                                  "electrode, filter and gain, or leave blank=None and count the blank's false "
                                  "events at the recording's threshold with false_event_rate(blank, events).",
                                  NbtoolsWarning, stacklevel=4)

    def detect(self, threshold=None) -> pd.DataFrame:
        """Events at ``threshold`` (noise SDs or 'auto'; default: the prepared
        parameters' threshold). Same table as :func:`find_events`."""
        th = self.params["threshold"] if threshold is None else _check_threshold(threshold,
                                                                                 self.params["hysteresis"])
        if self._state is not None:
            return _detect_spikes(self._state, th)
        from .steps import find_steps

        x, fs, t0, meta, source, p, resolved, blank_noise = self._args
        return find_steps(x, fs, t0=t0, meta=meta, source=source, params=dict(p, threshold=th),
                          resolved=resolved, blank_noise=blank_noise)


def prepare(trace, fs=None, *, blank=None, **params) -> PreparedTrace:
    """Estimate baseline, noise and mains pickup once; detect at any threshold.

    Parameters are those of :func:`find_events`. The returned
    :class:`PreparedTrace`'s ``.detect(threshold)`` gives exactly
    ``find_events(trace, fs, blank=blank, **params, threshold=threshold)``
    but only redoes the threshold-dependent stages (detection, features).

    Examples
    --------
    >>> from nbtools.simulate import impact_trace
    >>> from nbtools.impact import find_events, prepare
    >>> tr, _ = impact_trace(duration=2.0, fs=20e3, rate=5.0, seed=1)
    >>> pt = prepare(tr)
    >>> pt.detect(6.0).equals(find_events(tr, threshold=6.0))
    True
    """
    p = dict(DEFAULTS)
    p.update(params)
    x, fs, t0, meta, source = _as_samples(trace, fs)
    n = int(x.shape[0])
    if n == 0:
        raise DataError("the trace is empty (0 samples); load a recording with data")
    if n < 16:
        raise DataError(f"the trace has only {n} samples; at least 16 are needed to estimate a baseline")
    resolved = _check_params(p, fs, n)
    blank_noise = None if blank is None else _noise_of_blank(blank, fs, p)
    return PreparedTrace(x, fs, t0, meta, source, p, resolved, blank_noise)


#: a blank is a fair control when its noise SD and bandwidth are within this
#: factor of the recording's own
BLANK_TOLERANCE = 1.3


def blank_mismatch(blank_noise, blank_bandwidth, noise, bandwidth, tol=BLANK_TOLERANCE):
    """A message when a blank's noise SD (A) or bandwidth (Hz, mean-level
    up-crossings per s) differs from the recording's by more than ``tol``
    (ratio); None when they agree (or are unknown)."""
    bad = []
    for what, b, r, u in (("noise", blank_noise, noise, "A"), ("bandwidth", blank_bandwidth, bandwidth, "Hz")):
        if b and r and np.isfinite(b) and np.isfinite(r) and b > 0 and r > 0 and not 1 / tol <= b / r <= tol:
            bad.append(f"{what} {b:.3g} {u} vs {r:.3g} {u} ({b / r:.2g}x)")
    if not bad:
        return None
    return (f"the blank's noise (sigma = {blank_noise:.3g} A, bandwidth {blank_bandwidth:.3g} Hz) differs from "
            f"the recording's own (sigma = {noise:.3g} A, bandwidth {bandwidth:.3g} Hz) by more than "
            f"{(tol - 1) * 100:.0f} %: " + "; ".join(bad) + ". Different filter, gain or electrode? "
            "The blank is not a fair control of this recording.")


def _check_threshold(th, h):
    if isinstance(th, str) and th == "auto":
        return th
    try:
        th = float(th)
    except (TypeError, ValueError):
        raise ParameterError(f"threshold must be 'auto' or a number of noise SDs, found {th!r}") from None
    if not np.isfinite(th) or th <= 0:
        raise ParameterError(f"threshold must be a positive number of noise SDs, found {th!r}")
    if h >= th:
        raise ParameterError(
            f"hysteresis ({h:g}) must be below threshold ({th:g}): events end when the "
            "residual falls back within hysteresis x noise")
    return th


def _noise_of_blank(blank, fs, p):
    bp = {k: v for k, v in p.items() if k not in ("noise", "chunk_size")}
    bp["threshold"] = "auto" if p["threshold"] == "auto" else p["threshold"]
    if isinstance(blank, Trace):
        bdf = find_events(blank, **bp)
    else:
        bdf = find_events(np.asarray(blank), fs, **bp)
    return bdf.attrs["noise"], bdf.attrs["noise_upcrossings"]


def _prepare_spikes(x, fs, t0, meta, source, p, resolved, blank_noise):
    """Block statistics, baseline, noise and mains of a trace: everything of
    find_events that does not depend on the threshold."""
    n = int(x.shape[0])
    src = _Source.of(x)
    win_s = resolved["baseline_window"]
    B = block_size(win_s * fs)
    chunk = p["chunk_size"] or (AUTO_CHUNK if src.filename else n)
    chunks = _chunks(n, chunk, B)
    means, mins, maxs, bad = _block_stats(src, chunks, B)  # mins/maxs per sub-block
    if bad >= 0:
        raise DataError(
            f"the trace has a non-finite sample (NaN or Inf) at index {bad} (t = {bad / fs:g} s); "
            "remove or interpolate the gap (e.g. Trace slicing) before detecting events")
    if float(np.ptp(means)) == 0.0 and _is_constant(src, chunks):
        raise DataError("the trace is constant (every sample equal): no noise, no events to detect")
    nb = means.size
    win_blocks = max(1, int(round(win_s * fs / B)))
    method = "median" if p["baseline"] == "auto" else p["baseline"]
    pol = p["polarity"]
    npol = 2 if pol == "both" else 1
    h = p["hysteresis"]

    # masked regions (global sample ranges)
    skip_a, skip_b, skip_why = [], [], []
    if isinstance(p["mask_start"], float) and p["mask_start"] > 0:
        skip_a.append(0)
        skip_b.append(min(n, int(round(p["mask_start"] * fs))))
        skip_why.append("in masked region (mask_start)")
    for tc in (meta or {}).get("range_changes", []) or []:
        c = int(round((float(tc) - t0) * fs))
        w = int(math.ceil(resolved["range_mask"] * fs))
        if -w <= c < n + w:
            skip_a.append(max(0, c - w))
            skip_b.append(min(n, c + w + 1))
            skip_why.append("range switch")

    # baseline, noise and threshold, iterated in the decimated domain: blocks
    # whose min/max leave the threshold band around the current baseline hold
    # events (or artefacts) and are masked for the next baseline/noise estimate
    bmin = mins.reshape(nb, -1).min(axis=1)
    bmax = maxs.reshape(nb, -1).max(axis=1)
    skip_blocks = blocks_of_events(nb, B, np.asarray(skip_a, np.int64), np.asarray(skip_b, np.int64))
    flagged = skip_blocks.copy()
    sample = NoiseSample(src.read, n)
    for it in range(p["iterations"] + 1):
        bvals = _baseline_values(method, means, B, win_blocks, flagged if flagged.any() else None,
                                 p["baseline_degree"])
        res, contiguous = sample.residual(B, bvals, flagged)
        sig_est = robust_sigma(res)
        nu0 = nu0_est = upcrossing_rate(res, contiguous)
        if blank_noise is not None:
            sigma, nu0 = blank_noise
        elif p["noise"] is not None:
            sigma = p["noise"]
        else:
            sigma = sig_est
        if not np.isfinite(sigma) or sigma <= 0:
            raise DataError(
                "could not estimate the noise: the residual is constant after the baseline; "
                "pass noise=<A> or a blank recording")
        th_auto = auto_threshold(nu0, p["false_rate"], npol)
        if it == p["iterations"]:
            break
        slack = np.abs(np.diff(bvals, prepend=bvals[0])) + np.abs(np.diff(bvals, append=bvals[-1]))
        exc = np.maximum(bmax - bvals, bvals - bmin)
        # blocks are masked at the automatic level whatever the detection
        # threshold: baseline and noise do not depend on it (see prepare())
        hot = exc > th_auto * sigma + slack
        # leading blocks whose mean moved with their extreme are the charging
        # decay, which the median must follow: not masked as events
        moved = hot & (np.abs(means - bvals) >= 0.5 * exc)
        hot &= ~(np.cumprod(moved) > 0)
        hot = hot | np.r_[False, hot[:-1]]  # event tails spill into the next block
        new_flag = hot | skip_blocks
        if np.array_equal(new_flag, flagged):
            break
        flagged = new_flag
    # the noise of a charge integral by window length, on the event-free sample
    charge_curve = charge_noise_curve(res, contiguous)
    # mains pickup: fitted in each event's local baseline when present
    mains_f, mains_A = None, float("nan")
    if p["mains"]:
        # 1 s runs (events clipped) resolve a 50/60 Hz line from the
        # broadband noise around it
        res, contiguous, fs_m = mains_sample(src.read, n, fs, B, bvals, sig_est)
    if p["mains"] == "auto":
        # a spectral line: the amplitude at 50 (60) Hz well above that of the
        # broadband noise at neighbouring frequencies
        best = 0.0
        for f in (50.0, 60.0):
            if f >= fs / 4:
                continue
            line = mains_amplitude(res, contiguous, fs_m, f)
            cont = np.nanmedian([mains_amplitude(res, contiguous, fs_m, f * k)
                                 for k in (0.6, 0.7, 1.4, 1.5)])
            if np.isfinite(line) and line > MAINS_LINE * cont and line > MAINS_MIN * sig_est \
                    and line / max(cont, 1e-300) > best:
                best = line / max(cont, 1e-300)
                mains_f, mains_A = f, line
    elif p["mains"] is not None:
        mains_f = float(p["mains"])
        mains_A = mains_amplitude(res, contiguous, fs_m, mains_f)
    omega = 2 * np.pi * mains_f / fs if mains_f else 0.0
    return {k: v for k, v in locals().items() if k in _STATE}


#: what _prepare_spikes hands to _detect_spikes
_STATE = ("x", "fs", "t0", "meta", "source", "p", "resolved", "blank_noise", "n", "src", "win_s", "B",
          "chunks", "means", "mins", "maxs", "nb", "method", "pol", "npol", "h", "skip_a", "skip_b",
          "skip_why", "bvals", "sigma", "sig_est", "nu0", "th_auto", "mains_f", "mains_A", "omega",
          "nu0_est", "charge_curve", "flagged")


def _detect_spikes(st, threshold):
    """Detection, features and table at ``threshold`` (SD or 'auto') on a
    prepared trace (see :func:`prepare`)."""
    (x, fs, t0, meta, source, p, resolved, blank_noise, n, src, win_s, B, chunks, means, mins, maxs, nb,
     method, pol, npol, h, skip_a, skip_b, skip_why, bvals, sigma, sig_est, nu0, th_auto, mains_f,
     mains_A, omega, nu0_est, charge_curve, flagged) = (st[k] for k in _STATE)
    p = dict(p, threshold=threshold)
    th = th_auto if threshold == "auto" else threshold
    if h >= th:
        raise ParameterError(f"hysteresis ({h:g}) must be below the threshold ({th:g} SD)")
    inf = np.inf
    on_pos = th * sigma if pol in ("both", "positive") else inf
    on_neg = th * sigma if pol in ("both", "negative") else inf
    off = h * sigma
    starts, ends, signs = _hysteresis(src, chunks, B, bvals, on_pos, off, on_neg, off, mins, maxs)

    gap = int(round(p["min_separation"] * fs))
    rej_s, rej_e, rej_g, rej_r = [], [], [], []
    if p["merge"]:
        starts, ends, signs = _merge_close(starts, ends, signs, gap)
    mcoef, seg_len = _mains_coefs(src, chunks, B, bvals, starts, ends, omega, 4.0 * sigma)
    # weak events: their tail sinks into the noise before the lower level is
    # crossed for good; they are integrated to TAIL_TAUS decay constants past
    # the peak (median decay of the strong events among the first TAIL_PROBE)
    fk = dict(omega=omega, mcoef=mcoef, seg_len=seg_len)
    probe = min(starts.size, TAIL_PROBE)
    feat = _features(src, chunks, B, bvals, starts, ends, signs, off, off, np.arange(probe), **fk)
    min_tail = _tail_samples(feat, sigma)
    if probe < starts.size and min_tail == 0:
        feat = _features(src, chunks, B, bvals, starts, ends, signs, off, off, **fk)
        min_tail = _tail_samples(feat, sigma)
    fk.update(min_tail=min_tail, weak_level=SNR_PEAK_OWN * sigma)
    if min_tail or probe < starts.size:
        feat = _features(src, chunks, B, bvals, starts, ends, signs, off, off, **fk)
    n_merged = 0
    if p["merge"]:
        starts, ends, signs, n_merged, keep, changed = _merge_tails(starts, ends, signs, feat)
        if n_merged:
            feat = feat[keep]
            redo = np.unique(np.clip(np.concatenate([changed - 1, changed, changed + 1]), 0, starts.size - 1))
            feat[redo] = _features(src, chunks, B, bvals, starts, ends, signs, off, off, redo, **fk)
    reason = np.full(starts.size, "", dtype=object)
    # charging transient at the start
    masked = [[a / fs + t0, b / fs + t0] for a, b in zip(skip_a, skip_b)]
    if p["mask_start"] == "auto" and starts.size and feat[0, 9] == 0:
        reason[0] = "charging transient"
        masked.insert(0, [t0, float(feat[0, 1]) / fs + t0])
    for a, b, why in zip(skip_a, skip_b, skip_why):
        hit = (feat[:, 1] > a) & (feat[:, 0] < b) & (reason == "")
        reason[hit] = why
    dur = feat[:, 10] - feat[:, 9]
    min_d = p["min_duration"] * fs
    reason[(reason == "") & (dur < min_d)] = "too short"
    if not p["merge"] and gap > 0:
        last_end = -np.inf
        for k in range(starts.size):
            if reason[k]:
                continue
            if feat[k, 9] - last_end < gap:
                reason[k] = "too close"
                continue
            last_end = feat[k, 10]
    # events still open at the end of the trace are kept (truncated) but flagged
    n_int = feat[:, 1] - feat[:, 0]
    curve = _charge_curve(st, int(n_int.max()) if n_int.size else 0)
    df_all = _table(feat, signs, fs, sigma, "spike", charge_sd=charge_noise_sd(curve, n_int) / fs)
    ok = reason == ""
    events = df_all[ok].reset_index(drop=True)
    rejected = df_all[~ok].reset_index(drop=True)
    rejected["reason"] = reason[~ok].astype(str)
    out_params = _public_params(p, blank_noise, sigma, th)
    attrs = dict(
        noise=float(sigma),
        noise_estimate=float(sig_est),
        noise_upcrossings=float(nu0),
        noise_bandwidth=float(nu0 * fs),
        noise_bandwidth_estimate=float(nu0_est * fs),
        threshold=float(th),
        threshold_A=float(th * sigma),
        hysteresis_A=float(off),
        baseline_method=method,
        baseline_window=float(win_s),
        baseline_block=int(B),
        params=out_params,
        resolved=dict(baseline_window=float(win_s), threshold=float(th),
                      range_mask=float(resolved["range_mask"]), block=int(B)),
        n_samples=n,
        fs=float(fs),
        t0=float(t0),
        duration=n / fs,
        expected_false_per_s=float(npol * nu0 * fs * math.exp(-th * th / 2.0)),
        masked=masked,
        baseline_curve=_baseline_curve(B, bvals, n, fs, t0),
        source=source,
        kind="spike",
        n_merged=int(n_merged),
        mains=dict(freq=mains_f, amplitude=None if not np.isfinite(mains_A) else float(mains_A)),
        rejected=rejected,
    )
    events.attrs.update(attrs)
    from .stats import noise_model_check

    check = noise_model_check(events)
    events.attrs.update(noise_model_check=check, opposite_polarity_count=check["opposite_polarity_count"])
    return events


#: the charge noise is measured for integrals of at most this many samples
#: (longer ones: extrapolated)
MAX_CHARGE_WINDOW = 1 << 16


def _charge_curve(st, need):
    """The prepared trace's charge-noise curve, measured (once, cached in
    ``st``) on segments long enough for integrals of ``need`` samples."""
    curve = st["charge_curve"]
    have = curve[0][-1] if curve[0].size else 0
    need = min(int(need), MAX_CHARGE_WINDOW, st["n"] // 4)
    if need <= have:
        return curve
    seg = 8 << int(math.ceil(math.log2(max(need, 1))))  # windows plus their local-line stretches
    cache = st.setdefault("charge_curves", {})
    if seg not in cache:
        sample = NoiseSample(st["src"].read, st["n"], max_samples=max(MAX_NOISE_SAMPLES, 5 * seg),
                             min_length=seg)
        res, cont = sample.residual(st["B"], st["bvals"], st["flagged"])
        cache[seg] = merge_curves(curve, charge_noise_curve(res, cont, start=2 * have if have else 4))
    return cache[seg]


def _baseline_curve(B, bvals, n, fs, t0):
    """The baseline at the block centres (the kernels interpolate linearly in
    between), with the trace ends: ``{'t': s, 'value': A}`` arrays."""
    c = np.arange(bvals.size) * B + (B - 1) / 2.0
    c = np.clip(c, 0, n - 1)
    t = np.concatenate([[0.0], c, [n - 1]]) / fs + t0
    v = np.concatenate([[bvals[0]], bvals, [bvals[-1]]])
    return dict(t=t, value=v.astype(np.float64))


def _is_constant(src, chunks):
    first = None
    for i0, i1 in chunks:
        x = src.read(i0, i1)
        if first is None:
            first = x[0]
        if np.any(x != first):
            return False
    return True


def _public_params(p, blank_noise, sigma, th):
    out = dict(p)
    if blank_noise is not None:
        out["noise"] = float(sigma)
        out["threshold"] = float(th)
    json.dumps(out)
    return out
