"""The SECCM Dataset layout: validation, usable pixels, grid placement, the scan's potential window.

See :mod:`nbtools.seccm` for the layout. This module imports nothing else
from :mod:`nbtools.seccm`: every analysis module builds on it.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import ParameterError
from ..recipes import check_window

__all__ = [
    "STATUS_VALUES",
    "validate",
    "good_pixels",
    "pixel_arrays",
    "to_grid",
    "from_grid",
    "pixel_map",
    "potential_range",
    "check_scan_window",
    "format_si",
]

#: Landing-quality labels stored in ``ds.status`` (see :func:`nbtools.seccm.quality`).
STATUS_VALUES = ("landed", "failed_landing", "no_contact", "saturated", "noisy", "empty")


def validate(ds, name="ds"):
    """Check that ``ds`` has the SECCM layout; raise ParameterError if not."""
    if not isinstance(ds, xr.Dataset):
        raise ParameterError(f"{name}: expected an xarray.Dataset from nbtools.seccm.load/from_arrays, "
                             f"found {type(ds).__name__}")
    missing = [v for v in ("current", "potential", "status", "ix", "iy") if v not in ds.variables]
    if missing or "grid_shape" not in ds.attrs:
        raise ParameterError(
            f"{name}: not an nbtools SECCM Dataset (missing {missing or ['attrs.grid_shape']}); "
            "build it with nbtools.seccm.from_arrays or nbtools.seccm.load"
        )
    if ds.current.dims != ("pixel", "sample"):
        raise ParameterError(f"{name}.current has dims {ds.current.dims}; expected ('pixel', 'sample')")
    return ds


def good_pixels(ds, include_failed=False):
    """Boolean DataArray (pixel): pixels used in statistics.

    ``include_failed=False`` keeps only ``status == 'landed'``; True keeps every
    pixel with data (not ``'empty'``).
    """
    if include_failed:
        return ds.status != "empty"
    return ds.status == "landed"


def pixel_arrays(ds, *names):
    """NumPy arrays of the named curve variables broadcast to (pixel, sample)."""
    shape = ds.current.shape
    out = []
    for nm in names:
        if nm not in ds:
            raise ParameterError(
                f"the Dataset has no {nm!r} variable; "
                + ("give time=, dt= or scan_rate= when building it" if nm == "time" else "")
            )
        out.append(np.broadcast_to(ds[nm].values, shape))
    return out if len(out) > 1 else out[0]


def _grid_coords(ds):
    gy = np.asarray(ds.attrs["grid_y"], dtype=np.float64).reshape(-1)
    gx = np.asarray(ds.attrs["grid_x"], dtype=np.float64).reshape(-1)
    return {
        "y": ("y", gy, {"units": "m", "long_name": "y position"}),
        "x": ("x", gx, {"units": "m", "long_name": "x position"}),
    }


def to_grid(da, ds=None, *, fill=None, name=None):
    """Place a per-pixel DataArray on the scan grid.

    Parameters
    ----------
    da : xarray.DataArray
        Dims ``('pixel', ...)`` with coords ``ix``, ``iy`` (any variable of an
        SECCM Dataset or a per-pixel result).
    ds : xarray.Dataset, optional
        The SECCM Dataset the pixels come from (for the grid); default: taken
        from ``da.attrs``/coords when ``da`` is a variable of ``ds``.
    fill : scalar, optional
        Value of grid cells without a landing: NaN for numbers, False for
        booleans, '' for strings.

    Returns
    -------
    xarray.DataArray
        Dims ``('y', 'x', ...)`` with coords ``x``, ``y`` in metres; attrs kept.
    """
    if "pixel" not in da.dims:
        raise ParameterError(f"to_grid: expected a DataArray with a 'pixel' dimension, found dims {da.dims}")
    src = ds if ds is not None else da
    if "grid_x" not in src.attrs:
        raise ParameterError(
            "to_grid: grid unknown; give the SECCM Dataset as second argument, to_grid(da, ds)"
        )
    coords = _grid_coords(src)
    ny, nx = len(coords["y"][1]), len(coords["x"][1])
    if "ix" in da.coords and "iy" in da.coords:
        iy, ix = da["iy"].values, da["ix"].values
    elif ds is not None:
        sub = ds[["ix", "iy"]].sel(pixel=da["pixel"]) if "pixel" in da.coords else ds
        iy, ix = sub["iy"].values, sub["ix"].values
    else:
        raise ParameterError("to_grid: da has no ix/iy coords; give the SECCM Dataset, to_grid(da, ds)")
    da = da.transpose("pixel", ...)
    v = da.values
    if fill is None:
        fill = False if v.dtype.kind == "b" else ("" if v.dtype.kind in "US" else np.nan)
    dtype = v.dtype if (v.dtype.kind in "bUSf" or fill is not np.nan) else np.float64
    if v.dtype.kind in "iu" and isinstance(fill, float) and np.isnan(fill):
        dtype = np.float64
    out = np.full((ny, nx) + v.shape[1:], fill, dtype=dtype)
    out[iy, ix] = v
    rest = da.dims[1:]
    extra = {k: c for k, c in da.coords.items() if set(c.dims) <= set(rest) and k not in ("x", "y")}
    res = xr.DataArray(out, dims=("y", "x") + rest, coords={**coords, **extra}, attrs=dict(da.attrs),
                       name=name or da.name)
    return res


def from_grid(map2d, ds):
    """Values of a (y, x) map at the pixels of ``ds``: DataArray (pixel)."""
    if not {"y", "x"} <= set(map2d.dims):
        raise ParameterError(f"from_grid: expected a map with dims ('y', 'x'), found {map2d.dims}")
    v = map2d.transpose("y", "x", ...).values[ds.iy.values, ds.ix.values]
    return xr.DataArray(v, dims=("pixel",) + map2d.dims[2:], coords={"pixel": ds.pixel, "x": ds.x, "y": ds.y,
                        "ix": ds.ix, "iy": ds.iy}, attrs=dict(map2d.attrs), name=map2d.name)


def pixel_map(values, ds, name, attrs):
    """A per-pixel NumPy vector of ``ds`` as a map (y, x) DataArray named ``name`` with ``attrs``."""
    da = xr.DataArray(values, dims=("pixel",), coords={"pixel": ds.pixel, "ix": ds.ix, "iy": ds.iy}, name=name,
                      attrs=attrs)
    return to_grid(da, ds).drop_vars(["ix", "iy", "pixel"], errors="ignore")


def potential_range(ds):
    """(min, max) of the scan's potentials in V, NaN-safe."""
    e = np.asarray(ds["potential"].values, dtype=float)
    return float(np.nanmin(e)), float(np.nanmax(e))


