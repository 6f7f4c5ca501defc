"""Generic delimited text: CSV, TSV, semicolon (decimal comma), whitespace.

The delimiter and decimal mark are sniffed from the first data lines; the
header line above them names the columns, with units read from labels such
as ``Current / pA``, ``I/A``, ``current (nA)``, ``Time (ms)``. Without a
time column pass ``fs=``. The numbers are parsed by pandas' C parser.
"""

from __future__ import annotations

import re

import numpy as np

from .. import units as _units
from ..errors import DataError, ParameterError, UnitsError
from ..trace import Trace
from ._common import new_meta, read_table, read_text_lines, trace_from_columns

__all__ = ["read", "sniff", "sniff_layout", "pick_columns"]

_CANDIDATES = [("\t", "."), (",", "."), (";", "."), (";", ","), ("\t", ","), (r"\s+", "."), (r"\s+", ",")]
_NUM = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(nan|inf|infinity)$", re.IGNORECASE)
_TIME_NAMES = re.compile(r"^(t|time|elapsed\s*time|zeit|temps|tiempo|timestamp|time\s*stamp)\b", re.IGNORECASE)
_CURRENT_NAMES = re.compile(r"^(<?i>?|im|iw|current\s*\d*|curr|strom|courant|i\d|i_\w+|current_\w+)$", re.IGNORECASE)


def _fields(line: str, sep: str) -> list[str]:
    if sep == r"\s+":
        return line.split()
    return [f.strip() for f in line.split(sep)]


def _numeric_fields(line: str, sep: str, dec: str) -> int:
    """Number of numeric fields when every non-empty field is a number, else 0."""
    fields = _fields(line, sep)
    if dec == "," and sep == "," or not fields:
        return 0
    count = 0
    for i, f in enumerate(fields):
        if not f:
            if i == len(fields) - 1 or i == 0:  # leading/trailing delimiter
                continue
            return 0
        if dec == ",":
            if "." in f:
                return 0
            f = f.replace(",", ".")
        if not _NUM.match(f):
            return 0
        count += 1
    return count


def sniff_layout(lines: list[str], *, delimiter=None, decimal=None):
    """(first data line, delimiter, decimal, number of fields) or None."""
    cands = [(s, d) for s, d in _CANDIDATES
             if (delimiter is None or s == delimiter)
             and (decimal is None or d == decimal)]
    if delimiter is not None and not cands:
        cands = [(delimiter, decimal or ".")]
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        best = None
        for sep, dec in cands:
            n = _numeric_fields(line, sep, dec)
            if not n:
                continue
            # the next few non-blank lines must agree
            nxt = [ln for ln in lines[i + 1:i + 6] if ln.strip()]
            if all(_numeric_fields(ln, sep, dec) == n for ln in nxt):
                if best is None or n > best[3]:
                    best = (i, sep, dec, n)
        if best is not None:
            return best
    return None


def sniff(head: bytes, text) -> int:
    if text is None:
        return 0
    lines = text.splitlines()[:-1] or text.splitlines()
    return 1 if sniff_layout(lines[:200]) else 0


def _col_index(spec, names, path, what):
    listing = ", ".join(f"{i}: {n!r}" for i, n in enumerate(names))
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        if 0 <= spec < len(names):
            return int(spec)
        raise ParameterError(f"{path}: {what}={spec} out of range; columns found: {listing}")
    if isinstance(spec, str):
        wanted = spec.strip().lower()
        hits = [i for i, n in enumerate(names) if n.strip().lower() == wanted]
        if not hits:
            hits = [i for i, n in enumerate(names) if _units.split_label(n)[0].strip().lower() == wanted]
        if len(hits) == 1:
            return hits[0]
        state = "is ambiguous" if hits else "not found"
        raise ParameterError(f"{path}: {what} {spec!r} {state}; columns found: {listing}")
    raise ParameterError(f"{what} must be a column index or name, found {spec!r}; columns found: {listing}")


