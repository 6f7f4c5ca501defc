"""Mean curve and 95 % band of a set of pixels, fast enough for interactive selection.

The one-pass numba kernel lives in the analysis layer
(:func:`nbtools.seccm._kernels.curve_sums`, wrapped by
:func:`nbtools.seccm.stats.curve_stats`) so that
:func:`nbtools.seccm.group_stats` and this widget share it; widgets import
seccm, never the reverse.
"""

from __future__ import annotations

import numpy as np

from ..seccm.stats import curve_stats

__all__ = ["curve_stats", "pick_rows"]


def pick_rows(rows, k, *, seed=0):
    """At most ``k`` of ``rows``, spread evenly (reproducible), sorted."""
    rows = np.asarray(rows, dtype=np.int64)
    if rows.size <= k:
        return rows
    return rows[np.linspace(0, rows.size - 1, k).round().astype(np.int64)]
