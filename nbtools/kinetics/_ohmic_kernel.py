"""numba kernel: thin-layer insertion CV with an uncompensated resistance in series.

The electrode sees ``E_eff = E - i R_u`` with ``i = -Q dx/dt``, an implicit
(algebraic) condition at every instant. Each substep is one backward-Euler step
``x_n = x_c + h dx/dt(x_n, E_eff(x_n))``, solved by safeguarded Newton inside a
bracket where the residual changes sign (it is monotone in ``x_n``: the residual
has a unique root). Backward Euler is L-stable, so the fast ``R_u C`` relaxation
of a reversible couple does not ring. The pure-SciPy reference (an adaptive
DAE integration) is :func:`nbtools.simulate.ir_cv`.
"""

import math

import numpy as np
from numba import njit

from ..threads import use_fork_safe_threads

use_fork_safe_threads()


@njit(cache=True)
def _clip(z):
    return min(max(z, -700.0), 700.0)


@njit(cache=True)
def _kinetic_step(xc, Ea, h, RQ, E0, f, ks, alpha, g):
    """x after a backward-Euler substep of Laviron kinetics with the iR drop (bracketed Newton in x)."""
    lo, hi = 0.0, 1.0
    x = xc
    dxold = 1.0
    for _ in range(200):
        dxdt = (x - xc) / h
        u = f * (Ea + RQ * dxdt - E0) + g * (1.0 - 2.0 * x)
        a = ks * math.exp(_clip(alpha * u))
        b = ks * math.exp(_clip(-(1.0 - alpha) * u))
        phi = dxdt + x * a - (1.0 - x) * b
        if phi > 0.0:
            hi = x
        else:
            lo = x
        du = f * RQ / h - 2.0 * g
        dphi = 1.0 / h + a + b + (alpha * x * a + (1.0 - alpha) * (1.0 - x) * b) * du
        if abs(phi) * h <= 1e-15 or hi - lo < 1e-16:
            return x
        newton = dphi > 0.0 and dphi < 1e300
        xn = x - phi / dphi if newton else 0.5 * (lo + hi)
        # a Newton step that leaves the bracket or does not shrink as fast as bisection would: bisect
        if not (lo < xn < hi) or abs(2.0 * phi) > abs(dxold * dphi):
            xn = 0.5 * (lo + hi)
        dxold = xn - x
        x = xn
    return x


@njit(cache=True)
def _nernst_step(xc, Ea, h, RQ, E0, f, g):
    """x after a backward-Euler substep of a Nernstian (equilibrium) surface with the iR drop.

    Solves E_eq(x) = Ea + RQ (x - xc)/h in the logit y = ln(x/(1-x)) (monotone decreasing residual).
    """
    lo, hi = -60.0, 60.0
    x = min(max(xc, 1e-26), 1.0 - 1e-16)
    y = math.log(x / (1.0 - x))
    y = min(max(y, lo + 1e-9), hi - 1e-9)
    dyold = hi - lo
    for _ in range(200):
        x = 1.0 / (1.0 + math.exp(-y))
        w = x * (1.0 - x)
        psi = E0 - (y + g * (1.0 - 2.0 * x)) / f - Ea - RQ * (x - xc) / h
        if psi > 0.0:
            lo = y
        else:
            hi = y
        dpsi = -(1.0 - 2.0 * g * w) / f - RQ * w / h
        if abs(psi) <= 1e-13 or hi - lo < 1e-13:
            break
        newton = dpsi < 0.0 and dpsi > -1e300
        yn = y - psi / dpsi if newton else 0.5 * (lo + hi)
        if not (lo < yn < hi) or abs(2.0 * psi) > abs(dyold * dpsi):
            yn = 0.5 * (lo + hi)
        dyold = yn - y
        y = yn
    return 1.0 / (1.0 + math.exp(-y))


@njit(cache=True)
def ir_fraction(E, dt, x0, E0, f, ks, alpha, g, RQ, nsub, nernst):
    """Fraction ``x`` at each sample and ``dx/dt`` at it (end of its last substep).

    ``E`` the applied potential programme, ``dt[k]`` the time from sample k to k+1
    split into ``nsub[k]`` substeps, ``RQ = R_u Q`` (V s), ``nernst``: equilibrium
    surface (``ks`` unused) instead of Laviron kinetics.
    """
    n = E.size
    x = np.empty(n)
    r = np.zeros(n)
    x[0] = x0
    xc = x0
    for k in range(n - 1):
        if dt[k] <= 0.0:
            x[k + 1] = xc
            r[k + 1] = r[k]
            continue
        m = nsub[k]
        h = dt[k] / m
        dE = (E[k + 1] - E[k]) / m
        rate = 0.0
        for j in range(m):
            Ea = E[k] + (j + 1) * dE
            if nernst:
                xn = _nernst_step(xc, Ea, h, RQ, E0, f, g)
            else:
                xn = _kinetic_step(xc, Ea, h, RQ, E0, f, ks, alpha, g)
            rate = (xn - xc) / h
            xc = xn
        x[k + 1] = xc
        r[k + 1] = rate
    return x, r
