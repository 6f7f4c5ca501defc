"""NumPy reference implementations of the SECCM maps (``engine='numpy'``).

The numba kernels of :mod:`nbtools.seccm._kernels` are the default; these
vectorised versions (over chunks of pixels, no loop per pixel) are what the
tests compare them with. Each returns per-pixel values (NumPy, pixel order).
"""

from __future__ import annotations

import numpy as np

from . import _sweeps as sw


def _directions(ds, p, smooth):
    """Sweep directions of a chunk; computed once when the waveform is shared."""
    if ds.potential.ndim == 1:
        d, start, valid = sw.directions(ds.potential.values[None, :], smooth)
        shape = (p.shape[0], d.shape[1])
        return np.broadcast_to(d, shape), np.broadcast_to(start, shape), np.broadcast_to(valid, shape)
    return sw.directions(p, smooth)


def _crossing(cur, pot, sel, level):
    """Mean current where the selected segments cross potential ``level``."""
    e0, e1 = pot[:, :-1], pot[:, 1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        hit = sel & ((e0 - level) * (e1 - level) <= 0) & (e0 != e1)
        f = (level - e0) / (e1 - e0)
        iv = cur[:, :-1] + f * (cur[:, 1:] - cur[:, :-1])
    iv = np.where(hit, iv, 0.0)
    cnt = hit.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, iv.sum(axis=1) / cnt, np.nan)


def current_at(ds, level, branch, cycle, smooth):
    """Mean current where the ``branch`` sweeps cross ``level`` (V), per pixel."""
    cur, pot = sw.arrays(ds)
    out = np.full(cur.shape[0], np.nan)
    for sl in sw.chunks(*cur.shape):
        c, p = cur[sl], pot[sl]
        d, start, valid = _directions(ds, p, smooth)
        sel = sw.select(d, start, valid, branch, cycle)
        out[sl] = _crossing(c, p, sel, level)
    return out


def charge(ds, win, twin, branch, cycle, baseline, smooth, end_points):
    """Charge (C) of the selected segments per pixel, baseline subtracted."""
    cur, pot, tim = sw.arrays(ds, need_time=True)
    out = np.full(cur.shape[0], np.nan)
    for sl in sw.chunks(*cur.shape):
        c, p, t = cur[sl], pot[sl], tim[sl]
        if twin is not None:
            tm = (t[:, :-1] + t[:, 1:]) / 2
            sel = (tm >= twin[0]) & (tm <= twin[1]) & np.isfinite(c[:, :-1] + c[:, 1:])
            x = t
        else:
            d, start, valid = _directions(ds, p, smooth)
            sel = sw.select(d, start, valid, branch, cycle)
            if win is not None:
                pm = (p[:, :-1] + p[:, 1:]) / 2
                sel &= (pm >= win[0]) & (pm <= win[1])
            x = p
        fin = np.isfinite(c) & np.isfinite(t)
        sel &= fin[:, :-1] & fin[:, 1:]
        dt = np.diff(t, axis=1)
        cb = c
        if baseline == "linear":
            x0, y0, x1, y1 = _window_ends(sel, x, c, end_points)
            with np.errstate(invalid="ignore", divide="ignore"):
                slope = np.where(x1 != x0, (y1 - y0) / (x1 - x0), 0.0)
            ft = c.dtype.type
            cb = c - (y0.astype(ft)[:, None] + slope.astype(ft)[:, None] * (x - x0.astype(ft)[:, None]))
        elif baseline != "none":
            cb = c - float(baseline)
        seg = (cb[:, :-1] + cb[:, 1:]) * (0.5 * dt)
        q = np.where(sel, seg, 0).sum(axis=1, dtype=np.float64)
        q[~sel.any(axis=1)] = np.nan
        out[sl] = q
    return out


def _window_ends(sel, x, c, n_end):
    """Mean (x, current) of ``n_end`` samples at each end of the selection.

    The selection is taken from its first to its last selected segment; the
    outermost sample at each end is skipped, so a vertex (where the capacitive
    current flips sign) does not leak into the ends.
    """
    n_end = max(int(n_end or 1), 1)
    first, last = sw.first_last(sel)
    s0, s1 = first, last + 1  # first and last sample of the selection
    j = np.arange(1, n_end + 1)
    lo = s0[:, None] + j[None, :]
    hi = s1[:, None] - j[None, :]
    ok_lo = (lo < s1[:, None]) & (first[:, None] >= 0)
    ok_hi = (hi > s0[:, None]) & (first[:, None] >= 0)
    # very short selections: fall back to the end samples themselves
    ok_lo[:, 0] |= first >= 0
    ok_hi[:, 0] |= first >= 0
    lo = np.where(ok_lo, lo, np.maximum(s0, 0)[:, None])
    hi = np.where(ok_hi, hi, np.maximum(s1, 0)[:, None])

    def mean(a, idx, ok):
        v = np.take_along_axis(a, np.clip(idx, 0, a.shape[1] - 1), axis=1).astype(np.float64)
        ok = ok & np.isfinite(v)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(ok, v, 0.0).sum(axis=1) / ok.sum(axis=1)

    return mean(x, lo, ok_lo), mean(c, lo, ok_lo), mean(x, hi, ok_hi), mean(c, hi, ok_hi)


