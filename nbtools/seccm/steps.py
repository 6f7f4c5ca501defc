"""Potential-step (chronoamperometry / PITT) transients fitted at every pixel: maps of tau = r^2/D and D.

A step scan holds each landing at one potential, then steps to another
(:func:`step_info` finds where). Every selected pixel's current after the step
is fitted with the spherical-diffusion PITT model (``'PITTSphere'``, or
``'PITTSphereBiot'`` with finite surface kinetics; both take a series
resistance ``Ru``) through :func:`nbtools.batch.fit_many`; a failed pixel gets
NaN and a reason, the batch goes on. One transient determines ``tau = r^2/D``
only; ``D`` needs the particle radius: the equivalent radius ``sqrt(area/pi)``
of each connected region of the selected pixels (the particle mask of
:func:`~nbtools.seccm.classify`), or a radius given (one value or a map, e.g.
from an SEM overlay). The settings are a
:class:`~nbtools.seccm.recipe.StepFitRecipe`, kept in ``attrs['recipe']``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import DataError, ParameterError
from .layout import good_pixels, pixel_arrays, pixel_map, validate
from .recipe import StepFitRecipe
from .stats import pixel_mask

__all__ = ["step_info", "particle_regions", "fit_steps", "particle_table", "polygon_radii"]


def step_info(ds, *, step_time=None):
    """Where the potential steps in a scan.

    The step is where the potential first leaves its initial value by more than
    half the step height; it is taken to happen at the last sample at the
    initial potential (``step_time`` overrides it, s).

    Returns
    -------
    dict
        ``index`` (first sample after the step), ``step_time`` (s), ``E_initial``,
        ``E_step``, ``dE`` (V; medians over the pixels when each has its own programme).
    """
    validate(ds)
    if "time" not in ds:
        raise ParameterError("the scan has no time: a step fit needs the time of each sample (give time= or dt= "
                             "when building it)")
    E = np.asarray(ds.potential.values, dtype=float)
    E = E[None, :] if E.ndim == 1 else E
    first = E[:, :1]
    last = np.nanmedian(E[:, -max(3, E.shape[1] // 10):], axis=1, keepdims=True)
    dE = (last - first)[:, 0]
    tol = np.maximum(0.05 * np.abs(dE), 1e-4)[:, None]
    two = (np.abs(E - first) <= tol) | (np.abs(E - last) <= tol) | ~np.isfinite(E)
    if not np.any(np.abs(dE) > 1e-4) or two.mean() < 0.9:
        raise DataError("the potential does not step: it sweeps or ends where it starts (a CV?); fit_steps needs "
                        "a potential-step (chronoamperometry/PITT) scan: one potential, then another")
    moved = np.abs(E - first) > 0.5 * np.abs(last - first)
    idx = np.where(moved.any(axis=1), np.argmax(moved, axis=1), -1)
    k = int(np.median(idx[idx > 0])) if np.any(idx > 0) else -1
    if k < 1 and step_time is None:
        raise DataError("the potential steps at the first sample: no sample at the initial potential, so the "
                        "step time is unknown; give step_time= (s)")
    k = max(k, 0)
    t = np.asarray(ds.time.values, dtype=float)
    t = t if t.ndim == 1 else np.nanmedian(t, axis=0)
    st = float(t[k - 1]) if step_time is None else float(step_time)
    first, last = np.nanmedian(first), np.nanmedian(last)
    return {"index": k, "step_time": st, "E_initial": float(first), "E_step": float(last),
            "dE": float(np.nanmedian(dE))}


def particle_regions(mask, ds):
    """Connected regions of a particle mask and their equivalent radii.

    Parameters
    ----------
    mask : array_like or xarray.DataArray
        Boolean map (y, x) (e.g. :func:`~nbtools.seccm.classify`'s), or a per-pixel mask.
    ds : xarray.Dataset
        The scan (for the grid spacing).

    Returns
    -------
    labels : numpy.ndarray (ny, nx)
        Region number of every grid cell (0: none), 8-connected.
    table : pandas.DataFrame
        Per region: ``region``, ``n_pixels``, ``area`` (m^2, pixels x the grid cell),
        ``radius`` (m, ``sqrt(area/pi)``), ``x``, ``y`` (centre, m).
    """
    from scipy import ndimage

    m = np.asarray(mask.values if hasattr(mask, "values") else mask)
    ny, nx = (int(v) for v in ds.attrs["grid_shape"])
    if m.ndim == 1:
        g = np.zeros((ny, nx), bool)
        g[ds.iy.values, ds.ix.values] = m.astype(bool)
        m = g
    if m.shape != (ny, nx):
        raise ParameterError(f"mask has shape {m.shape}; expected the scan's grid {(ny, nx)} (y, x)")
    gx = np.asarray(ds.attrs["grid_x"], dtype=float).reshape(-1)
    gy = np.asarray(ds.attrs["grid_y"], dtype=float).reshape(-1)
    dx = float(np.median(np.diff(gx))) if gx.size > 1 else float(np.median(np.diff(gy)))
    dy = float(np.median(np.diff(gy))) if gy.size > 1 else dx
    labels, k = ndimage.label(m.astype(bool), structure=np.ones((3, 3)))
    rows = []
    for j in range(1, k + 1):
        yy, xx = np.nonzero(labels == j)
        area = yy.size * abs(dx * dy)
        rows.append({"region": j, "n_pixels": int(yy.size), "area": area, "radius": float(np.sqrt(area / np.pi)),
                     "x": float(gx[xx].mean()), "y": float(gy[yy].mean())})
    table = pd.DataFrame(rows, columns=["region", "n_pixels", "area", "radius", "x", "y"])
    table.attrs["units"] = {"area": "m^2", "radius": "m", "x": "m", "y": "m"}
    return labels, table


def polygon_radii(ds, polygons, *, registration=None):
    """A map of particle radii from outlines drawn on an image (SEM): ``sqrt(area/pi)`` of each polygon.

    Parameters
    ----------
    ds : xarray.Dataset
        The scan.
    polygons : sequence of (n, 2) array_like
        One outline per particle: vertices (x, y) in metres, or (col, row) image
        pixels with ``registration`` (:func:`~nbtools.seccm.register_image`).
    registration : Registration, optional

    Returns
    -------
    xarray.DataArray
        Map (y, x) of the radius (m) of the particle each landing falls in (NaN
        outside every outline): pass it to :func:`fit_steps` as ``radius=``.
    """
    from .overlay import _points, pixels_in_polygon

    rad = np.full(ds.sizes["pixel"], np.nan)
    for k, poly in enumerate(polygons):
        pts = _points(poly, f"polygons[{k}]")
        xy = registration.to_map(pts) if registration is not None else pts
        x, y = xy[:, 0], xy[:, 1]
        area = 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
        if not area > 0:
            raise ParameterError(f"polygons[{k}] encloses no area; give the particle's outline (>= 3 vertices)")
        inside = pixels_in_polygon(ds, poly, registration=registration).values
        rad[inside] = np.sqrt(area / np.pi)
    return pixel_map(rad, ds, "radius", {"units": "m", "long_name": "particle radius from outlines (sqrt(area/pi))"})


def _pixels_setting(ds, pixels):
    if pixels is None or isinstance(pixels, tuple):
        return pixels
    return np.flatnonzero(pixel_mask(ds, pixels)).tolist()


_UNSET = object()


def fit_steps(ds, recipe=None, /, *, radius=_UNSET, scheduler=None, n_workers=None, **params):
    """Fit the PITT transient after the potential step at every selected pixel: maps of Q, tau and D.

    Parameters
    ----------
    ds : xarray.Dataset
        SECCM Dataset of a potential-step scan (time needed).
    recipe : StepFitRecipe, optional
        The settings (:class:`~nbtools.seccm.recipe.StepFitRecipe`); keywords override them:
    model : {'PITTSphere', 'PITTSphereBiot'}
        Nernstian sphere, or with finite surface kinetics (Biot number).
    pixels : mask or indices, optional
        Pixels to fit: the particle mask of :func:`~nbtools.seccm.classify` (its
        connected regions give the radii), a per-pixel mask or indices.
    time_window : (t1, t2), optional
        Time after the step fitted (s); e.g. leave out the double-layer charging of
        the first milliseconds.
    step_time : float, optional
        Time of the step (s); default the last sample at the initial potential.
    radius : 'regions', float, xarray.DataArray or None
        For ``D = r^2/tau``: ``'regions'`` (default) the equivalent radius of each
        connected region of the selected pixels, a radius in m for every pixel, a
        map (y, x) of radii in m (e.g. from an SEM overlay; recorded as ``'given'``),
        or None (tau only).
    params : dict, optional
        Values applied on every pixel's guess, e.g. ``{"Ru": {"value": 1e8, "vary": False}}``
        (the step height ``dE`` is set from the scan).
    include_failed, max_pixels
        As in :func:`~nbtools.seccm.fit_pixels`.
    scheduler, n_workers
        Passed to :func:`nbtools.batch.fit_many`.

    Returns
    -------
    xarray.Dataset
        Maps (y, x): ``Q`` (C), ``tau`` (s), their ``_stderr``, ``redchi``, and with a
        radius ``radius`` (m), ``D`` and ``D_stderr`` (m^2/s; the radius taken as
        exact: its own uncertainty (pixel size) adds ``2 sigma_r/r``), ``region`` (region
        number, 0 none); per pixel ``fit_status`` ('ok', 'not selected', 'skipped:
        <status>', 'failed: <reason>') and ``fit_message``. attrs: ``model``,
        ``n_fitted``, ``n_failed``, ``step`` (:func:`step_info`), ``radius_source``,
        ``recipe``; ``regions`` (the region table of :func:`particle_regions`) when used.
    """
    from ..batch import fit_many
    from ..kinetics import MODELS

    validate(ds)
    if "pixels" in params:
        params["pixels"] = _pixels_setting(ds, params["pixels"])
    given_map = None
    if radius is not _UNSET and hasattr(radius, "dims"):
        given_map = radius
    elif radius is not _UNSET:
        params["radius"] = radius
    r = StepFitRecipe.coerce(recipe, **params)
    info = step_info(ds, step_time=r.step_time)
    model = MODELS[r.model].make_model()
    n = ds.sizes["pixel"]
    sel = np.ones(n, bool)
    if r.pixels is not None:
        idx = np.asarray(r.pixels, dtype=np.int64)
        if idx.size and idx.max() >= n:
            raise ParameterError(f"pixels: indices must be within 0..{n - 1}, found {int(idx.max())}")
        sel = np.zeros(n, bool)
        sel[idx] = True
    ok = good_pixels(ds, r.include_failed).values
    status = np.full(n, "not selected", dtype=object)
    status[sel & ~ok] = ["skipped: " + s for s in ds.status.values[sel & ~ok]]
    use = np.flatnonzero(sel & ok)
    if r.max_pixels is not None and use.size > r.max_pixels:
        keep = use[np.linspace(0, use.size - 1, r.max_pixels).round().astype(np.int64)]
        status[np.setdiff1d(use, keep)] = f"not selected (max_pixels={r.max_pixels})"
        use = keep
    cur, tim = pixel_arrays(ds, "current", "time")
    ns = ds.n_samples.values
    lo, hi = r.time_window if r.time_window is not None else (0.0, np.inf)
    todo, xs, ys = [], [], []
    for p in use:
        t = np.asarray(tim[p, :ns[p]], dtype=float) - info["step_time"]
        i = np.asarray(cur[p, :ns[p]], dtype=float)
        keep = np.isfinite(t) & np.isfinite(i) & (t > 0) & (t > lo) & (t <= hi)
        if keep.sum() < 8:
            status[p] = f"failed: only {int(keep.sum())} samples after the step in the window"
            continue
        todo.append(int(p))
        xs.append(t[keep])
        ys.append(i[keep])
    start = {k: (dict(v) if isinstance(v, dict) else v) for k, v in r.params.items()}
    start.setdefault("dE", {"value": info["dE"], "vary": False})
    names = [k for k in model.param_names
             if (start[k].get("vary", model.make_params()[k].vary) if isinstance(start.get(k), dict)
                 else model.make_params()[k].vary)]
    vals = {k: np.full(n, np.nan) for k in names}
    errs = {k: np.full(n, np.nan) for k in names}
    redchi = np.full(n, np.nan)
    message = np.full(n, "", dtype=object)
    attrs = {"model": r.model, "step": info}
    if todo:
        df = fit_many(model, xs, ys, start, index=np.asarray(todo), scheduler=scheduler, n_workers=n_workers)
        good = ((df["status"] != "failed") & df["success"]).to_numpy()
        idx = np.asarray(todo)
        for k in names:
            if k in df:
                vals[k][idx] = np.where(good, df[k].to_numpy(float), np.nan)
                errs[k][idx] = np.where(good, df[f"{k}_stderr"].to_numpy(float), np.nan)
        redchi[idx] = np.where(good, df["redchi"].to_numpy(float), np.nan)
        status[idx] = np.where(good, "ok", ["failed: " + str(m)[:200] for m in df["message"]])
        message[idx] = np.where(good, df["message"].fillna("").to_numpy(str), "")
        attrs.update(engine=df.attrs["engine"], elapsed_s=df.attrs["elapsed_s"])
    elif use.size:
        raise DataError("fit_steps: no selected pixel has enough samples after the step")
    # radius per pixel
    rad = np.full(n, np.nan)
    region = np.zeros(n, dtype=np.int64)
    if given_map is not None:
        from .layout import from_grid

        rad = np.asarray(from_grid(given_map, ds).values, dtype=float)
        source = "given map"
        r = r.replace(radius=None)
        attrs["radius_note"] = "radius map given as radius= (not stored in the recipe)"
    elif r.radius == "regions" and r.pixels is not None:
        labels, table = particle_regions(sel, ds)
        region = labels[ds.iy.values, ds.ix.values]
        rad = np.where(region > 0, np.r_[np.nan, table["radius"].to_numpy()][region], np.nan)
        source = "regions: sqrt(area/pi) of each connected region of the selected pixels"
        attrs["regions"] = table
    elif isinstance(r.radius, float):
        rad[:] = r.radius
        source = f"given: {r.radius:.3g} m"
    else:
        source = "none (tau only): " + ("radius=None" if r.radius is None else
                                        "radius='regions' needs a selection of pixels (the particle mask)")
    attrs["radius_source"] = source
    attrs["n_fitted"] = int(sum(s == "ok" for s in status))
    attrs["n_failed"] = int(sum(str(s).startswith("failed") for s in status))
    attrs["recipe"] = r
    out = {}
    for k in names:
        info_k = model.param_info(k)
        unit = {"units": info_k.unit} if info_k is not None and info_k.unit else {}
        out[k] = pixel_map(vals[k], ds, k, dict(unit, long_name=k))
        out[f"{k}_stderr"] = pixel_map(errs[k], ds, f"{k}_stderr", dict(unit, long_name=f"standard error of {k}"))
    out["redchi"] = pixel_map(redchi, ds, "redchi", {"long_name": "reduced chi-square"})
    if np.any(np.isfinite(rad)) and "tau" in vals:
        with np.errstate(invalid="ignore", divide="ignore"):
            D = rad**2 / vals["tau"]
            D_err = D * errs["tau"] / vals["tau"]
        out["radius"] = pixel_map(rad, ds, "radius", {"units": "m", "long_name": "particle radius", "source": source})
        out["D"] = pixel_map(D, ds, "D", {"units": "m^2/s", "long_name": "diffusion coefficient r^2/tau"})
        out["D_stderr"] = pixel_map(D_err, ds, "D_stderr", {"units": "m^2/s",
                                                            "long_name": "standard error of D (from tau only)"})
        out["region"] = pixel_map(region.astype(float), ds, "region", {"long_name": "particle region (0: none)"})
    res = xr.Dataset(out, attrs=attrs)
    res["fit_status"] = xr.DataArray(status.astype(str), dims="pixel")
    res["fit_message"] = xr.DataArray(message.astype(str), dims="pixel")
    return res


def particle_table(result):
    """One row per particle region of a :func:`fit_steps` result: its radius and the median tau and D.

    Returns
    -------
    pandas.DataFrame
        ``region``, ``n_pixels`` (fitted), ``radius`` (m), ``tau`` (s, median of the
        region's pixels), ``tau_iqr`` (s), ``D`` (m^2/s, r^2 / median tau), ``D_low``,
        ``D_high`` (m^2/s: r^2 over the region's 75th and 25th percentile of tau). The
        table is what :func:`nbtools.ensemble.compare_with_ensemble` takes as the
        single-particle population.
    """
    if "region" not in result:
        raise ParameterError("the fit has no particle regions: run fit_steps with pixels=<particle mask> and "
                             "radius='regions'")
    reg = result["region"].values.ravel()
    tau = result["tau"].values.ravel()
    rad = result["radius"].values.ravel()
    rows = []
    for j in np.unique(reg[reg > 0]).astype(int):
        sel = (reg == j) & np.isfinite(tau)
        if not sel.any():
            continue
        q1, med, q3 = np.percentile(tau[sel], [25, 50, 75])
        r_ = float(np.nanmedian(rad[reg == j]))
        rows.append({"region": j, "n_pixels": int(sel.sum()), "radius": r_, "tau": med, "tau_iqr": q3 - q1,
                     "D": r_**2 / med, "D_low": r_**2 / q3, "D_high": r_**2 / q1})
    df = pd.DataFrame(rows, columns=["region", "n_pixels", "radius", "tau", "tau_iqr", "D", "D_low", "D_high"])
    df.attrs["units"] = {"radius": "m", "tau": "s", "tau_iqr": "s", "D": "m^2/s", "D_low": "m^2/s",
                         "D_high": "m^2/s"}
    df.attrs["source"] = "nbtools.seccm.particle_table"
    return df
