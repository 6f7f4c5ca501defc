"""Synthetic data with known answers, for tests, benchmarks and teaching.

Functions are imported from their technique's module on first use:

- :func:`impact_trace` (nanoimpact recordings, :mod:`nbtools.simulate.impact`)
- :func:`seccm_scan` (SECCM scans, :mod:`nbtools.simulate.seccm`)
- single-particle voltammograms and potential steps (:mod:`nbtools.simulate.particle`)
"""

from importlib import import_module

_WHERE = {
    "impact_trace": "impact",
    "inject_events": "impact",
    "seccm_scan": "seccm",
    "particle_cv": "particle",
    "particle_step": "particle",
    "particle_galvanostatic": "particle",
    "cv_programme": "particle",
}

__all__ = sorted(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        return getattr(import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module 'nbtools.simulate' has no attribute {name!r}")


def __dir__():
    return __all__
