"""A simulated SECCM potential-step (PITT) scan: particles of known radius and diffusion coefficient.

Every landing holds the potential at ``E_initial`` for ``n_pre`` samples, then
steps to ``E_step``. On the substrate the current is the double-layer charging
spike only; on a particle it adds the PITT transient of a Nernstian sphere,
``(6 Q/tau) sum exp(-n^2 pi^2 t/tau)`` with ``tau = r^2/D`` of that particle
(every landing on a particle probes solid diffusion over the particle's radius;
its charge scales with the wetted fraction of the particle). Particles are
non-overlapping discs on the grid, so the equivalent radius of a particle's
region of pixels (``sqrt(area/pi)``) estimates its radius. Samples are the
instantaneous current at each sample time.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ..kinetics.diffusion import pitt_sphere

__all__ = ["seccm_step_scan"]


def _discs(ny, nx, rng, n_particles, radius_px, gap=1.0):
    """Non-overlapping discs: (label map, centres, radii in pixels); label 0 = substrate."""
    lab = np.zeros((ny, nx), dtype=np.int64)
    yy, xx = np.mgrid[0:ny, 0:nx]
    placed = []
    for _ in range(5000):
        if len(placed) >= n_particles:
            break
        r = rng.uniform(*radius_px)
        cy, cx = rng.uniform(r, ny - 1 - r), rng.uniform(r, nx - 1 - r)
        if any(np.hypot(cy - y, cx - x) < r + rr + gap for y, x, rr in placed):
            continue
        placed.append((cy, cx, r))
        lab[np.hypot(yy - cy, xx - cx) <= r] = len(placed)
    return lab, placed


def seccm_step_scan(nx=24, ny=24, n_samples=400, *, seed=0, pitch=1e-6, n_particles=6, radius_px=(2.0, 4.0),
                    D=(2e-13, 2e-12), E_initial=3.95, E_step=4.0, n_pre=10, t_step=20.0, q_step=2e-11,
                    capacitance=2e-12, rc=2e-3, noise=0.05e-12, droplet_radius=None, label=False):
    """Simulate an SECCM potential-step scan of particles with known radius and D.

    Parameters
    ----------
    nx, ny : int
        Grid size.
    n_samples : int
        Samples per landing (``n_pre`` before the step).
    seed : int
        Random seed (particles, D, noise).
    pitch : float
        Distance between landings (m); particle radii are ``radius_px`` x pitch.
    n_particles : int
        Particles placed (fewer when they do not fit without overlapping).
    radius_px : (float, float)
        Range of particle radii in pixels.
    D : (float, float)
        Range of the particles' diffusion coefficients (m^2/s, log-uniform).
    E_initial, E_step : float
        Potentials before and after the step (V).
    n_pre : int
        Samples at ``E_initial`` before the step.
    t_step : float
        Duration of the record after the step (s); samples are uniform.
    q_step : float
        Charge of the step (C) at a landing that wets a whole particle.
    capacitance : float
        Double-layer capacitance under the meniscus (F); ``rc`` its charging time constant (s).
    noise : float
        White current noise, rms (A).
    droplet_radius : float or (float, float), optional
        Radius (m) of each landing's meniscus footprint (a range: uniform per
        landing); stored per pixel as ``droplet_radius`` (the current-density map reads it).
    label : bool
        Run the landing-quality labelling (default False: its contact tests follow a
        potential sweep; a step transient that decays into the noise reads as a failed
        landing). Without it every landing is ``'landed'``.

    Returns
    -------
    ds : xarray.Dataset
        The scan (:mod:`nbtools.seccm` layout; potential and time 1-D).
    truth : dict
        ``particle`` (bool map), ``labels`` (int map, 0 substrate), ``radius`` (m per
        particle, from 1), ``centre`` ((x, y) in m per particle), ``D`` (m^2/s per particle), ``tau`` (s per particle),
        per pixel (``ds`` order): ``tau_pixel`` and ``D_pixel`` (NaN on the substrate),
        ``radius_pixel`` (m), ``Q_pixel`` (C), ``dE`` (V), ``step_time`` (s).
    """
    from ..seccm.dataset import from_arrays

    if nx < 3 or ny < 3 or n_samples < n_pre + 20:
        raise ParameterError(f"nx={nx}, ny={ny}, n_samples={n_samples}: expected nx, ny >= 3 and n_samples >= "
                             f"n_pre + 20")
    rng = np.random.default_rng(seed)
    lab, placed = _discs(ny, nx, rng, n_particles, radius_px)
    k = len(placed)
    radius = np.array([p[2] for p in placed]) * pitch
    Dp = np.exp(rng.uniform(np.log(D[0]), np.log(D[1]), size=k))
    tau = radius**2 / Dp
    n = nx * ny
    iy, ix = np.divmod(np.arange(n), nx)
    pid = lab[iy, ix]
    on = pid > 0
    dt = t_step / (n_samples - n_pre)
    t = np.arange(n_samples) * dt
    step_time = t[n_pre - 1]  # the last sample at E_initial: the step follows it
    E = np.where(np.arange(n_samples) >= n_pre, E_step, E_initial)
    s = t - step_time
    cur = np.zeros((n, n_samples))
    dE = E_step - E_initial
    cdl = capacitance * rng.uniform(0.9, 1.1, size=n) * np.where(on, 1.5, 1.0)
    cur += (cdl * dE / rc)[:, None] * np.where(s > 0, np.exp(-np.clip(s, 0, None) / rc), 0.0)[None, :]
    # wetted fraction: 1 at the particle's centre, 0.5 at its rim
    wet = np.zeros(n)
    tau_pix = np.full(n, np.nan)
    for j, (cy, cx, r) in enumerate(placed, start=1):
        sel = pid == j
        d = np.hypot(iy[sel] - cy, ix[sel] - cx) / r
        wet[sel] = 1.0 - 0.5 * np.clip(d, 0, 1) ** 2
        tau_pix[sel] = tau[j - 1]
    q = q_step * wet * np.sign(dE)
    for p in np.flatnonzero(on):
        cur[p] += pitt_sphere(s, q[p], tau_pix[p])
    cur += rng.standard_normal(cur.shape) * noise
    extra = {}
    if droplet_radius is not None:
        lo, hi = (droplet_radius, droplet_radius) if np.ndim(droplet_radius) == 0 else droplet_radius
        rd = rng.uniform(lo, hi, size=n)
        extra["droplet_radius"] = rd
    ds = from_arrays(cur, E, (ix * pitch).astype(float), (iy * pitch).astype(float), time=t,
                     source="nbtools.simulate.seccm_step_scan", reference_electrode="Li/Li+",
                     attrs={"technique": "potential step (PITT)", "E_initial": float(E_initial),
                            "E_step": float(E_step), "step_time": float(step_time), "dt": float(dt),
                            "seed": int(seed), "material": "LiMn2O4-like (simulated)"},
                     label=label)
    if extra:
        ds["droplet_radius"] = ("pixel", extra["droplet_radius"], {"units": "m",
                                                                   "long_name": "meniscus footprint radius"})
    radius_pix = np.where(on, np.r_[np.nan, radius][pid], np.nan)
    centres = np.array([(p[1] * pitch, p[0] * pitch) for p in placed]).reshape(-1, 2)
    truth = {"particle": lab > 0, "labels": lab, "radius": radius, "centre": centres, "D": Dp, "tau": tau,
             "tau_pixel": tau_pix,
             "D_pixel": np.where(on, np.r_[np.nan, Dp][pid], np.nan), "radius_pixel": radius_pix,
             "Q_pixel": q, "dE": float(dE), "step_time": float(step_time), "noise": noise,
             **({"droplet_radius": extra["droplet_radius"]} if extra else {})}
    return ds, truth
