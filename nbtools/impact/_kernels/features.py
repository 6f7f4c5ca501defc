"""Features of each event (integration range, charge, peak, rise, decay, width) (numba).

numba's on-disk cache of a kernel is keyed by the text of the file that defines it, not by the files
of the functions it calls (and compiles into itself): after a change to :mod:`.tail`, :mod:`.blocks`
or :mod:`.mains`, edit this file too (this note will do), or the cached :func:`event_features`
keeps running the old code (tail fit of December 2026: one loop per tau).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .blocks import baseline_at, fill_base
from .mains import resid_mains3
from .tail import (MAX_BLOCKS, best_tau, block_yy, estimator_norm, exp_sum, layout, side_line,
                   standard_norm)

#: columns of the feature rows (see event_features)
N_FEATURES = 16


@njit(cache=True, nogil=True)
def _interp_cross(a, b, level):
    # fraction in [0, 1] where the segment a->b crosses level
    d = b - a
    if d == 0.0:
        return 0.0
    f = (level - a) / d
    if f < 0.0:
        return 0.0
    if f > 1.0:
        return 1.0
    return f



@njit(cache=True, nogil=True)
def event_features(x, offset, n_total, B, bvals, starts, ends, signs, idx,
                   off_pos, off_neg, out, omega, mcoef, seg_len, ib_min, tau_max):
    """Features of the events ``idx`` (global sample indices).

    ``x`` holds samples ``offset .. offset+len(x)`` and must cover
    ``[ends[e-1], starts[e+1])`` of every event e in ``idx`` (trace ends for the
    first/last event). ``out`` is a (len(idx), N_FEATURES) float64 array, columns:
    0 i_a (integration start), 1 i_b (integration end, exclusive),
    2 i_peak, 3 peak (signed, A, above the local baseline), 4 charge: the
    residual summed over [i_a, i_b) above the local line plus the modelled
    tail beyond i_b (A samples, signed; :mod:`.tail`), 5 rise 10-90 %
    (samples), 6 decay time constant (samples, fitted; NaN when no
    exponential tail fits), 7 fwhm (samples), 8 background at the peak (A),
    9 i_cross (lower-level crossing before the threshold crossing),
    10 threshold-crossing end, 11 sub-sample peak position (parabola),
    12 rising-edge half-maximum crossing (sub-sample, NaN if none),
    13 |w| of the charge estimator over that of the standard geometry of
    the same length (scales the charge-noise curve), 14 the modelled tail
    (A samples, signed; 0 without a tail model), 15 the peak above the
    slow baseline (signed, A: what the threshold was compared with).
    ``omega`` > 0 (rad/sample, mains pickup) with ``mcoef`` (per segment of
    ``seg_len`` samples, the cos/sin amplitudes of the mains harmonics from
    :func:`mains_segments`; NaN rows: none) subtracts the pickup of the
    event's segment before the local line. ``ib_min[e]`` (global sample, 0:
    none): the integration of event e runs at least to there, within the
    neighbour bounds (to TAIL_TAUS decay constants once its decay is known).
    ``tau_max[e]`` (samples): the longest decay constant fitted for event e.
    """
    ne = starts.shape[0]
    buf = np.empty(1024, np.float64)
    cur = np.empty(8)
    prv = np.empty(8)
    k2 = np.empty(8)
    cnt = np.empty(MAX_BLOCKS, np.int64)
    rel = np.empty(MAX_BLOCKS, np.int64)
    ysum = np.empty(MAX_BLOCKS)
    umean = np.empty(MAX_BLOCKS)
    expo = np.empty(MAX_BLOCKS, np.int64)
    coef = np.zeros(3)
    for k in range(idx.shape[0]):
        e = idx[k]
        s = starts[e]
        t = ends[e]
        sg = signs[e]
        off = off_pos if sg > 0 else off_neg
        lo = 0 if e == 0 else ends[e - 1]
        hi = n_total if e == ne - 1 else starts[e + 1]
        # lower-level crossing before the threshold crossing
        a = s
        while a > lo:
            if sg * (x[a - 1 - offset] - baseline_at(a - 1, B, bvals)) <= off:
                break
            a -= 1
        # peak (global baseline)
        if buf.shape[0] < t - s:
            buf = np.empty(2 * (t - s), np.float64)
        fill_base(s, t, B, bvals, buf)
        ip = s
        pv = -np.inf
        for g in range(s, t):
            r = sg * (x[g - offset] - buf[g - s])
            if r > pv:
                pv = r
                ip = g
        height = pv
        # integrate beyond the lower-level crossings by the length of the
        # rise and twice the fall (the part of the transient hidden in the
        # noise), at least to ib_min, bounded by the midpoints to the neighbours
        ext_a = max(2, ip - a + 1)
        ext_b = max(2, 2 * (t - ip))
        lo2 = lo if e == 0 else (ends[e - 1] + s) // 2
        hi2 = hi if e == ne - 1 else (t + starts[e + 1]) // 2
        ia = min(a, max(lo2, a - ext_a, 0))
        ib = max(t, min(hi2, max(t + ext_b, ib_min[e]), n_total))
        # side windows of the local baseline; neighbours' tails (about twice
        # their duration) stay out of them
        wl = max(4, (ib - ia) // 2)
        lo_t = lo if e == 0 else min(ia, ends[e - 1] + 2 * (ends[e - 1] - starts[e - 1]))
        pa0 = max(ia - wl, lo_t, 0)
        pb1 = min(ib + wl, hi, n_total)
        L = pb1 - pa0
        if buf.shape[0] < L:
            buf = np.empty(2 * L, np.float64)
        nh = mcoef.shape[1] // 2
        seg = s // seg_len
        use_m = omega > 0.0 and nh > 0 and seg < mcoef.shape[0] and np.isfinite(mcoef[seg, 0])
        loc_m = 0.0
        if use_m:
            # remove the mains harmonics fitted on the event's segment; each
            # harmonic by the two-term recurrence m(g+1) = 2 cos(hw) m(g) - m(g-1)
            for h in range(nh):
                w = (h + 1) * omega
                a_h = mcoef[seg, 2 * h]
                b_h = mcoef[seg, 2 * h + 1]
                cur[h] = a_h * np.cos(w * pa0) + b_h * np.sin(w * pa0)
                prv[h] = a_h * np.cos(w * (pa0 - 1)) + b_h * np.sin(w * (pa0 - 1))
                k2[h] = 2.0 * np.cos(w)
        if use_m and nh == 3:
            # residual and mains removal in one pass (same arithmetic as below)
            loc_m = resid_mains3(x, offset, pa0, pb1, B, bvals, buf, sg, ip, cur, prv, k2)
        else:
            fill_base(pa0, pb1, B, bvals, buf)
            for g in range(pa0, pb1):
                buf[g - pa0] = sg * (x[g - offset] - buf[g - pa0])
            # buf now holds the signed residual (sg * r) over [pa0, pb1)
            if use_m:
                for g in range(pa0, pb1):
                    mv = 0.0
                    for h in range(nh):
                        mv += cur[h]
                        nxt = k2[h] * cur[h] - prv[h]
                        prv[h] = cur[h]
                        cur[h] = nxt
                    buf[g - pa0] -= sg * mv
                    if g == ip:
                        loc_m = sg * mv
        # the local line and the exponential tail (see .tail), fitted on block sums
        d = max(1, ip - a)
        tail0 = min(ip + d, ib)
        nb, n_tail, k_tail = layout(buf, pa0, pa0, ia, tail0, ib, pb1, ip, cnt, rel, ysum, umean, expo)
        tau = np.nan
        if n_tail >= 3:
            tau = best_tau(nb, cnt, rel, ysum, umean, expo, block_yy(nb, cnt, ysum),
                           max(0.5, 0.25 * d), max(min(4.0 * (ib - ip), tau_max[e]), 1.0), coef)
        if tau == tau:
            ncol = 4
        else:
            ncol = side_line(nb, n_tail, k_tail, cnt, ysum, umean, coef)
        N = ib - ia
        scale = float(max(N, 1))
        q = 0.0
        for g in range(ia, ib):
            q += buf[g - pa0] - (coef[0] + coef[1] * (g - ip) / scale)
        q_tail = coef[2] * exp_sum(ib - ip, np.inf, tau) if ncol == 4 else 0.0
        q += q_tail
        norm = estimator_norm(nb, n_tail, k_tail, cnt, rel, umean, expo, tau, ia, ib, ip, ncol)
        # the shape (peak, rise, width) above the line through the means of the side windows
        m_pre = 0.0
        m_post = 0.0
        for g in range(pa0, ia):
            m_pre += buf[g - pa0]
        for g in range(ib, pb1):
            m_post += buf[g - pa0]
        if ia > pa0 and pb1 > ib:
            m_pre /= ia - pa0
            m_post /= pb1 - ib
            c_pre = 0.5 * (pa0 + ia - 1)
            c_post = 0.5 * (ib + pb1 - 1)
        elif ia > pa0:
            m_pre /= ia - pa0
            m_post = m_pre
            c_pre = 0.5 * (pa0 + ia - 1)
            c_post = c_pre + 1.0
        elif pb1 > ib:
            m_post /= pb1 - ib
            m_pre = m_post
            c_post = 0.5 * (ib + pb1 - 1)
            c_pre = c_post - 1.0
        else:
            c_pre = 0.0
            c_post = 1.0
        lslope = (m_post - m_pre) / (c_post - c_pre)
        for g in range(ia, ib):
            buf[g - pa0] -= m_pre + lslope * (g - c_pre)
        loc_pk = sg * (m_pre + lslope * (ip - c_pre) + loc_m)
        pv = buf[ip - pa0]
        # rise time 10-90 % on the leading edge (scan back from the peak)
        p10 = 0.1 * pv
        p90 = 0.9 * pv
        i90 = -1.0
        i10 = -1.0
        prev = pv
        for g in range(ip - 1, ia - 1, -1):
            r = buf[g - pa0]
            if i90 < 0 and r < p90:
                i90 = g + 1 - _interp_cross(prev, r, p90)
            if r < p10:
                i10 = g + 1 - _interp_cross(prev, r, p10)
                break
            prev = r
        if i90 >= 0 and i10 < 0:
            i10 = float(ia)
        rise_t = (i90 - i10) if (i90 >= 0 and i10 >= 0) else 0.0
        # full width at half maximum
        halfv = 0.5 * pv
        left = np.nan
        prev = pv
        for g in range(ip - 1, ia - 1, -1):
            r = buf[g - pa0]
            if r < halfv:
                left = g + 1 - _interp_cross(prev, r, halfv)
                break
            prev = r
        right = np.nan
        prev = pv
        for g in range(ip + 1, ib):
            r = buf[g - pa0]
            if r < halfv:
                right = g - 1 + _interp_cross(prev, r, halfv)
                break
            prev = r
        # rising-edge half-maximum crossing: the first one after the event
        # start (scanning back from an arg-max that noise pushed far into a
        # slow tail can stop at a dip of the tail instead)
        rise_half = left
        g = max(a, ia)
        if g < ip and buf[g - pa0] < halfv:
            prev = buf[g - pa0]
            for g in range(g + 1, ip + 1):
                r = buf[g - pa0]
                if r >= halfv:
                    rise_half = g - 1 + _interp_cross(prev, r, halfv)
                    break
                prev = r
        # sub-sample peak position
        sub = float(ip)
        if ip - 1 >= ia and ip + 1 < ib:
            ym = buf[ip - 1 - pa0]
            yp = buf[ip + 1 - pa0]
            den = ym - 2.0 * pv + yp
            if den < 0.0:
                d = 0.5 * (ym - yp) / den
                if d > -1.0 and d < 1.0:
                    sub = ip + d
        out[k, 0] = ia
        out[k, 1] = ib
        out[k, 2] = ip
        out[k, 3] = sg * pv
        out[k, 4] = sg * q
        out[k, 5] = rise_t
        out[k, 6] = tau
        out[k, 7] = right - left
        out[k, 8] = baseline_at(ip, B, bvals) + loc_pk
        out[k, 9] = a
        out[k, 10] = t
        out[k, 11] = sub
        out[k, 12] = rise_half
        out[k, 13] = norm / standard_norm(N)
        out[k, 14] = sg * q_tail
        out[k, 15] = sg * height

