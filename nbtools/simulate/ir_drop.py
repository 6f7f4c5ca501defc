"""A single-particle CV through an uncompensated resistance, integrated independently of the models.

The particle (uniform composition: thin-layer limit) follows Butler-Volmer
(Laviron) kinetics at the potential it sees, ``E_eff = E - i R_u``, with
``i = -Q dx/dt``. At every instant the current solves
``i = Q ks r(x, E - i R_u)`` (Brent's method: the right side falls as ``i``
rises, so the root is unique); SciPy's adaptive Radau integrates ``x``. This
shares no code with :func:`nbtools.kinetics.cv_with_ir` (a numba backward-Euler
kernel), so fits of the models to these curves test the models.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from ..errors import ParameterError
from ..kinetics.constants import F, R

__all__ = ["ir_cv"]


def _rate(x, E, E0, f, alpha):
    u = f * (E - E0)
    return x * np.exp(min(alpha * u, 700.0)) - (1.0 - x) * np.exp(min(-(1.0 - alpha) * u, 700.0))


def ir_cv(*, Q=5e-11, E0=4.0, ks=1.0, alpha=0.5, v=0.01, Ru=1e8, E_start=None, E_vertex=None, dE=1e-3,
          T=298.15, noise=0.0, seed=None, reversible=False):
    """Cyclic voltammogram of a uniformly reacting particle with an iR drop.

    Parameters
    ----------
    Q : float
        Charge of the full conversion (C).
    E0 : float
        Formal potential (V).
    ks : float
        First-order rate constant (1/s) of the thin-layer (Laviron) kinetics.
    alpha : float
        Anodic transfer coefficient.
    v : float
        Scan rate of the applied potential (V/s).
    Ru : float
        Uncompensated resistance (ohm).
    E_start, E_vertex : float, optional
        Start and vertex of the applied potential (default E0 -/+ 0.3 V).
    dE : float
        Potential step between output samples (V).
    T : float
        Temperature (K).
    noise : float
        Standard deviation of added Gaussian current noise (A).
    seed : int, optional
    reversible : bool
        A Nernstian surface: ``ks`` is replaced by ``1e4 f v`` (Lambda = 1e4: peak separation < 0.1 mV).

    Returns
    -------
    pandas.DataFrame
        ``t`` (s), ``E`` (applied, V), ``i`` (A, anodic positive), ``E_eff``
        (``E - i Ru``, V, noise-free) and ``x``; ``attrs['truth']`` the parameters,
        with ``Lambda = ks/(f v)`` and ``drop_max`` (V).
    """
    if not (Q > 0 and v > 0 and Ru >= 0 and 0 < alpha < 1):
        raise ParameterError(f"need Q > 0, v > 0, Ru >= 0 and 0 < alpha < 1; got Q={Q!r}, v={v!r}, Ru={Ru!r}, "
                             f"alpha={alpha!r}")
    f = F / (R * T)
    ks = 1e4 * f * v if reversible else float(ks)
    if not ks > 0:
        raise ParameterError(f"ks must be > 0 (1/s), got {ks!r}")
    E_start = E0 - 0.3 if E_start is None else E_start
    E_vertex = E0 + 0.3 if E_vertex is None else E_vertex
    n = max(2, int(round(abs(E_vertex - E_start) / dE)) + 1)
    up = np.linspace(E_start, E_vertex, n)
    E = np.r_[up, up[::-1][1:]]
    t = np.r_[0.0, np.cumsum(np.abs(np.diff(E)) / v)]
    t_turn = abs(E_vertex - E_start) / v
    sgn = np.sign(E_vertex - E_start)

    def E_app(tt):
        return E_start + sgn * v * (tt if tt <= t_turn else 2 * t_turn - tt)

    def current(tt, x):
        Ea = E_app(tt)
        i0 = Q * ks * _rate(x, Ea, E0, f, alpha)
        if i0 == 0 or Ru == 0:
            return i0
        return brentq(lambda i: i - Q * ks * _rate(x, Ea - Ru * i, E0, f, alpha), min(0.0, i0), max(0.0, i0),
                      xtol=1e-30, rtol=1e-13)

    x0 = 1.0 / (1.0 + np.exp(f * (E_start - E0)))
    xs = np.empty(t.size)
    cur = np.empty(t.size)
    x = np.array([x0])
    turn = int(np.argmax(E) if E_vertex > E_start else np.argmin(E))  # the vertex sample
    t[turn] = t_turn
    for a, b, sel in ((0.0, t_turn, np.arange(t.size) <= turn), (t_turn, t[-1], np.arange(t.size) > turn)):
        te = t[sel]
        tt_eval = te if te.size and te[-1] >= b else np.r_[te, b]  # the state at the vertex carries on
        sol = solve_ivp(lambda tt, y: [-current(tt, y[0]) / Q], (a, b), x, method="Radau", t_eval=tt_eval,
                        rtol=1e-8, atol=1e-13, max_step=(b - a) / 50)
        if not sol.success:  # pragma: no cover - the integrator reports its own failure
            raise RuntimeError(f"ir_cv: integration failed: {sol.message}")
        xs[sel] = sol.y[0, :te.size]
        cur[sel] = [current(tt, xx) for tt, xx in zip(te, sol.y[0, :te.size])]
        x = sol.y[:, -1]
    i = cur.copy()
    if noise:
        i = i + np.random.default_rng(seed).normal(0.0, noise, i.size)
    df = pd.DataFrame({"t": t, "E": E, "i": i, "E_eff": E - cur * Ru, "x": xs})
    df.attrs["truth"] = {"Q": Q, "E0": E0, "ks": ks, "alpha": alpha, "v": v, "Ru": Ru, "T": T,
                         "Lambda": ks / (f * v), "drop_max": float(np.max(np.abs(cur)) * Ru), "noise": noise,
                         "reversible": bool(reversible)}
    df.attrs["units"] = {"t": "s", "E": "V", "i": "A", "E_eff": "V", "x": ""}
    df.attrs["source"] = "nbtools.simulate.ir_cv"
    return df
