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
# against e^{-u} exactly. Error < 1e-4 of the peak current at 5 mV steps (the
# first-order scheme above: 0.2 % at 0.1 mV), see tests/test_kinetics_insertion.py.

#: Taylor coefficients in D of W_j(D) / D = int_0^1 H_j(s) e^{-D s} ds for the cubic Hermite basis
#: H_0 = 2s^3 - 3s^2 + 1, H_1 = s^3 - 2s^2 + s, H_2 = 3s^2 - 2s^3, H_3 = s^3 - s^2 (14 terms: rounding at D = 0.5)
_W0 = (0.5, -0.15000000000000002, 0.033333333333333326, -0.0059523809523809494, 0.0008928571428571443, -0.00011574074074074056, 1.3227513227513257e-05, -1.352813852813856e-06, 1.2526054192720872e-07, -1.0598968932302304e-08, 8.258936830365351e-10, -5.96478771081947e-11, 4.01476095920539e-12, -2.53031152891096e-13)
_W1 = (0.08333333333333337, -0.033333333333333326, 0.008333333333333318, -0.001587301587301591, 0.0002480158730158733, -3.306878306878295e-05, 3.858024691358049e-06, -4.0083373416706456e-07, 3.7578162578162474e-08, -3.2118087673643672e-09, 2.5235640315004924e-10, -1.8353192956367843e-11, 1.2426641064207157e-12, -7.87208031216743e-14)
_W2 = (0.5, -0.35, 0.13333333333333333, -0.03571428571428572, 0.007440476190476189, -0.0012731481481481483, 0.00018518518518518515, -2.3448773448773445e-05, 2.63047138047138e-06, -2.649742233075566e-07, 2.4226214702405185e-08, -2.0280278216786153e-09, 1.5657567740901077e-10, -1.1217714444838629e-11)
_W3 = (-0.08333333333333331, 0.04999999999999999, -0.016666666666666677, 0.003968253968253968, -0.0007440476190476187, 0.00011574074074074079, -1.5432098765432082e-05, 1.8037518037518044e-06, -1.8789081289081307e-07, 1.7664948220503752e-08, -1.514138418900326e-09, 1.1929575421638906e-10, -8.69864874494504e-12, 5.904060234125595e-13)


@njit(cache=True, inline="always")
def _series(c, D):
    acc = 0.0
    for k in range(len(c) - 1, -1, -1):
        acc = acc * D + c[k]
    return acc * D


@njit(cache=True)
def _hermite_int(p0, m0, p1, m1, D, e):
    """int_0^D p(u) e^{-u} du for the cubic p with p(0)=p0, p'(0)=m0, p(D)=p1, p'(D)=m1;
    ``e`` = exp(-D). Accurate to rounding and smooth in D (both branches agree to rounding at
    the switch, so a finite-difference Jacobian sees no jump)."""
    if D >= 0.5:  # monomial coefficients and moments q_n = int_0^D u^n e^{-u} du (upward recurrence)
        iD = 1.0 / D
        dp = (p1 - p0) * iD
        c2 = (3.0 * dp - 2.0 * m0 - m1) * iD
        c3 = (m0 + m1 - 2.0 * dp) * iD * iD
        q0 = 1.0 - e
        q1 = q0 - D * e
        q2 = 2.0 * q1 - D * D * e
        q3 = 3.0 * q2 - D * D * D * e
        return p0 * q0 + m0 * q1 + c2 * q2 + c3 * q3
    # D < 0.5: the Hermite basis integrated against e^{-u} term by term (no division by D)
    return (p0 * _series(_W0, D) + D * m0 * _series(_W1, D) + p1 * _series(_W2, D)
            + D * m1 * _series(_W3, D))


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
