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


# Block min/max by integer order keys: the bits of an IEEE float, with the
# magnitude bits flipped when the sign bit is set, order like the floats
# (-NaN < -inf < ... < -0 < +0 < ... < inf < NaN). Integer min/max reductions
# vectorise where float ones do not, so one pass over a float32 block runs at
# memory speed. Sums are of ``x - x[first]`` (exact for nearby values), so a
# large offset costs no precision.
_SUB = 4096  # samples per partial sum (float32), partial sums add in float64


@njit(cache=True, nogil=True, fastmath=True)
def _stats_f32(x, xi, a, b):
    # slices taken here: passing slices to a call costs reference counting
    xs = x[a:b]
    xis = xi[a:b]
    x0 = xs[0]
    s = np.float32(0.0)
    lo = np.int32(2147483647)
    hi = np.int32(-2147483648)
    for j in range(xs.shape[0]):
        s += xs[j] - x0
        bits = xis[j]
        k = np.int32(bits ^ ((bits >> 31) & 0x7FFFFFFF))
        lo = min(lo, k)
        hi = max(hi, k)
    return s, lo, hi


@njit(cache=True, nogil=True, fastmath=True)
def _stats_f64(x, xi, a, b):
    xs = x[a:b]
    xis = xi[a:b]
    x0 = xs[0]
    s = 0.0
    lo = np.int64(9223372036854775807)
    hi = np.int64(-9223372036854775807 - 1)
    for j in range(xs.shape[0]):
        s += xs[j] - x0
        bits = xis[j]
        k = bits ^ ((bits >> 63) & 0x7FFFFFFFFFFFFFFF)
        lo = min(lo, k)
        hi = max(hi, k)
    return s, lo, hi


@njit(cache=True, nogil=True)
def _first_bad(x, i0, i1):
    for i in range(i0, i1):
        if not np.isfinite(x[i]):
            return i
    return -1


@njit(cache=True, nogil=True)
def _block_stats_keys(x, xi, B, nsub, stats, shift, mask, floats):
    """:func:`block_stats` of float samples ``x`` (``xi``: their bits as
    integers, ``stats`` the kernel for their width, ``shift``/``mask`` its
    key constants, ``floats`` an empty array of ``x``'s dtype)."""
    n = x.shape[0]
    nb = (n + B - 1) // B
    S = (B + nsub - 1) // nsub
    out = np.empty(nb, np.float64)
    klo = np.zeros(nb * nsub, xi.dtype)
    khi = np.zeros(nb * nsub, xi.dtype)
    for k in range(nb):
        i0 = k * B
        i1 = min(i0 + B, n)
        x0 = float(x[i0])
        s = 0.0
        for j in range(nsub):
            c0 = i0 + j * S
            c1 = min(c0 + S, i1)
            q = k * nsub + j
            for a in range(c0, c1, _SUB):
                b = min(a + _SUB, c1)
                ps, lo, hi = stats(x, xi, a, b)
                # partial sums are relative to x[a]; re-reference to x[i0]
                s += float(ps) + (float(x[a]) - x0) * (b - a)
                if a == c0 or lo < klo[q]:
                    klo[q] = lo
                if a == c0 or hi > khi[q]:
                    khi[q] = hi
        out[k] = x0 + s / (i1 - i0)
    # keys back to floats (the same bit flip undoes itself)
    for q in range(klo.shape[0]):
        klo[q] = klo[q] ^ ((klo[q] >> shift) & mask)
        khi[q] = khi[q] ^ ((khi[q] >> shift) & mask)
    mins = klo.view(floats.dtype).astype(np.float64)
    maxs = khi.view(floats.dtype).astype(np.float64)
    bad = -1
    for k in range(nb):
        i0 = k * B
        i1 = min(i0 + B, n)
        for j in range(nsub):
            q = k * nsub + j
            if i0 + j * S >= i1:  # empty sub-block
                mins[q] = np.inf
                maxs[q] = -np.inf
            # NaN keys lie beyond the infinities: a non-finite sample makes
            # its sub-block's min or max non-finite
            elif bad < 0 and not (np.isfinite(mins[q]) and np.isfinite(maxs[q])):
                bad = _first_bad(x, i0, i1)
    return out, mins, maxs, bad


@njit(cache=True, nogil=True)
def _block_stats_any(x, B, nsub):
    n = x.shape[0]
    nb = (n + B - 1) // B
    S = (B + nsub - 1) // nsub
    out = np.empty(nb, np.float64)
    mins = np.full(nb * nsub, np.inf)
    maxs = np.full(nb * nsub, -np.inf)
    bad = -1
    for k in range(nb):
        i0 = k * B
        i1 = min(i0 + B, n)
        s = 0.0
        for i in range(i0, i1):
            v = x[i]
            s += v
            j = k * nsub + (i - i0) // S
            if v < mins[j]:
                mins[j] = v
            if v > maxs[j]:
                maxs[j] = v
        if bad < 0 and not np.isfinite(s):
            bad = _first_bad(x, i0, i1)
        out[k] = s / (i1 - i0)
    return out, mins, maxs, bad


