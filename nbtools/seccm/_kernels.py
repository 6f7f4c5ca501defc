"""numba kernels for the per-sample work of SECCM maps (parallel over pixels).

Each kernel walks one curve at a time, so a 200 x 200 x 1000 scan is read
once per map instead of once per NumPy temporary. The NumPy versions in
:mod:`nbtools.seccm.maps` (``engine='numpy'``) are the reference; the tests
compare the two.

Segment k joins samples k and k+1. Its direction is the sign of
``p[min(k+1+h, n-1)] - p[max(k-h, 0)]`` (readback noise ignored), a segment
without change takes the previous direction, leading ones the first. Branch
codes: 1 anodic, -1 cathodic, 2 forward, -2 reverse. ``cycle`` ALL selects
every sweep of the branch.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..threads import use_fork_safe_threads

use_fork_safe_threads()  # dask's process pool forks: no GNU OpenMP in a forked child

ALL = -(2**30)


@njit(cache=True)
def _dirs(p, n, h, out):
    last = 0
    for k in range(n - 1):
        hi = min(k + 1 + h, n - 1)
        lo = max(k - h, 0)
        D = p[hi] - p[lo]
        if not (D == D):
            D = p[k + 1] - p[k]
        if D > 0:
            d = 1
        elif D < 0:
            d = -1
        else:
            d = last
        out[k] = d
        if d != 0:
            last = d
    first = 0
    for k in range(n - 1):
        if out[k] != 0:
            first = out[k]
            break
    for k in range(n - 1):
        if out[k] == 0:
            out[k] = first
        else:
            break


@njit(cache=True)
def _select(p, n, h, branch, cycle, sel):
    """Fill sel[0:n-1] with the segments of the branch/cycle; return the count."""
    dirs = np.zeros(max(n - 1, 1), np.int8)
    _dirs(p, n, h, dirs)
    b = branch
    if branch == 2:
        b = dirs[0]
    elif branch == -2:
        b = -dirs[0]
    total = 0
    for k in range(n - 1):
        if dirs[k] == b and (k == 0 or dirs[k - 1] != b):
            total += 1
    target = cycle if cycle >= 0 else total + cycle
    rank = -1
    cnt = 0
    for k in range(n - 1):
        s = False
        if dirs[k] == b:
            if k == 0 or dirs[k - 1] != b:
                rank += 1
            if cycle == ALL or rank == target:
                s = np.isfinite(p[k]) and np.isfinite(p[k + 1])
        sel[k] = s
        if s:
            cnt += 1
    return cnt


@njit(cache=True)
def _row(a, i):
    return a[0] if a.shape[0] == 1 else a[i]


@njit(cache=True)
def _pixel(cur, pot, nsamp, i, h, branch, cycle):
    """Current, potential, sample count and selected segments (branch/cycle) of pixel i.

    ``sel[k]`` marks segment k (samples k, k+1); ``sel`` is empty when the
    pixel has fewer than two samples (the caller returns NaN for it).
    """
    p = _row(pot, i)
    m = nsamp[i]
    sel = np.zeros(max(m - 1, 0), np.bool_)
    if m >= 2:
        _select(p, m, h, branch, cycle, sel)
    return cur[i], p, m, sel


@njit(parallel=True, cache=True)
def charge_kernel(cur, pot, tim, nsamp, h, branch, cycle, use_win, e1, e2, use_twin, t1, t2, base_mode,
                  base_const, n_end, out):
    n = cur.shape[0]
    for i in prange(n):
        c = cur[i]
        p = _row(pot, i)
        t = _row(tim, i)
        m = nsamp[i]
        out[i] = np.nan
        if m < 2:
            continue
        sel = np.zeros(m - 1, np.bool_)
        if use_twin:
            for k in range(m - 1):
                tm = 0.5 * (t[k] + t[k + 1])
                sel[k] = tm >= t1 and tm <= t2
        else:
            _select(p, m, h, branch, cycle, sel)
            if use_win:
                for k in range(m - 1):
                    pm = 0.5 * (p[k] + p[k + 1])
                    if not (pm >= e1 and pm <= e2):
                        sel[k] = False
        first = -1
        last = -1
        for k in range(m - 1):
            if sel[k]:
                if not (np.isfinite(c[k]) and np.isfinite(c[k + 1]) and np.isfinite(t[k]) and np.isfinite(t[k + 1])):
                    sel[k] = False
                    continue
                if first < 0:
                    first = k
                last = k
        if first < 0:
            continue
        y0 = 0.0
        slope = 0.0
        x0 = 0.0
        if base_mode == 1:  # linear between the window ends
            s0 = first
            s1 = last + 1
            sx0 = 0.0
            sy0 = 0.0
            n0 = 0
            sx1 = 0.0
            sy1 = 0.0
            n1 = 0
            for j in range(1, n_end + 1):
                k0 = s0 + j
                if j == 1 or k0 < s1:
                    k0 = min(k0, m - 1)
                    xv = t[k0] if use_twin else p[k0]
                    if np.isfinite(c[k0]) and np.isfinite(xv):
                        sx0 += xv
                        sy0 += c[k0]
                        n0 += 1
                k1 = s1 - j
                if j == 1 or k1 > s0:
                    k1 = max(k1, 0)
                    xv = t[k1] if use_twin else p[k1]
                    if np.isfinite(c[k1]) and np.isfinite(xv):
                        sx1 += xv
                        sy1 += c[k1]
                        n1 += 1
            if n0 == 0 or n1 == 0:
                continue
            x0 = sx0 / n0
            y0 = sy0 / n0
            x1 = sx1 / n1
            y1 = sy1 / n1
            slope = (y1 - y0) / (x1 - x0) if x1 != x0 else 0.0
        elif base_mode == 2:
            y0 = base_const
        q = 0.0
        for k in range(first, last + 1):
            if sel[k]:
                if use_twin:
                    b0 = y0 + slope * (t[k] - x0)
                    b1 = y0 + slope * (t[k + 1] - x0)
                else:
                    b0 = y0 + slope * (p[k] - x0)
                    b1 = y0 + slope * (p[k + 1] - x0)
                q += 0.5 * ((c[k] - b0) + (c[k + 1] - b1)) * (t[k + 1] - t[k])
        out[i] = q


@njit(parallel=True, cache=True)
def crossing_kernel(cur, pot, nsamp, h, branch, cycle, level, out):
    n = cur.shape[0]
    for i in prange(n):
        out[i] = np.nan
        c, p, m, sel = _pixel(cur, pot, nsamp, i, h, branch, cycle)
        if m < 2:
            continue
        s = 0.0
        cnt = 0
        for k in range(m - 1):
            if sel[k]:
                e0 = p[k]
                e1 = p[k + 1]
                if (e0 - level) * (e1 - level) <= 0 and e0 != e1:
                    v = c[k] + (level - e0) / (e1 - e0) * (c[k + 1] - c[k])
                    if np.isfinite(v):
                        s += v
                        cnt += 1
        if cnt > 0:
            out[i] = s / cnt


@njit(cache=True)
def _smooth(c, w, cs):
    """Centred moving average of width w (odd); raw at edges / near NaN."""
    M = c.shape[0]
    h = w // 2
    for k in range(M):
        cs[k] = c[k]
    if w <= 1 or M <= w:
        return
    s = 0.0
    bad = 0
    for j in range(w):
        v = c[j]
        if np.isfinite(v):
            s += v
        else:
            bad += 1
    for k in range(h, M - h):
        if bad == 0:
            cs[k] = s / w
        if k + h + 1 < M:
            vin = c[k + h + 1]
            vout = c[k - h]
            if np.isfinite(vin):
                s += vin
            else:
                bad += 1
            if np.isfinite(vout):
                s -= vout
            else:
                bad -= 1


@njit(parallel=True, cache=True)
def peak_kernel(cur, pot, nsamp, h, branch, cycle, use_win, e1, e2, w, sign, out_e, out_i, out_p, out_inner):
    n, M = cur.shape
    for i in prange(n):
        out_e[i] = np.nan
        out_i[i] = np.nan
        out_p[i] = np.nan
        out_inner[i] = False
        c, p, m, sel = _pixel(cur, pot, nsamp, i, h, branch, cycle)
        if m < 2:
            continue
        ins = np.zeros(M, np.bool_)
        for k in range(m - 1):
            if sel[k]:
                ins[k] = True
                ins[k + 1] = True
        if use_win:
            for k in range(M):
                if not (p[k] >= e1 and p[k] <= e2):
                    ins[k] = False
        cs = np.empty(M)
        _smooth(c, w, cs)
        first = -1
        last = -1
        for k in range(M):
            if ins[k]:
                if first < 0:
                    first = k
                last = k
        if first < 0:
            continue
        # background: straight line through the mean raw (E, i) of ne samples at each end of the
        # branch, the outermost skipped (vertex); a capacitive branch is flat after subtracting it
        ne = max(1, min(5, (last - first) // 8))
        x0 = 0.0
        y0 = 0.0
        n0 = 0
        x1 = 0.0
        y1e = 0.0
        n1 = 0
        for j in range(1, ne + 1):
            ka = min(first + j, last)
            kz = max(last - j, first)
            if np.isfinite(c[ka]) and np.isfinite(p[ka]):
                x0 += p[ka]
                y0 += c[ka]
                n0 += 1
            if np.isfinite(c[kz]) and np.isfinite(p[kz]):
                x1 += p[kz]
                y1e += c[kz]
                n1 += 1
        if n0 == 0 or n1 == 0:
            continue
        x0 /= n0
        y0 /= n0
        x1 /= n1
        y1e /= n1
        slope = (y1e - y0) / (x1 - x0) if x1 != x0 else 0.0
        best = -np.inf
        kb = -1
        for k in range(first + 1, last):
            if ins[k]:
                v = (cs[k] - (y0 + slope * (p[k] - x0))) * sign
                if np.isfinite(v) and v > best:
                    best = v
                    kb = k
        if kb < 0:
            continue
        inner = ins[kb - 1] and ins[kb + 1]
        epk = p[kb]
        ipk = cs[kb] * sign
        prom = best
        if inner:
            r0 = (cs[kb - 1] - (y0 + slope * (p[kb - 1] - x0))) * sign
            r2 = (cs[kb + 1] - (y0 + slope * (p[kb + 1] - x0))) * sign
            den = r0 - 2 * best + r2
            delta = 0.0
            if den < 0:
                delta = 0.5 * (r0 - r2) / den
                if not np.isfinite(delta):
                    delta = 0.0
                delta = min(max(delta, -0.5), 0.5)
            if delta > 0:
                epk = p[kb] + delta * (p[kb + 1] - p[kb])
            else:
                epk = p[kb] + delta * (p[kb] - p[kb - 1])
            prom = best - 0.25 * (r0 - r2) * delta
            ipk = cs[kb] * sign - 0.25 * (cs[kb - 1] - cs[kb + 1]) * sign * delta
        out_e[i] = epk
        out_i[i] = ipk * sign
        out_p[i] = prom
        out_inner[i] = inner


@njit(parallel=True, cache=True)
def onset_kernel(cur, pot, nsamp, h, branch, cycle, use_win, e1, e2, w, thr, out):
    n, M = cur.shape
    sign = 1.0 if thr > 0 else -1.0
    ts = thr * sign
    for i in prange(n):
        out[i] = np.nan
        c, p, m, sel = _pixel(cur, pot, nsamp, i, h, branch, cycle)
        if m < 2:
            continue
        cs = np.empty(M)
        _smooth(c, w, cs)
        for k in range(m - 1):
            if not sel[k]:
                continue
            if use_win:
                pm = 0.5 * (p[k] + p[k + 1])
                if not (pm >= e1 and pm <= e2):
                    continue
            a1 = cs[k + 1] * sign
            if a1 >= ts:
                a0 = cs[k] * sign
                f = 1.0
                if a0 < ts:
                    f = (ts - a0) / (a1 - a0)
                    if not np.isfinite(f):
                        f = 1.0
                f = min(max(f, 0.0), 1.0)
                out[i] = p[k] + f * (p[k + 1] - p[k])
                break


@njit(cache=True)
def _median_abs_d2(x, nx, step, out):
    """Median |second difference| of x[0:nx] at every ``step``-th point (finite ones); NaN if none."""
    nd = 0
    for k in range(1, nx - 1, step):
        v = x[k + 1] - 2.0 * x[k] + x[k - 1]
        if np.isfinite(v):
            out[nd] = abs(v)
            nd += 1
    return np.median(out[:nd]) if nd > 0 else np.nan


@njit(parallel=True, cache=True)
def evidence_kernel(cur, pot, tim, has_time, nsamp, h, b, n_windows, hi, lo,
                    noise, noise_lr, sums, wsum, wcnt, wtau, wr, c0, sat):  # pragma: no cover - compiled
    """Per pixel: white and long-run noise, sums of the fit c ~ 1 + tau + dE/dt, window sums (c, count, tau, dE/dt), rails.

    NumPy reference: :func:`nbtools.seccm.contact._sums_numpy` (see there for the definitions).
    """
    n, M = cur.shape
    for i in prange(n):
        c = cur[i]
        m = nsamp[i]
        p = pot[i] if pot.shape[0] > 1 else pot[0]
        t = tim[i] if tim.shape[0] > 1 else tim[0]
        # white noise: median |second difference| over at most ~256 evenly spaced points
        step = max((m - 2) // 256, 1)
        buf = np.empty(max((m - 2) // step + 1, 1))
        med = _median_abs_d2(c, m, step, buf)
        sig = med / 0.6745 / np.sqrt(6.0)
        if not sig > 0 and med == med:  # quantised: standard deviation of the second differences
            s1 = 0.0
            s2 = 0.0
            nd = 0
            for k in range(1, m - 1, step):
                v = c[k + 1] - 2.0 * c[k] + c[k - 1]
                if np.isfinite(v):
                    s1 += v
                    s2 += v * v
                    nd += 1
            sig = np.sqrt(max(s2 / nd - (s1 / nd) ** 2, 0.0)) / np.sqrt(6.0)
        noise[i] = sig
        # long-run noise from block means (the same blocks as the NumPy reference: over the padded row)
        nb = M // b
        noise_lr[i] = np.nan
        if b > 1 and nb >= 5:
            B = np.empty(nb)
            for j in range(nb):
                s = 0.0
                cnt = 0
                for k in range(j * b, (j + 1) * b):
                    if np.isfinite(c[k]):
                        s += c[k]
                        cnt += 1
                B[j] = s / cnt if cnt > 0 else np.nan
            noise_lr[i] = _median_abs_d2(B, nb, 1, np.empty(nb)) / 0.6745 / np.sqrt(6.0) * np.sqrt(b)
        # mean, samples on the rails
        s = 0.0
        cnt = 0
        ns = 0
        for k in range(M):
            v = c[k]
            if np.isfinite(v):
                s += v
                cnt += 1
                if v >= hi or v <= lo:
                    ns += 1
        sat[i] = ns
        mean = s / cnt if cnt > 0 else 0.0
        c0[i] = mean
        for q in range(9):
            sums[i, q] = 0.0
        for j in range(n_windows):
            wsum[i, j] = 0.0
            wcnt[i, j] = 0.0
            wtau[i, j] = 0.0
            wr[i, j] = 0.0
        mm = max(m, 1)
        for k in range(m):
            v = c[k]
            if not np.isfinite(v):
                continue
            x = v - mean
            tau = k / max(m - 1, 1) - 0.5
            j = ((k + 1) * n_windows + mm - 1) // mm - 1
            wsum[i, j] += x
            wcnt[i, j] += 1.0
            wtau[i, j] += tau
            khi = min(k + h, m - 1)
            klo = min(max(k - h, 0), m - 1)
            dp = p[khi] - p[klo]
            dt = (t[khi] - t[klo]) if has_time else float(khi - klo)
            if dt > 0:
                r = dp / dt
            elif np.isfinite(dp):
                r = 0.0
            else:
                r = np.nan
            if not np.isfinite(r):
                continue
            wr[i, j] += r
            sums[i, 0] += 1.0
            sums[i, 1] += tau
            sums[i, 2] += r
            sums[i, 3] += tau * tau
            sums[i, 4] += tau * r
            sums[i, 5] += r * r
            sums[i, 6] += x
            sums[i, 7] += x * tau
            sums[i, 8] += x * r


@njit(cache=True, nogil=True)
def curve_sums(cur, rows):  # pragma: no cover - compiled
    """Per-sample sum, sum of squares and count of finite values over ``rows`` of ``cur``.

    One pass over the selected rows, no copies; branch-free inner loop (it
    vectorises: 3-4x faster than an ``isfinite`` branch) and float64
    accumulation even for float32 data. Used by :func:`nbtools.seccm.group_stats`
    and the PixelSelector widget; NumPy reference in ``tests/test_seccm_stats.py``.
    """
    m = cur.shape[1]
    s1 = np.zeros(m)
    s2 = np.zeros(m)
    cnt = np.zeros(m)
    for r in rows:
        row = cur[r]
        for j in range(m):
            v = np.float64(row[j])
            ok = v == v  # not NaN (Inf is not expected in currents)
            w = v if ok else 0.0
            s1[j] += w
            s2[j] += w * w
            cnt[j] += 1.0 if ok else 0.0
    return s1, s2, cnt
