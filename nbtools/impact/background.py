"""What spike detection estimates once per recording: baseline, noise, mains pickup.

:func:`estimate_background` runs everything of
:func:`~nbtools.impact.find_events` that does not depend on the threshold,
iterated in the decimated domain (block means): baseline, noise SD and the
automatic threshold, then the blocks that hold events are masked and the
estimate repeated. The result, a :class:`SpikeBackground`, is what a
:class:`~nbtools.impact.PreparedTrace` keeps so that another threshold only
redoes the detection and the features.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError
from .baseline import block_size, blocks_of_events
from .noise import (MAX_NOISE_SAMPLES, NoiseSample, auto_threshold, charge_noise_curve, mains_amplitude,
                    mains_sample, merge_curves, robust_sigma, upcrossing_rate)
from .source import SampleSource, chunks as chunk_ranges
from .stages import baseline_values, block_stats, mains_pickup
from .table import baseline_curve

__all__ = ["SpikeBackground", "estimate_background", "Masks", "noisy_blocks", "spill_tails", "MAINS_MIN", "MAINS_LINE",
           "AUTO_CHUNK", "QUIET_LEVEL", "TAIL_SPILL"]

#: mains pickup is modelled ('auto') when its amplitude exceeds MAINS_MIN
#: noise SD and MAINS_LINE times the broadband level at nearby frequencies
MAINS_MIN = 0.05
MAINS_LINE = 2.0
#: arrays larger than this many samples (or memory maps) are processed in chunks
AUTO_CHUNK = 1 << 24
#: the charge noise is measured for integrals of at most this many samples
#: (longer ones: extrapolated)
MAX_CHARGE_WINDOW = 1 << 16


@dataclass
class Masks:
    """Masked sample ranges ``[a, b)`` with the reason of each (mask_start, range switches)."""

    a: list = field(default_factory=list)
    b: list = field(default_factory=list)
    why: list = field(default_factory=list)

    def add(self, a, b, why):
        self.a.append(int(a))
        self.b.append(int(b))
        self.why.append(why)


@dataclass
class SpikeBackground:
    """Baseline, noise and mains of one recording for one set of detection settings.

    Sample indices are global; ``bvals`` is the baseline at the centres of
    blocks of ``B`` samples (linear in between). ``sigma`` is the noise SD
    used for detection (A; ``noise`` when given), ``sigma_own``
    the recording's own estimate; ``nu0`` / ``nu0_own`` their mean-level
    up-crossings per sample; ``threshold_auto`` the automatic threshold (SD).
    ``flagged`` marks the blocks that hold events (left out of the baseline
    and noise), ``quiet`` those left out of the charge-noise sample
    (:func:`noisy_blocks`).
    """

    src: SampleSource
    chunks: list
    B: int
    window: float
    method: str
    bvals: np.ndarray
    mins: np.ndarray
    maxs: np.ndarray
    flagged: np.ndarray
    quiet: np.ndarray
    sigma: float
    sigma_own: float
    nu0: float
    nu0_own: float
    threshold_auto: float
    masks: Masks
    mains_freq: float | None
    mains_amplitude: float
    omega: float
    charge_curve: tuple
    workers: int = 1
    _curves: dict = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def n(self) -> int:
        return self.src.n

    def curve(self, fs, t0) -> dict:
        """``{'t': s, 'value': A}`` of the baseline (:func:`~nbtools.impact.table.baseline_curve`)."""
        return baseline_curve(self.B, self.bvals, self.n, fs, t0)

    def charge_curve_for(self, need: int):
        """The charge-noise curve, measured (once, cached) on segments long enough for integrals of
        ``need`` samples (the two polarities, detected side by side, measure it once)."""
        with self._lock:
            return self._charge_curve_for(need)

    def _charge_curve_for(self, need: int):
        curve = self.charge_curve
        have = curve[0][-1] if curve[0].size else 0
        need = min(int(need), MAX_CHARGE_WINDOW, self.n // 4)
        if need <= have:
            return curve
        seg = 8 << int(math.ceil(math.log2(max(need, 1))))  # windows plus their local-line stretches
        if seg not in self._curves:
            sample = NoiseSample(self.src.read, self.n, max_samples=max(MAX_NOISE_SAMPLES, 5 * seg),
                                 min_length=seg)
            pickup = mains_pickup(self.src, self.B, self.bvals, sample.segs, self.omega, 4.0 * self.sigma_own,
                                  self.workers)
            res, cont = sample.residual(self.B, self.bvals, self.quiet, pickup)
            self._curves[seg] = merge_curves(curve, charge_noise_curve(res, cont, start=2 * have if have else 4))
        return self._curves[seg]


def _masks(samples, recipe, range_mask) -> Masks:
    """Sample ranges masked by ``mask_start`` and around current-range switches."""
    n, fs, t0 = samples.n, samples.fs, samples.t0
    m = Masks()
    ms = recipe.mask_start
    if ms not in ("auto", None) and ms > 0:
        m.add(0, min(n, int(round(ms * fs))), "in masked region (mask_start)")
    for tc in (samples.meta or {}).get("range_changes", []) or []:
        c = int(round((float(tc) - t0) * fs))
        w = int(math.ceil(range_mask * fs))
        if -w <= c < n + w:
            m.add(max(0, c - w), min(n, c + w + 1), "range switch")
    return m


def estimate_background(samples, recipe, *, window, range_mask, workers=1) -> SpikeBackground:
    """Baseline, noise, automatic threshold and mains of ``samples`` (:class:`~.source.Samples`)
    for ``recipe``; ``window`` (s) and ``range_mask`` (s) are the resolved 'auto' values; the passes
    over the samples on ``workers`` threads (the same numbers)."""
    n, fs = samples.n, samples.fs
    src = SampleSource.of(samples.x)
    B = block_size(window * fs)
    chunks = chunk_ranges(n, recipe.chunk_size or (AUTO_CHUNK if src.filename else n), B)
    means, mins, maxs, bad = block_stats(src, chunks, B, workers)  # mins/maxs per sub-block
    if bad >= 0:
        raise DataError(
            f"the trace has a non-finite sample (NaN or Inf) at index {bad} (t = {bad / fs:g} s); "
            "remove or interpolate the gap (e.g. Trace slicing) before detecting events")
    if float(np.ptp(means)) == 0.0 and src.is_constant(chunks):
        raise DataError("the trace is constant (every sample equal): no noise, no events to detect")
    masks = _masks(samples, recipe, range_mask)
    method = "median" if recipe.baseline == "auto" else recipe.baseline
    fit = _iterate(src, means, mins, maxs, B, method, window, fs, masks, recipe)
    bvals, flagged, sigma, sig_est, nu0, nu0_est, th_auto, res, contiguous, sample = fit
    mains_f, mains_A = _mains(src, n, fs, B, bvals, sig_est, res, contiguous, recipe.mains)
    omega = 2 * np.pi * mains_f / fs if mains_f else 0.0
    # on the event-free sample (events' tails left out too), without the pickup that the events'
    # charges do not hold
    pickup = mains_pickup(src, B, bvals, sample.segs, omega, 4.0 * sig_est, workers) if omega else None
    quiet = noisy_blocks(flagged, bvals, mins, maxs, sig_est)
    charge_curve = charge_noise_curve(*sample.residual(B, bvals, quiet, pickup))
    return SpikeBackground(
        src=src, chunks=chunks, B=B, window=float(window), method=method, bvals=bvals, mins=mins, maxs=maxs,
        flagged=flagged, quiet=quiet, sigma=float(sigma), sigma_own=float(sig_est), nu0=float(nu0), nu0_own=float(nu0_est),
        threshold_auto=float(th_auto), masks=masks, mains_freq=mains_f, mains_amplitude=float(mains_A),
        omega=omega, charge_curve=charge_curve, workers=int(workers))


def _iterate(src, means, mins, maxs, B, method, window, fs, masks, recipe):
    """Baseline, noise and threshold, iterated: blocks whose min/max leave the
    threshold band around the current baseline hold events (or artefacts) and
    are masked for the next estimate."""
    n = src.n
    nb = means.size
    win_blocks = max(1, int(round(window * fs / B)))
    npol = recipe.n_polarities
    bmin = mins.reshape(nb, -1).min(axis=1)
    bmax = maxs.reshape(nb, -1).max(axis=1)
    skip_blocks = blocks_of_events(nb, B, np.asarray(masks.a, np.int64), np.asarray(masks.b, np.int64))
    flagged = skip_blocks.copy()
    sample = NoiseSample(src.read, n)
    for it in range(recipe.iterations + 1):
        bvals = baseline_values(method, means, B, win_blocks, flagged if flagged.any() else None,
                                recipe.baseline_degree)
        res, contiguous = sample.residual(B, bvals, flagged)
        sig_est = robust_sigma(res)
        nu0 = nu0_est = upcrossing_rate(res, contiguous)
        if recipe.noise is not None:
            sigma = recipe.noise
        else:
            sigma = sig_est
        if not np.isfinite(sigma) or sigma <= 0:
            raise DataError(
                "could not estimate the noise: the residual is constant after the baseline; "
                "pass noise=<A>")
        th_auto = auto_threshold(nu0, recipe.false_rate, npol)
        if it == recipe.iterations:
            break
        slack = np.abs(np.diff(bvals, prepend=bvals[0])) + np.abs(np.diff(bvals, append=bvals[-1]))
        exc = np.maximum(bmax - bvals, bvals - bmin)
        # blocks are masked at the automatic level whatever the detection
        # threshold: baseline and noise do not depend on it (see prepare())
        hot = exc > th_auto * sigma + slack
        # leading blocks whose mean moved with their extreme are the charging
        # decay, which the median must follow: not masked as events
        moved = hot & (np.abs(means - bvals) >= 0.5 * exc)
        hot &= ~(np.cumprod(moved) > 0)
        hot = hot | np.r_[False, hot[:-1]]  # event tails spill into the next block
        new_flag = hot | skip_blocks
        if np.array_equal(new_flag, flagged):
            break
        flagged = new_flag
    return bvals, flagged, sigma, sig_est, nu0, nu0_est, th_auto, res, contiguous, sample


#: the charge noise is measured away from events, from excursions beyond QUIET_LEVEL noise SDs (events
#: below the threshold) and from TAIL_SPILL times their length after them (their decay hidden in the
#: noise)
QUIET_LEVEL = 4.5
TAIL_SPILL = 2


def noisy_blocks(flagged, bvals, mins, maxs, sigma):
    """Blocks left out of the charge-noise sample: ``flagged`` (events, masks), those with an
    excursion beyond QUIET_LEVEL ``sigma`` from the baseline, and the tails after both
    (:func:`spill_tails`)."""
    nb = bvals.size
    bmin = mins.reshape(nb, -1).min(axis=1)
    bmax = maxs.reshape(nb, -1).max(axis=1)
    slack = np.abs(np.diff(bvals, prepend=bvals[0])) + np.abs(np.diff(bvals, append=bvals[-1]))
    exc = np.maximum(bmax - bvals, bvals - bmin)
    return spill_tails(flagged | (exc > QUIET_LEVEL * sigma + slack))


def spill_tails(flagged):
    """``flagged`` (blocks holding events) with each run extended by TAIL_SPILL times its length after
    it (at least one block) and by one block before it."""
    hot = np.asarray(flagged, bool)
    if not hot.any():
        return hot
    d = np.diff(np.r_[0, hot.astype(np.int8), 0])
    a, b = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    m = np.zeros(hot.size + 1, np.int64)
    np.add.at(m, np.maximum(a - 1, 0), 1)
    np.add.at(m, np.minimum(b + np.maximum(TAIL_SPILL * (b - a), 1), hot.size), -1)
    return np.cumsum(m)[:hot.size] > 0


def _mains(src, n, fs, B, bvals, sig_est, res, contiguous, mains):
    """``(frequency Hz or None, amplitude A)`` of the mains pickup to fit under events."""
    if not mains:
        return None, float("nan")
    # 1 s runs (events clipped) resolve a 50/60 Hz line from the broadband noise around it
    res, contiguous, fs_m = mains_sample(src.read, n, fs, B, bvals, sig_est)
    if mains != "auto":
        return float(mains), mains_amplitude(res, contiguous, fs_m, float(mains))
    # a spectral line: the amplitude at 50 (60) Hz well above that of the
    # broadband noise at neighbouring frequencies
    best, mains_f, mains_A = 0.0, None, float("nan")
    for f in (50.0, 60.0):
        if f >= fs / 4:
            continue
        line = mains_amplitude(res, contiguous, fs_m, f)
        cont = np.nanmedian([mains_amplitude(res, contiguous, fs_m, f * k) for k in (0.6, 0.7, 1.4, 1.5)])
        if np.isfinite(line) and line > MAINS_LINE * cont and line > MAINS_MIN * sig_est \
                and line / max(cont, 1e-300) > best:
            best = line / max(cont, 1e-300)
            mains_f, mains_A = f, line
    return mains_f, mains_A
