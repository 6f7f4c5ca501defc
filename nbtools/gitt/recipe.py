"""The GITT analysis recipe (``"gitt.analysis"``): every setting of :func:`nbtools.gitt.analyze`.

Public API
----------
GITTRecipe
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..errors import ParameterError
from ..recipes import (Recipe, check_bool, check_int, check_number, check_optional, check_window, param,
                       register)

__all__ = ["GITTRecipe"]


def _check_window(name, value):
    if value is None or (isinstance(value, str) and value.strip().lower() == "auto"):
        return "auto"
    lo, hi = check_window(name, value, unit="fraction of the pulse")
    if not (0 <= lo < hi <= 1):
        raise ParameterError(f"{name} must be 'auto' or (low, high) fractions of the pulse within [0, 1], "
                             f"found {value!r}")
    return (lo, hi)


def _positive(name, value, unit):
    return check_number(name, value, min=0, min_open=True, unit=unit)


@register
@dataclass(frozen=True)
class GITTRecipe(Recipe):
    """Settings of a GITT analysis (pulses, Weppner-Huggins, spherical diffusion fit, SOC axis).

    ``radius`` turns the diffusion times into D = r^2/tau (without it, only tau is
    reported); ``capacity`` (C) makes the SOC axis absolute (``soc0 + charge/capacity``),
    otherwise SOC runs from 0 to 1 over the charge passed in the record.
    """

    kind: ClassVar[str] = "gitt.analysis"

    radius: float | None = param(None, check_optional(lambda n, v: _positive(n, v, "m")),
                                 "particle radius (None: report tau = r^2/D only)", "m")
    radius_err: float | None = param(None, check_optional(lambda n, v: check_number(n, v, min=0, unit="m")),
                                     "standard error of the radius (propagated into D)", "m")
    capacity: float | None = param(None, check_optional(lambda n, v: _positive(n, v, "C")),
                                   "charge from SOC 0 to 1 (None: SOC relative to the record)", "C")
    soc0: float = param(0.0, check_number, "SOC at the start of the record (with capacity)", "", min=0, max=1)
    window: object = param("auto", _check_window,
                           "sqrt(t) window of Weppner-Huggins: 'auto' or (low, high) fractions of the pulse", "")
    fit: bool = param(True, check_bool, "also fit the spherical diffusion model to each pulse and relaxation")
    min_samples: int = param(3, check_int, "shortest run of one current level (shorter: switching glitch)",
                             "samples", min=1)
    level: float = param(0.95, check_number, "confidence level of the intervals", "", min=0.5, max=0.999)
    noise: float | None = param(None, check_optional(lambda n, v: check_number(n, v, min=0, unit="V")),
                                "noise of E (None: estimated from the rests)", "V")

    def _check_together(self):
        if self.radius_err is not None and self.radius is None:
            raise ParameterError("radius_err needs radius (m)")
