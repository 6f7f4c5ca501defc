"""Galvanostatic intermittent titration (GITT) of one spherical particle, from the physics.

A sequence of constant-current pulses separated by rests at zero current. The
particle (radius ``r``) has a concentration-dependent solid diffusion
coefficient ``D(x)`` (finite volumes in the radial coordinate, grid refined
towards the surface), a Nernstian surface whose potential follows the open-circuit
curve ``OCV(x)``, and an ohmic resistance ``R_ohm`` (the IR jump at each current
switch). ``x`` is the Li site fraction; oxidation (delithiation, charge of a
cathode) current is positive and lowers ``x``; the particle's full charge is
``Q = F c_max (4/3) pi r^3``.

The true D of each pulse (``attrs["truth"]["pulses"]``) is D at the mean
composition halfway through the pulse.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.integrate import solve_ivp

from ..errors import ParameterError
from ..kinetics.constants import F
from .particle import _Sphere

__all__ = ["gitt_sequence", "d_dip", "frumkin_ocv"]


def frumkin_ocv(E0=4.0, g=0.0, T=298.15):
    """OCV(x) of the regular-solution isotherm (V): ``E0 - (RT/F)[ln(x/(1-x)) + g(1-2x)]``."""
    from ..kinetics.insertion import frumkin_eq_potential

    def ocv(x):
        return frumkin_eq_potential(x, E0, g, T)

    ocv.description = f"Frumkin isotherm E0={E0:g} V, g={g:g}, T={T:g} K"
    return ocv


def d_dip(D_max=1e-14, D_min=2e-15, x_dip=0.5, width=0.15):
    """D(x) with a Gaussian dip in log D at ``x_dip`` (the minimum at a plateau, as GITT shows).

    ``log D = log D_max - (log D_max - log D_min) exp(-((x - x_dip)/width)^2 / 2)``.
    """
    if not (D_max > 0 and D_min > 0 and width > 0):
        raise ParameterError(f"d_dip needs D_max, D_min, width > 0, got {D_max!r}, {D_min!r}, {width!r}")
    a, b = np.log(D_max), np.log(D_max) - np.log(D_min)

    def D(x):
        x = np.asarray(x, dtype=float)
        return np.exp(a - b * np.exp(-0.5 * ((x - x_dip) / width) ** 2))

    D.description = f"log-Gaussian dip: D_max={D_max:g}, D_min={D_min:g} m^2/s at x={x_dip:g}, width {width:g}"
    return D


def _as_function(value, name):
    if callable(value):
        return value
    try:
        c = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number or a function of x, got {value!r}") from None
    if not c > 0:
        raise ParameterError(f"{name} must be > 0, got {value!r}")

    def const(x):
        return np.full(np.shape(x), c)

    const.description = f"constant {c:g}"
    return const


def gitt_sequence(*, n_pulses=10, dx_pulse=0.05, t_pulse=None, t_rest=None, current_sign=1, x0=0.8,
                  radius=1e-6, D=1e-14, ocv=None, c_max=23744.0, R_ohm=0.0, T=298.15,
                  points_pulse=100, points_rest=100, t_initial_rest=None, noise=0.0, current_noise=0.0,
                  n_shells=60, seed=None):
    """A GITT pulse sequence of one spherical particle with known D(x) and OCV(x).

    Parameters
    ----------
    n_pulses : int
        Number of current pulses (each followed by a rest).
    dx_pulse : float
        Change of the mean Li fraction per pulse (the pulse current is
        ``dx_pulse Q / t_pulse``).
    t_pulse, t_rest : float, optional
        Pulse and rest durations (s); defaults ``0.01 r^2/D(x0)`` and
        ``0.4 r^2/min D`` (relaxed to < 0.1 %). Weppner-Huggins needs
        ``t_pulse <~ 2e-3 r^2/D`` and a small ``dx_pulse`` (the surface moves
        ``~ dx_pulse / (1.33 sqrt(t_pulse D/r^2))``).
    current_sign : {1, -1}
        1: oxidation (delithiation, charge of a cathode: x falls); -1: reduction.
    x0 : float
        Starting (uniform, relaxed) Li fraction.
    radius : float
        Particle radius (m).
    D : float or callable
        Solid diffusion coefficient (m^2/s), constant or a function of the local
        fraction x (e.g. :func:`d_dip`).
    ocv : callable, optional
        Open-circuit potential OCV(x) (V); default :func:`frumkin_ocv` (E0 = 4 V, g = 0).
    c_max : float
        Li site concentration (mol/m^3).
    R_ohm : float
        Series resistance (ohm): the potential jumps by ``R_ohm I`` at each switch.
    points_pulse, points_rest : int
        Samples per pulse and per rest (uniform in time, as a potentiostat records).
    t_initial_rest : float, optional
        Rest before the first pulse (s); default ``t_rest / 4``.
    noise : float
        Standard deviation of Gaussian noise on E (V).
    current_noise : float
        Standard deviation of Gaussian noise on the recorded current, relative to
        the pulse current.
    n_shells : int
        Finite-volume shells.
    seed : int, optional
        Seed of the noise.

    Returns
    -------
    pandas.DataFrame
        ``t`` (s), ``E`` (V), ``i`` (A), ``x_mean``, ``x_surface``, ``step``
        (0 initial rest, then 1, 2, ... alternating pulse and rest). ``attrs["truth"]``:
        ``radius``, ``c_max``, ``Q`` (C), ``current`` (A), ``t_pulse``, ``t_rest``,
        ``R_ohm``, ``x0``, ``D`` and ``ocv`` (descriptions), and ``pulses``: one
        record per pulse with ``x_start``, ``x_end``, ``x_mid``, ``soc_mid``
        (``1 - x_mid``), ``D`` (at ``x_mid``), ``E_relaxed_before``/``after``
        (OCV at the start and end compositions).

    Examples
    --------
    >>> from nbtools.simulate.gitt import gitt_sequence
    >>> df = gitt_sequence(n_pulses=2, points_pulse=20, points_rest=20)
    >>> sorted(df["step"].unique().tolist())
    [0, 1, 2, 3, 4]
    """
    Dfun = _as_function(D, "D")
    ocv = ocv if ocv is not None else frumkin_ocv()
    if not callable(ocv):
        raise ParameterError(f"ocv must be a function of x (V), got {ocv!r}")
    n_pulses = int(n_pulses)
    if n_pulses < 1:
        raise ParameterError(f"n_pulses must be >= 1, got {n_pulses!r}")
    if not (0 < x0 < 1):
        raise ParameterError(f"x0 must be in (0, 1), got {x0!r}")
    if current_sign not in (1, -1):
        raise ParameterError(f"current_sign must be 1 (oxidation) or -1 (reduction), got {current_sign!r}")
    x_end = x0 - current_sign * n_pulses * dx_pulse
    if not (0 < x_end < 1) or not dx_pulse > 0:
        raise ParameterError(f"{n_pulses} pulses of dx_pulse={dx_pulse!r} from x0={x0!r} end at x={x_end:.3g}, "
                             "outside (0, 1); use fewer or smaller pulses")
    if not radius > 0:
        raise ParameterError(f"radius must be > 0 (m), got {radius!r}")
    xs_grid = np.linspace(min(x0, x_end), max(x0, x_end), 50)
    D_ref = float(Dfun(np.asarray([x0]))[0])
    D_min = float(np.min(Dfun(xs_grid)))
    tau_ref = radius**2 / D_ref
    t_pulse = float(t_pulse) if t_pulse is not None else 0.01 * tau_ref
    t_rest = float(t_rest) if t_rest is not None else 0.4 * radius**2 / D_min
    t_initial_rest = float(t_initial_rest) if t_initial_rest is not None else t_rest / 4
    if not (t_pulse > 0 and t_rest > 0 and t_initial_rest > 0):
        raise ParameterError(f"t_pulse, t_rest and t_initial_rest must be > 0 s, got {t_pulse!r}, {t_rest!r}, "
                             f"{t_initial_rest!r}")
    Q = F * c_max * 4.0 / 3.0 * np.pi * radius**3
    current = current_sign * dx_pulse * Q / t_pulse
    grid = _Sphere(int(n_shells))
    n = grid.vol.size

    def Dn(x):
        return np.asarray(Dfun(np.clip(x, 1e-9, 1 - 1e-9)), dtype=float) / D_ref

    def surface(X, flux_s):
        return X[-1] + flux_s * grid.h / Dn(X[-1:])[0]

    def rhs_for(I):
        flux_s = -(tau_ref / 3.0) * I / Q  # D dx/drho at the surface (unit sphere, time in tau_ref)

        def rhs(t, X):
            flux = np.zeros(n + 1)
            flux[1:-1] = grid.g * Dn(0.5 * (X[1:] + X[:-1])) * np.diff(X)
            flux[-1] = flux_s
            return np.diff(flux) / grid.vol / tau_ref

        def jac(t, X):
            # tridiagonal; the dD/dx terms are left out (Newton in BDF needs only an approximation)
            w = grid.g * Dn(0.5 * (X[1:] + X[:-1])) / tau_ref
            J = np.zeros((n, n))
            idx = np.arange(n - 1)
            J[idx, idx + 1] = w / grid.vol[:-1]
            J[idx + 1, idx] = w / grid.vol[1:]
            J[idx, idx] -= w / grid.vol[:-1]
            J[idx + 1, idx + 1] -= w / grid.vol[1:]
            return J

        return rhs, flux_s, jac

    X = np.full(n, float(x0))
    ts, Xs, fs, Is, steps = [], [], [], [], []
    t0 = 0.0
    plan = [(0.0, t_initial_rest, points_rest)]
    for _ in range(n_pulses):
        plan += [(current, t_pulse, points_pulse), (0.0, t_rest, points_rest)]
    for k, (I, dur, npts) in enumerate(plan):
        rhs, flux_s, jac = rhs_for(I)
        local = np.linspace(dur / npts, dur, int(npts))
        if I == 0.0 and np.ptp(X) < 1e-12:
            Y = np.repeat(X[:, None], local.size, axis=1)
        else:
            sol = solve_ivp(rhs, (0.0, dur), X, method="BDF", t_eval=local, rtol=1e-7, atol=1e-11, jac=jac,
                            first_step=min(1e-6 * tau_ref, dur / npts / 10))
            if not sol.success:  # pragma: no cover - integrator failure is a bug
                raise ParameterError(f"GITT simulation failed in step {k}: {sol.message}")
            Y = sol.y
        X = Y[:, -1].copy()
        ts.append(t0 + local)
        Xs.append(Y)
        fs.append(np.full(local.size, flux_s))
        Is.append(np.full(local.size, I))
        steps.append(np.full(local.size, k))
        t0 += dur
    t = np.concatenate(ts)
    Xall = np.concatenate(Xs, axis=1)
    flux = np.concatenate(fs)
    i = np.concatenate(Is)
    x_s = Xall[-1] + flux * grid.h / Dn(Xall[-1])
    if np.any(x_s <= 0) or np.any(x_s >= 1):
        raise ParameterError(f"the pulses drive the surface fraction out of (0, 1) (min {x_s.min():.3g}, max "
                             f"{x_s.max():.3g}); use a smaller dx_pulse or a longer t_pulse")
    rng = np.random.default_rng(seed)
    E = np.asarray(ocv(x_s), dtype=float) + R_ohm * i
    if noise:
        E = E + rng.normal(0.0, noise, E.size)
    i_rec = i + (rng.normal(0.0, current_noise * abs(current), i.size) if current_noise else 0.0)
    df = pd.DataFrame({"t": t, "E": E, "i": i_rec, "x_mean": grid.mean(Xall), "x_surface": x_s,
                       "step": np.concatenate(steps)})
    pulses = []
    for p in range(n_pulses):
        xa = x0 - current_sign * p * dx_pulse
        xb = xa - current_sign * dx_pulse
        xm = 0.5 * (xa + xb)
        pulses.append({"pulse": p, "x_start": xa, "x_end": xb, "x_mid": xm, "soc_mid": 1.0 - xm,
                       "D": float(Dfun(np.asarray([xm]))[0]),
                       "E_relaxed_before": float(ocv(np.asarray([xa]))[0]),
                       "E_relaxed_after": float(ocv(np.asarray([xb]))[0])})
    df.attrs.update({
        "truth": {"radius": radius, "c_max": c_max, "Q": Q, "current": current, "t_pulse": t_pulse,
                  "t_rest": t_rest, "t_initial_rest": t_initial_rest, "R_ohm": R_ohm, "x0": x0, "T": T,
                  "D": getattr(Dfun, "description", repr(D)), "ocv": getattr(ocv, "description", repr(ocv)),
                  "noise": noise, "seed": seed, "pulses": pulses},
        "units": {"t": "s", "E": "V", "i": "A", "x_mean": "", "x_surface": ""},
        "source": "nbtools.simulate.gitt_sequence",
    })
    return df
