"""Interfacial charge-transfer kinetics: Butler-Volmer, Tafel, Marcus-Hush-Chidsey.

IUPAC signs: anodic (oxidation) current positive, ``eta = E - E_eq`` (V).
``alpha`` is the *anodic* transfer coefficient; the cathodic one is ``1 - alpha``.
All currents in A (or A m-2 if ``i0`` is a current density).
"""

from __future__ import annotations

import numpy as np
from numpy.polynomial.chebyshev import chebval
from scipy.fft import dct
from scipy.special import erfc, log_expit

from ._base import TEMPERATURE, KineticsModel, ParamInfo
from .constants import F, R, T_DEFAULT

__all__ = [
    "butler_volmer",
    "butler_volmer_mt",
    "tafel",
    "chidsey_rate",
    "chidsey_log_kred",
    "zeng_rate",
    "marcus_hush_chidsey",
    "marcus_hush_chidsey_zeng",
    "ButlerVolmerModel",
    "TafelModel",
    "MarcusHushChidseyModel",
]

I0 = ParamInfo("A", "exchange current", 1e-9, 0.0, np.inf, plausible=(1e-16, 1e-2), scale=True)
ALPHA = ParamInfo("", "anodic transfer coefficient (cathodic = 1 - alpha)", 0.5, 0.05, 0.95,
                  plausible=(0.2, 0.8))
ILA = ParamInfo("A", "anodic limiting current (> 0)", 1e-8, 0.0, np.inf,
                plausible=(1e-16, 1e-1), scale=True)
ILC = ParamInfo("A", "cathodic limiting current (< 0)", -1e-8, -np.inf, 0.0,
                plausible=(-1e-1, -1e-16), scale=True)
LAM = ParamInfo("eV", "reorganisation energy", 0.3, 0.03, 3.0, plausible=(0.05, 2.0))


def _f(T):
    return F / (R * np.asarray(T, dtype=float))


# --------------------------------------------------------------------- Butler-Volmer
def butler_volmer(eta, i0=1e-9, alpha=0.5, T=T_DEFAULT):
    """Butler-Volmer current ``i0 [exp(alpha f eta) - exp(-(1-alpha) f eta)]`` (A).

    Parameters
    ----------
    eta : array_like
        Overpotential E - E_eq (V).
    i0 : float
        Exchange current (A).
    alpha : float
        Anodic transfer coefficient.
    T : float
        Temperature (K).
    """
    x = _f(T) * np.asarray(eta, dtype=float)
    return i0 * (np.exp(alpha * x) - np.exp(-(1.0 - alpha) * x))


def butler_volmer_mt(eta, i0=1e-9, alpha=0.5, il_a=1e-8, il_c=-1e-8, T=T_DEFAULT):
    """Butler-Volmer with anodic/cathodic limiting currents (steady-state mass transport).

    ``i = [e^a - e^c] / [1/i0 + e^a/il_a + e^c/|il_c|]`` with ``a = alpha f eta``,
    ``c = -(1-alpha) f eta`` (Bard & Faulkner section 3.4; IUPAC signs:
    ``il_a > 0``, ``il_c < 0``).
    """
    x = _f(T) * np.asarray(eta, dtype=float)
    a = alpha * x
    c = -(1.0 - alpha) * x
    m = np.maximum(a, c)  # scale out to avoid overflow
    ea, ec = np.exp(a - m), np.exp(c - m)
    den = np.exp(-m) / i0 + ea / il_a + ec / np.abs(il_c)
    return (ea - ec) / den


def tafel(eta, i0=1e-9, alpha=0.5, T=T_DEFAULT):
    """Tafel (one-way) current: ``i0 e^{alpha f eta}`` for eta > 0, ``-i0 e^{-(1-alpha) f eta}`` below.

    Valid for |eta| >~ 0.12 V (back reaction < 1 %); fit Butler-Volmer otherwise.
    """
    x = _f(T) * np.asarray(eta, dtype=float)
    return np.where(x >= 0, i0 * np.exp(alpha * x), -i0 * np.exp(-(1.0 - alpha) * x))


