"""Old name of :mod:`nbtools.kinetics.constants` (kept for existing imports)."""

from .constants import E_CHARGE, KB, NA, T_DEFAULT, F, R, f_const  # noqa: F401
