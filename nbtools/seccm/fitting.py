"""Per-pixel fitting of a voltammogram model over an SECCM scan.

Every selected pixel's voltammogram (optionally restricted to a potential
window, in time order) is fitted through :func:`nbtools.batch.fit_many` (Dask:
local processes by default, a ``dask.distributed`` scheduler address when
given), each pixel starting from the model's own guess on its curve. The
result is a Dataset of parameter maps and standard-error maps; a pixel whose
fit fails gets NaN and a ``fit_status`` reason; the batch never aborts. The
settings are a :class:`~nbtools.seccm.recipe.PixelFitRecipe`, kept in the
result's ``attrs['recipe']``.

The default model, ``"CouplesCV"`` (:class:`~nbtools.seccm.cv_model.CouplesCVModel`),
fits the whole cycle: Laviron couples sharing ``ks`` and ``alpha`` plus the
double-layer charging current, so overlapping couples and the capacitive
background do not bias each other.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import DataError, ParameterError
from ..kinetics.goodness import GOODNESS_COLUMNS, determination
from .cv_model import CouplesCVModel
from .identifiability import LAMBDA_MAX, check_identifiability, potential_step
from .layout import check_scan_window, good_pixels, pixel_map, potential_range, validate
from .pixel_models import get_pixel_model
from .recipe import PixelFitRecipe, check_fit_params
from .stats import pixel_mask

__all__ = ["fit_pixels", "pixel_curve", "pixel_fit_curve", "LAMBDA_MAX"]

#: start of alpha when the user gives none: off the centre of its bounds (0.05, 0.95), where
#: MINPACK leastsq never moves a bounded parameter (its internal variable starts at 0)
ALPHA_START = 0.47
#: progress reports of fit_pixels(progress=...): at most this many blocks of pixels
PROGRESS_BLOCKS = 20


def pixel_curve(ds, pixel, *, window=None, subtract_capacitive=False):
    """(potential, current, time) of one landing in time order, NaN removed.

    ``window`` (E1, E2) keeps the samples inside it; ``subtract_capacitive``
    subtracts, on each sweep, the straight line through the currents at the
    two ends of the window (the double-layer charging current).
    """
    return _Landings(ds).curve(pixel, window=check_scan_window(ds, window), subtract_capacitive=subtract_capacitive)


class _Landings:
    """The scan's arrays, read from the Dataset once (xarray access costs more than a curve's own work)."""

    def __init__(self, ds):
        self.n = ds.n_samples.values
        self.current = ds.current.values
        self.E = np.broadcast_to(ds.potential.values, self.current.shape)
        self.t = np.broadcast_to(ds.time.values, self.current.shape) if "time" in ds else None

    def curve(self, pixel, *, window=None, subtract_capacitive=False):
        """:func:`pixel_curve` of ``pixel`` (``window`` already checked)."""
        n = int(self.n[pixel])
        E = self.E[pixel, :n].astype(np.float64)
        i = self.current[pixel, :n].astype(np.float64)
        t = self.t[pixel, :n].astype(np.float64) if self.t is not None else None
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


# ------------------------------------------------------------------ recipe and model
def _is_model(obj):
    return hasattr(obj, "param_names") and hasattr(obj, "make_params")


def _split_model(recipe, params):
    """(recipe, params, instance): a model instance becomes recipe settings where it can (else 'given')."""
    model = recipe if _is_model(recipe) else params.get("model") if _is_model(params.get("model")) else None
    if isinstance(recipe, str) and not recipe.lstrip().startswith("{") and not recipe.endswith(".json"):
        return None, {"model": recipe, **params}, None  # fit_pixels(ds, "FrumkinCV")
    if model is None:
        return recipe, params, None
    recipe = None if recipe is model else recipe
    params = {k: v for k, v in params.items() if k != "model"}
    own = getattr(model, "sampling", None)
    if params.get("sampling") is not None and params["sampling"] != (own or "point"):
        raise ParameterError(f"sampling={params['sampling']!r} differs from the model instance's {own!r}: set it on "
                             "the instance, e.g. CouplesCVModel(couples=2, sampling='average'), or pass the model "
                             "by name")
    if isinstance(model, CouplesCVModel):
        return recipe, {**params, "model": "CouplesCV", "couples": model.couples, "sampling": own}, None
    entry = getattr(model, "entry", None)
    if entry is not None and type(model) is entry.model_class and not model.prefix:
        try:
            get_pixel_model(entry.name)
        except ParameterError:
            pass
        else:
            return recipe, {**params, "model": entry.name, "sampling": own}, None
    if getattr(model, "independent_vars", None) != ["E"]:
        raise ParameterError(f"model={model!r}: expected 'CouplesCV', a name in nbtools.kinetics.MODELS "
                             "or an lmfit model of the potential E")
    return recipe, {**params, "model": "given"}, model


def _build_model(r, instance):
    """(lmfit model, label for attrs, has_background)."""
    if r.model == "given":
        if instance is None:
            raise ParameterError("model='given': pass the lmfit model too, fit_pixels(ds, recipe, model=<model>)")
        check_fit_params(r.params, instance.param_names)
        return instance, type(instance).__name__, bool(getattr(instance, "has_background", False))
    entry = get_pixel_model(r.model)
    model = entry.make_model(couples=r.couples, sampling=r.sampling)
    return model, entry.label(couples=r.couples, sampling=r.sampling), entry.has_background


def _start_params(model, r, ds):
    """Dict of user settings applied on top of every pixel's guess (scan rate fixed from ds)."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in r.params.items()}
    if "v" in model.param_names and "v" not in out:
        if "scan_rate" not in ds.attrs:
            raise ParameterError("the scan has no attrs['scan_rate'] and params gives no 'v': pass "
                                 "params={'v': {'value': <scan rate in V/s>, 'vary': False}}")
        out["v"] = {"value": float(ds.attrs["scan_rate"]), "vary": False}
    if "alpha" in model.param_names and "alpha" not in out:
        out["alpha"] = {"value": ALPHA_START}
    return out


