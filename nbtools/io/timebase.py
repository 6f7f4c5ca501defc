"""A file's time column -> the uniform time base of a :class:`~nbtools.Trace`, keeping every sample at its file time.

A :class:`~nbtools.Trace` is uniformly sampled. Time columns come in four kinds,
told apart by the column itself (:func:`uniform_time`):

``uniform``
    Every stamp within a tenth of a sample of ``t0 + i / fs``: time is rebuilt
    from the sample index (a jitter is reported when above 0.1 %).
``quantised``
    Stamps printed with too few digits (repeated values, or steps uneven by the
    printing resolution) but within that resolution of a uniform grid: rebuilt
    from the index, as the printed digits allow nothing better.
``gaps``
    Stamps on a uniform grid with samples missing (real gaps, e.g. a logger
    that skipped readings): every sample is put at its grid position, the
    missing ones are filled by linear interpolation between their neighbours,
    the spans listed in ``meta['gaps']``. Event times and the duration stay the
    file's.
``interpolated``
    Irregular stamps off any grid: the current is interpolated linearly onto a
    uniform grid at the median step (or ``resample=<Hz>``), from the first to
    the last stamp; gaps listed in ``meta['gaps']``.

``resample='index'`` keeps the old behaviour (samples end to end, time from the
index; times after a gap are then earlier than in the file), ``resample=<Hz>``
interpolates onto that rate. A column going backwards (joined segments) is
rebuilt from the index with a warning; it is never reordered.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError, FormatError, ParameterError
from .limits import check_budget

__all__ = ["TimeBase", "uniform_time", "print_quantum", "nice_rate"]

#: A stamp within this fraction of a sample of its grid position is on the grid.
ON_GRID = 0.1
#: Gaps may at most add this many samples per sample in the file (beyond 1,000,000 in all).
MAX_FILL = 3


@dataclass
class TimeBase:
    """The uniform time base found for a time column.

    Attributes
    ----------
    fs, t0 : float
        Sampling rate (Hz) and time of the first sample (s).
    values : numpy.ndarray
        The samples on that base (the input array unless samples were filled or interpolated).
    method : str
        ``'uniform'``, ``'quantised'``, ``'jitter'``, ``'gaps'``, ``'interpolated'``,
        ``'resampled'``, ``'index'`` or ``'header'``.
    warnings : list of str
    gaps : list of [float, float]
        Spans (s) with no sample in the file: the stamps before and after each gap.
    interpolated : int
        Samples not in the file (filled or interpolated).
    """

    fs: float
    t0: float
    values: np.ndarray
    method: str
    warnings: list = field(default_factory=list)
    gaps: list = field(default_factory=list)
    interpolated: int = 0

    def record(self, meta: dict) -> None:
        """Put the warnings, gaps and method in a trace's meta."""
        meta.setdefault("warnings", []).extend(self.warnings)
        meta["time_base"] = self.method
        meta["gaps"] = self.gaps
        if self.interpolated:
            meta["interpolated_samples"] = int(self.interpolated)


def _decimals(v: np.ndarray) -> np.ndarray:
    """Digits after the decimal point each value needs (0..17; 17 for full precision)."""
    k_of = np.full(v.shape, 17)
    todo = np.ones(v.shape, bool)
    for k in range(0, 17):
        x = v[todo] * 10.0 ** k
        hit = np.abs(x - np.rint(x)) <= 4 * np.spacing(np.abs(x) + 1.0)
        idx = np.flatnonzero(todo)[hit]
        k_of[idx] = k
        todo[idx] = False
        if not todo.any():
            break
    return k_of


def print_quantum(t: np.ndarray, *, sample: np.ndarray | None = None) -> np.ndarray:
    """Resolution each value of ``t`` was printed with (``0.1`` for ``123.4`` printed to 4 digits).

    The printing scheme is found from ``sample`` (default ``t``; up to 2,000
    values evenly spread): fixed decimals (``%.3f``: the most decimals any
    value needs) or significant digits (``%.4g``: the most significant digits
    any value needs); each value gets the coarser of the two resolutions. Full
    precision gives about 1e-15 relative.
    """
    t = np.asarray(t, dtype=np.float64)
    ref = np.asarray(t if sample is None else sample, dtype=np.float64)
    ref = ref[np.isfinite(ref) & (ref != 0)]
    if ref.size > 2000:
        ref = ref[np.linspace(0, ref.size - 1, 2000).astype(np.int64)]
    if ref.size == 0:
        return 4 * np.spacing(np.abs(t) + 1.0)
    k = _decimals(ref)
    fixed = 10.0 ** -int(k.max())
    sig = int(np.max(k + np.floor(np.log10(np.abs(ref))) + 1))
    mag = np.floor(np.log10(np.where(t == 0, 1.0, np.abs(t))))
    q = np.maximum(fixed, np.where(t == 0, 0.0, 10.0 ** (mag + 1 - sig)))
    return np.maximum(q, 4 * np.spacing(np.abs(t)))


