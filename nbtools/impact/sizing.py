"""Charge <-> particle radius for a spherical particle of a given material.

``Q = n F rho (4/3) pi r^3 conversion / M`` (kinetics.md 3.1), with ``n``,
``rho`` and ``M`` from :mod:`nbtools.materials` and ``conversion`` the fraction
of the theoretical formula-unit conversion achieved (Delta x). The sign of the
charge is ignored (anodic and cathodic impacts size alike).
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ..materials import get_material

__all__ = ["charge_to_radius", "radius_to_charge", "check_conversion", "check_material", "FARADAY"]

FARADAY = 96485.33212  # C/mol


def check_conversion(name, value):
    """``value`` as the fraction of the theoretical conversion achieved, in (0, 1] (the one check of it)."""
    try:
        c = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a fraction in (0, 1], found {value!r}") from None
    if not (0 < c <= 1.0 + 1e-12):
        raise ParameterError(f"{name} must be a fraction in (0, 1] (Delta x), found {value!r}")
    return c


def check_material(name, value):
    """The table name of material ``value`` (:func:`nbtools.materials.get_material`; MaterialError
    lists the known ones)."""
    if not isinstance(value, str):
        raise ParameterError(f"{name} must be the name of a material in nbtools.materials, found {value!r}")
    return get_material(value).name


def charge_to_radius(charge, material="LiMn2O4", conversion=1.0):
    """Radius (m) of the sphere whose conversion gives ``charge`` (C).

    Parameters
    ----------
    charge : float or array_like
        Charge per impact in coulombs (sign ignored). NaN stays NaN.
    material : str or Material
        Name in :mod:`nbtools.materials` (case-insensitive) or a Material.
    conversion : float
        Fraction of the theoretical conversion achieved (0 < conversion <= 1).

    Returns
    -------
    float or numpy.ndarray
        Equivalent-volume radius in metres.

    Examples
    --------
    >>> r = charge_to_radius(radius_to_charge(50e-9, "LiFePO4"), "LiFePO4")
    >>> round(r * 1e9, 6)
    50.0
    """
    m = get_material(material)
    c = check_conversion("conversion", conversion)
    q = np.abs(np.asarray(charge, dtype=np.float64))
    r = np.cbrt(3.0 * q * m.molar_mass / (4.0 * np.pi * m.electrons * FARADAY * m.density * c))
    return float(r) if r.ndim == 0 else r


def radius_to_charge(radius, material="LiMn2O4", conversion=1.0):
    """Charge (C, positive) of a sphere of ``radius`` (m); inverse of :func:`charge_to_radius`."""
    m = get_material(material)
    c = check_conversion("conversion", conversion)
    r = np.asarray(radius, dtype=np.float64)
    if np.any(r < 0):
        raise ParameterError("radius must be >= 0 (metres)")
    q = m.electrons * FARADAY * m.density * (4.0 / 3.0) * np.pi * r**3 * c / m.molar_mass
    return float(q) if q.ndim == 0 else q
