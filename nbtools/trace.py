"""The current-time recording shared by readers, analysis and widgets."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from .errors import DataError, ParameterError

__all__ = ["Trace"]


@dataclass(eq=False)
class Trace:
    """A uniformly sampled current-time recording.

    Parameters
    ----------
    current : numpy.ndarray
        1-D current in amperes (A); may be a read-only memory map.
    fs : float
        Sampling rate in hertz (Hz).
    t0 : float, optional
        Time of the first sample in seconds (s).
    meta : dict, optional
        What the file says: ``instrument``, ``units`` as found, applied
        ``potential`` (V), filter settings, conversions and ``warnings``.
    source : str, optional
        Path of the file the trace was read from.

    Notes
    -----
    Big recordings can be opened lazily with :meth:`Trace.from_raw`: the
    trace then keeps the file's samples (often a read-only ``numpy.memmap`` of
    16-bit integers) together with a ``gain`` and ``offset`` so that
    ``current = raw * gain + offset`` (A). Nothing is read until ``current``
    is first used; ``len()``, ``fs``, ``time``, slicing and ``meta`` never read
    samples, and :meth:`chunks` streams amperes block by block without ever
    holding the whole array. ``is_lazy`` tells whether ``current`` has been
    computed yet.

    Examples
    --------
    >>> import numpy as np
    >>> from nbtools import Trace
    >>> tr = Trace(np.zeros(1000), fs=100.0)
    >>> len(tr), tr.duration
    (1000, 10.0)
    >>> len(tr.slice_time(1.0, 2.0))
    100
    """

    current: np.ndarray
    fs: float
    t0: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)
    source: str | None = None

    @classmethod
    def from_raw(
        cls,
        raw: np.ndarray,
        *,
        fs: float,
        gain: float = 1.0,
        offset: float = 0.0,
        dtype=np.float64,
        t0: float = 0.0,
        meta: dict[str, Any] | None = None,
        source: str | None = None,
    ) -> "Trace":
        """A trace whose current is ``raw * gain + offset`` (A), computed on demand.

        Parameters
        ----------
        raw : numpy.ndarray
            1-D samples as stored in the file (e.g. an int16 ``numpy.memmap``,
            possibly a strided view of one channel). Not copied, not read.
        fs : float
            Sampling rate in hertz (Hz).
        gain, offset : float
            Scale to amperes: ``current = raw * gain + offset``.
        dtype : numpy dtype, optional
            Floating dtype of ``current`` and of the blocks from :meth:`chunks`.
        t0, meta, source
            As for :class:`Trace`.

        Examples
        --------
        >>> import numpy as np
        >>> from nbtools import Trace
        >>> raw = np.array([0, 10, -10], dtype=np.int16)
        >>> tr = Trace.from_raw(raw, fs=10.0, gain=1e-12)
        >>> tr.is_lazy, len(tr)
        (True, 3)
        >>> tr.current.tolist()
        [0.0, 1e-11, -1e-11]
        """
        raw = raw if isinstance(raw, np.ndarray) else np.asarray(raw)
        self = cls.__new__(cls)
        self._raw = raw
        self._gain = float(gain)
        self._offset = float(offset)
        self._dtype = np.dtype(dtype)
        self.fs = fs
        self.t0 = t0
        self.meta = {} if meta is None else meta
        self.source = source
        self._validate(raw)
        return self

    def __getattr__(self, name):
        # Only reached when `current` is not yet in the instance dict: a lazy trace.
        if name == "current" and "_raw" in self.__dict__:
            value = self._scale(self._raw)
            self.__dict__["current"] = value
            return value
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _scale(self, raw: np.ndarray) -> np.ndarray:
        if self._gain == 1.0 and self._offset == 0.0 and raw.dtype == self._dtype:
            return raw
        out = np.empty(raw.shape, dtype=self._dtype)
        # one pass from the file's dtype to amperes (no intermediate copy)
        np.multiply(raw, self._dtype.type(self._gain), out=out, casting="unsafe")
        if self._offset != 0.0:
            out += self._dtype.type(self._offset)
        return out

    def __reduce_ex__(self, protocol):
        # A lazy trace over a file pickles as (file, byte position, strides), not as its
        # samples, so that sending it to a Dask worker does not read the recording.
        if self.is_lazy:
            spec = _memmap_spec(self._raw)
            if spec is not None:
                args = (spec, self.fs, self._gain, self._offset, self._dtype.str, self.t0, self.meta, self.source)
                return (_lazy_from_file, args)
        return super().__reduce_ex__(protocol)

    @property
    def is_lazy(self) -> bool:
        """True while ``current`` has not been computed from the file's raw samples."""
        return "current" not in self.__dict__

    def chunks(self, size: int = 1 << 20, *, overlap: int = 0):
        """Yield ``(start, current_block)`` pairs covering the trace in order.

        Each block holds up to ``size`` samples in amperes; ``start`` is the
        index of its first sample. With ``overlap > 0`` each block after the
        first begins ``overlap`` samples before the end of the previous one
        (for windowed filters). On a lazy trace only one block is in memory
        at a time, so a multi-GB recording streams without being loaded.
        """
        size = int(size)
        overlap = int(overlap)
        if size <= 0 or not 0 <= overlap < size:
            raise ParameterError(
                f"chunks needs size > 0 and 0 <= overlap < size, found size={size}, overlap={overlap}"
            )
        n = len(self)
        lazy = self.is_lazy
        src = self._raw if lazy else self.current
        start = 0
        while start < n:
            stop = min(start + size, n)
            block = src[start:stop]
            yield start, (self._scale(np.asarray(block)) if lazy else block)
            if stop >= n:
                break
            start = stop - overlap

    def __post_init__(self):
        if not isinstance(self.current, np.ndarray):
            self.current = np.asarray(self.current)
        self._validate(self.current)

    def _validate(self, samples: np.ndarray):
        if samples.ndim != 1:
            raise DataError(
                f"Trace current must be 1-D, found an array of shape {samples.shape}"
                + (f" (from {self.source})" if self.source else "")
            )
        try:
            fs = float(self.fs)
        except (TypeError, ValueError):
            raise ParameterError(f"fs must be a sampling rate in Hz, found {self.fs!r}") from None
        if not np.isfinite(fs) or fs <= 0:
            raise ParameterError(f"fs must be a positive sampling rate in Hz, found {self.fs!r}")
        self.fs = fs
        self.t0 = float(self.t0)

    def __len__(self) -> int:
        samples = self._raw if self.is_lazy else self.current
        return int(samples.shape[0])

    def __repr__(self) -> str:
        src = f", source={self.source!r}" if self.source else ""
        if self.is_lazy:
            dtype = f"lazy {self._raw.dtype} -> {self._dtype}"
        else:
            dtype = f"dtype={self.current.dtype}"
        return (
            f"Trace(n={len(self)}, fs={self.fs:g} Hz, duration={self.duration:g} s, "
            f"t0={self.t0:g} s, {dtype}{src})"
        )

    @property
    def dt(self) -> float:
        """Sampling interval in seconds."""
        return 1.0 / self.fs

    @property
    def duration(self) -> float:
        """Length of the recording in seconds (``len / fs``)."""
        return len(self) / self.fs

    @cached_property
    def time(self) -> np.ndarray:
        """Time of each sample in seconds, computed on first access."""
        return self.t0 + np.arange(len(self), dtype=np.float64) / self.fs

    def index_at(self, t: float) -> int:
        """Index of the first sample at or after time ``t`` (s), clipped to the trace."""
        i = int(np.ceil(round((t - self.t0) * self.fs, 9)))
        return min(max(i, 0), len(self))

    def slice_time(self, start: float | None = None, stop: float | None = None) -> "Trace":
        """Samples with ``start <= time < stop`` (s) as a new Trace sharing memory."""
        i0 = 0 if start is None else self.index_at(start)
        i1 = len(self) if stop is None else self.index_at(stop)
        return self[i0:i1]

    def __getitem__(self, key) -> "Trace":
        if not isinstance(key, slice):
            raise ParameterError(
                "Trace indexing takes a slice of samples (trace[i0:i1]) "
                f"or use slice_time(start, stop); found {type(key).__name__}"
            )
        start, stop, step = key.indices(len(self))
        if self.is_lazy:
            return Trace.from_raw(
                self._raw[key],
                fs=self.fs / step,
                gain=self._gain,
                offset=self._offset,
                dtype=self._dtype,
                t0=self.t0 + start / self.fs,
                meta=dict(self.meta),
                source=self.source,
            )
        return Trace(
            self.current[key],
            fs=self.fs / step,
            t0=self.t0 + start / self.fs,
            meta=dict(self.meta),
            source=self.source,
        )


