"""Blank recordings (same electrode, no particles): their noise, and whether they fit the recording.

A blank given to :func:`~nbtools.impact.find_events` (``blank=`` a Trace or
array, or ``recipe.blank`` the path of one) replaces the recording's noise SD
and bandwidth: the threshold in amperes then follows the blank.
"""

from __future__ import annotations

import os

import numpy as np

from ..trace import Trace

__all__ = ["blank_mismatch", "load_blank", "blank_source", "BLANK_TOLERANCE"]

#: a blank is a fair control when its noise SD and bandwidth are within this
#: factor of the recording's own
BLANK_TOLERANCE = 1.3


def load_blank(blank, recipe):
    """The blank to use: ``blank`` (Trace or array) when given, else the recording at ``recipe.blank``
    (read with :func:`nbtools.io.load_trace`), else None."""
    if blank is not None:
        return blank
    if recipe.blank is None:
        return None
    from ..io import load_trace

    return load_trace(recipe.blank)


def blank_source(blank) -> str | None:
    """The file a blank was read from (a Trace's ``source``), or None."""
    src = getattr(blank, "source", None) if isinstance(blank, Trace) else None
    return None if src is None else os.fspath(src)


def blank_mismatch(blank_noise, blank_bandwidth, noise, bandwidth, tol=BLANK_TOLERANCE):
    """A message when a blank's noise SD (A) or bandwidth (Hz, mean-level
    up-crossings per s) differs from the recording's by more than ``tol``
    (ratio); None when they agree (or are unknown)."""
    bad = []
    for what, b, r, u in (("noise", blank_noise, noise, "A"), ("bandwidth", blank_bandwidth, bandwidth, "Hz")):
        if b and r and np.isfinite(b) and np.isfinite(r) and b > 0 and r > 0 and not 1 / tol <= b / r <= tol:
            bad.append(f"{what} {b:.3g} {u} vs {r:.3g} {u} ({b / r:.2g}x)")
    if not bad:
        return None
    return (f"the blank's noise (sigma = {blank_noise:.3g} A, bandwidth {blank_bandwidth:.3g} Hz) differs from "
            f"the recording's own (sigma = {noise:.3g} A, bandwidth {bandwidth:.3g} Hz) by more than "
            f"{(tol - 1) * 100:.0f} %: " + "; ".join(bad) + ". Different filter, gain or electrode? "
            "The blank is not a fair control of this recording.")
