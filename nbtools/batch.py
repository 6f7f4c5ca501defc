"""Fit the same model to many curves in parallel with Dask.

One call fits thousands of curves (SECCM pixels, impact events, PITT steps); a
curve that cannot be fitted becomes a row of NaN with ``status="failed"`` and the
reason in ``message`` -- it never aborts the batch.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from .errors import DataError, FitError, ParameterError
from .kinetics import (KineticsModel, FitRecipe, check_data, check_params, check_values, fit, guessed_values,
                       residual_autocorrelation, select_window, setup_fit)
from .kinetics import build_params as _kinetics_params
from .kinetics.goodness import GOODNESS_COLUMNS, determination, goodness, trust_messages

__all__ = ["fit_many"]

_LOCAL = ("sync", "synchronous", "single-threaded", "threads", "processes")


def _row_failed(exc):
    return {"redchi": np.nan, "chisqr": np.nan, "nfev": 0, "success": False,
            "status": "failed", "message": f"{type(exc).__name__}: {exc}"}


def _message(msgs, entry):
    """A curve's warnings as one string, the model's hint (added by each check) given once."""
    text = "; ".join(msgs)
    hint = f" ({entry.hints})" if entry is not None and entry.hints else ""
    if hint and text.count(hint) > 1:
        cut = text.index(hint) + len(hint)
        text = text[:cut] + text[cut:].replace(hint, "")
    return text


def _fit_chunk(model, xs, ys, job, engine):
    rows = []
    for x, y in zip(xs, ys):
        try:
            if engine == "fast":
                row = _fast_fit(model, x, y, job)
            else:
                row = _lmfit_fit(model, x, y, job)
        except Exception as exc:  # one bad curve must not stop the batch
            row = _row_failed(exc)
        rows.append(row)
    return rows


def _lmfit_fit(model, x, y, job):
    """One curve through :func:`nbtools.kinetics.fit` (no intervals: the table has standard errors)."""
    recipe, weights = job["recipe"], job["weights"]
    y = np.asarray(y, dtype=float)
    nbad = int(np.sum(~np.isfinite(y)))
    res = fit(model, x, y, recipe=recipe, weights=weights, warn=False)
    row = {}
    for n, p in res.params.items():
        if p.vary or p.expr:
            row[n] = p.value
            row[f"{n}_stderr"] = p.stderr if p.stderr is not None else np.nan
    msgs = list(res.nb_warnings)  # with the goodness-of-fit and determination warnings (kinetics.fit)
    row.update(res.nb_goodness, not_determined=", ".join(res.nb_not_determined))
    if nbad and recipe.nan_policy == "omit":
        msgs.insert(0, f"{nbad} NaN/Inf points omitted")
    row.update(redchi=res.redchi, chisqr=res.chisqr, nfev=res.nfev, success=bool(res.success),
               status="warning" if msgs else "ok", message=_message(msgs, job["entry"]))
    return row


def _trust(names, values, stderr, lo, hi, y, yfit, weights, msgs):
    """Goodness-of-fit columns and ``not_determined`` of one curve; adds their warnings to ``msgs``."""
    good = goodness(np.asarray(y, dtype=float), np.asarray(yfit, dtype=float), len(names), weights=weights)
    codes = determination(values, stderr, lo, hi) if names else np.zeros(0, dtype=object)
    skip = ("structure",) if any("strongly correlated (lag-1" in m for m in msgs) else ()
    msgs += trust_messages(names, values, stderr, codes, good, skip=skip)
    good["not_determined"] = ", ".join(n for n, c in zip(names, codes) if c)
    return good


class _Bounds:
    """lmfit's bound transforms between external p and unbounded internal u (vectorised)."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi
        self.both = np.isfinite(lo) & np.isfinite(hi)
        self.low = np.isfinite(lo) & ~np.isfinite(hi)
        self.up = ~np.isfinite(lo) & np.isfinite(hi)

    def to_internal(self, p):
        u = p.astype(float).copy()
        lo, hi = self.lo, self.hi
        b, lw, up = self.both, self.low, self.up
        u[b] = np.arcsin(np.clip(2 * (p[b] - lo[b]) / (hi[b] - lo[b]) - 1, -1, 1))
        u[lw] = np.sqrt(np.maximum((p[lw] - lo[lw] + 1) ** 2 - 1, 0))
        u[up] = np.sqrt(np.maximum((hi[up] - p[up] + 1) ** 2 - 1, 0))
        return u

    def to_external(self, u):
        p = u.astype(float).copy()
        lo, hi = self.lo, self.hi
        b, lw, up = self.both, self.low, self.up
        p[b] = lo[b] + (np.sin(u[b]) + 1) * (hi[b] - lo[b]) / 2
        p[lw] = lo[lw] - 1 + np.sqrt(u[lw] ** 2 + 1)
        p[up] = hi[up] + 1 - np.sqrt(u[up] ** 2 + 1)
        return p

    def derivative(self, u):
        d = np.ones_like(u, dtype=float)
        lo, hi = self.lo, self.hi
        b, lw, up = self.both, self.low, self.up
        d[b] = np.cos(u[b]) * (hi[b] - lo[b]) / 2
        d[lw] = u[lw] / np.sqrt(u[lw] ** 2 + 1)
        d[up] = -u[up] / np.sqrt(u[up] ** 2 + 1)
        return d


