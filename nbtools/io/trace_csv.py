"""Current-time recordings in delimited text: CSV, TSV, semicolon (decimal comma), whitespace.

The table is read by :func:`nbtools.io.table.read_table` (delimiter and
decimal mark sniffed); the header line names the columns, with units read by
:mod:`nbtools.units` from labels such as ``Current / pA``, ``I/A``,
``current (nA)``, ``Time (ms)``. Without a time column pass ``fs=``.
"""

from __future__ import annotations

import re

from .. import units as _units
from ..errors import ParameterError
from ..trace import Trace
from ._common import new_meta, trace_from_columns
from .table import column_index, head_table, read_table

__all__ = ["read", "sniff", "pick_columns", "column_scales"]

_TIME_NAMES = re.compile(r"^(t|time|elapsed\s*time|zeit|temps|tiempo|timestamp|time\s*stamp)\b", re.IGNORECASE)
_CURRENT_NAMES = re.compile(r"^(<?i>?|im|iw|current\s*\d*|curr|strom|courant|i\d|i_\w+|current_\w+)$", re.IGNORECASE)


def sniff(head: bytes, text) -> int:
    """1 for any text with columns of numbers (the generic reader of its kind)."""
    return 1 if head_table(text) is not None else 0


def pick_columns(names: list[str], *, path, channel=None, time_column=None, exclude=()):
    """Indexes of (current column, time column or None) from column labels."""
    parsed = [_units.split_label(n) for n in names]
    kinds = [_units.kind_of(u) if u else None for _, u in parsed]
    skip = {i for i, (nm, _) in enumerate(parsed) if nm.lower().startswith(tuple(exclude))} if exclude else set()
    if channel is not None:
        ci = column_index(channel, names, path=path, what="channel")
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
        ti = column_index(time_column, names, path=path, what="time_column")
    else:
        tc = [i for i, k in enumerate(kinds) if k == "time" and i != ci]
        if not tc:
            tc = [i for i, (nm, _) in enumerate(parsed) if _TIME_NAMES.match(nm.strip()) and i != ci]
        ti = tc[0] if tc else None
    return ci, ti


def column_scales(names, ci, ti, *, path, current_unit=None):
    """``(current unit, its factor to A, time unit or None, its factor to s)`` from the column labels.

    ``current_unit`` overrides the current label's unit; without a time column
    the time factor is 1.
    """
    cu, cscale = _units.label_scale(names[ci], "current", override=current_unit, where=f"{path}, column {names[ci]!r}")
    if ti is None:
        return cu, cscale, None, 1.0
    tu, tscale = _units.label_scale(names[ti], "time", where=f"{path}, column {names[ti]!r}")
    return cu, cscale, tu, tscale


def read(path, *, fs=None, channel=None, time_column=None, current_unit=None, time_unit=None,
         delimiter=None, decimal=None, resample="auto") -> Trace:
    """Read a delimited text table as a trace (see module docstring).

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
    resample : 'auto', 'index' or float
        How an irregular time column becomes the uniform time base
        (:mod:`nbtools.io.timebase`): by default every sample keeps its file
        time (gaps filled, irregular stamps interpolated, ``meta['gaps']``).
    """
    table = read_table(path, delimiter=delimiter, decimal=decimal)
    names, values = table.names, table.values
    # headerless two-column files: time then current
    if not table.labelled and values.shape[1] == 2 and channel is None and time_column is None:
        ci, ti = 1, 0
    else:
        ci, ti = pick_columns(names, path=path, channel=channel, time_column=time_column)
    meta = new_meta("csv", header=table.header, channel=names[ci], channels=list(names),
                    delimiter={"\t": "tab", r"\s+": "whitespace"}.get(table.delimiter, table.delimiter),
                    decimal=table.decimal)
    cu, cscale = _units.label_scale(names[ci], "current", override=current_unit,
                                    where=f"{path}, column {names[ci]!r}")
    meta["units"]["current"] = cu
    time = tscale = None
    if ti is not None and fs is None:
        if not (time_unit or _units.split_label(names[ti])[1]):
            meta["warnings"].append(f"time column {names[ti]!r} states no unit; taken as seconds (pass time_unit=)")
        tu, tscale = _units.label_scale(names[ti], "time", default="s", override=time_unit,
                                        where=f"{path}, column {names[ti]!r}")
        meta["units"]["time"] = tu
        time = values[:, ti]
    return trace_from_columns(values[:, ci], path=path, meta=meta, time=time, fs=fs,
                              current_scale=cscale, time_scale=tscale or 1.0, column=names[ci], resample=resample)
