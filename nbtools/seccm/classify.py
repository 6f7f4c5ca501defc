"""Automatic particle/substrate (active/inactive) mask."""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from ..errors import DataError, NbtoolsWarning, ParameterError
from .layout import from_grid, good_pixels, to_grid, validate
from .maps import charge, peak
from .recipe import ACTIVITIES, ClassifyRecipe

__all__ = ["classify", "activity_map", "otsu_threshold", "mixture_threshold", "separation", "coherence",
           "default_min_separation"]


def otsu_threshold(values, bins=256):
    """Otsu's threshold of 1-D values (NaN ignored).

    Values are first clipped to their 1st-99th percentiles so a few outliers
    do not squeeze the histogram.
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size < 2:
        raise DataError(f"otsu_threshold: {v.size} finite value(s); at least 2 are needed")
    lo, hi = np.percentile(v, [1, 99])
    if not hi > lo:
        lo, hi = v.min(), v.max()
    if not hi > lo:
        raise DataError("otsu_threshold: all values are equal; there is nothing to separate")
    h, edges = np.histogram(np.clip(v, lo, hi), bins=bins, range=(lo, hi))
    mid = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(h)
    w1 = w0[-1] - w0
    s0 = np.cumsum(h * mid)
    with np.errstate(all="ignore"):
        m0 = s0 / w0
        m1 = (s0[-1] - s0) / w1
        between = w0 * w1 * (m0 - m1) ** 2
    k = int(np.nanargmax(between[:-1]))
    return float(edges[k + 1])


def separation(values, threshold):
    """Distance between the two classes split at ``threshold``, in within-class spreads.

    ``(mean_above - mean_below) / sqrt(pooled within-class variance)`` of the
    finite values, clipped to their 1st-99th percentiles like
    :func:`otsu_threshold`. One Gaussian population split at Otsu's threshold
    gives about 2.7 (3.5 for a uniform one); two populations whose means are
    ``k`` standard deviations apart give about ``k``. NaN when a class is empty.
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size < 2:
        return float("nan")
    lo, hi = np.percentile(v, [1, 99])
    c = np.clip(v, lo, hi)
    a, b = c[c <= threshold], c[c > threshold]
    if a.size == 0 or b.size == 0:
        return float("nan")
    within = (a.var() * a.size + b.var() * b.size) / c.size
    gap = b.mean() - a.mean()
    if within <= 0:
        return float("inf") if gap > 0 else float("nan")
    return float(gap / np.sqrt(within))


