"""SECCM Datasets saved by nbtools (NetCDF-4 / HDF5 through h5netcdf): read back identical (scan kind)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError, FormatError, NbtoolsError, ParameterError, SizeLimitError
from ._common import check_path, reader_boundary
from .limits import address_space, check_budget, human_bytes

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


@reader_boundary("an SECCM Dataset saved by nbtools (NetCDF-4/HDF5)")
def read_netcdf(path):
    """Read a Dataset written by :func:`save` (fully into memory)."""
    import xarray as xr

    from ..seccm.dataset import validate

    path = check_path(path, what="a NetCDF file written by nbtools.seccm.save")
    from .hdf5 import check_datasets, check_global_heaps

    check_global_heaps(path)
    try:  # h5py first: h5netcdf leaves a half-built object behind on a damaged file
        import h5py

        with h5py.File(path, "r") as f:
            missing = [k for k in ("current", "potential") if k not in f]
            total = check_datasets(f, path)  # before xarray decodes (and so reads) variables
    except NbtoolsError:
        raise
    except Exception as exc:
        raise FormatError(f"{path}: not a readable NetCDF-4/HDF5 file ({type(exc).__name__}: {exc})") from None
    if missing:
        raise FormatError(f"{path}: not an nbtools SECCM Dataset: variable(s) {missing} missing")
    try:  # a damaged string length makes HDF5 allocate gigabytes: the address space is bounded meanwhile
        with address_space(int(4 * total) + (512 << 20)), xr.open_dataset(path, engine="h5netcdf") as f:
            ds = f.load()
    except NbtoolsError:
        raise
    except MemoryError:
        raise SizeLimitError(f"{path}: reading the Dataset needed far more memory than its {human_bytes(total)} of "
                             "declared variables; a length inside the file is damaged") from None
    except Exception as exc:
        raise FormatError(f"{path}: not a readable NetCDF-4/HDF5 file ({type(exc).__name__}: {exc})") from None
    try:
        validate(ds, str(path))
    except ParameterError as exc:
        raise FormatError(str(exc)) from None
    for k in ("grid_x", "grid_y", "grid_shape"):  # NetCDF stores 1-element arrays as scalars
        if k in ds.attrs:
            ds.attrs[k] = np.atleast_1d(ds.attrs[k])
    _check_values(ds, path)
    return ds


def _check_values(ds, path) -> None:
    """Values from the file that analyses trust: pixels present, a positive grid holding every landing."""
    if ds.sizes.get("pixel", 0) == 0 or ds.sizes.get("sample", 0) == 0:
        raise DataError(f"{path}: the scan holds {ds.sizes.get('pixel', 0)} pixel(s) of "
                        f"{ds.sizes.get('sample', 0)} sample(s); expected at least one landing with samples")
    if ds["current"].dtype.kind not in "fiu":
        raise FormatError(f"{path}: current is {ds['current'].dtype}; expected real numbers")
    shape = np.asarray(ds.attrs["grid_shape"]).reshape(-1)
    if shape.size != 2 or shape.dtype.kind not in "iu" or (shape <= 0).any():
        raise FormatError(f"{path}: attrs['grid_shape'] is {shape.tolist()}; expected two positive integers (ny, nx)")
    ny, nx = (int(v) for v in shape)
    check_budget(8.0 * ny * nx, path=path, what=f"a {ny} x {nx} scan grid")
    iy, ix = ds["iy"].values, ds["ix"].values
    if iy.dtype.kind not in "iu" or ix.dtype.kind not in "iu" or (iy < 0).any() or (ix < 0).any() \
            or (iy >= ny).any() or (ix >= nx).any():
        raise FormatError(f"{path}: pixel grid indices (iy, ix) fall outside the {ny} x {nx} grid; the file is damaged")
    for k, n in (("grid_y", ny), ("grid_x", nx)):
        if k in ds.attrs and np.asarray(ds.attrs[k]).size != n:
            raise FormatError(f"{path}: attrs[{k!r}] holds {np.asarray(ds.attrs[k]).size} values for {n} grid lines")
