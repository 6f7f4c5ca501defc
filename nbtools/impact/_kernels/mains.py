"""Mains pickup under events: per-segment least-squares fits and the fused residual (numba)."""

from __future__ import annotations

import numpy as np
from numba import njit

from .blocks import baseline_at, baseline_segment


@njit(cache=True, nogil=True)
def _chol_solve(G, rhs):
    """Solve the symmetric positive-definite system G c = rhs (Cholesky, in
    place on G); an empty array if G is not positive definite."""
    n = rhs.shape[0]
    for j in range(n):
        d = G[j, j]
        for k in range(j):
            d -= G[j, k] * G[j, k]
        if d <= 0.0:
            return np.empty(0)
        d = np.sqrt(d)
        G[j, j] = d
        for i in range(j + 1, n):
            v = G[i, j]
            for k in range(j):
                v -= G[i, k] * G[j, k]
            G[i, j] = v / d
    y = rhs.copy()
    for i in range(n):
        v = y[i]
        for k in range(i):
            v -= G[i, k] * y[k]
        y[i] = v / G[i, i]
    for i in range(n - 1, -1, -1):
        v = y[i]
        for k in range(i + 1, n):
            v -= G[k, i] * y[k]
        y[i] = v / G[i, i]
    return y


#: samples per segment in the mains fit
MAINS_POINTS = 512


@njit(cache=True, nogil=True, fastmath=True)
def _dot(u, v, m):
    """``sum(u[:m] * v[:m])`` (vectorised)."""
    s = 0.0
    for i in range(m):
        s += u[i] * v[i]
    return s


@njit(cache=True, nogil=True)
def mains_segments(x, offset, B, bvals, segs, seg_len, ex_a, ex_b, omega, nh, clip, out):
    """Mains harmonics of the residual ``x - baseline``, one fit per segment.

    Segment ``j`` (rows of ``segs``) covers global samples
    ``[j*seg_len, (j+1)*seg_len)`` (clipped to ``x``, which holds samples
    ``offset .. offset+len(x)``). On about MAINS_POINTS strided samples outside the
    excluded ranges ``[ex_a, ex_b)`` (sorted by start, ``ex_b`` non-decreasing)
    and with the residual clipped at +-``clip``, least squares of
    ``c0 + c1 u + sum_h (a_h cos h w g + b_h sin h w g)`` (global phase ``w g``);
    ``out[j] = (a_1, b_1, ..., a_nh, b_nh)``, NaN if fewer than 8 x params
    samples remain.
    """
    npar = 2 + 2 * nh
    # rows of the design matrix stored as columns: the normal equations are
    # then dot products of contiguous rows (vectorised)
    Phi = np.empty((npar, 2 * MAINS_POINTS + 2))  # stride = L // MAINS_POINTS: < 2x points
    y = np.empty(2 * MAINS_POINTS + 2)
    G = np.empty((npar, npar))
    rhs = np.empty(npar)
    nex = ex_a.shape[0]
    n_loc = x.shape[0]
    for r in range(segs.shape[0]):
        j = segs[r]
        g0 = max(j * seg_len, offset)
        g1 = min((j + 1) * seg_len, offset + n_loc)
        for a_ in range(2 * nh):
            out[j, a_] = np.nan
        if g1 - g0 < 16:
            continue
        stride = max(1, (g1 - g0) // MAINS_POINTS)
        c1 = np.cos(omega * g0)
        s1 = np.sin(omega * g0)
        cd = np.cos(omega * stride)
        sd = np.sin(omega * stride)
        p = np.searchsorted(ex_b, g0, side="right")
        gc = 0.5 * (g0 + g1)
        W = 0.5 * (g1 - g0)
        m = 0
        for g in range(g0, g1, stride):
            while p < nex and ex_b[p] <= g:
                p += 1
            if not (p < nex and ex_a[p] <= g) and m < y.shape[0]:
                v = x[g - offset] - baseline_at(g, B, bvals)
                if v > clip:
                    v = clip
                elif v < -clip:
                    v = -clip
                y[m] = v
                Phi[0, m] = 1.0
                Phi[1, m] = (g - gc) / W
                ch = c1
                sh = s1
                for h in range(nh):
                    Phi[2 + 2 * h, m] = ch
                    Phi[3 + 2 * h, m] = sh
                    t_ = ch * c1 - sh * s1
                    sh = sh * c1 + ch * s1
                    ch = t_
                m += 1
            t_ = c1 * cd - s1 * sd
            s1 = s1 * cd + c1 * sd
            c1 = t_
        if m < 8 * npar:
            continue
        for a_ in range(npar):
            rhs[a_] = _dot(Phi[a_], y, m)
            for b_ in range(a_ + 1):
                G[a_, b_] = G[b_, a_] = _dot(Phi[a_], Phi[b_], m)
        tr = 0.0
        for a_ in range(npar):
            tr += G[a_, a_]
        for a_ in range(npar):
            G[a_, a_] += 1e-9 * tr / npar
        c = _chol_solve(G, rhs)
        if c.shape[0] == npar:
            for a_ in range(2 * nh):
                out[j, a_] = c[2 + a_]


@njit(cache=True, nogil=True)
def resid_mains3(x, offset, g0, g1, B, bvals, out, sg, ip, cur, prv, k2):
    """``out[g - g0] = sg * (x - baseline) - sg * mains`` for g in [g0, g1)
    with 3 mains harmonics by their recurrences (state ``cur``/``prv``, factors
    ``k2``): the arithmetic of :func:`~.blocks.fill_base`, the residual and the
    recurrence of :func:`event_features`, fused. Returns ``sg * mains`` at ``ip``."""
    c0_ = cur[0]
    c1_ = cur[1]
    c2_ = cur[2]
    p0_ = prv[0]
    p1_ = prv[1]
    p2_ = prv[2]
    k0_ = k2[0]
    k1_ = k2[1]
    k2_ = k2[2]
    loc_m = 0.0
    g = g0
    while g < g1:
        j, b0, slope = baseline_segment(g, g1, B, bvals)
        for q in range(g, j):
            base = b0 + slope * (q - g)
            mv = 0.0 + c0_
            mv += c1_
            mv += c2_
            n0_ = k0_ * c0_ - p0_
            n1_ = k1_ * c1_ - p1_
            n2_ = k2_ * c2_ - p2_
            p0_ = c0_
            p1_ = c1_
            p2_ = c2_
            c0_ = n0_
            c1_ = n1_
            c2_ = n2_
            out[q - g0] = sg * (x[q - offset] - base) - sg * mv
            if q == ip:
                loc_m = sg * mv
        g = j
    return loc_m



@njit(cache=True, nogil=True)
def mains_eval(i0, i1, coef, j0, seg_len, omega, nh, out):
    """``out[g - i0]`` for global samples ``g`` in ``[i0, i1)``: the mains harmonics of each sample's
    segment, ``sum_h a_h cos((h+1) omega g) + b_h sin((h+1) omega g)`` with ``(a_h, b_h)`` the row
    ``g // seg_len - j0`` of ``coef`` (NaN rows, segments not fitted: 0)."""
    for g in range(i0, i1):
        row = g // seg_len - j0
        m = 0.0
        for h in range(nh):
            a = coef[row, 2 * h]
            b = coef[row, 2 * h + 1]
            if a == a and b == b:  # not NaN
                ph = (h + 1) * omega * g
                m += a * np.cos(ph) + b * np.sin(ph)
        out[g - i0] = m
