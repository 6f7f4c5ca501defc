"""Robust noise level of the residual (trace minus baseline).

The residual is evaluated on up to ``max_samples`` samples taken as evenly
spaced contiguous segments of the trace (all of it when short), with the
samples of detected events removed. The noise is the median absolute
deviation scaled to a Gaussian standard deviation (1.4826 MAD), which a few
spikes do not inflate. Quantised recordings (MAD of a handful of levels) fall
back to a clipped standard deviation so the estimate never collapses to 0.
"""

from __future__ import annotations

import numpy as np

from . import _kernels

MAX_NOISE_SAMPLES = 1 << 21
N_SEGMENTS = 64


def sample_segments(n: int, max_samples: int = MAX_NOISE_SAMPLES, n_segments: int = N_SEGMENTS):
    """``[(i0, i1), ...]`` evenly spaced segments covering at most ``max_samples``."""
    if n <= max_samples:
        return [(0, n)]
    L = max_samples // n_segments
    starts = np.linspace(0, n - L, n_segments).astype(np.int64)
    return [(int(s), int(s) + L) for s in starts]


def residual_sample(read, n, B, bvals, exclude=None, skip=None, max_samples=MAX_NOISE_SAMPLES):
    """Residual samples (float64) for the noise estimate, events excluded.

    ``read(i0, i1)`` returns samples; ``exclude`` is ``(ia, ib)`` arrays of
    sample ranges to drop; ``skip`` ranges likewise (masked regions).
    Returns a list of residual arrays, one per contiguous piece.
    """
    pieces = []
    rngs = []
    for a, b in ([] if exclude is None else [exclude]) + ([] if skip is None else [skip]):
        rngs.append((np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)))
    for i0, i1 in sample_segments(n, max_samples):
        x = np.asarray(read(i0, i1), dtype=np.float64)
        base = np.empty(i1 - i0)
        _kernels.baseline_fill(i0, i1, B, bvals, base)
        r = x - base
        keep = np.ones(i1 - i0, dtype=bool)
        for a, b in rngs:
            sel = (b > i0) & (a < i1)
            for aa, bb in zip(a[sel], b[sel]):
                keep[max(aa, i0) - i0:min(bb, i1) - i0] = False
        # split at removed samples so differences/crossings stay contiguous
        if keep.all():
            pieces.append(r)
        else:
            edges = np.flatnonzero(np.diff(np.concatenate([[0], keep.view(np.int8), [0]])))
            for s, e in zip(edges[::2], edges[1::2]):
                pieces.append(r[s:e])
    return pieces


def robust_sigma(r: np.ndarray) -> float:
    """1.4826 x MAD of ``r``; quantisation-safe fallback to a clipped std."""
    if r.size == 0:
        return float("nan")
    med = np.median(r)
    dev = np.abs(r - med)
    mad = float(np.median(dev))
    sigma = 1.4826 * mad
    # quantised data: the MAD sits on a few levels; use the std of the
    # central part instead when it is larger (both agree for Gaussian noise)
    quantised = mad == 0.0 or np.count_nonzero(dev == 0.0) > 0.05 * dev.size
    if not quantised:
        return sigma
    lim = np.percentile(dev, 95.45) if dev.size > 20 else np.max(dev)
    central = r[dev <= lim]
    if central.size > 1:
        s2 = float(np.std(central)) / 0.8796  # std of a Gaussian cut at 2 sigma
        if sigma == 0.0 or s2 > 1.25 * sigma:
            sigma = max(sigma, s2)
    return sigma


def upcrossing_rate(pieces) -> float:
    """Mean-level up-crossings per sample of the residual (Rice's nu_0/fs)."""
    n = 0
    c = 0
    for r in pieces:
        if r.size < 2:
            continue
        s = r > np.median(r)
        c += int(np.count_nonzero(~s[:-1] & s[1:]))
        n += r.size - 1
    return c / n if n else 0.25


def auto_threshold(nu0: float, false_rate: float, n_polarities: int) -> float:
    """Threshold (noise units) whose Rice false-event rate is ``false_rate``.

    Rice: level up-crossings of Gaussian noise per sample
    ``nu_u = nu_0 exp(-u^2 / 2)``; solved for ``u`` with both polarities
    counted when ``n_polarities`` is 2.
    """
    nu0 = min(max(nu0, 1e-6), 0.5)
    u = np.sqrt(2.0 * np.log(n_polarities * nu0 / false_rate))
    return float(np.clip(u, 3.0, 10.0))
