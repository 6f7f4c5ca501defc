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

    def __post_init__(self):
        if not isinstance(self.current, np.ndarray):
            self.current = np.asarray(self.current)
        if self.current.ndim != 1:
            raise DataError(
                f"Trace current must be 1-D, found an array of shape {self.current.shape}"
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
        return int(self.current.shape[0])

    def __repr__(self) -> str:
        src = f", source={self.source!r}" if self.source else ""
        return (
            f"Trace(n={len(self)}, fs={self.fs:g} Hz, duration={self.duration:g} s, "
            f"t0={self.t0:g} s, dtype={self.current.dtype}{src})"
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
        return Trace(
            self.current[key],
            fs=self.fs / step,
            t0=self.t0 + start / self.fs,
            meta=dict(self.meta),
            source=self.source,
        )
