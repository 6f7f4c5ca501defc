"""Synthetic transients added to a recording: :func:`inject_events` (injection-recovery tests).

The transient shapes and their filtered templates (:func:`event_template`)
are shared with :mod:`nbtools.simulate` (which builds whole synthetic
recordings with them); :func:`~nbtools.impact.injection_recovery` injects
them into the user's own recording.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import signal

from ..errors import ParameterError
from ..trace import Trace

__all__ = ["inject_events", "event_template", "raw_event", "bessel_sos", "SHAPES"]

#: transient shapes: 'exp' (instant rise, exponential decay), 'square'
#: (constant current for tau), 'biexp' (rise tau/5, decay tau)
SHAPES = ("exp", "square", "biexp")


def bessel_sos(cutoff, fs):
    if cutoff is None:
        return None
    if not (0 < cutoff < fs / 2):
        raise ParameterError(f"bessel_cutoff must be in (0, fs/2) = (0, {fs / 2:g}) Hz, found {cutoff!r}")
    return signal.bessel(4, cutoff, btype="low", fs=fs, output="sos", norm="mag")


def raw_event(shape, frac, tau_n, sign, length):
    """Sample-averaged current (charge 1 C * fs, i.e. samples sum to 1) of one
    transient arriving ``frac`` (0..1) samples after the start of sample 0."""
    k = np.arange(length, dtype=np.float64)
    t0 = k - frac  # sample start relative to the arrival
    t1 = t0 + 1.0
    if shape == "exp":
        a = np.exp(-np.clip(t0, 0, None) / tau_n)
        b = np.exp(-np.clip(t1, 0, None) / tau_n)
        y = a - b
    elif shape == "square":
        y = np.clip(np.minimum(t1, tau_n) - np.maximum(t0, 0.0), 0, None) / tau_n
    elif shape == "biexp":
        tr = tau_n / 5.0
        def cum(t):
            t = np.clip(t, 0, None)
            return (tau_n * (1 - np.exp(-t / tau_n)) - tr * (1 - np.exp(-t / tr))) / (tau_n - tr)
        y = cum(t1) - cum(t0)
    else:
        raise ParameterError(f"shape must be one of {SHAPES}, found {shape!r}")
    return sign * y


def event_template(shape, tau, fs, *, frac=0.0, sos=None, length=None):
    """Filtered transient of unit charge (C) sampled at ``fs``: returns the
    current (A per C) starting at the sample containing the arrival."""
    tau_n = tau * fs
    if length is None:
        length = int(np.ceil(12 * tau_n + (40 if sos is not None else 2))) + 2
    y = raw_event(shape, frac, max(tau_n, 1e-9), 1.0, length) * fs
    if sos is not None:
        y = signal.sosfilt(sos, y)
    return y


def inject_events(trace, events, *, shape="exp", tau="auto", fs=None, bessel_cutoff="auto",
                  polarity="positive", min_gap="auto", seed=None):
    """Add synthetic transients to a recording (its noise and baseline stay).

    Parameters
    ----------
    trace : Trace or array_like
        The host recording (A); an array needs ``fs``. It is not modified.
    events : array_like or DataFrame
        Charges (C) to inject at random non-overlapping times, or a table with
        ``charge`` and ``t_start`` (s) columns (optional ``tau``).
    shape : {'exp', 'square', 'biexp'}
    tau : float or 'auto'
        Decay time (s); 'auto' = max(1 ms, 10/fs).
    bessel_cutoff : float, 'auto' or None
        Filter applied to the injected transients; 'auto' = the trace's
        ``meta['filter']['cutoff_hz']`` if present, else none.
    polarity : {'positive', 'negative', 'both'}
        Sign of charges given as magnitudes.
    min_gap : float or 'auto'
        Minimum spacing of random times (s); 'auto' = 15 tau.
    seed : int, optional

    Returns
    -------
    (Trace, pandas.DataFrame)
        The new recording and the injected events (``t_start``, ``t_peak``,
        ``peak``, ``charge``, ``tau``).
    """
    if isinstance(trace, Trace):
        x, fs_, meta = trace.current, trace.fs, trace.meta
    else:
        if fs is None:
            raise ParameterError("fs (Hz) is required when trace is a plain array")
        x, fs_, meta = np.asarray(trace), float(fs), {}
    rng = np.random.default_rng(seed)
    n = x.shape[0]
    tau = max(1e-3, 10.0 / fs_) if tau == "auto" else float(tau)
    if bessel_cutoff == "auto":
        filt = (meta or {}).get("filter")
        cutoff = filt.get("cutoff_hz") if isinstance(filt, dict) else None
    else:
        cutoff = bessel_cutoff
    sos = bessel_sos(cutoff, fs_) if cutoff else None
    tmpl_len = int(np.ceil(12 * tau * fs_ + (40 if sos is not None else 2))) + 2
    if isinstance(events, pd.DataFrame):
        q = events["charge"].to_numpy(float)
        t_arr = events["t_start"].to_numpy(float)
        taus = events["tau"].to_numpy(float) if "tau" in events else np.full(q.size, tau)
    else:
        q = np.atleast_1d(np.asarray(events, dtype=float))
        if polarity == "negative":
            q = -np.abs(q)
        elif polarity == "both":
            q = np.abs(q) * rng.choice([-1.0, 1.0], q.size)
        gap = 15 * tau if min_gap == "auto" else float(min_gap)
        slots = int((n - tmpl_len) / fs_ // gap)
        if slots < q.size:
            raise ParameterError(
                f"cannot place {q.size} events {gap:g} s apart in a {n / fs_:g} s trace; "
                "inject fewer per call")
        pick = np.sort(rng.choice(slots, q.size, replace=False))
        t_arr = (pick * gap + rng.uniform(0, gap - tmpl_len / fs_ if gap > tmpl_len / fs_ else 0, q.size))
        taus = np.full(q.size, tau)
    y = np.array(x, dtype=np.float64)
    peaks = np.zeros(q.size)
    tpk = np.zeros(q.size)
    for k in range(q.size):
        i0 = int(np.floor(t_arr[k] * fs_))
        fr = t_arr[k] * fs_ - i0
        tmpl = event_template(shape, taus[k], fs_, frac=fr, sos=sos,
                              length=int(np.ceil(12 * taus[k] * fs_ + (40 if sos is not None else 2))) + 2)
        m = max(0, min(tmpl.size, n - i0))
        y[i0:i0 + m] += q[k] * tmpl[:m]
        j = int(np.argmax(tmpl))
        peaks[k] = q[k] * tmpl[j]
        tpk[k] = (i0 + j) / fs_
    truth = pd.DataFrame({"t_start": t_arr, "t_peak": tpk, "peak": peaks, "charge": q, "tau": taus})
    out = Trace(y.astype(x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64),
                fs=fs_, t0=getattr(trace, "t0", 0.0), meta=dict(meta or {}),
                source=getattr(trace, "source", None))
    return out, truth