def check_scan_window(ds, window, name="window"):
    """The one check of a potential window on a scan: ``(low, high)`` in V that overlaps the scan's potentials.

    The form (two finite numbers, low < high, either order) is
    :func:`nbtools.recipes.check_window`; the error for a window that misses
    the data names the scan's potential range. None passes (whole sweep).
    """
    win = check_window(name, window, unit="V")
    if win is None:
        return None
    lo, hi = potential_range(ds)
    if win[1] <= lo or win[0] >= hi:
        raise ParameterError(
            f"{name}=({win[0]:g}, {win[1]:g}) V does not overlap the scan's potentials ({lo:g} to {hi:g} V); "
            "choose a window inside that range (same reference electrode as the data)")
    return win


_PREFIXES = ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"),
             (1e-15, "f"), (1e-18, "a"))


def format_si(value, unit, digits=3):
    """``value`` (SI) with a prefix and ``digits`` significant digits: ``format_si(3.1e-13, 'A') == '0.31 pA'``.

    The prefix puts the value between 0.1 and 100 (so 0.31 pA, not 310 fA).
    """
    v = float(value)
    if v == 0 or not np.isfinite(v):
        return f"{v:g} {unit}"
    for factor, prefix in _PREFIXES:
        if abs(v) >= 0.1 * factor:
            return f"{v / factor:.{digits}g} {prefix}{unit}"
    return f"{v:.{digits}g} {unit}"