def pick_columns(names: list[str], *, path, channel=None, time_column=None, exclude=()):
    """Indexes of (current column, time column or None) from column labels."""
    parsed = [_units.split_label(n) for n in names]
    kinds = [_units.kind_of(u) if u else None for _, u in parsed]
    skip = {i for i, (nm, _) in enumerate(parsed) if nm.lower().startswith(tuple(exclude))} if exclude else set()
    if channel is not None:
        ci = _col_index(channel, names, path, "channel")
    else:
        cands = [i for i, k in enumerate(kinds) if k == "current" and i not in skip]
        if not cands:
            cands = [i for i, (nm, u) in enumerate(parsed)
                     if _CURRENT_NAMES.match(nm.strip()) and i not in skip and kinds[i] in (None, "current")]
        if not cands:
            others = [i for i, (nm, _) in enumerate(parsed) if not _TIME_NAMES.match(nm) and kinds[i] != "time"]
            if len(others) == 1:
                cands = others
        if not cands:
            listing = ", ".join(repr(n) for n in names)
            raise ParameterError(
                f"{path}: no current column found among {listing}; expected a label such as "
                "'Current / pA', 'I/A' or 'current (nA)'. Pass channel=<index or name>."
            )
        ci = cands[0]
    if time_column is not None:
        ti = _col_index(time_column, names, path, "time_column")
    else:
        tc = [i for i, k in enumerate(kinds) if k == "time" and i != ci]
        if not tc:
            tc = [i for i, (nm, _) in enumerate(parsed) if _TIME_NAMES.match(nm.strip()) and i != ci]
        ti = tc[0] if tc else None
    return ci, ti


def read(path, *, fs=None, channel=None, time_column=None, current_unit=None, time_unit=None,
         delimiter=None, decimal=None) -> Trace:
    """Read a delimited text table (see module docstring).

    Parameters
    ----------
    fs : float, optional
        Sampling rate (Hz); required when there is no time column.
    channel, time_column : int or str, optional
        Current and time columns by index or label; default from the header.
    current_unit, time_unit : str, optional
        Units when the header has none (or to override it).
    delimiter, decimal : str, optional
        Force the field separator (',', '\\t', ';', 'whitespace') and decimal mark.
    """
    aliases = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "whitespace": r"\s+", "space": r"\s+",
               " ": r"\s+"}
    delimiter = aliases.get(delimiter, delimiter)
    if decimal not in (None, ".", ","):
        raise ParameterError(f"decimal must be '.' or ',', found {decimal!r}")
    lines = read_text_lines(path, 400)
    layout = sniff_layout(lines, delimiter=delimiter, decimal=decimal)
    if layout is None:
        raise DataError(
            f"{path}: no numeric rows found in the first {len(lines)} lines; expected columns of numbers "
            "(comma, tab, semicolon or space separated) under an optional header line"
        )
    first, sep, dec, ncols = layout
    above = [ln for ln in lines[:first] if ln.strip()]
    names = None
    if above:
        cand = [c.strip().strip('"').strip("'") for c in _fields(above[-1], sep)]
        cand = [c for c in cand if c]
        if len(cand) != ncols and sep == r"\s+":  # labels with spaces: columns 2+ spaces apart
            cand = [c.strip() for c in re.split(r"\s{2,}|\t", above[-1].strip()) if c.strip()]
        if len(cand) == ncols:
            names = cand
    if names is None:
        names = [f"column {i}" for i in range(ncols)]
    values = read_table(path, skiprows=first, sep=sep, decimal=dec, ncols=None)
    if values.shape[1] != ncols:
        ncols = values.shape[1]
        names = (names + [f"column {i}" for i in range(len(names), ncols)])[:ncols]
    header = {}
    for ln in above[:-1] if names[0] != "column 0" else above:
        m = re.match(r"^\s*([^:=]{1,60}?)\s*[:=]\s*(.*?)\s*$", ln)
        if m:
            header[m.group(1)] = m.group(2)
    # headerless two-column files: time then current
    if names[0] == "column 0" and ncols == 2 and channel is None and time_column is None:
        ci, ti = 1, 0
    else:
        ci, ti = pick_columns(names, path=path, channel=channel, time_column=time_column)
    meta = new_meta("csv", header=header, channel=names[ci], channels=list(names),
                    delimiter={"\t": "tab", r"\s+": "whitespace"}.get(sep, sep), decimal=dec)
    cu = current_unit or _units.split_label(names[ci])[1]
    cscale = _units.scale(cu, "current", where=f"{path}, column {names[ci]!r}")
    meta["units"]["current"] = cu
    time = tscale = None
    if ti is not None and fs is None:
        tu = time_unit or _units.split_label(names[ti])[1]
        if tu is None:
            tu = "s"
            meta["warnings"].append(f"time column {names[ti]!r} states no unit; taken as seconds (pass time_unit=)")
        tscale = _units.scale(tu, "time", where=f"{path}, column {names[ti]!r}")
        meta["units"]["time"] = tu
        time = values[:, ti]
    return trace_from_columns(values[:, ci], path=path, meta=meta, time=time, fs=fs,
                              current_scale=cscale, time_scale=tscale or 1.0, column=names[ci])
