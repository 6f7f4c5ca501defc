"""Plotting helpers without widgets: downsampling a visible window, display units.

These functions are what :class:`nbtools.widgets.TraceView` calls on every
zoom or pan; they are plain functions so that tests and scripts can use them
without a browser.
"""

from __future__ import annotations

import numpy as np

from .errors import ParameterError
from .trace import Trace

__all__ = ["downsample_window", "current_display_unit", "trace_summary", "si_text"]

# dtypes tsdownsample accepts for the y values
_TSD_DTYPES = {np.dtype(t) for t in ("float32", "float64", "int8", "int16", "int32", "int64",
                                     "uint8", "uint16", "uint32", "uint64")}


def _as_tsd(y: np.ndarray) -> np.ndarray:
    """A contiguous, native-endian array of a dtype tsdownsample supports."""
    if y.dtype.newbyteorder("=") not in _TSD_DTYPES:
        y = y.astype(np.float64)
    if not y.dtype.isnative:
        y = y.astype(y.dtype.newbyteorder("="))
    return np.ascontiguousarray(y)


def _select(y: np.ndarray, x: np.ndarray | None, n_out: int) -> np.ndarray:
    """Indices of at most ``n_out`` samples of ``y``: MinMaxLTTB, plus the extremes.

    The MinMaxLTTB steps are done here (per-bucket min and max first, then
    LTTB on those) so that the window's minimum and maximum, which are always
    among the preselected points, can be added cheaply: no spike vanishes.
    """
    from tsdownsample import LTTBDownsampler, MinMaxDownsampler

    y = _as_tsd(y)
    n_lttb = max(n_out - 4, 3)  # room for the extremes and the end points added below
    n_pre = min(4 * n_lttb, len(y))  # MinMaxLTTB's usual minmax_ratio of 4
    n_pre -= n_pre % 2
    parallel = len(y) > 4_000_000
    if x is None:
        pre = MinMaxDownsampler().downsample(y, n_out=n_pre, parallel=parallel)
        xs = pre.astype(np.float64)
    else:
        x = np.ascontiguousarray(x, dtype=np.float64)
        pre = MinMaxDownsampler().downsample(x, y, n_out=n_pre, parallel=parallel)
        xs = x[pre]
    pre = np.asarray(pre, dtype=np.int64)
    ys = np.ascontiguousarray(y[pre])
    keep = pre[LTTBDownsampler().downsample(xs, ys, n_out=n_lttb)]
    extremes = pre[[int(np.argmin(ys)), int(np.argmax(ys))]]
    return np.unique(np.concatenate([keep, extremes, [0, len(y) - 1]]))


def downsample_window(time_or_trace, current=None, t0=None, t1=None, n_out: int = 2000):
    """Samples to draw for the time window ``[t0, t1]``: at most ``n_out`` points.

    The window is extended by one sample on each side so that the line runs
    to the plot edges. Within the window the minimum, the maximum, the first
    and the last sample are always kept (so a one-sample spike never
    disappears); the rest is chosen by MinMaxLTTB (tsdownsample).

    Parameters
    ----------
    time_or_trace : Trace or numpy.ndarray
        A :class:`~nbtools.Trace` (uniform sampling: the time array is never
        built), or a 1-D increasing time array in seconds.
    current : numpy.ndarray, optional
        Current values matching ``time`` (required with a time array, not
        allowed with a Trace).
    t0, t1 : float, optional
        Window in seconds; default the whole recording.
    n_out : int, optional
        Largest number of points returned (at least 10).

    Returns
    -------
    t, y : numpy.ndarray
        Time (s, float64) and current (same unit as the input) of the kept samples.

    Examples
    --------
    >>> import numpy as np
    >>> from nbtools import Trace
    >>> tr = Trace(np.sin(np.arange(100_000) / 1000.0), fs=1000.0)
    >>> t, y = downsample_window(tr, t0=10.0, t1=20.0, n_out=500)
    >>> len(t) <= 500, bool(t[0] <= 10.0), bool(t[-1] >= 20.0)
    (True, True, True)
    """
    n_out = int(n_out)
    if n_out < 10:
        raise ParameterError(f"n_out must be at least 10 points, found {n_out}")
    if isinstance(time_or_trace, Trace):
        if current is not None:
            raise ParameterError("downsample_window: pass either a Trace or (time, current), not both")
        tr = time_or_trace
        n = len(tr)
        i0 = 0 if t0 is None else max(tr.index_at(t0) - 1, 0)
        i1 = n if t1 is None else min(tr.index_at(t1) + 1, n)
        lazy = getattr(tr, "is_lazy", False)
        # a lazy (memory-mapped) trace: choose on the raw samples, scale only the kept ones;
        # an affine scale to amperes keeps the same extremes and LTTB choices
        y = tr._raw[i0:i1] if lazy else tr.current[i0:i1]
        if len(y) <= n_out:
            idx = np.arange(len(y))
        else:
            idx = _select(y, None, n_out)
        kept = np.asarray(y[idx])
        t = tr.t0 + (i0 + idx) / tr.fs
        return t.astype(np.float64), (tr._scale(kept) if lazy else kept)

    time = np.asarray(time_or_trace)
    if current is None:
        raise ParameterError("downsample_window: with a time array, pass the current array too")
    y_all = np.asarray(current)
    if time.ndim != 1 or time.shape != y_all.shape:
        raise ParameterError(
            f"time and current must be 1-D arrays of the same length, found shapes {time.shape} and {y_all.shape}"
        )
    n = len(time)
    i0 = 0 if t0 is None else max(int(np.searchsorted(time, t0, side="left")) - 1, 0)
    i1 = n if t1 is None else min(int(np.searchsorted(time, t1, side="left")) + 1, n)
    x, y = time[i0:i1], y_all[i0:i1]
    if len(y) <= n_out:
        return x.astype(np.float64), y.copy()
    idx = _select(y, x, n_out)
    return x[idx].astype(np.float64), y[idx]


