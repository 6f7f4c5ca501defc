"""Per-pixel fitting of a kinetic model over an SECCM scan.

Every selected pixel's voltammogram (restricted to a potential window, in
time order) is fitted with a model of :data:`nbtools.kinetics.MODELS`; the
result is a Dataset of parameter maps and standard-error maps. A pixel whose
fit fails gets NaN and a ``fit_status`` message; the batch never aborts.

Work is spread with Dask in chunks of pixels (threads on the local machine by
default; a ``dask.distributed`` scheduler address when given).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import DataError, NbtoolsError, ParameterError
from .dataset import good_pixels, to_grid, validate
from .stats import pixel_mask

__all__ = ["fit_pixels", "pixel_curve"]


def pixel_curve(ds, pixel, *, window=None, subtract_capacitive=False):
    """(potential, current, time) of one landing in time order, NaN removed.

    ``window`` (E1, E2) keeps the samples inside it; ``subtract_capacitive``
    subtracts, on each sweep, the straight line through the currents at the
    two ends of the window (the double-layer charging current).
    """
    n = int(ds.n_samples.values[pixel])
    E = np.broadcast_to(ds.potential.values, ds.current.shape)[pixel, :n].astype(np.float64)
    i = ds.current.values[pixel, :n].astype(np.float64)
    t = np.broadcast_to(ds.time.values, ds.current.shape)[pixel, :n].astype(np.float64) if "time" in ds else None
    keep = np.isfinite(E) & np.isfinite(i)
    if window is not None:
        keep &= (E >= window[0]) & (E <= window[1])
    if subtract_capacitive and keep.sum() > 4:
        i = i.copy()
        idx = np.flatnonzero(keep)
        # sweeps inside the window: contiguous runs of kept samples in one direction
        d = np.sign(np.gradient(E[idx])) if idx.size > 1 else np.zeros(idx.size)
        br = np.flatnonzero((np.diff(idx) > 1) | (d[1:] * d[:-1] < 0)) + 1
        for run in np.split(idx, br):
            if len(run) < 4:
                continue
            k = max(1, min(5, len(run) // 4))
            e0, e1 = E[run[:k]].mean(), E[run[-k:]].mean()
            y0, y1 = i[run[:k]].mean(), i[run[-k:]].mean()
            if e1 != e0:
                i[run] -= y0 + (y1 - y0) * (E[run] - e0) / (e1 - e0)
    return E[keep], i[keep], (t[keep] if t is not None else None)


def _guess(E, i, t):
    """Starting E0 (V) and Q (C) of one couple from a windowed CV."""
    up = np.gradient(E) > 0
    g = {}
    if up.any() and (~up).any():
        ea = E[up][np.argmax(i[up])]
        ec = E[~up][np.argmin(i[~up])]
        g["E0"] = 0.5 * (ea + ec)
    elif up.any():
        g["E0"] = E[up][np.argmax(i[up])]
    if t is not None and up.sum() > 2:
        tu, iu = t[up], i[up]
        q = float(np.sum(0.5 * (iu[1:] + iu[:-1]) * np.diff(tu)))
        if q > 0:
            g["Q"] = q
    return g


def _params_for(params, guess):
    """User params win; the per-pixel guess fills Q and E0 starting values."""
    out = {}
    for k, v in guess.items():
        out[k] = v
    for k, v in (params or {}).items():
        out[k] = v
    return out


def _fit_chunk(curves, model, params, conf):
    """Fit a list of (pixel, E, i, t); return list of (pixel, values, stderr, redchi, msg)."""
    from ..kinetics import fit

    out = []
    for pix, E, i, t in curves:
        try:
            r = fit(model, E, i, _params_for(params, _guess(E, i, t)), conf=conf, warn=False)
            names = list(r.params)
            vals = {k: r.params[k].value for k in names}
            errs = {k: (r.params[k].stderr if r.params[k].stderr is not None else np.nan) for k in names}
            out.append((pix, vals, errs, float(r.redchi), "ok"))
        except (NbtoolsError, ValueError, RuntimeError, FloatingPointError) as exc:
            out.append((pix, {}, {}, np.nan, f"failed: {exc}"[:200]))
    return out


def fit_pixels(
    ds,
    model,
    *,
    window=None,
    pixels=None,
    params=None,
    subtract_capacitive=True,
    include_failed=False,
    conf="stderr",
    scheduler=None,
    chunk_size=64,
):
    """Fit a kinetic model to every selected pixel; parameter and error maps.

    Parameters
    ----------
    ds : xarray.Dataset
        SECCM Dataset.
    model : str or lmfit.Model
        Name in :data:`nbtools.kinetics.MODELS` with potential ``E`` as
        independent variable (e.g. ``'LavironCV'``, ``'FrumkinCV'``), or a model.
    window : (E1, E2), optional
        Potential window (V) around one redox couple.
    pixels : mask or indices, optional
        Pixels to fit (a (y, x) boolean map such as :func:`classify`'s, a
        per-pixel mask or indices); default all.
    params : dict, optional
        Starting values/bounds shared by all pixels, e.g.
        ``{"v": {"value": 0.5, "vary": False}}`` (set the scan rate!). Each
        pixel starts from ``E0`` (mid-point of its anodic and cathodic peaks)
        and ``Q`` (charge of its anodic sweep) unless given here.
    subtract_capacitive : bool
        Remove the double-layer current on each sweep before fitting.
    include_failed : bool
        Also fit pixels whose status is not ``'landed'``.
    conf : str or None
        Interval method passed to :func:`nbtools.kinetics.fit` (``'stderr'``).
    scheduler : None, 'sync', 'threads', 'processes' or str
        Dask scheduler; a ``'tcp://host:port'`` address uses dask.distributed.
        Default: ``'threads'`` (local).
    chunk_size : int
        Pixels per task.

    Returns
    -------
    xarray.Dataset
        Maps (y, x): one per parameter, ``<name>_stderr``, ``redchi``; per
        pixel ``fit_status`` ('ok', 'skipped: <status>', 'not selected',
        'failed: <reason>').
    """
    validate(ds)
    from ..kinetics import get_entry

    if isinstance(model, str):
        entry = get_entry(model)
        if "E" not in entry.independent_vars:
            raise ParameterError(
                f"model={model!r} has independent variable(s) {list(entry.independent_vars)}; "
                "per-pixel voltammogram fits need a model of the potential E (e.g. 'LavironCV', 'FrumkinCV')"
            )
    if window is not None:
        window = tuple(float(v) for v in window)
        if len(window) != 2 or not window[0] < window[1]:
            raise ParameterError(f"window={window!r}: expected (low, high) in volts")
    n = ds.sizes["pixel"]
    sel = np.ones(n, bool) if pixels is None else pixel_mask(ds, pixels)
    ok = good_pixels(ds, include_failed).values
    status = np.full(n, "not selected", dtype=object)
    status[sel & ~ok] = ["skipped: " + s for s in ds.status.values[sel & ~ok]]
    todo = np.flatnonzero(sel & ok)
    curves = []
    for p in todo:
        E, i, t = pixel_curve(ds, p, window=window, subtract_capacitive=subtract_capacitive)
        if E.size < 8:
            status[p] = f"failed: only {E.size} samples in the window"
            continue
        curves.append((int(p), E, i, t))
    if not curves and todo.size:
        raise DataError(f"fit_pixels: no selected pixel has enough samples in window={window}")
    chunks = [curves[k: k + chunk_size] for k in range(0, len(curves), chunk_size)]
    results = _run(chunks, model, params, conf, scheduler)

    names = []
    for res in results:
        for _, vals, _, _, msg in res:
            if msg == "ok":
                names = list(vals)
                break
        if names:
            break
    vals = {k: np.full(n, np.nan) for k in names}
    errs = {k: np.full(n, np.nan) for k in names}
    redchi = np.full(n, np.nan)
    for res in results:
        for pix, v, e, rc, msg in res:
            status[pix] = msg
            redchi[pix] = rc
            for k in names:
                if k in v:
                    vals[k][pix] = v[k]
                    errs[k][pix] = e[k]
    coords = {"pixel": ds.pixel, "ix": ds.ix, "iy": ds.iy}
    out = {}
    for k in names:
        out[k] = to_grid(xr.DataArray(vals[k], dims="pixel", coords=coords, name=k), ds).drop_vars(
            ["ix", "iy", "pixel"], errors="ignore")
        out[f"{k}_stderr"] = to_grid(xr.DataArray(errs[k], dims="pixel", coords=coords), ds).drop_vars(
            ["ix", "iy", "pixel"], errors="ignore")
    out["redchi"] = to_grid(xr.DataArray(redchi, dims="pixel", coords=coords), ds).drop_vars(
        ["ix", "iy", "pixel"], errors="ignore")
    res = xr.Dataset(out, attrs={"model": str(model), "n_fitted": int(sum(s == "ok" for s in status)),
                                 "n_failed": int(sum(str(s).startswith("failed") for s in status))})
    res["fit_status"] = xr.DataArray(status.astype(str), dims="pixel")
    return res


def _run(chunks, model, params, conf, scheduler):
    if not chunks:
        return []
    import dask

    tasks = [dask.delayed(_fit_chunk)(c, model, params, conf) for c in chunks]
    if isinstance(scheduler, str) and "://" in scheduler:
        from distributed import Client

        with Client(scheduler) as client:
            return list(client.compute(tasks, sync=True))
    return list(dask.compute(*tasks, scheduler=scheduler or "threads"))
