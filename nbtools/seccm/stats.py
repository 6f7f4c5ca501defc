"""Group statistics of pixel sets: mean voltammogram and 95 % bands."""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.special import stdtrit

from ..errors import DataError, ParameterError
from .layout import from_grid, good_pixels, validate

__all__ = ["MIN_BAND_CURVES", "curve_stats", "group_stats", "group_summary", "pixel_mask", "summary"]


#: fewest curves for a confidence band of their mean: with 2 the Student t factor is 12.7 (a band of
#: +-12.7 standard errors says nothing); below this the curves themselves are shown
MIN_BAND_CURVES = 3


def curve_stats(current, rows, *, level=0.95, min_n=MIN_BAND_CURVES):
    """Mean, standard deviation and confidence band of the mean of some curves.

    One pass of a numba kernel over the selected rows (no copies): fast enough
    for interactive selection (used by :class:`nbtools.widgets.PixelSelector`).

    Parameters
    ----------
    current : numpy.ndarray
        ``(pixel, sample)`` values (e.g. currents, A), NaN-padded.
    rows : array_like of int
        The pixels to average.
    level : float
        Confidence level of the band: the Student t interval of the mean with
        ``n - 1`` degrees of freedom, ``n`` the curves with a value at that sample.
    min_n : int
        Fewest curves for a band (3): where fewer have a value, ``low`` and
        ``high`` are NaN (show the curves instead).

    Returns
    -------
    dict
        ``mean``, ``sd`` (NaN where fewer than two pixels have a value),
        ``low``, ``high`` (NaN where fewer than ``min_n``; arrays (sample,))
        and ``n`` (count, int).
    """
    from ._kernels import curve_sums

    cur = np.asarray(current)
    rows = np.asarray(rows, dtype=np.int64).ravel()
    if cur.dtype not in (np.float32, np.float64):
        cur = cur.astype(np.float64)
    if rows.size and (rows.min() < 0 or rows.max() >= cur.shape[0]):
        raise ParameterError(f"rows must be within 0..{cur.shape[0] - 1}")
    s1, s2, n = curve_sums(cur, rows)
    n = n.astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / n
        var = np.clip(s2 - n * mean * mean, 0, None) / (n - 1)
        sd = np.where(n > 1, np.sqrt(var), np.nan)
        dof, inv = np.unique(np.maximum(n - 1, 1), return_inverse=True)  # usually one value
        tq = stdtrit(dof, 0.5 + level / 2)[inv.reshape(n.shape)]
        half = np.where(n >= max(int(min_n), 2), tq * sd / np.sqrt(n), np.nan)
    return {"mean": mean, "sd": sd, "low": mean - half, "high": mean + half, "n": n}


def _grid_shape(ds):
    """(ny, nx) of the scan's grid (None when the Dataset does not say)."""
    from .layout import _grid_coords

    if "grid_x" not in ds.attrs:
        return None
    c = _grid_coords(ds)
    return len(c["y"][1]), len(c["x"][1])


def pixel_mask(ds, mask):
    """Boolean NumPy mask (pixel) from a (y, x) map, a (pixel) mask or indices."""
    if isinstance(mask, xr.DataArray) and {"y", "x"} <= set(mask.dims):
        m = from_grid(mask, ds).values
        return np.asarray(m, dtype=bool) if m.dtype.kind == "b" else np.nan_to_num(m) != 0
    a = np.asarray(mask)
    n = ds.sizes["pixel"]
    if a.dtype.kind == "b":
        grid = _grid_shape(ds)
        if a.ndim == 2 and a.shape == grid:  # a (y, x) map as a plain array, e.g. classify(ds).values
            return a[ds.iy.values, ds.ix.values]
        if a.shape != (n,):
            raise ParameterError(f"mask: boolean mask of shape {a.shape}; expected ({n},) per pixel or a (y, x) "
                                 f"map of the scan's grid {grid}")
        return a
    if a.dtype.kind in "iu":
        out = np.zeros(n, bool)
        if a.size and (a.min() < 0 or a.max() >= n):
            raise ParameterError(f"mask: pixel indices must be within 0..{n - 1}")
        out[a.ravel()] = True
        return out
    raise ParameterError(f"mask: expected booleans, pixel indices or a (y, x) map, found dtype {a.dtype}")


