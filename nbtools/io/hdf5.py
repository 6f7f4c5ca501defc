"""HDF5 files (h5py): one 1-D dataset is the current.

The dataset is chosen by ``dataset=`` (a path such as ``'/run1/current'``), by
default the first 1-D numeric dataset whose name or ``units`` attribute says
current. Units come from the attributes ``units``/``unit``/``unit_string``
or the name (``'current_pA'``); the sampling rate from ``fs``/
``sampling_rate`` (Hz) or ``dt``/``sampling_interval`` (s) on the dataset,
its group or the file, else a sibling ``time`` dataset, else ``fs=``.
Contiguous uncompressed datasets are memory-mapped, not read. A dataset's
declared size is checked against the file (contiguous) or its stored bytes
(chunked, compressed: at most 200 times) and the memory budget before it is read.
"""

from __future__ import annotations

import re

import numpy as np

from .. import units as _units
from ..errors import DataError, FormatError, ParameterError
from ..trace import Trace
from ._common import check_samples, file_number, new_meta, trace_from_columns
from .limits import address_space, check_budget, check_declared, check_expansion

__all__ = ["read", "sniff", "check_global_heaps", "check_datasets"]

_SIG = b"\x89HDF\r\n\x1a\n"
_CURRENT = re.compile(r"^(current|i|im|curr)\b|current", re.IGNORECASE)
_TIME = re.compile(r"^(t|time)(\b|_)", re.IGNORECASE)
_FS_KEYS = ("fs", "sampling_rate", "sample_rate", "rate", "sampling_frequency")
_DT_KEYS = ("dt", "sampling_interval", "sample_interval", "interval")
_UNIT_KEYS = ("units", "unit", "unit_string", "current_unit")
_LAZY_BYTES = 256 * 2**20


def sniff(head: bytes, text) -> int:
    return 2 if head[:8] == _SIG else 0


_GCOL = b"GCOL\x01\x00\x00\x00"
_SCAN_ALL = 256 << 20
_SCAN_ENDS = 64 << 20


def check_global_heaps(path) -> None:
    """FormatError when a global heap collection (where HDF5 keeps variable-length strings) is damaged.

    The HDF5 library loops forever, or allocates gigabytes, on a collection
    whose object sizes do not add up; this walks each collection first (HDF5
    file format, "Global Heap": ``GCOL``, version 1, collection size, then
    objects of index, reference count, size and data padded to 8 bytes; object
    0 is the free space up to the end). Files up to 256 MiB are searched whole,
    larger ones in their first and last 64 MiB (where metadata is written).
    """
    import mmap

    size = path.stat().st_size
    if size < len(_GCOL) + 8:
        return
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        spans = [(0, size)] if size <= _SCAN_ALL else [(0, _SCAN_ENDS), (size - _SCAN_ENDS, size)]
        for lo, hi in spans:
            pos = mm.find(_GCOL, lo, hi)
            while pos >= 0:
                _walk_collection(mm, pos, size, path)
                pos = mm.find(_GCOL, pos + 8, hi)


def _walk_collection(mm, start, size, path):
    def u(at, n):
        return int.from_bytes(mm[at:at + n], "little")

    total = u(start + 8, 8)
    end = start + total
    if total < 16 or end > size:
        raise FormatError(f"{path}: an HDF5 global heap at byte {start} declares {total} bytes, beyond the file "
                          f"({size} bytes); the file is damaged")
    pos = start + 16
    while pos + 16 <= end:
        index, n = u(pos, 2), u(pos + 8, 8)
        if index == 0:  # free space: to the end of the collection
            if pos + n != end:
                raise FormatError(f"{path}: the HDF5 global heap at byte {start} is damaged (its free space at byte "
                                  f"{pos} does not reach the end of the collection)")
            return
        pos += 16 + (n + 7) // 8 * 8
    if pos > end:
        raise FormatError(f"{path}: the HDF5 global heap at byte {start} is damaged (object sizes overrun it)")


def check_datasets(f, path) -> float:
    """Every dataset's declared size against the file (contiguous) or its stored bytes (chunked), and the
    sum against the memory budget: for readers that load a whole file (xarray's NetCDF backend).

    Returns the declared bytes of all datasets.
    """
    import h5py

    found = []
    f.visititems(lambda name, obj: found.append(obj) if isinstance(obj, h5py.Dataset) else None)
    total = 0.0
    for ds in found:
        offset, stored = _stored(ds, path)
        if offset is None:
            check_expansion(ds.nbytes, stored, path=path, what=f"dataset {ds.name}")
        total += ds.nbytes
    check_budget(2.0 * total, path=path, what="the datasets of the file")
    return total


