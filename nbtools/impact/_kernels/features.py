"""Features of each event (integration range, charge, peak, rise, decay, width) (numba)."""

from __future__ import annotations

import numpy as np
from numba import njit

from .blocks import baseline_at, fill_base
from .mains import resid_mains3


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
                   off_pos, off_neg, out, omega, mcoef, seg_len, min_tail=0, weak_level=np.inf):
    """Features of the events ``idx`` (global sample indices).

    ``x`` holds samples ``offset .. offset+len(x)`` and must cover
    ``[ends[e-1], starts[e+1])`` of every event e in ``idx`` (trace ends for the
    first/last event). ``out`` is a (len(idx), 13) float64 array, columns:
    0 i_a (integration start), 1 i_b (integration end, exclusive),
    2 i_peak, 3 peak (signed, A, above the local baseline), 4 sum of the
    residual over [i_a, i_b) after the local baseline (A samples),
    5 rise 10-90 % (samples), 6 decay time constant (samples, first moment of
    the tail), 7 fwhm (samples), 8 background at the peak (A),
    9 i_cross (lower-level crossing before the threshold crossing),
    10 threshold-crossing end, 11 sub-sample peak position (parabola),
    12 rising-edge half-maximum crossing (sub-sample, NaN if none).
    ``omega`` > 0 (rad/sample, mains pickup) with ``mcoef`` (per segment of
    ``seg_len`` samples, the cos/sin amplitudes of the mains harmonics from
    :func:`mains_segments`; NaN rows: none) subtracts the pickup of the
    event's segment before the local line. ``min_tail`` (samples): the
    integration of events whose peak (above the slow baseline) is below
    ``weak_level`` (A) runs at least this far past the peak (the tail of a
    weak transient that the noise hides), within the same neighbour bounds.
    """
    ne = starts.shape[0]
    buf = np.empty(1024, np.float64)
    cur = np.empty(8)
    prv = np.empty(8)
    k2 = np.empty(8)
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
        # integrate beyond the lower-level crossings by the length of the
        # rise and twice the fall (the part of the transient hidden in the
        # noise), bounded by the midpoints to the neighbours
        ext_a = max(2, ip - a + 1)
        ext_b = max(2, 2 * (t - ip))
        if pv < weak_level:
            ext_b = max(ext_b, ip + min_tail - t)
        lo2 = lo if e == 0 else (ends[e - 1] + s) // 2
        hi2 = hi if e == ne - 1 else (t + starts[e + 1]) // 2
        ia = min(a, max(lo2, a - ext_a, 0))
        ib = max(t, min(hi2, t + ext_b, n_total))
        # local linear baseline from the residual just before and after the
        # integration range (removes 1/f noise the slow baseline misses)
        wl = max(4, (ib - ia) // 2)
        # neighbours' tails (about twice their duration) stay out of the
        # local-baseline windows
        lo_t = lo if e == 0 else min(ia, ends[e - 1] + 2 * (ends[e - 1] - starts[e - 1]))
        pa0 = max(ia - wl, lo_t, 0)
        pb1 = min(ib + wl, hi, n_total)
        L = pb1 - pa0
        if buf.shape[0] < L:
            buf = np.empty(2 * L, np.float64)
        q = 0.0
        m0 = 0.0
        m1 = 0.0
        loc_m = 0.0
        wl2 = max(4, (ib - ia) // 2)
        qa0 = max(ia - wl2, pa0)
        qb1 = min(ib + wl2, pb1)
        nh = mcoef.shape[1] // 2
        seg = s // seg_len
        use_m = omega > 0.0 and nh > 0 and seg < mcoef.shape[0] and np.isfinite(mcoef[seg, 0])
        if use_m:
            # remove the mains harmonics fitted on the event's segment; each
            # harmonic by the two-term recurrence m(g+1) = 2 cos(hw) m(g) - m(g-1)
            for h in range(nh):
                w = (h + 1) * omega
                a_h = mcoef[seg, 2 * h]
                b_h = mcoef[seg, 2 * h + 1]
                cur[h] = a_h * np.cos(w * qa0) + b_h * np.sin(w * qa0)
                prv[h] = a_h * np.cos(w * (qa0 - 1)) + b_h * np.sin(w * (qa0 - 1))
                k2[h] = 2.0 * np.cos(w)
        if use_m and nh == 3 and qa0 == pa0 and qb1 == pb1:
            # residual and mains removal in one pass (same arithmetic as below)
            loc_m = resid_mains3(x, offset, pa0, pb1, B, bvals, buf, sg, ip, cur, prv, k2)
        else:
            fill_base(pa0, pb1, B, bvals, buf)
            for g in range(pa0, pb1):
                buf[g - pa0] = sg * (x[g - offset] - buf[g - pa0])
            # buf now holds the signed residual (sg * r) over [pa0, pb1)
            if use_m:
                for g in range(qa0, qb1):
                    mv = 0.0
                    for h in range(nh):
                        mv += cur[h]
                        nxt = k2[h] * cur[h] - prv[h]
                        prv[h] = cur[h]
                        cur[h] = nxt
                    buf[g - pa0] -= sg * mv
                    if g == ip:
                        loc_m = sg * mv
        if True:
            # local line from the residual just before and after the
            # integration range (removes 1/f noise the slow baseline misses)
            # both sums in one loop (two independent chains, same order each)
            m_pre = 0.0
            m_post = 0.0
            n_pre = max(ia - qa0, 0)
            n_post = max(qb1 - ib, 0)
            n_both = min(n_pre, n_post)
            for u in range(n_both):
                m_pre += buf[qa0 + u - pa0]
                m_post += buf[ib + u - pa0]
            for g in range(qa0 + n_both, ia):
                m_pre += buf[g - pa0]
            for g in range(ib + n_both, qb1):
                m_post += buf[g - pa0]
            if ia > qa0 and qb1 > ib:
                m_pre /= ia - qa0
                m_post /= qb1 - ib
                c_pre = 0.5 * (qa0 + ia - 1)
                c_post = 0.5 * (ib + qb1 - 1)
            elif ia > qa0:
                m_pre /= ia - qa0
                m_post = m_pre
                c_pre = 0.5 * (qa0 + ia - 1)
                c_post = c_pre + 1.0
            elif qb1 > ib:
                m_post /= qb1 - ib
                m_pre = m_post
                c_post = 0.5 * (ib + qb1 - 1)
                c_pre = c_post - 1.0
            else:
                m_pre = 0.0
                m_post = 0.0
                c_pre = 0.0
                c_post = 1.0
            lslope = (m_post - m_pre) / (c_post - c_pre)
            # the decay moments of the tail [ip, ib) are summed in the same
            # pass (they read the values written here)
            for g in range(ia, ip):
                v = buf[g - pa0] - (m_pre + lslope * (g - c_pre))
                buf[g - pa0] = v
                q += v
            for g in range(ip, ib):
                v = buf[g - pa0] - (m_pre + lslope * (g - c_pre))
                buf[g - pa0] = v
                q += v
                m0 += v
                m1 += v * (g - ip)
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
        # decay: first moment of the tail (tau of an exponential)
        decay = m1 / m0 if m0 > 0 else np.nan
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
        out[k, 6] = decay
        out[k, 7] = right - left
        out[k, 8] = baseline_at(ip, B, bvals) + loc_pk
        out[k, 9] = a
        out[k, 10] = t
        out[k, 11] = sub
        out[k, 12] = rise_half

