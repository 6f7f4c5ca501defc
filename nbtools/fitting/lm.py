"""Batched Levenberg-Marquardt: many independent least-squares problems updated together.

Every curve has its own parameters, bounds, damping and convergence; the model
and its Jacobian are evaluated for the whole batch at once (one vectorised call
instead of one Python call per curve), so the per-curve overhead of a fit loop
disappears. Runs on any array namespace with NumPy's API (NumPy, CuPy).

Conventions follow lmfit / MINPACK: bounds by lmfit's transforms (``sin`` for
two-sided, ``sqrt`` for one-sided bounds; the parameter never leaves them),
parameters scaled by their starting magnitude, standard errors from the final
Jacobian scaled by the reduced chi-square.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._convergence import (FLAT_REDUCTION, FLAT_RTOL, FLAT_WINDOW, GN_GAIN, GN_GAIN_DETERMINED, determined_gain,
                           gauss_newton_gain, jacobi, near_bound, pinned, row_sum, scaled_solve)
from ._transform import BoundTransform

__all__ = ["least_squares_batch", "BatchLSQ", "STATUS_CODES", "row_sum"]

#: status of each curve after the fit (``BatchLSQ.status`` holds the index)
STATUS_CODES = ("converged", "max_iter", "at_bound", "not_determined", "failed")
CONVERGED, MAX_ITER, AT_BOUND, NOT_DETERMINED, FAILED = range(5)

#: damping: start, factor on an accepted step (divide) and on a rejected one (multiply), give-up level
LAMBDA0, LAMBDA_DOWN, LAMBDA_UP, LAMBDA_MAX = 1e-2, 3.0, 4.0, 1e16
#: internal code of a curve whose damping grew without limit before convergence: no step, however
#: short, lowered its cost. Reported as not_determined or at_bound when its covariance or bounds say
#: why (the gradient left is round-off in directions the data do not fix), as max_iter otherwise
STALLED = len(STATUS_CODES)
#: a value within this fraction of its bounds' span is stuck at the bound
BOUND_RTOL = 1e-6
#: a parameter of one sign whose standard error exceeds this fraction of its value is not determined
MAX_RELATIVE_ERROR = 1.0


@dataclass
class BatchLSQ:
    """Result of :func:`least_squares_batch` (arrays over curves; NumPy on return).

    Attributes
    ----------
    params : ndarray (n, k)
        Best values of every parameter (fixed ones unchanged).
    stderr : ndarray (n, k)
        Standard errors (NaN for fixed parameters or a singular covariance),
        scaled by the reduced chi-square as lmfit does.
    covar : ndarray (n, kf, kf)
        Covariance of the free parameters (same scaling).
    chisqr, redchi : ndarray (n,)
        Weighted sum of squared residuals, and divided by ``n_points - kf``.
    n_points, nfev, niter : ndarray (n,) int
        Finite points used; model evaluations (a finite-difference Jacobian
        counts ``kf`` of them); iterations.
    status : ndarray (n,) int
        Index into :data:`STATUS_CODES` (converged, max_iter, at_bound,
        not_determined, failed).
    message : list of str
        Per curve: empty when converged, the reason otherwise.
    free : ndarray (k,) bool
        Which parameters varied.
    resid_r1 : ndarray (n,)
        Lag-1 autocorrelation of the final residuals (NaN below 3 points).
    """

    params: np.ndarray
    stderr: np.ndarray
    covar: np.ndarray
    chisqr: np.ndarray
    redchi: np.ndarray
    n_points: np.ndarray
    nfev: np.ndarray
    niter: np.ndarray
    status: np.ndarray
    free: np.ndarray
    message: list = field(default_factory=list)
    resid_r1: np.ndarray = None

    @property
    def status_names(self) -> np.ndarray:
        return np.asarray(STATUS_CODES, dtype=object)[self.status]


def _rows(a, idx):
    """Rows ``idx`` of a per-curve array; shared (1-D x, weights) arrays pass through."""
    return a if a is None or a.ndim == 1 else a[idx]


def least_squares_batch(fun, p0, x, y, *, jac=None, lower=None, upper=None, free=None, weights=None,
                        max_iter=200, ftol=1e-10, xtol=1e-10, xp=None, point=None) -> BatchLSQ:
    """Fit ``n`` curves at once by Levenberg-Marquardt with per-curve damping and convergence.

    Parameters
    ----------
    fun : callable
        ``fun(x, P) -> (n, m)`` model values for parameter rows ``P`` (n, k) and
        ``x`` (m,) shared or (n, m) per curve (rows of the active curves only).
    p0 : array (n, k)
        Starting values (fixed parameters hold their values).
    x : array (m,) or (n, m)
        Independent variable; NaN-padded rows for ragged curves.
    y : array (n, m)
        Data; NaN where a curve has no point (padding or omitted points).
    jac : callable, optional
        ``jac(x, P, cols) -> (n, m, len(cols))`` analytic derivatives of ``fun`` by
        the free parameters ``cols`` (indices into k); None: forward
        differences on the internal (bounded) variables, one extra evaluation
        per free parameter.
    lower, upper : array (k,) or (n, k), optional
        Bounds (``-inf``/``inf`` for none).
    free : array (k,) bool, optional
        Which parameters vary (default all).
    weights : array (m,) or (n, m), optional
        Residual weights (``(f - y) * w``), as lmfit's ``weights``.
    max_iter : int
        Iterations per curve.
    ftol, xtol : float
        A curve has converged when an accepted step lowers its cost by less than
        ``ftol`` (relative) or moves its scaled parameters by less than ``xtol``
        (relative), as MINPACK's tests.
    xp : module, optional
        Array namespace (``numpy`` default, ``cupy`` for a GPU).
    point : int, optional
        Number of the model's point function in :mod:`nbtools.fitting._kernels`
        (the model and its derivatives at one sample); with NumPy, residuals and normal
        equations are then accumulated in one parallel pass per iteration
        instead of through arrays (same results).

    Returns
    -------
    BatchLSQ
    """
    xp = np if xp is None else xp
    P0 = xp.asarray(p0, dtype=xp.float64)
    n, k = P0.shape
    Y = xp.asarray(y, dtype=xp.float64)
    X = xp.asarray(x, dtype=xp.float64)
    W = None if weights is None else xp.asarray(weights, dtype=xp.float64)
    free = np.ones(k, bool) if free is None else np.asarray(free, bool)
    fi_np = np.flatnonzero(free)
    fi = xp.asarray(fi_np)
    kf = fi_np.size
    lo = xp.broadcast_to(xp.asarray(-np.inf if lower is None else lower, dtype=xp.float64), (n, k))[:, fi]
    hi = xp.broadcast_to(xp.asarray(np.inf if upper is None else upper, dtype=xp.float64), (n, k))[:, fi]
    mask = xp.isfinite(Y) & (xp.isfinite(X) if X.ndim == 2 else xp.isfinite(X)[None, :])
    if W is not None:
        mask &= xp.isfinite(W) if W.ndim == 2 else xp.isfinite(W)[None, :]
    npts = mask.sum(axis=1)
    Yz = xp.where(mask, Y, 0.0)
    # residuals of O(1): tolerances and the damping floor do not depend on the current scale
    wy = Yz if W is None else Yz * xp.where(mask, W, 0.0)
    ys = xp.max(xp.abs(wy), axis=1)
    ys = xp.where(ys > 0, ys, 1.0)

    p_free = P0[:, fi]
    span = xp.where(xp.isfinite(hi - lo), hi - lo, xp.maximum(xp.abs(p_free), 1e-300))
    p_free = xp.clip(p_free, lo + 1e-9 * span, hi - 1e-9 * span)
    scale = xp.where(xp.abs(p_free) > 0, xp.abs(p_free), 1.0)
    tf = BoundTransform(xp, lo, hi, scale)
    U = tf.to_u(p_free)
    # a start at the middle of two bounds that rounds to u ~ 1e-16 would never move by a relative step
    U = xp.where(tf.both & (xp.abs(U) < 1e-6), 0.0, U)

    P = P0.copy()
    P[:, fi] = tf.to_p(U)

    def residual(idx, Pa):
        with np.errstate(all="ignore"):
            f = fun(_rows(X, idx), Pa)
            m = mask[idx]
            r = f - Y[idx]
            if W is not None:
                r = r * _rows(W, idx)
            r = xp.where(m, r, 0.0) / ys[idx][:, None]
            bad = ~xp.all(xp.isfinite(r) | ~m, axis=1)
        return r, bad

    def jac_u(idx, Ua, Pa, ra, tfa):
        """(n_a, m, kf) Jacobian of the scaled residuals in the internal variables."""
        m = mask[idx]
        if jac is not None:
            with np.errstate(all="ignore"):
                J = jac(_rows(X, idx), Pa, tuple(fi_np.tolist())) * tfa.dp_du(Ua)[:, None, :]
            extra = 0
        else:
            J = xp.empty((Ua.shape[0], m.shape[1], kf), dtype=xp.float64)
            for j in range(kf):
                h = 1.49e-8 * xp.maximum(xp.abs(Ua[:, j]), 1.0)
                U2 = Ua.copy()
                U2[:, j] += h
                P2 = Pa.copy()
                P2[:, fi] = tfa.to_p(U2)
                r2, _ = residual(idx, P2)
                J[:, :, j] = (r2 - ra) / h[:, None]
            extra = kf
            return xp.where(m[:, :, None], J, 0.0), extra
        if W is not None:
            J = J * (_rows(W, idx)[:, :, None] if W.ndim == 2 else W[None, :, None])
        J = xp.where(m[:, :, None] & xp.isfinite(J), J, 0.0) / ys[idx][:, None, None]
        return J, extra

    fused = point is not None and xp is np
    if fused:
        from . import _kernels

        cols = fi_np.astype(np.int64)
        Wf = np.broadcast_to(1.0, Y.shape) if W is None else np.broadcast_to(W, Y.shape)
        Wf = np.where(mask, Wf, np.nan)  # points the generic path masks out are skipped

    def cost_of(idx, Pa):
        """(cost, bad, residuals or None) at parameter rows Pa of curves idx."""
        if fused:
            na = idx.size
            c, bad = np.empty(na), np.zeros(na, np.bool_)
            _kernels.normal_equations(point, _rows2(X, idx, Y.shape[1]), Y[idx], Wf[idx], Pa, cols,
                                      np.empty((na, kf)), ys[idx], False, c, np.empty((0, kf, kf)),
                                      np.empty((0, kf)), bad)
            return c, bad, None
        r, bad = residual(idx, Pa)
        return row_sum(r * r, xp), bad, r

    def normal_of(idx, Ua, Pa, ra, tfa):
        """(A, g, extra evaluations): J^T J and J^T r in the internal variables."""
        if fused:
            na = idx.size
            A_, g_ = np.empty((na, kf, kf)), np.empty((na, kf))
            _kernels.normal_equations(point, _rows2(X, idx, Y.shape[1]), Y[idx], Wf[idx], Pa, cols,
                                      np.ascontiguousarray(tfa.dp_du(Ua)), ys[idx], True, np.empty(na), A_, g_,
                                      np.zeros(na, np.bool_))
            return A_, g_, 0
        if xp is np and jac is not None:  # scaling and sums in one parallel pass (no scaled copy of J)
            from ._kernels import jacobian_normal

            with np.errstate(all="ignore"):
                Jp = jac(_rows(X, idx), Pa, tuple(fi_np.tolist()))
            na = Jp.shape[0]
            A_, g_ = np.empty((na, kf, kf)), np.empty((na, kf))
            Wa = np.broadcast_to(1.0 if W is None else _rows(W, idx), (na, Y.shape[1]))
            jacobian_normal(Jp, np.ascontiguousarray(tfa.dp_du(Ua)), Wa, mask[idx], ys[idx],
                            np.ascontiguousarray(ra), A_, g_)
            return A_, g_, 0
        J, extra = jac_u(idx, Ua, Pa, ra, tfa)
        if xp is np:
            from ._kernels import jacobian_normal

            na = J.shape[0]
            A_, g_ = np.empty((na, kf, kf)), np.empty((na, kf))
            one = np.ones(1)
            jacobian_normal(J, np.broadcast_to(one, (na, kf)), np.broadcast_to(one, J.shape[:2]), mask[idx],
                            np.broadcast_to(one, (na,)), np.ascontiguousarray(ra), A_, g_)
            return A_, g_, extra
        return xp.einsum("nmi,nmj->nij", J, J), xp.einsum("nmi,nm->ni", J, ra), extra

    allidx = xp.arange(n)
    cost, bad, r = cost_of(allidx, P)
    nfev = xp.ones(n, dtype=xp.int64)
    niter = xp.zeros(n, dtype=xp.int64)
    status = xp.full(n, MAX_ITER, dtype=xp.int64)
    status = xp.where(bad, FAILED, status)
    status = xp.where(npts <= kf, FAILED, status)
    lam = xp.full(n, LAMBDA0)
    A, g, extra = normal_of(allidx, U, P, r, tf)
    nfev += extra
    active = xp.flatnonzero(status == MAX_ITER) if kf else allidx[:0]
    if kf == 0:
        status = xp.where(status == FAILED, FAILED, CONVERGED)
    eye = xp.eye(kf)
    dmax = xp.diagonal(A, axis1=1, axis2=2).copy()
    cost_ref, it_ref = cost.copy(), niter.copy()
    for _ in range(max_iter):
        if active.size == 0:
            break
        a = active
        Aa, ga = A[a], g[a]
        # damping scale: the recent largest diagonal of J^T J (MINPACK keeps the largest ever;
        # halving it each iteration lets it follow the fit), so that a parameter whose column
        # vanishes for a while cannot take an undamped giant step
        dmax[a] = xp.maximum(dmax[a] * 0.5, xp.diagonal(Aa, axis1=1, axis2=2))
        d = dmax[a]
        # per parameter (a floor relative to the largest diagonal would damp a parameter measured
        # in a small unit, e.g. a capacitance in F beside a current in A, to a standstill)
        dfloor = xp.where(d > 0, d, 1.0)
        M = Aa + (lam[a][:, None] * dfloor)[:, :, None] * eye
        with np.errstate(all="ignore"):
            step = -scaled_solve(xp, M, ga)
        ok_step = xp.all(xp.isfinite(step), axis=1)
        step = xp.where(ok_step[:, None], step, 0.0)
        Ut = U[a] + step
        tfa = tf.take(a)
        Pt = P[a].copy()
        Pt[:, fi] = tfa.to_p(Ut)
        ct, badt, rt = cost_of(a, Pt)
        nfev[a] += 1
        niter[a] += 1
        better = ok_step & ~badt & (ct < cost[a])
        rel_red = (cost[a] - ct) / xp.maximum(cost[a], 1e-300)
        rel_step = xp.sqrt(row_sum(step * step, xp)) / (xp.sqrt(row_sum(Ut * Ut, xp)) + xtol)
        small = better & ((rel_red <= ftol) | (rel_step <= xtol))
        lam_a = xp.where(better, xp.maximum(lam[a] / LAMBDA_DOWN, 1e-12), lam[a] * LAMBDA_UP)
        # no step, however short, lowers the cost: the damping hit its ceiling, or the rejected step
        # was already below the resolution of the parameters (MINPACK: xtol too small)
        stalled = ~better & ((lam_a > LAMBDA_MAX) | (rel_step <= xtol))
        lam[a] = lam_a
        acc = a[better]
        if acc.size:
            sel = better
            U[acc] = Ut[sel]
            P[acc] = Pt[sel]
            cost[acc] = ct[sel]
            An, gn, extra = normal_of(acc, U[acc], P[acc], None if rt is None else rt[sel],
                                      tfa.take(xp.flatnonzero(sel)))
            nfev[acc] += extra
            A[acc] = An
            g[acc] = gn
        # a small step is convergence only where the undamped (Gauss-Newton) model sees no
        # further gain: a tiny step of a heavily damped iteration is not a minimum
        edge = pinned(xp, P[a][:, fi], lo[a], hi[a], tf.sc[a])
        gain = gauss_newton_gain(xp, A[a], g[a], cost[a], edge)
        # at a bound the transform's derivative vanishes and the linear model's gain is not
        # attainable: a small step there is the constrained minimum
        gain = xp.where(near_bound(xp, P[a][:, fi], lo[a], hi[a]), 0.0, gain)
        done = (small & (gain <= GN_GAIN)) | (gain <= ftol) | (cost[a] <= 1e-30)
        # a degenerate fit (two couples sharing one peak) crawls along a direction the data do not
        # determine, where the linear model promises a gain the steps never realise: it has
        # converged once the determined directions promise nothing and the cost stands still
        open_ = xp.flatnonzero(~done & (gain > GN_GAIN))
        if open_.size:
            ill, gdet = determined_gain(xp, A[a[open_]], g[a[open_]], cost[a[open_]], edge[open_])
            flat = ~better[open_] | (rel_red[open_] <= FLAT_REDUCTION)
            done[open_[ill & (gdet <= GN_GAIN_DETERMINED) & flat]] = True
        # a cost that stood still for FLAT_WINDOW iterations has converged, whatever the linear model
        # promises (a gradient of finite-difference round-off in directions the data do not fix)
        window = (niter[a] - it_ref[a]) >= FLAT_WINDOW
        if bool(xp.any(window)):
            w = a[window]
            done[window] |= (cost_ref[w] - cost[w]) <= FLAT_RTOL * cost[w]
            cost_ref[w], it_ref[w] = cost[w], niter[w]
        status[a[done | (stalled & (gain <= GN_GAIN))]] = CONVERGED
        status[a[stalled & (gain > GN_GAIN)]] = STALLED
        active = a[~(done | stalled)]

    if kf:
        U, P, cost, A = _snap_to_bounds(xp, U, P, cost, A, status, tf, fi, lo, hi, cost_of, normal_of, nfev)
    res = _finish(xp, P, U, tf, fi, k, A, cost, ys, npts, nfev, niter, status, lo, hi)
    res.resid_r1 = _np(_lag1(xp, fun, point if fused else None, X, Y, W, mask, P, Y.shape[1]))
    return res


def _rows2(X, idx, m):
    """Rows ``idx`` of X as an (n_a, m) array (a shared 1-D x broadcast without copying)."""
    return np.broadcast_to(X, (idx.size, m)) if X.ndim == 1 else X[idx]


def _lag1(xp, fun, point, X, Y, W, mask, P, m):
    """Lag-1 autocorrelation of each curve's final residuals (NaN below 3 points, or for a
    residual below 1e-6 of the data: a fit of noise-free data), as kinetics.residual_autocorrelation."""
    n = Y.shape[0]
    if point is not None:
        from . import _kernels

        r1, cnt = np.empty(n), np.empty(n, np.int64)
        Wf = np.broadcast_to(1.0, Y.shape) if W is None else np.broadcast_to(W, Y.shape)
        Wf = np.where(mask, Wf, np.nan)
        _kernels.residual_lag1(point, np.broadcast_to(X, Y.shape), Y, Wf, P, r1, cnt)
        return r1
    with np.errstate(all="ignore"):
        R = fun(X, P) - Y
        if W is not None:
            R = R * W
    m_ = mask & xp.isfinite(R)
    cnt = m_.sum(axis=1)
    D = xp.where(m_, R, 0.0)
    mean = row_sum(D, xp) / xp.maximum(cnt, 1)
    D = xp.where(m_, R - mean[:, None], 0.0)
    ss = row_sum(D * D, xp)
    # consecutive finite points (NaN points dropped first, as the one-curve function does)
    order = xp.argsort(~m_, axis=1, kind="stable")
    Dc = xp.take_along_axis(D, order, axis=1)
    lag = row_sum(Dc[:, 1:] * Dc[:, :-1], xp)
    yw = xp.where(mask, Y if W is None else Y * W, 0.0)
    tiny = 1e-6 * xp.max(xp.abs(yw), axis=1)
    with np.errstate(all="ignore"):
        r1 = lag / ss
    ok = (cnt >= 3) & (ss > 0) & (xp.sqrt(ss / xp.maximum(cnt, 1)) > tiny)
    return xp.where(ok, r1, xp.nan)


def _snap_to_bounds(xp, U, P, cost, A, status, tf, fi, lo, hi, cost_of, normal_of, nfev):
    """Put parameters that converged next to a bound onto it when that does not raise the cost.

    Through the sin/sqrt transforms a bound is approached only slowly (the cost is flat in
    the internal variable there); a converged curve within 1e-4 of a bound's span is tried
    at the bound itself (within 1e-6 of its starting magnitude from a one-sided bound), so that it
    is reported as stuck there (to 1e-6, as the lmfit path)."""
    near = (status == CONVERGED) & (near_bound(xp, P[:, fi], lo, hi)
                                    | xp.any(pinned(xp, P[:, fi], lo, hi, tf.sc), axis=1))
    idx = xp.flatnonzero(near)
    if idx.size == 0:
        return U, P, cost, A
    tfa = tf.take(idx)
    pf = P[idx][:, fi]
    span = hi[idx] - lo[idx]
    tol = xp.where(xp.isfinite(span), 1e-4 * span, 1e-6 * tfa.sc)
    at_lo = xp.isfinite(lo[idx]) & (pf - lo[idx] <= tol)
    at_hi = xp.isfinite(hi[idx]) & (hi[idx] - pf <= tol)
    ps = xp.where(at_lo, lo[idx], xp.where(at_hi, hi[idx], pf))
    Us = tfa.to_u(ps)
    Ps = P[idx].copy()
    Ps[:, fi] = tfa.to_p(Us)
    cs, bad, rs = cost_of(idx, Ps)
    nfev[idx] += 1
    ok = ~bad & (cs <= cost[idx] * (1 + 1e-9))
    acc = idx[ok]
    if acc.size:
        U[acc], P[acc], cost[acc] = Us[ok], Ps[ok], cs[ok]
        An, _, _ = normal_of(acc, U[acc], P[acc], None if rs is None else rs[ok], tfa.take(xp.flatnonzero(ok)))
        A[acc] = An
    return U, P, cost, A


def _finish(xp, P, U, tf, fi, k, A, cost, ys, npts, nfev, niter, status, lo, hi) -> BatchLSQ:
    """Covariance (lmfit convention), bound and identifiability statuses, NumPy arrays out."""
    n, kf = P.shape[0], fi.size
    dof = xp.maximum(npts - kf, 1)
    chisqr = cost * ys * ys
    redchi = chisqr / dof
    covar = xp.full((n, kf, kf), xp.nan)
    stderr = xp.full((n, k), xp.nan)
    if kf:
        with np.errstate(all="ignore"):
            G = tf.dp_du(U)
            det_ok = xp.all(xp.isfinite(A), axis=(1, 2))
            Ainv = xp.full_like(A, xp.nan)
            good = xp.flatnonzero(det_ok)
            if good.size:
                # the inverse of J^T J in the scaled internal variables; singular -> NaN (pinv would hide it)
                # judged and inverted in the Jacobi-scaled variables (unit diagonal)
                sj = jacobi(xp, A[good])
                As = A[good] * sj[:, :, None] * sj[:, None, :]
                ev = xp.linalg.eigvalsh(As)
                inv_ok = (ev[:, 0] > 0) & (ev[:, 0] > 1e-15 * ev[:, -1])
                gi = good[inv_ok]
                if gi.size:
                    si = sj[inv_ok]
                    Ainv[gi] = xp.linalg.inv(As[inv_ok]) * si[:, :, None] * si[:, None, :]
            covar = Ainv * G[:, :, None] * G[:, None, :] * (redchi / (ys * ys))[:, None, None]
            var = xp.diagonal(covar, axis1=1, axis2=2)
            err = xp.where(var >= 0, xp.sqrt(xp.abs(var)), xp.nan)
        stderr[:, fi] = err
        pf = P[:, fi]
        span = hi - lo
        tol = xp.where(xp.isfinite(span), BOUND_RTOL * span, 1e-9 * xp.maximum(xp.abs(pf), 1e-300))
        at_bound = xp.any((xp.isfinite(lo) & (xp.abs(pf - lo) <= tol)) | (xp.isfinite(hi) & (xp.abs(hi - pf) <= tol)),
                          axis=1)
        with np.errstate(all="ignore"):
            rel = err / xp.abs(pf)
        # a relative error means something only for a parameter of one sign (a charge, a rate
        # constant), not for a location such as t0 or E0 whose value may be 0
        one_sign = (xp.isfinite(lo) & (lo >= 0)) | (xp.isfinite(hi) & (hi <= 0))
        undetermined = xp.any(~xp.isfinite(err) | (one_sign & (rel > MAX_RELATIVE_ERROR)), axis=1)
        ok = (status == CONVERGED) | (status == STALLED)
        status = xp.where(ok & at_bound, AT_BOUND, status)
        status = xp.where(ok & ~at_bound & undetermined, NOT_DETERMINED, status)
    status = xp.where(status == STALLED, MAX_ITER, status)
    out = {name: _np(v) for name, v in dict(params=P, stderr=stderr, covar=covar, chisqr=chisqr, redchi=redchi,
                                              n_points=npts, nfev=nfev, niter=niter, status=status).items()}
    free = np.zeros(k, bool)
    free[_np(fi)] = True
    res = BatchLSQ(free=free, **out)
    res.message = [_status_message(s) for s in res.status]
    return res


def _status_message(code) -> str:
    return {CONVERGED: "", MAX_ITER: "the fit did not converge (iteration limit reached, or no step lowered the residuals)",
            AT_BOUND: "a parameter is stuck at its bound",
            NOT_DETERMINED: "a parameter is not determined by these data (singular covariance or "
                            "standard error above 100 %)",
            FAILED: "the model gives NaN/Inf at the starting values, or too few points"}[int(code)]


def _np(a):
    """A NumPy array from NumPy or CuPy."""
    get = getattr(a, "get", None)
    return get() if callable(get) else np.asarray(a)