_ATTR_ITEMS = 100_000
_ATTR_BYTES = 64 << 20


def _read_attr(o, k, path):
    """One attribute, read within a small address-space allowance: a damaged one is a FormatError."""
    aid = o.attrs.get_id(k)
    if int(np.prod(aid.shape, dtype=np.int64)) > _ATTR_ITEMS:
        raise FormatError(f"{path}: attribute {k!r} of {o.name} declares shape {aid.shape}; too large for a setting")
    try:
        with address_space(_ATTR_BYTES):
            return o.attrs[k]
    except (MemoryError, OSError, RuntimeError, ValueError, TypeError) as exc:
        raise FormatError(f"{path}: attribute {k!r} of {o.name} is damaged ({type(exc).__name__}: {exc})") from None


def _attrs_text(o, path) -> dict:
    return {k: str(_read_attr(o, k, path)) for k in o.attrs}


def _attr(objs, keys, path=""):
    for o in objs:
        for k in keys:
            if k in o.attrs:
                v = _read_attr(o, k, path)
                if isinstance(v, bytes):
                    v = v.decode("utf-8", "replace")
                if isinstance(v, np.ndarray) and v.size == 1:
                    v = v.item()
                return k, v
    return None, None


def read(path, *, dataset=None, channel=None, time_dataset=None, current_unit=None, fs=None,
         resample="auto") -> Trace:
    """Read one dataset of an HDF5 file (see module docstring).

    Parameters
    ----------
    dataset, channel : str, optional
        Path of the current dataset inside the file (``channel`` is an alias,
        as listed in ``meta['channels']``).
    time_dataset : str, optional
        Path of a time dataset (s, or its ``units`` attribute).
    current_unit : str, optional
        Unit of the current when no attribute or name says.
    fs : float, optional
        Sampling rate (Hz).
    resample : 'auto', 'index' or float
        An irregular time dataset (:mod:`nbtools.io.timebase`).
    """
    import h5py

    if dataset is None:
        dataset = channel
    check_global_heaps(path)
    with h5py.File(path, "r") as f:
        found = []
        f.visititems(lambda name, obj: found.append(obj) if isinstance(obj, h5py.Dataset) else None)
        ones = [d for d in found if d.ndim == 1 and d.dtype.kind in "fiu" and d.shape[0] > 0]
        listing = ", ".join(f"{d.name} {d.shape} {d.dtype}" for d in found) or "none"
        if dataset is not None:
            if dataset not in f or not isinstance(f[dataset], h5py.Dataset):
                raise ParameterError(f"{path}: dataset {dataset!r} not found; datasets: {listing}")
            ds = f[dataset]
            if ds.ndim != 1:
                raise FormatError(f"{path}: dataset {dataset!r} has shape {ds.shape}; expected 1-D")
        else:
            def is_current(d):
                _, u = _attr([d], _UNIT_KEYS, path)
                return _units.kind_of(str(u)) == "current" if u else bool(_CURRENT.search(d.name.split("/")[-1]))
            cands = [d for d in ones if is_current(d)] or \
                    [d for d in ones if not _TIME.match(d.name.split("/")[-1]) and d.dtype.kind == "f"]
            if not cands:
                raise ParameterError(f"{path}: no 1-D numeric dataset that could be a current; datasets: {listing}. "
                                     "Pass dataset='/path'.")
            ds = cands[0]
        parent = ds.parent
        chain = [ds, parent, f]
        _, unit = _attr([ds], _UNIT_KEYS, path)
        unit_from = "attribute"
        if unit is None:
            unit = _units.split_label(ds.name.split("/")[-1])[1]
            unit_from = "dataset name"
        cu = current_unit or unit
        cscale = _units.scale(cu, "current", where=f"{path}, dataset {ds.name}")
        meta = new_meta("hdf5", instrument=str(_attr([f], ("instrument",), path)[1] or "HDF5"),
                        units={"current": cu}, channel=ds.name, channels=[d.name for d in ones],
                        units_source=unit_from if current_unit is None else "current_unit option",
                        header=_attrs_text(ds, path))
        k, pot = _attr(chain, ("potential", "applied_potential", "E"), path)
        if pot is not None and not isinstance(pot, str):
            meta["potential"] = file_number(pot, name=f"attribute {k!r}", path=path, positive=False)
        rate = None
        if fs is None:
            k, v = _attr(chain, _FS_KEYS, path)
            if v is not None:
                rate = file_number(v, name=f"attribute {k!r} (Hz)", path=path)
            else:
                k, v = _attr(chain, _DT_KEYS, path)
                if v is not None:
                    rate = 1.0 / file_number(v, name=f"attribute {k!r} (s)", path=path)
        else:
            rate = float(fs)
        k, t0 = _attr(chain, ("t0", "start_time"), path)
        t0 = file_number(t0, name=f"attribute {k!r}", path=path, positive=False) \
            if t0 is not None and not isinstance(t0, str) else 0.0
        check_samples(np.empty(0, ds.dtype), path=path, what=f"dataset {ds.name}")
        if ds.shape[0] == 0:
            raise DataError(f"{path}: dataset {ds.name} is empty (0 samples)")
        if rate is not None:
            raw = _mapped(ds, path)
            if raw is not None and ds.nbytes > _LAZY_BYTES:
                meta["converted"]["current_scale"] = cscale
                meta["warnings"].append("large dataset memory-mapped: NaN/Inf not checked at open")
                from .sanity import check_current_magnitude

                check_current_magnitude(raw, scale=cscale, meta=meta, path=path)
                return Trace.from_raw(raw, fs=rate, gain=cscale, t0=t0, meta=meta, source=str(path))
            current = _read(ds, path)
            tr = trace_from_columns(current, path=path, meta=meta, fs=rate, current_scale=cscale, column=ds.name)
            tr.t0 = t0
            return tr
        current = _read(ds, path)
        tds = None
        if time_dataset is not None:
            if time_dataset not in f:
                raise ParameterError(f"{path}: time_dataset {time_dataset!r} not found; datasets: {listing}")
            tds = f[time_dataset]
        else:
            tds = next((d for d in parent.values() if isinstance(d, h5py.Dataset) and d is not ds
                        and d.ndim == 1 and _TIME.match(d.name.split("/")[-1])), None)
        if tds is None:
            raise ParameterError(f"{path}: dataset {ds.name} has no sampling rate attribute ({', '.join(_FS_KEYS)}) "
                                 "and no time dataset beside it; pass fs=<Hz>")
        _, tu = _attr([tds], _UNIT_KEYS, path)
        tu = tu or _units.split_label(tds.name.split("/")[-1])[1]
        if tu is None:
            tu = "s"
            meta["warnings"].append(f"time dataset {tds.name} states no unit; taken as seconds")
        meta["units"]["time"] = tu
        if tds.ndim != 1:
            raise FormatError(f"{path}: time dataset {tds.name} has shape {tds.shape}; expected 1-D")
        time = _read(tds, path)
        if time.shape != current.shape:
            raise FormatError(f"{path}: time dataset {tds.name} has {time.shape[0]} samples, "
                              f"current {current.shape[0]}")
        return trace_from_columns(current, path=path, meta=meta, time=time, current_scale=cscale,
                                  time_scale=_units.scale(str(tu), "time", where=f"{path}, {tds.name}"),
                                  column=ds.name, resample=resample)


