"""The structure of a Gamry Framework ``.DTA`` file: tagged header lines and TABLE blocks.

A DTA file is a list of header lines ``KEY<TAB>TYPE<TAB>VALUE<TAB>description``
(``TAG<TAB>CHRONOA`` names the technique; ``SAMPLETIME QUANT 1E-2 Sample
Period (s)``; ``FREQ QUANT 1.5E+1 Acquisition Frequency (Hz)``) and of tables::

    CURVE<TAB>TABLE[<TAB>rows]
    <TAB>Pt<TAB>T<TAB>Vf<TAB>Im ...      column names
    <TAB>#<TAB>s<TAB>V vs. Ref.<TAB>A     units
    <TAB>0<TAB>0.1<TAB>...               rows (decimal point or comma)

Files usually start with ``EXPLAIN``, but not all do (a VFP600 file starts with
``VFP600``): :func:`looks_like_dta` recognises the structure itself, a ``TAG``
line and a ``TABLE`` line. :func:`scan` reads it line by line (lines bounded by
:data:`~nbtools.io.limits.MAX_LINE_BYTES`) without loading the rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .. import units as _units
from ..errors import DataError, FormatError, ParameterError
from ._common import file_number
from .limits import MAX_LINE_BYTES
from .table import read_numeric

__all__ = ["Dta", "DtaTable", "looks_like_dta", "scan", "header_rate", "table_values"]

_TABLE = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9_]*)[\t ]+TABLE\b(?:[\t ]+(?P<n>\d+))?", re.ASCII)
_TAG = re.compile(r"^TAG[\t ]+\S", re.MULTILINE)
_ROW = re.compile(rb"^[\t ]*[-+]?(\d|[.,]\d)")
_RATE = re.compile(r"(acquisition|sampl\w*|data)\s+(freq\w*|rate)\b.*\(\s*hz\s*\)", re.IGNORECASE)
_PERIOD = re.compile(r"sampl\w*\s+(period|time|interval)\b.*\(\s*s\s*\)", re.IGNORECASE)


def looks_like_dta(text: str | None) -> bool:
    """True for ``EXPLAIN`` first, or a ``TAG`` line with a ``NAME TABLE`` line (Gamry's own structure)."""
    if not text:
        return False
    first = text.lstrip().split("\n", 1)[0].strip()
    if first == "EXPLAIN":
        return True
    return bool(_TAG.search(text)) and any(_TABLE.match(ln) for ln in text.splitlines())


@dataclass
class DtaTable:
    """One TABLE block: name, line of the TABLE line, data rows found/declared, labels, units, layout."""

    name: str
    line: int
    rows: int = 0
    declared: int | None = None
    names: list = field(default_factory=list)
    units: list = field(default_factory=list)
    first_row: int | None = None
    sep: str = "\t"
    decimal: str = "."

    def listing(self) -> str:
        return ", ".join(f"{n} [{u}]" if u else n for n, u in zip(self.names, self.units) if n)

    def column(self, *, label=None, kind=None) -> int | None:
        """Index of the first column with this label (case-insensitive) or whose unit is of this kind."""
        for i, n in enumerate(self.names):
            if n and label is not None and n.lower() == str(label).lower():
                return i
        if kind is not None:
            for i, (n, u) in enumerate(zip(self.names, self.units)):
                if n and u and _units.kind_of(u) == kind:
                    return i
        return None


@dataclass
class Dta:
    """Header (``KEY -> VALUE``), descriptions (``KEY -> text``), technique tag and tables of a DTA file."""

    header: dict
    descriptions: dict
    tag: str | None
    tables: list


def _split(line: str) -> list[str]:
    return line.split("\t") if "\t" in line else line.split(None, 3)


def _lines(fh):
    """Lines of a binary file handle, each at most MAX_LINE_BYTES (the rest of a longer line is skipped)."""
    while True:
        raw = fh.readline(MAX_LINE_BYTES)
        if not raw:
            return
        if len(raw) >= MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while True:
                rest = fh.readline(MAX_LINE_BYTES)
                if not rest or rest.endswith(b"\n"):
                    break
        yield raw


def _fields(line: str, sep: str) -> list[str]:
    return [c.strip() for c in (line.split("\t") if sep == "\t" else line.split())]


def scan(path) -> Dta:
    """Header and TABLE blocks of a DTA file (the rows are counted, not read)."""
    header, desc, tables = {}, {}, []
    cur = None
    stage = 0  # within a table: 0 names line next, 1 units line next, 2 rows
    with open(path, "rb") as fh:
        for i, raw in enumerate(_lines(fh)):
            is_row = bool(_ROW.match(raw))
            if cur is not None:
                if stage == 2 and is_row:
                    cur.rows += 1
                    continue
                line = raw.decode("latin-1").rstrip("\r\n")
                if stage == 0:
                    cur.sep = "\t" if "\t" in line else r"\s+"
                    cur.names = _fields(line, cur.sep)
                    stage = 1
                    continue
                if stage == 1:
                    stage = 2
                    if is_row:
                        cur.rows += 1
                        cur.first_row = i
                    else:
                        cur.units = _fields(line, cur.sep)
                        cur.first_row = i + 1
                    continue
                cur = None  # a line that is not a row ends the table
            else:
                line = raw.decode("latin-1").rstrip("\r\n")
            m = _TABLE.match(line)
            if m:
                cur = DtaTable(m.group("name"), i, declared=int(m.group("n")) if m.group("n") else None)
                tables.append(cur)
                stage = 0
                continue
            parts = [p.strip() for p in _split(line)]
            if len(parts) >= 2 and parts[0] and not parts[0][0].isdigit():
                header.setdefault(parts[0], parts[2] if len(parts) >= 3 else parts[1])
                if len(parts) >= 4:
                    desc.setdefault(parts[0], parts[3])
    for t in tables:
        width = max(len(t.names), len(t.units))
        t.names += [""] * (width - len(t.names))
        t.units += [""] * (width - len(t.units))
        if t.first_row is None:
            t.first_row = t.line + 2
    tag = header.get("TAG")
    return Dta(header, desc, tag.strip() if tag else None, tables)


def header_rate(dta: Dta, path) -> tuple[float | None, str | None]:
    """``(sampling rate in Hz, where it came from)`` from the header, or ``(None, None)``.

    ``SAMPLETIME`` (or a QUANT described as a sample period in s) gives the
    interval; ``FREQ`` (or a QUANT described as an acquisition/sampling
    frequency or rate in Hz) gives the rate.
    """
    for key, text in [("SAMPLETIME", None)] + [(k, v) for k, v in dta.descriptions.items() if _PERIOD.search(v)]:
        if key in dta.header:
            dt = file_number(dta.header[key].replace(",", "."), name=f"{key} (sample period, s)", path=path)
            return 1.0 / dt, f"{key} in the header ({dta.header[key]} s)"
    for key, text in [("FREQ", None)] + [(k, v) for k, v in dta.descriptions.items() if _RATE.search(v)]:
        if key in dta.header and (text is not None or _RATE.search(dta.descriptions.get(key, "Frequency (Hz)"))):
            fs = file_number(dta.header[key].replace(",", "."), name=f"{key} (acquisition frequency, Hz)", path=path)
            return fs, f"{key} in the header ({dta.header[key]} Hz)"
    return None, None


def pick_table(dta: Dta, path, curve=None, *, need: str = "current") -> DtaTable:
    """The table asked for, else the longest CURVE table holding a column of ``need``, else the longest such."""
    if not dta.tables:
        raise FormatError(f"{path}: Gamry DTA file without a TABLE block; expected e.g. 'CURVE\\tTABLE\\t<rows>'")
    found = ", ".join(f"{t.name} ({t.rows} rows)" for t in dta.tables)
    if curve is not None:
        hits = [t for t in dta.tables if t.name.lower() == str(curve).lower()]
        if not hits:
            raise ParameterError(f"{path}: curve {curve!r} not found; tables found: {found}")
        return hits[0]
    having = [t for t in dta.tables if t.column(kind=need) is not None and t.rows] or \
             [t for t in dta.tables if t.rows]
    if not having:
        raise DataError(f"{path}: no TABLE holds data rows; tables found: {found}")
    curves = [t for t in having if "CURVE" in t.name.upper()] or having
    return max(curves, key=lambda t: t.rows)


def table_values(path, table: DtaTable, use: list[int]) -> np.ndarray:
    """The numeric columns ``use`` of a table (rows x len(use)), decimal mark from its first row."""
    with open(path, "rb") as fh:
        for i, raw in enumerate(_lines(fh)):
            if i == table.first_row:
                first = raw.decode("latin-1")
                break
        else:
            first = ""
    table.decimal = "," if re.search(r"\d,\d", first) else "."
    if not table.rows:
        raise DataError(f"{path}: table {table.name} holds no data rows")
    return read_numeric(path, skiprows=table.first_row, sep=table.sep, decimal=table.decimal, nrows=table.rows,
                        usecols=use, ncols=len(table.names))
