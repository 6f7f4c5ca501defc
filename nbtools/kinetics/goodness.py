"""How far to trust a fit: goodness of fit against the curve's own noise, parameters the data do not
determine, and model comparison.

Everything here works on plain arrays, one curve per row (NaN-padded), so that
:func:`nbtools.kinetics.fit`, :func:`nbtools.batch.fit_many` (every engine) and
:func:`nbtools.seccm.fit_pixels` report the same numbers:

- :func:`noise_sd`: the noise of a curve measured from the data themselves
  (second differences of neighbouring samples, robust to peaks and steps;
  scale-free: multiplying the current by 1e3 multiplies it by 1e3);
- :func:`goodness`: R², reduced chi-square relative to that noise (about 1 when
  the model follows the data to within their noise), lag-1 autocorrelation
  and the runs test of the residual signs (structure the model misses), AIC, BIC;
- :func:`determination`: per parameter, why the data do not determine it
  (relative standard error above 100 %, no standard error, at a bound);
- :func:`compare_models`: AIC/BIC, Akaike weights and the preferred model per
  curve, and an F test and likelihood-ratio test for nested pairs.
"""

from __future__ import annotations

from math import comb

import numpy as np
from scipy import stats

__all__ = ["noise_sd", "goodness", "determination", "compare_models", "nested_pairs", "trust_messages",
           "GOODNESS_COLUMNS",
           "REL_ERROR_LIMIT", "REDCHI_NOISE_LIMIT", "RUNS_P_LIMIT", "MIN_POINTS"]

#: a parameter whose standard error exceeds this fraction of its value is "not determined"
REL_ERROR_LIMIT = 1.0
#: residuals more than sqrt(2) times the curve's noise (reduced chi-square vs the noise above 2): misfit
REDCHI_NOISE_LIMIT = 2.0
#: runs test of the residual signs: fewer runs than chance with p below this is structure the model misses
RUNS_P_LIMIT = 1e-4
#: fewest points for the residual-structure tests
MIN_POINTS = 20
#: the columns :func:`goodness` adds to fit tables, with what they mean
GOODNESS_COLUMNS = {
    "ndata": "points fitted",
    "r2": "coefficient of determination R²",
    "noise": "noise of the data (SD, the data's unit), from second differences of neighbouring samples",
    "redchi_noise": "reduced chi-square relative to that noise (about 1: the model follows the data to within "
                    "their noise)",
    "resid_r1": "lag-1 autocorrelation of the residuals (about 0 for noise)",
    "runs_p": "runs test of the residual signs: probability of so few runs by chance",
    "resid_structure": "the residuals have structure the model does not follow",
    "aic": "Akaike information criterion (n ln(RSS/n) + 2k)",
    "bic": "Bayesian information criterion (n ln(RSS/n) + k ln n)",
}
#: orders of the differences :func:`noise_sd` measures the noise with
ORDERS = (2, 3, 4)
#: a higher order's estimate replaces a lower one's below this ratio (white noise: the orders agree to a few %)
LEAK_RATIO = 0.9
_MAD = 1.482602218505602  # SD of a normal distribution / its median absolute deviation


def _rows(a):
    a = np.asarray(a, dtype=float)
    return a[None, :] if a.ndim == 1 else a


