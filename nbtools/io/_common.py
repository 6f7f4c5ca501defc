"""Helpers shared by the readers: path checks, file heads, bounded text lines, sample checks, trace meta."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DataError, FormatError, MissingFileError, ParameterError
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


def read_text_lines(path: Path, max_lines: int, *, max_bytes: int | None = None) -> list[str]:
    """First ``max_lines`` lines, decoded utf-8 or latin-1, line ends stripped.

    A line longer than :data:`~nbtools.io.limits.MAX_LINE_BYTES` is cut there
    (the rest of it skipped), so a damaged file cannot make a header line eat
    the memory.
    """
    from .limits import MAX_LINE_BYTES

    limit = MAX_LINE_BYTES if max_bytes is None else max_bytes
    lines = []
    with open(path, "rb") as fh:
        for _ in range(max_lines):
            raw = fh.readline(limit)
            if not raw:
                break
            if len(raw) >= limit and not raw.endswith(b"\n"):
                while True:  # skip the rest of an over-long line
                    rest = fh.readline(limit)
                    if not rest or rest.endswith(b"\n"):
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
        "gaps": [],
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


def check_samples(values, *, path, what: str) -> np.ndarray:
    """A 1-D real numeric array of samples, else an error naming what was found (complex, bool, text...)."""
    arr = values if isinstance(values, np.ndarray) else np.asarray(values)
    kind = arr.dtype.kind
    if kind == "c":
        raise DataError(f"{path}: {what} holds complex numbers ({arr.dtype}); expected real currents. "
                        "Take the real part or the magnitude first and save that.")
    if kind == "b":
        raise DataError(f"{path}: {what} holds booleans (True/False), not currents; choose another channel")
    if kind not in "fiu":
        raise FormatError(f"{path}: {what} holds {arr.dtype} values ({_KIND_NAMES.get(kind, kind)}), not numbers; "
                          "expected a numeric current channel")
    if arr.ndim != 1:
        raise FormatError(f"{path}: {what} has shape {arr.shape}; expected one dimension of samples")
    return arr


_KIND_NAMES = {"U": "text", "S": "bytes", "O": "Python objects", "V": "raw records", "M": "dates", "m": "durations"}


def trace_from_columns(current: np.ndarray, *, path, meta: dict, time: np.ndarray | None = None,
                       fs: float | None = None, header_dt: float | None = None,
                       current_scale: float = 1.0, time_scale: float = 1.0, column: str = "current",
                       resample="auto", instrument: str = "unknown instrument") -> Trace:
    """Trace from a current column (and an optional time column) in file units.

    The time column goes through :func:`nbtools.io.timebase.uniform_time`
    (quantised printing rebuilt from the index, gaps filled, irregular sampling
    interpolated; ``resample`` as there); the current is checked for
    plausibility for ``instrument`` (:func:`nbtools.io.sanity.check_current_magnitude`; None: not checked).
    """
    from .sanity import check_current_magnitude
    from .timebase import uniform_time

    given = check_samples(current, path=path, what=f"column {column!r}")
    # a contiguous copy: a column view would keep the whole table alive and be slow to scan
    current = np.ascontiguousarray(given, dtype=np.float64)
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
        time = check_samples(time, path=path, what="the time column")
        tb = uniform_time(np.ascontiguousarray(time, np.float64) * time_scale, current, path=path,
                          header_dt=header_dt, resample=resample)
        tb.record(meta)
        fs, t0, current = tb.fs, tb.t0, tb.values
    elif header_dt is not None:
        fs = _positive(1.0 / _positive(header_dt, "the sample interval in the header", path), "fs", path)
    else:
        raise ParameterError(
            f"{path}: no time column and no sampling rate in the file; pass fs=<Hz> to load_trace"
        )
    if instrument is not None:
        check_current_magnitude(current, meta=meta, path=path, instrument=instrument, scale=1.0)
    return Trace(current, fs=fs, t0=t0, meta=meta, source=str(path))


def file_number(value, *, name: str, path, positive: bool = True) -> float:
    """A finite number stored in a file (``fs``, ``dt``, ``t0``...), else a DataError naming it.

    Accepts a Python or NumPy scalar, a one-element array or numeric text;
    refuses text, booleans, complex numbers, NaN/Inf and (``positive=True``)
    zero or negative values.
    """
    v = value
    if isinstance(v, np.ndarray):
        if v.size != 1:
            raise DataError(f"{path}: {name} in the file should be one number, found an array of shape {v.shape}")
        v = value = v.reshape(()).item()
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    if isinstance(v, (bool, np.bool_)) or isinstance(v, (complex, np.complexfloating)):
        raise DataError(f"{path}: {name} in the file is {value!r}; expected a real number")
    try:
        f = float(v)
    except (TypeError, ValueError, OverflowError):
        raise DataError(f"{path}: {name} in the file is {value!r}; expected a number") from None
    if not np.isfinite(f) or (positive and f <= 0):
        need = "a positive finite number" if positive else "a finite number"
        raise DataError(f"{path}: {name} in the file is {value!r}; expected {need}. Pass the value as an option "
                        f"(e.g. fs=<Hz>) to override the file")
    return f


def reader_boundary(what: str):
    """Decorator for a public reader ``fn(path, ...)``: any exception that is not an nbtools error becomes one.

    Library errors (h5py, npTDMS, zipfile, pandas...) on damaged files become
    FormatError naming the file, ``what`` was expected and what was found;
    MemoryError becomes SizeLimitError.
    """
    import functools

    from ..errors import NbtoolsError, SizeLimitError
    from .limits import ENV

    def deco(fn):
        @functools.wraps(fn)
        def wrapper(path, *args, **kwargs):
            try:
                return fn(path, *args, **kwargs)
            except (NbtoolsError, Warning):  # a warning raised as an error (filterwarnings) stays itself
                raise
            except MemoryError as exc:
                raise SizeLimitError(f"{path}: ran out of memory reading {what}; crop or split the file, or lower "
                                     f"{ENV} so that files this large are refused up front") from exc
            except Exception as exc:  # noqa: BLE001 - the boundary: every failure becomes an nbtools error
                raise FormatError(wrap_message(path, what, exc)) from exc
        return wrapper
    return deco


def wrap_message(path, what: str, exc: BaseException) -> str:
    """Message for a library exception on a file: file, what was expected, what was found."""
    found = str(exc).strip().replace("\n", " ")
    if len(found) > 300:
        found = found[:300] + "..."
    return (f"{path}: could not be read as {what}: the reader found {type(exc).__name__}"
            f"{': ' + found if found else ''}. The file is damaged, truncated or not of this format; "
            "check that the copy is complete, or pass format= (nbtools.io.list_formats())")


def _positive(value, name, path) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a positive number, found {value!r}") from None
    if not np.isfinite(v) or v <= 0:
        raise ParameterError(f"{name} must be a positive number, found {value!r} (loading {path})")
    return v
