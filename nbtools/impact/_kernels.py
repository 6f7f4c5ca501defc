"""numba kernels of the impact pipeline (one pass over the samples each).

The NumPy reference implementations live in ``tests/test_impact_kernels.py``.

Baseline convention shared by every kernel: the trace is cut into blocks of
``B`` samples; ``bvals[k]`` is the baseline at the block centre
``c_k = k*B + (B-1)/2``; in between the baseline is linear, before the first
and after the last centre it is constant.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def block_means(x, B):
    """Mean of each block of ``B`` samples and the index of the first
    non-finite sample (-1 if none). One pass, float64 accumulation."""
    n = x.shape[0]
    nb = (n + B - 1) // B
    out = np.empty(nb, np.float64)
    bad = -1
    for k in range(nb):
        i0 = k * B
        i1 = min(i0 + B, n)
        s = 0.0
        for i in range(i0, i1):
            s += x[i]
        if not np.isfinite(s) and bad < 0:
            for i in range(i0, i1):
                if not np.isfinite(x[i]):
                    bad = i
                    break
        out[k] = s / (i1 - i0)
    return out, bad


@njit(cache=True, nogil=True)
def baseline_at(i, B, bvals):
    """Baseline value at sample ``i`` (linear between block centres)."""
    nb = bvals.shape[0]
    p = (i - (B - 1) / 2.0) / B
    if p <= 0.0:
        return bvals[0]
    if p >= nb - 1:
        return bvals[nb - 1]
    k = int(p)
    f = p - k
    return bvals[k] * (1.0 - f) + bvals[k + 1] * f


@njit(cache=True, nogil=True)
def baseline_fill(i0, i1, B, bvals, out):
    """Write the baseline of samples ``i0 .. i1-1`` into ``out`` (len i1-i0)."""
    for i in range(i0, i1):
        out[i - i0] = baseline_at(i, B, bvals)


@njit(cache=True, nogil=True)
def hysteresis(x, i0, i1, offset, B, bvals, on_pos, off_pos, on_neg, off_neg,
               starts, ends, signs, state0):
    """Hysteresis detection on the residual ``x - baseline``.

    Samples ``x[i0:i1]`` are scanned; global sample index = local + ``offset``
    (used for the baseline). An event opens when the residual exceeds
    ``on_pos`` (or falls below ``-on_neg``) and closes at the first sample back
    within ``off_pos`` (``-off_neg``). Set ``on_pos``/``on_neg`` to ``inf`` to
    disable a polarity. ``state0`` is the sign of an event open at ``i0``
    (0: none, the scan then starts idle).

    Returns ``(count, stop, state)``: events found (local indices, end
    exclusive; an event still open at ``i1`` gets ``end = i1``), the local
    index where the scan stopped (``i1`` unless the output arrays filled up,
    in which case it stopped idle right after the last closed event), and the
    sign of the event open at ``i1`` (0 if none).
    """
    cap = starts.shape[0]
    nb = bvals.shape[0]
    half = (B - 1) / 2.0
    count = 0
    state = state0
    cur_start = i0
    i = i0
    while i < i1:
        # one linear baseline segment [i, j)
        g = i + offset
        p = (g - half) / B
        if p < 0.0:
            # before the first centre: constant
            k = -1
            j_glob = int(np.ceil(half))
            b = bvals[0]
            slope = 0.0
        elif p >= nb - 1:
            k = nb - 1
            j_glob = g + (i1 - i)
            b = bvals[nb - 1]
            slope = 0.0
        else:
            k = int(p)
            c_next = (k + 1) * B + half
            j_glob = int(np.ceil(c_next))
            f = p - k
            b = bvals[k] * (1.0 - f) + bvals[k + 1] * f
            slope = (bvals[k + 1] - bvals[k]) / B
        if j_glob <= g:
            j_glob = g + 1
        j = min(i1, j_glob - offset)
        for ii in range(i, j):
            r = x[ii] - b
            b += slope
            if state == 0:
                if r > on_pos:
                    state = 1
                    cur_start = ii
                elif -r > on_neg:
                    state = -1
                    cur_start = ii
            elif state == 1:
                if r <= off_pos:
                    if count >= cap:
                        return count, cur_start, 0
                    starts[count] = cur_start
                    ends[count] = ii
                    signs[count] = 1
                    count += 1
                    state = 0
                    # the same sample may open an event of the other sign
                    if -r > on_neg:
                        state = -1
                        cur_start = ii
            else:
                if -r <= off_neg:
                    if count >= cap:
                        return count, cur_start, 0
                    starts[count] = cur_start
                    ends[count] = ii
                    signs[count] = -1
                    count += 1
                    state = 0
                    if r > on_pos:
                        state = 1
                        cur_start = ii
        i = j
    if state != 0:
        if count >= cap:
            return count, cur_start, 0
        starts[count] = cur_start
        ends[count] = i1
        signs[count] = state
        count += 1
    return count, i1, state


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
def _res(x, offset, g, B, bvals, sg):
    return sg * (x[g - offset] - baseline_at(g, B, bvals))


@njit(cache=True, nogil=True)
def _resl(x, offset, g, B, bvals, sg, m0, sl, c0):
    # residual after the local linear baseline m0 + sl * (g - c0)
    return sg * (x[g - offset] - baseline_at(g, B, bvals) - m0 - sl * (g - c0))


@njit(cache=True, nogil=True)
def event_features(x, offset, n_total, B, bvals, starts, ends, signs, e0, e1,
                   off_pos, off_neg, out):
    """Features of events ``e0 .. e1-1`` (global sample indices).

    ``x`` holds samples ``offset .. offset+len(x)`` and must cover
    ``[ends[e0-1], starts[e1])`` (trace ends at the first/last event).
    ``out`` is an (e1-e0, 13) float64 array, columns:
    0 i_a (integration start), 1 i_b (integration end, exclusive),
    2 i_peak, 3 peak (signed residual, A), 4 sum of residual (A samples),
    5 rise 10-90 % (samples), 6 decay time constant (samples, first moment
    of the tail), 7 fwhm (samples), 8 baseline at the peak (A),
    9 i_cross (lower-level crossing before the threshold crossing),
    10 threshold-crossing end, 11 sub-sample peak position (parabola).
    """
    ne = starts.shape[0]
    for e in range(e0, e1):
        s = starts[e]
        t = ends[e]
        sg = signs[e]
        off = off_pos if sg > 0 else off_neg
        lo = 0 if e == 0 else ends[e - 1]
        hi = n_total if e == ne - 1 else starts[e + 1]
        # peak
        ip = s
        pv = -np.inf
        for g in range(s, t):
            r = _res(x, offset, g, B, bvals, sg)
            if r > pv:
                pv = r
                ip = g
        # lower-level crossing before the threshold crossing
        a = s
        while a > lo:
            if _res(x, offset, a - 1, B, bvals, sg) <= off:
                break
            a -= 1
        # integrate beyond the lower-level crossings by the length of the
        # rise / fall (the part of the transient hidden in the noise),
        # bounded by the midpoints to the neighbours
        ext_a = max(2, ip - a + 1)
        ext_b = max(2, 2 * (t - ip))
        lo2 = lo if e == 0 else (ends[e - 1] + s) // 2
        hi2 = hi if e == ne - 1 else (t + starts[e + 1]) // 2
        ia = min(a, max(lo2, a - ext_a, 0))
        ib = max(t, min(hi2, t + ext_b, n_total))
        # local linear baseline from the residual just before and after the
        # integration range (removes 1/f and pickup the slow baseline misses)
        wl = max(4, (ib - ia) // 2)
        pa0 = max(ia - wl, lo, 0)
        pb1 = min(ib + wl, hi, n_total)
        m_pre = 0.0
        for g in range(pa0, ia):
            m_pre += x[g - offset] - baseline_at(g, B, bvals)
        m_post = 0.0
        for g in range(ib, pb1):
            m_post += x[g - offset] - baseline_at(g, B, bvals)
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
            m_pre = 0.0
            m_post = 0.0
            c_pre = 0.0
            c_post = 1.0
        lslope = (m_post - m_pre) / (c_post - c_pre)
        q = 0.0
        for g in range(ia, ib):
            q += x[g - offset] - baseline_at(g, B, bvals)
        q -= (ib - ia) * (m_pre + lslope * (0.5 * (ia + ib - 1) - c_pre))
        loc_pk = m_pre + lslope * (ip - c_pre)
        pv -= sg * loc_pk
        # rise time 10-90 % on the leading edge (scan back from the peak)
        p10 = 0.1 * pv
        p90 = 0.9 * pv
        i90 = -1.0
        i10 = -1.0
        prev = pv
        for g in range(ip - 1, ia - 1, -1):
            r = _resl(x, offset, g, B, bvals, sg, m_pre, lslope, c_pre)
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
        half = 0.5 * pv
        left = np.nan
        prev = pv
        for g in range(ip - 1, ia - 1, -1):
            r = _resl(x, offset, g, B, bvals, sg, m_pre, lslope, c_pre)
            if r < half:
                left = g + 1 - _interp_cross(prev, r, half)
                break
            prev = r
        right = np.nan
        prev = pv
        for g in range(ip + 1, ib):
            r = _resl(x, offset, g, B, bvals, sg, m_pre, lslope, c_pre)
            if r < half:
                right = g - 1 + (1.0 - _interp_cross(r, prev, half))
                break
            prev = r
        # decay: first moment of the tail (tau of an exponential)
        m0 = 0.0
        m1 = 0.0
        for g in range(ip, ib):
            r = _resl(x, offset, g, B, bvals, sg, m_pre, lslope, c_pre)
            m0 += r
            m1 += r * (g - ip)
        decay = m1 / m0 if m0 > 0 else np.nan
        # sub-sample peak position
        sub = float(ip)
        if ip > 0 and ip < n_total - 1 and ip - 1 >= offset and ip + 1 < offset + x.shape[0]:
            ym = _resl(x, offset, ip - 1, B, bvals, sg, m_pre, lslope, c_pre)
            yp = _resl(x, offset, ip + 1, B, bvals, sg, m_pre, lslope, c_pre)
            den = ym - 2.0 * pv + yp
            if den < 0.0:
                d = 0.5 * (ym - yp) / den
                if d > -1.0 and d < 1.0:
                    sub = ip + d
        k = e - e0
        out[k, 0] = ia
        out[k, 1] = ib
        out[k, 2] = ip
        out[k, 3] = sg * pv
        out[k, 4] = q
        out[k, 5] = rise_t
        out[k, 6] = decay
        out[k, 7] = right - left
        out[k, 12] = left
        out[k, 8] = baseline_at(ip, B, bvals) + loc_pk
        out[k, 9] = a
        out[k, 10] = t
        out[k, 11] = sub
