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
from .table import reference_events

__all__ = ["block_stats", "baseline_values", "hysteresis_scan", "mains_coefs", "features", "merge_close",
           "merge_tails", "tail_samples", "sub_count", "MAINS_HARMONICS", "TAIL_PROBE"]

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


def features(src, chunks, B, bvals, starts, ends, signs, off_pos, off_neg, which=None, omega=0.0,
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


#: weak events are integrated at least this many decay constants past the peak
TAIL_TAUS = 4.0
#: the decay constant for that is the median of the strong events among the first TAIL_PROBE
TAIL_PROBE = 512


def tail_samples(feat, sigma):
    """TAIL_TAUS x the median decay (samples) of the reference events (see
    :func:`~.table.reference_events`; 0 without any)."""
    snr = np.abs(feat[:, 3]) / sigma
    ref = reference_events(snr, np.isfinite(feat[:, 6]) & (feat[:, 6] > 0))
    if not ref.any():
        return 0
    return int(math.ceil(TAIL_TAUS * float(np.median(feat[ref, 6]))))


def merge_tails(starts, ends, signs, feat):
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