def _start(model, x, y, template):
    """Starting values of one curve: the template's, the guess for those without a given value."""
    vals = dict(template["values"])
    if template["guess"]:
        g = guessed_values(model, x, y, vals)
        vals.update({k: v for k, v in g.items() if k in vals and k not in template["given"]
                     and v is not None and np.isfinite(v)})
    return vals


def _fast_fit(model, x, y, template):
    """Same problem as :func:`nbtools.kinetics.fit`, solved with scipy's MINPACK leastsq directly.

    Skips lmfit's per-fit Parameters/asteval machinery (several ms per curve); the
    covariance comes from the Jacobian at the optimum, as in lmfit.
    """
    from scipy.optimize import leastsq

    recipe, entry, weights = template["recipe"], template["entry"], template["weights"]
    xname = model.independent_vars[0]
    y = np.asarray(y, dtype=float)
    x, y, weights = select_window(x, y, window=recipe.window, weights=weights)
    nbad = int(np.sum(~np.isfinite(y)))
    if weights is not None and recipe.nan_policy == "omit":
        weights = weights[np.isfinite(np.asarray(x, dtype=float)) & np.isfinite(y)]
    x, y = check_data(x, y, entry=entry, x_name=xname, nan_policy=recipe.nan_policy)
    vals = _start(model, x, y, template)
    free = template["free"]
    lo, hi = template["lo"], template["hi"]
    p0 = np.array([vals[n] for n in free], dtype=float)
    span = np.where(np.isfinite(hi - lo), hi - lo, np.maximum(np.abs(p0), 1e-300))
    p0 = np.clip(p0, lo + 1e-9 * span, hi - 1e-9 * span)
    fixed = {n: vals[n] for n in vals if n not in free}
    w = 1.0 if weights is None else weights
    if y.size <= len(free):
        raise DataError(f"{y.size} points cannot determine {len(free)} varying parameters")
    func = model.func
    kw = {xname: x, **fixed}
    ys = float(np.max(np.abs(y * w))) or 1.0  # residuals O(1) for the tolerances

    def resid(p):
        with np.errstate(all="ignore"):
            r = (func(**kw, **dict(zip(free, p))) - y) * (w / ys)
        return np.where(np.isfinite(r), r, 1e150)

    r0 = resid(p0)
    if not np.all(np.abs(r0) < 1e150):
        raise FitError("model gives NaN/Inf at the starting values")
    # MINPACK Levenberg-Marquardt on internal variables u: parameters scaled by their
    # starting magnitude, bounds by lmfit's transforms (sin / sqrt)
    sc = np.where(np.abs(p0) > 0, np.abs(p0), 1.0)
    tf = _Bounds(lo / sc, hi / sc)
    u0 = tf.to_internal(p0 / sc)
    # MINPACK's difference step is relative to |u|: a start at the middle of two bounds
    # that rounds to u ~ 1e-16 (instead of 0) would never move that parameter
    u0[tf.both & (np.abs(u0) < 1e-6)] = 0.0

    def resid_u(u):
        return resid(tf.to_external(u) * sc)

    maxfev = recipe.max_nfev or 200 * (len(free) + 1)
    u, cov_u, lsq, mesg, ier = leastsq(resid_u, u0, full_output=True, ftol=1e-10, xtol=1e-10, maxfev=maxfev)
    pbest = tf.to_external(u) * sc
    if not np.all(np.isfinite(pbest)):
        raise FitError("fit ended with non-finite parameters")
    n, k = y.size, len(free)
    rr = resid(pbest)
    chisqr = float(rr @ rr) * ys**2
    redchi = chisqr / max(n - k, 1)
    success = ier in (1, 2, 3, 4)
    err, corr = np.full(k, np.nan), None
    if cov_u is not None:
        d = tf.derivative(u) * sc  # dp/du
        cov = cov_u * np.outer(d, d) * (redchi / ys**2)
        err = np.sqrt(np.abs(np.diag(cov)))
        with np.errstate(all="ignore"):
            corr = cov / np.outer(err, err)
    best = dict(zip(free, pbest))
    wts = None if weights is None else w
    yfit = y + rr * ys / (w if weights is not None else 1.0)
    msgs = check_values({n: best.get(n, vals[n]) for n in vals}, dict(zip(free, zip(lo, hi))),
                        corr=corr, errorbars=cov_u is not None and bool(np.all(np.isfinite(err))),
                        success=success, message=mesg, model=model, entry=entry,
                        residual_r1=residual_autocorrelation(rr, scale=1.0), n_residuals=rr.size)
    trust = _trust(free, pbest, err, lo, hi, y, yfit, wts, msgs)
    if nbad and recipe.nan_policy == "omit":
        msgs.insert(0, f"{nbad} NaN/Inf points omitted")
    row = {}
    for j, name in enumerate(free):
        row[name] = pbest[j]
        row[f"{name}_stderr"] = err[j]
    row.update(trust)
    row.update(redchi=redchi, chisqr=chisqr, nfev=int(lsq["nfev"]), success=bool(success),
               status="warning" if msgs else "ok", message=_message(msgs, entry))
    return row