def _lmfit_params(params):
    import lmfit

    if isinstance(params, lmfit.Parameters):
        return {k: {"value": p.value, "min": p.min, "max": p.max, "vary": p.vary} for k, p in params.items()}
    return params


def _pixels_setting(ds, pixels):
    if pixels is None or isinstance(pixels, tuple):
        return pixels
    return np.flatnonzero(pixel_mask(ds, pixels)).tolist()


def fit_recipe(ds, recipe=None, /, **params):
    """(PixelFitRecipe, model instance or None): the recipe :func:`fit_pixels` runs with."""
    recipe, params, instance = _split_model(recipe, params)
    if "params" in params:
        params["params"] = _lmfit_params(params["params"])
    if "pixels" in params:
        params["pixels"] = _pixels_setting(ds, params["pixels"])
    return PixelFitRecipe.coerce(recipe, **params), instance


# ------------------------------------------------------------------ fit
def fit_pixels(ds, recipe=None, /, *, scheduler=None, n_workers=None, chunk_size=None, progress=None, conf=None,
               **params):
    """Fit a voltammogram model to every selected pixel; parameter and error maps.

    Parameters
    ----------
    ds : xarray.Dataset
        SECCM Dataset.
    recipe : PixelFitRecipe, str or lmfit.Model, optional
        The settings (:class:`~nbtools.seccm.recipe.PixelFitRecipe`), or the
        model: a name or a model instance (``fit_pixels(ds, "FrumkinCV")``).
        Keywords override the recipe's settings:
    model : str or lmfit.Model
        ``'CouplesCV'`` (default: ``couples`` Laviron couples sharing ks and
        alpha, plus double-layer charging, over the whole cycle), a name in
        :data:`nbtools.kinetics.MODELS` with potential ``E`` as independent
        variable (``'LavironCV'``, ``'FrumkinCV'``: one couple, use a
        ``window``; the list: :func:`nbtools.seccm.pixel_models`), or a model
        instance (an instance of a listed model is recorded by name; another
        as ``'given'``).
    couples : {1, 2}
        Number of couples of ``'CouplesCV'`` (LiMn2O4: 2).
    sampling : {None, 'point', 'average'}
        What a current sample is, for models with the option (``'CouplesCV'``,
        ``'LavironCV'``): the current at the sample (``'point'``, the default
        when None) or the current averaged over the sampling interval ending
        at it (``'average'``: front ends that average over the sample period,
        and :func:`nbtools.simulate.seccm_scan`; the point model gives ks too
        low on such data). A model instance keeps its own option; a different
        value here raises ParameterError.
    window : (E1, E2), optional
        Potential window (V) of the samples fitted.
    pixels : mask or indices, optional
        Pixels to fit (a (y, x) boolean map such as :func:`classify`'s, a
        per-pixel mask or indices; stored as indices); default all.
    max_pixels : int, optional
        Fit at most this many of the usable selected pixels, spread evenly.
    params : dict or lmfit.Parameters, optional
        Values/bounds applied on top of every pixel's own guess
        (``model.guess`` on its curve), e.g. ``{"E01": {"value": 4.0}}`` or a
        fixed value ``{"T": {"value": 300, "vary": False}}``. The scan rate
        ``v`` is fixed from ``ds.attrs['scan_rate']`` unless given.
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
    progress : callable, optional
        ``progress(done, total)`` (pixels), called before the first fit and as
        each block of pixels finishes (at most :data:`PROGRESS_BLOCKS` blocks).
    conf : None
        Ignored (kept for compatibility); standard errors come from the
        covariance of each fit.

    Returns
    -------
    xarray.Dataset
        Maps (y, x): one per varying parameter (a parameter fixed with
        ``params={name: {"value": ..., "vary": False}}`` has none), ``<name>_stderr``, ``redchi``,
        the goodness of fit of :data:`nbtools.kinetics.goodness.GOODNESS_COLUMNS`
        (``ndata``, ``r2``, ``noise`` (each curve's own, A), ``redchi_noise``
        (about 1: the model follows the data to within their noise),
        ``resid_r1``, ``runs_p``, ``aic``, ``bic``) and, for models with ``ks``,
        ``Lambda`` = ks/(f v); per pixel ``resid_structure`` (the residuals
        have structure the model does not follow), ``not_determined``
        (pixel, parameter: '' or why the data do not determine it: relative
        error > 100 %, at a bound, no standard error, ks not identifiable),
        ``fitted_values`` (pixel, model_parameter: the curve drawn by
        :func:`pixel_fit_curve`),
        ``fit_status`` ('ok' for a converged fit, 'skipped: <status>', 'not
        selected', 'failed: <reason>', including fits that did not converge)
        and ``fit_message`` (warnings of converged fits). attrs: ``model``,
        ``n_fitted``, ``n_failed``, ``data`` (what was fitted: window and
        double-layer subtraction, for :func:`compare_fits`), ``recipe`` (``fit_pixels(ds,
        result.attrs['recipe'])`` fits the same pixels the same way).
        ``ks`` and ``alpha`` are NaN where they are not identifiable: the CV
        is reversible (Lambda > :data:`LAMBDA_MAX`), the peak separation the
        fitted ks implies is within a few potential steps of the acquisition,
        or ks has a relative standard error > 0.5; an
        :class:`~nbtools.errors.NbtoolsWarning` says how many pixels.

    Warns
    -----
    NbtoolsWarning
        When ks/alpha are not identifiable on some fitted pixels.
    """
    validate(ds)
    r, instance = fit_recipe(ds, recipe, **params)
    model, name, background = _build_model(r, instance)
    window = check_scan_window(ds, r.window)
    subtract = (not background) if r.subtract_capacitive is None else r.subtract_capacitive
    start = _start_params(model, r, ds)
    status, todo, xs, ys = _choose(ds, r, window, subtract)
    defaults = model.make_params()
    names = [k for k in model.param_names  # the parameters that vary (a user setting overrides the model's)
             if (start[k].get("vary", defaults[k].vary) if isinstance(start.get(k), dict) else defaults[k].vary)]
    n = ds.sizes["pixel"]
    vals = {k: np.full(n, np.nan) for k in names}
    errs = {k: np.full(n, np.nan) for k in names}
    redchi = np.full(n, np.nan)
    good_cols = {k: np.full(n, np.nan) for k in GOODNESS_COLUMNS}
    good_cols["resid_structure"] = np.zeros(n, bool)
    message = np.full(n, "", dtype=object)
    attrs = {"model": name}
    if todo.size:
        df = _fit_blocks(model, xs, ys, start, todo, progress, scheduler=scheduler, n_workers=n_workers,
                         chunk_size=chunk_size)
        # converged fits only: a fit that stopped without converging is a failure (NaN + reason)
        good = ((df["status"] != "failed") & df["success"]).to_numpy()
        for k in names:
            if k in df:
                vals[k][todo] = np.where(good, df[k].to_numpy(float), np.nan)
                errs[k][todo] = np.where(good, df[f"{k}_stderr"].to_numpy(float), np.nan)
        redchi[todo] = np.where(good, df["redchi"].to_numpy(float), np.nan)
        for k in GOODNESS_COLUMNS:
            if k == "resid_structure":
                good_cols[k][todo] = good & df[k].to_numpy(bool)
            else:
                good_cols[k][todo] = np.where(good, df[k].to_numpy(float), np.nan)
        status[todo] = np.where(good, "ok", ["failed: " + str(m)[:200] for m in df["message"]])
        message[todo] = np.where(good, df["message"].fillna("").to_numpy(str), "")
        attrs.update(scheduler=df.attrs["scheduler"], engine=df.attrs["engine"],
                     elapsed_s=df.attrs["elapsed_s"], units=str(df.attrs["units"]))
    raw = _all_values(model, start, vals, n)  # before identifiability: the curve each pixel was fitted with
    det = _determination(model, start, names, vals, errs, n)
    why = np.full(n, "", dtype=object)
    lam = check_identifiability(vals, errs, start, status, message, potential_step(ds), why)
    for j, k in enumerate(names):
        if k in ("ks", "alpha"):
            det[:, j] = np.where((det[:, j] == "") & (why != ""), "not identifiable: " + why, det[:, j])
    attrs["n_fitted"] = int(sum(s == "ok" for s in status))
    attrs["n_failed"] = int(sum(str(s).startswith("failed") for s in status))
    attrs["recipe"] = r
    attrs["data"] = _data_description(model, r, window, subtract, ds)
    out = {}
    for k in names:
        info = model.param_info(k) if hasattr(model, "param_info") else None
        unit = {"units": info.unit} if info is not None and info.unit else {}
        out[k] = pixel_map(vals[k], ds, k, dict(unit, long_name=k))
        out[f"{k}_stderr"] = pixel_map(errs[k], ds, f"{k}_stderr", dict(unit, long_name=f"standard error of {k}"))
    out["redchi"] = pixel_map(redchi, ds, "redchi", {"long_name": "reduced chi-square"})
    for k, text in GOODNESS_COLUMNS.items():
        if k != "resid_structure":
            unit = {"units": "A"} if k == "noise" else {}
            out[k] = pixel_map(good_cols[k], ds, k, dict(unit, long_name=text))
    if lam is not None:
        out["Lambda"] = pixel_map(lam, ds, "Lambda", {"long_name": "Lambda = ks/(f v)"})
    res = xr.Dataset(out, attrs=attrs)
    res["fit_status"] = xr.DataArray(status.astype(str), dims="pixel")
    res["fit_message"] = xr.DataArray(message.astype(str), dims="pixel")
    res["resid_structure"] = xr.DataArray(good_cols["resid_structure"], dims="pixel",
                                          attrs={"long_name": GOODNESS_COLUMNS["resid_structure"]})
    res["not_determined"] = xr.DataArray(
        det.astype(str), dims=("pixel", "parameter"), coords={"parameter": list(names)},
        attrs={"long_name": "why the data do not determine the parameter at the pixel ('' where they do)"})
    res["fitted_values"] = xr.DataArray(
        raw, dims=("pixel", "model_parameter"), coords={"model_parameter": list(model.param_names)},
        attrs={"long_name": "every model parameter's value in the fit of the pixel (fixed ones included; before "
                            "ks and alpha are blanked where not identifiable): the fitted curve, pixel_fit_curve"})
    return res