def nice_rate(fs: float, ok) -> float:
    """The roundest rate (fewest significant digits) that ``ok(rate)`` accepts, else ``fs``."""
    for k in range(1, 10):
        c = float(f"{fs:.{k}g}")
        if c > 0 and ok(c):
            return c
    return fs


def _check_resample(resample):
    if resample in ("auto", "index", None):
        return resample or "auto"
    if isinstance(resample, bool):
        raise ParameterError(f"resample={resample!r}: expected 'auto', 'index' or a rate in Hz")
    try:
        rate = float(resample)
    except (TypeError, ValueError):
        raise ParameterError(f"resample={resample!r}: expected 'auto', 'index' or a rate in Hz") from None
    if not np.isfinite(rate) or rate <= 0:
        raise ParameterError(f"resample={resample!r}: a rate must be a positive number of Hz")
    return rate


def _grid_size(n_grid, n, path, why):
    if n_grid > max(MAX_FILL * n, n + 1_000_000):
        raise DataError(
            f"{path}: {why} would make {n_grid} samples from the file's {n}: the time column jumps far "
            "(a pause in the recording, or a damaged time stamp). Pass resample='index' to join the samples "
            "end to end (times after the jump are then earlier than in the file), or crop the file"
        )
    check_budget(16.0 * n_grid, path=path, what=f"putting {n} samples on a uniform grid of {n_grid}")


def _gap_spans(t, d, dt):
    k = np.flatnonzero(d > 1.5 * dt)
    return [[float(t[i]), float(t[i + 1])] for i in k]


def _gap_text(gaps, filled, fs, how):
    lengths = [b - a for a, b in gaps]
    k = int(np.argmax(lengths))
    return (f"time column has {len(gaps)} gap(s) ({filled / fs:.6g} s missing in all, longest step "
            f"{lengths[k]:.6g} s after "
            f"t={gaps[k][0]:.6g} s): {filled} sample(s) not in the file were {how} so that every sample keeps "
            f"its file time, at {fs:.10g} Hz (spans in meta['gaps'])")


def uniform_time(time, values, *, path, header_dt: float | None = None, resample="auto") -> TimeBase:
    """The uniform time base of ``values`` sampled at ``time`` (s): see the module docstring.

    Parameters
    ----------
    time, values : numpy.ndarray
        1-D, same length; time in seconds.
    header_dt : float, optional
        Sample interval the file's header states (s): used when the column agrees.
    resample : 'auto', 'index' or float
        As described in the module docstring.

    Raises
    ------
    DataError
        Non-finite or never increasing time, a gap too long to fill.
    ParameterError
        A bad ``resample``.
    """
    mode = _check_resample(resample)
    t = np.ascontiguousarray(time, dtype=np.float64)
    n = t.size
    if n != len(values):
        raise FormatError(f"{path}: the time column has {n} values, the current {len(values)}")
    bad = ~np.isfinite(t)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise DataError(f"{path}: the time column holds {int(bad.sum())} NaN/Inf value(s) (first at sample {first}); "
                        "expected finite numbers. Remove those rows or pass fs= to ignore the time column.")
    if n < 2:
        if header_dt:
            return TimeBase(1.0 / header_dt, float(t[0]) if n else 0.0, values, "header")
        raise DataError(f"{path}: only {n} sample(s); need at least 2 to find the sampling rate (or pass fs=)")
    d = np.diff(t)
    if not (d > 0).any():
        raise DataError(f"{path}: the time column never increases (first value {t[0]!r}, last {t[-1]!r}); "
                        "expected time stamps")
    n_back = int((d < 0).sum())
    if n_back or mode == "index":
        return _by_index(t, d, values, path, header_dt, n_back)
    if isinstance(mode, float):
        return _interpolate(t, d, values, path, 1.0 / mode, "resampled")
    span = float(t[-1] - t[0])
    dt_span = span / (n - 1)
    fit = _index_fit(t, dt_span)
    if fit is not None:
        return _on_index(t, d, values, path, header_dt, dt_span, *fit)
    if (d == 0).any():
        tb = _by_index(t, d, values, path, header_dt, 0)
        tb.warnings.append(
            "the time column is both quantised (repeated stamps) and irregular, so the samples cannot be put at "
            "their true times; they were joined end to end. Pass resample=<Hz> to interpolate the printed times "
            "instead")
        return tb
    return _gaps_or_irregular(t, d, values, path, header_dt)


