"""Automatic particle/substrate (active/inactive) mask."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import DataError, ParameterError
from .dataset import from_grid, good_pixels, to_grid, validate

__all__ = ["classify", "otsu_threshold"]


def otsu_threshold(values, bins=256):
    """Otsu's threshold of 1-D values (NaN ignored).

    Values are first clipped to their 1st-99th percentiles so a few outliers
    do not squeeze the histogram.
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size < 2:
        raise DataError(f"otsu_threshold: {v.size} finite value(s); at least 2 are needed")
    lo, hi = np.percentile(v, [1, 99])
    if not hi > lo:
        lo, hi = v.min(), v.max()
    if not hi > lo:
        raise DataError("otsu_threshold: all values are equal; there is nothing to separate")
    h, edges = np.histogram(np.clip(v, lo, hi), bins=bins, range=(lo, hi))
    mid = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(h)
    w1 = w0[-1] - w0
    s0 = np.cumsum(h * mid)
    with np.errstate(all="ignore"):
        m0 = s0 / w0
        m1 = (s0[-1] - s0) / w1
        between = w0 * w1 * (m0 - m1) ** 2
    k = int(np.nanargmax(between[:-1]))
    return float(edges[k + 1])


def _remove_small(mask, min_size):
    from scipy import ndimage

    lab, n = ndimage.label(mask, structure=np.ones((3, 3)))
    if n == 0:
        return mask
    sizes = np.bincount(lab.ravel())
    small = sizes < min_size
    small[0] = False
    return mask & ~small[lab]


def classify(
    ds,
    activity=None,
    *,
    window=None,
    branch="anodic",
    threshold=None,
    min_size=2,
    fill_failed=True,
    include_failed=False,
):
    """Particle (active) / substrate (inactive) mask of a scan.

    Parameters
    ----------
    ds : xarray.Dataset
        SECCM Dataset.
    activity : xarray.DataArray, optional
        Map (y, x) to threshold; default the charge of the ``branch`` sweep in
        ``window`` with a linear baseline (:func:`nbtools.seccm.charge`),
        which removes the substrate's capacitive current.
    window : (E1, E2), optional
        Potential window of the redox process (V); default the whole sweep.
    branch : str
        Branch for the default activity map.
    threshold : float, optional
        Threshold in the units of the activity map; default Otsu's threshold
        of the landed pixels.
    min_size : int
        Particles and holes smaller than this many pixels are removed
        (8-connected); skipped on scans of fewer than 25 grid cells.
    fill_failed : bool
        Give pixels left out (failed, no contact...) the majority label of
        their usable neighbours; otherwise they are False.
    include_failed : bool
        Use every pixel with data for the threshold, whatever its status.

    Returns
    -------
    xarray.DataArray
        Boolean map (y, x) named ``particle``; attrs: ``threshold``,
        ``activity`` (long name), ``n_used`` pixels.
    """
    validate(ds)
    if activity is None:
        from .maps import charge

        activity = charge(ds, window, branch=branch)
    if not isinstance(activity, xr.DataArray) or not {"y", "x"} <= set(activity.dims):
        raise ParameterError("activity: expected a map DataArray with dims ('y', 'x') from nbtools.seccm maps")
    vals = from_grid(activity, ds).values
    use = good_pixels(ds, include_failed).values & np.isfinite(vals)
    if use.sum() < 2:
        raise DataError(
            f"classify: only {int(use.sum())} usable pixel(s) (status 'landed' with a finite activity); "
            "check the quality labels or pass include_failed=True"
        )
    thr = otsu_threshold(vals[use]) if threshold is None else float(threshold)
    lab = np.where(use, vals > thr, False)
    grid_lab = to_grid(xr.DataArray(lab, dims="pixel", coords={"ix": ds.ix, "iy": ds.iy}), ds).values
    grid_use = to_grid(xr.DataArray(use, dims="pixel", coords={"ix": ds.ix, "iy": ds.iy}), ds).values
    if fill_failed and (~grid_use).any():
        from scipy import ndimage

        k = np.ones((3, 3))
        pos = ndimage.convolve((grid_lab & grid_use).astype(float), k, mode="constant")
        tot = ndimage.convolve(grid_use.astype(float), k, mode="constant")
        fill = ~grid_use & (tot > 0) & (pos > tot / 2)
        grid_lab = grid_lab | fill
    if min_size > 1 and grid_lab.size >= 25:  # no morphology on tiny scans
        grid_lab = _remove_small(grid_lab, min_size)
        grid_lab = ~_remove_small(~grid_lab, min_size)
    out = xr.DataArray(
        grid_lab,
        dims=("y", "x"),
        coords={k: activity.coords[k] for k in ("y", "x") if k in activity.coords},
        name="particle",
        attrs={
            "threshold": thr,
            "threshold_units": str(activity.attrs.get("units", "")),
            "activity": str(activity.attrs.get("long_name", activity.name)),
            "n_used": int(use.sum()),
            "long_name": "particle (active) mask",
        },
    )
    return out