def _bounds(model, start, k):
    p = model.make_params()[k]
    s = start.get(k)
    s = s if isinstance(s, dict) else {}
    return float(s.get("min", p.min)), float(s.get("max", p.max))


def _determination(model, start, names, vals, errs, n):
    """(pixel, parameter) reasons a parameter is not determined (:func:`nbtools.kinetics.goodness.determination`)."""
    if not names:
        return np.zeros((n, 0), dtype=object)
    lo, hi = zip(*(_bounds(model, start, k) for k in names))
    return determination(np.column_stack([vals[k] for k in names]), np.column_stack([errs[k] for k in names]),
                         np.asarray(lo), np.asarray(hi))


def _all_values(model, start, vals, n):
    """(pixel, model parameter): fitted values, and the fixed ones as set (the scan rate) or the model's."""
    defaults = model.make_params()
    out = np.full((n, len(model.param_names)), np.nan)
    fitted = np.zeros(n, bool)
    for k in vals:
        fitted |= np.isfinite(vals[k])
    for j, k in enumerate(model.param_names):
        if k in vals:
            out[:, j] = vals[k]
            continue
        s = start.get(k)
        v = s.get("value", defaults[k].value) if isinstance(s, dict) else (defaults[k].value if s is None else s)
        out[:, j] = np.where(fitted, float(v), np.nan)
    return out