def _fast_template(model, entry, recipe, weights):
    """Bounds, free names and starting values for the fast engine (None if it does not apply)."""
    if not isinstance(model, KineticsModel) or recipe.method != "leastsq":
        return None
    has_guess = type(model).guess_values is not KineticsModel.guess_values
    spec = recipe.param_spec()
    if not spec and not has_guess:
        return None
    pars = _kinetics_params(model, spec, guess=False)
    if spec:
        check_params(pars)
    if any(p.expr for p in pars.values()):
        return None
    free = [n for n, p in pars.items() if p.vary]
    return {"recipe": recipe, "entry": entry, "weights": weights, "guess": recipe.guess and has_guess,
            "values": {n: p.value for n, p in pars.items()},
            "given": {k for k, s in spec.items() if not isinstance(s, dict) or "value" in s}, "free": free,
            "lo": np.array([pars[n].min for n in free], dtype=float),
            "hi": np.array([pars[n].max for n in free], dtype=float)}


def _as_curves(x, Y):
    """Normalise inputs to lists of 1-D x and y arrays."""
    if isinstance(Y, np.ndarray) or (hasattr(Y, "shape") and not isinstance(Y, (list, tuple))):
        Y = np.asarray(Y, dtype=float)
        if Y.ndim == 1:
            Y = Y[None, :]
        if Y.ndim != 2:
            raise DataError(f"Y must be 2-D (n_curves, n_points), got shape {Y.shape}")
        ys = list(Y)
    else:
        ys = [np.asarray(y, dtype=float).ravel() for y in Y]
    if len(ys) == 0:
        raise DataError("Y holds no curves")
    xa = np.asarray(x, dtype=float) if not isinstance(x, (list, tuple)) else None
    if xa is not None and xa.ndim == 1:
        xs = [xa] * len(ys)
    elif xa is not None and xa.ndim == 2:
        xs = list(xa)
    else:
        xs = [np.asarray(v, dtype=float).ravel() for v in x]
    if len(xs) != len(ys):
        raise DataError(f"x describes {len(xs)} curves but Y has {len(ys)}")
    for k, (a, b) in enumerate(zip(xs, ys)):
        if a.size != b.size:
            raise DataError(f"curve {k}: x has {a.size} points but y has {b.size}")
    return xs, ys


