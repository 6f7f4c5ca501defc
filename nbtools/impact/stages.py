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
from .parallel import PIECES_PER_WORKER, event_groups, pieces, pmap
from .table import reference_events

__all__ = ["block_stats", "baseline_values", "hysteresis_scan", "mains_coefs", "features", "merge_close",
           "merge_tails", "extend_tails", "heights", "reference_decay", "mains_pickup", "sub_count", "MAINS_HARMONICS", "TAIL_ROUNDS"]

#: the hysteresis scan skips quiet sub-blocks of about this many samples
SUB_BLOCK = 256
#: at most this many sub-blocks in all (their min/max stay in memory)
MAX_SUB_BLOCKS = 1 << 22


def sub_count(B, nb):
    """Sub-blocks per block: about SUB_BLOCK samples each, within MAX_SUB_BLOCKS."""
    return int(max(1, min(round(B / SUB_BLOCK), 8, MAX_SUB_BLOCKS // max(nb, 1), B)))


def block_stats(src, chunks, B, workers=1):
    """Block means, sub-block min/max (see :func:`sub_count`), first bad sample; pieces of whole
    blocks on ``workers`` threads (the same numbers)."""
    nsub = sub_count(B, (src.n + B - 1) // B)
    parts = pmap(lambda r: _kernels.block_stats(src.read(r[0], r[1]), B, nsub), pieces(chunks, B, workers), workers)
    for (i0, _), st in zip(pieces(chunks, B, workers), parts):
        if st[3] >= 0:
            return None, None, None, i0 + st[3]
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


def _scan_range(src, a, b, state, B, bvals, levels, mins, maxs):
    """The hysteresis scan of samples ``[a, b)`` entered in ``state`` (the sign of an event open at
    ``a``; 0: idle): ``(starts, ends, signs, state at b)``, global indices; an event open at ``b``
    ends at ``b``, one continued from before ``a`` starts at ``a``."""
    S, E, G = [], [], []
    cap = 4096
    x = src.read(a, b)
    m = b - a
    i = 0
    while i < m:
        starts = np.empty(cap, np.int64)
        ends = np.empty(cap, np.int64)
        signs = np.empty(cap, np.int8)
        cnt, stop, st = _kernels.hysteresis(x, i, m, a, B, bvals, *levels, starts, ends, signs, state, mins, maxs)
        S.append(starts[:cnt] + a)
        E.append(ends[:cnt] + a)
        G.append(signs[:cnt])
        if stop < m:  # the output filled up: the scan stopped idle at the event that did not fit
            cap *= 2
            st = 0
        state = st
        i = stop
    if not S:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int8), 0
    return np.concatenate(S), np.concatenate(E), np.concatenate(G), int(state)


def _spans(starts, ends, q):
    """True where an event ``[starts, ends)`` (sorted, disjoint) holds sample ``q`` open after it."""
    k = int(np.searchsorted(starts, q, side="right")) - 1
    return k >= 0 and ends[k] > q


def _resume(src, a, b, state, own, B, bvals, levels, mins, maxs):
    """Piece ``[a, b)`` scanned exactly, entered in ``state`` (an event open at ``a``), from ``own``:
    its scan entered idle. The exact scan is re-run from ``a`` until the first sample after which
    neither scan has an event open (from there on they agree); returns what
    :func:`_scan_range` would."""
    s_own, e_own, g_own, st_own = own
    e_span = e_own.copy()
    if st_own and e_span.size:
        e_span[-1] = np.iinfo(np.int64).max  # open past the piece
    w = max(B, (1 << 14) // B * B)
    while True:
        c = min(b, a + w)
        s_t, e_t, g_t, st_t = _scan_range(src, a, c, state, B, bvals, levels, mins, maxs)
        if c == b:
            return s_t, e_t, g_t, st_t
        e_tspan = e_t.copy()
        if st_t and e_tspan.size:
            e_tspan[-1] = np.iinfo(np.int64).max
        for q in np.sort(np.concatenate([e_t[e_tspan < c], e_own[(e_own >= a) & (e_own < c)]])):
            if not _spans(s_t, e_tspan, q) and not _spans(s_own, e_span, q):
                t = e_t <= q
                o = s_own > q
                return (np.concatenate([s_t[t], s_own[o]]), np.concatenate([e_t[t], e_own[o]]),
                        np.concatenate([g_t[t], g_own[o]]), st_own)
        w *= 2


def hysteresis_scan(src, chunks, B, bvals, on_pos, off_pos, on_neg, off_neg, mins=None, maxs=None, workers=1):
    """All events (global start, end, sign); exact across chunks (state carry) and pieces
    (re-scanned from a seam where an event was open until the scans agree, see :func:`_resume`)."""
    levels = (on_pos, off_pos, on_neg, off_neg)
    ranges = pieces(chunks, B, workers)
    if workers > 1 and len(ranges) > 1:
        own = pmap(lambda r: _scan_range(src, r[0], r[1], 0, B, bvals, levels, mins, maxs), ranges, workers)
    S, E, G = [], [], []
    pend_start, state = -1, 0
    for k, (a, b) in enumerate(ranges):
        if workers > 1 and len(ranges) > 1:
            part = own[k] if state == 0 else _resume(src, a, b, state, own[k], B, bvals, levels, mins, maxs)
        else:
            part = _scan_range(src, a, b, state, B, bvals, levels, mins, maxs)
        s_g, e_g, g_g, st = part
        if state != 0 and s_g.size:
            s_g = s_g.copy()
            s_g[0] = pend_start  # continuation of the event open at the piece start
        if st != 0:  # last event still open at the piece end: carried
            pend_start = int(s_g[-1])
            s_g, e_g, g_g = s_g[:-1], e_g[:-1], g_g[:-1]
        S.append(s_g)
        E.append(e_g)
        G.append(g_g)
        state = st
    if state != 0:
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


def mains_coefs(src, chunks, B, bvals, starts, ends, omega, clip, workers=1):
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
    if workers > 1:  # smaller groups: PIECES_PER_WORKER per worker at least
        per = max(1, min(per, -(-int(segs[-1] - segs[0] + 1) // (PIECES_PER_WORKER * workers))))
    groups = []
    k = 0
    while k < segs.size:
        # segments within one chunk's length of each other are read at once
        j0 = int(segs[k])
        m = int(np.searchsorted(segs, j0 + per, side="left"))
        groups.append(segs[k:m])
        k = m

    def fit(grp):  # each group writes its own rows of coef
        g0, g1 = int(grp[0]) * seg_len, min(n, (int(grp[-1]) + 1) * seg_len)
        _kernels.mains_segments(src.read(g0, g1), g0, B, bvals, grp, seg_len, ex_a, ex_b, omega, nh, clip, coef)

    pmap(fit, groups, workers)
    return coef, seg_len


def mains_pickup(src, B, bvals, ranges, omega, clip, workers=1):
    """The mains pickup that events in the sample ranges ``[(i0, i1), ...]`` would have subtracted:
    the harmonics fitted (as :func:`mains_coefs` does, on the same global segment grid; nothing
    excluded, the residual clipped at ``clip``) on each segment the ranges touch, evaluated over
    each range (ranges on ``workers`` threads). A list of arrays (A), or None without mains (``omega`` 0)."""
    if omega <= 0 or not ranges:
        return None
    nh = MAINS_HARMONICS
    n = src.n
    seg_len = max(64, int(round(MAINS_SEG_PERIODS * 2 * np.pi / omega)))
    none = np.empty(0, np.int64)

    def one(r):
        i0, i1 = r
        j0, j1 = i0 // seg_len, (i1 - 1) // seg_len
        segs = np.arange(j0, j1 + 1, dtype=np.int64)
        g0, g1 = j0 * seg_len, min(n, (j1 + 1) * seg_len)
        coef = np.full((j1 + 1, 2 * nh), np.nan)
        _kernels.mains_segments(src.read(g0, g1), g0, B, bvals, segs, seg_len, none, none, omega, nh, clip, coef)
        m = np.empty(i1 - i0)
        _kernels.mains_eval(i0, i1, coef[j0:], j0, seg_len, omega, nh, m)  # NaN rows (not fitted): 0
        return m

    return pmap(one, ranges, workers)


def features(src, chunks, B, bvals, starts, ends, signs, off_pos, off_neg, which=None, omega=0.0,
             mcoef=None, seg_len=1, ib_min=None, tau_max=None, workers=1):
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
    tau_max = np.asarray(tau_max, np.float64)
    order = np.argsort(starts[which], kind="stable")

    def group(sel):
        sel = order[sel]
        ev = which[sel]
        e0, e1 = int(ev.min()), int(ev.max())
        w0 = 0 if e0 == 0 else min(int(ends[e0 - 1]), int(starts[e0]))
        w1 = n if e1 == ne - 1 else max(int(starts[e1 + 1]), int(ends[e1]))
        o = np.empty((ev.size, N_FEATURES), np.float64)
        _kernels.event_features(src.read(w0, w1), w0, n, B, bvals, starts, ends, signs, ev, off_pos, off_neg, o,
                                omega, mcoef, seg_len, ib_min, tau_max)
        return sel, o

    groups = event_groups(starts[which][order], pieces(chunks, B, workers), workers)
    for sel, o in pmap(group, groups, workers):
        out[sel] = o
    return out


def heights(src, chunks, B, bvals, starts, ends, signs, workers=1):
    """Height of each event ``[starts, ends)`` above the baseline (A, signed: the extreme of the
    residual in the event's direction), reading the events' samples only."""
    out = np.empty(starts.size)

    def group(sel):
        o = np.empty(sel.size)
        w0, w1 = int(starts[sel[0]]), max(int(ends[sel].max()), int(starts[sel[0]]) + 1)
        _kernels.event_heights(src.read(w0, min(w1, src.n)), w0, B, bvals, starts, ends, signs, sel, o)
        return sel, o

    for sel, o in pmap(group, event_groups(starts, pieces(chunks, B, workers), workers), workers):
        out[sel] = o
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
