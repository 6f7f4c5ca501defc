"""Potential of a sphere under a galvanostatic pulse and the relaxation after it (linear OCV, constant D).

For a constant flux into a sphere (Crank, *The Mathematics of Diffusion*, eq. 6.43)
the surface concentration change, in units of the flux ``j = r J/(D c)``, is

    f(s) = 3 s + 1/5 - 2 sum_n exp(-a_n^2 s) / a_n^2,    tan a_n = a_n,   s = D t / r^2

and, from the Laplace form ``1/(p (sqrt(p) coth sqrt(p) - 1))``, exactly (up to
terms of order exp(-1/s)) ``f(s) = 2 e^s - erfcx(sqrt(s)) - 1 = 2 sqrt(s/pi) + s + ...``
at short times (used for s < 0.05). With the mean composition changing at the rate
``-I/Q`` and a linear OCV, the potential during a pulse of length ``t_p`` and after it is

    E(t) = E_b + J [0 < t <= t_p] + dE_s (tau / t_p) [g(t/tau) - g((t - t_p)/tau) H(t - t_p)],

``g = f/3``, ``tau = r^2/D``, ``J`` the IR jump and ``dE_s`` the relaxed potential
change of the pulse (the Weppner-Huggins ``dE_s``). At short times this is the
sqrt(t) law of Weppner and Huggins; it stays exact at any ``t_p/tau``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.special import erfcx

__all__ = ["surface_response", "pulse_shape", "gitt_sphere_potential"]

_S_SWITCH = 0.05


@lru_cache(maxsize=1)
def _roots(n=60):
    """First n positive roots of tan a = a (one in each (k pi, k pi + pi/2))."""
    k = np.arange(1, n + 1, dtype=float)
    lo, hi = k * np.pi + 1e-12, k * np.pi + 0.5 * np.pi - 1e-12
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        neg = np.tan(mid) - mid < 0
        lo = np.where(neg, mid, lo)
        hi = np.where(neg, hi, mid)
    return 0.5 * (lo + hi)


def surface_response(s):
    """Dimensionless surface concentration change f(s) of a sphere under constant flux (f(0) = 0).

    Parameters
    ----------
    s : array_like
        D t / r^2 (values <= 0 give 0).

    Examples
    --------
    >>> from nbtools.gitt.sphere import surface_response
    >>> float(surface_response(1e-4)) / (2 * (1e-4 / 3.141592653589793) ** 0.5)  # sqrt(t) law at short times
    1.0089...
    """
    s = np.asarray(s, dtype=float)
    out = np.zeros_like(s)
    short = (s > 0) & (s < _S_SWITCH)
    ss = s[short]
    out[short] = 2.0 * np.exp(ss) - erfcx(np.sqrt(ss)) - 1.0
    long = s >= _S_SWITCH
    sl = s[long]
    if sl.size:
        a2 = _roots() ** 2
        out[long] = 3.0 * sl + 0.2 - 2.0 * (np.exp(-np.outer(sl, a2)) / a2).sum(axis=1)
    return out


def pulse_shape(t, t_pulse, tau):
    """Unit-amplitude potential shape of a pulse and its relaxation (0 at t <= 0, 1 at t -> inf).

    ``(tau/t_p) [g(t/tau) - g((t - t_p)/tau) H(t - t_p)]`` with ``g = f/3``.
    """
    t = np.asarray(t, dtype=float)
    g1 = surface_response(t / tau) / 3.0
    g2 = np.where(t > t_pulse, surface_response((t - t_pulse) / tau) / 3.0, 0.0)
    return (tau / t_pulse) * (g1 - g2)


def gitt_sphere_potential(t, E_before=0.0, jump=0.0, dE_s=0.01, tau=100.0, t_pulse=1.0):
    """Potential (V) of a sphere during a galvanostatic pulse (0 < t <= t_pulse) and the rest after it.

    Parameters
    ----------
    t : array_like
        Time since the pulse started (s).
    E_before : float
        Relaxed potential before the pulse (V).
    jump : float
        Ohmic (IR) jump during the pulse (V), ``R I``.
    dE_s : float
        Relaxed (steady-state) potential change of the pulse (V).
    tau : float
        Diffusion time r^2/D (s).
    t_pulse : float
        Pulse length (s).
    """
    t = np.asarray(t, dtype=float)
    on = ((t > 0) & (t <= t_pulse)).astype(float)
    return E_before + jump * on + dE_s * pulse_shape(t, t_pulse, tau)
