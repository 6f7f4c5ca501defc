"""numba kernel: Li fraction and its rate along a potential programme (Laviron/BV thin layer).

Each substep solves ``dx/dt = -k (x - x_eq(t))`` exactly for constant ``k`` (taken
at the substep midpoint) and ``x_eq`` linear in time between its end values, which
is accurate in both the reversible (stiff) and the irreversible limit. The pure
Python reference is ``tests/test_kinetics_insertion.py::_reference_fraction``.
For g = 0 (no interaction) the same scheme runs without the linearisation and
with the rate factors updated by products (about 6x fewer transcendental calls).
"""

import math

import numpy as np
from numba import njit


@njit(cache=True)
def _phi(z):
    # (1 - exp(-z)) / z, stable for small z
    if z < 1e-8:
        return 1.0 - 0.5 * z
    return -math.expm1(-z) / z


@njit(cache=True)
def _lin(E, xl, E0, f, ks, alpha, g):
    # Newton target x* and relaxation rate k of dx/dt = R(x) linearised at xl
    u = f * (E - E0) + g * (1.0 - 2.0 * xl)
    a = ks * math.exp(min(max(alpha * u, -700.0), 700.0))
    b = ks * math.exp(min(max(-(1.0 - alpha) * u, -700.0), 700.0))
    rr = -(xl * a - (1.0 - xl) * b)
    k = a + b - 2.0 * g * (alpha * xl * a + (1.0 - alpha) * (1.0 - xl) * b)
    k = max(k, 1e-3 * (a + b))
    xs = xl + rr / k
    return xs, k


@njit(cache=True)
def laviron_fraction(E, dt, x0, E0, f, ks, alpha, g, nsub):
    """Reduced fraction ``x`` and ``dx/dt`` at each point of the potential programme ``E``.

    ``-dx/dt = ks [x e^{alpha u} - (1-x) e^{-(1-alpha) u}]``, ``u = f(E-E0) + g(1-2x)``;
    ``dt[k]`` is the time from point k to k+1, split into ``nsub[k]`` substeps. The
    rate is linearised in x around the substep (exact for g = 0).
    """
    if g == 0.0:
        return _fraction_linear(E, dt, x0, E0, f, ks, alpha, nsub)
    n = E.size
    x = np.empty(n)
    r = np.zeros(n)
    x[0] = x0
    xc = x0
    for k in range(n - 1):
        if dt[k] <= 0.0:  # repeated sample (no time passes): same state, same rate
            x[k + 1] = xc
            r[k + 1] = r[k]
            continue
        m = nsub[k]
        h = dt[k] / m
        dE = (E[k + 1] - E[k]) / m
        rate = 0.0
        for j in range(m):
            es = E[k] + j * dE
            xl = xc
            xn = xc
            for it in range(3):
                xs, k0 = _lin(es, xl, E0, f, ks, alpha, g)
                xe, k1 = _lin(es + dE, xl, E0, f, ks, alpha, g)
                xq, kt = _lin(es + 0.5 * dE, xl, E0, f, ks, alpha, g)
                s = (xe - xs) / h
                z = kt * h
                dec = math.exp(-z)
                ph = _phi(z) * h  # (1 - e^{-z}) / kt
                xn = xc * dec + xs * (1.0 - dec) + s * (h - ph)
                rate = -kt * (xc - xs) * dec + s * (1.0 - dec)
                xl = 0.5 * (xc + xn)
            xc = xn
        x[k + 1] = xc
        r[k + 1] = rate
    return x, r


@njit(cache=True)
def _fraction_linear(E, dt, x0, E0, f, ks, alpha, nsub):
    # g = 0: the same substep scheme as laviron_fraction, with the target x* = b/(a+b) and
    # rate a+b read off directly. Along a substep E is linear, so the rate factors
    # a = ks e^{alpha u}, b = ks e^{-(1-alpha) u} are geometric in the substep index:
    # one exp pair per sample point, products within it, one expm1 per substep.
    n = E.size
    x = np.empty(n)
    r = np.zeros(n)
    x[0] = x0
    xc = x0
    for k in range(n - 1):
        if dt[k] <= 0.0:  # repeated sample (no time passes): same state, same rate
            x[k + 1] = xc
            r[k + 1] = r[k]
            continue
        m = nsub[k]
        h = dt[k] / m
        dE = (E[k + 1] - E[k]) / m
        u = f * (E[k] - E0)
        a = ks * math.exp(min(max(alpha * u, -700.0), 700.0))
        b = ks * math.exp(min(max(-(1.0 - alpha) * u, -700.0), 700.0))
        du = f * dE
        ra = math.exp(alpha * du)
        rb = math.exp(-(1.0 - alpha) * du)
        ra2 = math.exp(0.5 * alpha * du)
        rb2 = math.exp(-0.5 * (1.0 - alpha) * du)
        xs = b / (a + b)
        rate = 0.0
        for j in range(m):
            ae = a * ra
            be = b * rb
            kt = a * ra2 + b * rb2
            xe = be / (ae + be)
            s = (xe - xs) / h
            z = kt * h
            em = math.expm1(-z)  # e^{-z} - 1
            dec = 1.0 + em
            if z < 1e-8:
                ph = (1.0 - 0.5 * z) * h
            else:
                ph = -em / kt
            rate = -kt * (xc - xs) * dec - s * em
            xc = xc * dec - xs * em + s * (h - ph)
            a, b, xs = ae, be, xe
        x[k + 1] = xc
        r[k + 1] = rate
    return x, r