def _row_median(A):
    """Median of each row's finite values (NaN for a row without any); a sort, not numpy's masked nanmedian."""
    S = np.sort(A, axis=1)  # NaN last
    c = np.isfinite(A).sum(axis=1)
    i = np.arange(A.shape[0])
    lo, hi = np.maximum((c - 1) // 2, 0), np.maximum(c // 2, 0)
    if S.shape[1] == 0:
        return np.full(A.shape[0], np.nan)
    m = 0.5 * (S[i, np.minimum(lo, S.shape[1] - 1)] + S[i, np.minimum(hi, S.shape[1] - 1)])
    return np.where(c > 0, m, np.nan)


def _pack(values, ok):
    """Each row's kept values first, in order (NaN after): ``(packed, count)``."""
    if ok.all():
        return values, np.full(values.shape[0], values.shape[1])
    order = np.argsort(~ok, axis=1, kind="stable")
    packed = np.take_along_axis(np.where(ok, values, np.nan), order, axis=1)
    return packed, ok.sum(axis=1)


def noise_sd(y):
    """Noise (standard deviation) of a curve, or of each row of a 2-D array, from the data themselves.

    The k-th difference of neighbouring samples (k = 2: ``y[i-1] - 2 y[i] +
    y[i+1]``) removes every polynomial of degree below k and almost all of a
    curve sampled finely enough; of white noise of SD sigma it leaves a
    variance C(2k, k) sigma² (6, 20, 70 for k = 2, 3, 4). Its median absolute
    deviation, scaled to an SD, ignores the few samples where the curve turns
    sharply (peaks, sweep reversals). A higher order of :data:`ORDERS` replaces
    a lower one where its estimate is clearly smaller (below
    :data:`LEAK_RATIO` times): there the curve itself leaked into the lower
    order's differences (steep exponentials).
    NaN are skipped; a row with fewer than 8 finite samples gives NaN.
    Filtered (correlated) noise gives a smaller value: such residuals then
    show up as structure.

    Parameters
    ----------
    y : array_like
        One curve (1-D) or one per row (2-D), in data order (time order).

    Returns
    -------
    float or numpy.ndarray
        The noise SD in the unit of ``y`` (a float for 1-D input).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0, 1, 2000)
    >>> y = np.sin(6 * t) + np.random.default_rng(0).normal(0, 0.01, t.size)
    >>> round(float(noise_sd(y)), 3)
    0.01
    """
    Y = _rows(y)
    P, n = _pack(Y, np.isfinite(Y))
    out = np.full(Y.shape[0], np.nan)
    if P.shape[1] >= 5:
        with np.errstate(all="ignore"), _quiet():
            est = []
            d = P[:, 1:] - P[:, :-1]
            for k in range(2, max(ORDERS) + 1):
                d = d[:, 1:] - d[:, :-1]  # the k-th difference
                if k in ORDERS:
                    med = _row_median(d)[:, None]
                    est.append(_row_median(np.abs(d - med)) * _MAD / np.sqrt(comb(2 * k, k)))
                if k == 2:
                    rms = np.sqrt(np.nanmean(d * d, axis=1) / 6.0)  # quantised data: half the differences 0
            mad = est[0]
            for e in est[1:]:  # a higher order only where it is clearly lower: the curve leaked into the lower
                mad = np.where(e < LEAK_RATIO * mad, e, mad)
        out = np.where(mad > 0, mad, rms)
        out = np.where(n >= 8, out, np.nan)
    return float(out[0]) if np.ndim(y) == 1 else out


class _quiet:
    """Silence numpy's 'All-NaN slice' and 'Mean of empty slice' warnings."""

    def __enter__(self):
        import warnings

        self._c = warnings.catch_warnings()
        self._c.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self._c.__exit__(*exc)


def goodness(y, yfit, n_params, *, weights=None, noise=None):
    """Goodness of fit of one curve or of each row: against the curve's own noise, R², residual structure.

    Parameters
    ----------
    y, yfit : array_like
        Data and fitted model, 1-D or one curve per row (NaN: not fitted),
        in data order (time order: the residual tests read neighbours).
    n_params : int or array_like
        Number of varying parameters (per row).
    weights : array_like, optional
        1/sigma per point used by the fit: ``aic``/``bic`` use the weighted
        sum of squares (as lmfit's), the rest the plain residuals.
    noise : float or array_like, optional
        The noise SD per curve when it is known; default :func:`noise_sd` of ``y``.

    Returns
    -------
    dict of numpy.ndarray (floats for 1-D input)
        The keys of :data:`GOODNESS_COLUMNS`: ``ndata``, ``r2``, ``noise``,
        ``redchi_noise`` (sum of squared residuals / (n - k) / noise²),
        ``resid_r1``, ``runs_p`` (one-sided: too few runs of residual signs),
        ``resid_structure`` (runs_p below :data:`RUNS_P_LIMIT` with at least
        :data:`MIN_POINTS` points), ``aic``, ``bic``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(-1, 1, 400)
    >>> y = x ** 2 + np.random.default_rng(1).normal(0, 0.01, x.size)
    >>> good = goodness(y, x ** 2, 0)
    >>> 0.8 < good["redchi_noise"] < 1.25, bool(good["resid_structure"])
    (True, False)
    >>> bool(goodness(y, 0 * x + y.mean(), 1)["resid_structure"])  # a constant cannot follow a parabola
    True
    """
    Y, F = _rows(y), _rows(yfit)
    if Y.shape != F.shape:
        raise ValueError(f"y has shape {Y.shape} but yfit has {F.shape}")
    ok = np.isfinite(Y) & np.isfinite(F)
    R, n = _pack(Y - F, ok)
    Yp, _ = _pack(Y, ok)
    k = np.broadcast_to(np.asarray(n_params, dtype=float), n.shape)
    dof = np.maximum(n - k, 1)
    with np.errstate(all="ignore"), _quiet():
        rss = np.nansum(R * R, axis=1)
        sst = np.nansum((Yp - np.nanmean(Yp, axis=1, keepdims=True)) ** 2, axis=1)
        r2 = np.where(sst > 0, 1 - rss / sst, np.nan)
        sig = noise_sd(Yp) if noise is None else np.broadcast_to(np.asarray(noise, dtype=float), n.shape)
        redchi_noise = np.where(sig > 0, rss / dof / sig ** 2, np.nan)
        chisq = rss
        if weights is not None:
            Wt = np.broadcast_to(_rows(weights), Y.shape)
            Rw, _ = _pack((Y - F) * Wt, ok)
            chisq = np.nansum(Rw * Rw, axis=1)
        ln = n * np.log(np.where(chisq > 0, chisq, np.nan) / n)
        aic = ln + 2 * k
        bic = ln + k * np.log(n)
        # residual structure: lag-1 autocorrelation and the runs test of the signs
        Rc = R - np.nanmean(R, axis=1, keepdims=True)
        ss = np.nansum(Rc * Rc, axis=1)
        r1 = np.nansum(Rc[:, 1:] * Rc[:, :-1], axis=1) / ss
        tiny = np.sqrt(ss / np.maximum(n, 1)) <= 1e-6 * np.nanmax(np.abs(Yp), axis=1)  # noise-free fits
        r1 = np.where((n >= 3) & (ss > 0) & ~tiny, r1, np.nan)
        pos = R > _row_median(R)[:, None]
        valid = np.arange(R.shape[1])[None, :] < n[:, None]
        n1 = (pos & valid).sum(axis=1)
        n2 = n - n1
        runs = 1 + ((pos[:, 1:] != pos[:, :-1]) & valid[:, 1:]).sum(axis=1)
        mu = 2.0 * n1 * n2 / n + 1
        var = (mu - 1) * (mu - 2) / (n - 1)
        z = (runs - mu) / np.sqrt(var)
        runs_p = np.where((n >= 3) & (var > 0) & ~tiny, stats.norm.cdf(z), np.nan)
    structure = (n >= MIN_POINTS) & np.isfinite(runs_p) & (runs_p < RUNS_P_LIMIT)
    out = {"ndata": n.astype(float), "r2": r2, "noise": np.asarray(sig, dtype=float), "redchi_noise": redchi_noise,
           "resid_r1": r1, "runs_p": runs_p, "resid_structure": structure, "aic": aic, "bic": bic}
    if np.ndim(y) == 1:
        return {key: (bool(v[0]) if v.dtype == bool else float(v[0])) for key, v in out.items()}
    return out


def determination(values, stderr, lower=-np.inf, upper=np.inf, *, rel_limit=REL_ERROR_LIMIT, bound_rtol=1e-6):
    """Why the data do not determine each parameter of each fit ('' where they do).

    Parameters
    ----------
    values, stderr : array_like
        Fitted values and standard errors, ``(n_fits, n_params)`` (or 1-D for one fit).
    lower, upper : array_like
        Bounds per parameter (or per fit and parameter).
    rel_limit : float
        Largest relative standard error of a determined parameter (1: 100 %).
    bound_rtol : float
        A value within this fraction of its bounds' span (one-sided: of the
        larger of ``|bound|`` and ``|value|``, times 1e-3) sits at the bound.

    Returns
    -------
    numpy.ndarray of str
        Same shape as ``values``: ``''`` (determined), ``'at its lower bound'``,
        ``'at its upper bound'``, ``'no standard error'`` or
        ``'relative error > 100 %'``; NaN values (no fit) give ``''``.

    Examples
    --------
    >>> determination([1.0, 2.0, 0.0], [0.1, 5.0, 0.01], [0, 0, 0], [10, 10, 10]).tolist()
    ['', 'relative error > 100 %', 'at its lower bound']
    """
    V, E = np.asarray(values, dtype=float), np.asarray(stderr, dtype=float)
    lo = np.broadcast_to(np.asarray(lower, dtype=float), V.shape)
    hi = np.broadcast_to(np.asarray(upper, dtype=float), V.shape)
    span = hi - lo
    with np.errstate(all="ignore"):
        tol = np.where(np.isfinite(span), bound_rtol * span, 1e-9 * np.maximum(np.abs(np.where(np.isfinite(lo), lo,
                       hi)), np.abs(V)))
        at_lo = np.isfinite(lo) & (np.abs(V - lo) <= tol)
        at_hi = np.isfinite(hi) & (np.abs(hi - V) <= tol)
        rel = np.abs(E) / np.abs(V)
    out = np.full(V.shape, "", dtype=object)
    fitted = np.isfinite(V)
    out[fitted & ~np.isfinite(E)] = "no standard error"
    out[fitted & np.isfinite(E) & ~(rel <= rel_limit)] = f"relative error > {rel_limit:.0%}".replace("%", " %")
    out[fitted & at_hi] = "at its upper bound"
    out[fitted & at_lo] = "at its lower bound"
    return out


def nested_pairs(param_sets):
    """Pairs ``(smaller, larger)`` of models whose varying parameters are a strict subset of another's.

    ``param_sets``: name -> the names of a model's varying parameters. A
    smaller model that is a special case of the larger (CouplesCV with one
    couple of CouplesCV with two; FrumkinCV, the Nernstian limit of LavironCV)
    has a subset of its parameters.
    """
    names = list(param_sets)
    return [(a, b) for a in names for b in names
            if a != b and set(param_sets[a]) < set(param_sets[b])]


def compare_models(rss, ndata, n_params, *, nested=None):
    """Compare models fitted to the same curves: AIC, BIC, Akaike weights, and tests of nested pairs.

    Parameters
    ----------
    rss : dict
        Model name -> sum of squared residuals per curve (array, NaN where
        that model's fit failed).
    ndata : array_like
        Points per curve (the same data for every model).
    n_params : dict
        Model name -> number of varying parameters.
    nested : list of (str, str), optional
        Pairs ``(smaller, larger)`` where the smaller model is a special case
        of the larger (default: none). For these an F test and a
        likelihood-ratio test say whether the larger model's extra
        parameters improve the fit more than noise would (approximate where
        the smaller model sits on the edge of the larger one's range, e.g. a
        charge of 0 or an infinite rate constant).

    Returns
    -------
    dict
        ``aic``, ``bic``, ``weight`` (Akaike weights): name -> array per
        curve; ``preferred_aic``, ``preferred_bic`` (name per curve, '' where
        no model has a value), ``delta_aic`` (AIC of the runner-up minus the
        preferred: > 2 a clear preference, > 10 a decisive one) and ``tests``:
        ``(smaller, larger)`` -> dict of ``f``, ``f_p``, ``lr``, ``lr_p``
        arrays (small p: the larger model is needed).

    Examples
    --------
    >>> out = compare_models({"line": [120.0], "parabola": [100.0]}, [100], {"line": 2, "parabola": 3},
    ...                      nested=[("line", "parabola")])
    >>> out["preferred_aic"].tolist(), bool(out["tests"][("line", "parabola")]["f_p"][0] < 1e-3)
    (['parabola'], True)
    """
    names = list(rss)
    n = np.asarray(ndata, dtype=float)
    R = {m: np.broadcast_to(np.asarray(rss[m], dtype=float), n.shape) for m in names}
    out = {"aic": {}, "bic": {}, "weight": {}, "tests": {}}
    with np.errstate(all="ignore"):
        for m in names:
            ln = n * np.log(np.where(R[m] > 0, R[m], np.nan) / n)
            out["aic"][m] = ln + 2 * n_params[m]
            out["bic"][m] = ln + n_params[m] * np.log(n)
        A = np.column_stack([out["aic"][m] for m in names]) if names else np.zeros((n.size, 0))
        B = np.column_stack([out["bic"][m] for m in names]) if names else np.zeros((n.size, 0))
        any_a = np.isfinite(A).any(axis=1)
        amin = np.nanmin(np.where(np.isfinite(A), A, np.inf), axis=1)
        w = np.exp(-0.5 * (A - amin[:, None]))
        w = w / np.nansum(w, axis=1, keepdims=True)
        for j, m in enumerate(names):
            out["weight"][m] = np.where(any_a, w[:, j], np.nan)
        ia = np.argmin(np.where(np.isfinite(A), A, np.inf), axis=1)
        ib = np.argmin(np.where(np.isfinite(B), B, np.inf), axis=1)
        labels = np.asarray(names, dtype=object)
        out["preferred_aic"] = np.where(any_a, labels[ia] if names else "", "")
        out["preferred_bic"] = np.where(np.isfinite(B).any(axis=1), labels[ib] if names else "", "")
        srt = np.sort(np.where(np.isfinite(A), A, np.inf), axis=1)
        out["delta_aic"] = (np.where(np.isfinite(srt[:, 1]), srt[:, 1] - srt[:, 0], np.nan)
                            if len(names) > 1 else np.full(n.size, np.nan))
        for small, large in nested or []:
            dk = n_params[large] - n_params[small]
            dof = n - n_params[large]
            f = ((R[small] - R[large]) / dk) / (R[large] / dof)
            lr = n * np.log(R[small] / R[large])
            ok = np.isfinite(f) & (dk > 0) & (dof > 0)
            out["tests"][(small, large)] = {
                "f": np.where(ok, f, np.nan),
                "f_p": np.where(ok, stats.f.sf(np.maximum(f, 0), dk, np.maximum(dof, 1)), np.nan),
                "lr": np.where(ok, lr, np.nan),
                "lr_p": np.where(ok, stats.chi2.sf(np.maximum(lr, 0), dk), np.nan)}
    return out


def trust_messages(names, values, stderr, codes, good, *, skip=()):
    """Warnings (list of str) for parameters not determined by relative error and for residual structure.

    ``names``/``values``/``stderr``/``codes`` (:func:`determination`) of one
    fit's varying parameters; ``good``: its :func:`goodness` dict. Bounds and
    missing errors are worded by :func:`~nbtools.kinetics.checks.check_values`
    already; ``skip``: message kinds already given (``'structure'``).
    """
    msgs = []
    for n, v, e, c in zip(names, values, stderr, codes):
        if c.startswith("relative error"):
            msgs.append(f"parameter {n!r} is not determined by these data (standard error "
                        f"{abs(e / v) * 100:.0f} % of its value)")
    if good.get("resid_structure") and "structure" not in skip:
        msgs.append(f"the residuals have structure (runs test p = {good['runs_p']:.1g}, lag-1 r = "
                    f"{good['resid_r1']:.2f}): the model does not follow a feature of the data (or the noise is "
                    "filtered); look at the residual plot before trusting the values")
    return msgs