def sub_blocks(B, nsub):
    """Length of the sub-blocks of a block of ``B`` samples cut in ``nsub``
    (the last ones may be shorter or empty)."""
    return (B + nsub - 1) // nsub


def block_stats(x, B, nsub=1):
    """Mean of each block of ``B`` samples, min and max of each of its
    ``nsub`` sub-blocks (:func:`sub_blocks` samples; ``+inf``/``-inf`` for
    empty ones) and the index of the first non-finite sample (-1 if none),
    in one pass over ``x``. ``mins``/``maxs`` have ``nsub`` entries per block.

    Contiguous float32/float64 samples take a vectorised path (integer order
    keys for min/max, shifted sums); other inputs a plain loop.
    """
    B = int(B)
    nsub = max(1, min(int(nsub), B))
    if x.dtype == np.float16:  # no float16 in numba
        x = x.astype(np.float32)
    if x.dtype == np.float32 and x.flags.c_contiguous and x.shape[0] > 0:
        return _block_stats_keys(x, x.view(np.int32), B, nsub, _stats_f32, 31, 0x7FFFFFFF,
                                 np.empty(0, np.float32))
    if x.dtype == np.float64 and x.flags.c_contiguous and x.shape[0] > 0:
        return _block_stats_keys(x, x.view(np.int64), B, nsub, _stats_f64, 63, 0x7FFFFFFFFFFFFFFF,
                                 np.empty(0, np.float64))
    return _block_stats_any(x, B, nsub)


def block_means(x, B):
    """Mean of each block of ``B`` samples and the index of the first
    non-finite sample (-1 if none)."""
    m, lo, hi, bad = block_stats(x, B)
    return m, bad


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
def _scan(x, i, j, b0, slope, on_pos, off_pos, on_neg, off_neg, starts, ends, signs,
          count, state, cur_start, lo):
    """Hysteresis over local samples [i, j) with baseline b0 + slope*(ii - lo)."""
    cap = starts.shape[0]
    ii = i
    while ii < j:
        if state == 0:
            up = b0 + on_pos
            dn = b0 - on_neg
            while ii < j:
                d = slope * (ii - lo)
                v = x[ii]
                if v > up + d or v < dn + d:
                    break
                ii += 1
            if ii == j:
                break
            r = x[ii] - (b0 + slope * (ii - lo))
            state = 1 if r > on_pos else -1
            cur_start = ii
            ii += 1
        elif state == 1:
            lim = b0 + off_pos
            while ii < j and x[ii] > lim + slope * (ii - lo):
                ii += 1
            if ii == j:
                break
            if count >= cap:
                return count, state, cur_start, -1
            starts[count] = cur_start
            ends[count] = ii
            signs[count] = 1
            count += 1
            state = 0
            if -(x[ii] - (b0 + slope * (ii - lo))) > on_neg:
                state = -1
                cur_start = ii
            ii += 1
        else:
            lim = b0 - off_neg
            while ii < j and x[ii] < lim + slope * (ii - lo):
                ii += 1
            if ii == j:
                break
            if count >= cap:
                return count, state, cur_start, -1
            starts[count] = cur_start
            ends[count] = ii
            signs[count] = -1
            count += 1
            state = 0
            if x[ii] - (b0 + slope * (ii - lo)) > on_pos:
                state = 1
                cur_start = ii
            ii += 1
    return count, state, cur_start, 0


