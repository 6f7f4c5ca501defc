"""Per-pixel fitting of a voltammogram model over an SECCM scan.

Every selected pixel's voltammogram (optionally restricted to a potential
window, in time order) is fitted through :func:`nbtools.batch.fit_many` (Dask:
local processes by default, a ``dask.distributed`` scheduler address when
given), each pixel starting from the model's own guess on its curve. The
result is a Dataset of parameter maps and standard-error maps; a pixel whose
fit fails gets NaN and a ``fit_status`` reason; the batch never aborts.

The default model, ``"CouplesCV"`` (:class:`~nbtools.seccm.cv_model.CouplesCVModel`),
fits the whole cycle: Laviron couples sharing ``ks`` and ``alpha`` plus the
double-layer charging current, so overlapping couples and the capacitive
background do not bias each other.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from ..errors import DataError, NbtoolsWarning, ParameterError
from .dataset import good_pixels, to_grid, validate
from .stats import pixel_mask

__all__ = ["fit_pixels", "pixel_curve", "LAMBDA_MAX"]

#: above this Lambda = ks/(f v) a thin-layer CV is reversible: ks and alpha are not identifiable
LAMBDA_MAX = 10.0
#: ks is also not identifiable when the peak separation it implies is within this many potential
#: steps of the acquisition (a sample's current lags by about one step), or its relative error > 0.5
MIN_STEPS = 3.0
#: start of alpha when the user gives none: off the centre of its bounds (0.05, 0.95), where
#: MINPACK leastsq never moves a bounded parameter (its internal variable starts at 0)
ALPHA_START = 0.47
#: alpha step of the working curves behind the identifiability check (interpolated between)
ALPHA_GRID = 0.05


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


def _resolve(model, couples, sampling=None):
    """(lmfit model, name, has_background) from a name or a model instance."""
    from ..kinetics import get_entry

    if isinstance(model, str) and model == "CouplesCV":
        from .cv_model import CouplesCVModel

        m = CouplesCVModel(couples=couples, sampling=sampling or "point")
        return m, f"CouplesCV({couples})" + (", average" if m.sampling == "average" else ""), True
    if isinstance(model, str):
        entry = get_entry(model)
        if "E" not in entry.independent_vars:
            raise ParameterError(
                f"model={model!r} has independent variable(s) {list(entry.independent_vars)}; "
                "per-pixel voltammogram fits need a model of the potential E (e.g. 'CouplesCV', "
                "'LavironCV', 'FrumkinCV')")
        if sampling is None:
            return entry.make_model(), model, False
        if not hasattr(entry.make_model(), "sampling"):
            raise ParameterError(f"sampling={sampling!r}: model {model!r} has no sampling option; "
                                 "use 'CouplesCV' or 'LavironCV'")
        m = entry.make_model(sampling=sampling)
        return m, model + (", average" if m.sampling == "average" else ""), False
    if sampling is not None and sampling != getattr(model, "sampling", "point"):
        raise ParameterError(f"sampling={sampling!r} differs from the model instance's "
                             f"{getattr(model, 'sampling', 'point')!r}: set it on the instance, e.g. "
                             "CouplesCVModel(couples=2, sampling='average'), or pass the model by name")
    if getattr(model, "independent_vars", None) != ["E"]:
        raise ParameterError(f"model={model!r}: expected 'CouplesCV', a name in nbtools.kinetics.MODELS "
                             "or an lmfit model of the potential E")
    return model, type(model).__name__, bool(getattr(model, "has_background", False))


def _start_params(model, params, ds):
    """Dict of user settings applied on top of every pixel's guess (scan rate fixed from ds)."""
    import lmfit

    if isinstance(params, lmfit.Parameters):
        params = {k: {"value": p.value, "min": p.min, "max": p.max, "vary": p.vary} for k, p in params.items()}
    out = dict(params or {})
    unknown = [k for k in out if k not in model.param_names]
    if unknown:
        raise ParameterError(f"params: unknown parameter(s) {unknown}; the model has {model.param_names}")
    if "v" in model.param_names and "v" not in out:
        if "scan_rate" not in ds.attrs:
            raise ParameterError("the scan has no attrs['scan_rate'] and params gives no 'v': pass "
                                 "params={'v': {'value': <scan rate in V/s>, 'vary': False}}")
        out["v"] = {"value": float(ds.attrs["scan_rate"]), "vary": False}
    if "alpha" in model.param_names and "alpha" not in out:
        out["alpha"] = {"value": ALPHA_START}
    return out