def _data_description(model, r, window, subtract, ds):
    """What was fitted, in words and settings: fits of the same data can be compared (compare_fits)."""
    lo, hi = window if window is not None else potential_range(ds)
    what = "the current after subtracting each sweep's double-layer line" if subtract else "the measured current"
    return {"window": None if window is None else [float(window[0]), float(window[1])],
            "subtract_capacitive": bool(subtract), "pixels": None if r.pixels is None else len(r.pixels),
            "text": f"{what} from {lo:.3g} to {hi:.3g} V"}


def pixel_fit_curve(result, ds, pixel):
    """The data of one fitted pixel and the fitted model on them (what the fit saw, in time order).

    Parameters
    ----------
    result : xarray.Dataset
        From :func:`fit_pixels` (of a model by name: ``'CouplesCV'`` or a
        :func:`pixel_models` name).
    ds : xarray.Dataset
        The scan it was fitted on.
    pixel : int
        Pixel index.

    Returns
    -------
    dict
        ``potential`` (V), ``time`` (s or None), ``current`` (A, as fitted:
        after the double-layer subtraction where the fit made one), ``fit``
        (A), ``residual`` (A), and ``status``/``message`` of the pixel's fit.

    Raises
    ------
    ParameterError
        The pixel was not fitted, or the result is of a model passed as an instance.
    """
    r = result.attrs["recipe"]
    pixel = int(pixel)
    if not 0 <= pixel < result.sizes["pixel"]:
        raise ParameterError(f"pixel: expected 0..{result.sizes['pixel'] - 1}, found {pixel}")
    st = str(result.fit_status.values[pixel])
    if st != "ok":
        raise ParameterError(f"pixel {pixel} has no fit ({st})")
    if r.model == "given":
        raise ParameterError("this fit used a model instance: draw it with model.eval on pixel_curve's data")
    model, _, _ = _build_model(r, None)
    data = result.attrs["data"]
    E, i, t = pixel_curve(ds, pixel, window=data["window"], subtract_capacitive=data["subtract_capacitive"])
    vals = dict(zip(result.model_parameter.values.tolist(), result.fitted_values.values[pixel].tolist()))
    pars = model.make_params()
    for k, v in vals.items():
        pars[k].set(value=v)
    with np.errstate(all="ignore"):
        f = np.asarray(model.eval(pars, E=E), dtype=float)
    return {"potential": E, "time": t, "current": i, "fit": f, "residual": i - f, "status": st,
            "message": str(result.fit_message.values[pixel])}


