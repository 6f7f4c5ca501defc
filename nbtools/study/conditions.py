"""Condition labels of a study's files: from folder names or from a table the user writes.

Folder names (the default): a recording ``data/10pM/run1.abf`` found under
``data/`` has condition ``'10pM'``; a concentration written in the name
(``10pM``, ``c=2.5 nM``, ``50uM``) becomes the numeric column
``concentration`` (mol/m^3, SI), a potential (``+0.9V``, ``-200mV``) the
column ``potential`` (V).

A table (CSV, or a DataFrame): a column ``file`` (a name, a path relative to
the input folder, or a glob pattern such as ``*_10pM_*``) and one column per
label. Headers may carry a unit (``concentration / pM``, ``potential / mV``,
``temperature / K``): values are converted to SI and the column is named
without its unit. Without a ``condition`` column, the condition is the text
of the label columns (``'10 pM'``). Files the table does not name keep their
folder's label.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import MissingFileError, ParameterError, UnitsError

__all__ = ["condition_table", "parse_concentration", "MOLAR", "LABEL_UNITS"]

#: molar concentration units -> factor to mol/m^3
MOLAR = {"M": 1e3, "mM": 1.0, "uM": 1e-3, "µM": 1e-3, "μM": 1e-3, "nM": 1e-6, "pM": 1e-9, "fM": 1e-12,
         "aM": 1e-15, "mol/m3": 1.0, "mol/m^3": 1.0, "mol/L": 1e3, "mol/l": 1e3}
#: SI units of the numeric labels read from names and tables
LABEL_UNITS = {"concentration": "mol/m3", "potential": "V"}

_CONC = re.compile(r"(?<![A-Za-z0-9.])(?:c\s*=\s*)?(\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*(aM|fM|pM|nM|uM|µM|μM|mM|M)"
                   r"(?![A-Za-z])")
_POT = re.compile(r"(?<![A-Za-z0-9.])(?:E\s*=\s*)?([-+]?\d+(?:\.\d+)?)\s*(mV|V)(?![A-Za-z])")


def parse_concentration(text: str):
    """Concentration (mol/m^3) written in ``text`` (``'10pM'``, ``'c=2.5 nM'``), or NaN.

    Examples
    --------
    >>> parse_concentration("LMO_10pM")
    1e-08
    """
    m = _CONC.search(str(text).replace("_", " "))
    return float(m.group(1)) * MOLAR[m.group(2)] if m else float("nan")


def _parse_potential(text: str):
    m = _POT.search(str(text).replace("_", " "))
    return float(m.group(1)) * (1e-3 if m.group(2) == "mV" else 1.0) if m else float("nan")


def _from_folders(units) -> pd.DataFrame:
    rows = []
    for u in units:
        row = {"condition": u.folder}
        c, e = parse_concentration(u.folder), _parse_potential(u.folder)
        if np.isfinite(c):
            row["concentration"] = c
        if np.isfinite(e):
            row["potential"] = e
        rows.append(row)
    df = pd.DataFrame(rows, index=pd.Index([u.id for u in units], name="unit"))
    if "condition" not in df:
        df["condition"] = pd.Series(dtype=str)
    return df


def _header(label: str):
    """``(name, factor to SI, SI unit, unit as written)`` of a table header such as ``'concentration / pM'``."""
    from .. import units as U

    name, unit = U.split_label(label)
    name = (name or str(label)).strip()
    if not unit:
        return name, None, None, None
    if unit in MOLAR or unit.replace(" ", "") in MOLAR:
        return name, MOLAR[unit.replace(" ", "") if unit not in MOLAR else unit], "mol/m3", unit
    kind = U.kind_of(unit)
    if kind is None:
        raise UnitsError(f"conditions: unknown unit {unit!r} in the column {label!r}; use a molar unit "
                         f"({', '.join(k for k in MOLAR if k.isascii())}) or one of nbtools.units.UNITS")
    return name, U.scale(unit, kind), {"current": "A", "time": "s", "potential": "V", "length": "m"}[kind], unit


def _read(source) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source.copy()
    p = Path(source).expanduser()
    if not p.is_file():
        raise MissingFileError(f"conditions: {source!r} is not a file; give a CSV with a 'file' column and one "
                               "column per label (or 'folders' for folder names)")
    try:
        return pd.read_csv(p, sep=None, engine="python", dtype=str, skipinitialspace=True)
    except (ValueError, pd.errors.ParserError) as exc:
        raise ParameterError(f"conditions: {p} is not a readable table ({exc})") from None


def _cell(value):
    """A table cell as stripped text, None when empty."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _match(units, files) -> dict:
    """unit id -> row number of the table naming it (relative name, file name or glob pattern)."""
    out = {}
    for j, key in enumerate(files):
        key = str(key).strip()
        for u in units:
            if u.id in out:
                continue
            names = (u.name, Path(u.name).name, Path(u.path).name, u.path)
            if key in names or any(fnmatch.fnmatch(n, key) for n in names[:2]):
                out[u.id] = j
    return out


def condition_table(units, conditions="folders") -> tuple[pd.DataFrame, dict, list]:
    """Labels of each unit.

    Parameters
    ----------
    units : list of Unit
    conditions : 'folders', None, path of a CSV, or DataFrame
        Where the labels come from (see the module docstring).

    Returns
    -------
    (DataFrame, dict, list)
        One row per unit id (index ``unit``): ``condition`` and the label
        columns in SI; the SI unit of each numeric label; names of units the
        table did not mention.
    """
    base = _from_folders(units)
    units_of = {c: LABEL_UNITS[c] for c in base.columns if c in LABEL_UNITS}
    if conditions in (None, "folders", "folder"):
        return base, units_of, []
    table = _read(conditions)
    cols = {str(c).strip().lower(): c for c in table.columns}
    if "file" not in cols:
        raise ParameterError(f"conditions: the table needs a 'file' column (names, relative paths or patterns); "
                             f"found {list(table.columns)}")
    matched = _match(units, table[cols["file"]].tolist())
    labels = pd.DataFrame(index=base.index)
    texts = {u: [] for u in base.index}
    for col in table.columns:
        if col == cols["file"]:
            continue
        name, factor, si, written = _header(str(col))
        raw = [_cell(table[col].iloc[matched[u]]) if u in matched else None for u in base.index]
        if factor is None:
            labels[name] = raw
        else:
            labels[name] = pd.to_numeric(pd.Series(raw, index=base.index, dtype=object), errors="coerce") * factor
            units_of[name] = si
        if name != "condition":
            for u, v in zip(base.index, raw):
                if v is not None:
                    texts[u].append(f"{v} {written}" if written else v)
    if "condition" not in labels:
        labels["condition"] = [" ".join(texts[u]) or None for u in base.index]
    out = base.copy()
    for c in labels.columns:
        known = labels[c].notna()
        if c in out:
            out[c] = out[c].where(~known, labels[c])
        else:
            out[c] = labels[c]
    missing = [u.name for u in units if u.id not in matched]
    return out, units_of, missing