_PREFIXES = [(1e-15, "fA"), (1e-12, "pA"), (1e-9, "nA"), (1e-6, "µA"), (1e-3, "mA"), (1.0, "A")]


def current_display_unit(peak_abs: float) -> tuple[str, float]:
    """Unit label and factor to show currents whose largest magnitude is ``peak_abs`` (A).

    Chooses the prefix that puts the largest value between 1 and 1000.

    Returns
    -------
    label : str
        ``"fA"``, ``"pA"``, ``"nA"``, ``"µA"``, ``"mA"`` or ``"A"``.
    factor : float
        Multiply amperes by this to get the displayed value.

    Examples
    --------
    >>> current_display_unit(3.2e-10)
    ('pA', 1000000000000.0)
    >>> current_display_unit(0.0)
    ('pA', 1000000000000.0)
    """
    peak = float(abs(peak_abs)) if np.isfinite(peak_abs) else 0.0
    if peak == 0.0:
        return "pA", 1e12
    for base, label in _PREFIXES:
        if peak < base * 1000.0:
            return label, 1.0 / base
    return "A", 1.0


def si_text(value: float, unit: str) -> str:
    """``value`` with an SI prefix, 4 significant digits (``2.5e-3, 's'`` -> ``'2.5 ms'``).

    Examples
    --------
    >>> si_text(2.5e-3, "s")
    '2.5 ms'
    """
    if value == 0 or not np.isfinite(value):
        return f"{value:g} {unit}"
    for factor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"),
                           (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f")):
        if abs(value) >= factor * 0.9999:
            return f"{value / factor:.4g} {prefix}{unit}"
    return f"{value:.4g} {unit}"


_si = si_text  # the name before it was public


def _text(value) -> str:
    if isinstance(value, dict):
        parts = ((k, _text(v)) for k, v in value.items() if not _empty(v))
        return ", ".join(f"{k}: {t}" for k, t in parts if t)
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    # headers may hold NUL padding or control characters: drop them
    return "".join(ch for ch in str(value) if ch >= " " or ch == "\t").strip()


def _empty(value) -> bool:
    return value is None or (isinstance(value, (str, dict, list, tuple)) and len(value) == 0)


def trace_summary(trace: Trace) -> list[tuple[str, str]]:
    """What a user wants to know first about a recording, as (label, text) rows.

    Rows: file, instrument, sampling rate, samples, duration, start time,
    units found in the file, applied potential, then any other metadata
    entry that has a value, then warnings (joined). Values are short texts
    for display.

    Examples
    --------
    >>> import numpy as np
    >>> rows = dict(trace_summary(Trace(np.zeros(500), fs=1e4, meta={"instrument": "CHI760E"})))
    >>> rows["Sampling rate"], rows["Duration"], rows["Instrument"]
    ('10 kHz', '50 ms', 'CHI760E')
    """
    meta = dict(trace.meta or {})
    rows: list[tuple[str, str]] = []
    if trace.source:
        rows.append(("File", str(trace.source)))
    instrument = meta.pop("instrument", None)
    rows.append(("Instrument", "not stated in the file" if _empty(instrument) else _text(instrument)))
    rows.append(("Sampling rate", si_text(trace.fs, "Hz")))
    rows.append(("Samples", f"{len(trace):,}"))
    rows.append(("Duration", si_text(trace.duration, "s")))
    if trace.t0:
        rows.append(("Starts at", si_text(trace.t0, "s")))
    units = meta.pop("units", None)
    if not _empty(units):
        rows.append(("Units in the file", _text(units)))
    potential = meta.pop("potential", None)
    if not _empty(potential):
        try:
            rows.append(("Applied potential", si_text(float(potential), "V")))
        except (TypeError, ValueError):
            rows.append(("Applied potential", _text(potential)))
    warnings = meta.pop("warnings", None) or []
    for key, value in meta.items():
        if _empty(value):
            continue
        text = _text(value)
        rows.append((str(key).replace("_", " ").capitalize(), text if len(text) <= 160 else text[:157] + "..."))
    if isinstance(warnings, str):
        warnings = [warnings]
    if warnings:
        rows.append(("Warnings", " | ".join(str(w) for w in warnings)))
    return rows
