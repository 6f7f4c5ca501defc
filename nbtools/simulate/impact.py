"""Synthetic nanoimpact recordings with known events.

:func:`impact_trace` builds a recording the way an amplifier sees it: Poisson
arrivals of particles with log-normal radii, each giving a transient whose
charge follows from the material (:func:`nbtools.impact.charge_to_radius`),
white current noise, all passed through a 4-pole Bessel low-pass; then 1/f
noise, mains pickup, a slow drift and an initial charging (Cottrell-like)
decay are added. :func:`inject_events` (from :mod:`nbtools.impact.inject`,
where the analysis uses it too) adds transients to an existing recording.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import signal

from ..errors import ParameterError
from ..impact import inject as _inject
from ..impact.inject import SHAPES, bessel_sos, event_template, raw_event
from ..trace import Trace

__all__ = ["impact_trace", "inject_events", "event_template", "SHAPES"]

def _lognormal(rng, median, sigma, n):
    return median * np.exp(sigma * rng.standard_normal(n)) if sigma > 0 else np.full(n, float(median))


def _pink(rng, n, fs, rms, fmin=None):
    """1/f noise of the given rms, band-limited to fs/200 (made at fs/100 and
    linearly interpolated, so long traces stay cheap)."""
    dec = 100 if n >= 20000 else 1
    m = n // dec + 2
    spec = rng.standard_normal(m // 2 + 1) + 1j * rng.standard_normal(m // 2 + 1)
    f = np.fft.rfftfreq(m, d=dec / fs)
    f[0] = f[1] if m > 1 else 1.0
    spec /= np.sqrt(f)
    spec[0] = 0
    y = np.fft.irfft(spec, n=m)
    y *= rms / (y.std() or 1.0)
    if dec == 1:
        return y[:n]
    return np.interp(np.arange(n) / dec, np.arange(m), y)


def impact_trace(duration=10.0, fs=100e3, *, rate=5.0, polarity="positive", kind="spike",
                 shape="exp", material="LiMn2O4", radius_median=20e-9, radius_sigma=0.3,
                 conversion=1.0, charge=None, step_height=None, tau="auto", noise_rms=5e-12,
                 pink_noise=0.0, mains=0.0, mains_freq=50.0, drift=0.0, offset=0.0,
                 charging_transient=0.0, charging_tau=0.5, bessel_cutoff="auto",
                 min_gap="auto", dtype=np.float32, seed=None):
    """A synthetic nanoimpact recording and its ground truth.

    Parameters
    ----------
    duration : float
        Seconds.
    fs : float
        Sampling rate, Hz.
    rate : float
        Mean impact frequency (events/s), Poisson arrivals.
    polarity : {'positive', 'negative', 'both'}
        Sign of the transients (anodic positive); 'both' picks at random.
    kind : {'spike', 'step'}
        Transients (charge from the particle size) or blocking steps.
    shape : {'exp', 'square', 'biexp'}
        Transient shape (before the filter).
    material, radius_median, radius_sigma, conversion
        Log-normal radii (m, median and log-SD) converted to charge with
        :func:`nbtools.impact.radius_to_charge`.
    charge : float, optional
        Median charge (C) instead of radii (log-normal with ``radius_sigma*3``).
    step_height : float, optional
        Median step height (A, magnitude) for ``kind='step'``; default
        20 x noise_rms. Steps of a blocking collision reduce the magnitude of
        the background current; here they take the sign of ``polarity``.
    tau : float or 'auto'
        Decay time constant of the transients (s); 'auto' = max(1 ms, 10/fs).
    noise_rms : float
        White current noise (A rms) as measured after the filter.
    pink_noise : float
        Additional 1/f noise (A rms, band-limited to fs/200).
    mains : float
        Amplitude (A) of mains pickup at ``mains_freq`` Hz (with 3rd harmonic at a third).
    drift : float
        Total slow baseline change over the recording (A), smooth (quadratic).
    offset : float
        Constant background current (A).
    charging_transient : float
        Initial amplitude (A) of a decaying charging current
        ``a / (1 + t/charging_tau)**0.5`` (Cottrell-like).
    bessel_cutoff : float, 'auto' or None
        -3 dB frequency of the 4-pole Bessel filter; 'auto' = fs/10.
    min_gap : float or 'auto'
        Minimum time between arrivals (s) so truth events stay separable;
        'auto' = 12 tau (steps: 20 samples). 0 allows pile-up.
    dtype : numpy dtype
        Of the returned current (float32 default).
    seed : int, optional

    Returns
    -------
    (Trace, pandas.DataFrame)
        The recording and one row per event: ``t_start`` (arrival, s),
        ``t_peak``, ``t_end`` (s), ``peak`` (A, signed, after the filter),
        ``charge`` (C, signed), ``duration`` (s), ``snr`` (|peak| / total noise
        SD), ``radius`` (m), ``tau`` (s), ``polarity``, ``step_height`` (A).
        ``attrs`` hold ``noise_sd`` (A, SD of all noise components),
        ``params``.

    Examples
    --------
    >>> tr, truth = impact_trace(duration=1.0, fs=10e3, rate=10, seed=0)
    >>> len(tr), list(truth.columns[:3])
    (10000, ['t_start', 't_peak', 't_end'])
    """
    params = dict(locals())
    params["dtype"] = np.dtype(dtype).name
    rng = np.random.default_rng(seed)
    if not (duration > 0 and fs > 0):
        raise ParameterError(f"duration and fs must be positive, found duration={duration!r}, fs={fs!r}")
    n = int(round(duration * fs))
    if polarity not in ("positive", "negative", "both"):
        raise ParameterError(f"polarity must be 'positive', 'negative' or 'both', found {polarity!r}")
    if kind not in ("spike", "step"):
        raise ParameterError(f"kind must be 'spike' or 'step', found {kind!r}")
    tau = max(1e-3, 10.0 / fs) if tau == "auto" else float(tau)
    cutoff = fs / 10.0 if bessel_cutoff == "auto" else bessel_cutoff
    sos = bessel_sos(cutoff, fs)
    if min_gap == "auto":
        min_gap = 12 * tau if kind == "spike" else 20.0 / fs
    # arrivals: Poisson process thinned by a dead time min_gap
    t_arr = []
    t = rng.exponential(1.0 / rate) if rate > 0 else duration
    while t < duration:
        t_arr.append(t)
        t += min_gap + rng.exponential(1.0 / rate)
    t_arr = np.array(t_arr)
    ne = t_arr.size
    signs = {"positive": np.ones(ne), "negative": -np.ones(ne),
             "both": rng.choice([-1.0, 1.0], ne)}[polarity]
    from ..impact.sizing import charge_to_radius, radius_to_charge

    if kind == "spike":
        if charge is not None:
            q = _lognormal(rng, abs(float(charge)), 3 * radius_sigma, ne)
            radius = charge_to_radius(q, material, conversion) if ne else np.empty(0)
        else:
            radius = _lognormal(rng, radius_median, radius_sigma, ne)
            q = radius_to_charge(radius, material, conversion) if ne else np.empty(0)
    else:
        h = 20 * noise_rms if step_height is None else abs(float(step_height))
        q = _lognormal(rng, h, radius_sigma, ne)
        radius = np.full(ne, np.nan)

    # white noise scaled to noise_rms after the filter
    y = rng.standard_normal(n, dtype=np.float64)
    if sos is not None:
        gain = np.sqrt(np.sum(signal.sosfilt(sos, np.r_[1.0, np.zeros(4096)]) ** 2))
        y *= noise_rms / gain
    else:
        y *= noise_rms
    # transients (before the filter, sample-averaged so the charge is exact)
    tau_n = tau * fs
    peaks = np.zeros(ne)
    tpk = np.zeros(ne)
    i_arr = np.floor(t_arr * fs).astype(np.int64)
    frac = t_arr * fs - i_arr
    if kind == "spike":
        L = int(np.ceil(12 * tau_n)) + 2
        for k in range(ne):
            ev = raw_event(shape, frac[k], tau_n, signs[k], L) * q[k] * fs
            i0 = i_arr[k]
            m = min(L, n - i0)
            y[i0:i0 + m] += ev[:m]
            tmpl = event_template(shape, tau, fs, frac=frac[k], sos=sos)
            j = int(np.argmax(tmpl))
            peaks[k] = signs[k] * q[k] * tmpl[j]
            # sub-sample peak (parabola) so the truth is not quantised
            d = 0.0
            if 0 < j < tmpl.size - 1:
                den = tmpl[j - 1] - 2 * tmpl[j] + tmpl[j + 1]
                if den < 0:
                    d = 0.5 * (tmpl[j - 1] - tmpl[j + 1]) / den
            tpk[k] = (i0 + j + d) / fs
        t_end = t_arr + 5 * tau
    else:
        steps = np.zeros(n)
        for k in range(ne):
            steps[i_arr[k]] += signs[k] * q[k] * (1 - frac[k])
            if i_arr[k] + 1 < n:
                steps[i_arr[k] + 1] += signs[k] * q[k] * frac[k]
        y += np.cumsum(steps)
        peaks = signs * q
        tpk = t_arr.copy()
        t_end = t_arr.copy()
    if sos is not None:
        y = signal.sosfilt(sos, y)
    noise_var = noise_rms**2
    if pink_noise:
        y += _pink(rng, n, fs, pink_noise)
        noise_var += pink_noise**2
    tt = np.arange(n) / fs
    if mains:
        y += mains * (np.sin(2 * np.pi * mains_freq * tt + rng.uniform(0, 2 * np.pi))
                      + np.sin(2 * np.pi * 3 * mains_freq * tt) / 3)
        noise_var += mains**2 / 2 * (1 + 1 / 9)
    if drift:
        u = tt / duration
        y += drift * (0.6 * u + 0.4 * u**2)
    if offset:
        y += offset
    if charging_transient:
        y += charging_transient / np.sqrt(1 + tt / charging_tau)
    noise_sd = float(np.sqrt(noise_var))
    truth = pd.DataFrame({
        "t_start": t_arr, "t_peak": tpk, "t_end": t_end, "peak": peaks,
        "charge": signs * q if kind == "spike" else np.nan,
        "duration": t_end - t_arr, "snr": np.abs(peaks) / noise_sd,
        "radius": radius, "tau": tau if kind == "spike" else np.nan,
        "polarity": np.where(signs > 0, "positive", "negative"),
        "step_height": peaks if kind == "step" else np.nan,
    })
    truth.attrs.update(noise_sd=noise_sd, params=params, fs=float(fs), kind=kind)
    meta = {"instrument": "nbtools.simulate.impact_trace", "units": "A",
            "filter": None if sos is None else {"type": "bessel", "order": 4, "cutoff_hz": float(cutoff)},
            "simulation": params}
    return Trace(y.astype(dtype, copy=False), fs=fs, meta=meta, source=None), truth


def inject_events(trace, events, **options):
    """Add synthetic transients to a recording: :func:`nbtools.impact.inject_events` (same arguments;
    it lives in :mod:`nbtools.impact.inject`, where the injection-recovery test uses it too)."""
    return _inject.inject_events(trace, events, **options)
