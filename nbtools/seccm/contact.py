"""Scale-free statistics of contact for every landing: noise, sweep signature, shape, stretches without current.

Every number here is a ratio of currents (a signal over the curve's own
noise), so multiplying all currents by any factor changes none of them.

Per pixel, with ``n`` samples ``c_k`` (A), sweep rate ``r_k = dE/dt`` and
``tau_k = k / (n - 1) - 1/2``:

noise
    white noise, MAD of second differences (:func:`noise_level`).
long-run noise
    the same on means of blocks of ``b`` samples, times ``sqrt(b)``: larger
    than the white noise when the noise is correlated (filtered, 1/f).
    Significances use the larger of the two (``sigma``).
sweep signature
    the coefficient of ``r`` in the least-squares fit ``c ~ a + d tau + g r``
    over standard error: a double-layer current ``C dE/dt`` flips sign with
    the sweep direction; the drift term ``d tau`` keeps a slow drift from
    counting as such.
shape
    chi-square of the means of ``n_windows`` equal parts of the curve about
    a straight line in time (offset and drift), over their standard errors,
    as a standard normal deviate (Wilson-Hilferty): peaks, waves, the
    capacitive step at the vertex.
stretch without current
    the longest start (or end) of the curve whose window means agree with
    the no-contact ``offset`` (chi-square and mean both within noise) while
    the rest of the curve does not, and the stretch is clearly nearer the
    offset than the sweep model of the rest of the curve: a meniscus formed
    late (or lost).
"""

from __future__ import annotations

import numpy as np

__all__ = ["noise_level", "curve_sums", "contact_statistics", "normal_deviate", "normal_deviate_quantile"]

#: half-width (samples) of the centred difference giving the sweep rate
RATE_HALF_WIDTH = 2
#: a stretch is "without current" while its chi-square and its mean stay below these standard normal deviates
DEAD_CHI2_Z = 2.33
DEAD_MEAN_Z = 2.58
#: ... and it is at least this much (2 ln 100: a likelihood ratio of 100) more likely to read the offset than the
#: sweep model of the rest of the curve
DEAD_LIKELIHOOD = 9.21


