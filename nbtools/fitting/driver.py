"""fit_batch: one model fitted to many curves by the batched engine, as a table like fit_many's."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from ..errors import DataError, ParameterError
from ..kinetics import (FitRecipe, KineticsModel, build_params, check_data, check_params, check_values,
                        guessed_values, select_window, setup_fit)
from ..kinetics.checks import CORR_LIMIT, RESID_CORR_LIMIT, RESID_MIN_POINTS
from ..kinetics.goodness import GOODNESS_COLUMNS, determination, goodness, trust_messages
from .backend import array_namespace
from .lm import AT_BOUND, CONVERGED, FAILED, MAX_ITER, NOT_DETERMINED, STATUS_CODES, least_squares_batch
from .models import batch_model

__all__ = ["fit_batch", "curves_to_arrays", "batch_template"]

#: curves per engine call on the CPU (fits in the caches; chunks run on a thread pool)
CPU_CHUNK = 1024


def curves_to_arrays(x, Y):
    """``(X, Y)``: X (m,) when shared else (n, m); Y (n, m); ragged curves NaN-padded."""
    if isinstance(Y, (list, tuple)):
        ys = [np.asarray(y, dtype=float).ravel() for y in Y]
    else:
        Ya = np.asarray(Y, dtype=float)
        if Ya.ndim == 1:
            Ya = Ya[None, :]
        if Ya.ndim != 2:
            raise DataError(f"Y must be 2-D (n_curves, n_points), found shape {Ya.shape}")
        ys = None
    if ys is None and not isinstance(x, (list, tuple)):
        X = np.asarray(x, dtype=float)
        if X.ndim == 1 and X.size != Ya.shape[1]:
            raise DataError(f"x has {X.size} points but each curve of Y has {Ya.shape[1]}")
        if X.ndim == 2 and X.shape != Ya.shape:
            raise DataError(f"x has shape {X.shape} but Y has {Ya.shape}")
        if Ya.shape[0] == 0:
            raise DataError("Y holds no curves")
        return X, Ya
    if ys is None:
        ys = list(Ya)
    xs = [np.asarray(v, dtype=float).ravel() for v in x] if isinstance(x, (list, tuple)) else \
        [np.asarray(x, dtype=float).ravel()] * len(ys)
    if not ys:
        raise DataError("Y holds no curves")
    if len(xs) != len(ys):
        raise DataError(f"x describes {len(xs)} curves but Y has {len(ys)}")
    m = max(len(y) for y in ys)
    if all(a.size == m for a in xs) and all(a is xs[0] or np.array_equal(a, xs[0]) for a in xs):
        return xs[0], np.array(ys)  # one shared x (e.g. every SECCM landing on the same programme)
    Xp, Yp = np.full((len(ys), m), np.nan), np.full((len(ys), m), np.nan)
    for k, (a, b) in enumerate(zip(xs, ys)):
        if a.size != b.size:
            raise DataError(f"curve {k}: x has {a.size} points but y has {b.size}")
        Xp[k, :a.size], Yp[k, :b.size] = a, b
    return Xp, Yp


def batch_template(model, recipe):
    """What the batch engine needs of a fit's recipe: values, bounds, which vary, which were given.

    None when the engine does not apply (not a kinetics model, an ``expr`` parameter,
    a ``method`` other than least squares, or neither given values nor a guess).
    """
    if not isinstance(model, KineticsModel) or recipe.method != "leastsq":
        return None
    has_guess = type(model).guess_values is not KineticsModel.guess_values
    spec = recipe.param_spec()
    if not spec and not has_guess:
        return None
    pars = build_params(model, spec, guess=False)
    if spec:
        check_params(pars)
    if any(p.expr for p in pars.values()):
        return None
    names = list(model.param_names)
    return {"values": np.array([pars[n].value for n in names], float),
            "lo": np.array([pars[n].min for n in names], float),
            "hi": np.array([pars[n].max for n in names], float),
            "vary": np.array([bool(pars[n].vary) for n in names]),
            "given": {k for k, v in spec.items() if not isinstance(v, dict) or "value" in v},
            "guess": bool(recipe.guess) and has_guess}


def _starting_values(model, bm, X, Y, tpl):
    """(n, k) starting values: the template's, then the model's guess for every parameter
    without a given value (as :func:`nbtools.kinetics.fit` does)."""
    names = list(bm.names)
    n = Y.shape[0]
    P0 = np.tile(tpl["values"], (n, 1))
    if not tpl["guess"]:
        return P0
    known = {k: tpl["values"][j] for j, k in enumerate(names)}
    g = bm.guess(X, Y, known) if bm.guess is not None else None
    if g is None:
        g = _loop_guess(model, X, Y, known, names)
    for k, col in g.items():
        if k in names and k not in tpl["given"]:
            j = names.index(k)
            col = np.asarray(col, float)
            P0[:, j] = np.where(np.isfinite(col), col, P0[:, j])
    return P0


def _loop_guess(model, X, Y, known, names):
    out = {k: np.full(Y.shape[0], np.nan) for k in names}
    for i in range(Y.shape[0]):
        x = X if X.ndim == 1 else X[i]
        ok = np.isfinite(x) & np.isfinite(Y[i])
        for k, v in guessed_values(model, x[ok], Y[i, ok], known).items():
            if k in out and v is not None:
                out[k][i] = v
    return out


def _apply_window(X, Y, W, window):
    """Keep the points inside the fit window: columns for a shared x, ragged rows otherwise.

    Returns ``(X, Y, W, reasons)``; a curve left with fewer than 3 points gets a reason."""
    n = Y.shape[0]
    reasons = np.full(n, "", dtype=object)
    if window is None:
        return X, Y, W, reasons
    lo, hi = window
    if X.ndim == 1:
        keep = (X >= lo) & (X <= hi)
        if keep.sum() < 3:
            reasons[:] = f"DataError: fit window {lo:g} .. {hi:g} keeps {int(keep.sum())} points; widen it"
        W = W if W is None or W.ndim == 1 and W.size != X.size else (W[keep] if W.ndim == 1 else W[:, keep])
        return X[keep], Y[:, keep], W, reasons
    xs, ys, ws = [], [], []
    for i in range(n):
        try:
            x, y, w = select_window(X[i], Y[i], window=window, weights=None if W is None else
                                    (W if W.ndim == 1 else W[i]))
        except DataError as exc:
            reasons[i] = f"DataError: {exc}"
            x, y, w = X[i, :0], Y[i, :0], None if W is None else np.zeros(0)
        xs.append(x)
        ys.append(y)
        ws.append(w)
    Xp, Yp = curves_to_arrays(xs, ys)
    Wp = None
    if W is not None:
        Wp = np.full(Yp.shape, np.nan)
        for i, w in enumerate(ws):
            Wp[i, :w.size] = w
    return Xp, Yp, Wp, reasons


def _check_curves(X, Y, entry, xname, nan_policy):
    """Per-curve reason a curve cannot be fitted ('' when it can), checked as kinetics.check_data does."""
    n = Y.shape[0]
    reasons = np.full(n, "", dtype=object)
    fin = np.isfinite(Y) & (np.isfinite(X) if X.ndim == 2 else np.isfinite(X)[None, :])
    padded = np.isnan(Y) & ~np.isfinite(np.broadcast_to(X, Y.shape)) if X.ndim == 2 else np.zeros_like(fin)
    if nan_policy == "raise":
        nbad = (~fin & ~padded).sum(axis=1)
        for i in np.flatnonzero(nbad):
            reasons[i] = (f"DataError: {nbad[i]} points have NaN/Inf in {xname} or y; remove them or pass "
                          "nan_policy='omit'")
    if X.ndim == 1:
        try:
            check_data(X[np.isfinite(X)], np.arange(np.isfinite(X).sum(), dtype=float), entry=entry, x_name=xname)
        except DataError as exc:
            reasons[:] = f"DataError: {exc}"
            return reasons
    else:
        for i in range(n):
            if reasons[i]:
                continue
            ok = fin[i]
            try:
                check_data(X[i, ok], np.arange(ok.sum(), dtype=float), entry=entry, x_name=xname)
            except DataError as exc:
                reasons[i] = f"DataError: {exc}"
    cnt = fin.sum(axis=1)
    ptp = np.max(Y, axis=1, where=fin, initial=-np.inf) - np.min(Y, axis=1, where=fin, initial=np.inf)
    for i in np.flatnonzero((reasons == "") & (cnt < 3)):
        reasons[i] = f"DataError: need at least 3 finite points to fit, got {cnt[i]}"
    for i in np.flatnonzero((reasons == "") & (cnt >= 3) & (ptp == 0)):
        reasons[i] = f"DataError: y is constant over all {cnt[i]} points: nothing to fit"
    return reasons


def _cov_of(covs, i):
    """Covariance matrix of curve ``i`` from the per-chunk ``(rows, covar)`` list (None if not fitted)."""
    for idx, cov in covs:
        j = np.searchsorted(idx, i)
        if j < idx.size and idx[j] == i:
            return cov[j]
    return None


def fit_batch(model, x, Y, params=None, *, recipe=None, index=None, nan_policy=None, guess=None, weights=None,
              backend="auto", chunk_size=None, n_workers=None, **settings):
    """Fit one model to many curves with the batched Levenberg-Marquardt engine.

    Same problem and same table as :func:`nbtools.batch.fit_many` (model function,
    recipe, bounds, per-curve guess, checks and messages), solved for all curves
    together: each iteration evaluates the model once for the whole batch
    (:mod:`nbtools.fitting.models`). ``fit_many(engine="batch")`` calls this.

    Parameters
    ----------
    model, x, Y, params, recipe, index, nan_policy, guess, weights, **settings
        As :func:`nbtools.batch.fit_many`; ragged curves (lists) are NaN-padded.
    backend : {"auto", "numpy", "cupy"}
        Array library of the engine: "cupy" runs on a GPU (models with an array
        form: Butler-Volmer, Tafel); "auto" takes CuPy when it is installed, a GPU
        is present and the model has an array form, NumPy otherwise.
    chunk_size : int, optional
        Curves per engine call (CPU default 1024, 8192 with a fused kernel; GPU: all).
    n_workers : int, optional
        Cores used on the CPU (default: all).

    Returns
    -------
    pandas.DataFrame
        One row per curve: each varying parameter and ``<name>_stderr``, ``redchi``,
        ``chisqr``, the goodness-of-fit columns and ``not_determined`` of
        :func:`nbtools.batch.fit_many`, ``nfev``, ``success``, ``status`` ("ok", "warning", "failed"),
        ``message``, and ``fit_status`` (the engine's: converged, max_iter, at_bound,
        not_determined, failed). ``attrs``: recipe, model, engine, backend, units, elapsed_s.

    Examples
    --------
    >>> import numpy as np
    >>> from nbtools.kinetics import butler_volmer
    >>> eta = np.linspace(-0.15, 0.15, 100)
    >>> Y = np.array([butler_volmer(eta, i0, 0.5) for i0 in (1e-9, 2e-9)])
    >>> Y = Y + np.random.default_rng(0).normal(0, 1e-12, Y.shape)
    >>> df = fit_batch("ButlerVolmer", eta, Y)
    >>> list(df["status"]), bool(np.allclose(df["i0"], [1e-9, 2e-9], rtol=0.02))
    (['ok', 'ok'], True)
    """
    t_start = time.perf_counter()
    given = recipe is not None or isinstance(model, FitRecipe)
    if nan_policy is not None:
        settings["nan_policy"] = nan_policy
    elif not given:
        settings["nan_policy"] = "omit"
    if guess is None and not given:
        guess = True
    if guess is not None:
        settings["guess"] = guess
    model, entry, recipe = setup_fit(model, params, recipe, weights=weights, **settings)
    tpl = batch_template(model, recipe)
    if tpl is None:
        raise ParameterError("the batch engine fits KineticsModels with independent parameters (no expr) by least "
                             "squares (method='leastsq'); use engine='lmfit' for this fit")
    bm = batch_model(model)
    xp, backend_used = array_namespace(backend, gpu_ok=bm.gpu_ok)
    X, Yarr = curves_to_arrays(x, Y)
    n = Yarr.shape[0]
    if index is not None and len(index) != n:
        raise DataError(f"index has {len(index)} labels for {n} curves")
    W = None
    if weights is not None:
        W = np.asarray(weights, dtype=float)
        if W.shape not in ((Yarr.shape[1],), Yarr.shape):
            raise DataError(f"weights must have shape ({Yarr.shape[1]},) or {Yarr.shape}, found {W.shape}")
    X, Yarr, W, reasons = _apply_window(X, Yarr, W, recipe.window)
    xname = model.independent_vars[0]
    more = _check_curves(X, Yarr, entry, xname, recipe.nan_policy)
    reasons = np.where(reasons == "", more, reasons)
    fit_rows = np.flatnonzero(reasons == "")

    def start(xc, yc):
        return _starting_values(model, bm, xc, yc, tpl)

    max_iter = recipe.max_nfev or 200
    res = _run(bm, start, X, Yarr, W, tpl["lo"], tpl["hi"], tpl["vary"], fit_rows, xp, backend_used, chunk_size,
               n_workers, max_iter)
    df = _table(model, entry, bm, X, Yarr, W, res, fit_rows, reasons, tpl["vary"], tpl["lo"], tpl["hi"], index)
    units = {p: (model.param_info(p).unit if model.param_info(p) is not None else "")
             for p in np.asarray(bm.names)[tpl["vary"]]}
    df.attrs.update(recipe=recipe, model=entry.name if entry is not None else type(model).__name__, engine="batch",
                    backend=backend_used, form=bm.form, units=units, scheduler="threads",
                    n_failed=int((df["status"] == "failed").sum()), elapsed_s=time.perf_counter() - t_start,
                    source="nbtools.fitting.fit_batch")
    return df


def _run(bm, start, X, Y, W, lo, hi, vary, rows, xp, backend, chunk_size, n_workers, max_iter):
    """Engine results for ``rows``, chunk by chunk: on the CPU the fused numba kernels run each
    chunk on every core; array forms run chunks on a thread pool; a GPU takes all at once."""
    if rows.size == 0:
        return []
    f = lambda x, P: bm.f(x, P, xp)  # noqa: E731
    jac = None if bm.jac is None else (lambda x, P, cols: bm.jac(x, P, xp, cols))
    point = bm.point if backend == "numpy" else None
    per_call = 8 if point is not None else (4 if bm.form == "couples" else 1)
    chunk = chunk_size or (rows.size if backend != "numpy" else CPU_CHUNK * per_call)
    parts = [rows[s:s + chunk] for s in range(0, rows.size, chunk)]
    workers = n_workers or os.cpu_count() or 1

    def one(idx):
        x = X if X.ndim == 1 else X[idx]
        w = None if W is None else (W if W.ndim == 1 else W[idx])
        y = Y[idx]
        return idx, least_squares_batch(f, start(x, y), x, y, jac=jac, lower=lo, upper=hi, free=vary,
                                        weights=w, max_iter=max_iter, xp=xp, point=point)

    if point is not None:
        from numba import get_num_threads, set_num_threads

        before = get_num_threads()
        set_num_threads(max(1, min(workers, before)))
        try:
            return [one(p) for p in parts]
        finally:
            set_num_threads(before)
    # forms whose kernels run on every core themselves ("couples") or hold the GIL ("loop") run chunk
    # after chunk; NumPy array forms release the GIL and share a thread pool
    if backend != "numpy" or len(parts) == 1 or workers == 1 or bm.form in ("couples", "loop"):
        return [one(p) for p in parts]
    with ThreadPoolExecutor(min(workers, len(parts))) as ex:  # NumPy releases the GIL in the array work
        return list(ex.map(one, parts))


def _table(model, entry, bm, X, Y, W, results, rows, reasons, vary, lo, hi, index):
    names = list(bm.names)
    fi = np.flatnonzero(vary)
    n = Y.shape[0]
    k = len(names)
    P = np.full((n, k), np.nan)
    E = np.full((n, k), np.nan)
    chisqr, redchi = np.full(n, np.nan), np.full(n, np.nan)
    nfev, code = np.zeros(n, int), np.full(n, FAILED)
    corr_bad = np.zeros(n, bool)
    covs = []
    for idx, r in results:
        P[idx], E[idx], chisqr[idx], redchi[idx] = r.params, r.stderr, r.chisqr, r.redchi
        nfev[idx], code[idx] = r.nfev, r.status
        covs.append((idx, r.covar))
        with np.errstate(all="ignore"):
            sd = np.sqrt(np.abs(np.diagonal(r.covar, axis1=1, axis2=2)))
            corr = r.covar / (sd[:, :, None] * sd[:, None, :])
        off = np.abs(corr) > CORR_LIMIT
        off[:, np.arange(len(fi)), np.arange(len(fi))] = False
        corr_bad[idx] = off.any(axis=(1, 2))
    r1 = np.full(n, np.nan)
    cnt = np.zeros(n, int)
    F = np.full(Y.shape, np.nan)  # the fitted curves, for the goodness of fit against each curve's noise
    for idx, r in results:
        r1[idx], cnt[idx] = r.resid_r1, r.n_points
        with np.errstate(all="ignore"):
            F[idx] = np.asarray(bm.f(X if X.ndim == 1 else X[idx], r.params, np), dtype=float)
    good = goodness(Y, F, int(fi.size), weights=W)
    det = determination(P[:, fi], E[:, fi], lo[fi], hi[fi]) if fi.size else np.zeros((n, 0), dtype=object)
    plaus = np.zeros(n, bool)
    for j, name in enumerate(names):
        info = model.param_info(name)
        if info is not None and info.plausible is not None:
            v = P[:, j]
            plaus |= np.isfinite(v) & ((v < info.plausible[0]) | (v > info.plausible[1]))
    ok_code = (code == CONVERGED)
    resid_bad = (cnt >= RESID_MIN_POINTS) & np.isfinite(r1) & (r1 > RESID_CORR_LIMIT)
    clean = ok_code & ~corr_bad & ~plaus & ~resid_bad & np.all(np.isfinite(E[:, fi]), axis=1)
    messages = np.full(n, "", dtype=object)
    status = np.where(clean, "ok", "warning").astype(object)
    nbad = (~np.isfinite(Y)).sum(axis=1) - ((~np.isfinite(np.broadcast_to(X, Y.shape))) & np.isnan(Y)).sum(axis=1)
    for i in np.flatnonzero(~clean):
        if reasons[i] or code[i] == FAILED:
            messages[i] = reasons[i] or "FitError: the model gives NaN/Inf at the starting values"
            status[i] = "failed"
            continue
        values = {nm: P[i, j] for j, nm in enumerate(names)}
        free = {names[j]: (lo[j], hi[j]) for j in fi}
        cov = _cov_of(covs, i)
        with np.errstate(all="ignore"):
            sd = np.sqrt(np.abs(np.diag(cov))) if cov is not None else None
            corr = cov / np.outer(sd, sd) if cov is not None else None
        msgs = check_values(values, free, corr=corr, errorbars=bool(np.all(np.isfinite(E[i, fi]))),
                            success=code[i] != MAX_ITER, message=STATUS_CODES[code[i]], model=model, entry=entry,
                            residual_r1=r1[i], n_residuals=int(cnt[i]))
        if code[i] == NOT_DETERMINED and np.all(np.isfinite(E[i, fi])):
            with np.errstate(all="ignore"):
                rel = E[i, fi] / np.abs(P[i, fi])
            worst = names[fi[int(np.nanargmax(rel))]]
            msgs.append(f"parameter {worst!r} is not determined by these data (standard error "
                        f"{np.nanmax(rel) * 100:.0f} % of its value)")
        messages[i] = "; ".join(msgs)
        status[i] = "warning" if msgs else "ok"
    loose = np.array([[c.startswith("relative error") for c in row] for row in det], dtype=bool).reshape(n, -1)
    for i in np.flatnonzero((status != "failed") & (good["resid_structure"] | loose.any(axis=1))):
        skip = ("structure",) if "strongly correlated (lag-1" in messages[i] else ()
        gi = {k: v[i] for k, v in good.items()}
        names_f = [names[j] for j in fi]
        more = trust_messages(names_f, P[i, fi], E[i, fi], det[i], gi, skip=skip)
        more = [m for m in more if m.split(" (")[0] not in messages[i]]
        if more:
            messages[i] = "; ".join([m for m in [messages[i]] if m] + more)
            status[i] = "warning"
    for i in np.flatnonzero((nbad > 0) & (status != "failed")):
        messages[i] = f"{nbad[i]} NaN/Inf points omitted" + ("; " + messages[i] if messages[i] else "")
        status[i] = "warning"
    cols = {}
    for j in fi:
        cols[names[j]] = np.where(status == "failed", np.nan, P[:, j])
        cols[f"{names[j]}_stderr"] = np.where(status == "failed", np.nan, E[:, j])
    failed = status == "failed"
    df = pd.DataFrame(cols, index=pd.Index(index if index is not None else np.arange(n), name="curve"))
    df["redchi"] = np.where(failed, np.nan, redchi)
    df["chisqr"] = np.where(failed, np.nan, chisqr)
    for key in GOODNESS_COLUMNS:
        df[key] = np.where(failed, False if key == "resid_structure" else np.nan, good[key])
    df["not_determined"] = ["" if failed[i] else ", ".join(names[j] for j, c in zip(fi, det[i]) if c)
                            for i in range(n)]
    df["nfev"] = np.where(failed, 0, nfev).astype(int)
    df["success"] = ~failed & (code != MAX_ITER)
    df["status"] = status
    df["message"] = messages
    df["fit_status"] = np.asarray(STATUS_CODES, dtype=object)[code]
    return df
