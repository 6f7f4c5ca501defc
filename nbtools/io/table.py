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
from ..errors import DataError, FormatError, NbtoolsError, ParameterError
from ._common import read_text_lines
from .limits import MAX_FIELDS, check_budget, human_bytes

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


def _first_data_fields(path: Path, skiprows: int, sep: str) -> int:
    """Fields of the first non-blank, non-comment line at or after ``skiprows`` (0 when none is found)."""
    for line in read_text_lines(path, skiprows + 50)[skiprows:]:
        if line.strip() and not line.lstrip().startswith(_COMMENT):
            return len(line.split()) if sep == r"\s+" else len(line.split(sep))
    return 0


def _check_table_memory(path: Path, skiprows: int, width: int) -> None:
    """SizeLimitError when parsing the file would need more memory than the budget.

    About 24 bytes per field (a float64 in the parser, one in the result, and
    the tokens), the number of fields estimated from the file size and the
    characters per field of the first lines.
    """
    size = path.stat().st_size
    if size < (1 << 20):
        return
    sample = read_text_lines(path, skiprows + 200)[skiprows:]
    chars = sum(len(ln) + 1 for ln in sample) or 1
    fields = sum(max(1, len(ln.split())) for ln in sample) or 1
    check_budget(24.0 * size * max(fields, width) / chars, path=path, what=f"parsing {human_bytes(size)} of text")


def read_numeric(path: Path, *, skiprows: int, sep: str, decimal: str = ".", ncols: int | None = None,
                 nrows: int | None = None, usecols=None, comment: str | None = None) -> np.ndarray:
    """Numeric block of a text file as a 2-D float64 array (pandas C parser).

    Blank rows are skipped; a trailing block of non-numeric lines (a footer)
    is dropped; a column of text (e.g. Gamry 'Over' flags) becomes NaN; any
    other non-numeric cell raises DataError naming the row. Columns that are
    all empty (a trailing delimiter) are dropped unless ``ncols`` is given.

    A row may hold at most two empty fields more than the first data row (or
    ``ncols``/``usecols``): more fields (a damaged line of 300,000 numbers) is a
    DataError naming the line, never a table that wide in memory.
    """
    import pandas as pd

    width = max(ncols or 0, (max(usecols) + 1) if usecols is not None else 0,
                _first_data_fields(path, skiprows, sep))
    if width > MAX_FIELDS:
        raise DataError(f"{path}: the first data row (after line {skiprows}) has {width} fields; at most "
                        f"{MAX_FIELDS} columns are read. Is the delimiter right? (pass delimiter=)")
    _check_table_memory(path, skiprows, width)
    slack = width + 2  # trailing delimiters
    wanted = list(usecols) if usecols is not None else list(range(ncols)) if ncols is not None else None
    kw = dict(
        sep=sep, header=None, names=range(slack), skiprows=skiprows, decimal=decimal, engine="c", comment=comment,
        skip_blank_lines=True, encoding="utf-8", encoding_errors="replace", nrows=nrows, index_col=False,
    )
    numeric = wanted if wanted is not None else list(range(width))
    try:
        try:
            df = pd.read_csv(path, dtype={i: np.float64 for i in numeric}, **kw)
        except ValueError as exc:
            if "Expected" in str(exc) and "fields" in str(exc):
                raise
            df = pd.read_csv(path, dtype=str, **kw)
            df = _numeric_or_error(df, path, skiprows, numeric)
    except NbtoolsError:
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise _parse_error(path, skiprows, width, exc) from None
    extra = df.iloc[:, width:]
    if extra.notna().to_numpy().any():
        row = int(np.flatnonzero(extra.notna().to_numpy().any(axis=1))[0])
        raise DataError(f"{path}: data row {row + 1} after line {skiprows} has more fields than the "
                        f"{width} of the first row; the file is damaged or mixes tables")
    df = df.iloc[:, wanted] if wanted is not None else df.iloc[:, :width]
    df = df.apply(pd.to_numeric, errors="coerce") if any(df.dtypes != np.float64) else df
    values = df.to_numpy(dtype=np.float64, copy=False)
    if values.ndim == 2 and values.shape[1]:
        empty_rows = np.isnan(values).all(axis=1)
        if empty_rows.any():
            values = values[~empty_rows]
        empty_cols = np.isnan(values).all(axis=0) if len(values) else np.zeros(values.shape[1], bool)
        if empty_cols.any() and ncols is None and usecols is None:
            values = values[:, ~empty_cols]
    if values.size == 0:
        raise DataError(f"{path}: no numeric rows after line {skiprows}; expected columns of numbers")
    return values


def _parse_error(path, skiprows, width, exc):
    text = str(exc)
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if m:
        return DataError(f"{path}: line {int(m.group(2))} has {m.group(3)} fields where the table has {width}; "
                         "the file is damaged (or holds a second table): crop it to one table")
    found = text.splitlines()[0] if text else type(exc).__name__
    return FormatError(f"{path}: cannot parse the numeric table after line {skiprows}: {found}")


def _numeric_or_error(df, path, skiprows, numeric=None):
    import pandas as pd

    cols = [c for c in (numeric if numeric is not None else df.columns) if c in df.columns]
    sub = df[cols]
    num = sub.apply(pd.to_numeric, errors="coerce")
    bad = num.isna() & sub.notna() & (sub.apply(lambda c: c.str.strip()) != "")
    text_cols = bad.mean(axis=0) > 0.5  # a text column (e.g. Gamry 'Over' flags) is not data
    bad.loc[:, text_cols] = False
    bad_rows = np.flatnonzero(bad.any(axis=1).to_numpy())
    if bad_rows.size:
        n = len(df)
        first = int(bad_rows[0])
        # a contiguous run of bad rows at the end is a footer: drop it
        if bad_rows[-1] == n - 1 and bad_rows.size == n - first:
            out = df.iloc[:first].copy()
            out[cols] = num.iloc[:first]
            return out
        row = [v for v in df.iloc[first].tolist() if isinstance(v, str)][:20]
        raise DataError(
            f"{path}: non-numeric value in data row {first + 1} after the header "
            f"(file line ~{skiprows + first + 1}): {row}; expected numbers only"
        )
    out = df.copy()
    out[cols] = num
    return out


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
