"""Voltammograms from instrument files (curve kind): Gamry DTA, BioLogic EC-Lab ``.mpt``, CH Instruments text.

Each reader returns the curve layout of :func:`nbtools.io.load_curve`: a
DataFrame with ``t`` (s), ``E`` (V), ``i`` (A) and ``attrs`` ``source``,
``format``, ``columns`` (kind -> label as written), ``units``, ``technique``.
The sniffers score 3 when the file names a voltammetry technique (Gamry
``TAG CV``, the EC-Lab technique line ``Cyclic Voltammetry``, the CHI technique
line), so that :func:`nbtools.io.load` reads such files as curves; the trace
readers refuse them with a message pointing here.

CH Instruments voltammetry exports hold potential and current only: time is
rebuilt from the header (``Sample Interval (V)`` / ``Scan Rate (V/s)``).
"""

from __future__ import annotations

import re

import numpy as np

from .. import units as _units
from ..errors import DataError, FormatError
from ._common import file_number
from .biologic import read_mpt_table
from .biologic import sniff as _sniff_mpt
from .chi import _TECHNIQUES, read_header
from .chi import sniff as _sniff_chi
from .curve_csv import MIN_ROWS
from .dta import looks_like_dta, pick_table, scan, table_values
from .sanity import technique_kind
from .table import read_numeric

__all__ = ["read_gamry", "sniff_gamry", "read_biologic", "sniff_biologic", "read_chi", "sniff_chi"]

_TAG = re.compile(r"^TAG[\t ]+(\S+)", re.MULTILINE)


def _frame(t, E, i, *, path, fmt, columns, units, technique):
    import pandas as pd

    df = pd.DataFrame({"t": np.asarray(t, np.float64), "E": np.asarray(E, np.float64),
                       "i": np.asarray(i, np.float64)})
    ok = np.isfinite(df.to_numpy()).all(axis=1)
    if ok.sum() < MIN_ROWS:
        raise DataError(f"{path}: fewer than {MIN_ROWS} rows with time, potential and current")
    if not ok.all():
        df = df[ok].reset_index(drop=True)
    df.attrs.update(source=str(path), format=fmt, columns=columns, units=units, technique=technique)
    return df


# ---------------------------------------------------------------- Gamry
def sniff_gamry(head: bytes, text) -> int:
    """3 for a Gamry DTA file whose TAG names a voltammetry or galvanostatic technique (CHRONOP, PWRGITT)."""
    if not looks_like_dta(text):
        return 0
    m = _TAG.search(text)
    return 3 if m and technique_kind(m.group(1)) in ("voltammetry", "galvanostatic") else 0


def read_gamry(path, *, curve=None):
    """Read a Gamry DTA voltammogram: the ``T`` (s), ``Vf`` (V) and ``Im`` (A) columns of a CURVE table.

    Parameters
    ----------
    curve : str, optional
        Table name; default the longest CURVE table (cycles of a CV are
        ``CURVE1``, ``CURVE2``...: pass ``curve=`` for one).
    """
    dta = scan(path)
    table = pick_table(dta, path, curve)
    picks = {"time": table.column(label="T"), "potential": table.column(label="Vf"),
             "current": table.column(label="Im")}
    for kind in picks:
        if picks[kind] is None:
            picks[kind] = table.column(kind=kind)
    missing = [k for k, v in picks.items() if v is None]
    if missing:
        raise FormatError(f"{path}: table {table.name} has no {' or '.join(missing)} column; columns found: "
                          f"{table.listing()}")
    use = sorted(set(picks.values()))
    block = table_values(path, table, use)
    out, units, columns = {}, {}, {}
    for kind, col in picks.items():
        unit = table.units[col] or {"time": "s", "potential": "V", "current": "A"}[kind]
        units[kind] = unit
        columns[kind] = table.names[col]
        out[kind] = block[:, use.index(col)] * _units.scale(unit, kind, where=f"{path}, column {table.names[col]!r}")
    return _frame(out["time"], out["potential"], out["current"], path=path, fmt="gamry-curve", columns=columns,
                  units=units, technique=dta.tag)


# ---------------------------------------------------------------- BioLogic
def _mpt_technique(text):
    lines = text.splitlines()
    return lines[3].strip() if len(lines) > 3 else None


