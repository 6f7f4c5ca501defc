"""Maps of an SECCM scan: one number per landing, placed on the grid (y, x).

Every function takes the scan and a map recipe
(:class:`~nbtools.seccm.recipe.MapRecipe`) or its settings as keywords,
works on all pixels at once (numba kernels over pixels; ``engine='numpy'``:
the NumPy reference of :mod:`nbtools.seccm._maps_numpy`) and returns
DataArrays with dims ``('y', 'x')``, coordinates in metres, ``units`` in
``attrs`` and the recipe that made them in ``attrs['recipe']``:
``make_map(ds, m.attrs['recipe'])`` reproduces map ``m``. Maps are computed
for every pixel whatever its ``status``; statistics
(:func:`nbtools.seccm.group_stats`, :func:`nbtools.seccm.classify`) leave
failed pixels out.

Branches of a voltammogram: ``'anodic'`` (positive-going sweep),
``'cathodic'`` (negative-going), ``'forward'`` (the direction of the first
sweep), ``'reverse'``; ``cycle`` picks the sweep of that branch when a landing
holds several (0 first, -1 last, None all of them). ``window`` is always a
keyword (V, checked once by :func:`~nbtools.seccm.layout.check_scan_window`).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import ParameterError
from . import _kernels as K
from . import _maps_numpy as ref
from . import _sweeps as sw
from .layout import STATUS_VALUES, check_scan_window, pixel_map, potential_range, validate
from .quality import quality
from .recipe import MAP_OPTIONS, MapRecipe

__all__ = ["current_at", "charge", "peak", "onset", "peak_separation", "status_map", "map_recipe", "current_density",
           "footprint_area"]

_BCODE = {"anodic": 1, "cathodic": -1, "forward": 2, "reverse": -2}
_PEAK_MAPS = ("peak_potential", "peak_current", "peak_prominence")


def map_recipe(name, recipe=None, /, *, shortcut=None, **params):
    """The :class:`MapRecipe` of map ``name`` (or one of ``name``'s family) from a recipe or keywords.

    ``recipe`` may be a MapRecipe, its dict or JSON, or a plain value
    standing for ``shortcut`` (``current_at(ds, 4.0)`` is ``potential=4.0``).
    Keywords must be settings the map reads (:data:`~nbtools.seccm.recipe.MAP_OPTIONS`).
    """
    names = _PEAK_MAPS if name in _PEAK_MAPS else (name,)
    if isinstance(recipe, (tuple, list, np.ndarray)):
        raise ParameterError(f"{name}: the second argument is a recipe, found {type(recipe).__name__} {recipe!r:.60}; "
                             "window is keyword-only: window=(E1, E2)")
    if recipe is not None and not isinstance(recipe, (MapRecipe, dict)) and not _is_json(recipe):
        if shortcut is None:
            raise ParameterError(f"{name}: expected a MapRecipe, its dict or JSON, found {recipe!r:.60}")
        params = {shortcut: recipe, **params}
        recipe = None
    unknown = sorted(set(params) - set(MAP_OPTIONS[name]) - {"map"})
    if unknown:
        raise ParameterError(f"{name} does not use {unknown}; its settings: {', '.join(MAP_OPTIONS[name])}")
    if recipe is None:
        params.setdefault("map", name)
    r = MapRecipe.coerce(recipe, **params)
    if r.map not in names:
        raise ParameterError(f"{name}: the recipe is for map {r.map!r}; run it with nbtools.seccm.make_map(ds, recipe)")
    return r


def _is_json(x):
    return isinstance(x, str) and (x.lstrip().startswith("{") or x.strip().lower().endswith(".json"))


def _map(values, ds, r, name, attrs):
    return pixel_map(values, ds, name, dict(attrs, recipe=r))


def _kargs(ds, r, branch=None, smooth=None):
    """Arrays and codes for the numba kernels (``smooth``: width for the sweep directions)."""
    cur = ds.current.values
    if cur.dtype not in (np.float32, np.float64):
        cur = cur.astype(np.float64)
    # one compiled variant per current dtype: potential and time follow it
    pot = np.ascontiguousarray(ds.potential.values, dtype=cur.dtype)
    pot = pot[None, :] if pot.ndim == 1 else pot
    ns = ds.n_samples.values.astype(np.int64)
    cyc = K.ALL if r.cycle is None else int(r.cycle)
    return cur, pot, ns, max(int(smooth or r.smooth) // 2, 0), _BCODE[branch or r.branch], cyc


def current_at(ds, recipe=None, /, **params):
    """Current at a given potential on one branch of every voltammogram.

    Parameters
    ----------
    ds : xarray.Dataset
        SECCM Dataset.
    recipe : MapRecipe or float, optional
        A map recipe (``map='current_at'``), or the potential in V
        (``current_at(ds, 4.0)``).
    potential : float
        Potential in volts (same reference as ``ds.potential``).
    branch : {'anodic', 'cathodic', 'forward', 'reverse', 'both'}
        Which sweep direction; ``'both'`` averages the anodic and cathodic
        values, which cancels the double-layer charging current.
    cycle : int or None
        Which sweep of the branch (0 first, -1 last); None averages all.
    smooth : int
        Moving-average width (samples) used only to find sweep directions.
    engine : {'numba', 'numpy'}

    Returns
    -------
    xarray.DataArray
        Map (y, x) in amperes; NaN where the sweep never reaches the potential.
    """
    r = map_recipe("current_at", recipe, shortcut="potential", **params)
    validate(ds)
    level = r.potential
    lo, hi = potential_range(ds)
    if not lo <= level <= hi:
        raise ParameterError(
            f"current_at: potential={level:g} V is outside the scan's potentials ({lo:g} to {hi:g} V); "
            "choose a potential inside that range (same reference electrode as the data)")
    attrs = {"units": "A", "long_name": f"current at {level:g} V ({r.branch})", "potential": level,
             "branch": r.branch}
    if r.branch == "both":
        out = (_crossing(ds, r, "anodic") + _crossing(ds, r, "cathodic")) / 2
    else:
        out = _crossing(ds, r, r.branch)
    return _map(out, ds, r, "current", attrs)


def _crossing(ds, r, branch):
    if r.engine == "numpy":
        return ref.current_at(ds, r.potential, branch, r.cycle, r.smooth)
    cur, pot, ns, h, b, cyc = _kargs(ds, r, branch)
    out = np.empty(cur.shape[0])
    K.crossing_kernel(cur, pot, ns, h, b, cyc, r.potential, out)
    return out


def charge(ds, recipe=None, /, **params):
    """Charge passed in a potential (or time) window of every landing.

    Parameters
    ----------
    ds : xarray.Dataset
        SECCM Dataset with ``time`` (s).
    recipe : MapRecipe, optional
        A map recipe (``map='charge'``); keywords override its settings.
    window : (E1, E2), optional
        Potential window in volts, on the chosen ``branch``; default the whole
        sweep. Segments whose midpoint lies in the window are integrated.
    time_window : (t1, t2), optional
        Time window in seconds (from landing start) instead of a potential
        window; ``branch`` is then ignored (for transients).
    branch : {'anodic', 'cathodic', 'forward', 'reverse'}
    cycle : int
        Which sweep of the branch (0 first, -1 last).
    baseline : {'linear', 'none'} or float
        ``'linear'`` subtracts the straight line through the mean currents of
        the ``end_points`` samples at each end of the window (the outermost
        sample skipped), which removes the double-layer charging current of a
        sweep (linear in potential); a float subtracts a constant
        current (A); ``'none'`` integrates the raw current.
    smooth : int
        Moving-average width (samples) used to find sweep directions.
    end_points : int
        Samples averaged at each end of the window for the linear baseline.
    engine : {'numba', 'numpy'}

    Returns
    -------
    xarray.DataArray
        Map (y, x) in coulombs; the anodic charge is positive.

    Examples
    --------
    >>> from nbtools.simulate import seccm_scan
    >>> ds, _ = seccm_scan(6, 5, 200, seed=1)
    >>> q = charge(ds, window=(3.9, 4.3))
    >>> q.attrs["units"], q.attrs["recipe"].window
    ('C', (3.9, 4.3))
    """
    r = map_recipe("charge", recipe, **params)
    validate(ds)
    win = check_scan_window(ds, r.window)
    twin = r.time_window
    if "time" not in ds:
        sw.arrays(ds, need_time=True)  # raises the explanatory error
    if r.engine == "numpy":
        out = ref.charge(ds, win, twin, r.branch, r.cycle, r.baseline, r.smooth, r.end_points)
    else:
        cur, pot, ns, h, b, cyc = _kargs(ds, r)
        tim = np.ascontiguousarray(ds.time.values, dtype=cur.dtype)
        tim = tim[None, :] if tim.ndim == 1 else tim
        mode = 1 if r.baseline == "linear" else (0 if r.baseline == "none" else 2)
        const = float(r.baseline) if mode == 2 else 0.0
        out = np.empty(cur.shape[0])
        K.charge_kernel(cur, pot, tim, ns, h, b, cyc, win is not None, *(win or (0.0, 0.0)), twin is not None,
                        *(twin or (0.0, 0.0)), mode, const, r.end_points, out)
    attrs = {"units": "C", "long_name": "charge", "branch": r.branch if twin is None else "time",
             "baseline": str(r.baseline)}
    if win is not None:
        attrs["window"] = np.array(win)
    if twin is not None:
        attrs["time_window"] = np.array(twin)
    return _map(out, ds, r, "charge", attrs)


def _min_prom(ds, min_prominence):
    if min_prominence is None:
        noise = ds.noise.values if "noise" in ds else quality(ds).noise.values
        return 5.0 * np.nan_to_num(noise, nan=0.0)
    return np.full(ds.sizes["pixel"], float(min_prominence))


def _peak_arrays(ds, r, direction, win, min_prominence):
    if r.engine == "numpy":
        return ref.peak(ds, direction, win, r.cycle, r.smooth, min_prominence)
    cur, pot, ns, h, b, cyc = _kargs(ds, r, direction, smooth=5)  # directions as in the NumPy path
    n = cur.shape[0]
    E, I, P = np.empty(n), np.empty(n), np.empty(n)
    inner = np.empty(n, dtype=bool)
    sign = 1.0 if direction == "anodic" else -1.0
    K.peak_kernel(cur, pot, ns, h, b, cyc, win is not None, *(win or (0.0, 0.0)), r.smooth | 1, sign, E, I, P,
                  inner)
    with np.errstate(invalid="ignore"):
        good = inner & (P > min_prominence)
    return np.where(good, E, np.nan), I, P


def peak(ds, recipe=None, /, **params):
    """Potential, current and height of the anodic or cathodic peak of every landing.

    Parameters
    ----------
    ds : xarray.Dataset
        SECCM Dataset.
    recipe : MapRecipe or str, optional
        A map recipe (``map`` one of 'peak_potential', 'peak_current',
        'peak_prominence'), or the direction (``peak(ds, 'cathodic')``).
    direction : {'anodic', 'cathodic'}
        Anodic: the current maximum on the positive-going sweep; cathodic: the
        minimum on the negative-going sweep.
    window : (E1, E2), optional
        Potential window in volts to search (e.g. around one couple).
    cycle : int
        Which sweep of the branch (0 first, -1 last).
    smooth : int
        Moving-average width in samples before the search (odd; 1 = none).
        The peak is refined with a parabola through three points.
    min_prominence : float, optional
        Minimum height (A) of the peak above the background line; default
        5 x the pixel's noise. The background is the straight line through
        the mean current of a few samples at each end of the branch (or
        window), the outermost skipped: a capacitive (double-layer) branch,
        sloped or not, is flat after subtracting it. The peak is the largest
        value of the background-subtracted current strictly inside the
        branch; below the threshold (a flat or monotonic curve, the end of a
        sloped capacitive branch) the potential is NaN.
    engine : {'numba', 'numpy'}

    Returns
    -------
    xarray.Dataset
        Maps (y, x): ``potential`` (V), ``current`` (A, signed, smoothed raw
        current at the peak), ``prominence`` (A, above the background line);
        each carries the recipe of its own map (``map='peak_current'`` ...).
    """
    r = map_recipe("peak_potential", recipe, shortcut="direction", **params)
    validate(ds)
    win = check_scan_window(ds, r.window)
    E, I, P = _peak_arrays(ds, r, r.direction, win, _min_prom(ds, r.min_prominence))
    d = {"direction": r.direction}
    return xr.Dataset({
        "potential": _map(E, ds, r.replace(map="peak_potential"), "potential",
                          {"units": "V", "long_name": f"{r.direction} peak potential", **d}),
        "current": _map(I, ds, r.replace(map="peak_current"), "current",
                        {"units": "A", "long_name": f"{r.direction} peak current", **d}),
        "prominence": _map(P, ds, r.replace(map="peak_prominence"), "prominence",
                           {"units": "A", "long_name": f"{r.direction} peak height above the background line", **d}),
    }, attrs={"recipe": r})


def peak_separation(ds, recipe=None, /, **params):
    """Anodic minus cathodic peak potential (V) of every landing, as a map.

    ``window`` (E1, E2) restricts both peak searches to one couple; the other
    settings are those of :func:`peak`.
    """
    r = map_recipe("peak_separation", recipe, **params)
    validate(ds)
    win = check_scan_window(ds, r.window)
    mp = _min_prom(ds, r.min_prominence)
    Ea, _, _ = _peak_arrays(ds, r, "anodic", win, mp)
    Ec, _, _ = _peak_arrays(ds, r, "cathodic", win, mp)
    return _map(Ea - Ec, ds, r, "peak_separation", {"units": "V", "long_name": "peak separation Ep,a - Ep,c"})


def onset(ds, recipe=None, /, **params):
    """Potential at which the current first reaches ``onset_current`` on a sweep.

    Parameters
    ----------
    ds : xarray.Dataset
        SECCM Dataset.
    recipe : MapRecipe or float, optional
        A map recipe (``map='onset'``), or the threshold in A
        (``onset(ds, 5e-12)``).
    onset_current : float
        Threshold in amperes. Positive: first sample with i >= it; negative:
        first with i <= it (cathodic onsets).
    branch, cycle, window
        As in :func:`charge`.
    smooth : int
        Moving average (samples) of the current before the comparison.
    engine : {'numba', 'numpy'}

    Returns
    -------
    xarray.DataArray
        Map (y, x) in volts, linearly interpolated; NaN if never reached.
    """
    r = map_recipe("onset", recipe, shortcut="onset_current", **params)
    validate(ds)
    thr = r.onset_current
    win = check_scan_window(ds, r.window)
    if r.engine == "numpy":
        out = ref.onset(ds, thr, r.branch, r.cycle, win, r.smooth)
    else:
        cur, pot, ns, h, b, cyc = _kargs(ds, r)
        out = np.empty(cur.shape[0])
        K.onset_kernel(cur, pot, ns, h, b, cyc, win is not None, *(win or (0.0, 0.0)), r.smooth | 1, thr, out)
    return _map(out, ds, r, "onset", {"units": "V", "long_name": f"onset potential at {thr:g} A",
                                      "branch": r.branch})


def status_map(ds, recipe=None, /):
    """The landing-quality label of every pixel as a map of codes (index into ``STATUS_VALUES``).

    Returns
    -------
    xarray.DataArray
        Map (y, x) of floats: ``STATUS_VALUES.index(status)``; attrs
        ``flag_values`` and ``flag_meanings`` say which code is which.
    """
    r = map_recipe("status", recipe)
    validate(ds)
    code = np.array([STATUS_VALUES.index(s) if s in STATUS_VALUES else len(STATUS_VALUES) - 1
                     for s in ds.status.values], dtype=np.float64)
    return _map(code, ds, r, "status", {"units": "", "long_name": "landing quality",
                                        "flag_values": np.arange(len(STATUS_VALUES)),
                                        "flag_meanings": " ".join(STATUS_VALUES)})


def footprint_area(ds, *, droplet_radius=None, pipette_radius=None, wetting=1.0):
    """Wetted area under each landing (m^2, per pixel): ``pi r_d^2`` of the meniscus footprint radius ``r_d``.

    ``r_d`` comes from, in order: ``droplet_radius`` (m, one value for the scan); the scan's per-pixel variable ``droplet_radius`` (m; measured
    footprints, e.g. from SEM of the landing marks); ``pipette_radius`` (m; else
    ``ds.attrs['pipette_radius']``) times ``wetting`` (the footprint is about as
    wide as the opening: ``wetting`` = 1 by default). The values are checked by
    :class:`~nbtools.seccm.recipe.MapRecipe` (its settings of the same names).

    Returns
    -------
    (numpy.ndarray, str)
        The area of every pixel (m^2) and where the radius came from.
    """
    r = MapRecipe(map="status", droplet_radius=droplet_radius, pipette_radius=pipette_radius, wetting=wetting)
    n = ds.sizes["pixel"]
    if r.droplet_radius is not None:
        rd, source = np.full(n, float(r.droplet_radius)), f"droplet radius {r.droplet_radius:.3g} m (given)"
    elif "droplet_radius" in ds:
        rd = np.asarray(ds["droplet_radius"].values, dtype=float).reshape(n)
        if np.any(rd <= 0):
            raise ParameterError("the scan's droplet_radius has values <= 0 m; footprint radii must be positive (m)")
        source = "the scan's per-pixel droplet_radius"
    else:
        rp = r.pipette_radius if r.pipette_radius is not None else ds.attrs.get("pipette_radius")
        if rp is None:
            raise ParameterError(
                "current_density needs the meniscus footprint: give droplet_radius= (m, the wetted radius on the "
                "sample) or pipette_radius= (m, the opening; the footprint is wetting x that), or store a per-pixel "
                "'droplet_radius' (m) in the scan")
        rp = float(rp)
        if not rp > 0:
            raise ParameterError(f"pipette_radius must be > 0 m, found {rp!r}")
        rd = np.full(n, rp * r.wetting)
        source = f"pipette radius {rp:.3g} m x wetting {r.wetting:g}"
    if np.nanmax(rd) > 1e-3 or np.nanmin(rd) < 1e-9:
        raise ParameterError(f"footprint radius {np.nanmin(rd):.3g} .. {np.nanmax(rd):.3g} m is outside 1 nm .. 1 mm "
                             "(SECCM meniscus): give radii in metres (e.g. 500e-9 for a 500 nm droplet)")
    return np.pi * rd**2, source


def current_density(ds, recipe=None, /, **params):
    """Current per wetted area at a potential: landings of different footprints compared on one scale.

    The current where the sweep crosses ``potential`` (:func:`current_at`, same
    settings) divided by the meniscus footprint area (:func:`footprint_area`).

    Parameters
    ----------
    ds : xarray.Dataset
        SECCM Dataset.
    recipe : MapRecipe or float, optional
        A map recipe (``map='current_density'``), or the potential in V.
    potential, branch, cycle, smooth, engine
        As in :func:`current_at`.
    droplet_radius : float, optional
        Footprint radius (m) for every landing.
    pipette_radius : float, optional
        Pipette opening radius (m); the footprint radius is ``wetting`` x this.
    wetting : float
        Footprint radius over pipette radius (default 1).

    Returns
    -------
    xarray.DataArray
        Map (y, x) in A/m^2; attrs say where the footprint came from (``footprint``) and
        its mean area (``footprint_area_mean``, m^2).

    Examples
    --------
    >>> from nbtools.simulate import seccm_scan
    >>> ds, _ = seccm_scan(6, 5, 200, seed=1)
    >>> j = current_density(ds, 4.0, droplet_radius=1e-6)
    >>> j.attrs["units"]
    'A/m^2'
    """
    r = map_recipe("current_density", recipe, shortcut="potential", **params)
    validate(ds)
    area, source = footprint_area(ds, droplet_radius=r.droplet_radius, pipette_radius=r.pipette_radius,
                                  wetting=r.wetting)
    i = current_at(ds, r.replace(map="current_at", droplet_radius=None, pipette_radius=None, wetting=1.0))
    vals = i.values[ds.iy.values, ds.ix.values] / area
    return _map(vals, ds, r, "current_density",
                {"units": "A/m^2", "long_name": f"current density at {r.potential:g} V ({r.branch})",
                 "potential": r.potential, "branch": r.branch, "footprint": source,
                 "footprint_area_mean": float(np.mean(area))})
