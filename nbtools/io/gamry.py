"""Gamry files: Framework ``.DTA`` (tagged header + ``CURVE`` TABLE blocks) and the
two-column XY export of Echem Analyst (``XY`` / ``CURVE (name.DTA)`` then t [s], I [A]).

DTA tables carry a column-name line and a units line (``#  s  V vs. Ref.  A``);
rows start with a tab and may use a decimal comma (European Windows locale).
"""

from __future__ import annotations

import re

import numpy as np

from .. import units as _units
from ..errors import FormatError, ParameterError
from ..trace import Trace
from ._common import new_meta, read_text_lines, trace_from_columns
from .table import read_numeric

__all__ = ["read", "sniff", "read_xy", "sniff_xy"]

_TABLE = re.compile(r"^(?P<name>[A-Z][A-Z0-9_]*)\tTABLE(\t(?P<n>\d+))?", re.ASCII)


def sniff(head: bytes, text) -> int:
    if text is None:
        return 0
    first = text.lstrip().split("\n", 1)[0].strip()
    return 2 if first == "EXPLAIN" or ("\tTABLE\t" in text and "\nTAG\t" in text) else 0


def sniff_xy(head: bytes, text) -> int:
    if text is None:
        return 0
    lines = [ln.strip() for ln in text.splitlines()[:3]]
    return 2 if len(lines) >= 2 and lines[0] == "XY" and lines[1].startswith("CURVE") else 0


def _scan(path):
    """Header key -> value, and the TABLE blocks as (name, line, rows found, rows declared)."""
    header, tables = {}, []
    rows = 0
    with open(path, "rb") as fh:
        for i, raw in enumerate(fh):
            if raw[:1] == b"\t":
                rows += 1
                continue
            if tables and tables[-1][2] is None:
                tables[-1][2] = max(rows - 2, 0)  # minus the names and units lines
            line = raw.decode("latin-1").rstrip("\r\n")
            m = _TABLE.match(line)
            if m:
                tables.append([m.group("name"), i, None, int(m.group("n")) if m.group("n") else None])
                rows = 0
                continue
            parts = line.split("\t")
            if len(parts) >= 3 and parts[0]:
                header[parts[0]] = parts[2]
    if tables and tables[-1][2] is None:
        tables[-1][2] = max(rows - 2, 0)
    return header, [tuple(t) for t in tables]


def _num(text):
    try:
        return float(str(text).replace(",", "."))
    except (TypeError, ValueError):
        return None


def read(path, *, curve=None, channel=None, current_unit=None, fs=None) -> Trace:
    """Read a Gamry DTA file.

    Parameters
    ----------
    curve : str, optional
        Table name (``'CURVE'``, ``'CURVE1'``...); default the longest CURVE table.
    channel : str, optional
        Current column name (default ``'Im'``, else the first column in A).
    current_unit : str, optional
        Override the unit line.
    fs : float, optional
        Sampling rate (Hz) instead of the time column.
    """
    header, tables = _scan(path)
    if not tables:
        raise FormatError(f"{path}: Gamry DTA file without a TABLE block; expected e.g. 'CURVE\\tTABLE\\t<rows>'")
    names_found = [t[0] for t in tables]
    if curve is not None:
        hits = [t for t in tables if t[0].lower() == str(curve).lower()]
        if not hits:
            raise ParameterError(f"{path}: curve {curve!r} not found; tables found: {', '.join(names_found)}")
        table = hits[0]
    else:
        curves = [t for t in tables if t[0].startswith("CURVE")] or tables
        table = max(curves, key=lambda t: t[2])
    name, line, nrows, declared = table
    lines = read_text_lines(path, line + 4)
    cols = lines[line + 1].split("\t")
    unit_row = lines[line + 2].split("\t") if len(lines) > line + 2 else []
    unit_row += [""] * (len(cols) - len(unit_row))
    first_row = lines[line + 3] if len(lines) > line + 3 else ""
    dec = "," if re.search(r"\d,\d", first_row) else "."
    labels = [c.strip() for c in cols]
    valid = [i for i, c in enumerate(labels) if c]
    listing = ", ".join(f"{labels[i]} [{unit_row[i].strip()}]" for i in valid)
    if channel is not None:
        hits = [i for i in valid if labels[i].lower() == str(channel).lower()]
        if not hits:
            raise ParameterError(f"{path}: column {channel!r} not in table {name}; columns found: {listing}")
        ci = hits[0]
    else:
        hits = [i for i in valid if labels[i] == "Im"] or \
               [i for i in valid if _units.kind_of(unit_row[i]) == "current"]
        if not hits:
            raise ParameterError(f"{path}: no current column in table {name}; columns found: {listing}")
        ci = hits[0]
    ti = next((i for i in valid if labels[i] == "T"), None) or \
        next((i for i in valid if _units.kind_of(unit_row[i]) == "time"), None)
    vi = next((i for i in valid if labels[i] == "Vf"), None)
    use = sorted({i for i in (ci, ti, vi) if i is not None})
    block = read_numeric(path, skiprows=line + 3, sep="\t", decimal=dec, nrows=nrows, usecols=use)
    values = np.full((block.shape[0], len(cols)), np.nan)
    values[:, use] = block
    cu = current_unit or unit_row[ci].strip()
    cscale = _units.scale(cu, "current", where=f"{path}, table {name}, column {labels[ci]!r}")
    tu = unit_row[ti].strip() if ti is not None else None
    tscale = _units.scale(tu, "time", where=f"{path}, column {labels[ti]!r}") if ti is not None else 1.0
    meta = new_meta(
        "gamry-dta",
        instrument=f"Gamry {header.get('PSTAT', '')}".strip(),
        units={"current": cu, "time": tu},
        channel=labels[ci],
        channels=[labels[i] for i in valid],
        curve=name,
        curves=names_found,
        technique=header.get("TAG"),
        header=header,
    )
    if vi is not None and len(values):
        vscale = _units.scale(unit_row[vi] or "V", "potential")
        meta["potential"] = float(np.median(values[:, vi])) * vscale
        meta["potential_source"] = "median of the Vf column (measured vs. reference)"
    filt = {k: v for k, v in header.items() if "FILTER" in k.upper()}
    meta["filter"] = filt or None
    others = [t[0] for t in tables if t[0].startswith("CURVE") and t[0] != name]
    if others and curve is None:
        meta["warnings"].append(f"file has several curves ({', '.join(names_found)}); read {name} (pass curve=)")
    if declared is not None and declared != len(values):
        meta["warnings"].append(f"table {name} declares {declared} rows, {len(values)} were read "
                                "(the file may be incomplete)")
    header_dt = _num(header.get("SAMPLETIME"))
    time = values[:, ti] if ti is not None else None
    return trace_from_columns(values[:, ci], path=path, meta=meta, time=time, fs=fs,
                              header_dt=header_dt if time is None else None,
                              current_scale=cscale, time_scale=tscale, column=labels[ci])


def read_xy(path, *, fs=None, channel=None) -> Trace:
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
    return trace_from_columns(values[:, 1], path=path, meta=meta, time=values[:, 0], fs=fs, column="I")
