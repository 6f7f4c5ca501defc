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
from numba import njit, prange

from ..threads import use_fork_safe_threads

use_fork_safe_threads()  # dask's process pool forks: no GNU OpenMP in a forked child


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


# --------------------------------------------------------------------------- g = 0, high order
# For g = 0 the equation is linear: dx/dt = -k(t) (x - x_eq(t)) with k = a + b and
# x_eq = 1 / (1 + e^phi), phi = f (E - E0). Along a step where E is linear in time the
# integral K of k is known in closed form, and with u = K(t1) - K(t) the exact solution is
#     x1 = x0 e^{-D} + int_0^D x_eq(t(u)) e^{-u} du,      D = K(t1) - K(t0).
# The integrand x_eq(t(u)) is smooth in u in the reversible (stiff, D >> 1) and in the
# irreversible (D << 1) limit alike; a cubic Hermite interpolant from its values and
# slopes at both ends (slope d x_eq/du = x_eq (1 - x_eq) f dE/dt / k) is integrated
# against e^{-u} exactly. Error ~ 1e-6 of the peak current at 2 mV steps (the
# first-order scheme above: 0.2 % at 0.1 mV), see tests/test_kinetics_insertion.py.

@njit(cache=True)
def _hermite_int(p0, m0, p1, m1, D, e):
    """int_0^D p(u) e^{-u} du for the cubic p with p(0)=p0, p'(0)=m0, p(D)=p1, p'(D)=m1;
    ``e`` = exp(-D). Accurate to rounding and smooth in D (no switch of method that a
    finite-difference Jacobian would see as a jump)."""
    iD = 1.0 / D
    dp = (p1 - p0) * iD
    c2 = (3.0 * dp - 2.0 * m0 - m1) * iD
    c3 = (m0 + m1 - 2.0 * dp) * iD * iD
    if D >= 1.0:  # moments q_n = int_0^D u^n e^{-u} du by the upward recurrence (stable here)
        q0 = 1.0 - e
        q1 = q0 - D * e
        q2 = 2.0 * q1 - D * D * e
        q3 = 3.0 * q2 - D * D * D * e
        return p0 * q0 + m0 * q1 + c2 * q2 + c3 * q3
    # D < 1: q_n = sum_k (-1)^k D^(n+1+k) / (k! (n+1+k)), to rounding (at most 18 terms)
    s0 = s1 = s2 = s3 = 0.0
    t = D  # (-1)^k D^(k+1) / k!
    D2 = D * D
    D3 = D2 * D
    for k in range(18):
        s0 += t / (k + 1)
        s1 += t * D / (k + 2)
        s2 += t * D2 / (k + 3)
        s3 += t * D3 / (k + 4)
        t *= -D / (k + 1)
        if abs(t) < 1e-17 * D:
            break
    return p0 * s0 + m0 * s1 + c2 * s2 + c3 * s3


@njit(cache=True)
def _e1(z):
    # expm1(z) / z, stable near 0
    if abs(z) < 1e-5:
        return 1.0 + 0.5 * z + z * z / 6.0
    return math.expm1(z) / z


@njit(cache=True)
def _factors(dE, m, f, alpha):
    """Per-substep growth factors of the rate terms and their integrals for a step dE in m substeps."""
    h = f * dE / m
    return h, math.exp(alpha * h), math.exp(-(1.0 - alpha) * h), _e1(alpha * h), _e1(-(1.0 - alpha) * h)


@njit(cache=True)
def _rate_terms(E, E0, f, alpha):
    u0 = f * (E - E0)
    return (math.exp(min(max(alpha * u0, -700.0), 700.0)),
            math.exp(min(max(-(1.0 - alpha) * u0, -700.0), 700.0)))


@njit(cache=True)
def _advance(xc, A, B, dt, m, ks, h, ra, rb, ea, eb):
    """State, rate and end rate terms after one sample interval of duration dt in m substeps
    (A, B: e^{alpha u}, e^{-(1-alpha) u} at its start)."""
    ht = dt / m
    kh = ks * ht
    cs = h / ht / ks  # (d phi / dt) / ks
    # x_eq = B / (A + B); its slope in u is x_eq (1 - x_eq) (d phi/dt) / k = cs A B / (A + B)^3
    inv = 1.0 / (A + B)
    xe0 = B * inv
    s0 = cs * A * B * inv * inv * inv
    for _ in range(m):
        A1 = A * ra
        B1 = B * rb
        D = kh * (A * ea + B * eb)
        inv = 1.0 / (A1 + B1)
        xe1 = B1 * inv
        s1 = cs * A1 * B1 * inv * inv * inv
        e = math.exp(-D)
        xc = xc * e + _hermite_int(xe1, s1, xe0, s0, D, e)
        A, B, xe0, s0 = A1, B1, xe1, s1
    return xc, -ks * (A + B) * (xc - xe0), A, B


@njit(cache=True)
def _run_g0(E, last, v, E0, f, ks, alpha, max_step, average, out):
    """Fill out[1..last] with dx/dt along E[0..last] (uniform-step factors reused)."""
    xc = 1.0 / (1.0 + math.exp(min(max(f * (E[0] - E0), -700.0), 700.0)))
    A, B = _rate_terms(E[0], E0, f, alpha)
    prev_dE, prev_m = math.nan, -1
    h = ra = rb = ea = eb = 0.0
    out[0] = 0.0
    for k in range(last):
        dE = E[k + 1] - E[k]
        dt = abs(dE) / v
        if dt <= 0.0:  # repeated sample (no time passes): same state, same rate
            out[k + 1] = out[k]
            continue
        m = max(1, int(math.ceil(abs(dE) / max_step)))
        # printed potentials differ in the last digits from sample to sample: a step within
        # 1e-9 of the previous one reuses its factors (potential error < 1e-9 of a step)
        if m != prev_m or abs(dE - prev_dE) > 1e-9 * abs(dE):
            h, ra, rb, ea, eb = _factors(dE, m, f, alpha)
            prev_dE, prev_m = dE, m
            # rate terms afresh at each new step size (no drift of the products)
            A, B = _rate_terms(E[k], E0, f, alpha)
        xn, rate, A, B = _advance(xc, A, B, dt, m, ks, h, ra, rb, ea, eb)
        out[k + 1] = (xn - xc) / dt if average else rate
        xc = xn
    return xc


@njit(cache=True)
def rate_g0(E, v, E0, f, ks, alpha, max_step, average):
    """dx/dt of one couple (g = 0) along the programme ``E`` from equilibrium at E[0]:
    at each sample (``average`` False) or averaged over the interval ending there."""
    out = np.zeros(E.size)
    if E.size > 1:
        _run_g0(E, E.size - 1, v, E0, f, ks, alpha, max_step, average, out)
    return out


@njit(parallel=True, cache=True)
def unit_rates_g0(E, v, f, E0, ks, alpha, max_step, average, out):
    """:func:`rate_g0` of many couples at once (rows in parallel).

    ``E`` (n, m): each row a potential programme in time order (NaN-padded at the
    end); per-row ``v``, ``f`` (F/RT), ``E0``, ``ks``, ``alpha``; ``out`` (n, m) gets
    NaN past a row's end.
    """
    n, mm = E.shape
    for i in prange(n):
        row = E[i]
        last = 0
        while last + 1 < mm and math.isfinite(row[last + 1]):
            last += 1
        for j in range(last + 1, mm):
            out[i, j] = math.nan
        if not math.isfinite(row[0]):
            for j in range(mm):
                out[i, j] = math.nan
            continue
        _run_g0(row, last, v[i], E0[i], f[i], ks[i], alpha[i], max_step, average, out[i])