def _choose(ds, r, window, subtract):
    """Per-pixel status and the pixels to fit with their (E, i) curves."""
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
    todo, xs, ys = [], [], []
    landings, window_ok = _Landings(ds), check_scan_window(ds, window)
    for p in use:
        E, i, _ = landings.curve(p, window=window_ok, subtract_capacitive=subtract)
        if E.size < 8:
            status[p] = f"failed: only {E.size} samples in the window"
            continue
        todo.append(int(p))
        xs.append(E)
        ys.append(i)
    if not todo and use.size:
        lo, hi = potential_range(ds)
        raise DataError(f"fit_pixels: no selected pixel has enough samples (8 or more) in the window "
                        f"{window[0]:g} to {window[1]:g} V; the scan runs from {lo:.3g} to {hi:.3g} V: widen the "
                        "window inside that range" if window is not None else
                        "fit_pixels: no selected pixel has 8 or more valid samples")
    return status, np.asarray(todo, dtype=np.int64), xs, ys


def _fit_blocks(model, xs, ys, start, todo, progress, **kw):
    """fit_many over all pixels at once, or block by block when progress is reported."""
    from ..batch import fit_many

    total = len(todo)
    if progress is None:
        return fit_many(model, xs, ys, start, index=todo, **kw)
    cores = kw.get("n_workers") or os.cpu_count() or 1
    size = max(int(np.ceil(total / PROGRESS_BLOCKS)), cores)
    progress(0, total)
    parts = []
    for a in range(0, total, size):
        parts.append(fit_many(model, xs[a:a + size], ys[a:a + size], start, index=todo[a:a + size], **kw))
        progress(min(a + size, total), total)
    df = pd.concat(parts)
    df.attrs = dict(parts[0].attrs, elapsed_s=sum(p.attrs["elapsed_s"] for p in parts))
    return df
