"""Voltammetry and potential-step curves (particle-on-a-stick) in delimited text -> DataFrame (curve kind).

A table with time, potential and current columns named with their units
(``Time / s``, ``Potential / V``, ``Current / pA``; also ``E (mV)``,
``I [nA]``, ``time/ms``), read by :func:`nbtools.io.table.read_table`
(delimiter and decimal mark sniffed) and converted to SI by :mod:`nbtools.units`.
"""

from __future__ import annotations

import numpy as np

from .. import units as _units
from ..errors import DataError, FormatError
from ._common import check_path, reader_boundary
from .seccm_text import sniff_columns
from .table import column_kinds, head_table, read_table

__all__ = ["read", "sniff", "MIN_ROWS"]

_KINDS = ("time", "potential", "current")
#: Fewest numeric rows a curve must have.
MIN_ROWS = 5


def sniff(head: bytes, text) -> int:
    """2 for a plain table whose header names time, potential and current with units, else 0.

    A header with more current columns than other columns is an SECCM column
    file (:func:`nbtools.io.seccm_text.sniff_columns`), not a curve.
    """
    found = head_table(text)
    if not found or found[0] is None or found[1] or sniff_columns(head, text):
        return 0
    kinds = column_kinds(found[0])
    return 2 if all(k in kinds for k in _KINDS) else 0


@reader_boundary("a curve table (time, potential and current columns)")
def read(path, *, delimiter=None, decimal=None):
    """Read a curve: time, potential and current columns with units in their labels.

    Parameters
    ----------
    path : str or Path
        CSV, TSV, semicolon or whitespace separated text; the first column of
        each quantity (by the unit in its label) is used.
    delimiter, decimal : str, optional
        Force the field separator and decimal mark (default sniffed).

    Returns
    -------
    pandas.DataFrame
        Columns ``t`` (s), ``E`` (V), ``i`` (A); rows with a missing value are
        dropped. ``attrs``: ``source``, ``columns`` (kind -> label as written),
        ``units`` (kind -> unit as written).

    Raises
    ------
    MissingFileError, FormatError (no time, potential or current column with a
    unit), DataError (fewer than 5 numeric rows).
    """
    import pandas as pd

    path = check_path(path, what="a curve table (.csv/.tsv/.txt) with time, potential and current columns")
    table = read_table(path, delimiter=delimiter, decimal=decimal)
    found = {}
    for i, kind in enumerate(column_kinds(table.names)):
        if kind in _KINDS and kind not in found:
            found[kind] = i
    missing = [k for k in _KINDS if k not in found]
    if missing:
        raise FormatError(
            f"{path.name}: found columns {table.names}, but no {' or '.join(missing)} column with a unit; "
            "name them like 'Time / s', 'Potential / V', 'Current / pA'")
    out, units = {}, {}
    for kind, name in zip(_KINDS, ("t", "E", "i")):
        label = table.names[found[kind]]
        units[kind], factor = _units.label_scale(label, kind, where=f"{path.name} column {label!r}")
        out[name] = table.values[:, found[kind]] * factor
    df = pd.DataFrame(out)
    ok = np.isfinite(df.to_numpy()).all(axis=1)
    if ok.sum() < MIN_ROWS:
        raise DataError(f"{path.name}: fewer than {MIN_ROWS} numeric rows with time, potential and current")
    if not ok.all():
        df = df[ok].reset_index(drop=True)
    df.attrs.update(source=str(path), columns={k: table.names[i] for k, i in found.items()}, units=units)
    return df
