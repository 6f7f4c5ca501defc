"""The one text-table reader of nbtools: delimited numbers under an optional header.

Every text reader (trace CSV, SECCM column and per-landing files, curve CSV)
and the instrument exports (CHI, Gamry, BioLogic) parse their numbers here:

- :func:`sniff_layout` finds the first data line, the delimiter (comma, tab,
  semicolon, whitespace) and the decimal mark (``.`` or ``,``) from the lines
  themselves;
- :func:`read_numeric` reads the numeric block with pandas' C parser (blank rows
  skipped, a footer dropped, any other non-numeric cell is a DataError naming
  the row);
- :func:`read_table` does both and returns a :class:`Table` with the column
  labels (units stay in the labels: parse them with :mod:`nbtools.units`);
- :func:`head_table` reads the labels from a file's first bytes (for sniffers);
- :func:`column_index` finds a column by index or label, :func:`column_kinds`
  says which quantity each label's unit measures.

Comment lines (``#``, ``%``) above the data are skipped; a commented header
with one label per column (``np.savetxt(..., header=...)``) still names them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import units as _units
from ..errors import DataError, FormatError, ParameterError
from ._common import read_text_lines

__all__ = ["Table", "read_table", "read_numeric", "sniff_layout", "head_table", "column_index", "column_kinds",
           "DELIMITERS"]

_CANDIDATES = [("\t", "."), (",", "."), (";", "."), (";", ","), ("\t", ","), (r"\s+", "."), (r"\s+", ",")]
_NUM = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(nan|inf|infinity)$", re.IGNORECASE)
_COMMENT = ("#", "%")
#: Names accepted for ``delimiter=`` besides the characters themselves.
DELIMITERS = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "whitespace": r"\s+", "space": r"\s+",
              " ": r"\s+"}


@dataclass(frozen=True)
class Table:
    """A numeric text table: labels, values and how the file was laid out.

    Attributes
    ----------
    names : list of str
        Column labels as written (units included, e.g. ``'Current / pA'``), or
        ``'column 0'``, ``'column 1'``... when the file has no header.
    values : numpy.ndarray
        ``(rows, columns)`` float64 in file units.
    labelled : bool
        Whether ``names`` came from the file.
    header : dict
        ``key: value`` (or ``key = value``) lines above the labels.
    delimiter, decimal : str
        As found (``'\\t'``, ``','``, ``';'`` or ``r'\\s+'``; ``'.'`` or ``','``).
    first_row : int
        Line index (0-based) of the first data row.
    """

    names: list
    values: np.ndarray
    labelled: bool
    header: dict = field(default_factory=dict)
    delimiter: str = ","
    decimal: str = "."
    first_row: int = 0


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
    """``(first data line, delimiter, decimal, number of fields)`` or None.

    The first line whose fields are all numbers, with the next few non-blank
    lines agreeing, starts the data; among the delimiters that fit, the one
    giving most fields wins.
    """
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
            nxt = [ln for ln in lines[i + 1:i + 6] if ln.strip() and not ln.lstrip().startswith(_COMMENT)]
            if all(_numeric_fields(ln, sep, dec) == n for ln in nxt):
                if best is None or n > best[3]:
                    best = (i, sep, dec, n)
        if best is not None:
            return _decimal_from_evidence(best, lines, cands)
    return None


_DECIMAL = {",": re.compile(r"^[+-]?\d*,\d+([eE][+-]?\d+)?$"), ".": re.compile(r"^[+-]?\d*\.\d+([eE][+-]?\d+)?$")}


def _decimal_from_evidence(best, lines, cands):
    """Switch the decimal mark when the first lines have none ('1e-05;3') and a later number shows it."""
    first, sep, dec, n = best
    if sep == ",":
        return best
    for line in lines[first:]:
        for f in _fields(line, sep):
            found = next((mark for mark, rx in _DECIMAL.items() if rx.match(f)), None)
            if found is None:
                continue
            if found != dec and (sep, found) in cands and _numeric_fields(lines[first], sep, found) == n:
                return first, sep, found, n
            return best
    return best


def _labels(line: str, sep: str, ncols: int) -> list[str] | None:
    """The labels of a header line when it holds one per column, else None."""
    cand = [c.strip().strip('"').strip("'") for c in _fields(line, sep)]
    cand = [c for c in cand if c]
    if len(cand) != ncols and sep == r"\s+":  # labels with spaces: columns 2+ spaces apart
        cand = [c.strip() for c in re.split(r"\s{2,}|\t", line.strip()) if c.strip()]
    return cand if len(cand) == ncols else None


def _header_lines(lines, first, sep, ncols):
    """(labels or None, index of the label line or None) from the lines above the data."""
    for k in range(first - 1, -1, -1):
        text = lines[k].strip()
        if not text:
            continue
        comment = text.startswith(_COMMENT)
        names = _labels(text.lstrip("#%").strip() if comment else text, sep, ncols)
        if names is not None or not comment:
            return names, (k if names is not None else None)
    return None, None


def _key_values(lines) -> dict:
    header = {}
    for ln in lines:
        m = re.match(r"^\s*[#%]?\s*([^:=]{1,60}?)\s*[:=]\s*(.*?)\s*$", ln)
        if m:
            header[m.group(1)] = m.group(2)
    return header


def head_table(text: str | None):
    """``(labels or None, preamble)`` of a table from a file's first bytes (sniffers).

    ``preamble`` counts the non-blank, non-comment lines above the labels (0 for a
    plain table whose first line names the columns). None when no numeric rows
    are found.
    """
    if text is None:
        return None
    lines = text.splitlines()[:-1] or text.splitlines()  # the last line may be cut
    layout = sniff_layout(lines[:200])
    if layout is None:
        return None
    first, sep, _, ncols = layout
    names, at = _header_lines(lines, first, sep, ncols)
    stop = first if at is None else at
    preamble = sum(1 for ln in lines[:stop] if ln.strip() and not ln.strip().startswith(_COMMENT))
    return names, preamble


def column_kinds(names) -> list:
    """``'current'``, ``'potential'``, ``'time'``, ``'length'`` or None per column label, from its unit.

    >>> column_kinds(["Time / s", "E (mV)", "I1/nA", "flag"])
    ['time', 'potential', 'current', None]
    """
    kinds = []
    for n in names:
        unit = _units.split_label(n)[1]
        kinds.append(_units.kind_of(unit) if unit else None)
    return kinds


def read_table(path, *, delimiter=None, decimal=None, max_lines: int = 400) -> Table:
    """Read a delimited numeric text table with an optional header.

    Parameters
    ----------
    path : str or Path
        The file (utf-8, or latin-1 when not utf-8).
    delimiter : str, optional
        Force the field separator: ``','``, ``'\\t'`` (or ``'tab'``), ``';'``,
        ``'whitespace'``; default sniffed.
    decimal : {'.', ','}, optional
        Force the decimal mark; default sniffed.
    max_lines : int
        Lines searched for the first data row.

    Returns
    -------
    Table

    Raises
    ------
    DataError
        No numeric rows, or a non-numeric cell inside the data.
    ParameterError
        ``decimal`` is not ``'.'`` or ``','``.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "t.csv")
    >>> _ = open(p, "w").write("Time;Current / pA\\n0,0;1,5\\n0,1;2,5\\n")
    >>> t = read_table(p)
    >>> t.names, t.values.tolist(), t.delimiter, t.decimal
    (['Time', 'Current / pA'], [[0.0, 1.5], [0.1, 2.5]], ';', ',')
    """
    path = Path(path)
    delimiter = DELIMITERS.get(delimiter, delimiter)
    if decimal not in (None, ".", ","):
        raise ParameterError(f"decimal must be '.' or ',', found {decimal!r}")
    lines = read_text_lines(path, max_lines)
    layout = sniff_layout(lines, delimiter=delimiter, decimal=decimal)
    if layout is None:
        raise DataError(
            f"{path}: no numeric rows found in the first {len(lines)} lines; expected columns of numbers "
            "(comma, tab, semicolon or space separated) under an optional header line"
        )
    first, sep, dec, ncols = layout
    names, at = _header_lines(lines, first, sep, ncols)
    values = read_numeric(path, skiprows=first, sep=sep, decimal=dec, comment="#")
    labelled = names is not None
    if values.shape[1] != ncols or not labelled:
        names = ((names or []) + [f"column {i}" for i in range(len(names or []), values.shape[1])])
        names = names[:values.shape[1]]
    header = _key_values(lines[:at if at is not None else first])
    return Table(names=names, values=values, labelled=labelled, header=header,
                 delimiter=sep, decimal=dec, first_row=first)


def read_numeric(path: Path, *, skiprows: int, sep: str, decimal: str = ".", ncols: int | None = None,
                 nrows: int | None = None, usecols=None, comment: str | None = None) -> np.ndarray:
    """Numeric block of a text file as a 2-D float64 array (pandas C parser).

    Blank rows are skipped; a trailing block of non-numeric lines (a footer)
    is dropped; a column of text (e.g. Gamry 'Over' flags) becomes NaN; any
    other non-numeric cell raises DataError naming the row. Columns that are
    all empty (a trailing delimiter) are dropped unless ``ncols`` is given.
    """
    import pandas as pd

    kw = dict(
        sep=sep, header=None, skiprows=skiprows, decimal=decimal, engine="c", comment=comment,
        skip_blank_lines=True, encoding="utf-8", encoding_errors="replace", nrows=nrows,
    )
    if usecols is not None:
        kw["usecols"] = list(usecols)
    elif ncols is not None:
        kw["usecols"] = range(ncols)
    try:
        df = pd.read_csv(path, dtype=np.float64, **kw)
    except ValueError:
        df = pd.read_csv(path, dtype=str, **kw)
        df = _numeric_or_error(df, path, skiprows)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise FormatError(f"{path}: cannot parse the numeric table after line {skiprows}: {exc}") from None
    values = df.to_numpy(dtype=np.float64, copy=False)
    if values.ndim == 2 and values.shape[1]:
        empty_rows = np.isnan(values).all(axis=1)
        if empty_rows.any():
            values = values[~empty_rows]
        empty_cols = np.isnan(values).all(axis=0) if len(values) else np.zeros(values.shape[1], bool)
        if empty_cols.any() and ncols is None:
            values = values[:, ~empty_cols]
    if values.size == 0:
        raise DataError(f"{path}: no numeric rows after line {skiprows}; expected columns of numbers")
    return values


def _numeric_or_error(df, path, skiprows):
    import pandas as pd

    num = df.apply(pd.to_numeric, errors="coerce")
    bad = num.isna() & df.notna() & (df.apply(lambda c: c.str.strip()) != "")
    text_cols = bad.mean(axis=0) > 0.5  # a text column (e.g. Gamry 'Over' flags) is not data
    bad.loc[:, text_cols] = False
    bad_rows = np.flatnonzero(bad.any(axis=1).to_numpy())
    if bad_rows.size:
        n = len(df)
        first = int(bad_rows[0])
        # a contiguous run of bad rows at the end is a footer: drop it
        if bad_rows[-1] == n - 1 and bad_rows.size == n - first:
            return num.iloc[:first]
        row = df.iloc[first].tolist()
        raise DataError(
            f"{path}: non-numeric value in data row {first + 1} after the header "
            f"(file line ~{skiprows + first + 1}): {row}; expected numbers only"
        )
    return num


def column_index(spec, names, *, path, what: str) -> int:
    """Index of a column given by index (negative counts from the end) or label.

    A label matches the whole label (``'Current / pA'``), then the name without
    its unit (``'Current'``), then a unique prefix of the name (``'E'`` for
    ``'E_we (V)'``); case and surrounding spaces are ignored.

    Raises
    ------
    ParameterError
        Out of range, not found or ambiguous; the message lists the columns.
    """
    listing = ", ".join(f"{i}: {n!r}" for i, n in enumerate(names))
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        if -len(names) <= spec < len(names):
            return int(spec) % len(names)
        raise ParameterError(f"{path}: {what}={spec} out of range; columns found: {listing}")
    if not isinstance(spec, str):
        raise ParameterError(f"{what} must be a column index or name, found {spec!r}; columns found: {listing}")
    wanted = spec.strip().lower()
    bare = [_units.split_label(n)[0].strip().lower() for n in names]
    for hits in ([i for i, n in enumerate(names) if n.strip().lower() == wanted],
                 [i for i, b in enumerate(bare) if b == wanted],
                 [i for i, b in enumerate(bare) if b.startswith(wanted)]):
        if len(hits) == 1:
            return hits[0]
        if hits:
            raise ParameterError(f"{path}: {what} {spec!r} is ambiguous; columns found: {listing}")
    raise ParameterError(f"{path}: {what} {spec!r} not found; columns found: {listing}")