def peak(ds, direction, win, cycle, smooth, min_prominence):
    """Peak (potential, current, prominence) per pixel; potential NaN below ``min_prominence``."""
    sign = 1.0 if direction == "anodic" else -1.0
    cur, pot = sw.arrays(ds)
    n = cur.shape[0]
    E = np.full(n, np.nan)
    I = np.full(n, np.nan)
    P = np.full(n, np.nan)
    for sl in sw.chunks(*cur.shape):
        c, p = cur[sl], pot[sl]
        d, start, valid = _directions(ds, p, 5)
        sel = sw.select(d, start, valid, direction, cycle)
        # sample k is in the branch when segment k-1 or k is
        ins = np.zeros(c.shape, bool)
        ins[:, :-1] |= sel
        ins[:, 1:] |= sel
        if win is not None:
            ins &= (p >= win[0]) & (p <= win[1])
        cs = sw.moving_average(c, smooth) * sign
        rows = np.arange(c.shape[0])
        M = c.shape[1]
        first = np.argmax(ins, axis=1)
        last = M - 1 - np.argmax(ins[:, ::-1], axis=1)
        has = ins.any(axis=1)
        # background line through the mean raw (E, i) of ne samples at each end, outermost skipped
        ne = np.clip((last - first) // 8, 1, 5)
        j = np.arange(1, 6)
        use = j[None, :] <= ne[:, None]
        ka = np.minimum(first[:, None] + j[None, :], last[:, None])
        kz = np.maximum(last[:, None] - j[None, :], first[:, None])

        def end_mean(a, kk):
            v = np.take_along_axis(a, kk, axis=1).astype(np.float64)
            okk = use & np.isfinite(v) & np.isfinite(np.take_along_axis(c, kk, axis=1))
            okk &= np.isfinite(np.take_along_axis(p, kk, axis=1))
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(okk, v, 0.0).sum(axis=1) / okk.sum(axis=1)

        x0, y0 = end_mean(p, ka), end_mean(c, ka) * sign
        x1, y1e = end_mean(p, kz), end_mean(c, kz) * sign
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = np.where(x1 != x0, (y1e - y0) / (x1 - x0), 0.0)
            r = cs - (y0[:, None] + slope[:, None] * (p - x0[:, None]))
        kidx = np.arange(M)[None, :]
        cand = ins & (kidx > first[:, None]) & (kidx < last[:, None]) & has[:, None]
        v = np.where(cand & np.isfinite(r), r, -np.inf)
        k = np.argmax(v, axis=1)
        ok = np.isfinite(v[rows, k])
        km, kp = np.clip(k - 1, 0, None), np.clip(k + 1, None, M - 1)
        inner = ok & ins[rows, km] & ins[rows, kp]
        r0, r1, r2 = r[rows, km], r[rows, k], r[rows, kp]
        with np.errstate(invalid="ignore", divide="ignore"):
            den = r0 - 2 * r1 + r2
            delta = np.where(inner & (den < 0), 0.5 * (r0 - r2) / den, 0.0)
        delta = np.clip(np.nan_to_num(delta), -0.5, 0.5)
        with np.errstate(invalid="ignore"):
            epk = p[rows, k] + delta * np.where(delta > 0, p[rows, kp] - p[rows, k], p[rows, k] - p[rows, km])
            prom = np.where(inner, r1 - 0.25 * (r0 - r2) * delta, r1)
            ipk = np.where(inner, cs[rows, k] - 0.25 * (cs[rows, km] - cs[rows, kp]) * delta, cs[rows, k])
        good = ok & inner & (prom > min_prominence[sl])
        E[sl] = np.where(good, epk, np.nan)
        I[sl] = np.where(ok, ipk * sign, np.nan)
        P[sl] = np.where(ok, prom, np.nan)
    return E, I, P


def onset(ds, thr, branch, cycle, win, smooth):
    """Potential where the smoothed current first reaches ``thr`` (A) per pixel."""
    sign = 1.0 if thr > 0 else -1.0
    cur, pot = sw.arrays(ds)
    out = np.full(cur.shape[0], np.nan)
    for sl in sw.chunks(*cur.shape):
        c, p = cur[sl], pot[sl]
        d, start, valid = _directions(ds, p, smooth)
        sel = sw.select(d, start, valid, branch, cycle)
        if win is not None:
            pm = (p[:, :-1] + p[:, 1:]) / 2
            sel &= (pm >= win[0]) & (pm <= win[1])
        cs = sw.moving_average(c, smooth) * sign
        a0, a1 = cs[:, :-1], cs[:, 1:]
        with np.errstate(invalid="ignore"):
            hit = sel & (a1 >= thr * sign)
        rows = np.arange(c.shape[0])
        k = np.argmax(hit, axis=1)
        found = hit[rows, k]
        y0, y1 = a0[rows, k], a1[rows, k]
        with np.errstate(invalid="ignore", divide="ignore"):
            f = np.where(y0 < thr * sign, (thr * sign - y0) / (y1 - y0), 1.0)
        f = np.clip(np.nan_to_num(f, nan=1.0), 0, 1)
        e = p[rows, k] + f * (p[rows, k + 1] - p[rows, k])
        out[sl] = np.where(found, e, np.nan)
    return out