def _compute(tasks, scheduler, n_workers):
    import dask

    if scheduler is None:
        scheduler = "processes" if len(tasks) > 1 else "sync"
    if isinstance(scheduler, str) and scheduler in _LOCAL:
        kw = {"scheduler": scheduler}
        if scheduler in ("threads", "processes") and n_workers:
            kw["num_workers"] = n_workers
        if scheduler == "processes" and sys.platform.startswith("linux"):
            # fork: workers inherit the imported modules (fast start, no __main__ guard)
            with dask.config.set({"multiprocessing.context": "fork"}):
                return dask.compute(*tasks, **kw), scheduler
        return dask.compute(*tasks, **kw), scheduler
    from distributed import Client

    if isinstance(scheduler, Client):
        futs = scheduler.compute(list(tasks))
        return scheduler.gather(futs), f"distributed:{scheduler.scheduler.address}"
    if isinstance(scheduler, str):
        with Client(scheduler, set_as_default=False) as client:
            futs = client.compute(list(tasks))
            return client.gather(futs), f"distributed:{scheduler}"
    raise ParameterError(
        f"scheduler must be None, 'sync', 'threads', 'processes', a dask.distributed address "
        f"or Client, got {scheduler!r}")


#: fit_many's engines ("auto": batch where it applies, else fast, else lmfit)
ENGINES = ("auto", "batch", "fast", "lmfit")