def sniff_biologic(head: bytes, text) -> int:
    """3 for an EC-Lab ``.mpt`` whose technique line names voltammetry or a galvanostatic technique (GITT, GCPL)."""
    if not _sniff_mpt(head, text):
        return 0
    return 3 if technique_kind(_mpt_technique(text)) in ("voltammetry", "galvanostatic") else 0


def read_biologic(path):
    """Read an EC-Lab/BT-Lab ``.mpt`` curve: ``time/s``, ``Ewe/V`` (or ``Ecell/V``) and ``<I>/mA`` (or ``I/mA``)."""
    names, values, header, technique = read_mpt_table(path)
    kinds = [_units.kind_of(_units.split_label(n)[1] or "") for n in names]
    ti = next((k for k, n in enumerate(names) if n.startswith("time")), None)
    ei = next((k for k, n in enumerate(names) if n.startswith(("Ewe", "<Ewe>"))), None)
    if ei is None:  # BT-Lab cell cyclers record the cell voltage
        ei = next((k for k, n in enumerate(names) if n.startswith(("Ecell", "<Ecell>"))), None)
    ii = next((k for k, n in enumerate(names) if n.startswith(("<I>", "I/"))), None)
    ii = ii if ii is not None else next((k for k, kd in enumerate(kinds) if kd == "current"), None)
    picks = {"time": ti, "potential": ei, "current": ii}
    missing = [k for k, v in picks.items() if v is None]
    if missing:
        raise FormatError(f"{path}: no {' or '.join(missing)} column among {names}")
    out, units, columns = {}, {}, {}
    for kind, col in picks.items():
        unit, factor = _units.label_scale(names[col], kind, where=f"{path}, column {names[col]!r}")
        out[kind], units[kind], columns[kind] = values[:, col] * factor, unit, names[col]
    return _frame(out["time"], out["potential"], out["current"], path=path, fmt="biologic-curve",
                  columns=columns, units=units, technique=technique)


# ---------------------------------------------------------------- CH Instruments
def sniff_chi(head: bytes, text) -> int:
    """3 for a CHI text export whose technique line names voltammetry."""
    if not _sniff_chi(head, text):
        return 0
    top = "\n".join(text.splitlines()[:4])
    m = _TECHNIQUES.search(top)
    return 3 if m and technique_kind(m.group(1)) == "voltammetry" else 0


def _header_value(header, *keys):
    for k in keys:
        if k in header:
            try:
                return float(str(header[k]).split()[0])
            except (ValueError, IndexError):
                return header[k]
    return None


def read_chi(path):
    """Read a CHI voltammetry export (``Potential/V, Current/A``); time from the header.

    The potential steps by ``Sample Interval (V)`` at ``Scan Rate (V/s)``, so
    sample k is at ``k * interval / rate`` seconds (the quiet time before the
    sweep is not in the file).
    """
    header, technique, col_line, names, _ = read_header(path)
    if col_line is None or len(names) < 2:
        raise FormatError(f"{path}: CH Instruments export without a 'Potential/V, Current/A' column line")
    kinds = [_units.kind_of(_units.split_label(n)[1] or "") for n in names]
    if "potential" not in kinds or "current" not in kinds:
        raise FormatError(f"{path}: no potential and current columns with units among {names}")
    ei, ii = kinds.index("potential"), kinds.index("current")
    rate = _header_value(header, "Scan Rate (V/s)")
    step = _header_value(header, "Sample Interval (V)")
    if rate is None or step is None:
        raise FormatError(f"{path}: the header states no 'Scan Rate (V/s)' and 'Sample Interval (V)'; "
                          "the time of each sample cannot be known")
    dt = file_number(step, name="Sample Interval (V)", path=path) / file_number(rate, name="Scan Rate (V/s)",
                                                                                  path=path)
    values = read_numeric(path, skiprows=col_line + 1, sep=",", ncols=len(names))
    eu, ef = _units.label_scale(names[ei], "potential", where=f"{path}, column {names[ei]!r}")
    iu, if_ = _units.label_scale(names[ii], "current", where=f"{path}, column {names[ii]!r}")
    t = np.arange(len(values)) * dt
    return _frame(t, values[:, ei] * ef, values[:, ii] * if_, path=path, fmt="chi-curve",
                  columns={"time": "Sample Interval (V) / Scan Rate (V/s)", "potential": names[ei],
                           "current": names[ii]},
                  units={"time": "s", "potential": eu, "current": iu}, technique=technique)