# --------------------------------------------------------------------- Marcus-Hush-Chidsey
def chidsey_log_kred(eta_t, lam_t, h=0.5, tail=12.0):
    """log k_red(eta~; lam~) of the Chidsey integral, vectorised trapezoid rule.

    k_red = int exp(-(x - lam - eta)^2/(4 lam)) / (1 + e^x) dx. The log-integrand
    is concave with curvature <= -1/(2 lam), so it lies below a Gaussian of std
    sqrt(2 lam) around its mode x*: the window x* +- (tail sqrt(lam) + 1) loses
    < exp(-tail^2/4) of the mass. The integrand is analytic in the strip
    |Im x| < pi (Fermi poles), so the trapezoid rule with step h converges like
    exp(-2 pi^2 / h) (~1e-17 at h = 0.5).
    """
    eta_t = np.asarray(eta_t, dtype=float)
    lam_t = float(lam_t)
    shape = eta_t.shape
    c = (lam_t + eta_t).ravel()
    # mode: (x - c)/(2 lam) + sigmoid(x) = 0, monotone in x, root in [c - 2 lam, c]
    lo, hi = c - 2.0 * lam_t - 1.0, c + 1.0
    for _ in range(48):
        mid = 0.5 * (lo + hi)
        g = (mid - c) / (2.0 * lam_t) + np.exp(log_expit(mid))
        pos = g > 0
        hi = np.where(pos, mid, hi)
        lo = np.where(pos, lo, mid)
    xs = 0.5 * (lo + hi)
    hstep = min(h, np.sqrt(2.0 * lam_t) / 4.0)
    half = tail * np.sqrt(lam_t) + 1.0
    n = int(np.ceil(half / hstep))
    u = hstep * np.arange(-n, n + 1)
    out = np.empty(c.size)
    chunk = max(1, 2_000_000 // u.size)
    for s in range(0, c.size, chunk):
        x = xs[s:s + chunk, None] + u[None, :]
        d = x - c[s:s + chunk, None]
        logf = -d * d / (4.0 * lam_t) + log_expit(-x)  # 1/(1+e^x) = expit(-x)
        mx = logf.max(axis=1)
        out[s:s + chunk] = mx + np.log(hstep * np.exp(logf - mx[:, None]).sum(axis=1))
    return out.reshape(shape)


def chidsey_rate(eta_t, lam_t, *, method="quadrature"):
    """Chidsey reduction rate k_red(eta~; lam~) in units of the prefactor A.

    Parameters
    ----------
    eta_t : array_like
        Dimensionless overpotential e eta/(kT), anodic positive.
    lam_t : float
        Dimensionless reorganisation energy lam/(kT).
    method : {"quadrature", "zeng"}
        Exact integral (vectorised trapezoid rule, relative error < 1e-9) or the
        Zeng-Smith-Bai-Bazant closed form (<= 5 % only for lam~ ~ 6-15).

    Notes
    -----
    ``k_ox(eta~) = k_red(-eta~)``. Example: ``chidsey_rate(0, 8.3) = 0.32089``.
    """
    if method == "zeng":
        return zeng_rate(eta_t, lam_t)
    if method != "quadrature":
        raise ValueError(f"method must be 'quadrature' or 'zeng', got {method!r}")
    return np.exp(chidsey_log_kred(eta_t, lam_t))


def zeng_rate(eta_t, lam_t):
    """Zeng-Smith-Bai-Bazant closed-form approximation of k_red(eta~; lam~)."""
    eta_t = np.asarray(eta_t, dtype=float)
    sl = np.sqrt(lam_t)
    arg = (lam_t - np.sqrt(1.0 + sl + eta_t**2)) / (2.0 * sl)
    # 1/(1 + e^eta) = expit(-eta)
    return np.sqrt(np.pi * lam_t) * np.exp(log_expit(-eta_t)) * erfc(arg)


def _lam_t(lam, T):
    return lam * F / (R * T)  # eV -> kT units (e/kB = F/R)


def _log_kred_cheb(eta_t, lam_t, tol=1e-10, n_max=1024):
    """log k_red at ``eta_t`` via Chebyshev-Lobatto interpolation of the exact integral.

    The nodes double (16, 32, ...) until the last Chebyshev coefficients are below
    ``tol`` (absolute error in log k, i.e. relative error in k); small inputs are
    integrated directly.
    """
    eta_t = np.asarray(eta_t, dtype=float)
    if eta_t.size <= 64:
        return chidsey_log_kred(eta_t, lam_t)
    a, b = float(eta_t.min()), float(eta_t.max())
    if b - a < 1e-9:
        return chidsey_log_kred(eta_t, lam_t)
    n = 16
    vals = chidsey_log_kred(0.5 * (a + b) + 0.5 * (b - a) * np.cos(np.pi * np.arange(n + 1) / n),
                             lam_t)
    while True:
        c = dct(vals, type=1) / n
        c[0] /= 2
        c[-1] /= 2
        if np.max(np.abs(c[-3:])) < tol or n >= n_max or 2 * n + 1 >= eta_t.size:
            break
        # Lobatto nodes nest: reuse the even ones
        odd = np.cos(np.pi * np.arange(1, 2 * n, 2) / (2 * n))
        new = np.empty(2 * n + 1)
        new[0::2] = vals
        new[1::2] = chidsey_log_kred(0.5 * (a + b) + 0.5 * (b - a) * odd, lam_t)
        vals, n = new, 2 * n
    if np.max(np.abs(c[-3:])) >= tol:
        return chidsey_log_kred(eta_t, lam_t)
    xs = (2.0 * eta_t - (a + b)) / (b - a)
    return chebval(xs, c)


def marcus_hush_chidsey(eta, i0=1e-9, lam=0.3, T=T_DEFAULT):
    """Marcus-Hush-Chidsey current (exact Chidsey integral), normalised so ``i0`` is the exchange current.

    ``i = i0 [k_red(-eta~) - k_red(eta~)] / k_red(0)``, ``eta~ = F eta/(RT)``,
    ``lam~ = lam F/(RT)`` (``lam`` in eV). Reduces to symmetric Butler-Volmer
    (alpha = 0.5) for |eta| << lam; saturates at large |eta| (curved Tafel plot).
    The integral is evaluated by a vectorised trapezoid rule (relative error
    < 1e-12 against adaptive quadrature) and, for long inputs, interpolated on
    Chebyshev nodes with the error held below 1e-10 (relative).
    """
    eta = np.asarray(eta, dtype=float)
    lt = _lam_t(lam, T)
    et = eta * F / (R * T)
    both = np.concatenate([-et.ravel(), et.ravel(), [0.0]])
    lk = _log_kred_cheb(both, lt)
    n = et.size
    lk0 = lk[-1]
    return i0 * (np.exp(lk[:n] - lk0) - np.exp(lk[n:2 * n] - lk0)).reshape(et.shape)


def marcus_hush_chidsey_zeng(eta, i0=1e-9, lam=0.3, T=T_DEFAULT):
    """As :func:`marcus_hush_chidsey` with the Zeng et al. (2014) closed form.

    Within a few % of the exact integral only for lam ~ 6-15 kT (0.15-0.4 eV at 298 K).
    """
    eta = np.asarray(eta, dtype=float)
    lt = _lam_t(lam, T)
    et = eta * F / (R * T)
    k0 = zeng_rate(0.0, lt)
    return i0 * (zeng_rate(-et, lt) - zeng_rate(et, lt)) / k0


# --------------------------------------------------------------------- models
def _guess_i0_alpha(data, eta, T):
    """Rough i0/alpha from the two Tafel branches (log|i| vs eta)."""
    data = np.asarray(data, dtype=float)
    eta = np.asarray(eta, dtype=float)
    f = F / (R * T)
    ok = np.isfinite(data) & np.isfinite(eta) & (np.abs(data) > 0)
    alpha, i0 = 0.5, None
    an = ok & (eta > 0) & (data > 0)
    ca = ok & (eta < 0) & (data < 0)
    if an.sum() >= 3:
        sl, ic = np.polyfit(eta[an], np.log(data[an]), 1)
        alpha = float(np.clip(sl / f, 0.1, 0.9))
        i0 = np.exp(ic)
    if i0 is None and ca.sum() >= 3:
        sl, ic = np.polyfit(eta[ca], np.log(-data[ca]), 1)
        alpha = float(np.clip(1 + sl / f, 0.1, 0.9))
        i0 = np.exp(ic)
    if i0 is None or not np.isfinite(i0) or i0 <= 0:
        # linear region: i ~ i0 f eta
        small = ok & (np.abs(eta) < 0.5 / f) if ok.any() else ok
        if small.sum() >= 2:
            sl = np.polyfit(eta[small], data[small], 1)[0]
            i0 = abs(sl) / f
        else:
            i0 = float(np.nanmax(np.abs(data))) / 10 if ok.any() else 1e-9
    # the branch fit over-estimates i0 where the back reaction matters
    return float(max(i0, 1e-300)), alpha


class ButlerVolmerModel(KineticsModel):
    """Butler-Volmer model (independent variable ``eta`` in V; ``i0`` A, ``alpha``, ``T`` K fixed).

    Parameters
    ----------
    mass_transport : bool
        Add anodic/cathodic limiting currents ``il_a`` (> 0) and ``il_c`` (< 0).
    """

    PARAMS = {"i0": I0, "alpha": ALPHA, "il_a": ILA, "il_c": ILC, "T": TEMPERATURE}

    def __init__(self, mass_transport=False, **kwargs):
        self.mass_transport = bool(mass_transport)
        func = butler_volmer_mt if self.mass_transport else butler_volmer
        kwargs.setdefault("entry_name", "ButlerVolmerMT" if self.mass_transport else "ButlerVolmer")
        super().__init__(func, independent_vars=["eta"], **kwargs)

    def guess_values(self, data, eta, T=T_DEFAULT):
        i0, alpha = _guess_i0_alpha(data, eta, T)
        vals = {"i0": i0, "alpha": alpha}
        if self.mass_transport:
            d = np.asarray(data, dtype=float)
            vals["il_a"] = max(float(np.nanmax(d)), i0) * 1.2
            vals["il_c"] = min(float(np.nanmin(d)), -i0) * 1.2
        return vals


class TafelModel(KineticsModel):
    """Tafel model (``eta`` in V; ``i0`` A, ``alpha``): one-way exponential branches."""

    PARAMS = {"i0": I0, "alpha": ALPHA, "T": TEMPERATURE}

    def __init__(self, **kwargs):
        kwargs.setdefault("entry_name", "Tafel")
        super().__init__(tafel, independent_vars=["eta"], **kwargs)

    def guess_values(self, data, eta, T=T_DEFAULT):
        i0, alpha = _guess_i0_alpha(data, eta, T)
        return {"i0": i0, "alpha": alpha}


class MarcusHushChidseyModel(KineticsModel):
    """Marcus-Hush-Chidsey model (``eta`` in V; ``i0`` A, ``lam`` eV, ``T`` K fixed).

    Parameters
    ----------
    method : {"exact", "zeng"}
        Exact Chidsey integral (default) or the Zeng-Smith-Bai-Bazant closed form.
    """

    PARAMS = {"i0": I0, "lam": LAM, "T": TEMPERATURE}

    def __init__(self, method="exact", **kwargs):
        if method not in ("exact", "zeng"):
            from ..errors import ParameterError

            raise ParameterError(f"method must be 'exact' or 'zeng', got {method!r}")
        self.method = method
        func = marcus_hush_chidsey if method == "exact" else marcus_hush_chidsey_zeng
        kwargs.setdefault("entry_name", "MarcusHushChidsey" if method == "exact"
                          else "MarcusHushChidseyZeng")
        super().__init__(func, independent_vars=["eta"], **kwargs)

    def guess_values(self, data, eta, T=T_DEFAULT):
        i0, _ = _guess_i0_alpha(data, eta, T)
        return {"i0": i0, "lam": 0.3}