def fit_many(model, x, Y, params=None, *, recipe=None, scheduler=None, n_workers=None, chunk_size=None,
             index=None, nan_policy=None, engine="auto", output="dataframe", guess=None, weights=None,
             backend="auto", **settings):
    """Fit one model to many curves in parallel; failures become NaN rows with a status.

    Parameters
    ----------
    model : lmfit.Model, str or FitRecipe
        A model, a name in :data:`nbtools.kinetics.MODELS`, or the recipe of the
        fits (``fit_many(df.attrs["recipe"], x, Y)`` repeats a batch).
    x : array_like
        Independent variable: 1-D (shared by all curves), 2-D (one row per curve) or
        a list of 1-D arrays (ragged curves).
    Y : array_like
        Data, 2-D ``(n_curves, n_points)`` or a list of 1-D arrays.
    params : lmfit.Parameters or dict, optional
        Fixed values, bounds and starting values for every curve. The model's guess
        still runs per curve (unless ``guess=False``): a dict is applied on top of it
        (as in :func:`nbtools.kinetics.fit`; e.g. only ``{"v": 0.01}`` for CVs of
        different charges), lmfit.Parameters keep their bounds and fixed parameters
        while the varying ones start from the guess.
    recipe : FitRecipe, dict, JSON text or path, optional
        The settings of every fit (:class:`~nbtools.kinetics.recipe.FitRecipe`:
        model, params, window, guess, method, nan_policy, ...); ``model``,
        ``params`` and keywords override it. Its interval settings are not used
        (the table has standard errors).
    guess : bool, optional
        Run the model's guess per curve (default). False: every curve starts from the
        registry defaults with ``params`` applied (or from the Parameters as given).
    scheduler : None, "sync", "threads", "processes", str address or distributed.Client
        Where to run: ``None`` = this process on every core for the batch engine,
        local processes for the per-curve engines (``sync`` for one chunk);
        ``"processes"``, an address such as ``"tcp://10.0.0.5:8786"`` or a Client
        spread chunks of curves over those workers.
    n_workers : int, optional
        Workers of the local threads/processes pool (default: number of cores).
    chunk_size : int, optional
        Curves per task (default: enough for ~4 tasks per core).
    index : sequence, optional
        Labels of the curves (e.g. pixel ids); default 0..n-1.
    nan_policy : {"omit", "raise"}, optional
        NaN points in a curve are dropped (``status="warning"``; the default without
        a recipe) or fail that curve.
    weights : array_like, optional
        1/sigma per point, the same for every curve.
    engine : {"auto", "batch", "fast", "lmfit"}
        "batch": the batched Levenberg-Marquardt of :mod:`nbtools.fitting` (all
        curves updated together, one model evaluation per iteration for the whole
        batch; adds a ``fit_status`` column: converged, max_iter, at_bound,
        not_determined, failed); "lmfit": :func:`nbtools.kinetics.fit` per curve
        (full ModelResult machinery); "fast": the same least-squares problem solved
        per curve by MINPACK (``scipy.optimize.leastsq``); "auto" (default): batch
        unless a parameter has an ``expr``, the model has neither a guess nor given
        values, or the recipe's ``method`` is not ``"leastsq"`` (then lmfit); the
        impact transients (landing time ``t0``: local minima one sample apart) take
        the fast per-curve engine.
    backend : {"auto", "numpy", "cupy"}
        Array library of the batch engine ("cupy": a GPU, see :func:`nbtools.fitting.fit_batch`).
    output : {"dataframe", "xarray"}
        Return a DataFrame, or an ``xarray.Dataset`` along dimension ``curve``.
    **settings
        Settings of the recipe (``window``, ``method``, ``max_nfev``, ``options``, ...).

    Returns
    -------
    pandas.DataFrame or xarray.Dataset
        One row per curve: each varying parameter and ``<name>_stderr``, ``redchi``,
        ``chisqr``, the goodness of fit against the curve's own noise
        (:data:`nbtools.kinetics.goodness.GOODNESS_COLUMNS`: ``ndata``, ``r2``,
        ``noise``, ``redchi_noise``, ``resid_r1``, ``runs_p``,
        ``resid_structure``, ``aic``, ``bic``), ``not_determined`` (names of the
        parameters with a relative standard error above 100 %, at a bound or
        without an error; '' when all are determined), ``nfev``, ``success``
        (bool), ``status`` ("ok", "warning", "failed") and ``message``.
        ``attrs``: ``recipe`` (the FitRecipe), ``model``, ``scheduler``,
        ``engine``, ``n_failed``, ``elapsed_s``, ``units`` (parameter units
        from the registry).

    Examples
    --------
    >>> import numpy as np
    >>> from nbtools.batch import fit_many
    >>> from nbtools.kinetics import butler_volmer
    >>> eta = np.linspace(-0.15, 0.15, 100)
    >>> rng = np.random.default_rng(0)
    >>> Y = np.array([butler_volmer(eta, i0, 0.5) for i0 in (1e-9, 2e-9, 3e-9)])
    >>> Y = Y + rng.normal(0, 1e-12, Y.shape)
    >>> df = fit_many("ButlerVolmer", eta, Y, scheduler="sync")
    >>> list(df["status"])
    ['ok', 'ok', 'ok']
    """
    import dask

    given = recipe is not None or isinstance(model, FitRecipe)
    if nan_policy is not None:
        settings["nan_policy"] = nan_policy
    elif not given:
        settings["nan_policy"] = "omit"
    if guess is None and not given:
        guess = True  # lmfit.Parameters too: their varying parameters start from each curve's guess
    if guess is not None:
        settings["guess"] = guess
    model, entry, recipe = setup_fit(model, params, recipe, weights=weights, **settings)
    if output not in ("dataframe", "xarray"):
        raise ParameterError(f"output must be 'dataframe' or 'xarray', got {output!r}")
    if engine not in ENGINES:
        raise ParameterError(f"engine must be one of {', '.join(map(repr, ENGINES))}, got {engine!r}")
    xs, ys = _as_curves(x, Y)
    n = len(ys)
    if index is not None and len(index) != n:
        raise DataError(f"index has {len(index)} labels for {n} curves")
    if weights is not None:
        weights = np.asarray(weights, dtype=float).ravel()
    if chunk_size is None:
        import os

        cores = n_workers or os.cpu_count() or 1
        chunk_size = max(1, int(np.ceil(n / (4 * cores))))
    if engine in ("auto", "batch"):
        from .fitting import batch_model, batch_template

        usable = batch_template(model, recipe) is not None
        if usable and engine == "auto" and batch_model(model).multimodal:
            usable = False  # local minima one sample apart in t0: MINPACK curve by curve (see BatchModel)
        if usable:
            df = _batch_engine(model, entry, recipe, xs, ys, weights, index if index is not None else np.arange(n),
                               scheduler, n_workers, chunk_size, backend)
            return _output(df, output)
        if engine == "batch" and batch_template(model, recipe) is None:
            raise ParameterError("engine='batch' fits KineticsModels with independent parameters (no expr) by "
                                 "least squares (method='leastsq'); use engine='lmfit' for this fit")
        engine = "auto"
    job = {"recipe": recipe.replace(conf=None), "entry": entry, "weights": weights}
    if engine in ("auto", "fast"):
        template = _fast_template(model, entry, recipe, weights)
        if template is None and engine == "fast":
            raise ParameterError("engine='fast' needs a KineticsModel without expr parameters and method='leastsq'")
        engine, job = ("fast", template) if template is not None else ("lmfit", job)
    t0 = time.perf_counter()
    fn = dask.delayed(_fit_chunk, pure=False)
    tasks = [fn(model, xs[i:i + chunk_size], ys[i:i + chunk_size], job, engine) for i in range(0, n, chunk_size)]
    sched = "sync" if scheduler is None and len(tasks) == 1 else scheduler
    parts, used = _compute(tasks, sched, n_workers)
    rows = [r for part in parts for r in part]
    df = _table(rows, model, index if index is not None else np.arange(n))
    df.attrs.update({"recipe": recipe, "model": entry.name if entry is not None else type(model).__name__,
                     "scheduler": used, "engine": engine, "n_failed": int((df["status"] == "failed").sum()),
                     "elapsed_s": time.perf_counter() - t0, "source": "nbtools.batch.fit_many"})
    return _output(df, output)