def mixture_threshold(values, start=None, *, iterations=200):
    """Threshold between two Gaussian populations of unequal spread fitted to 1-D values (NaN ignored).

    Expectation-maximisation of a two-component Gaussian mixture, started
    from the split at ``start`` (default :func:`otsu_threshold`); the
    threshold is where the two weighted densities cross between the means
    (each value goes to the more probable population). Values are clipped to
    their 1st-99th percentiles first. Unlike Otsu's threshold, which sits
    halfway between the class means, it stays next to a narrow population
    (a substrate with no faradaic charge) when the other is broad (particles
    of different sizes). Falls back to ``start`` when the fit does not
    separate two populations.
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    t0 = otsu_threshold(v) if start is None else float(start)
    lo, hi = np.percentile(v, [1, 99])
    c = np.clip(v, lo, hi)
    a, b = c[c <= t0], c[c > t0]
    if a.size < 2 or b.size < 2:
        return t0
    pi = np.array([a.size, b.size], float) / c.size
    mu = np.array([a.mean(), b.mean()])
    floor = 1e-3 * c.std() or 1e-300
    sd = np.maximum([a.std(), b.std()], floor)
    for _ in range(iterations):
        logp = np.log(pi) - np.log(sd) - 0.5 * ((c[:, None] - mu) / sd) ** 2
        w = np.exp(logp - logp.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        nk = w.sum(axis=0)
        if (nk < 1).any():
            return t0
        new = (w * c[:, None]).sum(axis=0) / nk
        sd = np.maximum(np.sqrt((w * (c[:, None] - new) ** 2).sum(axis=0) / nk), floor)
        pi, done, mu = nk / c.size, np.allclose(new, mu, rtol=0, atol=1e-9 * (hi - lo)), new
        if done:
            break
    grid = np.linspace(min(mu), max(mu), 2001)
    dens = np.log(pi) - np.log(sd) - 0.5 * ((grid[:, None] - mu) / sd) ** 2
    low = int(np.argmin(mu))
    upper = np.flatnonzero(dens[:, 1 - low] > dens[:, low])
    return float(grid[upper[0]]) if upper.size and 0 < upper[0] < grid.size - 1 else t0


def coherence(labels, usable):
    """How much a split forms regions: agreement of neighbouring labels beyond chance (Cohen's kappa).

    ``labels`` and ``usable`` are boolean maps (y, x); pairs of usable
    8-neighbours are compared. 0: the labels are scattered like noise
    (a split of one population); near 1: compact regions (particles).
    NaN when there are no pairs or only one label.
    """
    lab, use = np.asarray(labels, bool), np.asarray(usable, bool)
    ny, nx = lab.shape
    agree = pairs = 0
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        ys, xs = slice(dy, ny), slice(max(dx, 0), nx + min(dx, 0))
        yo, xo = slice(0, ny - dy), slice(max(-dx, 0), nx - max(dx, 0))
        ok = use[ys, xs] & use[yo, xo]
        agree += int((lab[ys, xs] == lab[yo, xo])[ok].sum())
        pairs += int(ok.sum())
    p = lab[use].mean() if use.any() else np.nan
    chance = p * p + (1 - p) * (1 - p)
    if pairs == 0 or not chance < 1:
        return float("nan")
    return float((agree / pairs - chance) / (1 - chance))


def default_min_separation(n):
    """Separation needed to call ``n`` pixels two populations: ``4 + 6 / sqrt(n)``.

    Above the 95th percentile of :func:`separation` of ``n`` values drawn
    from one Gaussian population (about 5.5 for n = 10, 3.0 for n = 200,
    seeded Monte Carlo), below that of two populations 6 standard deviations
    apart (about 6).
    """
    return 4.0 + 6.0 / np.sqrt(max(int(n), 1))


def activity_map(ds, recipe=None, /, *, activity=None, **params):
    """The map :func:`classify` thresholds: ``activity`` as given, or the one ``recipe.activity`` names.

    ``'charge'``: :func:`~nbtools.seccm.charge` of the recipe's ``branch`` in
    its ``window`` (linear baseline); ``'peak_current'``: the height of the
    branch's peak above its background line (0 A where there is no peak);
    ``'given'``: the DataArray (y, x) passed as ``activity``.
    """
    r = ClassifyRecipe.coerce(recipe, **params)
    if r.activity == "given":
        if not (isinstance(activity, xr.DataArray) and {"y", "x"} <= set(activity.dims)):
            raise ParameterError("activity='given': pass the activity map too, classify(ds, recipe, "
                                 "activity=<DataArray (y, x)>), or use activity='charge' or 'peak_current'")
        return activity
    if r.activity == "charge":
        return charge(ds, window=r.window, branch=r.branch)
    direction = "cathodic" if r.branch == "cathodic" else "anodic"
    prom = peak(ds, direction, window=r.window).prominence
    # no peak above the noise: no activity (0 A) rather than a left-out pixel
    out = prom.fillna(0.0)
    out.attrs = dict(prom.attrs, long_name=f"{direction} peak height (0 where no peak)")
    return out


def _split_activity(recipe, params):
    """(recipe, params, activity map or None): a DataArray given as recipe or activity= is the map."""
    given = None
    if isinstance(recipe, xr.DataArray):
        given, recipe = recipe, None
    elif isinstance(recipe, str) and recipe.strip().lower() in ACTIVITIES:
        params = {"activity": recipe, **params}
        recipe = None
    act = params.get("activity")
    if isinstance(act, xr.DataArray) and {"y", "x"} <= set(act.dims):
        given = params.pop("activity")
    if given is not None:
        params = {**params, "activity": "given"}
    return recipe, params, given


def _remove_small(mask, min_size):
    from scipy import ndimage

    lab, n = ndimage.label(mask, structure=np.ones((3, 3)))
    if n == 0:
        return mask
    sizes = np.bincount(lab.ravel())
    small = sizes < min_size
    small[0] = False
    return mask & ~small[lab]


def _grid(values, ds):
    return to_grid(xr.DataArray(values, dims="pixel", coords={"ix": ds.ix, "iy": ds.iy}), ds).values


def _decide(ds, r, vals, use):
    """(threshold, split, note, stats): the threshold of the recipe, or why the scan was not split."""
    n_use = int(use.sum())
    stats = {"otsu_threshold": float("nan"), "separation": float("nan"), "min_separation": float("nan"),
             "coherence": float("nan")}
    if r.threshold not in ("auto", "otsu"):
        return float(r.threshold), True, "threshold given", stats
    need = float(default_min_separation(n_use) if r.min_separation is None else r.min_separation)
    stats["min_separation"] = need
    v = vals[use]
    if n_use < 2 or not np.ptp(v) > 0:
        return float("nan"), False, f"the {n_use} usable pixel(s) all have the same activity", stats
    otsu = otsu_threshold(v)
    thr = mixture_threshold(v, otsu) if r.threshold == "auto" else otsu
    sep = separation(v, otsu)
    coh = coherence(_grid(use & (vals > thr), ds), _grid(use, ds)) if use.size >= 25 else float("nan")
    stats.update(otsu_threshold=otsu, separation=sep, coherence=coh)
    if n_use < r.min_pixels:
        return float("nan"), False, (f"only {n_use} usable landing(s): too few to tell particle from substrate "
                                     f"(at least {r.min_pixels} are needed)"), stats
    if sep >= need or (coh >= r.min_coherence and sep >= 3.0):
        return thr, True, "", stats
    return float("nan"), False, ("the activity values look like one population: they do not fall into two groups "
                                 f"(separation {sep:.3g}, {need:.3g} needed) and the high values do not form "
                                 f"regions on the map (coherence {coh:.2g}, {r.min_coherence:.2g} needed)"), stats


def classify(ds, recipe=None, /, **params):
    """Particle (active) / substrate (inactive) mask of a scan.

    Parameters
    ----------
    ds : xarray.Dataset
        SECCM Dataset.
    recipe : ClassifyRecipe, DataArray or str, optional
        The settings (:class:`~nbtools.seccm.recipe.ClassifyRecipe`), or the
        activity map or its name (``classify(ds, q)``, ``classify(ds, 'charge')``);
        keywords override the recipe's settings:
    activity : xarray.DataArray or str, optional
        Map (y, x) to threshold (recorded as ``'given'`` in the recipe), or
        the name of one computed here:
        ``'charge'`` (default): the charge of the ``branch`` sweep in
        ``window`` with a linear baseline (:func:`nbtools.seccm.charge`),
        which removes the substrate's capacitive current;
        ``'peak_current'``: the height of the ``branch`` peak in ``window``
        above its background line (:func:`nbtools.seccm.peak` prominence, 0 A
        where there is no peak).
    window : (E1, E2), optional
        Potential window of the redox process (V); default the whole sweep.
    branch : str
        Branch for the default activity map.
    threshold : float, 'auto' or 'otsu'
        Threshold in the units of the activity map, applied as given. Default
        ``'auto'``: between the two populations of the landed pixels
        (:func:`mixture_threshold`), used only when they show two populations
        (see Notes); ``'otsu'``: Otsu's threshold, likewise.
    min_size : int
        Particles and holes smaller than this many pixels are removed
        (8-connected); skipped on scans of fewer than 25 grid cells.
    fill_failed : bool
        Give pixels left out (failed, no contact...) the majority label of
        their usable neighbours; otherwise they are False.
    include_failed : bool
        Use every pixel with data for the threshold, whatever its status.
    min_pixels : int
        With the default threshold: fewer usable pixels than this are too few
        to tell two populations apart (default 10).
    min_separation : float, optional
        With the default threshold: least :func:`separation` (gap between the
        class means over the within-class spread) that counts as two
        populations; default :func:`default_min_separation` of the number of
        usable pixels (5.9 for 10 pixels, 4.4 for 200).
    min_coherence : float
        With the default threshold: a split whose particle pixels form regions
        at least this coherent (:func:`coherence`, 0.5) also counts as two
        populations when the values overlap (separation of 3 or more).

    Returns
    -------
    xarray.DataArray
        Boolean map (y, x) named ``particle``; attrs: ``threshold`` (NaN when
        no split was made), ``otsu_threshold``, ``separation``,
        ``min_separation``, ``coherence``, ``split`` (1 when the map was split, else 0),
        ``note``, ``activity`` (long name), ``n_used`` pixels and ``recipe``
        (the :class:`ClassifyRecipe`; ``classify(ds, mask.attrs['recipe'])``
        reproduces the mask, with ``activity=`` the same map when it was given).

    Warns
    -----
    NbtoolsWarning
        With the default threshold, when the scan has fewer than
        ``min_pixels`` usable pixels or its activity values show no two
        populations (a homogeneous scan: all substrate, or all on one
        particle). No pixel is then marked as particle; look at the map and
        pass ``threshold=`` or select the pixels by hand.

    Notes
    -----
    A threshold always splits the values in two, even those of one
    population with noise. The split is kept only when the values show two
    populations: the class means (split at Otsu's threshold) are at least
    ``min_separation`` within-class standard deviations apart (one Gaussian
    population gives about 2.7, a uniform spread 3.5, two populations ``k``
    standard deviations apart about ``k``), or they are at least 3 apart and
    the split forms regions on the map (:func:`coherence` at least
    ``min_coherence``; a split of one population with noise scatters like
    salt and pepper, about 0). Particles of different sizes give a broad
    active population next to a narrow inactive one: the default threshold
    is then where the two fitted populations meet, next to the narrow one,
    not halfway between their means as Otsu's.
    """
    recipe, params, given = _split_activity(recipe, params)
    r = ClassifyRecipe.coerce(recipe, **params)
    validate(ds)
    activity = activity_map(ds, r, activity=given)
    vals = from_grid(activity, ds).values
    use = good_pixels(ds, r.include_failed).values & np.isfinite(vals)
    n_use = int(use.sum())
    if n_use == 0:
        raise DataError(
            "classify: no usable landing (labelled 'landed' with a finite activity); check the landing-quality "
            "labels (mark landings by hand if they are wrong) or include failed landings (include_failed=True)"
        )
    thr, split, note, stats = _decide(ds, r, vals, use)
    if not split:
        warnings.warn(f"classify: no particle/substrate split: {note}. No landing is marked as particle; look at "
                      "the activity map and give a threshold, or select the pixels by hand.",
                      NbtoolsWarning, stacklevel=2)
    lab = np.where(use, vals > thr, False) if split else np.zeros(use.shape, bool)
    grid_lab, grid_use = _grid(lab, ds), _grid(use, ds)
    if split and r.fill_failed and (~grid_use).any():
        from scipy import ndimage

        k = np.ones((3, 3))
        pos = ndimage.convolve((grid_lab & grid_use).astype(float), k, mode="constant")
        tot = ndimage.convolve(grid_use.astype(float), k, mode="constant")
        fill = ~grid_use & (tot > 0) & (pos > tot / 2)
        grid_lab = grid_lab | fill
    if split and r.min_size > 1 and grid_lab.size >= 25:  # no morphology on tiny scans
        grid_lab = _remove_small(grid_lab, r.min_size)
        grid_lab = ~_remove_small(~grid_lab, r.min_size)
    return xr.DataArray(
        grid_lab,
        dims=("y", "x"),
        coords={k: activity.coords[k] for k in ("y", "x") if k in activity.coords},
        name="particle",
        attrs={
            "threshold": thr,
            **stats,
            "split": int(split),
            "note": note,
            "threshold_units": str(activity.attrs.get("units", "")),
            "activity": str(activity.attrs.get("long_name", activity.name)),
            "n_used": n_use,
            "long_name": "particle (active) mask",
            "recipe": r,
        },
    )
