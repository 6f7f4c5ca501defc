"""Solid-state diffusion in a spherical particle (PITT, GITT) and electrolyte-side currents.

PITT (Crank 6.3): after a small potential step at t = 0 the current of a sphere is

    I(t) = (6 Q / tau) sum_n exp(-n^2 pi^2 t / tau),   tau = r^2 / D

(Nernstian surface) or, with finite surface kinetics (Robin boundary, Biot number
``L = k_eff r / D``),

    I(t) = (Q / tau) sum_n 6 L^2 exp(-b_n^2 t/tau) / (b_n^2 + L(L - 1)),  b_n cot b_n + L - 1 = 0.

``Q`` is the total charge passed (C, signed: positive for oxidation). D and r
enter only as tau = r^2/D: fit ``tau`` and use :func:`tau_to_D` with the radius
from microscopy.
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np

from ..errors import NbtoolsWarning, ParameterError
from ._base import KineticsModel, ParamInfo
from .constants import F
from .ohmic import DE_STEP, RU, check_ru, step_biot

__all__ = ["pitt_sphere", "pitt_sphere_biot", "pitt_sphere_charge", "pitt_sphere_biot_charge", "pitt_guess",
           "biot_roots", "tau_to_D",
           "gitt_weppner_huggins", "cottrell", "microdisc_steady_state", "sphere_steady_state",
           "SphericalDiffusionPITTModel"]

QPITT = ParamInfo("C", "total charge passed (signed, + for oxidation)", 1e-12, -np.inf, np.inf,
                  plausible=(-1e-3, 1e-3), scale=True)
TAU = ParamInfo("s", "diffusion time r^2/D", 10.0, 0.0, np.inf, plausible=(1e-7, 1e7))
BIOT = ParamInfo("", "Biot number k_eff r / D (inf = Nernstian surface)", 5.0, 0.0, 1e4,
                 plausible=(1e-4, 1e4))


def _theta_sum(s):
    """sum_{n>=1} exp(-n^2 pi^2 s) for s > 0, exact via the Jacobi dual at small s."""
    s = np.asarray(s, dtype=float)
    out = np.zeros_like(s)
    small = s < 0.2
    ss = s[small]
    if ss.size:
        k = np.arange(1, 6)[:, None]
        dual = 1.0 + 2.0 * np.exp(-(k**2) / ss).sum(axis=0)
        out[small] = 0.5 * (dual / np.sqrt(np.pi * ss) - 1.0)
    sl = s[~small]
    if sl.size:
        n = np.arange(1, 8)[:, None]
        out[~small] = np.exp(-(n**2) * np.pi**2 * sl).sum(axis=0)
    return out


def pitt_sphere(t, Q=1e-12, tau=10.0, Ru=0.0, dE=0.01):
    """PITT current of a sphere with a Nernstian surface (A); zero for t <= 0.

    Parameters
    ----------
    t : array_like
        Time since the potential step (s).
    Q : float
        Total charge of the step (C).
    tau : float
        r^2/D (s).
    Ru : float
        Uncompensated resistance in series (ohm); 0 (default): none. With
        ``Ru > 0`` the current right after the step is limited to ``dE/Ru``: in
        linear response (a small step) this is the Robin boundary of
        :func:`pitt_sphere_biot` with Biot number ``tau |dE| / (3 Ru |Q|)``
        (:func:`nbtools.kinetics.ohmic.step_biot`).
    dE : float
        Height of the step (V); used only when ``Ru > 0``.
    """
    if Ru:
        check_ru(Ru)
        return pitt_sphere_biot(t, Q, tau, step_biot(tau, Q, dE, Ru))
    t = np.asarray(t, dtype=float)
    out = np.zeros_like(t)
    pos = t > 0
    out[pos] = 6.0 * Q / tau * _theta_sum(t[pos] / tau)
    return out


@lru_cache(maxsize=64)
def _roots_cached(L, n):
    k = np.arange(1, n + 1, dtype=float)
    lo = (k - 1) * np.pi + 1e-12
    hi = k * np.pi - 1e-12

    def h(b):
        return b * np.cos(b) + (L - 1.0) * np.sin(b)

    hlo = h(lo)
    for _ in range(64):
        mid = 0.5 * (lo + hi)
        hm = h(mid)
        same = np.sign(hm) == np.sign(hlo)
        lo = np.where(same, mid, lo)
        hlo = np.where(same, hm, hlo)
        hi = np.where(same, hi, mid)
    return 0.5 * (lo + hi)


def biot_roots(L, n=50):
    """First ``n`` positive roots of ``b cot b + L - 1 = 0`` (one in each ((k-1) pi, k pi))."""
    if not L > 0:
        raise ParameterError(f"Biot number must be > 0, got {L!r}")
    n = int(n)
    m = max(n, min(1 << max(n - 1, 1).bit_length(), N_MAX))  # cache per L and power of 2
    return _roots_cached(float(L), m)[:n].copy()


N_MAX = 1000  # series terms: exact to < 1e-9 relative for t/tau > 5e-6


def pitt_sphere_biot(t, Q=1e-12, tau=10.0, biot=5.0, Ru=0.0, dE=0.01):
    """PITT current of a sphere with finite surface kinetics (Biot number ``biot``), A.

    Exact series for the Robin boundary (up to 1000 terms: accurate for
    t/tau > 5e-6); ``biot -> inf`` gives :func:`pitt_sphere`, ``biot -> 0`` gives
    first-order kinetics ``(3 biot Q/tau) exp(-3 biot t/tau)``. ``Ru`` (ohm) and
    ``dE`` (V) add a series resistance as in :func:`pitt_sphere` (the two
    resistances add: ``1/L = 1/biot + 3 Ru |Q| / (tau |dE|)``).
    """
    if Ru:
        check_ru(Ru)
        biot = step_biot(tau, Q, dE, Ru, biot)
    t = np.asarray(t, dtype=float)
    if biot > 1e6:
        return pitt_sphere(t, Q, tau)
    out = np.zeros_like(t)
    pos = t >= 0
    if not pos.any():
        return out
    s = t[pos] / tau
    b, w = _biot_weights(biot, s)
    out[pos] = Q / tau * _robin_sum(s, b**2, w)
    return out


def _biot_weights(biot, s):
    smin = max(float(s.min()), 1e-9) if s.size else 1.0
    n = int(min(N_MAX, max(20, np.sqrt(50.0 / smin) / np.pi + 3)))
    b = biot_roots(biot, n)
    return b, 6.0 * biot**2 / (b**2 + biot * (biot - 1.0))


def _robin_sum(s, b2, w, block=128):
    """sum_n w_n exp(-b2_n s) with as many terms as each block of s needs (exp(-50) cut)."""
    order = np.argsort(s, kind="stable")
    ss = s[order]
    res = np.empty(ss.size)
    for i in range(0, ss.size, block):
        blk = ss[i:i + block]
        m = int(np.searchsorted(b2, 50.0 / max(blk[0], 1e-300))) + 1
        m = min(max(m, 1), b2.size)
        res[i:i + block] = np.exp(-np.outer(blk, b2[:m])) @ w[:m]
    out = np.empty_like(res)
    out[order] = res
    return out


def pitt_sphere_charge(t, Q=1e-12, tau=10.0):
    """Charge passed up to ``t`` after the step (C), Nernstian sphere; finite at t -> 0.

    ``Q [1 - (6/pi^2) sum exp(-n^2 pi^2 s)/n^2]``, ``s = t/tau``, evaluated at small s
    with the exact dual series ``6 Q [sqrt(s/pi) - s/2 + 2 sum_k (sqrt(s/pi) e^{-k^2/s}
    - k erfc(k/sqrt(s)))]``.
    """
    from scipy.special import erfc

    t = np.asarray(t, dtype=float)
    s = np.clip(t / tau, 0.0, None)
    out = np.zeros_like(s)
    small = (s > 0) & (s < 0.2)
    ss = s[small]
    if ss.size:
        k = np.arange(1, 6)[:, None]
        sq = np.sqrt(ss)
        corr = 2.0 * (sq / np.sqrt(np.pi) * np.exp(-(k**2) / ss) - k * erfc(k / sq)).sum(axis=0)
        out[small] = 6.0 * (np.sqrt(ss / np.pi) - ss / 2 + corr)
    big = s >= 0.2
    sl = s[big]
    if sl.size:
        n = np.arange(1, 12)[:, None]
        out[big] = 1.0 - 6.0 / np.pi**2 * (np.exp(-(n**2) * np.pi**2 * sl) / n**2).sum(axis=0)
    return Q * out


def pitt_sphere_biot_charge(t, Q=1e-12, tau=10.0, biot=5.0):
    """Charge passed up to ``t`` (C) with finite surface kinetics (Biot number)."""
    t = np.asarray(t, dtype=float)
    s = np.clip(t / tau, 0.0, None)
    if biot > 1e6:
        return pitt_sphere_charge(t, Q, tau)
    flat = s.ravel()
    b, w = _biot_weights(biot, flat[flat > 0])
    res = _robin_sum(flat, b**2, w / b**2)
    return Q * (1.0 - np.minimum(res.reshape(s.shape), 1.0)) * (s > 0)


def tau_to_D(tau, radius, *, tau_err=None, radius_err=None):
    """Diffusion coefficient D = r^2 / tau (m^2/s) and its propagated standard error.

    Parameters
    ----------
    tau : float
        Fitted r^2/D (s).
    radius : float
        Particle radius (m), e.g. from SEM.
    tau_err, radius_err : float, optional
        Standard errors; ``sigma_D/D = sqrt((sigma_tau/tau)^2 + (2 sigma_r/r)^2)``.

    Returns
    -------
    (D, D_err) : tuple of float (D_err NaN when no errors given)
    """
    if not (tau > 0 and radius > 0):
        raise ParameterError(f"tau and radius must be > 0, got tau={tau!r}, radius={radius!r}")
    D = radius**2 / tau
    rel = 0.0
    have = False
    if tau_err is not None:
        rel += (tau_err / tau) ** 2
        have = True
    if radius_err is not None:
        rel += (2 * radius_err / radius) ** 2
        have = True
    return D, (D * np.sqrt(rel) if have else np.nan)


def gitt_weppner_huggins(dE_s, dE_t, t_pulse, radius, *, correct=False):
    """Weppner-Huggins GITT diffusion coefficient of a sphere (m^2/s).

    ``D = 4 r^2 / (9 pi tau) (dE_s / dE_t)^2`` with ``dE_s`` the relaxed (steady-state)
    voltage change per pulse, ``dE_t`` the change during the pulse without the IR jump
    and ``tau`` the pulse length.

    The sqrt(t) law ignores the sphere's next term (surface concentration
    ``j (2 sqrt(s/pi) + s)``, ``s = D tau / r^2``), so the classic value is biased low by
    ~ sqrt(pi s) (5.6 % at s = 1e-3). ``correct=True`` removes that term:
    ``D = D_WH (1 + sqrt(pi s)/2)^2`` solved by fixed-point iteration (within 1 % of
    the finite-volume truth up to s ~ 4e-3).

    Warns (NbtoolsWarning) when ``s > 2e-3`` without correction, or ``s > 1e-2`` with it.
    """
    if not (t_pulse > 0 and radius > 0) or dE_t == 0:
        raise ParameterError(
            f"need t_pulse > 0, radius > 0 and dE_t != 0, got {t_pulse!r}, {radius!r}, {dE_t!r}")
    D_wh = 4 * radius**2 / (9 * np.pi * t_pulse) * (dE_s / dE_t) ** 2
    D = D_wh
    if correct:
        for _ in range(50):
            D = D_wh * (1 + np.sqrt(np.pi * D * t_pulse / radius**2) / 2) ** 2
    s = D * t_pulse / radius**2
    limit = 1e-2 if correct else 2e-3
    if s > limit:
        warnings.warn(
            f"GITT pulse too long for Weppner-Huggins on a sphere: D*tau/r^2 = {s:.2g} > {limit:g}; "
            f"D is underestimated by ~{100 * np.sqrt(np.pi * s):.0f} % (less with correct=True). "
            f"Use shorter pulses or fit the full sphere model (nbtools.simulate)",
            NbtoolsWarning, stacklevel=2)
    return D


def cottrell(t, D, c, area, n=1):
    """Cottrell current ``n F A c sqrt(D/(pi t))`` (A, positive for oxidation of c).

    Planar semi-infinite diffusion after a diffusion-limited step; t in s, D in
    m^2/s, c in mol/m^3, area in m^2.
    """
    t = np.asarray(t, dtype=float)
    with np.errstate(divide="ignore"):
        return n * F * area * c * np.sqrt(D / (np.pi * t))


def microdisc_steady_state(D, c, radius, n=1):
    """Steady-state diffusion-limited current at an inlaid microdisc ``4 n F D c r`` (A)."""
    return 4.0 * n * F * D * c * radius


def sphere_steady_state(D, c, radius, n=1, *, hemisphere=False):
    """Steady-state limiting current of an isolated sphere (4 pi n F D c r) or a hemisphere on a plane (2 pi ...)."""
    return (2.0 if hemisphere else 4.0) * np.pi * n * F * D * c * radius


class SphericalDiffusionPITTModel(KineticsModel):
    """PITT transient of a sphere (``t`` in s; ``Q`` C, ``tau`` = r^2/D s, optional ``biot``).

    Parameters
    ----------
    biot : bool
        Include finite surface kinetics (Biot number ``biot`` = k_eff r/D).
    radius : float, optional
        Particle radius (m). If given, a derived parameter ``D`` = radius^2/tau
        (m^2/s, with propagated error) is added. D and r are never fitted together:
        one transient determines only tau.
    """

    PARAMS = {"Q": QPITT, "tau": TAU, "biot": BIOT, "Ru": RU, "dE": DE_STEP,
              "D": ParamInfo("m^2/s", "diffusion coefficient r^2/tau (derived)", 1e-16,
                             plausible=(1e-22, 1e-9))}

    def __init__(self, biot=False, radius=None, **kwargs):
        self.biot = bool(biot)
        self.radius = radius
        kwargs.setdefault("entry_name", "PITTSphereBiot" if self.biot else "PITTSphere")
        super().__init__(pitt_sphere_biot if self.biot else pitt_sphere,
                         independent_vars=["t"], **kwargs)
        if radius is not None:
            if not radius > 0:
                raise ParameterError(f"radius must be > 0 (m), got {radius!r}")
            self.set_param_hint("D", expr=f"{float(radius)!r}**2/{self.prefix}tau")

    def guess_values(self, data, t, **kwargs):
        """Starting values by variable projection: least squares over a grid of tau.

        For each tau on a log grid (12 per decade, from the first sample time to 100x
        the record) the best Q is linear (``Q = <y, f>/<f, f>``, f the unit-charge
        transient), so the least-squares tau is found without any noise threshold: a
        tail lost in noise carries no weight, and charge passed before the first
        sample is accounted for by the model. With ``biot`` a coarse (Biot, tau) grid
        and a local search give both.
        """
        return pitt_guess(data, t, biot=self.biot)


def _vp_score(y, f):
    """(Q, explained sum of squares) of y ~ Q f."""
    ff = float(f @ f)
    if not ff > 0 or not np.isfinite(ff):
        return 0.0, -np.inf
    yf = float(y @ f)
    return yf / ff, yf * yf / ff


def pitt_guess(data, t, *, biot=False, max_points=1000):
    """Least-squares starting values ``{"Q", "tau"[, "biot"]}`` of a PITT transient.

    Variable projection: Q is solved linearly for each tau of a log grid, the best
    grid point refined by a bounded 1-D search in log tau. Robust to a tail lost in
    noise (it carries no weight), to samples missing the first part of the
    transient and to log-spaced sampling.

    Parameters
    ----------
    data : array_like
        Current (A) after the step.
    t : array_like
        Time since the step (s), increasing.
    biot : bool
        Also estimate the Biot number (coarse grid over Biot and tau, then a local
        Nelder-Mead search, on at most 120 points).
    max_points : int
        Longer records are thinned (every k-th point) for the guess.
    """
    from scipy.optimize import minimize_scalar

    y = np.asarray(data, dtype=float)
    t = np.asarray(t, dtype=float)
    ok = np.isfinite(y) & np.isfinite(t) & (t > 0)
    y, t = y[ok], t[ok]
    if y.size < 3:
        return {"Q": QPITT.value, "tau": TAU.value, **({"biot": BIOT.value} if biot else {})}
    if y.size > max_points:
        k = int(np.ceil(y.size / max_points))
        y, t = y[::k], t[::k]
    t_lo, t_hi = float(t.min()), float(t.max())
    taus = np.geomspace(0.5 * t_lo, 100.0 * t_hi, max(int(12 * np.log10(200.0 * t_hi / t_lo)), 12))
    scores = np.array([_vp_score(y, pitt_sphere(t, 1.0, tau))[1] for tau in taus])
    j = int(np.argmax(scores))

    def neg(logtau, shape):
        return -_vp_score(y, shape(10.0**logtau))[1]

    def refine(center, shape, lo, hi):
        r = minimize_scalar(neg, bounds=(np.log10(lo), np.log10(hi)), args=(shape,),
                            method="bounded", options={"xatol": 0.005})
        return 10.0 ** r.x if r.success and -r.fun >= -neg(np.log10(center), shape) else center

    lo, hi = taus[max(j - 1, 0)], taus[min(j + 1, taus.size - 1)]
    tau = refine(taus[j], lambda tau: pitt_sphere(t, 1.0, tau), lo, hi)
    out = {"tau": float(tau)}
    if biot:
        # coarse (Biot, tau) grid on at most 120 points, a local 2-D search in log space
        # (Biot and tau trade off through the decay rate b1^2/tau), Q on all points
        from scipy.optimize import minimize

        k = int(np.ceil(y.size / 120))
        yc, tc = y[::k], t[::k]
        lmin, lmax = np.log10(BIOT.max) - 8.0, np.log10(BIOT.max) - 0.5

        def neg2(p, yy, tt):
            return -_vp_score(yy, pitt_sphere_biot(tt, 1.0, 10.0 ** p[1],
                                                   10.0 ** np.clip(p[0], lmin, lmax)))[1]

        grid = [(neg2((np.log10(L), np.log10(tl)), yc, tc), L, tl)
                for L in (0.3, 1.0, 3.0, 10.0, 100.0, 1000.0) for tl in taus[::3]]
        _, L, tl = min(grid)
        r = minimize(neg2, [np.log10(L), np.log10(tl)], args=(yc, tc), method="Nelder-Mead",
                     options={"xatol": 0.01, "fatol": 1e-12, "maxfev": 40,
                              "initial_simplex": [[np.log10(L), np.log10(tl)],
                                                  [np.log10(L) + 0.3, np.log10(tl)],
                                                  [np.log10(L), np.log10(tl) + 0.3]]})
        lg = (float(np.clip(r.x[0], lmin, lmax)), float(r.x[1])) if r.fun < neg2(
            (np.log10(L), np.log10(tl)), yc, tc) else (np.log10(L), np.log10(tl))
        L, tau = 10.0 ** lg[0], 10.0 ** lg[1]
        out = {"tau": float(tau), "biot": float(L)}
        q = _vp_score(y, pitt_sphere_biot(t, 1.0, tau, L))[0]
    else:
        q = _vp_score(y, pitt_sphere(t, 1.0, tau))[0]
    out["Q"] = float(q) if q != 0 else QPITT.value
    return {"Q": out["Q"], **{k: v for k, v in out.items() if k != "Q"}}
