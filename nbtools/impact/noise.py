"""Robust noise level of the residual (trace minus baseline).

The residual is evaluated on up to ``max_samples`` samples taken as evenly
spaced contiguous segments of the trace (all of it when short), with the
blocks that hold events removed. The noise is the median absolute
deviation scaled to a Gaussian standard deviation (1.4826 MAD), which a few
spikes do not inflate. Quantised recordings (MAD of a handful of levels) fall
back to a clipped standard deviation so the estimate never collapses to 0.
"""

from __future__ import annotations

import numpy as np

from . import _kernels

MAX_NOISE_SAMPLES = 1 << 17
N_SEGMENTS = 64


def sample_segments(n: int, max_samples: int = MAX_NOISE_SAMPLES, n_segments: int = N_SEGMENTS,
                    min_length: int = 0):
    """``[(i0, i1), ...]`` evenly spaced segments covering at most ``max_samples``
    (each at least ``min_length`` long, e.g. two mains periods)."""
    if n <= max(max_samples, 2 * min_length):
        return [(0, n)]
    L = max_samples // n_segments
    if L < min_length:
        L = min_length
        n_segments = max(4, min(n_segments, (2 * max_samples) // L))
    if L * n_segments >= n:
        return [(0, n)]
    starts = np.linspace(0, n - L, n_segments).astype(np.int64)
    return [(int(s), int(s) + L) for s in starts]


class NoiseSample:
    """Raw samples of evenly spaced segments, read once; residuals on demand.

    ``read(i0, i1)`` returns samples of the trace (length ``n``).
    """

    def __init__(self, read, n, max_samples=None, min_length=0):
        self.segs = sample_segments(n, max_samples or MAX_NOISE_SAMPLES, min_length=min_length)
        self.raw = [np.asarray(read(i0, i1), dtype=np.float64) for i0, i1 in self.segs]
        # all segments end to end: their samples, global indices and where each segment starts
        self._x = np.concatenate(self.raw) if self.raw else np.empty(0)
        self._at = np.cumsum([0] + [i1 - i0 for i0, i1 in self.segs])
        self._g = np.concatenate([np.arange(i0, i1) for i0, i1 in self.segs]) if self.segs else np.empty(0, np.int64)
        self._follows = np.ones(self._x.size, bool)  # a sample directly after the previous one in the trace
        self._follows[self._at[:-1]] = False

    def residual(self, B, bvals, flagged=None, pickup=None):
        """``(res, contiguous)``: residual samples outside ``flagged`` blocks
        and whether each directly follows the previous one in the trace (for
        counting crossings). Falls back to all blocks if too few remain.
        ``pickup``: arrays (one per segment, :attr:`segs`) subtracted too."""
        use_flags = flagged is not None and flagged.any() and not flagged.all()
        r = np.empty(self._x.size)
        for (i0, i1), a in zip(self.segs, self._at):
            _kernels.fill_base(i0, i1, B, bvals, r[a:a + i1 - i0])
        np.subtract(self._x, r, out=r)
        if pickup is not None and len(pickup):
            r -= np.concatenate(pickup)
        if not use_flags:
            return r, self._follows.copy()
        keep = ~flagged[self._g // B]
        cont = self._follows.copy()
        cont[1:] &= keep[1:] & keep[:-1]
        res, contiguous = r[keep], cont[keep]
        if res.size < 64:
            return self.residual(B, bvals, None, pickup)
        return res, contiguous


def residual_sample(read, n, B, bvals, flagged=None, max_samples=None, min_length=0):
    """One-shot :meth:`NoiseSample.residual` (see there)."""
    return NoiseSample(read, n, max_samples, min_length).residual(B, bvals, flagged)


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


def upcrossing_rate(res, contiguous) -> float:
    """Median-level up-crossings per sample of the residual (Rice's nu_0/fs)."""
    if res.size < 2:
        return 0.25
    above = res > np.median(res)
    pairs = contiguous[1:]
    npairs = int(np.count_nonzero(pairs))
    if npairs == 0:
        return 0.25
    c = int(np.count_nonzero(pairs & ~above[:-1] & above[1:]))
    return c / npairs


def rice_rate(nu0, threshold, n_polarities: int = 1):
    """Expected false events of Gaussian noise at ``threshold`` noise SDs (Rice's formula).

    ``n_polarities * nu0 * exp(-threshold**2 / 2)``: with ``nu0`` the
    mean-level up-crossing rate of the noise, per second (its bandwidth in Hz,
    ``attrs['noise_bandwidth']``) or per sample, the result is in the same
    unit. The one place of this formula (:func:`auto_threshold` is its
    inverse): find_events' ``expected_false_per_s``, the preview of another
    threshold, :func:`~nbtools.impact.false_event_rate` and
    :func:`~nbtools.impact.noise_model_check` use it.

    Examples
    --------
    >>> round(rice_rate(1000.0, 5.0, 2), 6)   # 1 kHz bandwidth, 5 SD, both signs
    0.007453
    """
    rate = n_polarities * nu0 * np.exp(-np.square(threshold) / 2.0)
    return float(rate) if np.ndim(rate) == 0 else rate


def auto_threshold(nu0: float, false_rate: float, n_polarities: int) -> float:
    """Threshold (noise units) whose Rice false-event rate (:func:`rice_rate`) is ``false_rate``.

    Rice: level up-crossings of Gaussian noise per sample
    ``nu_u = nu_0 exp(-u^2 / 2)``; solved for ``u`` with both polarities
    counted when ``n_polarities`` is 2.
    """
    nu0 = min(max(nu0, 1e-6), 0.5)
    u = np.sqrt(2.0 * np.log(n_polarities * nu0 / false_rate))
    return float(np.clip(u, 3.0, 10.0))


def mains_amplitude(res, contiguous, fs, freq, max_runs=16):
    """Amplitude (A) of a sinusoid at ``freq`` Hz in the residual sample.

    Fitted (offset + cos + sin, least squares, about 40 points per period) on
    the ``max_runs`` longest contiguous runs at least 2 periods long; the RMS
    of the run amplitudes. NaN if no run is long enough.
    """
    period = fs / freq
    breaks = np.flatnonzero(~contiguous)
    edges = np.concatenate([breaks, [res.size]])
    lengths = np.diff(edges)
    order = np.argsort(-lengths)[:max_runs]
    order = order[lengths[order] >= 2 * period]
    if order.size == 0:
        return float("nan")
    step = max(1, int(period // 40))
    amps = []
    # runs of equal length are fitted together: normal equations (3x3, well
    # conditioned over >= 2 periods) of offset + cos + sin, one per run
    for m in np.unique(lengths[order]):
        starts = edges[order[lengths[order] == m]]
        idx = starts[:, None] + np.arange(0, m, step)[None, :]
        ph = 2 * np.pi * freq / fs * idx
        A = np.stack([np.ones_like(ph), np.cos(ph), np.sin(ph)], axis=1)  # (runs, 3, points)
        coef = np.linalg.solve(A @ A.transpose(0, 2, 1), (A @ res[idx][:, :, None]))[:, :, 0]
        amps.extend(coef[:, 1] ** 2 + coef[:, 2] ** 2)
    return float(np.sqrt(np.mean(amps)))


def mains_sample(read, n, fs, B, bvals, sigma, run_seconds=1.0, n_runs=16, per_second=2000):
    """Residual (events clipped at 3 sigma) on ``n_runs`` evenly spaced runs of
    ``run_seconds``, decimated to about ``per_second`` points per second, for
    :func:`mains_amplitude`. Returns ``(res, contiguous, fs_eff)``."""
    L = min(n, int(run_seconds * fs))
    k = max(1, int(fs // per_second))
    if L < 2 * k:
        return np.empty(0), np.empty(0, bool), fs / k
    starts = np.linspace(0, n - L, max(1, min(n_runs, n // L))).astype(np.int64)
    out, cont = [], []
    centres = np.arange(bvals.size) * B + (B - 1) / 2.0
    for s0 in starts:
        x = np.asarray(read(int(s0), int(s0) + L))[::k].astype(np.float64)
        idx = s0 + np.arange(x.size) * k
        r = x - np.interp(idx, centres, bvals)
        r -= np.median(r)
        np.clip(r, -3 * sigma, 3 * sigma, out=r)
        c = np.ones(r.size, bool)
        c[0] = False
        out.append(r)
        cont.append(c)
    return np.concatenate(out), np.concatenate(cont), fs / k


#: windows per length needed to measure the noise of a charge integral
MIN_WINDOWS = 100
#: the charge noise SD is half the spread that holds this share of the windows (2 SD of a Gaussian):
#: heavier tails than Gaussian widen it, so that +-1.96 SD holds 95 % of the noise as it is
TWO_SIGMA = 0.9545


def charge_noise_curve(res, contiguous, start=4):
    """How much noise alone adds to a charge, by integration length.

    On the event-free residual sample ``res`` (with ``contiguous`` flags, see
    :class:`NoiseSample`), for lengths ``N`` = 4, 8, 16, ... samples (from
    ``start``, a power of 2 >= 4): the charge that the estimator of
    :func:`find_events` (integral above a local line with a modelled
    exponential tail, :mod:`nbtools.impact._kernels.tail`) gives for the
    standard event of ``N`` samples where there is no event, its SD over all
    windows that fit in the sample, as half the spread around the median that
    holds TWO_SIGMA of them (the SD for Gaussian noise; wider for noise with
    heavier tails, so that the intervals hold what they say). This takes the
    noise as it is: correlated by the filter, 1/f, what remains of the mains
    pickup (give ``res`` without the pickup find_events subtracts under
    events: :func:`nbtools.impact.stages.mains_pickup`). Returns
    ``(lengths, sd)`` (samples, A x samples); empty if the sample is too
    short. An event's own geometry scales it (the ``|w|`` ratio of the
    feature rows).
    """
    res = np.asarray(res, np.float64)
    if res.size < 64:
        return np.empty(0), np.empty(0)
    run = np.cumsum(~np.asarray(contiguous, bool))  # run id of each sample
    c = np.concatenate([[0.0], np.cumsum(res)])
    lengths, sds = [], []
    N = max(4, int(start))
    while True:
        st, ln, wt = _kernels.standard_pieces(N)
        lo, hi = int(st.min()), int((st + ln).max())  # span relative to the integration start
        p = np.arange(-lo, res.size - hi + 1, max(4, N // 4))
        if p.size:
            p = p[run[p + lo] == run[p + hi - 1]]
        if p.size < MIN_WINDOWS:
            break
        q = np.empty(p.size)
        _kernels.window_charges(c, p, st, ln, wt, q)
        lengths.append(N)
        sds.append(float(np.quantile(np.abs(q - np.median(q)), TWO_SIGMA)) / 2.0)
        N *= 2
    return np.asarray(lengths, float), np.asarray(sds)


def charge_noise_sd(curve, n):
    """SD (A x samples) of the noise in the charge of the standard event of
    ``n`` samples, from :func:`charge_noise_curve`: log-log interpolation
    between the lengths measured; below the shortest as sqrt(n); beyond the
    longest from ``SD^2 = a n + b n^2`` (white noise plus 1/f noise under a
    local line) fitted to the measured points (a, b >= 0; weights of equal
    relative error), scaled to meet the last measured point. NaN without a
    curve."""
    lengths, sds = curve
    n = np.maximum(np.asarray(n, float), 1.0)
    if lengths.size == 0:
        return np.full(n.shape, np.nan)
    ok = sds > 0
    if not ok.any():
        return np.zeros(n.shape)
    Ls, Ss = lengths[ok], sds[ok]
    out = np.exp(np.interp(np.log(n), np.log(Ls), np.log(Ss)))
    long = n > Ls[-1]
    if long.any():
        out[long] = Ss[-1] * np.sqrt(_white_1f(Ls, Ss, n[long]) / _white_1f(Ls, Ss, Ls[-1:]))
    short = n < Ls[0]
    out[short] = Ss[0] * np.sqrt(n[short] / Ls[0])
    return out


def _white_1f(L, S, n):
    """``a n + b n^2`` fitted to ``S^2`` at lengths ``L`` (non-negative, relative weights)."""
    from scipy.optimize import nnls

    A = np.column_stack([L, L * L]) / (S * S)[:, None]
    (a, b), _ = nnls(A, np.ones(L.size))
    if a == 0 and b == 0:
        a = 1.0
    return a * n + b * n * n


def merge_curves(short, long):
    """One :func:`charge_noise_curve` from one measured on a sample of short
    segments and one on long segments: the long one's lengths beyond the
    short one's."""
    if short[0].size == 0:
        return long
    keep = long[0] > short[0][-1]
    return np.concatenate([short[0], long[0][keep]]), np.concatenate([short[1], long[1][keep]])
