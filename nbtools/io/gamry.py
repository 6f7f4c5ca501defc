"""Gamry files: Framework ``.DTA`` (tagged header + TABLE blocks, :mod:`nbtools.io.dta`) and the
two-column XY export of Echem Analyst (``XY`` / ``CURVE (name.DTA)`` then t [s], I [A]).

DTA tables carry a column-name line and a units line (``#  s  V vs. Ref.  A``);
rows start with a tab and may use a decimal comma (European Windows locale).
A table without a time column (VFP600 ``VFPCURVE``: ``Voltage Current`` in
``V A``) takes its rate from the header (``FREQ``: acquisition frequency, Hz;
``SAMPLETIME``: s). The ``TAG`` names the technique: voltammograms (``CV``...)
and impedance spectra (``EISPOT``...) are refused as recordings.
"""

from __future__ import annotations


import numpy as np

from .. import units as _units
from ..errors import ParameterError
from ..trace import Trace
from ._common import new_meta, read_text_lines, trace_from_columns
from .dta import header_rate, looks_like_dta, pick_table, scan, table_values
from .sanity import refuse_technique
from .table import read_numeric

__all__ = ["read", "sniff", "read_xy", "sniff_xy"]

def sniff(head: bytes, text) -> int:
    """2 for Gamry's DTA structure: ``EXPLAIN`` first, or a ``TAG`` line and a ``NAME TABLE`` line."""
    return 2 if looks_like_dta(text) else 0


def sniff_xy(head: bytes, text) -> int:
    if text is None:
        return 0
    lines = [ln.strip() for ln in text.splitlines()[:3]]
    return 2 if len(lines) >= 2 and lines[0] == "XY" and lines[1].startswith("CURVE") else 0


def _current_column(table, channel, path):
    if channel is not None:
        ci = table.column(label=channel)
        if ci is None:
            raise ParameterError(f"{path}: column {channel!r} not in table {table.name}; columns found: "
                                 f"{table.listing()}")
        return ci
    ci = table.column(label="Im")
    if ci is None:
        ci = table.column(kind="current")
    if ci is None:
        raise ParameterError(f"{path}: no current column (unit A) in table {table.name}; columns found: "
                             f"{table.listing()}. Pass channel= and current_unit=")
    return ci


def read(path, *, curve=None, channel=None, current_unit=None, fs=None, resample="auto") -> Trace:
    """Read a Gamry DTA file (:mod:`nbtools.io.dta` structure).

    Parameters
    ----------
    curve : str, optional
        Table name (``'CURVE'``, ``'CURVE1'``, ``'VFPCURVE'``...); default the
        longest table named ``*CURVE*`` holding a current column.
    channel : str, optional
        Current column name (default ``'Im'``, else the first column in A).
    current_unit : str, optional
        Override the unit line.
    fs : float, optional
        Sampling rate (Hz) instead of the time column or the header's
        ``SAMPLETIME``/``FREQ``.
    resample : 'auto', 'index' or float
        Irregular time columns (:mod:`nbtools.io.timebase`).

    Raises
    ------
    FormatError
        The file is a voltammogram or an impedance spectrum (its ``TAG`` or
        columns say so): read voltammograms with :func:`nbtools.io.load_curve`.
    """
    dta = scan(path)
    table = pick_table(dta, path, curve)
    refuse_technique(path, dta.tag, table.names, instrument="Gamry")
    ci = _current_column(table, channel, path)
    ti = table.column(label="T")
    if ti is None:
        ti = table.column(kind="time")
    vi = table.column(label="Vf")
    use = sorted({i for i in (ci, ti, vi) if i is not None})
    block = table_values(path, table, use)
    col = {i: block[:, k] for k, i in enumerate(use)}
    labels = table.names
    cu = current_unit or table.units[ci]
    cscale = _units.scale(cu, "current", where=f"{path}, table {table.name}, column {labels[ci]!r}")
    tu = table.units[ti] if ti is not None else None
    tscale = _units.scale(tu, "time", where=f"{path}, column {labels[ti]!r}") if ti is not None else 1.0
    header = dta.header
    meta = new_meta(
        "gamry-dta",
        instrument=f"Gamry {header.get('PSTAT', '')}".strip(),
        units={"current": cu, "time": tu},
        channel=labels[ci],
        channels=[n for n in labels if n],
        curve=table.name,
        curves=[t.name for t in dta.tables],
        technique=dta.tag,
        header=header,
    )
    if vi is not None and len(block):
        vscale = _units.scale(table.units[vi] or "V", "potential")
        meta["potential"] = float(np.nanmedian(col[vi])) * vscale
        meta["potential_source"] = "median of the Vf column (measured vs. reference)"
    filt = {k: v for k, v in header.items() if "FILTER" in k.upper()}
    meta["filter"] = filt or None
    others = [t.name for t in dta.tables if "CURVE" in t.name.upper() and t.name != table.name and t.rows]
    if others and curve is None:
        meta["warnings"].append(f"file has several curves ({', '.join(t.name for t in dta.tables)}); "
                                f"read {table.name} (pass curve=)")
    if table.declared is not None and table.declared != len(block):
        meta["warnings"].append(f"table {table.name} declares {table.declared} rows, {len(block)} were read "
                                "(the file may be incomplete)")
    time = col[ti] if ti is not None else None
    header_fs, rate_source = (None, None) if time is not None or fs is not None else header_rate(dta, path)
    if header_fs is not None:
        meta["time_source"] = rate_source
    return trace_from_columns(col[ci], path=path, meta=meta, time=time, fs=fs,
                              header_dt=1.0 / header_fs if header_fs else None,
                              current_scale=cscale, time_scale=tscale, column=labels[ci], resample=resample,
                              instrument="potentiostat")


def read_xy(path, *, fs=None, channel=None, resample="auto") -> Trace:
    """Read a Gamry Echem Analyst XY export: two tab-separated columns, t in s and I in A.

    ``channel`` is accepted for symmetry (``'I'`` or 1: the only current column).

    The export has no unit line; Gamry writes SI units, which is what this
    reader takes (``meta['units_source']``).
    """
    if channel not in (None, 1, "I"):
        raise ParameterError(f"{path}: a Gamry XY export has one current column, 'I'; found channel={channel!r}")
    lines = read_text_lines(path, 3)
    curve = lines[1].strip() if len(lines) > 1 else ""
    values = read_numeric(path, skiprows=2, sep="\t", ncols=2)
    meta = new_meta(
        "gamry-xy",
        instrument="Gamry (Echem Analyst XY export)",
        units={"current": "A", "time": "s"},
        units_source="Gamry XY exports are in SI units (no unit line in the file)",
        channel="I",
        channels=["t", "I"],
        header={"curve": curve},
    )
    return trace_from_columns(values[:, 1], path=path, meta=meta, time=values[:, 0], fs=fs, column="I",
                              resample=resample, instrument="potentiostat")
