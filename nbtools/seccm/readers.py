"""Opening SECCM scans: dispatch by file type, text formats, NetCDF round trip."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from ..errors import DataError, FormatError, MissingFileError, ParameterError
from ._text import read_table, scale, unit_in
from .wecspm_tdms import read_wecspm_tdms, set_derived_scan_rate

__all__ = ["load", "save", "read_columns", "read_folder", "read_netcdf", "read_wecspm_tdms"]

_TEXT = (".csv", ".txt", ".tsv", ".dat")


def _existing(path, what="an SECCM file (.tdms, .csv/.txt, .nc) or a folder of per-landing files"):
    """Path of something that exists, else MissingFileError naming it (as :func:`nbtools.io.load_trace`)."""
    try:
        p = Path(os.fspath(path)).expanduser()
    except TypeError:
        raise ParameterError(f"path must be a file or folder path (str or Path), found {type(path).__name__}") from None
    if not p.exists():
        raise MissingFileError(f"{p}: no such file or folder; expected {what} (check the name and folder)")
    return p


def _numeric_table(path):
    """(names, array) of a text table; FormatError naming the file when it holds no numeric rows."""
    try:
        names, arr = read_table(path)
    except FormatError as exc:
        raise FormatError(
            f"{path}: found no numeric rows: expected a text table of numbers (a potential column and current "
            f"columns, optional header) ({exc})"
        ) from None
    if not (np.isfinite(arr).sum(axis=1) >= 2).any():
        raise FormatError(
            f"{path}: found no numeric rows: no line holds two or more numbers (columns found: {names}); "
            "expected a potential column and current columns"
        )
    return names, arr


def load(path, **options):
    """Open an SECCM scan as an :mod:`nbtools.seccm` Dataset.

    Dispatch on the path:

    - ``.tdms``: WEC-SPM LabVIEW recording (:func:`read_wecspm_tdms`),
    - a folder: one CSV/TXT file per landing with x, y in the file names
      (:func:`read_folder`),
    - ``.csv``/``.txt``/``.tsv``/``.dat``: a potential column and one current
      column per landing, with ``grid=(ny, nx)`` (:func:`read_columns`),
    - ``.nc``/``.h5``/``.nc4``: a Dataset written by :func:`save`.

    Options are passed to the reader.

    Raises
    ------
    MissingFileError
        The path does not exist (as :func:`nbtools.io.load_trace`).
    FormatError
        Unknown extension, or content the reader cannot parse (a text file
        with no numeric rows...).
    """
    p = _existing(path)
    if p.is_dir():
        return read_folder(p, **options)
    ext = p.suffix.lower()
    if ext == ".tdms":
        return read_wecspm_tdms(p, **options)
    if ext in (".nc", ".h5", ".nc4", ".hdf5", ".netcdf"):
        return read_netcdf(p, **options)
    if ext in _TEXT:
        return read_columns(p, **options)
    raise FormatError(
        f"{p}: unknown SECCM file type {ext!r}; expected .tdms (WEC-SPM), .csv/.txt (columns), "
        ".nc/.h5 (nbtools) or a folder of per-landing files"
    )


def save(ds, path, *, overwrite=False):
    """Write an SECCM Dataset to NetCDF-4 (h5netcdf); :func:`load` reads it back identical.

    Never replaces an existing file unless ``overwrite=True``.
    """
    from .dataset import validate

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

    path = _existing(path, "a NetCDF file written by nbtools.seccm.save")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as f:
            ds = f.load()
    except Exception as exc:
        raise FormatError(f"{path}: not a readable NetCDF-4/HDF5 file ({exc})") from None
    from .dataset import validate

    try:
        validate(ds, str(path))
    except ParameterError as exc:
        raise FormatError(str(exc)) from None
    for k in ("grid_x", "grid_y", "grid_shape"):  # NetCDF stores 1-element arrays as scalars
        if k in ds.attrs:
            ds.attrs[k] = np.atleast_1d(ds.attrs[k])
    return ds


def _pick(names, wanted, what, arr_cols):
    if isinstance(wanted, (int, np.integer)):
        if not -arr_cols <= wanted < arr_cols:
            raise ParameterError(f"{what}={wanted}: the file has {arr_cols} columns")
        return int(wanted) % arr_cols
    for i, nm in enumerate(names):
        if nm.lower().startswith(str(wanted).lower()):
            return i
    raise ParameterError(f"{what}={wanted!r}: no such column; columns found: {names}")


def read_columns(
    path,
    *,
    grid=None,
    serpentine=True,
    fast_axis="x",
    pitch=None,
    potential_column=0,
    time_column=None,
    current_unit=None,
    potential_unit=None,
    dt=None,
    scan_rate=None,
    reference_electrode="unknown",
    label=True,
):
    """Read a table with a potential column and one current column per landing.

    Parameters
    ----------
    path : str or Path
        Delimited text (comma, tab, semicolon or spaces), optional header.
    grid : (ny, nx)
        Required: the scan grid; ny * nx must equal the number of current
        columns. Landings are in acquisition order.
    serpentine : bool
        Every other row was scanned backwards (default True, usual for SECCM).
    fast_axis : {'x', 'y'}
        Axis scanned first.
    pitch : float or (dy, dx), optional
        Spacing of landings in metres (default 1e-6 m, flagged in attrs).
    potential_column : int or str
        Column index or header prefix of the potential.
    time_column : int or str, optional
        Column of the time (s); otherwise ``dt`` or ``scan_rate``. With a
        time (column or ``dt``) and no ``scan_rate``, ``attrs['scan_rate']``
        is derived from the potential and time
        (:func:`nbtools.seccm.wecspm_tdms.derived_scan_rate`, noted in
        ``attrs['scan_rate_source']``).
    current_unit, potential_unit : str, optional
        Units when the header does not say (default A and V).
    reference_electrode : str
        Stored in attrs.
    """
    path = _existing(path, "a text table (.csv/.txt) of potential and current columns")
    names, arr = _numeric_table(path)
    if grid is None:
        raise ParameterError(
            f"{path}: a columns file does not say where each landing is; give grid=(ny, nx) "
            "(and serpentine=True/False, pitch=metres)"
        )
    ncol = arr.shape[1]
    ip = _pick(names, potential_column, "potential_column", ncol)
    it = _pick(names, time_column, "time_column", ncol) if time_column is not None else None
    cols = [i for i in range(ncol) if i not in (ip, it)]
    if not cols:
        raise FormatError(f"{path}: no current column (columns: {names})")
    u_v = potential_unit or unit_in(names[ip], "V")
    u_i = current_unit or unit_in(names[cols[0]], "A")
    E = arr[:, ip] * scale(u_v, f"{path} potential")
    if not np.isfinite(E).any():
        raise DataError(f"{path}: the potential column {names[ip]!r} holds no number")
    I = arr[:, cols].T * scale(u_i, f"{path} current")
    t = None
    if it is not None:
        t = arr[:, it] * scale(unit_in(names[it], "s"), f"{path} time")
    from .dataset import from_arrays

    ds = from_arrays(
        I,
        E,
        time=t,
        dt=dt,
        scan_rate=scan_rate,
        grid=grid,
        serpentine=serpentine,
        fast_axis=fast_axis,
        pitch=pitch,
        source=str(path),
        reference_electrode=reference_electrode,
        units_found={"current": u_i, "potential": u_v},
        label=label,
    )
    return set_derived_scan_rate(ds)


_XY = re.compile(
    r"x(?:[\s_-]*pos(?:ition)?)?[\s_=-]*(?P<x>[-+]?\d+(?:[.p]\d+)?)\s*(?P<ux>um|µm|nm|mm)?"
    r"[\s_,;-]*y(?:[\s_-]*pos(?:ition)?)?[\s_=-]*(?P<y>[-+]?\d+(?:[.p]\d+)?)\s*(?P<uy>um|µm|nm|mm)?",
    re.I,
)


def read_folder(
    path,
    *,
    pattern="*",
    position_unit="um",
    potential_column=0,
    current_column=1,
    time_column=None,
    current_unit=None,
    potential_unit=None,
    dt=None,
    scan_rate=None,
    reference_electrode="unknown",
    label=True,
):
    """Read a folder of per-landing text files with x and y in their names.

    File names such as ``x10_y20.csv``, ``X=10.5um_Y=3um.txt`` or
    ``pixel x012 y003.dat`` give the position; the unit written after the
    number wins over ``position_unit`` (default micrometres). Each file holds
    columns potential, current (and optionally time), with an optional header
    whose units (``E (mV)``, ``I/nA``) are honoured. With a time (``time_column``
    or ``dt``) and no ``scan_rate``, ``attrs['scan_rate']`` is derived from the
    potential and time as in :func:`read_columns`.
    """
    folder = _existing(path, "a folder of per-landing .csv/.txt files")
    if not folder.is_dir():
        raise ParameterError(f"{folder}: is a file; read_folder expects a folder of per-landing files "
                             "(use nbtools.seccm.load for single files)")
    files = sorted(p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in _TEXT)
    if not files:
        raise FormatError(f"{folder}: no .csv/.txt/.tsv/.dat file matching {pattern!r}")
    xs, ys, curs, pots, tims, bad = [], [], [], [], [], []
    units = {}
    for f in files:
        m = _XY.search(f.stem)
        if not m:
            bad.append(f.name)
            continue
        ux = m.group("ux") or position_unit
        uy = m.group("uy") or position_unit
        xs.append(float(m.group("x").replace("p", ".")) * scale(ux, f"{f.name} x"))
        ys.append(float(m.group("y").replace("p", ".")) * scale(uy, f"{f.name} y"))
        names, arr = _numeric_table(f)
        ncol = arr.shape[1]
        ip = _pick(names, potential_column, "potential_column", ncol)
        ii = _pick(names, current_column, "current_column", ncol)
        u_v = potential_unit or unit_in(names[ip], "V")
        u_i = current_unit or unit_in(names[ii], "A")
        units = {"current": u_i, "potential": u_v, "position": ux}
        pots.append(arr[:, ip] * scale(u_v, f"{f.name} potential"))
        curs.append(arr[:, ii] * scale(u_i, f"{f.name} current"))
        if time_column is not None:
            itc = _pick(names, time_column, "time_column", ncol)
            tims.append(arr[:, itc] * scale(unit_in(names[itc], "s"), f"{f.name} time"))
    if bad and not xs:
        raise FormatError(
            f"{folder}: no file name gives a position (expected names like 'x10_y20.csv'); found e.g. {bad[:3]}"
        )
    if bad:
        raise FormatError(f"{folder}: {len(bad)} file name(s) without x/y position, e.g. {bad[:3]}; "
                          "rename them or pass pattern= to select the landing files")
    from .dataset import from_arrays

    ds = from_arrays(
        curs,
        pots,
        np.array(xs),
        np.array(ys),
        time=tims or None,
        dt=dt,
        scan_rate=scan_rate,
        source=str(folder),
        reference_electrode=reference_electrode,
        units_found=units,
        label=label,
    )
    return set_derived_scan_rate(ds)