def _output(df, output):
    if output == "xarray":
        ds = df.to_xarray()
        ds.attrs.update({k: (v if isinstance(v, (str, int, float)) else str(v)) for k, v in df.attrs.items()})
        for p, u in df.attrs["units"].items():
            ds[p].attrs["units"] = u
        return ds
    return df


def _batch_chunk(model, recipe, xs, ys, weights, index, backend, n_workers):
    from .fitting import fit_batch

    return fit_batch(model, xs, ys, recipe=recipe, weights=weights, index=index, backend=backend,
                     n_workers=n_workers)


def _batch_engine(model, entry, recipe, xs, ys, weights, index, scheduler, n_workers, chunk_size, backend):
    """fit_many through the batched engine (nbtools.fitting): in this process on every core (numba
    threads, or a GPU), or in chunks on Dask workers when a process pool or a cluster is given."""
    import dask

    t0 = time.perf_counter()
    rec = recipe.replace(conf=None)
    if scheduler in (None, "sync", "synchronous", "single-threaded", "threads"):
        df = _batch_chunk(model, rec, xs, ys, weights, index, backend, n_workers)
        used = "threads"
    else:
        n = len(ys)
        size = chunk_size or max(1, int(np.ceil(n / (2 * (n_workers or __import__("os").cpu_count() or 1)))))
        fn = dask.delayed(_batch_chunk, pure=False)
        tasks = [fn(model, rec, xs[i:i + size], ys[i:i + size], weights, index[i:i + size], "numpy", 1)
                 for i in range(0, n, size)]
        parts, used = _compute(tasks, scheduler, n_workers)
        df = pd.concat(parts)
        df.attrs = dict(parts[0].attrs)
    df.attrs.update({"recipe": recipe, "model": entry.name if entry is not None else type(model).__name__,
                     "scheduler": used, "engine": "batch", "n_failed": int((df["status"] == "failed").sum()),
                     "elapsed_s": time.perf_counter() - t0, "source": "nbtools.batch.fit_many"})
    return df


def _table(rows, model, index):
    """The result table: parameter columns first, in model order (NaN for failed curves), then the status."""
    df = pd.DataFrame(rows, index=pd.Index(index, name="curve"))
    names = [p for p in model.param_names if p in df.columns]
    for p in model.make_params():
        if p not in names and p in df.columns:
            names.append(p)
    cols = []
    for p in names:
        cols += [p, f"{p}_stderr"]
    tail = ["redchi", "chisqr", *GOODNESS_COLUMNS, "not_determined", "nfev", "success", "status", "message"]
    df = df.reindex(columns=cols + tail)
    df["resid_structure"] = df["resid_structure"].fillna(False).astype(bool)
    df["not_determined"] = df["not_determined"].fillna("").astype(str)
    df["success"] = df["success"].astype(bool)
    df["nfev"] = df["nfev"].fillna(0).astype(int)
    units = {}
    for p in names:
        info = model.param_info(p) if hasattr(model, "param_info") else None
        units[p] = info.unit if info is not None else ""
    df.attrs["units"] = units
    return df


# ---------------------------------------------------------------------- studies (nbtools.study)
def run(recipe, inputs, *, out, scheduler=None, **options):
    """One recipe over many files on Dask, resumable: :func:`nbtools.study.run` (``nbtools batch``).

    ``run(recipe, inputs, out=folder)`` returns a :class:`nbtools.study.Study`;
    see :func:`nbtools.study.run` for the options.
    """
    from .study import run as run_study

    return run_study(recipe, inputs, out=out, scheduler=scheduler, **options)


__all__ += ["run"]