def block_size(n_samples):
    """Samples per block of the long-run noise: ``n // 32`` between 1 and 8 (median curve length)."""
    good = np.asarray(n_samples)[np.asarray(n_samples) > 0]
    med = float(np.median(good)) if good.size else 0.0
    return int(np.clip(med // 32, 1, 8))


def normal_deviate(chi2, dof):
    """Wilson-Hilferty: the standard normal deviate of a chi-square ``chi2`` with ``dof`` degrees of freedom."""
    k = np.maximum(np.asarray(dof, dtype=np.float64), 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = np.cbrt(np.maximum(chi2, 0.0) / k)
        return (x - (1 - 2 / (9 * k))) / np.sqrt(2 / (9 * k))


def normal_deviate_quantile(z, dof):
    """The chi-square with ``dof`` degrees of freedom whose :func:`normal_deviate` is ``z``."""
    k = np.maximum(np.asarray(dof, dtype=np.float64), 1.0)
    return k * np.maximum(1 - 2 / (9 * k) + z * np.sqrt(2 / (9 * k)), 0.0) ** 3


# ------------------------------------------------------------------ one pass over the samples
def noise_level(current, n_samples=None):
    """Robust white-noise estimate per curve (A): MAD of second differences.

    ``current`` is (pixel, sample) with NaN padding. At most ~256 evenly
    spaced second differences are used. Quantised signals whose median second
    difference is 0 fall back to the standard deviation.
    """
    c = np.asarray(current)
    m = c.shape[1]
    step = max((m - 2) // 256, 1)
    d2 = (c[:, 2:] - 2.0 * c[:, 1:-1] + c[:, :-2])[:, ::step]
    if d2.shape[1] == 0:
        return np.full(c.shape[0], np.nan)
    a = np.abs(d2)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: empty pixels
            med = np.nanmedian(a, axis=1)
            sig = med / 0.6745 / np.sqrt(6.0)
            zero = ~(sig > 0) & np.isfinite(med)
            if zero.any():
                sig[zero] = np.nanstd(d2[zero], axis=1) / np.sqrt(6.0)
    return sig


def _rate(pot, tim, n_s, h):
    """Sweep rate dE/dt (per s, or per sample without time) of (n, m) rows, NaN where unknown."""
    n, m = pot.shape
    k = np.arange(m)[None, :]
    last = np.maximum(n_s - 1, 0)[:, None]
    hi = np.minimum(k + h, last)
    lo = np.minimum(np.maximum(k - h, 0), last)
    dp = np.take_along_axis(pot, hi, 1) - np.take_along_axis(pot, lo, 1)
    if tim is None:
        dt = (hi - lo).astype(np.float64)
    else:
        dt = np.take_along_axis(tim, hi, 1) - np.take_along_axis(tim, lo, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(dt > 0, dp / dt, np.where(np.isfinite(dp), 0.0, np.nan))


def _block_noise(c, b):
    """Long-run noise per sample: MAD of second differences of block means, times sqrt(b)."""
    n, m = c.shape
    nb = m // b
    if b <= 1 or nb < 5:
        return np.full(n, np.nan)
    import warnings

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN blocks of padded curves
        B = np.nanmean(c[:, : nb * b].reshape(n, nb, b), axis=2)
        d2 = np.abs(B[:, 2:] - 2 * B[:, 1:-1] + B[:, :-2])
        return np.nanmedian(d2, axis=1) / 0.6745 / np.sqrt(6.0) * np.sqrt(b)


def _sums_numpy(c, pot, tim, n_s, n_windows, b, hi, lo):
    """The NumPy reference of :func:`nbtools.seccm._kernels.evidence_kernel` for rows ``c`` (n, m)."""
    n, m = c.shape
    c = c.astype(np.float64)
    noise = noise_level(c)
    noise_lr = _block_noise(c, b)
    with np.errstate(invalid="ignore"):
        sat = ((c >= hi) | (c <= lo)).sum(axis=1)
    fin = np.isfinite(c)
    with np.errstate(invalid="ignore"):
        c0 = np.where(fin.any(axis=1), np.nansum(np.where(fin, c, 0.0), axis=1) / np.maximum(fin.sum(axis=1), 1), 0.0)
    x = np.where(fin, c - c0[:, None], 0.0)
    k = np.arange(m)[None, :]
    tau = k / np.maximum(n_s - 1, 1)[:, None] - 0.5
    r = _rate(pot, tim, n_s, RATE_HALF_WIDTH)
    v = (fin & np.isfinite(r)).astype(np.float64)
    r = np.where(v > 0, r, 0.0)
    xv = x * v
    sums = np.stack([v.sum(1), (v * tau).sum(1), (v * r).sum(1), (v * tau * tau).sum(1), (v * tau * r).sum(1),
                     (v * r * r).sum(1), xv.sum(1), (xv * tau).sum(1), (xv * r).sum(1)], axis=1)
    # window j holds samples k with ((k + 1) K + m_i - 1) // m_i - 1 == j (the same split as the kernel)
    mi = np.maximum(n_s, 1)[:, None]
    j = np.clip(((k + 1) * n_windows + mi - 1) // mi - 1, 0, n_windows - 1)
    inside = fin & (k < n_s[:, None])
    wsum, wcnt, wtau, wr = (np.zeros((n, n_windows)) for _ in range(4))
    rows = np.broadcast_to(np.arange(n)[:, None], (n, m))
    np.add.at(wsum, (rows[inside], j[inside]), x[inside])
    np.add.at(wcnt, (rows[inside], j[inside]), 1.0)
    np.add.at(wtau, (rows[inside], j[inside]), np.broadcast_to(tau, (n, m))[inside])
    np.add.at(wr, (rows[inside], j[inside]), r[inside])
    return noise, noise_lr, sums, wsum, wcnt, wtau, wr, c0, sat


def curve_sums(ds_current, pot, tim, n_s, n_windows, *, hi, lo, engine="numba", chunk=2_000_000):
    """One pass over every curve: noise, long-run noise, regression sums, window sums, samples on the rails.

    ``pot`` and ``tim`` are (pixel, sample) or (1, sample); ``tim`` may be
    None (sample index instead of time). Returns a dict of per-pixel arrays.
    """
    c = ds_current
    n, m = c.shape
    b = block_size(n_s)
    if engine == "numba":
        from ._kernels import evidence_kernel

        cc = c if c.dtype in (np.float32, np.float64) else c.astype(np.float64)
        p = np.ascontiguousarray(pot, dtype=np.float64)
        t = np.zeros((1, 1)) if tim is None else np.ascontiguousarray(tim, dtype=np.float64)
        out = dict(noise=np.empty(n), noise_lr=np.empty(n), sums=np.empty((n, 9)), wsum=np.empty((n, n_windows)),
                   wcnt=np.empty((n, n_windows)), wtau=np.empty((n, n_windows)), wr=np.empty((n, n_windows)), c0=np.empty(n),
                   sat=np.empty(n, dtype=np.int64))
        evidence_kernel(cc, p, t, tim is not None, n_s.astype(np.int64), RATE_HALF_WIDTH, b, int(n_windows),
                        float(hi), float(lo), *out.values())
        return out
    parts = []
    step = max(1, chunk // max(m, 1))
    for i in range(0, n, step):
        sl = slice(i, min(n, i + step))
        rows = lambda a: None if a is None else (a[sl] if a.shape[0] == n and n > 1 else np.broadcast_to(a, (sl.stop - sl.start, m)))  # noqa: E731
        parts.append(_sums_numpy(c[sl], rows(pot), rows(tim), n_s[sl], n_windows, b, hi, lo))
    names = ("noise", "noise_lr", "sums", "wsum", "wcnt", "wtau", "wr", "c0", "sat")
    return {k: np.concatenate([p[i] for p in parts]) for i, k in enumerate(names)}


# ------------------------------------------------------------------ statistics from the sums
def _sweep_z(sums, sigma):
    """Signed significance of the sweep-rate coefficient in ``c ~ a + d tau + g r`` (Cramer's rule)."""
    S1, St, Sr, Stt, Str, Srr, Sc, Sct, Scr = sums.T
    det2 = S1 * Stt - St * St
    det3 = S1 * (Stt * Srr - Str * Str) - St * (St * Srr - Str * Sr) + Sr * (St * Str - Stt * Sr)
    num = S1 * (Stt * Scr - Str * Sct) - St * (St * Scr - Str * Sc) + Sr * (St * Sct - Stt * Sc)
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = (det3 > 1e-9 * np.abs(det2) * np.maximum(Srr, 0)) & (det2 > 0) & (sigma > 0)
        g = num / det3
        se = sigma * np.sqrt(det2 / det3)
        return np.where(ok, g / se, 0.0)


def _window_means(s):
    with np.errstate(invalid="ignore", divide="ignore"):
        return s["c0"][:, None] + s["wsum"] / s["wcnt"], s["wtau"] / s["wcnt"]


def _shape_z(s, sigma):
    """Chi-square of the window means about a straight line in time, as a standard normal deviate."""
    m, tau = _window_means(s)
    w = s["wcnt"]
    ok = w > 0
    m, tau = np.where(ok, m, 0.0), np.where(ok, tau, 0.0)
    W, Wt, Wtt = w.sum(1), (w * tau).sum(1), (w * tau * tau).sum(1)
    Wm, Wtm = (w * m).sum(1), (w * tau * m).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        det = W * Wtt - Wt * Wt
        a = np.where(det > 0, (Wtt * Wm - Wt * Wtm) / det, Wm / W)
        d = np.where(det > 0, (W * Wtm - Wt * Wm) / det, 0.0)
        chi2 = (w * (m - a[:, None] - d[:, None] * tau) ** 2).sum(1) / sigma**2
    dof = ok.sum(1) - 2
    return np.where((dof >= 1) & (sigma > 0), normal_deviate(chi2, dof), 0.0)


def _solve_sweep_model(T):
    """Coefficients (..., 3) of ``m ~ a + d tau + g r`` from normal-equation sums ``T`` (..., 9); NaN: no fit.

    ``T`` holds sums of ``w, w tau, w r, w tau^2, w tau r, w r^2, w m, w tau m, w r m``. Without a
    sweep in the data (one direction, holds) ``g`` is 0 and the fit is offset and drift only.
    """
    W, Wt, Wr, Wtt, Wtr, Wrr, Wm, Wtm, Wrm = np.moveaxis(T, -1, 0)
    M = np.stack([np.stack([W, Wt, Wr], -1), np.stack([Wt, Wtt, Wtr], -1), np.stack([Wr, Wtr, Wrr], -1)], -2)
    rhs = np.stack([Wm, Wtm, Wrm], -1)
    coef = np.full(rhs.shape, np.nan)
    for cols in ([0, 1, 2], [0, 1], [0]):
        sub = M[..., cols, :][..., :, cols]
        with np.errstate(invalid="ignore", over="ignore"):
            det = np.linalg.det(sub)
            scale = np.prod(np.abs(np.diagonal(sub, axis1=-2, axis2=-1)), axis=-1)
            todo = np.isnan(coef[..., 0]) & (np.abs(det) > 1e-6 * scale) & (scale > 0)
        if todo.any():
            sol = np.zeros(coef[todo].shape)
            sol[:, cols] = np.linalg.solve(sub[todo], rhs[todo][:, cols][..., None])[..., 0]
            coef[todo] = sol
    return coef


def _dead_stretches(s, sigma, offset, min_windows, need):
    """Longest start and end stretches (in windows) without current, while the rest shows contact.

    A stretch is without current when its window means agree with the
    no-contact ``offset`` (chi-square and mean) and its mean is clearly
    (likelihood ratio 100) closer to the offset than to the sweep model
    (offset, drift, double layer) of the rest of the curve extended over it:
    a weak double-layer current that happens to lie near the offset is not a
    lost meniscus.
    Returns ``(start, end)`` window counts (0: none) per pixel.
    """
    m, tau = _window_means(s)
    w = s["wcnt"]
    ok = w > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        r = s["wr"] / w
        d = np.where(ok, m - offset, 0.0)
        A = w * d * d / (sigma[:, None] ** 2)  # chi-square contributions
        B = w * d / sigma[:, None]  # sum of standard deviates
    tau, r, mm = (np.where(ok, v, 0.0) for v in (tau, r, m - s["c0"][:, None]))
    T = np.stack([w, w * tau, w * r, w * tau * tau, w * tau * r, w * r * r, w * mm, w * tau * mm, w * r * mm], -1)
    n, K = A.shape
    out = []
    for rev in (False, True):  # stretches at the start, then at the end (the reversed windows)
        flip = (lambda a: a[:, ::-1]) if rev else (lambda a: a)  # noqa: E731
        cA, cB, cN, cK = (np.concatenate([np.zeros((n, 1)), np.cumsum(flip(a), 1)], 1)
                          for a in (A, B, w, ok.astype(float)))
        cT = np.concatenate([np.zeros((n, 1, 9)), np.cumsum(flip(T), 1)], 1)
        coef = _solve_sweep_model(cT[:, -1:] - cT)  # the sweep model of the rest of the curve ...
        pred = coef[..., 0] * cN + coef[..., 1] * cT[..., 1] + coef[..., 2] * cT[..., 2]  # ... over the stretch
        j = np.arange(K + 1)[None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            apart = np.abs(cT[..., 6] - pred) / (sigma[:, None] * np.sqrt(cN))  # stretch vs that model
            off = np.abs(cB / np.sqrt(cN))
            quiet = (normal_deviate(cA, cK) < DEAD_CHI2_Z) & (off < DEAD_MEAN_Z)
            quiet &= ~(apart**2 - off**2 < DEAD_LIKELIHOOD)  # no model (NaN): no objection
            rest = normal_deviate(cA[:, -1:] - cA, cK[:, -1:] - cK) >= need
        cand = quiet & rest & (j >= min_windows) & (j <= K - 2) & (cK > 0)
        best = np.where(cand, j, 0).max(axis=1)
        out.append(best)
    return out[0], out[1]


def contact_statistics(sums, *, offset, min_evidence, min_dead_windows):
    """Per-pixel contact statistics from :func:`curve_sums` (a dict of arrays).

    ``offset`` (A) is the no-contact current: a scalar, or None when the
    scan has none (then estimated from the no-contact pixels, else 0).

    Returns
    -------
    dict
        ``sigma`` (A, the noise used for significances), ``sweep_z``
        (signed), ``shape_z``, ``evidence`` (the larger of ``|sweep_z|`` and
        ``shape_z``), ``contact`` (bool), ``offset`` (A), ``offset_source``,
        ``dead_start``/``dead_end`` (fraction of the curve), ``dead_start_windows``/``dead_end_windows``.
    """
    s = sums
    with np.errstate(invalid="ignore"):
        sigma = np.fmax(s["noise"], s["noise_lr"])
    sweep_z = _sweep_z(s["sums"], sigma)
    shape_z = _shape_z(s, sigma)
    evidence = np.fmax(np.abs(sweep_z), shape_z)
    contact = evidence >= min_evidence
    source = "given"
    if offset is None:
        quiet = ~contact & (s["sums"][:, 0] > 0)
        if quiet.sum() >= 3:
            mean = s["c0"][quiet]
            offset, source = float(np.median(mean)), f"median current of the {int(quiet.sum())} no-contact pixels"
        else:
            offset, source = 0.0, "assumed 0 A (no offset given and too few no-contact pixels to measure it)"
    K = s["wcnt"].shape[1]
    start, end = _dead_stretches(s, sigma, float(offset), min_dead_windows, min_evidence)
    start, end = np.where(contact, start, 0), np.where(contact, end, 0)
    return {"sigma": sigma, "sweep_z": sweep_z, "shape_z": shape_z, "evidence": evidence, "contact": contact,
            "offset": float(offset), "offset_source": source, "dead_start": start / K, "dead_end": end / K,
            "dead_start_windows": start, "dead_end_windows": end}
