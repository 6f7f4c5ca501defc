"""Helpers shared by the readers: file checks, numeric tables, time columns, meta."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DataError, FormatError, MissingFileError, ParameterError
from ..trace import Trace
from .. import units as _units

HEAD_BYTES = 16384


def check_file(path) -> Path:
    """Path of an existing, non-empty regular file, else a clear error."""
    try:
        p = Path(os.fspath(path)).expanduser()
    except TypeError:
        raise ParameterError(f"path must be a file path (str or Path), found {type(path).__name__}") from None
    if not p.exists():
        raise MissingFileError(f"{p}: no such file; expected the path of an instrument file (check the name and folder)")
    if p.is_dir():
        raise MissingFileError(f"{p}: is a folder; expected the path of one instrument file")
    if p.stat().st_size == 0:
        raise DataError(f"{p}: file is empty (0 bytes); expected a recording")
    return p


def read_head(path: Path, n: int = HEAD_BYTES) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def head_text(head: bytes) -> str | None:
    """The head decoded as text, or None when it looks binary."""
    if b"\x00" in head[:4096]:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = head.decode("latin-1")
    return text.lstrip("\ufeff")


def read_text_lines(path: Path, max_lines: int) -> list[str]:
    """First ``max_lines`` lines, decoded utf-8 or latin-1, line ends stripped."""
    lines = []
    with open(path, "rb") as fh:
        for _ in range(max_lines):
            raw = fh.readline()
            if not raw:
                break
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                line = raw.decode("latin-1")
            lines.append(line.rstrip("\r\n").lstrip("\ufeff"))
    return lines


def new_meta(fmt: str, **kw) -> dict:
    meta = {
        "format": fmt,
        "instrument": None,
        "units": {},
        "potential": None,
        "filter": None,
        "channel": None,
        "channels": [],
        "converted": {},
        "warnings": [],
        "header": {},
    }
    meta.update(kw)
    return meta


def read_table(path: Path, *, skiprows: int, sep: str, decimal: str = ".", ncols: int | None = None,
               nrows: int | None = None, usecols=None) -> np.ndarray:
    """Numeric block of a text file as a 2-D float64 array (pandas C parser).

    Blank rows are skipped; a trailing block of non-numeric lines (a footer)
    is dropped; any other non-numeric cell raises DataError naming the row.
    """
    import pandas as pd

    kw = dict(
        sep=sep, header=None, skiprows=skiprows, decimal=decimal, engine="c",
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


def check_finite(values: np.ndarray, *, path, what: str) -> None:
    """DataError with the count and first index of NaN/Inf samples."""
    if values.dtype.kind not in "fc":
        return
    ok = np.isfinite(values)
    if not ok.all():
        bad = np.flatnonzero(~ok)
        raise DataError(
            f"{path}: {what} holds {bad.size} NaN/Inf value(s) (first at sample {int(bad[0])}); "
            "expected finite numbers. Remove or interpolate them, or crop the recording."
        )


def nice_rate(fs: float, rel_tol: float) -> float:
    """Round a sampling rate to the fewest significant digits within ``rel_tol``."""
    for k in range(1, 10):
        c = float(f"{fs:.{k}g}")
        if abs(c - fs) <= rel_tol * fs:
            return c
    return fs


def regularise_time(time: np.ndarray, *, path, header_dt: float | None = None):
    """Sampling rate, start time and warnings from a time column (s).

    A uniform trace is rebuilt from the sample index: repeated stamps
    (time printed with few digits), uneven steps or gaps are reported in
    the warnings rather than kept.
    """
    t = np.ascontiguousarray(time, dtype=np.float64)
    n = t.size
    check_finite(t, path=path, what="the time column")
    warnings: list[str] = []
    if n < 2:
        if header_dt:
            return 1.0 / header_dt, float(t[0]) if n else 0.0, warnings
        raise DataError(f"{path}: only {n} sample(s); need at least 2 to find the sampling rate (or pass fs=)")
    d = np.diff(t)
    pos = d[d > 0]
    if pos.size == 0:
        raise DataError(f"{path}: the time column never increases (first value {t[0]!r}, last {t[-1]!r}); expected time stamps")
    span_dt = (t[-1] - t[0]) / (n - 1)
    med = float(np.median(d))
    n_back = int((d < 0).sum())
    n_zero = int((d == 0).sum())
    rel_tol = 1e-6
    if n_back:
        dt = float(np.median(pos))
        first = int(np.flatnonzero(d < 0)[0]) + 1
        warnings.append(
            f"time column goes backwards at {n_back} place(s) (first at sample {first}, t={t[first]:g} s): "
            f"segments were joined; time rebuilt from the sample index at the median step {dt:g} s"
        )
        rel_tol = 1e-3
    elif n_zero:
        dt = span_dt
        small = float(pos.min())
        if dt > 1.5 * small:
            warnings.append(
                f"time column has gaps: the mean step {dt:g} s is larger than the finest step {small:g} s"
            )
        resid = float(np.max(np.abs(t - (t[0] + np.arange(n) * dt))))
        rel_tol = max(1e-6, 2 * resid / (t[-1] - t[0]))
        warnings.append(
            f"time column is quantised ({n_zero} repeated time stamps, printed with too few digits); "
            f"time rebuilt from the sample index at {1 / dt:g} Hz"
        )
    else:
        dt = med
        gaps = d > 1.5 * dt
        if gaps.any():
            k = int(np.argmax(d))
            warnings.append(
                f"time column has {int(gaps.sum())} gap(s) longer than 1.5 sampling intervals "
                f"(largest {d[k]:g} s after t={t[k]:g} s); samples are treated as contiguous at "
                f"{1 / dt:g} Hz, so times after a gap are earlier than in the file"
            )
            rel_tol = 1e-4
        else:
            jitter = float(np.max(np.abs(d - dt)) / dt)
            if jitter > 1e-3:
                dt = span_dt
                resid = float(np.max(np.abs(t - (t[0] + np.arange(n) * dt))))
                rel_tol = max(1e-6, 2 * resid / (t[-1] - t[0]))
                warnings.append(
                    f"time column is uneven (step varies by up to {100 * jitter:.2g} %); "
                    f"time rebuilt from the sample index at {1 / dt:g} Hz"
                )
            else:
                dt = span_dt
    if header_dt:
        if abs(header_dt - dt) > 0.01 * header_dt:
            warnings.append(
                f"the header's sample interval {header_dt:g} s differs from the time column's {dt:g} s; "
                "using the header's"
            )
        dt, rel_tol = header_dt, 1e-9
    fs = nice_rate(1.0 / dt, rel_tol)
    return fs, float(t[0]), warnings


def trace_from_columns(current: np.ndarray, *, path, meta: dict, time: np.ndarray | None = None,
                       fs: float | None = None, header_dt: float | None = None,
                       current_scale: float = 1.0, time_scale: float = 1.0, column: str = "current") -> Trace:
    """Trace from a current column (and an optional time column) in file units."""
    # a contiguous copy: a column view would keep the whole table alive and be slow to scan
    given = current
    current = np.ascontiguousarray(current, dtype=np.float64)
    if current.size == 0:
        raise DataError(f"{path}: no samples found in column {column!r}")
    check_finite(current, path=path, what=f"column {column!r}")
    if current_scale != 1.0:
        if current.flags.writeable and not np.may_share_memory(current, given):
            current *= current_scale  # our own copy: scale in place
        else:
            current = current * current_scale  # never modify the caller's (or a file's) array
    meta.setdefault("converted", {})["current_scale"] = current_scale
    t0 = 0.0
    if fs is not None:
        fs = _positive(fs, "fs", path)
        if time is not None:
            meta["warnings"].append("fs= given: the file's time column was ignored")
            t0 = float(time[0]) * time_scale
    elif time is not None:
        meta["converted"]["time_scale"] = time_scale
        fs, t0, warns = regularise_time(np.ascontiguousarray(time, np.float64) * time_scale, path=path,
                                        header_dt=header_dt)
        meta["warnings"].extend(warns)
    elif header_dt is not None:
        fs = 1.0 / header_dt
    else:
        raise ParameterError(
            f"{path}: no time column and no sampling rate in the file; pass fs=<Hz> to load_trace"
        )
    return Trace(current, fs=fs, t0=t0, meta=meta, source=str(path))


def _positive(value, name, path) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a positive number, found {value!r}") from None
    if not np.isfinite(v) or v <= 0:
        raise ParameterError(f"{name} must be a positive number, found {value!r} (loading {path})")
    return v


def unit_scale(unit, kind, *, path, column, override=None) -> tuple[float, str | None]:
    """(scale to SI, unit as found or given) for a column; override wins."""
    found = override if override is not None else unit
    return _units.scale(found, kind, where=f"{path}, column {column!r}"), found