def _stored(ds, path):
    """(contiguous byte offset or None, bytes stored) of a dataset, its declared extent checked against the file."""
    offset = ds.id.get_offset()
    stored = ds.id.get_storage_size()
    contiguous = ds.chunks is None and ds.compression is None and offset is not None
    if contiguous:
        check_declared(offset + ds.nbytes, path.stat().st_size, path=path,
                       what=f"the end of dataset {ds.name} (bytes)")
    return (offset if contiguous else None), stored


def _mapped(ds, path):
    """A read-only memory map of a contiguous, uncompressed, native-order dataset, else None."""
    offset, _ = _stored(ds, path)
    if offset is None or not ds.dtype.isnative:
        return None
    return np.memmap(path, dtype=ds.dtype, mode="r", offset=offset, shape=ds.shape)


def _read(ds, path):
    """The dataset in memory, after its declared size is checked against the file and the budget."""
    offset, stored = _stored(ds, path)
    if offset is None:
        check_expansion(ds.nbytes, stored, path=path, what=f"dataset {ds.name}")
    check_budget(ds.nbytes + 8.0 * ds.size, path=path, what=f"dataset {ds.name} ({ds.shape}, {ds.dtype})",
                 hint="Contiguous uncompressed datasets are memory-mapped when fs is known (store fs as an "
                      "attribute, or pass fs=).")
    return ds[()]