def group_stats(ds, mask, *, include_failed=False, spread=False):
    """Mean voltammogram of a set of pixels with its 95 % confidence band.

    Parameters
    ----------
    ds : xarray.Dataset
        SECCM Dataset.
    mask : DataArray (y, x) bool, array (pixel,) bool, or pixel indices
        The pixels of the group.
    include_failed : bool
        Also use pixels whose status is not ``'landed'``.
    spread : bool
        Also return the 2.5 and 97.5 percentiles of the pixels (slower).

    Returns
    -------
    xarray.Dataset
        Along ``sample``: ``potential`` (mean, V), ``time`` (mean, s),
        ``current`` (mean, A), ``current_std``, ``ci_low``/``ci_high`` (95 %
        confidence interval of the mean, Student t with n - 1 degrees of
        freedom; NaN where fewer than 3 pixels have a value), ``n`` (pixels
        with a value at that sample) and with ``spread`` ``p2_5``/``p97_5``.
        attrs: ``n_pixels`` used, ``n_excluded`` (selected but failed),
        ``pixels``, ``band`` (how the interval was made, or why there is none).
    """
    validate(ds)
    sel = pixel_mask(ds, mask)
    ok = good_pixels(ds, include_failed).values
    use = sel & ok
    idx = np.flatnonzero(use)
    if idx.size == 0:
        raise DataError(
            f"group_stats: none of the {int(sel.sum())} selected pixels is usable "
            f"({int((sel & ~ok).sum())} have a failed status); select landed pixels or pass include_failed=True"
        )
    cur = ds.current.values
    st = curve_stats(cur, idx)
    mean, sd, n = st["mean"], st["sd"], st["n"]
    data = {
        "current": ("sample", mean, {"units": "A", "long_name": "mean current"}),
        "current_std": ("sample", sd, {"units": "A"}),
        "ci_low": ("sample", st["low"], {"units": "A", "long_name": "95 % CI of the mean (low)"}),
        "ci_high": ("sample", st["high"], {"units": "A", "long_name": "95 % CI of the mean (high)"}),
        "n": ("sample", n),
    }
    for nm in ("potential", "time"):
        if nm in ds:
            v = ds[nm].values
            mv = curve_stats(v, idx)["mean"] if v.ndim == 2 else v.astype(np.float64)
            data[nm] = ("sample", mv, dict(ds[nm].attrs))
    if spread:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo, hi = np.nanpercentile(cur[idx], [2.5, 97.5], axis=0)
        data["p2_5"] = ("sample", lo, {"units": "A"})
        data["p97_5"] = ("sample", hi, {"units": "A"})
    band = ("95 % confidence interval of the mean (Student t, n - 1 degrees of freedom)"
            if idx.size >= MIN_BAND_CURVES else
            f"none: {idx.size} pixel(s), fewer than {MIN_BAND_CURVES}; look at the curves themselves")
    return xr.Dataset(
        data,
        attrs={"n_pixels": int(idx.size), "n_excluded": int((sel & ~ok).sum()), "pixels": idx.astype(np.int64),
               "band": band},
    )


def summary(ds, maps, *, mask=None, include_failed=False):
    """Statistics of maps over the usable pixels (optionally of one group).

    Parameters
    ----------
    ds : xarray.Dataset
        SECCM Dataset.
    maps : dict of name -> DataArray (y, x), or one DataArray
        Maps from :mod:`nbtools.seccm` functions.
    mask : optional
        Pixels of a group (see :func:`group_stats`); default all.
    include_failed : bool
        Also count pixels whose status is not ``'landed'``.

    Returns
    -------
    pandas.DataFrame
        One row per map: ``units``, ``n``, ``mean``, ``std``, ``median``,
        ``p2_5``, ``p97_5``, ``sem``; ``df.attrs`` records the status counts,
        how many pixels were left out and why.
    """
    import pandas as pd

    validate(ds)
    if isinstance(maps, xr.DataArray):
        maps = {maps.name or "map": maps}
    sel = np.ones(ds.sizes["pixel"], bool) if mask is None else pixel_mask(ds, mask)
    ok = good_pixels(ds, include_failed).values
    use = sel & ok
    rows = []
    for name, mp in maps.items():
        v = from_grid(mp, ds).values.astype(np.float64)[use]
        v = v[np.isfinite(v)]
        n = v.size
        rows.append({
            "map": name,
            "units": mp.attrs.get("units", ""),
            "n": n,
            "mean": v.mean() if n else np.nan,
            "std": v.std(ddof=1) if n > 1 else np.nan,
            "median": np.median(v) if n else np.nan,
            "p2_5": np.percentile(v, 2.5) if n else np.nan,
            "p97_5": np.percentile(v, 97.5) if n else np.nan,
            "sem": v.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan,
        })
    df = pd.DataFrame(rows).set_index("map")
    st, cnt = np.unique(ds.status.values[sel], return_counts=True)
    df.attrs = {
        "source": ds.attrs.get("source", ""),
        "status_counts": {str(s): int(c) for s, c in zip(st, cnt)},
        "n_selected": int(sel.sum()),
        "n_left_out": int((sel & ~ok).sum()),
        "include_failed": bool(include_failed),
    }
    return df


def group_summary(ds, groups, maps, *, include_failed=False):
    """One row per group of pixels: how many, how many used, and each map's mean and spread over them.

    Parameters
    ----------
    ds : xarray.Dataset
        SECCM Dataset.
    groups : dict
        Group name -> its pixels (boolean map (y, x), per-pixel mask or
        indices; see :func:`pixel_mask`).
    maps : dict
        Short name -> map (y, x) (e.g. ``{"charge": seccm.charge(ds)}``);
        the unit comes from ``attrs['units']``.
    include_failed : bool
        Also use pixels whose status is not ``'landed'``.

    Returns
    -------
    pandas.DataFrame
        Columns ``group``, ``n_pixels``, ``n_used``, ``n_failed`` and per map
        ``<name>_mean_<unit>``, ``<name>_sd_<unit>`` (standard deviation over
        pixels) and ``<name>_n`` (pixels with a finite value).
    """
    import pandas as pd

    validate(ds)
    ok = good_pixels(ds, include_failed).values
    per_pixel = {k: (from_grid(m, ds).values.astype(np.float64), str(m.attrs.get("units", "")))
                 for k, m in maps.items()}
    rows = []
    for name, mask in groups.items():
        sel = pixel_mask(ds, mask)
        use = sel & ok
        row = {"group": name, "n_pixels": int(sel.sum()), "n_used": int(use.sum()),
               "n_failed": int((sel & ~ok).sum())}
        for k, (v, unit) in per_pixel.items():
            v = v[use]
            v = v[np.isfinite(v)]
            row[f"{k}_mean_{unit}"] = float(v.mean()) if v.size else np.nan
            row[f"{k}_sd_{unit}"] = float(v.std(ddof=1)) if v.size > 1 else np.nan
            row[f"{k}_n"] = int(v.size)
        rows.append(row)
    df = pd.DataFrame(rows)
    df.attrs = {"source": str(ds.attrs.get("source", "")),
                "statistics": "all pixels with data" if include_failed else "landed pixels only"}
    return df
