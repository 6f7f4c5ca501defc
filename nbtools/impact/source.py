"""Samples of a recording by index range: a Trace or an array, in memory or memory-mapped.

:func:`as_samples` turns what the user passes (an :class:`~nbtools.Trace`, or
a 1-D array with its sampling rate) into :class:`Samples`; every detection
stage reads through :meth:`SampleSource.read`, so a memory-mapped file is
processed chunk by chunk with results identical to the in-memory run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError, ParameterError
from ..trace import Trace

__all__ = ["SampleSource", "Samples", "as_samples", "chunks"]


@dataclass
class SampleSource:
    """Sample access by global index range; memory-mapped files are re-mapped per chunk."""

    x: np.ndarray
    filename: str | None = None
    offset: int = 0

    @classmethod
    def of(cls, x):
        fn = getattr(x, "filename", None)
        if isinstance(x, np.memmap) and fn and x.flags.c_contiguous:
            return cls(x, str(fn), int(getattr(x, "offset", 0)))
        return cls(x)

    @property
    def n(self) -> int:
        return self.x.shape[0]

    def read(self, i0, i1):
        """Samples ``i0 .. i1-1`` in native byte order."""
        if self.filename is None or i1 - i0 == self.n:
            out = np.asarray(self.x[i0:i1])
        else:
            out = np.memmap(self.filename, dtype=self.x.dtype, mode="r",
                            offset=self.offset + i0 * self.x.dtype.itemsize, shape=(i1 - i0,))
        if not out.dtype.isnative:  # e.g. big-endian file data: the kernels take native numbers
            out = out.astype(out.dtype.newbyteorder("="))
        return out

    def is_constant(self, ranges) -> bool:
        """True when every sample of ``ranges`` (``[(i0, i1), ...]``) equals the first."""
        first = None
        for i0, i1 in ranges:
            x = self.read(i0, i1)
            if first is None:
                first = x[0]
            if np.any(x != first):
                return False
        return True


@dataclass
class Samples:
    """A recording as the detection sees it: samples (A), sampling rate (Hz), start time (s), metadata."""

    x: np.ndarray
    fs: float
    t0: float = 0.0
    meta: dict = field(default_factory=dict)
    source: str | None = None

    @property
    def n(self) -> int:
        return int(self.x.shape[0])

    @property
    def duration(self) -> float:
        return self.n / self.fs


def _rate(fs) -> float:
    try:
        fsf = float(fs)
    except (TypeError, ValueError):
        raise ParameterError(f"fs must be a sampling rate in Hz, found {fs!r}") from None
    if not np.isfinite(fsf) or fsf <= 0:
        raise ParameterError(f"fs must be a positive sampling rate in Hz, found {fs!r}")
    return fsf


def as_samples(trace, fs=None) -> Samples:
    """:class:`Samples` of a :class:`~nbtools.Trace` (``fs`` None or equal to its own) or of a
    1-D array of currents in A (``fs`` required)."""
    if isinstance(trace, Trace):
        if fs is not None and not math.isclose(_rate(fs), trace.fs, rel_tol=1e-9):
            raise ParameterError(
                f"fs={fs!r} Hz contradicts the Trace's fs={trace.fs:g} Hz; "
                "leave fs=None for a Trace (it carries its own sampling rate)")
        return Samples(trace.current, trace.fs, trace.t0, trace.meta or {}, trace.source)
    if fs is None:
        raise ParameterError(
            "fs (sampling rate in Hz) is required when trace is a plain array; "
            "call find_events(current, fs=...) or pass an nbtools.Trace")
    fsf = _rate(fs)
    x = trace if isinstance(trace, np.ndarray) else np.asarray(trace)
    if x.ndim != 1:
        raise DataError(f"trace must be 1-D current samples, found an array of shape {x.shape}")
    return Samples(x, fsf)


def chunks(n: int, chunk: int, B: int) -> list[tuple[int, int]]:
    """``[(i0, i1), ...]`` covering ``n`` samples, each a multiple of ``B`` long (but the last)."""
    chunk = max(B, (chunk // B) * B)
    return [(i, min(i + chunk, n)) for i in range(0, n, chunk)]
