"""Synthetic data with known answers, for tests, benchmarks and teaching.

Functions are imported from their technique's module on first use:

- :func:`impact_trace` (nanoimpact recordings, :mod:`nbtools.simulate.impact`)
- :func:`seccm_scan` (SECCM scans, :mod:`nbtools.simulate.seccm`); :func:`hopping_scan` (an independent,
  realistic SECCM scan with sub-pA currents, :mod:`nbtools.simulate.seccm_hopping`)
- single-particle voltammograms and potential steps (:mod:`nbtools.simulate.particle`)
- GITT pulse sequences with known D(x) and OCV(x) (:func:`gitt_sequence`, :mod:`nbtools.simulate.gitt`)
- temperature series of rate constants and diffusion coefficients (:func:`arrhenius_series`)
- :func:`ir_cv` (a single-particle CV through an uncompensated resistance, :mod:`nbtools.simulate.ir_drop`)
- :func:`seccm_step_scan` (an SECCM potential-step (PITT) scan of particles of known radius and D,
  :mod:`nbtools.simulate.seccm_steps`)
- :func:`composite_cv` (a composite electrode's CV and its particles' single-entity numbers,
  :mod:`nbtools.simulate.ensemble`)
"""

from .._lazy import lazy_module

_WHERE = {
    "impact_trace": "impact",
    "inject_events": "impact",
    "seccm_scan": "seccm",
    "hopping_scan": "seccm_hopping",
    "particle_cv": "particle",
    "particle_step": "particle",
    "particle_galvanostatic": "particle",
    "cv_programme": "particle",
    "gitt_sequence": "gitt",
    "d_dip": "gitt",
    "frumkin_ocv": "gitt",
    "arrhenius_series": "temperature",
    "ir_cv": "ir_drop",
    "seccm_step_scan": "seccm_steps",
    "composite_cv": "ensemble",
}

__getattr__, __dir__, __all__ = lazy_module(__name__, _WHERE)