@njit(cache=True, nogil=True)
def hysteresis(x, i0, i1, offset, B, bvals, on_pos, off_pos, on_neg, off_neg,
               starts, ends, signs, state0, mins=None, maxs=None):
    """Hysteresis detection on the residual ``x - baseline``.

    Samples ``x[i0:i1]`` are scanned; global sample index = local + ``offset``
    (used for the baseline). An event opens when the residual exceeds
    ``on_pos`` (or falls below ``-on_neg``) and closes at the first sample back
    within ``off_pos`` (``-off_neg``). Set ``on_pos``/``on_neg`` to ``inf`` to
    disable a polarity. ``state0`` is the sign of an event open at ``i0``
    (0: none, the scan then starts idle). ``mins``/``maxs`` (per sub-block,
    from :func:`block_stats`) let the scan skip, while idle, whole sub-blocks
    in which no sample can cross the threshold (the result is the same).

    Returns ``(count, stop, state)``: events found (local indices, end
    exclusive; an event still open at ``i1`` gets ``end = i1``), the local
    index where the scan stopped (``i1`` unless the output arrays filled up,
    in which case it stopped idle at the start of the event that did not
    fit), and the sign of the event open at ``i1`` (0 if none).
    """
    nb = bvals.shape[0]
    half = (B - 1) / 2.0
    skip = mins is not None and maxs is not None
    nsub = mins.shape[0] // nb if skip else 1
    S = (B + nsub - 1) // nsub
    count = 0
    state = state0
    cur_start = i0
    i = i0
    while i < i1:
        g = i + offset
        kb = g // B
        js = (g - kb * B) // S
        sub_a = kb * B + js * S
        sub_b = min(sub_a + S, (kb + 1) * B)
        # idle and the whole sub-block is inside the band: skip it (the
        # baseline is linear in it but for the block centre, a knot)
        if skip and state == 0 and g == sub_a:
            e_g = min(sub_b, offset + i1)
            bl = baseline_at(g, B, bvals)
            bc = baseline_at(min(max(kb * B + half, g), e_g - 1), B, bvals)
            br = baseline_at(e_g - 1, B, bvals)
            bmin = min(bl, bc, br)
            bmax = max(bl, bc, br)
            q = kb * nsub + js
            if maxs[q] - bmin <= on_pos and bmax - mins[q] <= on_neg:
                i = e_g - offset
                continue
        # one linear baseline segment [i, j): base(ii) = b0 + slope * (ii - i)
        j_glob, b0, slope = _segment(g, offset + i1, B, bvals)
        if skip:
            # stop at the next sub-block boundary so idle ones can be skipped
            j_glob = min(j_glob, sub_b)
        j = min(i1, j_glob - offset)
        count, state, cur_start, full = _scan(x, i, j, b0, slope, on_pos, off_pos, on_neg, off_neg,
                                              starts, ends, signs, count, state, cur_start, i)
        if full:
            return count, cur_start, 0
        i = j
    if state != 0:
        if count >= starts.shape[0]:
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
def _segment(g, g1, B, bvals):
    """The piece of the baseline that starts at sample ``g``: ``(j, b0, slope)``
    with baseline ``b0 + slope * (q - g)`` for ``q`` in ``[g, j)``, ``j <= g1``
    (constant before the first and after the last block centre)."""
    nb = bvals.shape[0]
    half = (B - 1) / 2.0
    p = (g - half) / B
    slope = 0.0
    if p < 0.0:
        j = min(g1, int(np.ceil(half)))
        b0 = bvals[0]
    elif p >= nb - 1:
        j = g1
        b0 = bvals[nb - 1]
    else:
        k = int(p)
        j = min(g1, int(np.ceil((k + 1) * B + half)))
        f = p - k
        b0 = bvals[k] * (1.0 - f) + bvals[k + 1] * f
        slope = (bvals[k + 1] - bvals[k]) / B
    if j <= g:
        j = g + 1
    return j, b0, slope


@njit(cache=True, nogil=True)
def _fill_base(g0, g1, B, bvals, out):
    """Baseline of samples ``g0 .. g1-1`` into ``out[0:g1-g0]`` (segment-wise)."""
    g = g0
    while g < g1:
        j, b0, slope = _segment(g, g1, B, bvals)
        for q in range(g, j):
            out[q - g0] = b0 + slope * (q - g)
        g = j


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
def _resid_mains3(x, offset, g0, g1, B, bvals, out, sg, ip, cur, prv, k2):
    """``out[g - g0] = sg * (x - baseline) - sg * mains`` for g in [g0, g1)
    with 3 mains harmonics by their recurrences (state ``cur``/``prv``, factors
    ``k2``): the arithmetic of :func:`_fill_base`, the residual and the
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
        j, b0, slope = _segment(g, g1, B, bvals)
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
        _fill_base(s, t, B, bvals, buf)
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
            loc_m = _resid_mains3(x, offset, pa0, pb1, B, bvals, buf, sg, ip, cur, prv, k2)
        else:
            _fill_base(pa0, pb1, B, bvals, buf)
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


@njit(cache=True, nogil=True)
def merge_tails(starts, ends, signs, peaks, ipeaks, keep, changed):
    """Merge candidates rising out of the previous event's decaying tail.

    Event k joins the last kept event j when they have the same sign, k
    starts within ``max(2, 2 * (end_j - ipeak_j))`` samples of j's end and
    ``|peak_k| < 0.5 |peak_j|``. Writes kept indices into ``keep`` and the
    output positions of extended events into ``changed``; modifies ``ends``
    of kept events in place. Returns ``(n_keep, n_changed, n_merged)``.
    """
    n = starts.shape[0]
    if n == 0:
        return 0, 0, 0
    nk = 1
    keep[0] = 0
    nch = 0
    merged = 0
    j = 0
    end_j = ends[0]
    for k in range(1, n):
        if (signs[k] == signs[j] and starts[k] - end_j <= max(2, 2 * (end_j - ipeaks[j]))
                and abs(peaks[k]) < 0.5 * abs(peaks[j])):
            if ends[k] > end_j:
                end_j = ends[k]
            ends[j] = end_j
            merged += 1
            if nch == 0 or changed[nch - 1] != nk - 1:
                changed[nch] = nk - 1
                nch += 1
        else:
            keep[nk] = k
            nk += 1
            j = k
            end_j = ends[k]
    return nk, nch, merged
