"""The seeded simulations of the workshop notebooks (one place for their settings).

The notebooks call :mod:`nbtools.simulate` with these settings, e.g.
``simulate.impact_trace(**data.RECORDING)``; :func:`nbtools.workshop.check`
computes each exercise's answer from the same simulation (the functions below,
cached), so a notebook and its checks can never disagree.

Every setting is in SI units (s, Hz, m, A, V, V/s, m^2/s, m/s).
"""

from __future__ import annotations

from functools import lru_cache
from types import MappingProxyType

__all__ = [
    "RECORDING", "BLANK", "ELECTRODE_RADIUS", "MATERIAL", "RECOVERY", "BLANK_THRESHOLD", "SCAN", "PEAK_WINDOW",
    "CHARGE_WINDOW", "PARTICLE", "SCAN_RATES", "CV", "CV_SEED", "STEPS",
    "recording", "blank", "scan", "particle_cvs", "particle_steps",
]



def _frozen(base=None, **settings):
    """Read-only settings: a notebook can copy them (``{**RECORDING, "seed": 1}``), never change them."""
    return MappingProxyType({**(base or {}), **settings})


MATERIAL = "LiMn2O4"

# 1 and 2: nanoimpact. 20 s at 50 kHz, LiMn2O4 particles of about 16 nm radius, 2 pA rms noise:
# the smallest particles give spikes near the detection threshold.
RECORDING = _frozen(duration=20.0, fs=50e3, rate=2.0, material=MATERIAL, radius_median=16e-9, radius_sigma=0.3,
                 noise_rms=2e-12, seed=3)
# the same electrode and noise without particles
BLANK = _frozen(RECORDING, rate=0.0, seed=8)
# disk microelectrode radius (m) for the concentration estimate
ELECTRODE_RADIUS = 5e-6
# a deliberately low threshold (in noise SDs) to show false events in the blank
BLANK_THRESHOLD = 4.0
# injection-recovery test: charges (C), events per charge, random seed
RECOVERY = _frozen(charges=(2e-15, 4e-15, 8e-15, 1.6e-14, 3.2e-14), n_per_charge=10, seed=0)

# 3: SECCM. 20 x 20 landings, a few small LiMn2O4-like particles (couples at 4.00 and 4.15 V) on carbon.
SCAN = _frozen(nx=20, ny=20, n_samples=400, radius_px=(1.5, 3.5), coverage=0.3, seed=4)
CHARGE_WINDOW = (3.9, 4.3)  # V, both couples
PEAK_WINDOW = (3.9, 4.08)  # V, the lower couple only

# 4: one LiMn2O4 particle on a wire, radius 1 um, tau = r^2/D = 10 s, k_s = 3 k0 / r = 0.3 1/s.
PARTICLE = _frozen(radius=1e-6, D=1e-13, k0=1e-7, alpha=0.5, E0=4.05)
SCAN_RATES = (0.5e-3, 1e-3, 2e-3, 5e-3)  # V/s
CV = _frozen(dE=3e-3, noise=0.2e-12, n_shells=20)
CV_SEED = 3  # CV k uses seed CV_SEED + k
STEPS = _frozen(E_initial=3.97, E_steps=(3.99, 4.03, 4.07), t_step=60.0, n_points=300, spacing="linear",
             noise=0.2e-12, seed=5)


@lru_cache(maxsize=None)
def recording():
    """``simulate.impact_trace(**RECORDING)``: (Trace, truth)."""
    from .. import simulate

    return simulate.impact_trace(**RECORDING)


@lru_cache(maxsize=None)
def blank():
    """``simulate.impact_trace(**BLANK)[0]``: a recording without particles."""
    from .. import simulate

    return simulate.impact_trace(**BLANK)[0]


@lru_cache(maxsize=None)
def scan():
    """``simulate.seccm_scan(**SCAN)``: (Dataset, truth)."""
    from .. import simulate

    return simulate.seccm_scan(**SCAN)


@lru_cache(maxsize=None)
def particle_cvs():
    """One ``simulate.particle_cv`` per scan rate of :data:`SCAN_RATES` (``attrs["v"]`` set, as a reader does)."""
    from .. import simulate

    cvs = []
    for k, v in enumerate(SCAN_RATES):
        df = simulate.particle_cv(v=v, seed=CV_SEED + k, **PARTICLE, **CV)
        df.attrs["v"] = v
        cvs.append(df)
    return tuple(cvs)


@lru_cache(maxsize=None)
def particle_steps():
    """``simulate.particle_step(**STEPS, **PARTICLE)``: the potential-step (PITT) series."""
    from .. import simulate

    return simulate.particle_step(**STEPS, **PARTICLE)
