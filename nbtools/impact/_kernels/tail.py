"""The charge of one transient: its integral above a local line, with the exponential tail modelled (numba).

Around an event with peak at sample ``ip``, integration range ``[ia, ib)``
and side windows ``[ia - w, ia)`` and ``[ib, ib + w)``, the signed residual
``r`` (trace minus the slow baseline and the mains pickup) is modelled as a
local line ``c0 + c1 u`` (``u = (g - ip) / (ib - ia)``) everywhere outside the
rise, plus ``A exp(-(g - ip) / tau)`` from ``ip + d`` on (``d``: the rise). A
least-squares fit of ``c0, c1, A`` for each ``tau`` (A > 0), ``tau`` the best
of them (profile), gives

    Q = sum_{ia <= g < ib} (r - c0 - c1 u) + A sum_{g >= ib} exp(-(g - ip) / tau)

the charge (A x samples): the samples themselves where the event is, the
fitted tail only beyond the integration range (what the noise hides there),
both above the fitted line. The fit runs on block sums (at most
TAIL_BLOCKS over the tail, SIDE_BLOCKS over each side window), which keeps it
cheap for long events.

The noise of ``Q`` is that of a linear estimator ``w . r`` (``tau`` fixed;
its uncertainty enters through a fourth column ``dA exp / d ln tau``):
:func:`estimator_norm` gives ``|w|`` for an event's geometry, and
:func:`standard_layout` the geometry whose noise the charge-noise curve
measures (:func:`nbtools.impact.noise.charge_noise_curve`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .mains import _chol_solve

#: blocks over the fitted tail, and over each side window
TAIL_BLOCKS = 32
SIDE_BLOCKS = 16
MAX_BLOCKS = TAIL_BLOCKS + 2 * SIDE_BLOCKS + 6
#: the integration runs to at least TAIL_TAUS decay constants past the peak
TAIL_TAUS = 5.0
#: blocks of the standard geometry's rise: d = max(1, N // RISE_PARTS)
RISE_PARTS = 32

_GOLD = 0.6180339887498949


@njit(cache=True, nogil=True)
def exp_sum(g0, n, tau):
    """``sum_{j < n} exp(-(g0 + j) / tau)`` (``n`` may be ``inf``: the whole tail)."""
    if n <= 0:
        return 0.0
    r = 1.0 / tau
    return np.exp(-g0 * r) * -np.expm1(-n * r) / -np.expm1(-r)


@njit(cache=True, nogil=True)
def exp_dsum(g0, n, tau):
    """``sum_{j < n} ((g0 + j) / tau) exp(-(g0 + j) / tau)``: the derivative of :func:`exp_sum` by ln tau."""
    if n <= 0:
        return 0.0
    r = 1.0 / tau
    one_x = -np.expm1(-r)  # 1 - x, x = exp(-1/tau)
    xg = np.exp(-g0 * r)
    if np.isinf(n):
        xn1 = 1.0
        tail_n = 0.0
    else:
        xn1 = -np.expm1(-n * r)  # 1 - x^n
        tail_n = n * np.exp(-(g0 + n) * r)
    x = 1.0 - one_x
    # sum g x^g = [g0 x^g0 (1 - x^n) - n x^(g0+n)] / (1 - x) + x^(g0+1) (1 - x^n) / (1 - x)^2
    s = (g0 * xg * xn1 - tail_n) / one_x + x * xg * xn1 / (one_x * one_x)
    return s * r


@njit(cache=True, nogil=True)
def _blocks(buf, off, g0, g1, ip, scale, nper, isexp, k, cnt, rel, ysum, umean, expo):
    """Append the blocks of ``[g0, g1)`` (at most ``nper``) to the layout; returns the new count."""
    n = g1 - g0
    if n <= 0:
        return k
    size = (n + nper - 1) // nper
    g = g0
    while g < g1:
        e = min(g + size, g1)
        m = e - g
        s = 0.0
        if buf.shape[0] > 0:
            for q in range(g, e):
                s += buf[q - off]
        cnt[k] = m
        rel[k] = g - ip
        ysum[k] = s
        umean[k] = (0.5 * (g + e - 1) - ip) / scale
        expo[k] = isexp
        k += 1
        g = e
    return k


@njit(cache=True, nogil=True)
def layout(buf, off, pre0, ia, tail0, ib, post1, ip, cnt, rel, ysum, umean, expo):
    """Blocks of the fit: the pre window ``[pre0, ia)``, the tail ``[tail0, ib)`` and the post window
    ``[ib, post1)`` (global samples; ``buf[g - off]`` holds the residual, or ``buf`` is empty for a
    geometry without data). Returns ``(number of blocks, number of tail blocks, first tail block)``."""
    scale = float(max(ib - ia, 1))
    k = _blocks(buf, off, pre0, ia, ip, scale, SIDE_BLOCKS, 0, 0, cnt, rel, ysum, umean, expo)
    k_tail = k
    k = _blocks(buf, off, tail0, ib, ip, scale, TAIL_BLOCKS, 1, k, cnt, rel, ysum, umean, expo)
    n_tail = k - k_tail
    k = _blocks(buf, off, ib, post1, ip, scale, SIDE_BLOCKS, 1, k, cnt, rel, ysum, umean, expo)
    return k, n_tail, k_tail


@njit(cache=True, nogil=True)
def block_yy(nb, cnt, ysum):
    """``sum_k ysum_k^2 / n_k``: the data's share of the blocks' residual sum of squares."""
    s = 0.0
    for k in range(nb):
        s += ysum[k] * ysum[k] / cnt[k]
    return s


@njit(cache=True, nogil=True)
def _normal(nb, cnt, rel, umean, expo, tau, ncol, G):
    """Normal matrix ``sum_k n_k x_k x_k^T`` of the columns (1, u, exp, d exp / d ln tau)[:ncol]."""
    for a in range(ncol):
        for b in range(ncol):
            G[a, b] = 0.0
    x = np.zeros(4)
    for k in range(nb):
        n = cnt[k]
        x[0] = 1.0
        x[1] = umean[k]
        if expo[k]:
            x[2] = exp_sum(rel[k], n, tau) / n
            x[3] = exp_dsum(rel[k], n, tau) / n
        else:
            x[2] = 0.0
            x[3] = 0.0
        for a in range(ncol):
            for b in range(a + 1):
                G[a, b] += n * x[a] * x[b]
    for a in range(ncol):
        for b in range(a):
            G[b, a] = G[a, b]


@njit(cache=True, nogil=True)
def _solve(G, rhs, ncol):
    """``G[:ncol, :ncol]^-1 rhs[:ncol]`` (a copy of G is factorised); empty when singular."""
    Gc = np.empty((ncol, ncol))
    tr = 0.0
    for a in range(ncol):
        tr += G[a, a]
    for a in range(ncol):
        for b in range(ncol):
            Gc[a, b] = G[a, b]
        Gc[a, a] += 1e-12 * tr / ncol
    return _chol_solve(Gc, rhs[:ncol].copy())


@njit(cache=True, nogil=True)
def fit_line_exp(nb, cnt, rel, ysum, umean, expo, tau, yy, coef):
    """Least squares of ``c0 + c1 u + A exp`` on the blocks for one ``tau``: writes ``coef`` (c0, c1, A)
    and returns the residual sum of squares (inf when A <= 0 or the system is singular). The normal
    matrix (as :func:`_normal` with 3 columns) and the right-hand side in one loop, each block's
    exponential sum (:func:`exp_sum`) computed once."""
    G = np.empty((4, 4))
    for a in range(3):
        for b in range(3):
            G[a, b] = 0.0
    rhs = np.zeros(3)
    x = np.zeros(3)
    # exp_sum(rel, n, tau) with its factors of tau alone, and of n (blocks mostly share one length),
    # computed once: the same operations on the same numbers
    r = 1.0 / tau
    den = -np.expm1(-r)
    last_n = -1
    num = 0.0
    for k in range(nb):
        n = cnt[k]
        x[0] = 1.0
        x[1] = umean[k]
        es = 0.0
        if expo[k] and n > 0:
            if n != last_n:
                num = -np.expm1(-n * r)
                last_n = n
            es = np.exp(-rel[k] * r) * num / den
        x[2] = es / n if expo[k] else 0.0
        for a in range(3):
            for b in range(a + 1):
                G[a, b] += n * x[a] * x[b]
        rhs[0] += ysum[k]
        rhs[1] += ysum[k] * umean[k]
        if expo[k]:
            rhs[2] += ysum[k] * es / n
    for a in range(3):
        for b in range(a):
            G[b, a] = G[a, b]
    c = _solve(G, rhs, 3)
    if c.shape[0] != 3 or not c[2] > 0.0:
        return np.inf
    for a in range(3):
        coef[a] = c[a]
    return yy - (c[0] * rhs[0] + c[1] * rhs[1] + c[2] * rhs[2])


@njit(cache=True, nogil=True)
def _side_normal(nb, n_tail, k_tail, cnt, umean, G):
    """Normal matrix of (1, u) on the side-window blocks (those outside the tail)."""
    for a in range(4):
        for b in range(4):
            G[a, b] = 0.0
    for k in range(nb):
        if k_tail <= k < k_tail + n_tail:
            continue
        n = cnt[k]
        G[0, 0] += n
        G[0, 1] += n * umean[k]
        G[1, 1] += n * umean[k] * umean[k]
    G[1, 0] = G[0, 1]


@njit(cache=True, nogil=True)
def side_line(nb, n_tail, k_tail, cnt, ysum, umean, coef):
    """The line ``c0 + c1 u`` of the side windows alone (no tail model), a constant when they do not
    fix a slope (one window), zero without any: writes ``coef`` (c0, c1, 0) and returns the number of
    line parameters fitted (2, 1 or 0)."""
    G = np.empty((4, 4))
    _side_normal(nb, n_tail, k_tail, cnt, umean, G)
    rhs = np.zeros(2)
    for k in range(nb):
        if k_tail <= k < k_tail + n_tail:
            continue
        rhs[0] += ysum[k]
        rhs[1] += ysum[k] * umean[k]
    coef[0] = 0.0
    coef[1] = 0.0
    coef[2] = 0.0
    for ncol in (2, 1):
        c = _solve(G, rhs, ncol)
        if c.shape[0] == ncol:
            for a in range(ncol):
                coef[a] = c[a]
            return ncol
    return 0


@njit(cache=True, nogil=True)
def best_tau(nb, cnt, rel, ysum, umean, expo, yy, tau_lo, tau_hi, coef):
    """The decay constant (samples) of least residual: a coarse scan of ln tau over
    ``[tau_lo, tau_hi]`` then golden-section search around the best; NaN when no tau gives A > 0."""
    n_scan = 9
    llo = np.log(tau_lo)
    lhi = np.log(tau_hi)
    step = (lhi - llo) / (n_scan - 1)
    best = np.inf
    jb = -1
    for j in range(n_scan):
        f = fit_line_exp(nb, cnt, rel, ysum, umean, expo, np.exp(llo + j * step), yy, coef)
        if f < best:
            best = f
            jb = j
    if jb < 0:
        return np.nan
    a = llo + max(jb - 1, 0) * step
    b = llo + min(jb + 1, n_scan - 1) * step
    x1 = b - _GOLD * (b - a)
    x2 = a + _GOLD * (b - a)
    f1 = fit_line_exp(nb, cnt, rel, ysum, umean, expo, np.exp(x1), yy, coef)
    f2 = fit_line_exp(nb, cnt, rel, ysum, umean, expo, np.exp(x2), yy, coef)
    while b - a > 0.01:
        if f1 < f2:
            b = x2
            x2 = x1
            f2 = f1
            x1 = b - _GOLD * (b - a)
            f1 = fit_line_exp(nb, cnt, rel, ysum, umean, expo, np.exp(x1), yy, coef)
        else:
            a = x1
            x1 = x2
            f1 = f2
            x2 = a + _GOLD * (b - a)
            f2 = fit_line_exp(nb, cnt, rel, ysum, umean, expo, np.exp(x2), yy, coef)
    lt = 0.5 * (a + b)
    f = fit_line_exp(nb, cnt, rel, ysum, umean, expo, np.exp(lt), yy, coef)
    if not f < np.inf:
        # the middle of the bracket lost A > 0: the best point seen
        lt = llo + jb * step
        fit_line_exp(nb, cnt, rel, ysum, umean, expo, np.exp(lt), yy, coef)
    return np.exp(lt)


@njit(cache=True, nogil=True)
def estimator_norm(nb, n_tail, k_tail, cnt, rel, umean, expo, tau, ia, ib, ip, ncol):
    """``|w|`` of the charge as a linear function of the samples, ``Q = w . r``, for this geometry.

    ``ncol`` 4: the tail model (``tau`` fixed; its uncertainty enters through the column
    d exp / d ln tau); 2 or 1: a line or a constant of the side windows alone (:func:`side_line`);
    0: no baseline correction. NaN when the system is singular.
    """
    N = ib - ia
    scale = float(max(N, 1))
    h = np.zeros(4)
    h[0] = N
    h[1] = N * (0.5 * (ia + ib - 1) - ip) / scale
    if ncol == 0:
        return np.sqrt(float(N))
    G = np.empty((4, 4))
    if ncol == 4:
        _normal(nb, cnt, rel, umean, expo, tau, 4, G)
        T = float(ib - ip)
        h[2] = -exp_sum(T, np.inf, tau)
        h[3] = -exp_dsum(T, np.inf, tau)
    else:
        _side_normal(nb, n_tail, k_tail, cnt, umean, G)
    P = _solve(G, h, ncol)
    if P.shape[0] != ncol:
        return np.nan
    # w = 1 on [ia, ib) minus x_k . P on the fitted blocks: |w|^2 = N - 2 sum_tail n_k x_k . P + h . P
    s = 0.0
    if ncol == 4:
        for k in range(k_tail, k_tail + n_tail):
            n = cnt[k]
            s += n * P[0] + n * umean[k] * P[1] + exp_sum(rel[k], n, tau) * P[2] \
                + exp_dsum(rel[k], n, tau) * P[3]
    hp = 0.0
    for a in range(ncol):
        hp += h[a] * P[a]
    return np.sqrt(max(N - 2.0 * s + hp, 0.0))


@njit(cache=True, nogil=True)
def standard_geometry(N):
    """``(ia, ip, d, ib, w, tau)`` of the standard event of ``N`` samples whose charge noise the
    charge-noise curve measures: rise ``d = max(1, N // RISE_PARTS)`` to the peak at ``d``, the tail
    fitted from ``2 d``, ``tau = (N - d) / TAIL_TAUS``, side windows of ``max(4, N // 2)``."""
    d = max(1, N // RISE_PARTS)
    return 0, d, d, N, max(4, N // 2), max((N - d) / TAIL_TAUS, 0.5)


@njit(cache=True, nogil=True)
def standard_norm(N):
    """:func:`estimator_norm` of :func:`standard_geometry` (N samples)."""
    ia, ip, d, ib, w, tau = standard_geometry(N)
    cnt = np.empty(MAX_BLOCKS, np.int64)
    rel = np.empty(MAX_BLOCKS, np.int64)
    ysum = np.empty(MAX_BLOCKS)
    umean = np.empty(MAX_BLOCKS)
    expo = np.empty(MAX_BLOCKS, np.int64)
    nb, n_tail, k_tail = layout(np.empty(0), 0, ia - w, ia, ip + d, ib, ib + w, ip, cnt, rel, ysum, umean, expo)
    return estimator_norm(nb, n_tail, k_tail, cnt, rel, umean, expo, tau, ia, ib, ip, 4 if n_tail >= 2 else 2)


@njit(cache=True, nogil=True)
def standard_pieces(N):
    """The standard estimator of ``N`` samples (:func:`standard_geometry`) as weights on pieces:
    ``(start, length, weight)`` arrays, starts relative to the integration start (the side window
    before it starts at ``-w``): ``Q = sum_j weight_j * sum(r[start_j : start_j + length_j])``."""
    ia, ip, d, ib, w, tau = standard_geometry(N)
    cnt = np.empty(MAX_BLOCKS, np.int64)
    rel = np.empty(MAX_BLOCKS, np.int64)
    ysum = np.empty(MAX_BLOCKS)
    umean = np.empty(MAX_BLOCKS)
    expo = np.empty(MAX_BLOCKS, np.int64)
    nb, n_tail, k_tail = layout(np.empty(0), 0, ia - w, ia, ip + d, ib, ib + w, ip, cnt, rel, ysum, umean, expo)
    ncol = 4 if n_tail >= 2 else 2
    G = np.empty((4, 4))
    h = np.zeros(4)
    h[0] = ib - ia
    h[1] = (ib - ia) * (0.5 * (ia + ib - 1) - ip) / float(max(ib - ia, 1))
    if ncol == 4:
        _normal(nb, cnt, rel, umean, expo, tau, 4, G)
        h[2] = -exp_sum(float(ib - ip), np.inf, tau)
        h[3] = -exp_dsum(float(ib - ip), np.inf, tau)
    else:
        _side_normal(nb, n_tail, k_tail, cnt, umean, G)
    P = _solve(G, h, ncol)
    start = np.empty(nb + 1, np.int64)
    length = np.empty(nb + 1, np.int64)
    weight = np.empty(nb + 1)
    j = 0
    for k in range(nb + 1):
        if k == k_tail:  # the rise, inside the integration range and outside the fit
            start[j] = ia
            length[j] = (ip + d if ncol == 4 else ib) - ia
            weight[j] = 1.0
            j += 1
        if k == nb:
            break
        if ncol != 4 and k_tail <= k < k_tail + n_tail:
            continue
        n = cnt[k]
        xp = P[0] + umean[k] * P[1]
        if ncol == 4 and expo[k]:
            xp += exp_sum(rel[k], n, tau) / n * P[2] + exp_dsum(rel[k], n, tau) / n * P[3]
        start[j] = ip + rel[k]
        length[j] = n
        weight[j] = (1.0 if k_tail <= k < k_tail + n_tail else 0.0) - xp
        j += 1
    return start[:j], length[:j], weight[:j]


@njit(cache=True, nogil=True)
def window_charges(c, p, start, length, weight, out):
    """``out[i] = sum_j weight_j * (c[p_i + start_j + length_j] - c[p_i + start_j])``: the estimator of
    :func:`standard_pieces` on windows starting at ``p`` of a residual whose cumulative sum (with a leading
    0) is ``c``; the pieces are added in order, as NumPy's loop over them did (bit-identical)."""
    for i in range(p.shape[0]):
        acc = 0.0
        for j in range(start.shape[0]):
            a = p[i] + start[j]
            acc += weight[j] * (c[a + length[j]] - c[a])
        out[i] = acc