def _memmap_spec(raw: np.ndarray):
    """(filename, byte position, dtype, length, stride) of a 1-D view of a np.memmap, else None."""
    import mmap

    root = raw
    while isinstance(root, np.ndarray) and not isinstance(root.base, mmap.mmap):
        root = root.base
    if not isinstance(root, np.memmap) or getattr(root, "filename", None) is None or raw.ndim != 1:
        return None
    stride = raw.strides[0]
    if stride <= 0 and len(raw) > 1:
        return None
    pos = root.offset + (raw.__array_interface__["data"][0] - root.__array_interface__["data"][0])
    return (root.filename, int(pos), raw.dtype.str, int(raw.shape[0]), int(stride))


def _lazy_from_file(spec, fs, gain, offset, dtype, t0, meta, source):
    filename, pos, raw_dtype, n, stride = spec
    raw_dtype = np.dtype(raw_dtype)
    if n == 0:
        raw = np.empty(0, raw_dtype)
    else:
        extent = (n - 1) * stride + raw_dtype.itemsize
        block = np.memmap(filename, dtype=np.uint8, mode="r", offset=pos, shape=(extent,))
        raw = np.ndarray((n,), dtype=raw_dtype, buffer=block, strides=(stride,))
    return Trace.from_raw(raw, fs=fs, gain=gain, offset=offset, dtype=dtype, t0=t0, meta=meta, source=source)
