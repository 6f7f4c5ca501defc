"""Convergence tests of the batched Levenberg-Marquardt engine (:mod:`nbtools.fitting.lm`).

The gain the undamped (Gauss-Newton) linear model still promises decides convergence. It leaves
out what no step can realise: parameters pinned at a one-sided bound or without influence left,
and, for a degenerate fit, the directions of ``J^T J`` the data do not determine. All functions
work on batches (leading axis: curves) in any NumPy-like namespace ``xp``.
"""

from __future__ import annotations

import numpy as np

#: a small step counts as convergence when the Gauss-Newton model predicts less relative gain than this
GN_GAIN = 1e-6
#: directions of J^T J (Jacobi-scaled) with eigenvalues below this fraction of the largest are
#: not determined by the data; a fit with such directions has converged when the others promise a
#: relative gain below GN_GAIN_DETERMINED and its last step lowered the cost by less than FLAT_REDUCTION
RANK_RTOL, GN_GAIN_DETERMINED, FLAT_REDUCTION = 1e-8, 1e-5, 1e-4
#: a fit whose cost fell by less than FLAT_RTOL (relative) over FLAT_WINDOW iterations has converged
FLAT_WINDOW, FLAT_RTOL = 10, 1e-9
#: a parameter whose whole-range change would move the cost by less than this fraction has no influence
DEAD_RTOL = 1e-12


def row_sum(a, xp=np):
    """Sum of each row, in order along the row (a cumulative sum): the same bits for a curve
    whatever the other rows of the batch (NumPy reduces multi-row arrays in another order than a
    single row), so that results do not depend on how the curves were chunked."""
    return xp.cumsum(a, axis=1)[:, -1] if a.shape[1] else xp.zeros(a.shape[0])


def near_bound(xp, pf, lo, hi, rtol=1e-4):
    """Curves with a free parameter within ``rtol`` of its bounds' span from a bound."""
    span = hi - lo
    tol = xp.where(xp.isfinite(span), rtol * span, 1e-6 * xp.maximum(xp.abs(pf), 1e-300))
    near = (xp.isfinite(lo) & (pf - lo <= tol)) | (xp.isfinite(hi) & (hi - pf <= tol))
    return xp.any(near, axis=1)


def jacobi(xp, A):
    """1/sqrt(diag A) per curve (1 where the diagonal is not positive): the column scaling that
    gives J^T J a unit diagonal, so that parameters of very different sizes (a current of
    1e-12 A, a potential of 4 V) do not make the solves ill-conditioned."""
    d = xp.diagonal(A, axis1=1, axis2=2)
    with np.errstate(all="ignore"):
        return xp.where(d > 0, 1.0 / xp.sqrt(d), 1.0)


def scaled_solve(xp, M, b):
    """M^-1 b per curve, solved in the Jacobi-scaled variables of M."""
    s = jacobi(xp, M)
    with np.errstate(all="ignore"):
        Ms = M * s[:, :, None] * s[:, None, :]
        return xp.linalg.solve(Ms, (b * s)[:, :, None])[:, :, 0] * s


def pinned(xp, pf, lo, hi, scale):
    """(n, kf): parameters with one bound that sit on it to 1e-6 of their starting magnitude, where
    the sqrt transform has all but stopped them (a charge gone to 0): left out of the gain."""
    one_sided = xp.isfinite(lo) ^ xp.isfinite(hi)
    gap = xp.where(xp.isfinite(lo), pf - lo, hi - pf)
    return one_sided & (gap <= 1e-6 * scale)


def without_dead(xp, A, g, cost, stuck=None):
    """A and g with the parameters that have no influence left taken out (identity rows, zero
    gradient): a whole-range change of the parameter (1 in the internal variable, about its
    starting magnitude) would change the cost by less than :data:`DEAD_RTOL` of it (a couple
    whose charge went to 0, or whose E0 left the scanned window). The Jacobi scaling would
    otherwise blow their round-off up into a gain no step can realise."""
    d = xp.diagonal(A, axis1=1, axis2=2)
    dead = d <= DEAD_RTOL * cost[:, None]
    if stuck is not None:
        dead = dead | stuck
    if not bool(xp.any(dead)):
        return A, g
    live = ~dead
    A = xp.where(live[:, :, None] & live[:, None, :], A, 0.0) + dead[:, :, None] * xp.eye(A.shape[1])
    return A, xp.where(live, g, 0.0)


def gauss_newton_gain(xp, A, g, cost, stuck=None):
    """Relative cost reduction the undamped linearised model predicts: g^T A^-1 g / cost (without
    the parameters that have no influence left or are ``stuck`` at a bound (:func:`pinned`))."""
    A, g = without_dead(xp, A, g, cost, stuck)
    s = jacobi(xp, A)
    As = A * s[:, :, None] * s[:, None, :]
    reg = 1e-12 * xp.eye(A.shape[1])
    with np.errstate(all="ignore"):
        z = xp.linalg.solve(As + reg, (g * s)[:, :, None])[:, :, 0]
        gain = row_sum(g * s * z, xp) / xp.maximum(cost, 1e-300)
    return xp.where(xp.isfinite(gain), gain, xp.inf)


def determined_gain(xp, A, g, cost, stuck=None):
    """(ill, gain): whether J^T J has directions the data do not determine (eigenvalues below
    :data:`RANK_RTOL` of the largest, Jacobi-scaled), and the Gauss-Newton gain without them."""
    A, g = without_dead(xp, A, g, cost, stuck)
    s = jacobi(xp, A)
    As = A * s[:, :, None] * s[:, None, :]
    with np.errstate(all="ignore"):
        ok = xp.all(xp.isfinite(As), axis=(1, 2))
        w, V = xp.linalg.eigh(xp.where(ok[:, None, None], As, xp.eye(A.shape[1])))
        keep = w > RANK_RTOL * w[:, -1:]
        z = xp.einsum("nji,nj->ni", V, g * s)
        gain = row_sum(xp.where(keep, z * z / xp.where(keep, w, 1.0), 0.0), xp) / xp.maximum(cost, 1e-300)
    return ok & ~xp.all(keep, axis=1), xp.where(xp.isfinite(gain), gain, xp.inf)
