"""Statistics of a population: the numbers a reviewer asks for, as plain functions of arrays and tables.

- :func:`bootstrap_ci`: a statistic with its bootstrap confidence interval
  (the median's from the exact bootstrap distribution of order statistics,
  other statistics by resampling with a fixed seed);
- :func:`describe_groups`: per condition, n, median and mean with intervals,
  quartiles;
- :func:`compare_groups`: a rank test across conditions (Kruskal-Wallis,
  with epsilon-squared) and between each pair (Mann-Whitney U, Holm-adjusted
  p, Cliff's delta = rank-biserial correlation as effect size);
- :func:`proportional_fit`: counts against concentration with the expected
  proportionality f = k c (Poisson maximum likelihood, exact interval, a
  goodness-of-fit test) and the free log-log slope (expected 1);
- :func:`loglog_slope`: a property against size on log-log axes, slope with
  its interval (and Spearman's rank correlation).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy import stats as st

from ..errors import ParameterError

__all__ = ["bootstrap_ci", "describe_groups", "compare_groups", "proportional_fit", "loglog_slope",
           "holm", "cliffs_delta", "grouped_histogram"]

#: most values x resamples drawn at once by the resampling bootstrap
_MAX_DRAWS = 20_000_000


def _values(values) -> np.ndarray:
    v = np.asarray(values, dtype=float).ravel()
    return v[np.isfinite(v)]


def _check_conf(conf):
    if not 0 < conf < 1:
        raise ParameterError(f"conf must be between 0 and 1 (0.95 for 95 %), found {conf!r}")


def _median_interval(x: np.ndarray, conf: float):
    """Exact bootstrap percentile interval of the median: no resampling.

    Resampling n values from sorted x, the resample has at least r values
    <= x_(j) with probability P(Binomial(n, j/n) >= r), so the bootstrap
    distribution of the median's order statistic is known exactly (the lower
    median's for the low end, the upper median's for the high end when n is
    even).
    """
    x = np.sort(x)
    n = x.size
    j = np.arange(1, n + 1)
    a = (1 - conf) / 2
    r_low, r_high = (n + 1) // 2, n // 2 + 1
    cdf_low = st.binom.sf(r_low - 1, n, j / n)
    cdf_high = st.binom.sf(r_high - 1, n, j / n)
    lo = x[min(int(np.searchsorted(cdf_low, a, side="left")), n - 1)]
    hi = x[min(int(np.searchsorted(cdf_high, 1 - a, side="left")), n - 1)]
    return float(lo), float(hi)


def bootstrap_ci(values, statistic="median", *, conf: float = 0.95, n_boot: int = 2000, seed: int = 0) -> dict:
    """A statistic of ``values`` with its bootstrap percentile interval.

    Parameters
    ----------
    values : array_like
        Sample (NaN and inf dropped).
    statistic : 'median', 'mean' or callable
        ``callable(array, axis=-1)``. The median's interval comes from the
        exact bootstrap distribution (order statistics, no resampling noise);
        others from ``n_boot`` resamples (fewer for very large samples, at most
        2e7 draws; ``n_boot`` in the result says how many).
    conf : float
        Confidence level.
    seed : int
        Seed of the resampling (results are reproducible).

    Returns
    -------
    dict
        ``estimate``, ``low``, ``high``, ``n``, ``conf``, ``method``, ``n_boot``.

    Examples
    --------
    >>> r = bootstrap_ci([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    >>> r["estimate"], r["low"] <= 4.0 <= r["high"]
    (4.0, True)
    """
    _check_conf(conf)
    x = _values(values)
    out = {"estimate": np.nan, "low": np.nan, "high": np.nan, "n": int(x.size), "conf": conf,
           "method": "", "n_boot": 0}
    if x.size == 0:
        return out
    if statistic == "median":
        lo, hi = _median_interval(x, conf)
        out.update(estimate=float(np.median(x)), low=lo, high=hi, method="exact bootstrap (order statistics)")
        return out
    fn = {"mean": np.mean}.get(statistic, statistic)
    if not callable(fn):
        raise ParameterError(f"statistic must be 'median', 'mean' or a function, found {statistic!r}")
    n_boot = int(max(100, min(n_boot, _MAX_DRAWS // max(x.size, 1))))
    rng = np.random.default_rng(seed)
    boots, step = [], max(1, _MAX_DRAWS // 10 // x.size)
    for start in range(0, n_boot, step):
        idx = rng.integers(0, x.size, size=(min(step, n_boot - start), x.size))
        boots.append(fn(x[idx], axis=-1))
    b = np.concatenate(boots)
    a = (1 - conf) / 2
    out.update(estimate=float(fn(x, axis=-1)), low=float(np.quantile(b, a)), high=float(np.quantile(b, 1 - a)),
               method="bootstrap percentile", n_boot=n_boot)
    return out


def describe_groups(df: pd.DataFrame, columns, by: str | None = "condition", *, conf: float = 0.95,
                    seed: int = 0, absolute=()) -> pd.DataFrame:
    """n, median and mean with bootstrap intervals, and quartiles, of each column in each group.

    ``absolute`` names columns taken as magnitudes (charges and currents of both signs).
    Rows: ``column``, ``group`` (``'all'`` for the whole population first), ...
    """
    rows = []
    groups = [("all", df)]
    if by is not None and by in df and df[by].nunique(dropna=True) > 1:
        groups += [(str(g), sub) for g, sub in df.groupby(by, sort=True, dropna=True)]
    for col in columns:
        if col not in df:
            continue
        for name, sub in groups:
            v = _values(sub[col])
            if col in absolute:
                v = np.abs(v)
            med = bootstrap_ci(v, "median", conf=conf)
            mean = bootstrap_ci(v, "mean", conf=conf, seed=seed)
            q = np.quantile(v, [0.25, 0.75]) if v.size else (np.nan, np.nan)
            rows.append({"column": col, "group": name, "n": med["n"], "median": med["estimate"],
                         "median_low": med["low"], "median_high": med["high"], "mean": mean["estimate"],
                         "mean_low": mean["low"], "mean_high": mean["high"], "q25": float(q[0]),
                         "q75": float(q[1])})
    return pd.DataFrame(rows, columns=["column", "group", "n", "median", "median_low", "median_high", "mean",
                                       "mean_low", "mean_high", "q25", "q75"])


def cliffs_delta(a, b) -> float:
    """P(A > B) - P(A < B): Cliff's delta (the rank-biserial correlation), -1 .. 1; 0 = no shift."""
    a, b = _values(a), _values(b)
    if a.size == 0 or b.size == 0:
        return float("nan")
    u = st.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic").statistic  # counts A > B (ties 1/2)
    return float(2.0 * u / (a.size * b.size) - 1.0)


def holm(p) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (family-wise error)."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return out
    order = np.argsort(p[ok])
    adj = np.maximum.accumulate((m - np.arange(m)) * p[ok][order])
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out


def _magnitude(delta: float) -> str:
    """Romano et al. (2006) thresholds of |Cliff's delta|."""
    d = abs(delta)
    if not np.isfinite(d):
        return ""
    return "negligible" if d < 0.147 else "small" if d < 0.33 else "medium" if d < 0.474 else "large"


def compare_groups(df: pd.DataFrame, column: str, by: str = "condition", *, absolute: bool = False,
                   min_n: int = 3) -> tuple[dict, pd.DataFrame]:
    """Do the groups differ in ``column``? A rank test across them and between each pair.

    Parameters
    ----------
    df : DataFrame
        The population (one row per entity).
    column, by : str
        The property and the grouping column (the condition).
    absolute : bool
        Compare magnitudes (charges, currents of both signs).
    min_n : int
        Groups with fewer finite values are left out (and named in ``overall['left_out']``).

    Returns
    -------
    (dict, DataFrame)
        ``overall``: ``test`` ('Kruskal-Wallis', or 'Mann-Whitney U' for two
        groups), ``statistic``, ``p``, ``effect`` (epsilon-squared =
        H/(n-1), or Cliff's delta for two groups), ``k``, ``n``. ``pairs``:
        one row per pair: ``a``, ``b``, ``n_a``, ``n_b``, ``median_a``,
        ``median_b``, ``U``, ``p``, ``p_holm``, ``cliffs_delta`` (> 0: a
        larger), ``magnitude``.
    """
    cols = ["column", "a", "b", "n_a", "n_b", "median_a", "median_b", "U", "p", "p_holm", "cliffs_delta",
            "magnitude"]
    samples, left = {}, []
    if column in df and by in df:
        for g, sub in df.groupby(by, sort=True, dropna=True):
            v = _values(sub[column])
            v = np.abs(v) if absolute else v
            (samples.__setitem__(str(g), v) if v.size >= min_n else left.append(str(g)))
    overall = {"column": column, "by": by, "test": "", "statistic": np.nan, "p": np.nan, "effect": np.nan,
               "effect_name": "", "k": len(samples), "n": int(sum(v.size for v in samples.values())),
               "left_out": left}
    if len(samples) < 2:
        overall["note"] = f"fewer than two groups of {by!r} with {min_n} or more values: nothing to compare"
        return overall, pd.DataFrame(columns=cols)
    rows = []
    for a, b in itertools.combinations(samples, 2):
        res = st.mannwhitneyu(samples[a], samples[b], alternative="two-sided")
        d = 2.0 * res.statistic / (samples[a].size * samples[b].size) - 1.0
        rows.append({"column": column, "a": a, "b": b, "n_a": samples[a].size, "n_b": samples[b].size,
                     "median_a": float(np.median(samples[a])), "median_b": float(np.median(samples[b])),
                     "U": float(res.statistic), "p": float(res.pvalue), "cliffs_delta": float(d),
                     "magnitude": _magnitude(d)})
    pairs = pd.DataFrame(rows)
    pairs["p_holm"] = holm(pairs["p"])
    if len(samples) == 2:
        r = rows[0]
        overall.update(test="Mann-Whitney U", statistic=r["U"], p=r["p"], effect=r["cliffs_delta"],
                       effect_name="Cliff's delta")
    else:
        h = st.kruskal(*samples.values())
        n = overall["n"]
        overall.update(test="Kruskal-Wallis", statistic=float(h.statistic), p=float(h.pvalue),
                       effect=float(h.statistic / (n - 1)) if n > 1 else np.nan, effect_name="epsilon-squared")
    return overall, pairs[cols]


def proportional_fit(counts, exposure, concentration, *, conf: float = 0.95) -> dict:
    """Impact counts against particle concentration: the expected f = k c, and the free log-log slope.

    Parameters
    ----------
    counts : array_like
        Events of each recording.
    exposure : array_like
        Observed time of each recording (s).
    concentration : array_like
        Particle concentration of each recording (mol/m^3; any unit gives ``k``
        per that unit).
    conf : float
        Confidence level.

    Returns
    -------
    dict
        ``k`` (1/s per concentration unit: f = k c, Poisson maximum
        likelihood = total count / sum of c T) with ``k_low``, ``k_high``
        (exact Garwood interval of the total count); ``chi2``, ``dof``,
        ``p_fit`` (Pearson goodness of fit of the proportional model;
        small p: the frequency does not follow c, or the recordings
        scatter more than Poisson), ``dispersion`` (chi2/dof); ``slope``
        with ``slope_low``, ``slope_high`` (Poisson regression of f on c
        on log-log axes, quasi-Poisson errors; 1 for proportionality) and
        ``n_files``, ``n_concentrations``, ``table`` (pooled frequency with its
        interval per concentration).
    """
    _check_conf(conf)
    n = np.asarray(counts, dtype=float)
    t = np.asarray(exposure, dtype=float)
    c = np.asarray(concentration, dtype=float)
    ok = np.isfinite(n) & np.isfinite(t) & np.isfinite(c) & (t > 0) & (c > 0)
    n, t, c = n[ok], t[ok], c[ok]
    out = {"k": np.nan, "k_low": np.nan, "k_high": np.nan, "chi2": np.nan, "dof": 0, "p_fit": np.nan,
           "dispersion": np.nan, "slope": np.nan, "slope_low": np.nan, "slope_high": np.nan, "slope_se": np.nan,
           "n_files": int(n.size), "n_concentrations": int(np.unique(c).size), "conf": conf}
    out["table"] = _pooled(n, t, c, conf)
    if n.size == 0:
        return out
    a = 1 - conf
    total, ct = n.sum(), np.sum(c * t)
    lo = 0.0 if total == 0 else st.chi2.ppf(a / 2, 2 * total) / 2
    hi = st.chi2.ppf(1 - a / 2, 2 * total + 2) / 2
    k = total / ct
    out.update(k=float(k), k_low=float(lo / ct), k_high=float(hi / ct))
    mu = k * c * t
    if n.size > 1 and k > 0:
        chi2 = float(np.sum((n - mu) ** 2 / mu))
        out.update(chi2=chi2, dof=int(n.size - 1), p_fit=float(st.chi2.sf(chi2, n.size - 1)),
                   dispersion=chi2 / (n.size - 1))
    if out["n_concentrations"] >= 2 and total > 0:
        out.update(_poisson_slope(n, t, c, conf))
    return out


def _pooled(n, t, c, conf) -> pd.DataFrame:
    rows = []
    a = 1 - conf
    for cv in np.unique(c):
        sel = c == cv
        N, T = n[sel].sum(), t[sel].sum()
        lo = 0.0 if N == 0 else st.chi2.ppf(a / 2, 2 * N) / 2
        rows.append({"concentration": float(cv), "files": int(sel.sum()), "count": float(N), "time": float(T),
                     "frequency": N / T, "low": lo / T, "high": st.chi2.ppf(1 - a / 2, 2 * N + 2) / 2 / T})
    return pd.DataFrame(rows, columns=["concentration", "files", "count", "time", "frequency", "low", "high"])


def _poisson_slope(n, t, c, conf) -> dict:
    """log mu = log T + a + b log c by iteratively reweighted least squares; quasi-Poisson interval of b."""
    X = np.column_stack([np.ones_like(c), np.log(c)])
    beta = np.linalg.lstsq(X, np.log(np.maximum(n, 0.5) / t), rcond=None)[0]
    for _ in range(50):
        mu = t * np.exp(X @ beta)
        z = X @ beta + (n - mu) / mu
        W = mu
        new = np.linalg.solve(X.T @ (W[:, None] * X), X.T @ (W * z))
        if np.max(np.abs(new - beta)) < 1e-10:
            beta = new
            break
        beta = new
    mu = t * np.exp(X @ beta)
    cov = np.linalg.inv(X.T @ (mu[:, None] * X))
    dof = n.size - 2
    disp = max(1.0, float(np.sum((n - mu) ** 2 / mu)) / dof) if dof > 0 else 1.0
    se = float(np.sqrt(cov[1, 1] * disp))
    q = st.norm.ppf(1 - (1 - conf) / 2) if dof <= 0 or disp == 1.0 else st.t.ppf(1 - (1 - conf) / 2, dof)
    b = float(beta[1])
    return {"slope": b, "slope_se": se, "slope_low": b - q * se, "slope_high": b + q * se}


def loglog_slope(x, y, *, conf: float = 0.95) -> dict:
    """Slope of log10(y) against log10(x) (a power law y ~ x^b) with its interval.

    Only pairs with both values positive and finite are used (magnitudes:
    pass ``abs()`` of signed charges). Least squares on the logarithms,
    Student-t interval of the slope; Spearman's rank correlation beside it.

    Returns
    -------
    dict
        ``slope``, ``slope_low``, ``slope_high``, ``slope_se``, ``intercept``
        (log10 units), ``r`` (Pearson on the logs), ``spearman``,
        ``spearman_p``, ``n``, ``conf``.
    """
    _check_conf(conf)
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    lx, ly = np.log10(x[ok]), np.log10(y[ok])
    out = {"slope": np.nan, "slope_low": np.nan, "slope_high": np.nan, "slope_se": np.nan, "intercept": np.nan,
           "r": np.nan, "spearman": np.nan, "spearman_p": np.nan, "n": int(lx.size), "conf": conf}
    if lx.size < 3 or np.ptp(lx) == 0:
        return out
    fit = st.linregress(lx, ly)
    q = st.t.ppf(1 - (1 - conf) / 2, lx.size - 2)
    rho = st.spearmanr(lx, ly)
    out.update(slope=float(fit.slope), slope_se=float(fit.stderr), slope_low=float(fit.slope - q * fit.stderr),
               slope_high=float(fit.slope + q * fit.stderr), intercept=float(fit.intercept), r=float(fit.rvalue),
               spearman=float(rho.statistic), spearman_p=float(rho.pvalue))
    return out


def grouped_histogram(df: pd.DataFrame, column: str, by: str | None = "condition", *, bins: int = 30,
                      absolute: bool = False, log=None) -> pd.DataFrame:
    """Histogram of ``column`` in each group on shared bins (what the report and the dashboard draw).

    Parameters
    ----------
    absolute : bool
        Magnitudes (charges and currents of both signs).
    log : bool, optional
        Logarithmic bins; default when every value is positive and they span more than a decade.

    Returns
    -------
    DataFrame
        ``group``, ``left``, ``right``, ``count``, ``fraction`` (of the group's finite values);
        ``attrs``: ``log``, ``column``.
    """
    v_all = pd.to_numeric(df[column], errors="coerce").to_numpy(float) if column in df else np.empty(0)
    v_all = np.abs(v_all) if absolute else v_all
    fin = v_all[np.isfinite(v_all)]
    cols = ["group", "left", "right", "count", "fraction"]
    if fin.size == 0:
        out = pd.DataFrame(columns=cols)
        out.attrs.update(log=False, column=column)
        return out
    if log is None:
        log = bool((fin > 0).all() and np.log10(fin.max() / fin.min()) > 1)
    if log:
        fin = fin[fin > 0]
        edges = np.logspace(np.log10(fin.min()), np.log10(fin.max()), bins + 1)
    else:
        edges = np.histogram_bin_edges(fin, bins=bins)
    groups = [("all", v_all)]
    if by is not None and by in df and df[by].nunique(dropna=True) > 1:
        groups = [(str(g), v_all[(df[by] == g).to_numpy()]) for g in sorted(df[by].dropna().unique(), key=str)]
    rows = []
    for name, v in groups:
        v = v[np.isfinite(v)]
        cnt, _ = np.histogram(v, edges)
        frac = cnt / v.size if v.size else cnt * 0.0
        rows += [{"group": name, "left": a, "right": b, "count": int(c), "fraction": float(f)}
                 for a, b, c, f in zip(edges[:-1], edges[1:], cnt, frac)]
    out = pd.DataFrame(rows, columns=cols)
    out.attrs.update(log=bool(log), column=column)
    return out
