"""numba kernels of the batch engine on the CPU: fused residuals, normal equations, residual statistics.

A model with a *point function* ``point(x, p, out)`` (writes ``f`` to ``out[0]``
and ``df/dp_k`` to ``out[1 + k]`` for one sample ``x`` and one parameter row
``p``) is evaluated for a whole batch in one pass over the data, in parallel
over curves, without storing the Jacobian: each curve's ``J^T J`` and ``J^T r``
are accumulated in place. The kernels pick the point function by a model
number (:data:`POINTS`), so that they compile once and are cached on disk. The
NumPy reference is the engine's array path (``tests/test_fitting_batch.py``
compares them).
"""

import math

import numpy as np
from numba import njit, prange

from ..threads import use_fork_safe_threads

use_fork_safe_threads()  # dask's process pool forks: no GNU OpenMP in a forked child

F_OVER_R = 96485.33212 / 8.314462618


@njit(cache=True, fastmath=False)
def bv_point(x, p, out):
    T = p[2]
    u = F_OVER_R / T * x
    ea = math.exp(p[1] * u)
    ec = math.exp(-(1.0 - p[1]) * u)
    d = ea - ec
    out[0] = p[0] * d
    out[1] = d
    out[2] = p[0] * u * d
    out[3] = -p[0] * (p[1] * ea + (1.0 - p[1]) * ec) * u / T


@njit(cache=True, fastmath=False)
def tafel_point(x, p, out):
    T = p[2]
    u = F_OVER_R / T * x
    if u >= 0:
        e = math.exp(p[1] * u)
        out[0] = p[0] * e
        out[1] = e
        out[2] = p[0] * u * e
        out[3] = -p[0] * e * p[1] * u / T
    else:
        e = math.exp(-(1.0 - p[1]) * u)
        out[0] = -p[0] * e
        out[1] = -e
        out[2] = -p[0] * u * e
        out[3] = -p[0] * e * (1.0 - p[1]) * u / T


#: model number -> point function (the kernels' ``model`` argument)
POINTS = {"bv_point": 0, "tafel_point": 1}


@njit(cache=True, inline="always")
def _point(model, x, p, out):
    if model == 0:
        bv_point(x, p, out)
    else:
        tafel_point(x, p, out)


@njit(parallel=True, cache=True)
def normal_equations(model, X, Y, W, P, cols, G, ys, want, cost, A, g, bad):
    """Per curve: ``cost = sum r^2`` and (``want``) ``A = J^T J``, ``g = J^T r`` of the scaled residuals
    ``r = (f - y) w / ys`` with ``J = df/dp[cols] * w / ys * G`` (G: dp/du of the bound transform).

    X, W are (n, m) (broadcast views allowed); NaN in Y or X skips the point.
    ``bad[i]`` is set when the model is not finite at a used point.
    """
    n, m = Y.shape
    k = P.shape[1]
    kf = cols.size
    for i in prange(n):
        buf = np.empty(k + 1)
        jr = np.empty(kf)
        c = 0.0
        if want:
            for a in range(kf):
                g[i, a] = 0.0
                for b in range(kf):
                    A[i, a, b] = 0.0
        isbad = False
        p = P[i]
        s = 1.0 / ys[i]
        for j in range(m):
            y = Y[i, j]
            x = X[i, j]
            if not (math.isfinite(y) and math.isfinite(x) and math.isfinite(W[i, j])):
                continue
            _point(model, x, p, buf)
            w = W[i, j] * s
            r = (buf[0] - y) * w
            if not math.isfinite(r):
                isbad = True
                continue
            c += r * r
            if want:
                for a in range(kf):
                    jr[a] = buf[1 + cols[a]] * w * G[i, a]
                for a in range(kf):
                    ja = jr[a]
                    g[i, a] += ja * r
                    for b in range(a + 1):
                        A[i, a, b] += ja * jr[b]
        if want:
            for a in range(kf):
                for b in range(a):
                    A[i, b, a] = A[i, a, b]
        cost[i] = c
        bad[i] = isbad


@njit(parallel=True, cache=True)
def residual_lag1(model, X, Y, W, P, r1, count):
    """Lag-1 autocorrelation of each curve's residuals over its finite points, in data order
    (as :func:`nbtools.kinetics.fitting.residual_autocorrelation`: NaN points dropped first)."""
    n, m = Y.shape
    k = P.shape[1]
    for i in prange(n):
        buf = np.empty(k + 1)
        s1 = 0.0
        ymax = 0.0
        cnt = 0
        for j in range(m):
            if math.isfinite(Y[i, j]) and math.isfinite(X[i, j]) and math.isfinite(W[i, j]):
                _point(model, X[i, j], P[i], buf)
                s1 += (buf[0] - Y[i, j]) * W[i, j]
                ymax = max(ymax, abs(Y[i, j] * W[i, j]))
                cnt += 1
        count[i] = cnt
        if cnt < 3:
            r1[i] = np.nan
            continue
        mean = s1 / cnt
        ss = 0.0
        lag = 0.0
        prev = 0.0
        first = True
        for j in range(m):
            if math.isfinite(Y[i, j]) and math.isfinite(X[i, j]) and math.isfinite(W[i, j]):
                _point(model, X[i, j], P[i], buf)
                d = (buf[0] - Y[i, j]) * W[i, j] - mean
                ss += d * d
                if not first:
                    lag += d * prev
                prev = d
                first = False
        # a residual below 1e-6 of the data (a fit of noise-free data) has no meaningful correlation
        r1[i] = lag / ss if ss > 0 and math.sqrt(ss / cnt) > 1e-6 * ymax else np.nan


@njit(parallel=True, cache=True)
def jacobian_normal(J, G, W, M, ys, r, A, g):
    """``A = J^T J`` and ``g = J^T r`` per curve from the model's derivatives ``J`` (n, m, kf), with
    the engine's scaling folded in: each derivative times ``G`` (n, kf, dp/du of the bound
    transform), the weight ``W`` (n, m) and ``1 / ys`` (n,); points outside the mask ``M`` and
    non-finite derivatives count as 0. ``r`` (n, m): the scaled residuals. Sums run in point order,
    so one curve's bits do not depend on the other curves of the batch."""
    n, m, kf = J.shape
    for i in prange(n):
        jr = np.empty(kf)
        s = 1.0 / ys[i]
        for a in range(kf):
            g[i, a] = 0.0
            for b in range(kf):
                A[i, a, b] = 0.0
        for j in range(m):
            if not M[i, j]:
                continue
            w = W[i, j] * s
            rj = r[i, j]
            for a in range(kf):
                v = J[i, j, a] * G[i, a] * w
                jr[a] = v if math.isfinite(v) else 0.0
            for a in range(kf):
                ja = jr[a]
                if ja == 0.0:
                    continue
                g[i, a] += ja * rj
                for b in range(a + 1):
                    A[i, a, b] += ja * jr[b]
        for a in range(kf):
            for b in range(a):
                A[i, b, a] = A[i, a, b]