def fit_pixels(
    ds,
    model="CouplesCV",
    *,
    couples=2,
    sampling=None,
    window=None,
    pixels=None,
    params=None,
    subtract_capacitive=None,
    include_failed=False,
    scheduler=None,
    n_workers=None,
    chunk_size=None,
    conf=None,
):
    """Fit a voltammogram model to every selected pixel; parameter and error maps.

    Parameters
    ----------
    ds : xarray.Dataset
        SECCM Dataset.
    model : str or lmfit.Model
        ``'CouplesCV'`` (default: ``couples`` Laviron couples sharing ks and
        alpha, plus double-layer charging, over the whole cycle), a name in
        :data:`nbtools.kinetics.MODELS` with potential ``E`` as independent
        variable (``'LavironCV'``, ``'FrumkinCV'``: one couple, use a
        ``window``), or a model instance.
    couples : int
        Number of couples of ``'CouplesCV'`` (LiMn2O4: 2).
    sampling : {None, 'point', 'average'}
        What a current sample is, for ``'CouplesCV'`` and ``'LavironCV'``:
        the current at the sample (``'point'``, the default when None) or the
        current averaged over the sampling interval ending at it
        (``'average'``: front ends that average over the sample period, and
        :func:`nbtools.simulate.seccm_scan`; the point model gives ks too low
        on such data). A model instance keeps its own option
        (``CouplesCVModel(sampling='average')``); a different value here
        raises ParameterError.
    window : (E1, E2), optional
        Potential window (V) of the samples fitted.
    pixels : mask or indices, optional
        Pixels to fit (a (y, x) boolean map such as :func:`classify`'s, a
        per-pixel mask or indices); default all.
    params : dict or lmfit.Parameters, optional
        Values/bounds applied on top of every pixel's own guess
        (``model.guess`` on its curve), e.g. ``{"E01": {"value": 4.0}}``. The
        scan rate ``v`` is fixed from ``ds.attrs['scan_rate']`` unless given.
    subtract_capacitive : bool, optional
        Remove the straight double-layer line of each sweep through the window
        ends before fitting; default: True for models without a background
        term (registry models), False for ``'CouplesCV'``.
    include_failed : bool
        Also fit pixels whose status is not ``'landed'``.
    scheduler : None, 'sync', 'threads', 'processes', address or Client
        Dask scheduler of :func:`nbtools.batch.fit_many` (default: local
        processes); a ``'tcp://host:port'`` address uses dask.distributed.
    n_workers, chunk_size : int, optional
        Passed to :func:`nbtools.batch.fit_many`.
    conf : None
        Ignored (kept for compatibility); standard errors come from the
        covariance of each fit.

    Returns
    -------
    xarray.Dataset
        Maps (y, x): one per varying parameter, ``<name>_stderr``, ``redchi``
        and, for models with ``ks``, ``Lambda`` = ks/(f v); per pixel
        ``fit_status`` ('ok' for a converged fit, 'skipped: <status>', 'not
        selected', 'failed: <reason>', including fits that did not converge)
        and ``fit_message`` (warnings of converged fits).
        ``ks`` and ``alpha`` are NaN where they are not identifiable: the CV
        is reversible (Lambda > :data:`LAMBDA_MAX`), the peak separation the
        fitted ks implies is within :data:`MIN_STEPS` potential steps of the
        acquisition, or ks has a relative standard error > 0.5; an
        :class:`~nbtools.errors.NbtoolsWarning` says how many pixels.

    Warns
    -----
    NbtoolsWarning
        When ks/alpha are not identifiable on some fitted pixels.
    """
    validate(ds)
    from ..batch import fit_many

    model, name, background = _resolve(model, couples, sampling)
    if subtract_capacitive is None:
        subtract_capacitive = not background
    if window is not None:
        window = tuple(float(v) for v in window)
        if len(window) != 2 or not window[0] < window[1]:
            raise ParameterError(f"window={window!r}: expected (low, high) in volts")
    start = _start_params(model, params, ds)
    n = ds.sizes["pixel"]
    sel = np.ones(n, bool) if pixels is None else pixel_mask(ds, pixels)
    ok = good_pixels(ds, include_failed).values
    status = np.full(n, "not selected", dtype=object)
    message = np.full(n, "", dtype=object)
    status[sel & ~ok] = ["skipped: " + s for s in ds.status.values[sel & ~ok]]
    todo, xs, ys = [], [], []
    for p in np.flatnonzero(sel & ok):
        E, i, _ = pixel_curve(ds, p, window=window, subtract_capacitive=subtract_capacitive)
        if E.size < 8:
            status[p] = f"failed: only {E.size} samples in the window"
            continue
        todo.append(int(p))
        xs.append(E)
        ys.append(i)
    if not todo and (sel & ok).any():
        raise DataError(f"fit_pixels: no selected pixel has enough samples in window={window}")
    names = [k for k in model.param_names if model.make_params()[k].vary or
             (isinstance(start.get(k), dict) and start[k].get("vary"))]
    vals = {k: np.full(n, np.nan) for k in names}
    errs = {k: np.full(n, np.nan) for k in names}
    redchi = np.full(n, np.nan)
    attrs = {"model": name, "n_fitted": 0, "n_failed": int(sum(str(s).startswith("failed") for s in status))}
    if todo:
        df = fit_many(model, xs, ys, start, scheduler=scheduler, n_workers=n_workers, chunk_size=chunk_size,
                      index=np.asarray(todo))
        # converged fits only: a fit that stopped without converging is a failure (NaN + reason)
        good = ((df["status"] != "failed") & df["success"]).to_numpy()
        pix = np.asarray(todo)
        for k in names:
            if k in df:
                vals[k][pix] = np.where(good, df[k].to_numpy(float), np.nan)
                errs[k][pix] = np.where(good, df[f"{k}_stderr"].to_numpy(float), np.nan)
        redchi[pix] = np.where(good, df["redchi"].to_numpy(float), np.nan)
        status[pix] = np.where(good, "ok", ["failed: " + str(m)[:200] for m in df["message"]])
        message[pix] = np.where(good, df["message"].fillna("").to_numpy(str), "")
        attrs.update(scheduler=df.attrs["scheduler"], engine=df.attrs["engine"],
                     elapsed_s=df.attrs["elapsed_s"], units=str(df.attrs["units"]))
    lam = _identifiability(vals, errs, start, status, message, _potential_step(ds))
    attrs["n_fitted"] = int(sum(s == "ok" for s in status))
    attrs["n_failed"] = int(sum(str(s).startswith("failed") for s in status))
    coords = {"pixel": ds.pixel, "ix": ds.ix, "iy": ds.iy}

    def grid(a, nm, units=""):
        da = xr.DataArray(a, dims="pixel", coords=coords, name=nm, attrs={"units": units} if units else {})
        return to_grid(da, ds).drop_vars(["ix", "iy", "pixel"], errors="ignore")

    out = {}
    for k in names:
        info = model.param_info(k) if hasattr(model, "param_info") else None
        unit = info.unit if info is not None else ""
        out[k] = grid(vals[k], k, unit)
        out[f"{k}_stderr"] = grid(errs[k], f"{k}_stderr", unit)
    out["redchi"] = grid(redchi, "redchi")
    if lam is not None:
        out["Lambda"] = grid(lam, "Lambda")
    res = xr.Dataset(out, attrs=attrs)
    res["fit_status"] = xr.DataArray(status.astype(str), dims="pixel")
    res["fit_message"] = xr.DataArray(message.astype(str), dims="pixel")
    return res


