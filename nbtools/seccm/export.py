"""Writing pixel groups of an SECCM scan: masks (NetCDF, CSV) and mean curves (CSV), never overwriting."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import DataError, ParameterError
from .layout import to_grid
from .stats import curve_stats, pixel_mask

__all__ = ["export_groups", "free_path", "safe_name"]


def free_path(path: Path) -> Path:
    """``path`` or, if it exists, ``stem_2.ext``, ``stem_3.ext`` ...: never overwrite."""
    if not path.exists():
        return path
    k = 2
    while True:
        p = path.with_name(f"{path.stem}_{k}{path.suffix}")
        if not p.exists():
            return p
        k += 1


def safe_name(name):
    """``name`` as a file-name part: runs of non-word characters become ``_``."""
    return re.sub(r"\W+", "_", str(name)).strip("_") or "group"


def export_groups(ds, groups, folder, *, prefix="seccm", include_failed=False, formats=("nc", "csv")):
    """Write group masks and mean curves of an SECCM scan into a folder.

    Parameters
    ----------
    ds : xarray.Dataset
        SECCM Dataset.
    groups : dict
        Group name -> boolean mask per pixel (array (pixel,)) or map (y, x).
    folder : str or pathlib.Path
        Existing folder. Files are never overwritten: an existing name gets a
        suffix ``_2``, ``_3`` ...
    prefix : str
        Start of the file names.
    include_failed : bool
        Use pixels whose status is not 'landed' in the mean curves.
    formats : sequence of {'nc', 'csv'}
        Masks as NetCDF (one int8 map per group) and/or CSV (one row per
        pixel). The mean curves are always written as CSV.

    Returns
    -------
    list of pathlib.Path
        The files written: masks (.nc, .csv) and ``<prefix>_mean_curves.csv``
        (potential, and per group mean current, 95 % CI and n).
    """
    folder = Path(folder).expanduser()
    if not str(folder).strip() or not folder.is_dir():
        raise ParameterError(f"export folder {str(folder)!r} does not exist; create it or choose another one")
    bad = set(formats) - {"nc", "csv"}
    if bad:
        raise ParameterError(f"formats={formats!r}: expected 'nc' and/or 'csv'")
    masks = {name: pixel_mask(ds, m) for name, m in groups.items()}
    if not masks:
        raise DataError("no groups to export: add pixels to a group first")
    prefix = safe_name(prefix)
    written = []
    if "nc" in formats:
        data = {}
        for name, m in masks.items():
            da = to_grid(xr.DataArray(m.astype(np.int8), dims="pixel", coords={"ix": ds.ix, "iy": ds.iy}), ds,
                         fill=0)
            data[safe_name(name)] = da.assign_attrs(group=str(name), long_name=f"pixel in group {name!r} (1/0)")
        out = xr.Dataset(data, attrs={"source": str(ds.attrs.get("source", "")),
                                      "created_by": "nbtools.seccm.export_groups"})
        p = free_path(folder / f"{prefix}_groups.nc")
        out.to_netcdf(p, engine="h5netcdf")
        written.append(p)
    if "csv" in formats:
        df = pd.DataFrame({"pixel": ds.pixel.values, "ix": ds.ix.values, "iy": ds.iy.values,
                           "x_m": ds.x.values, "y_m": ds.y.values, "status": ds.status.values})
        for name, m in masks.items():
            df[str(name)] = m.astype(int)
        p = free_path(folder / f"{prefix}_groups.csv")
        df.to_csv(p, index=False)
        written.append(p)
    good = (ds.status.values != "empty") if include_failed else (ds.status.values == "landed")
    cur = np.asarray(ds.current.values)
    pot = np.asarray(ds.potential.values)
    cols = {}
    for name, m in masks.items():
        rows = np.flatnonzero(m & good)
        if rows.size == 0:
            continue
        st = curve_stats(cur, rows)
        if "potential_V" not in cols:
            cols["potential_V"] = pot if pot.ndim == 1 else curve_stats(pot, rows)["mean"]
        cols[f"{name} mean_A"] = st["mean"]
        cols[f"{name} ci_low_A"] = st["low"]
        cols[f"{name} ci_high_A"] = st["high"]
        cols[f"{name} n"] = st["n"]
    if cols:
        p = free_path(folder / f"{prefix}_mean_curves.csv")
        pd.DataFrame(cols).to_csv(p, index_label="sample")
        written.append(p)
    return written
