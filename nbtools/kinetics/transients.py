"""Single-particle impact transients (nano-impact events).

Time ``t`` (s) on the event's own axis; ``t0`` is the landing time. ``Q`` is the
charge of the event (C, signed: positive = oxidation/delithiation).

- :func:`impact_kinetic`: uniform particle, linear kinetics,
  ``i = Q k exp(-k (t - t0))`` with ``k = (3 k0/r)(e^{alpha f eta} + e^{-(1-alpha) f eta})``;
  ``tau_f`` (fixed) applies a first-order (RC) filter of the amplifier, analytically.
- :func:`impact_diffusion`: Nernstian surface, solid diffusion in a sphere
  (PITT series, ``tau = r^2/D``), averaged over each sample (``t_s``) so that the
  landing singularity stays finite; :func:`impact_mixed` adds a Biot number
  (exact for strongly driven, irreversible kinetics: ``biot = k0 e^{alpha f eta} r / D``).
"""

from __future__ import annotations

import numpy as np

from ._base import KineticsModel, ParamInfo
from .diffusion import TAU, pitt_sphere_biot_charge, pitt_sphere_charge

__all__ = ["impact_kinetic", "impact_diffusion", "impact_mixed", "ImpactKineticModel",
           "ImpactDiffusionModel"]

QIMP = ParamInfo("C", "charge of the event (signed, + for oxidation)", 1e-15, -np.inf, np.inf,
                 plausible=(-1e-6, 1e-6), scale=True)
K_ = ParamInfo("1/s", "first-order decay rate k (= 1/time constant)", 1e3, 0.0, np.inf,
               plausible=(1e-3, 1e8))
T0_ = ParamInfo("s", "landing time", 0.0)
TS_ = ParamInfo("s", "sampling interval the model averages over (fixed; set to the data's)", 1e-5,
                0.0, np.inf, vary=False, plausible=(1e-9, 1.0))
TAUF = ParamInfo("s", "first-order filter time constant (fixed; 0 = none)", 0.0, 0.0, np.inf,
                 vary=False, plausible=(0.0, 10.0))
BIOT_ = ParamInfo("", "Biot number k r / D", 5.0, 0.0, 1e4, plausible=(1e-4, 1e4))


def impact_kinetic(t, Q=1e-15, k=1e3, t0=0.0, tau_f=0.0, t_s=0.0):
    """First-order (kinetically controlled) impact transient (A).

    ``i = Q k e^{-k s}`` for ``s = t - t0 > 0``. With ``t_s > 0`` (and no filter)
    each sample is the mean current over ``t +- t_s/2`` (an integrating ADC), which
    makes the landing time ``t0`` resolvable within a sample. With a first-order
    (RC) filter of time constant ``tau_f``:
    ``i = Q k (e^{-k s} - e^{-s/tau_f}) / (1 - k tau_f)``. The charge stays ``Q``.
    """
    s = np.asarray(t, dtype=float) - t0
    if tau_f <= 0 and t_s > 0:
        def charge(u):
            return Q * -np.expm1(-k * np.clip(u, 0.0, None))

        return (charge(s + t_s / 2) - charge(s - t_s / 2)) / t_s
    pos = s > 0
    sp = np.where(pos, s, 0.0)
    if tau_f <= 0:
        return np.where(pos, Q * k * np.exp(-k * sp), 0.0)
    a = 1.0 / tau_f
    d = a - k
    if abs(d) < 1e-9 * a:
        out = Q * k * a * sp * np.exp(-a * sp)
    else:
        # Q k a (e^{-k s} - e^{-a s}) / (a - k), written stably
        out = Q * k * a * np.exp(-min(k, a) * sp) * (-np.expm1(-abs(d) * sp)) / abs(d)
    return np.where(pos, out, 0.0)