def _potential_step(ds):
    """Median potential step between samples (V)."""
    p = ds.potential.values
    p = p if p.ndim == 1 else p[: min(p.shape[0], 50)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(np.nanmedian(np.abs(np.diff(p, axis=-1))))


def _dEp_of_lambda(lam, alpha):
    """Peak separation (V) of a thin-layer CV at Lambda (inverse of kinetics.laviron_lambda)."""
    from ..kinetics.cv import laviron_lambda

    # working curves on an alpha grid of 0.05, interpolated linearly in alpha: a working curve
    # costs ~0.1 s and every pixel has its own fitted alpha
    a = float(np.clip(alpha, 0.1, 0.9))
    lo = min(np.floor(a / ALPHA_GRID + 1e-9) * ALPHA_GRID, 0.9 - ALPHA_GRID)
    w = (a - lo) / ALPHA_GRID
    d = np.geomspace(2e-4, 0.8, 300)
    out = 0.0
    for ag, wg in ((round(lo, 6), 1.0 - w), (round(lo + ALPHA_GRID, 6), w)):
        if wg <= 1e-12:
            continue
        L = laviron_lambda(d, alpha=ag)
        good = np.isfinite(L)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = out + wg * np.interp(-np.log(lam), -np.log(L[good]), d[good], left=0.0, right=d[good][-1])
    return out


def _identifiability(vals, errs, start, status, message, step):
    """Lambda = ks/(f v) per pixel; ks and alpha set to NaN (with a warning) where not identifiable."""
    if "ks" not in vals or "v" not in start:
        return None
    from ..kinetics._constants import F, R, T_DEFAULT

    v = start["v"]["value"] if isinstance(start["v"], dict) else float(start["v"])
    T = start.get("T", T_DEFAULT)
    T = T["value"] if isinstance(T, dict) else float(T)
    lam = vals["ks"] / (F / (R * T) * v)
    fitted = status == "ok"
    alpha = np.nan_to_num(vals.get("alpha", np.full(lam.shape, 0.5)), nan=0.5)
    dep = np.array([_dEp_of_lambda(a, b) if np.isfinite(a) and a > 0 else np.nan for a, b in zip(lam, alpha)])
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = errs["ks"] / np.abs(vals["ks"])
        bad = fitted & ~((lam <= LAMBDA_MAX) & (dep >= MIN_STEPS * step) & (rel <= 0.5))
    for p in np.flatnonzero(bad):
        why = []
        if not lam[p] <= LAMBDA_MAX:
            why.append(f"Lambda = ks/(f v) = {lam[p]:.3g} > {LAMBDA_MAX:g} (reversible at this scan rate)")
        if not dep[p] >= MIN_STEPS * step:
            why.append(f"the implied peak separation {dep[p] * 1e3:.1f} mV is within {MIN_STEPS:g} potential "
                       f"steps ({step * 1e3:.2f} mV) of the acquisition")
        if not rel[p] <= 0.5:
            why.append("ks has no usable standard error" if not np.isfinite(rel[p])
                       else f"ks is uncertain by {rel[p]:.0%}")
        note = "ks and alpha not identifiable: " + "; ".join(why)
        message[p] = f"{message[p]}; {note}" if message[p] else note
    for k in ("ks", "alpha"):
        if k in vals:
            vals[k][bad] = np.nan
            errs[k][bad] = np.nan
    if bad.any():
        warnings.warn(
            f"fit_pixels: ks and alpha are not identifiable on {int(bad.sum())} of {int(fitted.sum())} fitted "
            f"pixels and are NaN there (reasons in fit_message: Lambda = ks/(f v) > {LAMBDA_MAX:g}, i.e. "
            f"reversible at v = {v:g} V/s; a peak separation within {MIN_STEPS:g} potential steps; or ks "
            "without a usable standard error). Measure reversible pixels at a faster scan rate for kinetics.",
            NbtoolsWarning, stacklevel=3)
    return lam