def _index_fit(t, dt_span):
    """(max |residual|, quanta at the ends, per-sample quanta or None) when t fits ``t0 + i*dt`` within
    ON_GRID of a sample plus the printing resolution; None when it does not."""
    n = t.size
    resid = t - (t[0] + np.arange(n) * dt_span)
    tol = ON_GRID * dt_span
    big = np.abs(resid) > tol
    q_ends = print_quantum(t[[0, -1]], sample=t)
    if not big.any():
        return float(np.max(np.abs(resid))), q_ends, None
    q = print_quantum(t[big], sample=t)
    if np.all(np.abs(resid[big]) <= q + q_ends.sum() + tol):
        return float(np.max(np.abs(resid))), q_ends, float(q.max())
    return None


def _on_index(t, d, values, path, header_dt, dt_span, max_resid, q_ends, q_big):
    n = t.size
    span = t[-1] - t[0]
    warns = []
    n_zero = int((d == 0).sum())
    dt = dt_span
    method = "uniform"
    if n_zero or q_big is not None:
        method = "quantised"
    elif max_resid > 1e-3 * dt_span:
        method = "jitter"
    if header_dt and abs(header_dt - dt) <= 0.01 * header_dt:
        dt = header_dt
        fs = 1.0 / dt
    else:
        # a rounder rate is taken only when every stamp stays within half its printing resolution
        # (plus the jitter found) of the grid it gives
        allowed = 0.5 * (print_quantum(t, sample=t) + q_ends[0]) + (max_resid if method == "jitter" else 0.0)
        idx = np.arange(n)
        fs = nice_rate(1.0 / dt, lambda rate: bool(np.all(np.abs(t - (t[0] + idx / rate)) <= allowed + 1e-12 * span)))
        if header_dt:
            warns.append(f"the header's sample interval {header_dt:g} s differs from the time column's "
                         f"{dt:g} s; the time column's was used")
    if method == "quantised":
        warns.append(f"time column is quantised ({n_zero} repeated time stamps, printed with too few digits); "
                     f"time rebuilt from the sample index at {fs:.10g} Hz")
    elif method == "jitter":
        jitter = float(np.max(np.abs(d - dt_span)) / dt_span)
        warns.append(f"time column is uneven (step varies by up to {100 * jitter:.2g} %, every stamp within "
                     f"{max_resid / dt_span:.2g} sample of a uniform grid); time rebuilt from the sample index "
                     f"at {fs:.10g} Hz")
    return TimeBase(fs, float(t[0]), values, method, warns)


def _by_index(t, d, values, path, header_dt, n_back):
    """Samples end to end, time from the index (joined segments, resample='index')."""
    pos = d[d > 0]
    warns = []
    if n_back:
        dt = float(np.median(pos))
        first = int(np.flatnonzero(d < 0)[0]) + 1
        warns.append(f"time column goes backwards at {n_back} place(s) (first at sample {first}, "
                     f"t={t[first]:g} s): segments were joined; time rebuilt from the sample index at the "
                     f"median step {dt:g} s")
    else:
        dt = float((t[-1] - t[0]) / (t.size - 1))
        gaps = _gap_spans(t, d, float(np.median(pos)))
        if gaps:
            dt = float(np.median(pos))
            warns.append(f"resample='index': {len(gaps)} gap(s) in the time column ignored, samples joined end to "
                         f"end at {1 / dt:.10g} Hz: times after a gap are earlier than in the file")
    if header_dt:
        dt = header_dt
    fs = nice_rate(1.0 / dt, lambda rate: abs(1.0 / rate - dt) * t.size <= ON_GRID * dt)
    return TimeBase(fs, float(t[0]), values, "index", warns)


