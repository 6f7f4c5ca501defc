"""Insertion voltammetry of a single particle (uniform composition; thin-layer limit).

``x`` is the Li (reduced) site fraction; oxidation = delithiation gives positive
current ``i = -Q dx/dt`` with ``Q`` the charge of the full ``x = 0 -> 1`` (C).
Regular-solution ("Frumkin") isotherm::

    E_eq(x) = E0 - (RT/F) [ln(x/(1-x)) + g (1 - 2x)],   g = Omega/(RT)

The potential ``E`` is given in time order (a CV); the sweep direction is read
from it and ``v`` (V/s, fixed parameter) sets the time axis.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import lru_cache

import numpy as np
from scipy.special import expit

from ..errors import ParameterError
from ._base import TEMPERATURE, KineticsModel, ParamInfo
from ._laviron_kernel import laviron_fraction, rate_g0, unit_rates_g0
from ._numeric import parabolic_peak
from ._ohmic_kernel import ir_fraction
from .constants import F, R, T_DEFAULT
from .ohmic import RU, check_ru

__all__ = ["frumkin_eq_potential", "frumkin_fraction", "frumkin_cv", "laviron_cv", "laviron_cv_average", "cv_with_ir",
           "laviron_unit_rates", "laviron_lambda", "SAMPLINGS", "FrumkinCVModel", "LavironCVModel", "sweep_sign", "sweep_time"]

Q_ = ParamInfo("C", "charge of the full x = 0 -> 1 conversion", 1e-12, 0.0, np.inf,
               plausible=(1e-18, 1e-3), scale=True)
E0_ = ParamInfo("V", "formal potential", 0.0, -10.0, 10.0, plausible=(-4.0, 6.0))
G_ = ParamInfo("", "interaction Omega/RT (> 0 attractive: sharper peak; < 2)", 0.0, -10.0, 1.95,
               plausible=(-8.0, 1.95))
V_ = ParamInfo("V/s", "scan rate (fixed, from the experiment)", 0.1, 1e-9, 1e7, vary=False,
               plausible=(1e-6, 1e6))
KS_ = ParamInfo("1/s", "first-order rate constant k_s (= 3 k0 / r for a sphere)", 1.0, 0.0, np.inf,
                plausible=(1e-8, 1e9))
ALPHA_ = ParamInfo("", "anodic transfer coefficient", 0.5, 0.05, 0.95, plausible=(0.2, 0.8))


def _f(T):
    return F / (R * T)


def frumkin_eq_potential(x, E0=0.0, g=0.0, T=T_DEFAULT):
    """Equilibrium potential E_eq(x) (V) of the regular-solution isotherm."""
    x = np.asarray(x, dtype=float)
    return E0 - (np.log(x / (1 - x)) + g * (1 - 2 * x)) / _f(T)


def frumkin_fraction(E, E0=0.0, g=0.0, T=T_DEFAULT):
    """Equilibrium fraction x(E), inverse of :func:`frumkin_eq_potential` (needs g < 2)."""
    if g >= 2:
        raise ParameterError(f"g = {g!r} >= 2: the isotherm has a miscibility gap and x(E) is "
                             f"not single-valued; use g < 2")
    xi = _f(T) * (E0 - np.asarray(E, dtype=float))
    # solve y + g (1 - 2 expit(y)) = xi for y = logit(x): monotone for g < 2
    lo = xi - abs(g) - 1.0
    hi = xi + abs(g) + 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        pos = mid + g * (1 - 2 * expit(mid)) - xi > 0
        hi = np.where(pos, mid, hi)
        lo = np.where(pos, lo, mid)
    return 0.5 * (lo + hi)  # logit(x)


def sweep_sign(E):
    """+1 where the potential increases (anodic sweep), -1 where it decreases.

    Uses the forward difference, the last point repeating the previous one;
    points where E does not change take the sign of the previous sweep.
    """
    E = np.asarray(E, dtype=float)
    if E.size < 2:
        return np.ones(E.size)
    d = np.sign(np.diff(E))
    d = np.append(d, d[-1])
    nz = d != 0
    if not nz.any():
        return np.ones(E.size)
    idx = np.where(nz, np.arange(d.size), 0)
    np.maximum.accumulate(idx, out=idx)
    s = d[idx]
    s[: np.argmax(nz)] = d[np.argmax(nz)]
    return s


def sweep_time(E, v):
    """Time (s) along a potential programme swept at |dE/dt| = v."""
    E = np.asarray(E, dtype=float)
    return np.concatenate([[0.0], np.cumsum(np.abs(np.diff(E)) / v)])


def frumkin_cv(E, Q=1e-12, E0=0.0, g=0.0, v=0.1, T=T_DEFAULT, Ru=0.0):
    """Nernstian (equilibrium) voltammogram of a uniform particle with interaction g.

    ``i = s Q f v / [1/(x(1-x)) - 2g]``, ``s`` = +1 on anodic, -1 on cathodic sweeps.
    Peak ``i_p = Q f v/(4 - 2g)`` at E0; FWHM 90.6 mV for g = 0 (298.15 K).

    Parameters
    ----------
    E : array_like
        Potential (V) in time order.
    Q : float
        Charge of the full conversion (C).
    E0 : float
        Formal potential (V).
    g : float
        Interaction parameter Omega/RT (< 2).
    v : float
        Scan rate (V/s).
    T : float
        Temperature (K).
    Ru : float
        Uncompensated resistance (ohm): the particle sees ``E - i Ru``
        (:func:`cv_with_ir`); 0 (default): the closed form above.
    """
    if g >= 2:
        raise ParameterError(f"g = {g!r} >= 2 gives a miscibility gap; use g < 2")
    if Ru:
        return cv_with_ir(E, Q, E0, np.inf, 0.5, g, v, T, Ru)
    y = frumkin_fraction(E, E0, g, T)
    xx = expit(y) * expit(-y)
    return sweep_sign(E) * Q * _f(T) * v / (1.0 / xx - 2.0 * g)


MAX_STEP = 1e-4  # V per integration substep of laviron_cv with g != 0 (error < 0.2 % of i_p)
#: V per substep of the high-order g = 0 scheme (error < 1e-4 of i_p, typically 1e-5;
#: tests/test_kinetics_insertion.py)
MAX_STEP_G0 = 5e-3


#: current sampling conventions of laviron_cv and the CV models built on it
SAMPLINGS = ("point", "average")


def _check_sampling(sampling):
    if sampling not in SAMPLINGS:
        raise ParameterError(f"sampling={sampling!r}: expected 'point' (current at each sample) or "
                             "'average' (current averaged over the sampling interval ending at each sample)")
    return sampling


def laviron_cv(E, Q=1e-12, E0=0.0, ks=1.0, alpha=0.5, g=0.0, v=0.1, T=T_DEFAULT, Ru=0.0, *, sampling="point"):
    """Quasi-reversible thin-layer (Laviron) voltammogram of a uniform particle.

    ``-dx/dt = ks [x e^{alpha u} - (1-x) e^{-(1-alpha) u}]``, ``u = f(E - E0) + g(1 - 2x)``,
    ``i = -Q dx/dt``. Reduces to :func:`frumkin_cv` for ks >> f v, to Laviron's
    irreversible peaks for ks << f v. Starts at equilibrium at ``E[0]`` (zero current).
    For ``g = 0`` the equation is linear in x and a high-order scheme (exact rate
    integral, cubic Hermite equilibrium term) runs at substeps of at most
    ``MAX_STEP_G0`` (5 mV; error < 1e-4 of i_p); otherwise substeps of at most
    ``MAX_STEP`` (0.1 mV) are integrated exactly for frozen rate constants (error
    < 0.2 % of i_p). Numba kernels.

    Parameters
    ----------
    E : array_like
        Potential (V) in time order.
    Q, E0, ks, alpha, g, v, T
        Charge (C), formal potential (V), rate constant (1/s), anodic transfer
        coefficient, interaction Omega/RT, scan rate (V/s), temperature (K).
    sampling : {'point', 'average'}
        ``'point'`` (default): the current at each sample. ``'average'``: the
        current averaged over the sampling interval that ends at each sample,
        ``i_k = -Q (x_k - x_{k-1}) / (t_k - t_{k-1})`` (0 at the first sample),
        as recorded by potentiostats and SECCM front ends that average the
        current over the sample period (and by :func:`nbtools.simulate.seccm_scan`).
        Fitting point currents to averaged data biases ks low (the model lags
        half a sample).
    Ru : float
        Uncompensated resistance (ohm): the particle sees ``E - i Ru``
        (:func:`cv_with_ir`); 0 (default): the schemes above, unchanged.

    Returns
    -------
    ndarray
        Current (A), anodic positive, one value per sample of ``E``.
    """
    _check_sampling(sampling)
    if Ru:
        return cv_with_ir(E, Q, E0, ks, alpha, g, v, T, Ru, sampling=sampling)
    E = np.ascontiguousarray(E, dtype=float)
    if g >= 2:
        raise ParameterError(f"g = {g!r} >= 2 gives a miscibility gap; use g < 2")
    if E.size == 0:
        return np.zeros(0)
    return -Q * _unit_rate(E, float(E0), float(ks), float(alpha), float(g), float(v), float(T),
                           sampling == "average")


def laviron_unit_rates(E, v, T, E0, ks, alpha, *, sampling="point"):
    """``-dx/dt`` (1/s) of many Laviron couples at once (g = 0): :func:`laviron_cv` with Q = 1 per row.

    Parameters
    ----------
    E : array (n, m)
        One potential programme per row, in time order; NaN-padded at the end.
    v, T, E0, ks, alpha : array (n,)
        Scan rate (V/s), temperature (K), formal potential (V), rate constant (1/s)
        and transfer coefficient of each row.
    sampling : {'point', 'average'}
        As :func:`laviron_cv`.

    Returns
    -------
    ndarray (n, m)
        The current of a unit charge (A/C), NaN past each row's end. Rows run in
        parallel (numba).
    """
    _check_sampling(sampling)
    E = np.ascontiguousarray(E, dtype=float)
    n = E.shape[0]
    col = [np.ascontiguousarray(np.broadcast_to(np.asarray(a, dtype=float), (n,))) for a in (v, T, E0, ks, alpha)]
    out = np.empty(E.shape)
    unit_rates_g0(E, col[0], F / (R * col[1]), col[2], col[3], col[4], MAX_STEP_G0, sampling == "average", out)
    return -out


def laviron_cv_average(E, Q=1e-12, E0=0.0, ks=1.0, alpha=0.5, g=0.0, v=0.1, T=T_DEFAULT, Ru=0.0):
    """:func:`laviron_cv` with ``sampling='average'``.

    The model function of ``LavironCVModel(sampling='average')``: a module-level
    function pickles by name and is what :func:`nbtools.batch.fit_many` calls.
    """
    return laviron_cv(E, Q, E0, ks, alpha, g, v, T, Ru, sampling="average")


#: V per backward-Euler substep of the CV models with an iR drop (peak currents within ~0.3 %)
MAX_STEP_IR = 1e-4


def cv_with_ir(E, Q=1e-12, E0=0.0, ks=np.inf, alpha=0.5, g=0.0, v=0.1, T=T_DEFAULT, Ru=0.0, *, sampling="point"):
    """Thin-layer insertion CV through an uncompensated resistance ``Ru`` (A).

    The particle sees ``E_eff = E - i Ru`` with ``i = -Q dx/dt``: Laviron kinetics
    (``ks`` finite, as :func:`laviron_cv`) or a Nernstian surface (``ks = inf``, as
    :func:`frumkin_cv`). The applied potential ``E`` sweeps at ``v``; the particle
    starts at equilibrium at ``E[0]``. Backward-Euler substeps of at most
    :data:`MAX_STEP_IR` (0.1 mV, numba kernel); ``Ru = 0`` reproduces the models
    without resistance to ~0.3 % of the peak current (they use their own,
    higher-order schemes then).

    Parameters
    ----------
    E : array_like
        Applied potential (V) in time order.
    Q, E0, ks, alpha, g, v, T
        As :func:`laviron_cv` (``ks = inf``: Nernstian).
    Ru : float
        Uncompensated resistance (ohm), >= 0.
    sampling : {'point', 'average'}
        As :func:`laviron_cv`.

    Returns
    -------
    ndarray
        Current (A), anodic positive.
    """
    _check_sampling(sampling)
    ru = check_ru(Ru)
    if g >= 2:
        raise ParameterError(f"g = {g!r} >= 2 gives a miscibility gap; use g < 2")
    E = np.ascontiguousarray(E, dtype=float)
    if E.size == 0:
        return np.zeros(0)
    dE = np.abs(np.diff(E))
    dt = dE / v
    nsub = np.maximum(1, np.ceil(dE / MAX_STEP_IR)).astype(np.int64)
    x0 = float(expit(frumkin_fraction(E[:1], E0, g, T))[0])
    nernst = not np.isfinite(ks)
    x, rate = ir_fraction(E, dt, x0, float(E0), float(_f(T)), 0.0 if nernst else float(ks), float(alpha),
                          float(g), ru * float(Q), nsub, nernst)
    if sampling == "average":
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.r_[0.0, np.diff(x) / dt]
        last = np.where(np.r_[True, dt > 0], np.arange(E.size), 0)
        rate = mean[np.maximum.accumulate(last)]
    return -Q * rate


class _Recent:
    """The last few results of a pure function of arrays, keyed by value (thread-safe LRU)."""

    def __init__(self, size):
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key):
        with self.lock:
            hit = self.items.get(key)
            if hit is not None:
                self.items.move_to_end(key)
            return hit

    def put(self, key, value):
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value


_RATES = _Recent(8)
_PROGRAMMES = _Recent(4)
#: longer programmes are not remembered (memory: ~12 copies of E would be kept)
_REMEMBER_MAX_POINTS = 50_000


def _programme(E):
    """(|dE| per step, substeps per step, sweep sign, middle of the range) of a potential programme.

    Remembered per curve: a fit evaluates the model on the same ``E`` some 70 times.
    ``E`` must be a contiguous float64 array; the results are read-only.
    """
    key = E.tobytes() if E.size <= _REMEMBER_MAX_POINTS else None
    hit = _PROGRAMMES.get(key) if key is not None else None
    if hit is not None:
        return hit
    dE = np.abs(np.diff(E))
    nsub = np.maximum(1, np.ceil(dE / MAX_STEP)).astype(np.int64)
    sign = sweep_sign(E)
    mid = 0.5 * (np.nanmin(E) + np.nanmax(E)) if E.size else 0.0
    for a in (dE, nsub, sign):
        a.flags.writeable = False
    out = (dE, nsub, sign, mid)
    return _PROGRAMMES.put(key, out) if key is not None else out


def _unit_rate(E, E0, ks, alpha, g, v, T, average=False):
    """dx/dt of the kernel, remembered for the last few (E, E0, ks, alpha, g, v, T, average).

    A least-squares fit differentiates by perturbing one parameter at a time: the
    Jacobian columns of Q (and of the other couple's E0 in CouplesCV) reuse the
    kernel result instead of integrating the same curve again. ``average``: the
    mean of dx/dt over the interval ending at each sample, (x_k - x_{k-1}) / dt
    (exact: the kernel integrates x; 0 at the first sample, the previous value
    where the interval is empty).
    """
    key = (E0, ks, alpha, g, v, T, bool(average), E.tobytes()) if E.size <= _REMEMBER_MAX_POINTS else None
    hit = _RATES.get(key) if key is not None else None
    if hit is not None:
        return hit
    if g == 0.0:  # linear in x: the high-order scheme at coarse steps
        rate = rate_g0(E, float(v), E0, float(_f(T)), ks, alpha, MAX_STEP_G0, bool(average))
        rate.flags.writeable = False
        return _RATES.put(key, rate) if key is not None else rate
    dE, nsub, _, _ = _programme(E)
    x0 = float(expit(frumkin_fraction(E[:1], E0, g, T))[0])
    dt = dE / v
    x, rate = laviron_fraction(E, dt, x0, E0, float(_f(T)), ks, alpha, g, nsub)
    if average:
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.r_[0.0, np.diff(x) / dt]
        # a repeated sample (empty interval) repeats the previous sample's average
        last = np.where(np.r_[True, dt > 0], np.arange(E.size), 0)
        rate = mean[np.maximum.accumulate(last)]
    rate.flags.writeable = False
    return _RATES.put(key, rate) if key is not None else rate


# --------------------------------------------------------------------- Laviron working curve
@lru_cache(maxsize=8)
def _working_curve(alpha, T):
    """Delta E_p (V) of the Laviron thin-layer CV on a grid of Lambda = ks/(f v)."""
    f = F / (R * T)
    lams = np.logspace(-3, 2.5, 45)
    E = np.r_[np.linspace(-1.0, 1.0, 4001), np.linspace(1.0, -1.0, 4001)[1:]]
    dep = []
    for lam in lams:
        cur = laviron_cv(E, 1.0, 0.0, lam * f, alpha, 0.0, 1.0, T)
        ja, jc = int(np.argmax(cur)), int(np.argmin(cur))
        ea = parabolic_peak(E, cur, ja)[0]
        ec = parabolic_peak(E, cur, jc)[0]
        dep.append(ea - ec)
    return lams, np.array(dep)


def laviron_lambda(dEp, alpha=0.5, T=T_DEFAULT):
    """Lambda = k_s/(f v) from the peak separation (V) of a thin-layer CV.

    Interpolates a working curve computed with :func:`laviron_cv` (Lambda 1e-3..300);
    wider separations use Laviron's irreversible formulas; separations below that of
    Lambda = 300 (about 0.1 mV) return inf (reversible: k_s not measurable).
    """
    lams, dep = _working_curve(float(alpha), float(T))
    dEp = np.asarray(dEp, dtype=float)
    f = F / (R * T)
    out = np.exp(np.interp(-dEp, -dep, np.log(lams)))
    out = np.where(dEp <= dep[-1], np.inf, out)
    # irreversible: dEp = ln(a/L)/(a f) + ln((1-a)/L)/((1-a) f)
    a = alpha
    lnL = (np.log(a) / a + np.log(1 - a) / (1 - a) - f * dEp) / (1 / a + 1 / (1 - a))
    out = np.where(dEp > dep[0], np.exp(lnL), out)
    return out if out.ndim else float(out)


def _guess_cv(data, E, v):
    data = np.asarray(data, dtype=float)
    E = np.asarray(E, dtype=float)
    s = sweep_sign(E)
    an = s > 0
    ia = np.where(an, data, -np.inf)
    ic = np.where(~an, data, np.inf)
    Ea = E[np.argmax(ia)] if an.any() else E[np.argmax(data)]
    Ec = E[np.argmin(ic)] if (~an).any() else E[np.argmin(data)]
    E0 = 0.5 * (Ea + Ec) if an.any() and (~an).any() else Ea
    # charge of the anodic branch(es): integral of i dt = integral of i |dE| / v
    dE = np.abs(np.diff(E))
    q = np.sum(0.5 * (data[1:] + data[:-1]) * dE * (s[:-1] > 0)) / v
    if not np.isfinite(q) or q <= 0:
        q = np.sum(np.abs(0.5 * (data[1:] + data[:-1])) * dE) / v / 2
    return max(q, 1e-30), E0, abs(Ea - Ec)


class FrumkinCVModel(KineticsModel):
    """Nernstian insertion CV with interaction (``E`` in V, time order; Q C, E0 V, g, v V/s fixed, T K fixed)."""

    PARAMS = {"Q": Q_, "E0": E0_, "g": G_, "v": V_, "T": TEMPERATURE, "Ru": RU}

    def __init__(self, **kwargs):
        kwargs.setdefault("entry_name", "FrumkinCV")
        super().__init__(frumkin_cv, independent_vars=["E"], **kwargs)

    def guess_values(self, data, E, v=None, T=T_DEFAULT):
        v = v if v is not None else self.param_hints["v"]["value"]
        q, E0, _ = _guess_cv(data, E, v)
        return {"Q": q, "E0": E0, "v": v}


class LavironCVModel(KineticsModel):
    """Quasi-reversible thin-layer CV (``E`` in V, time order; Q C, E0 V, ks 1/s, alpha, g, v V/s fixed).

    Parameters
    ----------
    sampling : {'point', 'average'}
        Fixed option (kept when the model is pickled for Dask): ``'point'``
        (default) models the current at each sample, ``'average'`` the current
        averaged over the sampling interval ending at each sample (see
        :func:`laviron_cv`). Use ``'average'`` for instruments that average the
        current over the sample period; the point model fitted to such data
        gives ks too low.
    **kwargs
        Passed to :class:`lmfit.Model` (``prefix``, ``nan_policy``, ...).
    """

    PARAMS = {"Q": Q_, "E0": E0_, "ks": KS_, "alpha": ALPHA_,
              "g": ParamInfo(G_.unit, G_.description, 0.0, -10.0, 1.95, vary=False,
                             plausible=G_.plausible),
              "v": V_, "T": TEMPERATURE, "Ru": RU}

    def __init__(self, *, sampling="point", **kwargs):
        # the option selects the model function (a module-level function: pickles by name and
        # is what batch's fast engine calls directly)
        self.sampling = _check_sampling(sampling)
        kwargs.setdefault("entry_name", "LavironCV")
        func = laviron_cv if sampling == "point" else laviron_cv_average
        super().__init__(func, independent_vars=["E"], **kwargs)

    def guess_values(self, data, E, v=None, T=T_DEFAULT):
        v = v if v is not None else self.param_hints["v"]["value"]
        q, E0, dEp = _guess_cv(data, E, v)
        lam = laviron_lambda(dEp)
        ks = lam * _f(T) * v if np.isfinite(lam) else 10 * _f(T) * v
        return {"Q": q, "E0": E0, "v": v, "ks": ks}
