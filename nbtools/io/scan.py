"""What every SECCM scan reader shares: building the Dataset and the scan rate it records.

The scan readers (:mod:`~nbtools.io.seccm_tdms`, :mod:`~nbtools.io.seccm_text`,
:mod:`~nbtools.io.seccm_netcdf`) return the :mod:`nbtools.seccm` Dataset
layout. They build it with :func:`nbtools.seccm.dataset.from_arrays`, imported
inside :func:`build_scan` so that ``nbtools.io`` never imports the SECCM
analysis package when it is itself imported (readers sit below analysis).
"""

from __future__ import annotations

import numpy as np

__all__ = ["SCAN_RATE_RULE", "derived_scan_rate", "set_derived_scan_rate", "build_scan"]

SCAN_RATE_RULE = "derived: median |dE/dt| over the sweeps of the landings (holds left out)"


def derived_scan_rate(potential, time):
    """Scan rate (V/s) of the sweeps in curves of potential and time.

    The median of ``|dE/dt|`` taken over a few samples (about 1 % of a curve,
    to smooth digitisation steps), leaving out holds and reversal points (rates
    below 5 % of the 95th percentile). With samples evenly spaced in time the
    median is weighted by time: when sweeps run at several rates it is the rate
    the landings spend most time at.

    Parameters
    ----------
    potential, time : array_like
        ``(n_pixel, n_sample)`` or ``(n_sample,)`` (broadcast), V and s,
        NaN-padded.

    Returns
    -------
    rate : float
        V/s; NaN when no sweep is found.
    note : str
        Empty, or says that sweeps ran at several rates (10th-90th percentile).
    """
    E = np.atleast_2d(np.asarray(potential, dtype=np.float64))
    t = np.atleast_2d(np.asarray(time, dtype=np.float64))
    E, t = np.broadcast_arrays(E, t)
    m = E.shape[1]
    k = max(1, m // 100)
    if m <= k:
        return float("nan"), ""
    dE = E[:, k:] - E[:, :-k]
    dt = t[:, k:] - t[:, :-k]
    ok = np.isfinite(dE) & np.isfinite(dt) & (dt > 0)
    r = np.abs(dE[ok]) / dt[ok]
    if r.size == 0 or not np.nanmax(r) > 0:
        return float("nan"), ""
    r = r[r > 0.05 * np.percentile(r, 95)]
    rate = float(np.median(r))
    lo, hi = np.percentile(r, [10, 90])
    note = ""
    if hi > 1.1 * lo:
        note = (f"sweeps at several rates ({lo:.3g} to {hi:.3g} V/s, 10th-90th percentile); "
                "scan_rate is the median over time")
    return rate, note


def set_derived_scan_rate(ds):
    """Put :func:`derived_scan_rate` in ``ds.attrs`` (in place) when absent and time is known."""
    if "scan_rate" in ds.attrs or "time" not in ds:
        return ds
    rate, note = derived_scan_rate(ds["potential"].values, ds["time"].values)
    if np.isfinite(rate):
        ds.attrs["scan_rate"] = rate
        ds.attrs["scan_rate_source"] = SCAN_RATE_RULE
        if note:
            ds.attrs["scan_rate_note"] = note
    return ds


def build_scan(current, potential, x=None, y=None, time=None, **options):
    """The SECCM Dataset of these curves (:func:`nbtools.seccm.dataset.from_arrays`), scan rate derived.

    ``attrs['scan_rate']`` is derived from the potential and time
    (:func:`set_derived_scan_rate`) when neither the caller nor the file gives it.
    """
    from ..seccm.dataset import from_arrays

    return set_derived_scan_rate(from_arrays(current, potential, x, y, time, **options))