def _box(charge, t, t0, t_s):
    """Mean current over [t - t_s/2, t + t_s/2] from a cumulative-charge function."""
    s = np.asarray(t, dtype=float) - t0
    return (charge(s + t_s / 2) - charge(s - t_s / 2)) / t_s


def impact_diffusion(t, Q=1e-15, tau=1e-3, t0=0.0, t_s=1e-5):
    """Diffusion-limited impact transient of a sphere (A), averaged over samples of length ``t_s``.

    The instantaneous current ``(6Q/tau) sum exp(-n^2 pi^2 (t-t0)/tau)`` is singular at
    landing; each sample is the mean current over ``t +- t_s/2`` (an integrating
    ADC; set ``t_s`` to the sampling interval, fixed), which is finite and keeps ``Q``.
    """
    return _box(lambda s: pitt_sphere_charge(s, Q, tau), t, t0, t_s)


def impact_mixed(t, Q=1e-15, tau=1e-3, biot=5.0, t0=0.0, t_s=1e-5):
    """Mixed kinetic/diffusion impact transient of a sphere (A), sample-averaged like :func:`impact_diffusion`."""
    return _box(lambda s: pitt_sphere_biot_charge(s, Q, tau, biot), t, t0, t_s)


def _guess_event(data, t):
    data = np.asarray(data, dtype=float)
    t = np.asarray(t, dtype=float)
    trapz = getattr(np, "trapezoid", None) or np.trapz
    q = float(trapz(data, t))
    j = int(np.argmax(np.abs(data)))
    dt = float(np.median(np.diff(t))) if t.size > 1 else 1.0
    t0 = float(t[j] - 0.5 * dt)
    after = t > t0
    mt = float(trapz(np.abs(data[after]) * (t[after] - t0), t[after]) / max(abs(q), 1e-300))
    return q if q != 0 else float(data[j] * dt), t0, max(mt, dt)


class ImpactKineticModel(KineticsModel):
    """First-order impact spike (``t`` in s; ``Q`` C, ``k`` 1/s, ``t0`` s; ``tau_f``, ``t_s`` s fixed).

    ``guess`` sets ``t_s`` to the sampling interval so that ``t0`` is identifiable.
    """

    PARAMS = {"Q": QIMP, "k": K_, "t0": T0_, "tau_f": TAUF,
              "t_s": ParamInfo("s", "sampling interval averaged over when tau_f = 0 (fixed)", 0.0,
                               0.0, np.inf, vary=False, plausible=(0.0, 1.0))}

    def __init__(self, **kwargs):
        kwargs.setdefault("entry_name", "ImpactKinetic")
        super().__init__(impact_kinetic, independent_vars=["t"], **kwargs)

    def guess_values(self, data, t, **kwargs):
        q, t0, mt = _guess_event(data, t)
        t = np.asarray(t, dtype=float)
        ts = float(np.median(np.diff(t))) if t.size > 1 else 0.0
        return {"Q": q, "k": 1.0 / mt, "t0": t0, "t_s": ts}


class ImpactDiffusionModel(KineticsModel):
    """Diffusion-limited (or mixed, ``biot=True``) impact transient of a sphere (``t`` in s)."""

    PARAMS = {"Q": QIMP, "tau": TAU, "biot": BIOT_, "t0": T0_, "t_s": TS_}

    def __init__(self, biot=False, **kwargs):
        self.biot = bool(biot)
        kwargs.setdefault("entry_name", "ImpactMixed" if self.biot else "ImpactDiffusion")
        super().__init__(impact_mixed if self.biot else impact_diffusion,
                         independent_vars=["t"], **kwargs)

    def guess_values(self, data, t, **kwargs):
        q, t0, mt = _guess_event(data, t)
        t = np.asarray(t, dtype=float)
        ts = float(np.median(np.diff(t))) if t.size > 1 else 1e-5
        vals = {"Q": q, "tau": 15.0 * mt, "t0": t0, "t_s": ts}
        if self.biot:
            vals["biot"] = 5.0
        return vals
