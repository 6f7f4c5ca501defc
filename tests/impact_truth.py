"""An independent generator of nanoimpact recordings with known events (tests only).

Written apart from :mod:`nbtools.simulate` on purpose: other transient shapes,
noise made another way, another filter, so that a test passing here is not a
test of the simulator against itself. What a bench amplifier adds to a
recording of particle impacts:

- transients: a linear rise over ``rise`` seconds, then an exponential decay
  with time constant ``tau``; each sample holds the exact mean current over
  its sampling interval, so the true charge is the integral of the samples;
- white current noise and 1/f noise (a sum of first-order AR processes with
  corner frequencies spread evenly on a log scale, 1 Hz to fs/4), both at the
  amplifier input;
- mains pickup: 50 Hz with 3rd and 5th harmonics, the frequency wandering by a
  few tens of mHz and the amplitude by 20 %;
- an 8-pole Bessel low-pass (-3 dB at ``cutoff``), on all of the above;
- then a slow drift (an exponential charging decay plus a slow wave) and
  the quantisation of a 16-bit converter.

``snr`` of an event is its filtered peak over the SD of the noise that
detection sees (white + 1/f above 1 Hz + mains, after the filter).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import signal

from nbtools import Trace

__all__ = ["synthetic_recording", "match_events"]


def _pink(rng, n, fs, rms, f_lo=1.0, f_hi=None, per_decade=3):
    """1/f noise as a sum of AR(1) processes (Lorentzians of equal weight per log frequency)."""
    f_hi = f_hi or fs / 4
    freqs = np.logspace(np.log10(f_lo), np.log10(f_hi), int(per_decade * np.log10(f_hi / f_lo)) + 1)
    out = np.zeros(n)
    for f in freqs:
        a = np.exp(-2 * np.pi * f / fs)
        # each Lorentzian carries the same power per octave: amplitude ~ 1/sqrt(f) over its band
        e = rng.standard_normal(n) * np.sqrt(1 - a * a)
        out += signal.lfilter([1.0], [1.0, -a], e)
    out -= out.mean()
    return out * (rms / out.std())


def _mains(rng, n, fs, amplitude, freq=50.0):
    t = np.arange(n) / fs
    # frequency wandering (random walk, smoothed) of about 0.03 Hz, amplitude modulated by 20 %
    wander = np.cumsum(rng.standard_normal(n // 1000 + 2))
    wander = np.interp(np.arange(n) / 1000, np.arange(wander.size), wander)
    wander *= 0.03 / max(np.std(wander), 1e-12)
    phase = 2 * np.pi * np.cumsum(freq + wander) / fs + rng.uniform(0, 2 * np.pi)
    am = 1 + 0.2 * np.sin(2 * np.pi * 0.3 * t + rng.uniform(0, 2 * np.pi))
    return amplitude * am * (np.sin(phase) + 0.35 * np.sin(3 * phase + 1.0) + 0.15 * np.sin(5 * phase + 2.0))


def _transient(start, q, tau, rise, fs, length):
    """Mean current of each of ``length`` samples (the first sample holds time ``floor(start*fs)/fs``) of
    a transient of charge ``q`` starting at ``start`` s: linear rise over ``rise`` s then exp decay ``tau``."""
    i0 = int(np.floor(start * fs))
    edges = (i0 + np.arange(length + 1)) / fs - start  # sample edges relative to the start

    def cum(u):  # charge delivered up to time u (s) since the start, for unit charge
        u = np.asarray(u, float)
        # rise: current grows linearly to I0 over `rise`, then I0 exp(-(u - rise)/tau);
        # unit charge: I0 (rise / 2 + tau) = 1
        i_peak = 1.0 / (rise / 2 + tau)
        out = np.where(u <= 0, 0.0, 0.0)
        r = (u > 0) & (u <= rise)
        out = np.where(r, i_peak * u**2 / (2 * rise) if rise > 0 else 0.0, out)
        d = u > rise
        out = np.where(d, i_peak * (rise / 2 + tau * (1 - np.exp(-(u - rise) / tau))), out)
        return out

    return i0, q * np.diff(cum(edges)) * fs


def synthetic_recording(*, duration=20.0, fs=50e3, cutoff=None, rate=4.0, tau=5e-3, rise=0.15e-3,
                        snr_range=(3.0, 60.0), white=2e-12, pink=1.5e-12, mains=0.8e-12, drift=40e-12,
                        polarity=1, gap_taus=12.0, seed=0):
    """A recording (Trace, A) and its truth (DataFrame: ``t_start``, ``t_peak``, ``charge``, ``peak``,
    ``snr``, ``tau``) made as the module docstring says.

    ``snr_range``: the event SNRs are log-uniform in this range (the charges follow).
    ``polarity``: +1 (anodic), -1, or 0 for both signs at random.
    ``tau``: one decay time (s), or a ``(low, high)`` range: each event's is log-uniform in it.
    """
    rng = np.random.default_rng(seed)
    n = int(round(duration * fs))
    cutoff = cutoff or fs / 6
    sos = signal.bessel(8, cutoff, btype="low", fs=fs, output="sos", norm="mag")
    # arrivals: Poisson with a dead time, away from the ends
    t, arr = 0.3, []
    tau_hi = float(np.max(tau))
    gap = gap_taus * tau_hi + rise
    while rate > 0:
        t += gap + rng.exponential(1.0 / rate)
        if t > duration - gap - 0.05:
            break
        arr.append(t)
    arr = np.array(arr, float)
    ne = arr.size
    signs = np.full(ne, float(polarity)) if polarity else rng.choice([-1.0, 1.0], ne)
    taus = np.exp(rng.uniform(*np.log(tau), ne)) if np.ndim(tau) else np.full(ne, float(tau))
    # noise first (its SD sets the charges)
    x = white * rng.standard_normal(n)
    x += _pink(rng, n, fs, pink)
    x += _mains(rng, n, fs, mains)
    noise_only = signal.sosfilt(sos, x)
    lo = signal.butter(2, 1.0, btype="high", fs=fs, output="sos")
    sigma = float(np.std(signal.sosfiltfilt(lo, noise_only)[int(fs):-int(fs)]))
    # each transient through the filter alone: its peak (height and time) for its charge
    L = int(np.ceil((12 * tau_hi + rise) * fs)) + 64
    snr = np.exp(rng.uniform(*np.log(snr_range), ne))
    ev = np.zeros(n)
    peak_t = np.empty(ne)
    q = np.empty(ne)
    for k in range(ne):
        i0, unit = _transient(arr[k], 1.0, taus[k], rise, fs, L)
        f = signal.sosfilt(sos, unit)
        j = int(np.argmax(f))
        q[k] = signs[k] * snr[k] * sigma / f[j]
        peak_t[k] = (i0 + j) / fs
        m = min(L, n - i0)
        ev[i0:i0 + m] += q[k] * unit[:m]
    peaks = signs * snr * sigma
    filt = signal.sosfilt(sos, ev)
    y = noise_only + filt
    tt = np.arange(n) / fs
    y += drift * (np.exp(-tt / (0.3 * duration)) + 0.3 * np.sin(2 * np.pi * tt / (0.7 * duration)))
    y += 100e-12  # a standing current
    lsb = 20e-9 / 2**16  # 16-bit converter on a +-10 nA range
    y = np.round(y / lsb) * lsb
    truth = pd.DataFrame({"t_start": arr, "t_peak": peak_t, "charge": q, "peak": peaks,
                          "snr": np.abs(peaks) / sigma, "tau": taus})
    truth.attrs.update(noise_sd=sigma, fs=fs, cutoff=cutoff)
    return Trace(y, fs=fs, source=None), truth


def match_events(det, truth):
    """Index of the detection of each true event (-1: missed), each detection used once: the one
    that holds the true peak time, else one whose peak lies on the true transient (from its start
    to two decay constants past its peak; a weak transient's detection may start after its peak)."""
    fs = truth.attrs.get("fs", np.inf)
    ds = det["t_start"].to_numpy(float) - 2 / fs
    de = det["t_end"].to_numpy(float) + 2 / fs
    dp = det["t_peak"].to_numpy(float)
    used = np.zeros(len(det), bool)
    out = np.full(len(truth), -1)
    ts, tp, tau = (truth[c].to_numpy(float) for c in ("t_start", "t_peak", "tau"))
    for k in range(len(truth)):
        hit = np.flatnonzero((ds <= tp[k]) & (de >= tp[k]) & ~used)
        if not hit.size:
            hit = np.flatnonzero((dp >= ts[k] - 2 / fs) & (dp <= tp[k] + 2 * tau[k]) & ~used)
        if hit.size:
            used[hit[0]] = True
            out[k] = hit[0]
    return out
