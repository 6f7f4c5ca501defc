"""Moved: the WEC-SPM TDMS reader is :mod:`nbtools.io.seccm_tdms` (kept here for old imports)."""

from ..io.scan import SCAN_RATE_RULE, derived_scan_rate, set_derived_scan_rate
from ..io.seccm_tdms import read_wecspm_tdms

__all__ = ["read_wecspm_tdms", "derived_scan_rate", "set_derived_scan_rate", "SCAN_RATE_RULE"]
