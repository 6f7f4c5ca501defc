"""Whole-voltammogram model of one SECCM landing (moved to :mod:`nbtools.kinetics.couples`).

The model is a kinetic model like any other: it lives in :mod:`nbtools.kinetics`
and is registered in :data:`nbtools.kinetics.MODELS` as ``"CouplesCV"`` /
``"CouplesCV1"``. This module keeps the names ``nbtools.seccm`` has always had.
"""

from ..kinetics.couples import (  # noqa: F401
    CouplesCVModel,
    couple_cv,
    couple_cv_average,
    couples_cv,
    couples_cv_average,
    double_layer_current,
)

_background = double_layer_current  # old private name, used by existing tests

__all__ = ["CouplesCVModel", "couples_cv"]
