"""Automatic landing-quality labels (vectorised over pixels).

Labels, in order of precedence:

``'empty'``
    no finite current at all.
``'saturated'``
    at least ``min_saturated`` samples sit exactly on a current rail (the
    amplifier's limit: ``rail=`` or ``ds.attrs['current_range']``, else the
    extreme value of the whole scan when several samples share it).
``'no_contact'``
    the current stays at the noise level (no meniscus contact) in at least
    90 % of the curve.
``'failed_landing'``
    the meniscus broke or formed late: a run of ``min_dead_windows`` or more
    consecutive windows (of ``n_windows``) at noise level, the rest with contact.
``'noisy'``
    the high-frequency noise exceeds ``noisy_factor`` times the median
    noise of the scan.
``'landed'``
    everything else.

"At noise level" means the mean absolute current (minus ``offset``) in a
window is below ``dead_factor`` times the scan's median noise. This assumes
that a landed pipette always passes some current (capacitive charging during a
sweep does); curves with genuinely zero-current stretches (long rests) need a
smaller ``dead_factor``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .layout import validate
from .recipe import QualityRecipe

__all__ = ["quality", "label_landings", "noise_level"]


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
        med = np.nanmedian(a, axis=1)
        sig = med / 0.6745 / np.sqrt(6.0)
        zero = ~(sig > 0)
        if zero.any():
            sig[zero] = np.nanstd(d2[zero], axis=1) / np.sqrt(6.0)
    return sig


def _windows_mean_abs(c, n_samples, n_windows, offset):
    """Mean |current - offset| in n_windows equal parts of each curve."""
    n, m = c.shape
    v = np.abs(c.astype(np.float64) - offset)
    fin = np.isfinite(v)
    v[~fin] = 0.0
    S = np.zeros((n, m + 1))
    np.cumsum(v, axis=1, out=S[:, 1:])
    F = np.zeros((n, m + 1))
    np.cumsum(fin, axis=1, out=F[:, 1:])
    j = np.arange(n_windows + 1)
    b = (j[None, :] * n_samples[:, None]) // n_windows  # (n, W+1)
    s = np.diff(np.take_along_axis(S, b, axis=1), axis=1)
    cnt = np.diff(np.take_along_axis(F, b, axis=1), axis=1)
    with np.errstate(all="ignore"):
        out = s / cnt
    return out, cnt


def _chunks(n, m, max_elems=2_000_000):
    step = max(1, max_elems // max(m, 1))
    for i in range(0, n, step):
        yield slice(i, min(n, i + step))


def _longest_run(b):
    """Longest run of True along axis 1 (vectorised)."""
    n, m = b.shape
    run = np.zeros(n, dtype=np.int64)
    best = np.zeros(n, dtype=np.int64)
    for j in range(m):  # m = n_windows (small); not a per-pixel loop
        run = np.where(b[:, j], run + 1, 0)
        best = np.maximum(best, run)
    return best


def quality(ds, recipe=None, /, **params):
    """Landing-quality metrics and labels for every pixel.

    Parameters
    ----------
    ds : xarray.Dataset
        SECCM Dataset (:mod:`nbtools.seccm` layout).
    recipe : QualityRecipe, dict or JSON, optional
        The thresholds (:class:`~nbtools.seccm.recipe.QualityRecipe`);
        keyword ``params`` override its settings:
    offset : float, optional
        Current (A) read when the pipette is not in contact. Default
        ``ds.attrs['current_offset']`` if present, else 0.
    rail : float, optional
        Absolute current limit (A) of the amplifier. Default
        ``ds.attrs['current_range']`` if present, else estimated.
    min_saturated : int
        Samples on the rail that make a pixel ``'saturated'`` (3).
    n_windows : int
        Parts each curve is cut into to find lost contact (20).
    dead_factor : float
        A window is "no contact" when its mean |current - offset| is below
        ``dead_factor`` x the median noise of the scan (4).
    min_dead_windows : int
        Consecutive no-contact windows that make a ``'failed_landing'`` (2).
    no_contact_fraction : float
        Fraction of no-contact windows that makes ``'no_contact'`` (0.9).
    noisy_factor : float
        Noise above this multiple of the median noise makes ``'noisy'`` (3).
    engine : {'numba', 'numpy'}
        Compiled kernel (default) or the NumPy reference.

    Returns
    -------
    xarray.Dataset
        Per pixel: ``status`` (str), ``noise`` (A), ``dead_fraction``,
        ``longest_dead_run`` (windows), ``saturated_samples``; attrs give the
        thresholds used and ``recipe`` (the :class:`QualityRecipe`).
    """
    r = QualityRecipe.coerce(recipe, **params)
    offset, rail, n_windows = r.offset, r.rail, r.n_windows
    validate(ds)
    c = ds.current.values
    n_s = ds.n_samples.values.astype(np.int64)
    if offset is None:
        offset = float(ds.attrs.get("current_offset", 0.0))
    if rail is None:
        rail = ds.attrs.get("current_range")
    if rail is not None:
        rail = abs(float(rail))  # attrs['current_range'] may be signed
        hi, lo = rail * (1 - 1e-9), -rail * (1 - 1e-9)
    else:
        hi, lo = float(np.nanmax(c)), float(np.nanmin(c))
        hi, lo = hi - 1e-9 * abs(hi), lo + 1e-9 * abs(lo)
    n = len(n_s)
    if r.engine == "numba":
        from ._kernels import quality_kernel

        noise = np.empty(n)
        a_w = np.empty((n, n_windows))
        cnt = np.empty((n, n_windows))
        sat_n = np.empty(n, dtype=np.int64)
        quality_kernel(c, n_s, int(n_windows), float(offset), hi, lo, noise, a_w, cnt, sat_n)
    else:
        noise = np.empty(n)
        sat_n = np.empty(n, dtype=np.int64)
        a_w = np.empty((n, n_windows))
        cnt = np.empty((n, n_windows))
        for sl in _chunks(*c.shape):
            cc = c[sl]
            noise[sl] = noise_level(cc)
            with np.errstate(invalid="ignore"):
                sat_n[sl] = ((cc >= hi) | (cc <= lo)).sum(axis=1)
            a_w[sl], cnt[sl] = _windows_mean_abs(cc, n_s[sl], n_windows, offset)
    has = n_s > 0
    ref = float(np.nanmedian(noise[has])) if has.any() else np.nan
    if not np.isfinite(ref) or ref <= 0:
        ref = float(np.nanmax(np.abs(c))) * 1e-6 or 1e-15

    # saturation
    if rail is None and sat_n.sum() < r.min_saturated:  # a single extreme is no rail
        sat_n[:] = 0
    saturated = sat_n >= r.min_saturated

    # contact per window
    with np.errstate(invalid="ignore"):
        dead = (a_w < r.dead_factor * ref) & (cnt > 0)
    nwin = np.maximum((cnt > 0).sum(axis=1), 1)
    dead_frac = dead.sum(axis=1) / nwin
    run = _longest_run(dead)

    status = np.full(len(n_s), "landed", dtype="<U14")
    status[noise > r.noisy_factor * ref] = "noisy"
    status[run >= r.min_dead_windows] = "failed_landing"
    status[dead_frac >= r.no_contact_fraction] = "no_contact"
    status[saturated] = "saturated"
    status[~has] = "empty"

    pc = {"pixel": ds.pixel, "x": ds.x, "y": ds.y, "ix": ds.ix, "iy": ds.iy}
    out = xr.Dataset(
        {
            "status": ("pixel", status, {"long_name": "landing quality"}),
            "noise": ("pixel", noise, {"units": "A", "long_name": "white-noise level"}),
            "dead_fraction": ("pixel", dead_frac, {"long_name": "fraction of windows without contact"}),
            "longest_dead_run": ("pixel", run, {"long_name": "longest run of no-contact windows"}),
            "saturated_samples": ("pixel", sat_n, {"long_name": "samples on the current rail"}),
        },
        coords=pc,
        attrs={
            "noise_reference": ref,
            "offset": float(offset),
            "rail": float(rail) if rail is not None else np.nan,
            "dead_factor": r.dead_factor,
            "n_windows": int(n_windows),
            "noisy_factor": r.noisy_factor,
            "recipe": r,
        },
    )
    return out


def label_landings(ds, recipe=None, /, **params):
    """Return a copy of ``ds`` with ``status`` (and ``noise``) set by :func:`quality`.

    The input is not modified. ``recipe`` and ``params`` are those of
    :func:`quality`. The recipe is kept as JSON text in
    ``status.attrs['recipe']`` (text, so that :func:`nbtools.seccm.save`
    writes it to NetCDF): ``label_landings(raw, ds.status.attrs['recipe'])``
    labels another scan the same way.
    """
    q = quality(ds, recipe, **params)
    st = q.status.values.copy()
    # a status set by the reader for a reason the data cannot show is kept
    old = ds.status.values
    keep = np.isin(old, ["failed_landing", "empty"]) & (st == "landed")
    st[keep] = old[keep]
    out = ds.copy()
    attrs = dict(ds.status.attrs, recipe=q.attrs["recipe"].to_json(indent=None).strip())
    out["status"] = ("pixel", st.astype("<U14"), attrs)
    out["noise"] = ("pixel", q.noise.values, dict(q.noise.attrs))
    return out
