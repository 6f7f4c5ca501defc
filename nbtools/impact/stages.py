"""Stages of spike detection, each a plain function over sample ranges.

block statistics -> baseline values -> hysteresis scan -> mains fits ->
features (integration range, charge, peak, shape) -> merging of split
transients. Every stage reads through a
:class:`~nbtools.impact.source.SampleSource` chunk by chunk, so the results
do not depend on the chunking. The sample loops are the numba kernels of
:mod:`nbtools.impact._kernels`.
"""

from __future__ import annotations

import math

import numpy as np

from . import _kernels
from .baseline import running_median
from ._kernels import N_FEATURES
from .table import reference_events

__all__ = ["block_stats", "baseline_values", "hysteresis_scan", "mains_coefs", "features", "merge_close",
           "merge_tails", "extend_tails", "reference_decay", "mains_pickup", "sub_count", "MAINS_HARMONICS", "TAIL_ROUNDS"]

#: the hysteresis scan skips quiet sub-blocks of about this many samples
SUB_BLOCK = 256
#: at most this many sub-blocks in all (their min/max stay in memory)
MAX_SUB_BLOCKS = 1 << 22


def sub_count(B, nb):
    """Sub-blocks per block: about SUB_BLOCK samples each, within MAX_SUB_BLOCKS."""
    return int(max(1, min(round(B / SUB_BLOCK), 8, MAX_SUB_BLOCKS // max(nb, 1), B)))


def block_stats(src, chunks, B):
    """Block means, sub-block min/max (see :func:`sub_count`), first bad sample."""
    nsub = sub_count(B, (src.n + B - 1) // B)
    parts = []
    for i0, i1 in chunks:
        st = _kernels.block_stats(src.read(i0, i1), B, nsub)
        if st[3] >= 0:
            return None, None, None, i0 + st[3]
        parts.append(st[:3])
    return tuple(np.concatenate([q[k] for q in parts]) for k in range(3)) + (-1,)


def baseline_values(method, means, B, win_blocks, mask, degree):
    """Baseline at the block centres from the block ``means``: 'none' (zeros), 'constant' (median),
    'poly' (degree ``degree``) or 'median' (running median over ``win_blocks``); blocks in ``mask``
    (events) left out."""
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


def hysteresis_scan(src, chunks, B, bvals, on_pos, off_pos, on_neg, off_neg, mins=None, maxs=None):
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


def mains_coefs(src, chunks, B, bvals, starts, ends, omega, clip):
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


def mains_pickup(src, B, bvals, ranges, omega, clip):
    """The mains pickup that events in the sample ranges ``[(i0, i1), ...]`` would have subtracted:
    the harmonics fitted (as :func:`mains_coefs` does, on the same global segment grid; nothing
    excluded, the residual clipped at ``clip``) on each segment the ranges touch, evaluated over
    each range. A list of arrays (A), or None without mains (``omega`` 0)."""
    if omega <= 0 or not ranges:
        return None
    nh = MAINS_HARMONICS
    n = src.n
    seg_len = max(64, int(round(MAINS_SEG_PERIODS * 2 * np.pi / omega)))
    out = []
    none = np.empty(0, np.int64)
    for i0, i1 in ranges:
        j0, j1 = i0 // seg_len, (i1 - 1) // seg_len
        segs = np.arange(j0, j1 + 1, dtype=np.int64)
        g0, g1 = j0 * seg_len, min(n, (j1 + 1) * seg_len)
        coef = np.full((j1 + 1, 2 * nh), np.nan)
        _kernels.mains_segments(src.read(g0, g1), g0, B, bvals, segs, seg_len, none, none, omega, nh, clip, coef)
        g = np.arange(i0, i1)
        c = coef[g // seg_len]
        m = np.zeros(g.size)
        for h in range(nh):
            ph = (h + 1) * omega * g
            m += np.nan_to_num(c[:, 2 * h]) * np.cos(ph) + np.nan_to_num(c[:, 2 * h + 1]) * np.sin(ph)
        out.append(m)
    return out


def features(src, chunks, B, bvals, starts, ends, signs, off_pos, off_neg, which=None, omega=0.0,
             mcoef=None, seg_len=1, ib_min=None, tau_max=None):
    """Feature rows (:data:`N_FEATURES` columns, see :func:`nbtools.impact._kernels.event_features`)
    for events ``which`` (default all), reading near them only; ``ib_min`` (per event, global
    sample, 0: none) extends the integration ranges."""
    ne = starts.size
    if mcoef is None:
        mcoef = np.empty((0, 2 * MAINS_HARMONICS))
    if ib_min is None:
        ib_min = np.zeros(ne, np.int64)
    if tau_max is None:
        tau_max = np.full(ne, np.inf)
    which = np.arange(ne, dtype=np.int64) if which is None else np.asarray(which, np.int64)
    out = np.empty((which.size, N_FEATURES), np.float64)
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
        o = np.empty((ev.size, N_FEATURES), np.float64)
        _kernels.event_features(x, w0, n, B, bvals, starts, ends, signs, ev, off_pos, off_neg, o, omega,
                                mcoef, seg_len, ib_min, np.asarray(tau_max, np.float64))
        out[sel] = o
        del x
    return out


def merge_close(starts, ends, signs, gap):
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


#: rounds of re-integration to TAIL_TAUS decay constants (see extend_tails)
TAIL_ROUNDS = 3


def reference_decay(feat, sigma):
    """The decay constant (samples) of the recording's transients: the median fitted decay of the
    reference events (:func:`~nbtools.impact.table.reference_events`), NaN without any."""
    tau = feat[:, 6]
    ref = reference_events(np.abs(feat[:, 15]) / sigma, np.isfinite(tau) & (tau > 0))
    return float(np.median(tau[ref])) if ref.any() else float("nan")


def extend_tails(feat, redo, first=None):
    """Integrate every event to at least TAIL_TAUS fitted decay constants past its peak:
    ``redo(which, ib_min)`` recomputes the feature rows of events ``which`` with the integration
    ranges ``ib_min`` (global samples, per event; ``first``: where to start, e.g. TAIL_TAUS decays of
    the recording's reference events past the peaks of weak events); up to TAIL_ROUNDS rounds, each
    on the events whose range is still more than 5 % short. Returns the feature rows."""
    ib_min = np.zeros(feat.shape[0], np.int64)
    for r in range(TAIL_ROUNDS):
        ia, ib, tau = feat[:, 0], feat[:, 1], feat[:, 6]
        want = np.where(np.isfinite(tau), feat[:, 2] + _kernels.TAIL_TAUS * np.nan_to_num(tau), 0.0)
        if r == 0 and first is not None:
            want = np.maximum(want, first)
        short = np.flatnonzero(want > ib + np.maximum(2.0, 0.05 * (ib - ia)))
        short = short[np.ceil(want[short]).astype(np.int64) > ib_min[short]]
        if short.size == 0:
            break
        ib_min[short] = np.ceil(want[short]).astype(np.int64)
        feat[short] = redo(short, ib_min)
    return feat


def merge_tails(starts, ends, signs, feat, level, off):
    """Merge a candidate that rises out of the decaying tail of the previous
    event: of the same sign, and below the detection ``level`` (A) without the
    previous event's exponential decay (fitted, bounded by its fall to the
    lower level ``off`` A; see
    :func:`nbtools.impact._kernels.merge_tails`): the noise on one
    transient's tail crossed the threshold again. Returns the merged arrays, the number merged,
    the kept row indices and the positions of the extended events."""
    n = starts.size
    keep = np.empty(n, np.int64)
    changed = np.empty(n, np.int64)
    ends2 = ends.copy()
    nk, nch, merged = _kernels.merge_tails(starts, ends2, signs, feat[:, 3].copy(),
                                           feat[:, 2].astype(np.int64), feat[:, 6].copy(), feat[:, 15].copy(),
                                           float(level), float(off), keep, changed)
    keep = keep[:nk]
    return starts[keep], ends2[keep], signs[keep], merged, keep, changed[:nch]
