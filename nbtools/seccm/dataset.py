"""Building the SECCM Dataset from arrays (:func:`from_arrays`), labelled by :func:`~nbtools.seccm.quality`.

See :mod:`nbtools.seccm` for the layout; validation and grid placement live
in :mod:`nbtools.seccm.layout` (re-exported here).
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from ..errors import DataError, NbtoolsWarning, ParameterError
from .layout import STATUS_VALUES, from_grid, good_pixels, pixel_arrays, to_grid, validate
from .quality import label_landings

__all__ = [
    "STATUS_VALUES",
    "from_arrays",
    "to_grid",
    "from_grid",
    "validate",
    "good_pixels",
    "pixel_arrays",
]


# ---------------------------------------------------------------- helpers
def _as_float(a, name):
    a = np.asarray(a)
    if a.dtype.kind == "O":
        raise DataError(f"{name}: expected numbers, found objects of type {type(a.flat[0]).__name__}")
    if a.dtype.kind not in "fiub":
        raise DataError(f"{name}: expected numbers, found dtype {a.dtype}")
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    return a


def _pad(curves, name):
    """Stack a list of 1-D arrays into (n, m) padded with NaN."""
    arrs = [_as_float(c, f"{name}[{i}]").ravel() for i, c in enumerate(curves)]
    if not arrs:
        raise DataError(f"{name}: no curves given (empty list)")
    m = max(len(a) for a in arrs)
    dtype = np.result_type(*[a.dtype for a in arrs])
    out = np.full((len(arrs), max(m, 1)), np.nan, dtype=dtype)
    for i, a in enumerate(arrs):
        out[i, : len(a)] = a
    return out


def _curves(a, name):
    if isinstance(a, (list, tuple)) and len(a) and np.ndim(a[0]) == 1:
        lens = {len(c) for c in a}
        if len(lens) > 1:
            return _pad(a, name)
    return _as_float(a, name)


def _cluster_axis(v, tol=None):
    """Cluster nearly equal coordinates; return (axis values, index per point).

    The axis is regular (``v0 + k * step``) when the cluster centres sit on
    integer multiples of their smallest spacing, otherwise the centres.
    """
    order = np.argsort(v, kind="stable")
    s = v[order]
    span = s[-1] - s[0]
    if span == 0:
        return np.array([s[0]]), np.zeros(len(v), dtype=np.int64)
    d = np.diff(s)
    if tol is None:
        big = d[d > 1e-3 * span]
        tol = 0.3 * np.min(big) if big.size else 0.3 * span
    new = np.r_[True, d > tol]
    lab_sorted = np.cumsum(new) - 1
    lab = np.empty(len(v), dtype=np.int64)
    lab[order] = lab_sorted
    centres = np.bincount(lab, weights=v) / np.bincount(lab)
    if len(centres) == 1:
        return centres, lab
    step = np.min(np.diff(centres))
    k = (centres - centres[0]) / step
    if np.all(np.abs(k - np.round(k)) < 0.25) and k[-1] < 20 * len(centres) + 10:
        k = np.round(k).astype(np.int64)
        axis = centres[0] + step * np.arange(k[-1] + 1)
        return axis, k[lab]
    return centres, lab


def _grid_from_order(n, grid, serpentine, fast_axis):
    ny, nx = (int(g) for g in grid)
    if ny < 1 or nx < 1:
        raise ParameterError(f"grid={grid!r}: expected (ny, nx) with positive integers")
    if ny * nx != n:
        raise DataError(
            f"grid={grid!r} holds {ny * nx} pixels but {n} curves were given; "
            "give the grid (ny, nx) that matches the number of curves"
        )
    k = np.arange(n)
    if fast_axis == "x":
        iy, ix = k // nx, k % nx
        if serpentine:
            ix = np.where(iy % 2 == 1, nx - 1 - ix, ix)
    elif fast_axis == "y":
        ix, iy = k // ny, k % ny
        if serpentine:
            iy = np.where(ix % 2 == 1, ny - 1 - iy, iy)
    else:
        raise ParameterError(f"fast_axis={fast_axis!r}: expected 'x' or 'y'")
    return iy, ix, ny, nx


def _sanitise_attrs(attrs):
    """Keep attrs NetCDF-safe so a save/load round trip is identical."""
    out = {}
    for k, v in (attrs or {}).items():
        if v is None:
            continue
        if isinstance(v, (bool, np.bool_)):
            v = int(v)
        elif isinstance(v, (list, tuple)):
            if all(isinstance(e, str) for e in v):
                v = "; ".join(v)
            else:
                v = np.asarray(v, dtype=np.float64)
        elif isinstance(v, dict):
            for kk, vv in _sanitise_attrs({f"{k}_{k2}": v2 for k2, v2 in v.items()}).items():
                out[kk] = vv
            continue
        elif not isinstance(v, (str, int, float, np.integer, np.floating, np.ndarray)):
            v = str(v)
        out[str(k)] = v
    return out


# ---------------------------------------------------------------- public
def from_arrays(
    current,
    potential,
    x=None,
    y=None,
    time=None,
    *,
    dt=None,
    scan_rate=None,
    grid=None,
    serpentine=False,
    fast_axis="x",
    pitch=None,
    source="arrays",
    reference_electrode="unknown",
    units_found=None,
    attrs=None,
    label=True,
    quality_options=None,
):
    """Build an SECCM Dataset (one pixel per landing) from arrays.

    Parameters
    ----------
    current : array_like or list of 1-D arrays
        Current in amperes (A), anodic positive. ``(n_pixel, n_sample)``;
        ``(ny, nx, n_sample)`` with ``x`` (nx,) and ``y`` (ny,) axis vectors;
        or a list of 1-D curves of unequal length (padded with NaN).
    potential : array_like
        Potential in volts (V): same forms as ``current``, or 1-D
        ``(n_sample,)`` when every landing used the same waveform (stored 1-D).
    x, y : array_like, optional
        Landing positions in metres, ``(n_pixel,)`` each (or axis vectors for
        3-D ``current``). When omitted, give ``grid`` (and ``pitch``).
    time : array_like, optional
        Time since the start of each landing in seconds: ``(n_pixel,
        n_sample)``, ``(n_sample,)`` or a list. Alternatives: ``dt`` (s per
        sample) or ``scan_rate`` (V/s, time rebuilt from |dE|).
    grid : (ny, nx), optional
        Grid of the scan when positions are not given: pixels are taken in
        acquisition order, row by row along ``fast_axis``.
    serpentine : bool
        With ``grid``: every other row is scanned backwards (put in place).
    fast_axis : {'x', 'y'}
        With ``grid``: the axis scanned first.
    pitch : float or (dy, dx), optional
        With ``grid``: grid spacing in metres. Default 1e-6 m, recorded in
        ``attrs['pitch_assumed']`` because the data do not say.
    source, reference_electrode : str
        Stored in ``attrs``.
    units_found : dict, optional
        Units as found in the source, e.g. ``{'current': 'nA'}``.
    attrs : dict, optional
        More attributes (scan parameters...). Must be NetCDF-safe scalars,
        strings or numeric sequences.
    label : bool
        Run :func:`nbtools.seccm.quality` to set ``status`` (default True);
        otherwise every pixel with data is ``'landed'``.
    quality_options : QualityRecipe or dict, optional
        The landing-quality recipe (:class:`~nbtools.seccm.recipe.QualityRecipe`,
        or a dict of its settings) for :func:`nbtools.seccm.label_landings`.

    Returns
    -------
    xarray.Dataset
        The layout described in :mod:`nbtools.seccm`.

    Raises
    ------
    DataError
        Shapes that do not match, a grid that does not match the number of
        curves, no finite current at all, NaN positions, two landings in the
        same grid cell.

    Examples
    --------
    >>> import numpy as np
    >>> from nbtools.seccm import from_arrays
    >>> E = np.linspace(0, 1, 50)
    >>> ds = from_arrays(np.ones((6, 50)) * 1e-12, E, grid=(2, 3), dt=0.01,
    ...                  label=False)
    >>> dict(ds.sizes), ds.attrs["grid_shape"].tolist()
    ({'pixel': 6, 'sample': 50}, [2, 3])
    """
    attrs = dict(attrs or {})
    cur = _curves(current, "current")
    if cur.ndim == 3:
        ny_, nx_, m = cur.shape
        if x is None or y is None or np.ndim(x) != 1 or np.ndim(y) != 1:
            raise ParameterError(
                "current is 3-D (ny, nx, n_sample): give x (nx,) and y (ny,) axis vectors in metres"
            )
        xa, ya = _as_float(x, "x"), _as_float(y, "y")
        if len(xa) != nx_ or len(ya) != ny_:
            raise DataError(
                f"current has shape {cur.shape} (ny, nx, n_sample) but len(x)={len(xa)}, len(y)={len(ya)}"
            )
        cur = cur.reshape(ny_ * nx_, m)
        yy, xx = np.meshgrid(ya, xa, indexing="ij")
        x, y = xx.ravel(), yy.ravel()
        pot = _curves(potential, "potential")
        if pot.ndim == 3:
            pot = pot.reshape(ny_ * nx_, -1)
        if time is not None and np.ndim(time) == 3:
            time = np.asarray(time).reshape(ny_ * nx_, -1)
    elif cur.ndim == 2:
        pot = _curves(potential, "potential")
    elif cur.ndim == 1:
        raise DataError(
            f"current is 1-D (length {cur.shape[0]}): expected one curve per pixel, "
            "shape (n_pixel, n_sample); use current[None, :] for a single landing"
        )
    else:
        raise DataError(f"current has {cur.ndim} dimensions: expected 2 (pixel, sample) or 3 (y, x, sample)")
    n, m = cur.shape
    if n == 0 or m == 0:
        raise DataError(f"current has shape {cur.shape}: no pixels or no samples")

    # potential: (n, m) or (m,)
    if pot.ndim == 1:
        if pot.shape[0] != m:
            raise DataError(f"potential has {pot.shape[0]} samples but current has {m} per pixel")
    elif pot.ndim == 2:
        if pot.shape[0] != n:
            raise DataError(f"potential has {pot.shape[0]} curves but current has {n}")
        if pot.shape[1] != m:
            if pot.shape[1] < m:
                pot = np.pad(pot, ((0, 0), (0, m - pot.shape[1])), constant_values=np.nan)
            else:
                raise DataError(f"potential has {pot.shape[1]} samples per pixel but current has {m}")
    else:
        raise DataError(f"potential has shape {pot.shape}: expected (n_pixel, n_sample) or (n_sample,)")

    # time
    tim = None
    if time is not None:
        tim = _curves(time, "time")
        if tim.ndim == 1 and tim.shape[0] != m:
            raise DataError(f"time has {tim.shape[0]} samples but current has {m} per pixel")
        if tim.ndim == 2:
            if tim.shape[0] != n:
                raise DataError(f"time has {tim.shape[0]} curves but current has {n}")
            if tim.shape[1] < m:
                tim = np.pad(tim, ((0, 0), (0, m - tim.shape[1])), constant_values=np.nan)
            elif tim.shape[1] > m:
                raise DataError(f"time has {tim.shape[1]} samples per pixel but current has {m}")
    elif dt is not None:
        if not np.isfinite(dt) or dt <= 0:
            raise ParameterError(f"dt={dt!r}: expected a positive time step in seconds")
        tim = (np.arange(m) * float(dt)).astype(cur.dtype)
        attrs.setdefault("dt", float(dt))
    elif scan_rate is not None:
        if not np.isfinite(scan_rate) or scan_rate <= 0:
            raise ParameterError(f"scan_rate={scan_rate!r}: expected a positive scan rate in V/s")
        dE = np.abs(np.diff(pot, axis=-1))
        dE = np.nan_to_num(dE, nan=0.0)
        zero = np.zeros(pot.shape[:-1] + (1,), dtype=pot.dtype)
        tim = np.concatenate([zero, np.cumsum(dE, axis=-1)], axis=-1) / float(scan_rate)
        if tim.ndim == 2:
            tim[~np.isfinite(pot)] = np.nan
        attrs.setdefault("time_from_scan_rate", 1)
    if scan_rate is not None:
        attrs.setdefault("scan_rate", float(scan_rate))

    # true lengths
    finite = np.isfinite(cur)
    anyf = finite.any(axis=1)
    if not anyf.any():
        raise DataError("current: no finite value in any pixel (all NaN); nothing to analyse")
    n_samples = np.where(anyf, m - np.argmax(finite[:, ::-1], axis=1), 0).astype(np.int32)

    # positions
    if x is None or y is None:
        if grid is None:
            raise ParameterError(
                "positions missing: give x and y in metres (one per pixel), or grid=(ny, nx) "
                "(with serpentine=True for back-and-forth scans)"
            )
        iy, ix, ny, nx = _grid_from_order(n, grid, serpentine, fast_axis)
        if pitch is None:
            dy = dx = 1e-6
            attrs["pitch_assumed"] = 1
            attrs.setdefault("note", "pitch not given: 1e-6 m assumed between landings")
        else:
            dy, dx = (float(pitch), float(pitch)) if np.ndim(pitch) == 0 else (float(pitch[0]), float(pitch[1]))
            if not (dx > 0 and dy > 0):
                raise ParameterError(f"pitch={pitch!r}: expected positive spacing in metres")
        gx, gy = np.arange(nx) * dx, np.arange(ny) * dy
        xa, ya = gx[ix], gy[iy]
    else:
        xa, ya = _as_float(x, "x").ravel().astype(np.float64), _as_float(y, "y").ravel().astype(np.float64)
        if len(xa) != n or len(ya) != n:
            raise DataError(f"x has {len(xa)} and y has {len(ya)} positions but there are {n} curves")
        bad = ~(np.isfinite(xa) & np.isfinite(ya))
        if bad.any():
            raise DataError(
                f"positions: {bad.sum()} pixel(s) have NaN/Inf x or y (first: {np.flatnonzero(bad)[:5].tolist()})"
            )
        gx, ix = _cluster_axis(xa)
        gy, iy = _cluster_axis(ya)
        ny, nx = len(gy), len(gx)
        if grid is not None and (int(grid[0]), int(grid[1])) != (ny, nx):
            raise DataError(f"grid={tuple(grid)!r} given, but the positions form a {ny} x {nx} grid")
    cell = iy * nx + ix
    uniq, counts = np.unique(cell, return_counts=True)
    if (counts > 1).any():
        dup = uniq[counts > 1][:3]
        raise DataError(
            f"{int((counts > 1).sum())} grid cell(s) hold more than one landing (e.g. iy, ix = "
            f"{[(int(c // nx), int(c % nx)) for c in dup]}); positions repeat or the grid is wrong"
        )

    status = np.where(n_samples > 0, "landed", "empty").astype("<U14")
    empty = np.flatnonzero(n_samples == 0)
    if empty.size:
        warnings.warn(
            f"{empty.size} of {n} pixels have no finite current (pixels {empty[:8].tolist()}"
            f"{' ...' if empty.size > 8 else ''}); they are marked status='empty'",
            NbtoolsWarning,
            stacklevel=2,
        )

    samp = ("pixel", "sample") if pot.ndim == 2 else ("sample",)
    data = {
        "current": (("pixel", "sample"), cur, {"units": "A", "long_name": "current (anodic positive)"}),
        "potential": (samp, pot, {"units": "V", "long_name": "potential"}),
        "n_samples": ("pixel", n_samples, {"long_name": "number of valid samples"}),
        "status": ("pixel", status, {"long_name": "landing quality", "values": ", ".join(STATUS_VALUES)}),
    }
    if tim is not None:
        data["time"] = (
            ("pixel", "sample") if tim.ndim == 2 else ("sample",),
            tim,
            {"units": "s", "long_name": "time since landing start"},
        )
    all_attrs = {
        "source": str(source),
        "reference_electrode": str(reference_electrode),
        "current_sign": "anodic positive (IUPAC)",
        "grid_shape": np.array([ny, nx], dtype=np.int64),
        "grid_x": np.asarray(gx, dtype=np.float64),
        "grid_y": np.asarray(gy, dtype=np.float64),
    }
    for k, v in (units_found or {}).items():
        all_attrs[f"units_found_{k}"] = str(v)
    all_attrs.update(attrs)
    ds = xr.Dataset(
        data,
        coords={
            "pixel": ("pixel", np.arange(n, dtype=np.int64)),
            "x": ("pixel", xa, {"units": "m", "long_name": "x position"}),
            "y": ("pixel", ya, {"units": "m", "long_name": "y position"}),
            "ix": ("pixel", ix.astype(np.int64), {"long_name": "grid column"}),
            "iy": ("pixel", iy.astype(np.int64), {"long_name": "grid row"}),
        },
        attrs=_sanitise_attrs(all_attrs),
    )
    if label:
        q = quality_options
        ds = label_landings(ds, **q) if isinstance(q, dict) and "recipe" not in q else label_landings(ds, q)
    return ds
