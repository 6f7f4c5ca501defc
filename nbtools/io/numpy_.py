"""NumPy files: ``.npy`` (one 1-D current array, memory-mapped) and ``.npz`` archives.

A ``.npy`` holds no units or sampling rate: pass ``fs=``; the values are taken
as amperes unless ``current_unit=`` says otherwise (nbtools saves SI).
An ``.npz`` may carry ``fs`` (Hz) or ``dt`` (s), ``t0``, ``time`` and a
``current_unit`` string next to the current array.

Nothing in the file is trusted before it is checked: the ``.npy`` header
(shape, dtype; no pickled objects) is parsed first and the declared size
compared with the file; each ``.npz`` member's uncompressed size is compared
with the memory budget and its compressed size (:mod:`nbtools.io.limits`)
before it is decompressed.
"""

from __future__ import annotations

import zipfile

import numpy as np

from .. import units as _units
from ..errors import DataError, FormatError, NbtoolsError, ParameterError
from ..trace import Trace
from ._common import _positive, check_samples, file_number, new_meta, trace_from_columns
from .limits import check_budget, check_declared, check_expansion

__all__ = ["read_npy", "read_npz", "sniff_npy", "sniff_npz", "npy_header"]

_CURRENT_KEYS = ("current", "current_A", "i", "I", "data", "y")
_LAZY_BYTES = 256 * 2**20
_MAX_HEADER = 10_000


def sniff_npy(head: bytes, text) -> int:
    return 2 if head[:6] == b"\x93NUMPY" else 0


def sniff_npz(head: bytes, text) -> int:
    return 1 if head[:4] == b"PK\x03\x04" else 0


def npy_header(fh, *, path, what: str = "the .npy header"):
    """``(shape, fortran_order, dtype)`` of the array at the file position; FormatError when unreadable."""
    fmt = np.lib.format
    try:
        major, minor = fmt.read_magic(fh)
        if (major, minor) == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(fh, max_header_size=_MAX_HEADER)
        elif (major, minor) in ((2, 0), (3, 0)):
            shape, fortran, dtype = fmt.read_array_header_2_0(fh, max_header_size=_MAX_HEADER)
        else:
            raise ValueError(f"format version {major}.{minor}")
    except Exception as exc:  # noqa: BLE001 - numpy raises ValueError, SyntaxError, TokenError... on bad headers
        raise FormatError(f"{path}: {what} is not readable ({type(exc).__name__}: {exc}); the file is damaged "
                          "or not written by numpy.save") from None
    if dtype.hasobject:
        raise FormatError(f"{path}: {what} declares Python objects ({dtype}); nbtools never unpickles data from "
                          "files: save numbers only")
    if any(int(d) < 0 for d in shape):
        raise FormatError(f"{path}: {what} declares a negative shape {shape}")
    return tuple(int(d) for d in shape), bool(fortran), dtype


def read_npy(path, *, fs=None, current_unit=None, t0=0.0, channel=None) -> Trace:
    """Read a 1-D ``.npy`` array of current (A unless ``current_unit=``); ``fs=`` is required.

    ``channel`` is accepted for symmetry with other formats (``'array'`` or 0).
    Arrays over 256 MiB are memory-mapped, never loaded.
    """
    if channel not in (None, 0, "array"):
        raise ParameterError(f"{path}: a .npy file holds one channel ('array'); found channel={channel!r}")
    size = path.stat().st_size
    with open(path, "rb") as fh:
        shape, fortran, dtype = npy_header(fh, path=path)
        offset = fh.tell()
    if len(shape) == 2 and 1 in shape:
        shape = (shape[0] * shape[1],)
    n = int(np.prod(shape, dtype=np.int64)) if shape else 1
    check_declared(offset + n * dtype.itemsize, size, path=path, what="the end of the array the .npy header declares")
    check_samples(np.empty(0, dtype), path=path, what="the array")  # complex, boolean, text: refused
    if len(shape) != 1:
        raise FormatError(f"{path}: expected a 1-D numeric array of current, found shape {shape} {dtype}")
    if fs is None:
        raise ParameterError(f"{path}: a .npy file stores no sampling rate; pass fs=<Hz> to load_trace")
    unit = current_unit or "A"
    cscale = _units.scale(unit, "current", where=f"{path} (current_unit)")
    meta = new_meta("npy", instrument=None, units={"current": unit}, channel="array", channels=["array"],
                    units_source="current_unit option" if current_unit else "assumed A (.npy stores no units)")
    rate = _positive(fs, "fs", path)
    if n == 0:
        raise DataError(f"{path}: the array is empty (0 samples)")
    arr = np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=(n,))
    if arr.nbytes > _LAZY_BYTES:
        meta["converted"]["current_scale"] = cscale
        meta["warnings"].append("large array memory-mapped: NaN/Inf not checked at open")
        from .sanity import check_current_magnitude

        check_current_magnitude(arr, scale=cscale, meta=meta, path=path)
        return Trace.from_raw(arr, fs=rate, gain=cscale, t0=file_number(t0, name="t0", path=path, positive=False),
                              meta=meta, source=str(path))
    check_budget(16.0 * n, path=path, what=f"{n} samples")
    tr = trace_from_columns(np.array(arr), path=path, meta=meta, fs=rate, current_scale=cscale, column="array")
    del arr
    tr.t0 = float(t0)
    return tr


