"""SECCM scans in text files -> the nbtools.seccm Dataset (scan kind).

Two layouts, both read by :func:`nbtools.io.table.read_table` with units from
the column labels (:mod:`nbtools.units`; A and V when a label states none):

- a *column file* (:func:`read_columns`): one potential column and one current
  column per landing, landings in acquisition order on a ``grid=(ny, nx)``;
- a *folder of per-landing files* (:func:`read_folder`): each file holds
  potential and current (and optionally time) columns, its name gives the
  landing's position (``x10_y20.csv``, ``X=10.5um_Y=3um.txt``).
"""

from __future__ import annotations

import re

import numpy as np

from .. import units as _units
from ..errors import DataError, FormatError, ParameterError
from ._common import check_path, reader_boundary
from .scan import build_scan
from .table import column_index, column_kinds, head_table, read_table

__all__ = ["read_columns", "read_folder", "sniff_columns", "sniff_folder", "TEXT_EXTENSIONS"]

#: Extensions of the per-landing files a folder scan reads.
TEXT_EXTENSIONS = (".csv", ".txt", ".tsv", ".dat")

_XY = re.compile(
    r"x(?:[\s_-]*pos(?:ition)?)?[\s_=-]*(?P<x>[-+]?\d+(?:[.p]\d+)?)\s*(?P<ux>um|µm|nm|mm)?"
    r"[\s_,;-]*y(?:[\s_-]*pos(?:ition)?)?[\s_=-]*(?P<y>[-+]?\d+(?:[.p]\d+)?)\s*(?P<uy>um|µm|nm|mm)?",
    re.I,
)


def sniff_columns(head: bytes, text) -> int:
    """2 for a plain table whose header names one potential and mostly current columns (>= 2)."""
    found = head_table(text)
    if not found or found[0] is None or found[1]:
        return 0
    kinds = column_kinds(found[0])
    n_current = kinds.count("current")
    return 2 if kinds.count("potential") == 1 and n_current >= 2 and n_current > len(kinds) - n_current else 0


def sniff_folder(head: bytes, text, path=None) -> int:
    """2 for a folder holding text files whose names give an x and y position."""
    if path is None or not path.is_dir():
        return 0
    return 2 if any(_XY.search(p.stem) for p in path.iterdir() if p.suffix.lower() in TEXT_EXTENSIONS) else 0


def _numbers(path):
    """The file's table; DataError naming the file when no row holds two numbers."""
    table = read_table(path)
    if not (np.isfinite(table.values).sum(axis=1) >= 2).any():
        raise DataError(
            f"{path}: no numeric rows with two or more numbers (columns found: {table.names}); "
            "expected a potential column and current columns"
        )
    return table


def _column(table, index, kind, unit, default, where):
    """Values of one column in SI and the unit found (``unit`` given by the user wins)."""
    name = table.names[index]
    u, factor = _units.label_scale(name, kind, default=default, override=unit, where=f"{where}, column {name!r}")
    return table.values[:, index] * factor, u


@reader_boundary("an SECCM column file (a potential column and one current column per landing)")
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
        Delimited text (comma, tab, semicolon or spaces; decimal point or
        comma), optional header.
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
        Column index or label (or the start of its name) of the potential.
    time_column : int or str, optional
        Column of the time (s); otherwise ``dt`` or ``scan_rate``. With a
        time (column or ``dt``) and no ``scan_rate``, ``attrs['scan_rate']``
        is derived from the potential and time
        (:func:`nbtools.io.scan.derived_scan_rate`, noted in
        ``attrs['scan_rate_source']``).
    current_unit, potential_unit : str, optional
        Units when the header does not say (default A and V).
    reference_electrode : str
        Stored in attrs.
    """
    path = check_path(path, what="a text table (.csv/.txt) of potential and current columns")
    table = _numbers(path)
    if grid is None:
        raise ParameterError(
            f"{path}: a columns file does not say where each landing is; give grid=(ny, nx) "
            "(and serpentine=True/False, pitch=metres)"
        )
    names, ncol = table.names, table.values.shape[1]
    ip = column_index(potential_column, names, path=path, what="potential_column")
    it = column_index(time_column, names, path=path, what="time_column") if time_column is not None else None
    cols = [i for i in range(ncol) if i not in (ip, it)]
    if not cols:
        raise FormatError(f"{path}: no current column (columns: {names})")
    E, u_v = _column(table, ip, "potential", potential_unit, "V", path)
    if not np.isfinite(E).any():
        raise DataError(f"{path}: the potential column {names[ip]!r} holds no number")
    u_i, s_i = _units.label_scale(names[cols[0]], "current", default="A", override=current_unit,
                                  where=f"{path}, column {names[cols[0]]!r}")
    t = _column(table, it, "time", None, "s", path)[0] if it is not None else None
    return build_scan(
        table.values[:, cols].T * s_i, E, time=t, dt=dt, scan_rate=scan_rate, grid=grid, serpentine=serpentine,
        fast_axis=fast_axis, pitch=pitch, source=str(path), reference_electrode=reference_electrode,
        units_found={"current": u_i, "potential": u_v}, label=label,
    )


def _position(stem, position_unit, name):
    """(x, y) in metres from a file name, None when the name gives none."""
    m = _XY.search(stem)
    if not m:
        return None
    out = []
    for axis in ("x", "y"):
        unit = m.group("u" + axis) or position_unit
        factor = _units.scale(unit, "length", where=f"{name}, {axis} position")
        out.append(float(m.group(axis).replace("p", ".")) * factor)
    return out, m.group("ux") or position_unit


@reader_boundary("a folder of SECCM per-landing text files")
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
    folder = check_path(path, what="a folder of per-landing .csv/.txt files", folder=True)
    files = sorted(p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in TEXT_EXTENSIONS)
    if not files:
        raise FormatError(f"{folder}: no .csv/.txt/.tsv/.dat file matching {pattern!r}")
    found = [(f, _position(f.stem, position_unit, f.name)) for f in files]
    bad = [f.name for f, pos in found if pos is None]
    if bad and len(bad) == len(files):
        raise FormatError(
            f"{folder}: no file name gives a position (expected names like 'x10_y20.csv'); found e.g. {bad[:3]}"
        )
    if bad:
        raise FormatError(f"{folder}: {len(bad)} file name(s) without x/y position, e.g. {bad[:3]}; "
                          "rename them or pass pattern= to select the landing files")
    xs, ys, curs, pots, tims = [], [], [], [], []
    units = {}
    for f, ((x, y), ux) in found:
        table = _numbers(f)
        ip = column_index(potential_column, table.names, path=f, what="potential_column")
        ii = column_index(current_column, table.names, path=f, what="current_column")
        E, u_v = _column(table, ip, "potential", potential_unit, "V", f.name)
        I, u_i = _column(table, ii, "current", current_unit, "A", f.name)
        xs.append(x)
        ys.append(y)
        pots.append(E)
        curs.append(I)
        units = {"current": u_i, "potential": u_v, "position": ux}
        if time_column is not None:
            itc = column_index(time_column, table.names, path=f, what="time_column")
            tims.append(_column(table, itc, "time", None, "s", f.name)[0])
    return build_scan(
        curs, pots, np.array(xs), np.array(ys), time=tims or None, dt=dt, scan_rate=scan_rate,
        source=str(folder), reference_electrode=reference_electrode, units_found=units, label=label,
    )
