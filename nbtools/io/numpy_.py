"""NumPy files: ``.npy`` (one 1-D current array, memory-mapped) and ``.npz`` archives.

A ``.npy`` holds no units or sampling rate: pass ``fs=``; the values are taken
as amperes unless ``current_unit=`` says otherwise (nbtools saves SI).
An ``.npz`` may carry ``fs`` (Hz) or ``dt`` (s), ``t0``, ``time`` and a
``current_unit`` string next to the current array.
"""

from __future__ import annotations

import zipfile

import numpy as np

from .. import units as _units
from ..errors import FormatError, ParameterError
from ..trace import Trace
from ._common import _positive, new_meta, trace_from_columns

__all__ = ["read_npy", "read_npz", "sniff_npy", "sniff_npz"]

_CURRENT_KEYS = ("current", "current_A", "i", "I", "data", "y")
_LAZY_BYTES = 256 * 2**20


def sniff_npy(head: bytes, text) -> int:
    return 2 if head[:6] == b"\x93NUMPY" else 0


def sniff_npz(head: bytes, text) -> int:
    return 1 if head[:4] == b"PK\x03\x04" else 0


def read_npy(path, *, fs=None, current_unit=None, t0=0.0, channel=None) -> Trace:
    """Read a 1-D ``.npy`` array of current (A unless ``current_unit=``); ``fs=`` is required.

    ``channel`` is accepted for symmetry with other formats (``'array'`` or 0).
    """
    if channel not in (None, 0, "array"):
        raise ParameterError(f"{path}: a .npy file holds one channel ('array'); found channel={channel!r}")
    arr = np.load(path, mmap_mode="r", allow_pickle=False)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1 or arr.dtype.kind not in "fiu":
        raise FormatError(f"{path}: expected a 1-D numeric array of current, found shape {arr.shape} {arr.dtype}")
    if fs is None:
        raise ParameterError(f"{path}: a .npy file stores no sampling rate; pass fs=<Hz> to load_trace")
    unit = current_unit or "A"
    cscale = _units.scale(unit, "current", where=f"{path} (current_unit)")
    meta = new_meta("npy", instrument=None, units={"current": unit}, channel="array", channels=["array"],
                    units_source="current_unit option" if current_unit else "assumed A (.npy stores no units)")
    rate = _positive(fs, "fs", path)
    if arr.nbytes > _LAZY_BYTES:
        meta["converted"]["current_scale"] = cscale
        meta["warnings"].append("large array memory-mapped: NaN/Inf not checked at open")
        return Trace.from_raw(arr, fs=rate, gain=cscale, t0=t0, meta=meta, source=str(path))
    tr = trace_from_columns(np.asarray(arr), path=path, meta=meta, fs=rate, current_scale=cscale, column="array")
    tr.t0 = float(t0)
    return tr


def _scalar(z, key):
    v = z[key]
    if v.ndim and v.size != 1:
        raise FormatError(f"npz key {key!r} should hold one number, found shape {v.shape}")
    return v.item()


def read_npz(path, *, key=None, channel=None, fs=None, current_unit=None) -> Trace:
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
    """
    if key is None:
        key = channel
    try:
        z = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, ValueError) as exc:
        raise FormatError(f"{path}: not a readable .npz archive ({exc})") from None
    with z:
        keys = list(z.files)
        if key is not None:
            if key not in keys:
                raise ParameterError(f"{path}: key {key!r} not in the archive; keys found: {', '.join(keys)}")
            ck = key
        else:
            ck = next((k for k in _CURRENT_KEYS if k in keys), None)
            if ck is None:
                ck = next((k for k in keys if _units.split_label(k)[0].lower() in ("current", "i")), None)
            if ck is None:
                raise ParameterError(f"{path}: no current array (keys {', '.join(_CURRENT_KEYS)}); "
                                     f"keys found: {', '.join(keys)}. Pass key='...'.")
        cur = z[ck]
        if cur.ndim != 1:
            raise FormatError(f"{path}: array {ck!r} has shape {cur.shape}; expected 1-D current")
        stored = None
        for uk in ("current_unit", "units", "unit"):
            if uk in keys:
                stored = str(z[uk].item() if z[uk].ndim == 0 else z[uk][0])
                break
        unit = current_unit or stored or _units.split_label(ck)[1] or "A"
        source = ("current_unit option" if current_unit else "file" if stored or _units.split_label(ck)[1]
                  else "assumed A (no unit stored)")
        cscale = _units.scale(unit, "current", where=f"{path}, key {ck!r}")
        meta = new_meta("npz", units={"current": unit}, channel=ck, channels=keys, units_source=source)
        rate = fs
        if rate is None and "fs" in keys:
            rate = _scalar(z, "fs")
        if rate is None and "dt" in keys:
            rate = 1.0 / _scalar(z, "dt")
        time = None
        if rate is None:
            tk = next((k for k in ("time", "t") if k in keys), None)
            if tk is None:
                raise ParameterError(f"{path}: no 'fs', 'dt' or 'time' in the archive (keys: {', '.join(keys)}); "
                                     "pass fs=<Hz>")
            time = z[tk]
            meta["units"]["time"] = "s"
        t0 = _scalar(z, "t0") if "t0" in keys else 0.0
        tr = trace_from_columns(cur, path=path, meta=meta, fs=rate, time=time, current_scale=cscale, column=ck)
        if time is None:
            tr.t0 = float(t0)
        return tr
