"""Per-event fit of an exponential-decay transient (kinetics.md 3.3 model 1)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import curve_fit

from ..errors import ParameterError
from ..trace import Trace

__all__ = ["fit_events"]


def _exp(t, a, tau, c):
    return a * np.exp(-t / tau) + c


def fit_events(events, trace, fs=None, *, model="exp"):
    """Fit ``i(t) = A exp(-(t - t_peak)/tau) + c`` to the decay of each event.

    Failed fits give NaN and a ``fit_status`` message; the batch goes on.
    Returns a copy of ``events`` with ``fit_amplitude`` (A), ``fit_tau`` (s),
    ``fit_charge`` (A tau, C), ``fit_status``.
    """
    if model != "exp":
        raise ParameterError(f"model must be 'exp', found {model!r}")
    if isinstance(trace, Trace):
        x, fs = trace.current, trace.fs
    else:
        if fs is None:
            raise ParameterError("fs (Hz) is required when trace is a plain array")
        x = np.asarray(trace)
    out = events.copy()
    amp, tau, status = [], [], []
    for _, ev in events.iterrows():
        i0, i1 = int(ev["i_peak"]), int(ev["i_int_end"])
        y = np.asarray(x[i0:i1], dtype=np.float64) - ev["baseline"]
        if y.size < 4:
            amp.append(np.nan); tau.append(np.nan); status.append("too few samples")
            continue
        t = np.arange(y.size) / fs
        p0 = (ev["peak"], max(ev["decay_tau"], 2 / fs) if np.isfinite(ev["decay_tau"]) else y.size / fs / 3, 0.0)
        try:
            popt, _ = curve_fit(_exp, t, y, p0=p0, maxfev=2000)
            amp.append(popt[0]); tau.append(abs(popt[1])); status.append("ok")
        except Exception as exc:  # one bad event never stops the batch
            amp.append(np.nan); tau.append(np.nan); status.append(f"failed: {exc}")
    out["fit_amplitude"] = amp
    out["fit_tau"] = tau
    out["fit_charge"] = np.asarray(amp) * np.asarray(tau)
    out["fit_status"] = status
    return out
