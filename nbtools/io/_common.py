"""Helpers shared by the readers: path checks, file heads, time columns, trace meta."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DataError, MissingFileError, ParameterError
from ..trace import Trace

HEAD_BYTES = 16384


def check_path(path, *, what: str = "an instrument file", folder: bool | None = False) -> Path:
    """Path of something that exists, else an error naming it and what was expected.

    ``folder=False``: a non-empty regular file; ``True``: a folder; ``None``: either.
    """
    try:
        p = Path(os.fspath(path)).expanduser()
    except TypeError:
        raise ParameterError(f"path must be a file path (str or Path), found {type(path).__name__}") from None
    if not p.exists():
        noun = "file" if folder is False else "folder" if folder else "file or folder"
        raise MissingFileError(f"{p}: no such {noun} (path not found); expected {what} (check the name and folder)")
    if folder is False and p.is_dir():
        raise MissingFileError(f"{p}: is a folder; expected the path of {what}")
    if folder is True and not p.is_dir():
        raise ParameterError(f"{p}: is a file; expected {what}")
    if not p.is_dir() and p.stat().st_size == 0:
        raise DataError(f"{p}: file is empty (0 bytes: no numeric rows or data); expected {what}")
    return p


def check_file(path) -> Path:
    """Path of an existing, non-empty regular file, else a clear error."""
    return check_path(path, what="one instrument file")


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
