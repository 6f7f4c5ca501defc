"""Block statistics and the piecewise-linear baseline (numba).

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
def _block_stats_keys(x, xi, B, nsub, wide, shift, mask, floats):
    """:func:`block_stats` of float samples ``x`` (``xi``: their bits as
    integers, ``wide`` True for float64, ``shift``/``mask`` the key constants
    of their width, ``floats`` an empty array of ``x``'s dtype). The width is
    a plain flag, not a kernel passed in: a dispatcher argument makes numba's
    on-disk cache miss in every new process (its type holds the object)."""
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
                if wide:
                    ps, lo, hi = _stats_f64(x, xi, a, b)
                else:
                    ps, lo, hi = _stats_f32(x, xi, a, b)
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
        return _block_stats_keys(x, x.view(np.int32), B, nsub, False, 31, 0x7FFFFFFF,
                                 np.empty(0, np.float32))
    if x.dtype == np.float64 and x.flags.c_contiguous and x.shape[0] > 0:
        return _block_stats_keys(x, x.view(np.int64), B, nsub, True, 63, 0x7FFFFFFFFFFFFFFF,
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
def baseline_segment(g, g1, B, bvals):
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
def fill_base(g0, g1, B, bvals, out):
    """Baseline of samples ``g0 .. g1-1`` into ``out[0:g1-g0]`` (segment-wise)."""
    g = g0
    while g < g1:
        j, b0, slope = baseline_segment(g, g1, B, bvals)
        for q in range(g, j):
            out[q - g0] = b0 + slope * (q - g)
        g = j



@njit(cache=True, nogil=True)
def edge_medians(v, h, out):
    """``out[i]`` for the ``h`` points at each end of ``v``: the median of the finite values of the window
    ``v[i - r : i + r + 1]`` shrunk symmetrically about ``i`` (``r`` = the distance to the nearer end); NaN
    when it holds none (:func:`nbtools.impact.baseline.running_median`'s edges)."""
    n = v.shape[0]
    buf = np.empty(2 * h + 1)
    for i in range(n):
        if h <= i < n - h:
            continue
        r = min(i, n - 1 - i)
        m = 0
        for j in range(i - r, i + r + 1):
            if np.isfinite(v[j]):
                buf[m] = v[j]
                m += 1
        if m == 0:
            out[i] = np.nan
            continue
        s = np.sort(buf[:m])
        out[i] = s[m // 2] if m % 2 else (s[m // 2 - 1] + s[m // 2]) / 2.0