def _gaps_or_irregular(t, d, values, path, header_dt):
    """Samples on a grid with some missing (filled), or off any grid (interpolated)."""
    n = t.size
    a, dt0 = _grid_fit(t, float(header_dt) if header_dt else float(np.median(d)), fixed_step=bool(header_dt))
    m = np.rint((t - a) / dt0)
    off = np.abs(t - a - m * dt0)
    on_grid = bool(np.all(np.diff(m) >= 1)) and bool(np.all(off <= ON_GRID * dt0 + print_quantum(t[[-1]], sample=t)[0]))
    if not on_grid:
        return _interpolate(t, d, values, path, dt0, "interpolated")
    t0 = float(a + m[0] * dt0)
    m = (m - m[0]).astype(np.int64)
    n_grid = int(m[-1]) + 1
    if n_grid == n:  # on the grid, nothing missing: a jittered column the index fit missed by its tolerance
        fs = nice_rate(1.0 / dt0, lambda rate: abs(1.0 / rate - dt0) * n <= ON_GRID * dt0)
        return TimeBase(fs, t0, values, "jitter", [f"time column is uneven (every stamp within a tenth of a sample "
                                                   f"of a uniform grid); time rebuilt from the sample index at "
                                                   f"{fs:.10g} Hz"])
    _grid_size(n_grid, n, path, "filling the gaps of the time column")
    out = np.empty(n_grid, dtype=np.float64)
    out[m] = values
    missing = np.ones(n_grid, bool)
    missing[m] = False
    idx = np.flatnonzero(missing)
    out[idx] = np.interp(idx, m, np.asarray(values, dtype=np.float64))
    fs = nice_rate(1.0 / dt0, lambda rate: abs(1.0 / rate - dt0) * n_grid <= ON_GRID * dt0)
    gaps = _gap_spans(t, d, dt0)
    return TimeBase(fs, t0, out, "gaps", [_gap_text(gaps, idx.size, fs, "filled by linear interpolation")],
                    gaps, int(idx.size))


def _grid_fit(t, dt, *, fixed_step=False):
    """``(a, dt)`` of the grid ``a + m*dt`` (m integer) the stamps sit on, fitted on growing stretches.

    Rounding ``(t - a) / dt`` to integers is reliable only while the step
    error times the number of steps stays below half a step: the fit starts on
    the first 256 stamps and refines the step on 4 times more at each round.
    """
    n = t.size
    a = float(t[0])
    k = min(n, 256)
    while True:
        m = np.rint((t[:k] - a) / dt)
        if m[-1] - m[0] > 0:
            if fixed_step:
                a = float(np.mean(t[:k] - m * dt))
            else:
                dt, a = (float(v) for v in np.polyfit(m, t[:k], 1))
        if k >= n:
            return a, dt
        k = min(n, 4 * k)


def _interpolate(t, d, values, path, dt, method):
    """Linear interpolation of values(t) onto t0 + k*dt up to the last stamp."""
    span = float(t[-1] - t[0])
    n_grid = int(np.floor(span / dt * (1 + 1e-12))) + 1
    _grid_size(n_grid, t.size, path, "interpolating the time column onto a uniform grid")
    grid = t[0] + np.arange(n_grid) * dt
    out = np.interp(grid, t, np.asarray(values, dtype=np.float64))
    fs = 1.0 / dt if method == "resampled" else \
        nice_rate(1.0 / dt, lambda r: abs(1.0 / r - dt) * n_grid <= ON_GRID * dt)
    gaps = _gap_spans(t, d, dt)
    n_file = t.size
    if method == "resampled":
        text = (f"resampled by linear interpolation from {n_file} samples at their file times onto {n_grid} "
                f"samples at {fs:.10g} Hz (resample=; no anti-alias filter)")
    else:
        text = (f"time column is irregular (steps from {float(d.min()):.6g} to {float(d.max()):.6g} s, not on a "
                f"uniform grid): the current was interpolated linearly onto a uniform grid at {fs:.10g} Hz "
                f"(the median step) so that times and the duration stay the file's; pass resample=<Hz> to "
                "choose the rate")
    warns = [text]
    if gaps:
        warns.append(f"time column has {len(gaps)} gap(s) longer than 1.5 steps (spans in meta['gaps'])")
    return TimeBase(fs, float(t[0]), out, method, warns, gaps, n_grid)
