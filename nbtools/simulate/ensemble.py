"""A composite electrode and the single particles it is made of, with known answers.

The particles (log-normal radii, log-normal D, one material) each react as a thin
layer (uniform composition: the CV is slow against r^2/D) with Laviron kinetics;
the composite electrode is all of them in parallel behind one electrode
resistance ``R_electrode`` (its ohmic, contact and transport polarisation,
lumped), so its CV is :func:`nbtools.kinetics.cv_with_ir` of the total charge. The
single-particle CVs are the same particles without that resistance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..kinetics import find_cv_peaks
from ..kinetics.constants import F
from ..kinetics.insertion import cv_with_ir, laviron_cv
from ..materials import get_material

__all__ = ["composite_cv"]


def _cycle(E1, E2, dE):
    n = max(2, int(round(abs(E2 - E1) / dE)) + 1)
    a = np.linspace(E1, E2, n)
    return np.r_[a, a[::-1][1:]]


def composite_cv(n_particles=50, *, radius=300e-9, radius_spread=0.3, D=1e-15, D_spread=0.3, material="LiMn2O4",
                 E0=4.0, ks=5.0, alpha=0.5, v=1e-4, particle_v=None, R_electrode=None, drop=0.03, dE=2e-3,
                 seed=0):
    """Simulate a composite electrode's CV and its particles' single-entity numbers.

    Parameters
    ----------
    n_particles : int
        Particles in the electrode (and in the single-particle population).
    radius, radius_spread : float
        Median radius (m) and log-normal spread (sigma of ln r).
    D, D_spread : float
        Median chemical diffusion coefficient (m^2/s) and log-normal spread.
    material : str
        A name in :mod:`nbtools.materials` (density, molar mass, electrons).
    E0, ks, alpha : float
        Formal potential (V), rate constant (1/s), transfer coefficient of every particle.
    v : float
        Scan rate of the electrode's CV (V/s).
    particle_v : float, optional
        Scan rate of the single-particle CVs (default ``v``).
    R_electrode : float, optional
        Lumped electrode resistance (ohm); default: the value that makes the iR drop
        at the electrode's peak current ``drop`` (V).
    dE : float
        Potential step of the CVs (V).
    seed : int

    Returns
    -------
    electrode : pandas.DataFrame
        ``t`` (s), ``E`` (V), ``i`` (A).
    particles : pandas.DataFrame
        Per particle: ``radius`` (m), ``D`` (m^2/s), ``tau`` (s), ``Q`` (C, full
        conversion), ``dEp`` (V, its CV's peak separation at ``particle_v``).
    truth : dict
        ``mass`` (kg of active material), ``Q_total`` (C), ``capacity`` (mAh/g, theoretical),
        ``R_electrode`` (ohm), ``v``, ``particle_v``, ``dEp_particle`` (V).
    """
    if n_particles < 1 or not (radius > 0 and D > 0 and v > 0):
        raise ParameterError(f"need n_particles >= 1, radius > 0, D > 0, v > 0; got {n_particles!r}, {radius!r}, "
                             f"{D!r}, {v!r}")
    rng = np.random.default_rng(seed)
    m = get_material(material)
    r = radius * np.exp(rng.normal(0.0, radius_spread, n_particles))
    Dp = D * np.exp(rng.normal(0.0, D_spread, n_particles))
    vol = 4.0 / 3.0 * np.pi * r**3
    Q = m.electrons * F * m.density * vol / m.molar_mass
    particle_v = v if particle_v is None else particle_v
    E = _cycle(E0 - 0.3, E0 + 0.3, dE)
    t = np.r_[0.0, np.cumsum(np.abs(np.diff(E)) / v)]
    Qt = float(Q.sum())
    if R_electrode is None:
        ip = float(np.max(np.abs(laviron_cv(E, Qt, E0, ks, alpha, 0.0, v))))
        R_electrode = drop / ip
    i = cv_with_ir(E, Qt, E0, ks, alpha, 0.0, v, Ru=R_electrode)
    one = laviron_cv(E, 1.0, E0, ks, alpha, 0.0, particle_v)
    pk = find_cv_peaks(E, one, v=particle_v)
    dEp = float(pk.loc[pk.direction == "anodic", "E_peak"].iloc[0] - pk.loc[pk.direction == "cathodic",
                                                                           "E_peak"].iloc[0])
    particles = pd.DataFrame({"radius": r, "D": Dp, "tau": r**2 / Dp, "Q": Q, "dEp": dEp})
    electrode = pd.DataFrame({"t": t, "E": E, "i": i})
    electrode.attrs["source"] = "nbtools.simulate.composite_cv"
    truth = {"mass": float(m.density * vol.sum()), "Q_total": Qt,
             "capacity": m.electrons * F / m.molar_mass / 3600.0, "R_electrode": float(R_electrode), "v": v,
             "particle_v": particle_v, "dEp_particle": dEp, "material": m.name}
    return electrode, particles, truth
