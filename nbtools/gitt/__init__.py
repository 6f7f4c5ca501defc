"""GITT and galvanostatic pulses: read, segment, Weppner-Huggins and spherical-diffusion D, OCV, D vs SOC.

Public API
----------
read(path, *, format=None, **options)
    A galvanostatic record (EC-Lab .mpt/.mpr, Gamry DTA, curve tables) as ``t``, ``E``, ``i``.
from_arrays(t, E, i)
    The same layout from arrays (SI units).
analyze(data, recipe=None, **settings) -> GITTResult
    Segment and analyse every pulse; ``data`` is a DataFrame, a path or ``(t, E, i)``.
segment_pulses(t, i)
    Pulses and rests from the current's own levels (no absolute threshold).
GITTRecipe
    The analysis settings (radius, capacity, window, ...), JSON round trip.
GITTResult
    Segments, per-pulse table, OCV curve, ``d_vs_soc()``, ``summary()``.
gitt_sphere_potential, surface_response
    The spherical diffusion model of a pulse and its relaxation.
"""

from .analysis import analyze_pulses, fit_sphere_pulse, relaxed_potential, sqrt_window
from .io import analyze, from_arrays, read
from .recipe import GITTRecipe
from .result import GITTResult
from .segment import current_levels, segment_pulses
from .sphere import gitt_sphere_potential, pulse_shape, surface_response

__all__ = ["read", "from_arrays", "analyze", "segment_pulses", "current_levels", "GITTRecipe", "GITTResult",
           "gitt_sphere_potential", "surface_response", "pulse_shape", "analyze_pulses", "fit_sphere_pulse",
           "relaxed_potential", "sqrt_window"]