class _Archive:
    """The members of an ``.npz`` (a ZIP of ``.npy`` files), each size-checked before it is decompressed."""

    def __init__(self, path):
        self.path = path
        try:
            self.zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
            raise FormatError(f"{path}: not a readable .npz archive ({type(exc).__name__}: {exc})") from None
        self.members = {i.filename[:-4]: i for i in self.zf.infolist() if i.filename.endswith(".npy")}
        self.files = list(self.members)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.zf.close()

    def __contains__(self, key):
        return key in self.members

    def get(self, key):
        info = self.members[key]
        what = f"member {key!r}"
        check_expansion(info.file_size, info.compress_size, path=self.path, what=what)
        try:
            with self.zf.open(info) as fh:
                shape, fortran, dtype = npy_header(fh, path=self.path, what=f"the header of {what}")
                n = int(np.prod(shape, dtype=np.int64)) if shape else 1
                check_declared(n * dtype.itemsize, info.file_size, path=self.path,
                               what=f"the size {what} declares (bytes)")
            with self.zf.open(info) as fh:
                return np.lib.format.read_array(fh, allow_pickle=False, max_header_size=_MAX_HEADER)
        except NbtoolsError:
            raise
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, RuntimeError) as exc:
            raise FormatError(f"{self.path}: {what} of the archive is damaged ({type(exc).__name__}: {exc})"
                              ) from None

    def number(self, key, *, positive=True):
        return file_number(self.get(key), name=f"{key!r}", path=self.path, positive=positive)

    def text(self, key):
        v = self.get(key)
        if v.dtype.kind not in "US" or v.size != 1:
            raise DataError(f"{self.path}: {key!r} should hold a unit as text, found {v.dtype} of shape {v.shape}")
        v = v.reshape(()).item()
        return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def read_npz(path, *, key=None, channel=None, fs=None, current_unit=None, resample="auto") -> Trace:
    """Read the current array of an ``.npz`` archive (see module docstring).

    Parameters
    ----------
    key, channel : str, optional
        Name of the current array (``channel`` is an alias); default
        ``current`` (or ``i``, ``data``...).
    fs : float, optional
        Sampling rate (Hz) when the archive has no ``fs``/``dt``/``time``.
    current_unit : str, optional
        Unit of the current (default the ``current_unit`` entry, else A).
    resample : 'auto', 'index' or float
        An irregular ``time`` array (:mod:`nbtools.io.timebase`).
    """
    if key is None:
        key = channel
    with _Archive(path) as z:
        keys = z.files
        if key is not None:
            if key not in z:
                raise ParameterError(f"{path}: key {key!r} not in the archive; keys found: {', '.join(keys)}")
            ck = key
        else:
            ck = next((k for k in _CURRENT_KEYS if k in z), None)
            if ck is None:
                ck = next((k for k in keys if _units.split_label(k)[0].lower() in ("current", "i")), None)
            if ck is None:
                raise ParameterError(f"{path}: no current array (keys {', '.join(_CURRENT_KEYS)}); "
                                     f"keys found: {', '.join(keys)}. Pass key='...'.")
        cur = check_samples(z.get(ck), path=path, what=f"array {ck!r}")
        stored = next((z.text(uk) for uk in ("current_unit", "units", "unit") if uk in z), None)
        unit = current_unit or stored or _units.split_label(ck)[1] or "A"
        source = ("current_unit option" if current_unit else "file" if stored or _units.split_label(ck)[1]
                  else "assumed A (no unit stored)")
        cscale = _units.scale(unit, "current", where=f"{path}, key {ck!r}")
        meta = new_meta("npz", units={"current": unit}, channel=ck, channels=keys, units_source=source)
        rate = fs
        if rate is None and "fs" in z:
            rate = z.number("fs")
        if rate is None and "dt" in z:
            rate = 1.0 / z.number("dt")
        time = None
        if rate is None:
            tk = next((k for k in ("time", "t") if k in z), None)
            if tk is None:
                raise ParameterError(f"{path}: no 'fs', 'dt' or 'time' in the archive (keys: {', '.join(keys)}); "
                                     "pass fs=<Hz>")
            time = z.get(tk)
            meta["units"]["time"] = "s"
        t0 = z.number("t0", positive=False) if "t0" in z else 0.0
    tr = trace_from_columns(cur, path=path, meta=meta, fs=rate, time=time, current_scale=cscale, column=ck,
                            resample=resample)
    if time is None:
        tr.t0 = float(t0)
    return tr
