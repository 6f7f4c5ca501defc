"""SECCM Datasets saved by nbtools (NetCDF-4 / HDF5 through h5netcdf): read back identical (scan kind)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import FormatError, ParameterError
from ._common import check_path

__all__ = ["read_netcdf", "save", "sniff"]

_HDF5 = b"\x89HDF\r\n\x1a\n"


def sniff(head: bytes, text, path=None) -> int:
    """3 for an HDF5 file holding an nbtools SECCM Dataset (``current`` over ``pixel``), else 0."""
    if head[:8] != _HDF5 or path is None:
        return 0
    try:
        import h5py

        with h5py.File(path, "r") as f:
            return 3 if "current" in f and "pixel" in f and "potential" in f else 0
    except Exception:  # a sniffer never fails: the reader will say what is wrong
        return 0


def save(ds, path, *, overwrite=False):
    """Write an SECCM Dataset to NetCDF-4 (h5netcdf); :func:`read_netcdf` reads it back identical.

    Never replaces an existing file unless ``overwrite=True``; writes to a
    ``.part`` file first so that a failed write leaves no half file.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    from ..seccm.dataset import validate

    validate(ds)
    p = Path(path)
    if p.exists() and not overwrite:
        raise ParameterError(f"{p}: file exists; choose another name or pass overwrite=True")
    if not p.parent.exists():
        raise ParameterError(f"{p}: folder {p.parent} does not exist")
    enc = {v: {"zlib": True, "complevel": 1} for v in ("current", "potential", "time") if v in ds}
    tmp = p.with_name(p.name + ".part")
    ds.to_netcdf(tmp, engine="h5netcdf", encoding=enc)
    tmp.replace(p)
    return p


def read_netcdf(path):
    """Read a Dataset written by :func:`save` (fully into memory)."""
    import xarray as xr

    from ..seccm.dataset import validate

    path = check_path(path, what="a NetCDF file written by nbtools.seccm.save")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as f:
            ds = f.load()
    except Exception as exc:
        raise FormatError(f"{path}: not a readable NetCDF-4/HDF5 file ({exc})") from None
    try:
        validate(ds, str(path))
    except ParameterError as exc:
        raise FormatError(str(exc)) from None
    for k in ("grid_x", "grid_y", "grid_shape"):  # NetCDF stores 1-element arrays as scalars
        if k in ds.attrs:
            ds.attrs[k] = np.atleast_1d(ds.attrs[k])
    return ds
