"""Single-particle voltammograms and potential-step transients from the physics.

A spherical particle (radius ``r``) with solid-state diffusion (coefficient ``D``)
solved by finite volumes in the radial coordinate (method of lines, stiff LSODA
integrator, grid refined towards the surface), with one of these surface laws:

- ``"bv"``: Butler-Volmer with k_s = 3 k0 / r, exchange current following the
  regular-solution isotherm (reduces to :func:`nbtools.kinetics.laviron_cv` for fast
  diffusion and to :func:`nbtools.kinetics.frumkin_cv` for fast kinetics);
- ``"mhc"``: Marcus-Hush-Chidsey (exact Chidsey integral, reorganisation energy ``lam``);
- ``"nernst"``: surface at equilibrium with the electrode potential.

``x`` is the Li (reduced) site fraction; oxidation (delithiation) current is
positive; ``Q = F c_max (4/3) pi r^3`` is the charge of the full conversion.
Results are pandas DataFrames with the true parameters in ``df.attrs["truth"]``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.integrate import solve_ivp
from scipy.sparse import diags

from ..errors import ParameterError
from ..kinetics.constants import F, R

__all__ = ["particle_cv", "particle_step", "particle_galvanostatic", "cv_programme"]


class _Sphere:
    """Finite-volume grid of the unit sphere; state ``x`` per shell."""

    def __init__(self, n_shells):
        u = np.linspace(0.0, 1.0, n_shells + 1)
        self.rf = np.sin(0.5 * np.pi * u)  # faces, fine near the surface
        self.rf[-1] = 1.0
        self.rc = 0.5 * (self.rf[1:] + self.rf[:-1])
        self.vol = (self.rf[1:] ** 3 - self.rf[:-1] ** 3) / 3.0
        self.h = 1.0 - self.rc[-1]  # last centre to surface
        d = np.diff(self.rc)
        self.g = self.rf[1:-1] ** 2 / d  # conductances of inner faces
        n = n_shells
        self.sparsity = diags([np.ones(n - 1), np.ones(n), np.ones(n - 1)], [-1, 0, 1])

    def mean(self, x):
        return 3.0 * np.tensordot(self.vol, x, axes=(0, 0))


def _rate(xs, E, E0, f, g, alpha):
    """Oxidation rate per ks: x e^{alpha u} - (1 - x) e^{-(1-alpha) u}, u = f(E-E0) + g(1-2x)."""
    u = f * (E - E0) + g * (1.0 - 2.0 * xs)
    return xs * np.exp(np.clip(alpha * u, -700, 700)) - (1 - xs) * np.exp(
        np.clip(-(1 - alpha) * u, -700, 700))


class _Surface:
    """Surface fraction x_s and flux for a given last-shell value and electrode potential."""

    def __init__(self, kinetics, *, ks, alpha, E0, g, f, lam, tau, h):
        self.kinetics, self.ks, self.alpha = kinetics, ks, alpha
        self.E0, self.g, self.f, self.tau, self.h = E0, g, f, tau, h
        self.c = h * tau * ks / 3.0  # x_s = x_last - c * rate(x_s)
        if kinetics == "mhc":
            from ..kinetics.interfacial import chidsey_log_kred

            lt = lam * f
            self._et = np.linspace(-120.0, 120.0, 24001)
            lk = chidsey_log_kred(self._et, lt)
            self._lk = (lk - chidsey_log_kred(np.zeros(1), lt)[0]).tolist()
            self._det = self._et[1] - self._et[0]

    def _mhc_rate(self, xs, E):
        # i/(Q ks) = sqrt(x(1-x)) [k_ox - k_red](f eta), eta = E - E_eq(x)
        xs = min(max(xs, 1e-300), 1 - 1e-16)
        eta_t = self.f * (E - self.E0) + math.log(xs / (1 - xs)) + self.g * (1 - 2 * xs)
        eta_t = min(max(eta_t, -119.0), 119.0)
        j = (eta_t + 120.0) / self._det
        kox = self._lk_at(240.0 / self._det - j)
        kred = self._lk_at(j)
        return math.sqrt(xs * (1 - xs)) * (math.exp(kox) - math.exp(kred))

    def _lk_at(self, j):
        i = int(j)
        w = j - i
        return self._lk[i] * (1 - w) + self._lk[i + 1] * w

    def solve(self, x_last, E):
        """x_s (surface fraction) and the oxidation rate per ks."""
        if self.kinetics == "nernst":
            return self._eq(E), None
        if self.kinetics == "bv" and self.g == 0.0:
            u = self.f * (E - self.E0)
            a = np.exp(np.clip(self.alpha * u, -700, 700))
            b = np.exp(np.clip(-(1 - self.alpha) * u, -700, 700))
            xs = (x_last + self.c * b) / (1.0 + self.c * (a + b))
            return xs, None
        # monotone scalar equation phi(x) = x - x_last + c rate(x) = 0 on [0, 1]:
        # safeguarded Newton (numerical derivative) inside a shrinking bracket
        if self.kinetics == "bv":
            return self._solve_bv(x_last, E), None
        # MHC: bisection (the tabulated rate is only piecewise smooth; bisection is
        # deterministic, so the integrator sees a smooth right-hand side)
        lo, hi = 0.0, 1.0
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if mid - x_last + self.c * self._mhc_rate(mid, E) > 0:
                hi = mid
            else:
                lo = mid
            if hi - lo <= 1e-15 * max(mid, 1e-300):
                break
        return 0.5 * (lo + hi), None

    def _solve_bv(self, x_last, E):
        # Newton with the analytic derivative, safeguarded by bisection on [0, 1]
        al, g, c = self.alpha, self.g, self.c
        u0 = self.f * (E - self.E0)
        lo, hi = 0.0, 1.0
        x = min(max(x_last, 1e-300), 1.0 - 1e-16)
        for _ in range(100):
            u = u0 + g * (1.0 - 2.0 * x)
            a = math.exp(min(max(al * u, -700.0), 700.0))
            b = math.exp(min(max(-(1.0 - al) * u, -700.0), 700.0))
            phi = x - x_last + c * (x * a - (1.0 - x) * b)
            if phi > 0:
                hi = x
            else:
                lo = x
            dphi = 1.0 + c * (a + b - 2.0 * g * (al * x * a + (1.0 - al) * (1.0 - x) * b))
            xn = x - phi / dphi if dphi > 0 else 0.5 * (lo + hi)
            if not lo <= xn <= hi:
                xn = 0.5 * (lo + hi)
            if abs(xn - x) <= 1e-15 * max(x, 1e-300) or hi - lo < 1e-300:
                return xn
            x = xn
        return x

    def _bv_rate(self, x, E):
        u = self.f * (E - self.E0) + self.g * (1.0 - 2.0 * x)
        return (x * math.exp(min(max(self.alpha * u, -700.0), 700.0))
                - (1.0 - x) * math.exp(min(max(-(1.0 - self.alpha) * u, -700.0), 700.0)))

    def _eq(self, E):
        # equilibrium fraction: x = expit(-(f(E-E0) + g(1-2x)))
        u0 = self.f * (E - self.E0)
        if self.g == 0.0:
            return 0.5 * (1.0 - math.tanh(0.5 * u0))
        lo, hi = 0.0, 1.0
        for _ in range(60):  # x - expit(-u) is increasing in x for g < 2
            mid = 0.5 * (lo + hi)
            u = u0 + self.g * (1.0 - 2.0 * mid)
            if mid - 0.5 * (1.0 - math.tanh(0.5 * u)) > 0:
                hi = mid
            else:
                lo = mid
        return 0.5 * (lo + hi)


def _simulate(grid, surface, E_of_t, t_eval, x0, tau, breaks, rtol=1e-7, atol=1e-11):
    """Integrate the shells; returns x (n_shells, n_t) and x_s (n_t).

    The potential may jump at ``breaks``: each interval (a, b] is integrated on its
    own with the potential evaluated strictly inside it (a sample at a break belongs
    to the interval that ends there).
    """
    n = grid.vol.size
    xs_out = np.empty(t_eval.size)
    X = np.empty((n, t_eval.size))
    x = np.full(n, float(x0)) if np.ndim(x0) == 0 else np.asarray(x0, float).copy()
    edges = np.unique(np.r_[t_eval[0], breaks[(breaks > t_eval[0]) & (breaks < t_eval[-1])],
                            t_eval[-1]])
    first = t_eval == edges[0]
    X[:, first] = x[:, None]
    for k in np.flatnonzero(first):
        xs_out[k] = surface.solve(x[-1], E_of_t(min(t_eval[k] + 1e-12 * (edges[-1] - edges[0]),
                                                    edges[min(1, edges.size - 1)])))[0]
    for a, b in zip(edges[:-1], edges[1:]):
        eps = 1e-9 * (b - a)

        def E_in(t, a=a, b=b, eps=eps):
            return E_of_t(min(max(t, a + eps), b - eps))

        def rhs(t, x):
            xs, _ = surface.solve(x[-1], E_in(t))
            flux = np.zeros(n + 1)
            flux[1:-1] = grid.g * np.diff(x)
            flux[-1] = (xs - x[-1]) / grid.h
            return np.diff(flux) / grid.vol / tau

        sel = (t_eval > a) & (t_eval <= b)
        te = t_eval[sel]
        tt = te if te.size and te[-1] == b else np.r_[te, b]
        sol = solve_ivp(rhs, (a, b), x, method="LSODA", t_eval=tt, rtol=rtol, atol=atol,
                        first_step=min(1e-6 * tau, (b - a) / 10))
        if not sol.success:
            raise RuntimeError(f"particle simulation failed: {sol.message}")
        X[:, sel] = sol.y[:, : te.size]
        x = sol.y[:, -1]
        for k in np.flatnonzero(sel):
            xs_out[k] = surface.solve(X[-1, k], E_in(t_eval[k]))[0]
    return X, xs_out


def cv_programme(E_start, E_vertex, v, *, n_cycles=1, dE=1e-3, E_end=None):
    """Time and potential of a triangular sweep E_start -> E_vertex -> E_end (default E_start).

    Returns (t, E, breaks) with ``breaks`` the vertex times.
    """
    if not v > 0:
        raise ParameterError(f"scan rate v must be > 0 (V/s), got {v!r}")
    E_end = E_start if E_end is None else E_end
    pts = [E_start]
    for _ in range(n_cycles):
        pts += [E_vertex, E_end]
    segs = []
    for a, b in zip(pts[:-1], pts[1:]):
        m = max(2, int(round(abs(b - a) / dE)) + 1)
        seg = np.linspace(a, b, m)
        segs.append(seg if not segs else seg[1:])
    E = np.concatenate(segs)
    t = np.concatenate([[0.0], np.cumsum(np.abs(np.diff(E)) / v)])
    breaks = np.cumsum([abs(b - a) / v for a, b in zip(pts[:-1], pts[1:])])
    return t, E, breaks


def _check(radius, D, kinetics, k0, alpha, g, c_max, n_shells):
    if not radius > 0:
        raise ParameterError(f"radius must be > 0 (m), got {radius!r}")
    if not D > 0:
        raise ParameterError(f"D must be > 0 (m^2/s), got {D!r}")
    if kinetics not in ("bv", "mhc", "nernst"):
        raise ParameterError(f"kinetics must be 'bv', 'mhc' or 'nernst', got {kinetics!r}")
    if kinetics != "nernst" and not k0 > 0:
        raise ParameterError(f"k0 must be > 0 (m/s), got {k0!r}")
    if not 0 < alpha < 1:
        raise ParameterError(f"alpha must be in (0, 1), got {alpha!r}")
    if g >= 2:
        raise ParameterError(f"g = {g!r} >= 2 gives a miscibility gap; use g < 2")
    if not c_max > 0:
        raise ParameterError(f"c_max must be > 0 (mol/m^3), got {c_max!r}")
    if n_shells < 5:
        raise ParameterError(f"n_shells must be >= 5, got {n_shells!r}")


def _setup(radius, D, kinetics, k0, alpha, E0, g, c_max, T, lam, n_shells):
    f = F / (R * T)
    tau = radius**2 / D
    ks = 3.0 * k0 / radius if kinetics != "nernst" else np.inf
    Q = F * c_max * 4.0 / 3.0 * np.pi * radius**3
    grid = _Sphere(n_shells)
    surf = _Surface(kinetics, ks=ks, alpha=alpha, E0=E0, g=g, f=f, lam=lam, tau=tau, h=grid.h)
    truth = {"radius": radius, "D": D, "k0": k0 if kinetics != "nernst" else np.inf,
             "ks": ks, "alpha": alpha, "E0": E0, "g": g, "c_max": c_max, "T": T,
             "kinetics": kinetics, "lam": lam if kinetics == "mhc" else None, "Q": Q,
             "tau": tau}
    return f, tau, ks, Q, grid, surf, truth


def _finish(t, E, X, xs, grid, Q, tau, noise, seed, truth, kind):
    # i = -Q d<x>/dt = -(3 Q / tau) (x_s - x_last)/h
    i = -3.0 * Q / tau * (xs - X[-1]) / grid.h
    if noise:
        i = i + np.random.default_rng(seed).normal(0.0, noise, i.size)
    df = pd.DataFrame({"t": t, "E": E, "i": i, "x_mean": grid.mean(X), "x_surface": xs})
    truth = dict(truth, noise=noise, seed=seed)
    df.attrs.update({"truth": truth, "units": {"t": "s", "E": "V", "i": "A", "x_mean": "",
                                              "x_surface": ""},
                     "source": f"nbtools.simulate.{kind}"})
    return df


def particle_cv(*, radius=200e-9, D=1e-15, k0=1e-9, alpha=0.5, E0=4.0, g=0.0, c_max=23744.0,
                v=1e-3, E_start=None, E_vertex=None, n_cycles=1, dE=1e-3, kinetics="bv",
                lam=0.3, T=298.15, n_shells=40, noise=0.0, seed=None):
    """Cyclic voltammogram of one insertion particle (finite-volume solid diffusion).

    Parameters
    ----------
    radius : float
        Particle radius (m).
    D : float
        Solid-state (chemical) diffusion coefficient (m^2/s).
    k0 : float
        Heterogeneous rate constant (m/s); k_s = 3 k0 / radius (1/s).
    alpha : float
        Anodic transfer coefficient (BV).
    E0 : float
        Formal potential (V).
    g : float
        Regular-solution interaction Omega/RT (< 2).
    c_max : float
        Site concentration (mol/m^3); default LiMn2O4 (kinetics.md 5.2).
    v : float
        Scan rate (V/s).
    E_start, E_vertex : float
        Start and vertex potentials (V); default E0 -/+ 0.3 V.
    n_cycles : int
    dE : float
        Potential step between output points (V).
    kinetics : {"bv", "mhc", "nernst"}
    lam : float
        MHC reorganisation energy (eV).
    T : float
        Temperature (K).
    n_shells : int
        Finite-volume shells.
    noise : float
        Standard deviation of added Gaussian current noise (A).
    seed : int, optional

    Returns
    -------
    pandas.DataFrame
        Columns ``t`` (s), ``E`` (V), ``i`` (A, anodic positive), ``x_mean``,
        ``x_surface``; ``attrs["truth"]`` holds all parameters plus ``Q`` (C),
        ``tau`` = r^2/D (s), ``sigma`` = F v r^2/(R T D) and ``Lambda`` = k_s/(f v).
    """
    _check(radius, D, kinetics, k0, alpha, g, c_max, n_shells)
    E_start = E0 - 0.3 if E_start is None else E_start
    E_vertex = E0 + 0.3 if E_vertex is None else E_vertex
    f, tau, ks, Q, grid, surf, truth = _setup(radius, D, kinetics, k0, alpha, E0, g, c_max, T,
                                              lam, n_shells)
    t, E, breaks = cv_programme(E_start, E_vertex, v, n_cycles=n_cycles, dE=dE)
    E_of_t = lambda tt: float(np.interp(tt, t, E))  # noqa: E731
    x0 = surf._eq(E_start)
    X, xs = _simulate(grid, surf, E_of_t, t, x0, tau, breaks)
    truth.update(v=v, sigma=f * v * tau, Lambda=ks / (f * v), E_start=E_start, E_vertex=E_vertex,
                 n_cycles=n_cycles)
    return _finish(t, E, X, xs, grid, Q, tau, noise, seed, truth, "particle_cv")


def particle_step(*, E_initial, E_steps, t_step, radius=200e-9, D=1e-15, k0=1e-9, alpha=0.5,
                  E0=4.0, g=0.0, c_max=23744.0, kinetics="bv", lam=0.3, T=298.15, n_points=400,
                  spacing="log", n_shells=60, noise=0.0, seed=None):
    """Potential-step (PITT) transients of one insertion particle.

    The particle starts at equilibrium at ``E_initial``; the potential then steps to
    each value of ``E_steps`` in turn, each held for ``t_step`` seconds.

    Parameters
    ----------
    E_initial : float
        Starting (equilibrium) potential (V).
    E_steps : float or sequence of float
        Potential(s) of the step(s) (V).
    t_step : float
        Duration of each step (s).
    n_points : int
        Output samples per step (time measured from the start of the series).
    spacing : {"log", "linear"}
        Sample spacing within each step ("log" resolves the early transient).
    Other parameters as in :func:`particle_cv`.

    Returns
    -------
    pandas.DataFrame
        Columns ``t`` (s, from the first step), ``step`` (index), ``t_step`` (s since
        that step), ``E``, ``i``, ``x_mean``, ``x_surface``; ``attrs["truth"]`` with
        ``Q``, ``tau``, per-step equilibrium charges ``dQ`` (C), and the Biot number of
        the linearised kinetics per step (``biot``).
    """
    _check(radius, D, kinetics, k0, alpha, g, c_max, n_shells)
    steps = np.atleast_1d(np.asarray(E_steps, dtype=float))
    if not t_step > 0:
        raise ParameterError(f"t_step must be > 0 (s), got {t_step!r}")
    f, tau, ks, Q, grid, surf, truth = _setup(radius, D, kinetics, k0, alpha, E0, g, c_max, T,
                                              lam, n_shells)
    if spacing == "log":
        local = np.geomspace(t_step * 1e-5, t_step, n_points)
    elif spacing == "linear":
        local = np.linspace(t_step / n_points, t_step, n_points)
    else:
        raise ParameterError(f"spacing must be 'log' or 'linear', got {spacing!r}")
    t = np.concatenate([k * t_step + local for k in range(steps.size)])
    idx = np.repeat(np.arange(steps.size), n_points)
    E = steps[idx]
    breaks = t_step * np.arange(1, steps.size)
    E_of_t = lambda tt: float(steps[min(int(tt // t_step), steps.size - 1)]  # noqa: E731
                              if tt < t_step * steps.size else steps[-1])
    x_prev = surf._eq(E_initial)
    # start just after the first step; the state at t=0 is uniform equilibrium
    X, xs = _simulate(grid, surf, E_of_t, np.r_[0.0, t], x_prev, tau,
                      np.r_[breaks, t_step * steps.size])
    X, xs = X[:, 1:], xs[1:]
    # equilibrium charges and linearised Biot numbers per step
    xeq = [x_prev] + [surf._eq(e) for e in steps]
    dQ = [-(Q * (b - a)) for a, b in zip(xeq[:-1], xeq[1:])]
    biot = []
    for a, b in zip(xeq[:-1], xeq[1:]):
        xm = 0.5 * (a + b)
        dEdx = (1.0 / f) * (1.0 / (xm * (1 - xm)) - 2 * g)
        i0 = xm ** (1 - alpha) * (1 - xm) ** alpha  # per Q ks (ideal, g = 0 form)
        # k_eff r / D with k_eff = i0 |dE/dc| / (R T) per unit area -> dimensionless:
        biot.append(ks * tau / 3.0 * i0 * f * dEdx if np.isfinite(ks) else np.inf)
    truth.update(E_initial=E_initial, E_steps=steps.tolist(), t_step=t_step, dQ=dQ, biot=biot)
    df = _finish(t, E, X, xs, grid, Q, tau, noise, seed, truth, "particle_step")
    df.insert(1, "step", idx)
    df.insert(2, "t_step", t - idx * t_step)
    return df


def particle_galvanostatic(*, current, duration, E0=4.0, x0=0.5, radius=200e-9, D=1e-15,
                           g=0.0, c_max=23744.0, T=298.15, n_points=400, n_shells=60):
    """Constant-current pulse (GITT) of one particle with a Nernstian surface.

    Returns a DataFrame with ``t`` (s), ``E`` (V, equilibrium potential of the surface
    composition), ``x_mean``, ``x_surface``; ``current`` (A, anodic positive) is constant.
    """
    f = F / (R * T)
    tau = radius**2 / D
    Q = F * c_max * 4.0 / 3.0 * np.pi * radius**3
    grid = _Sphere(n_shells)
    n = grid.vol.size
    # surface gradient dx/drho|1 = -(tau/3) i/Q
    grad = -(tau / 3.0) * current / Q

    def rhs(t, x):
        flux = np.zeros(n + 1)
        flux[1:-1] = grid.g * np.diff(x)
        flux[-1] = grad
        return np.diff(flux) / grid.vol / tau

    t = np.linspace(duration / n_points, duration, n_points)
    sol = solve_ivp(rhs, (0.0, duration), np.full(n, float(x0)), method="LSODA", t_eval=t,
                    rtol=1e-8, atol=1e-12, first_step=1e-7 * min(tau, duration))
    X = sol.y
    xs = X[-1] + grad * grid.h
    from ..kinetics.insertion import frumkin_eq_potential

    Eeq = frumkin_eq_potential(xs, E0, g, T)
    df = pd.DataFrame({"t": t, "E": Eeq, "x_mean": grid.mean(X), "x_surface": xs})
    df.attrs["truth"] = {"current": current, "duration": duration, "E0": E0, "x0": x0,
                         "radius": radius, "D": D, "g": g, "c_max": c_max, "T": T, "Q": Q,
                         "tau": tau}
    df.attrs["source"] = "nbtools.simulate.particle_galvanostatic"
    return df
