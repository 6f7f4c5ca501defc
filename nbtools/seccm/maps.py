"""Maps of an SECCM scan: one number per landing, placed on the grid (y, x).

Every function works on all pixels at once (NumPy over pixel chunks, no loop
per pixel) and returns DataArrays with dims ``('y', 'x')``, coordinates in
metres and ``units`` in ``attrs``. Maps are computed for every pixel whatever
its ``status``; statistics (:func:`nbtools.seccm.group_stats`,
:func:`nbtools.seccm.classify`) leave failed pixels out.

Branches of a voltammogram: ``'anodic'`` (positive-going sweep),
``'cathodic'`` (negative-going), ``'forward'`` (the direction of the first
sweep), ``'reverse'``; ``cycle`` picks the sweep of that branch when a landing
holds several (0 first, -1 last, None all of them).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import ParameterError
from . import _sweeps as sw
from .dataset import to_grid, validate

__all__ = ["current_at", "charge", "peak", "onset", "peak_separation"]


def _to_map(values, ds, name, attrs):
    da = xr.DataArray(
        values, dims=("pixel",), coords={"pixel": ds.pixel, "ix": ds.ix, "iy": ds.iy}, name=name, attrs=attrs
    )
    return to_grid(da, ds).drop_vars(["ix", "iy", "pixel"], errors="ignore")


def _check_window(window, name="window"):
    if window is None:
        return None
    try:
        a, b = (float(v) for v in window)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}={window!r}: expected (low, high) in volts") from None
    if not (np.isfinite(a) and np.isfinite(b)) or a >= b:
        raise ParameterError(f"{name}={window!r}: expected two finite values with low < high")
    return a, b


def _crossing(cur, pot, sel, level):
    """Mean current where the selected segments cross potential ``level``."""
    e0, e1 = pot[:, :-1], pot[:, 1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        hit = sel & ((e0 - level) * (e1 - level) <= 0) & (e0 != e1)
        f = (level - e0) / (e1 - e0)
        iv = cur[:, :-1] + f * (cur[:, 1:] - cur[:, :-1])
    iv = np.where(hit, iv, 0.0)
    cnt = hit.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, iv.sum(axis=1) / cnt, np.nan)


def current_at(ds, potential, *, branch="anodic", cycle=-1, smooth=5):
    """Current at a given potential on one branch of every voltammogram.

    Parameters
    ----------
    ds : xarray.Dataset
        SECCM Dataset.
    potential : float
        Potential in volts (same reference as ``ds.potential``).
    branch : {'anodic', 'cathodic', 'forward', 'reverse', 'both'}
        Which sweep direction; ``'both'`` averages the anodic and cathodic
        values, which cancels the double-layer charging current.
    cycle : int or None
        Which sweep of the branch (0 first, -1 last); None averages all.
    smooth : int
        Moving-average width (samples) used only to find sweep directions.

    Returns
    -------
    xarray.DataArray
        Map (y, x) in amperes; NaN where the sweep never reaches the potential.
    """
    validate(ds)
    level = float(potential)
    if branch == "both":
        a = current_at(ds, level, branch="anodic", cycle=cycle, smooth=smooth)
        c = current_at(ds, level, branch="cathodic", cycle=cycle, smooth=smooth)
        out = (a + c) / 2
        out.attrs = dict(a.attrs, branch="both")
        return out
    cur, pot = sw.arrays(ds)
    out = np.full(cur.shape[0], np.nan)
    for sl in sw.chunks(*cur.shape):
        c, p = cur[sl].astype(np.float64), pot[sl].astype(np.float64)
        d, start, valid = sw.directions(p, smooth)
        sel = sw.select(d, start, valid, branch, cycle)
        out[sl] = _crossing(c, p, sel, level)
    return _to_map(out, ds, "current", {"units": "A", "long_name": f"current at {level:g} V ({branch})",
                                        "potential": level, "branch": branch})


def charge(ds, window=None, *, time_window=None, branch="anodic", cycle=-1, baseline="linear", smooth=5,
           end_points=15):
    """Charge passed in a potential (or time) window of every landing.

    Parameters
    ----------
    ds : xarray.Dataset
        SECCM Dataset with ``time`` (s).
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

    Returns
    -------
    xarray.DataArray
        Map (y, x) in coulombs; the anodic charge is positive.
    """
    validate(ds)
    win = _check_window(window)
    twin = _check_window(time_window, "time_window")
    if not (baseline in ("linear", "none") or isinstance(baseline, (int, float))):
        raise ParameterError(f"baseline={baseline!r}: expected 'linear', 'none' or a current in A")
    if branch not in sw.BRANCHES:
        raise ParameterError(f"branch={branch!r}: expected one of {sw.BRANCHES}")
    cur, pot, tim = sw.arrays(ds, need_time=True)
    out = np.full(cur.shape[0], np.nan)
    for sl in sw.chunks(*cur.shape):
        c, p, t = (a[sl].astype(np.float64) for a in (cur, pot, tim))
        if twin is not None:
            tm = (t[:, :-1] + t[:, 1:]) / 2
            sel = (tm >= twin[0]) & (tm <= twin[1]) & np.isfinite(c[:, :-1] + c[:, 1:])
            x = t
        else:
            d, start, valid = sw.directions(p, smooth)
            sel = sw.select(d, start, valid, branch, cycle)
            if win is not None:
                pm = (p[:, :-1] + p[:, 1:]) / 2
                sel &= (pm >= win[0]) & (pm <= win[1])
            x = p
        sel &= np.isfinite(c[:, :-1]) & np.isfinite(c[:, 1:]) & np.isfinite(t[:, :-1]) & np.isfinite(t[:, 1:])
        dt = np.diff(t, axis=1)
        cb = c
        if baseline == "linear":
            x0, y0, x1, y1 = _window_ends(sel, x, c, end_points)
            with np.errstate(invalid="ignore", divide="ignore"):
                slope = np.where(x1 != x0, (y1 - y0) / (x1 - x0), 0.0)
            cb = c - (y0[:, None] + slope[:, None] * (x - x0[:, None]))
        elif baseline != "none":
            cb = c - float(baseline)
        seg = (cb[:, :-1] + cb[:, 1:]) / 2 * dt
        q = np.where(sel, seg, 0.0).sum(axis=1)
        q[~sel.any(axis=1)] = np.nan
        out[sl] = q
    attrs = {"units": "C", "long_name": "charge", "branch": branch if twin is None else "time",
             "baseline": str(baseline)}
    if win is not None:
        attrs["window"] = np.array(win)
    if twin is not None:
        attrs["time_window"] = np.array(twin)
    return _to_map(out, ds, "charge", attrs)


def _window_ends(sel, x, c, n_end):
    """Mean (x, current) of the first and last ``n_end`` samples of the selection.

    Only samples inside the selected segments are averaged, and the outermost
    one is skipped, so a vertex (where the capacitive current flips sign) does
    not leak into the ends.
    """
    n_end = max(int(n_end or 1), 1)
    ins = np.zeros(c.shape, bool)
    ins[:, :-1] |= sel
    ins[:, 1:] |= sel
    ins &= np.isfinite(c) & np.isfinite(x)
    rank = np.cumsum(ins, axis=1) - 1
    tot = ins.sum(axis=1)[:, None]
    # skip the outermost sample: at a vertex it already carries the other branch's current
    lo = ins & (rank >= 1) & (rank <= n_end)
    hi = ins & (rank >= tot - 1 - n_end) & (rank <= tot - 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        nl, nh = lo.sum(axis=1), hi.sum(axis=1)
        x0 = np.where(lo, x, 0.0).sum(axis=1) / nl
        y0 = np.where(lo, c, 0.0).sum(axis=1) / nl
        x1 = np.where(hi, x, 0.0).sum(axis=1) / nh
        y1 = np.where(hi, c, 0.0).sum(axis=1) / nh
    return x0, y0, x1, y1


def _peak_arrays(ds, direction, window, cycle, smooth, min_prominence):
    if direction not in ("anodic", "cathodic"):
        raise ParameterError(f"direction={direction!r}: expected 'anodic' or 'cathodic'")
    win = _check_window(window)
    sign = 1.0 if direction == "anodic" else -1.0
    cur, pot = sw.arrays(ds)
    n = cur.shape[0]
    E = np.full(n, np.nan)
    I = np.full(n, np.nan)
    P = np.full(n, np.nan)
    for sl in sw.chunks(*cur.shape):
        c, p = cur[sl].astype(np.float64), pot[sl].astype(np.float64)
        d, start, valid = sw.directions(p, 5)
        sel = sw.select(d, start, valid, direction, cycle)
        # sample k is in the branch when segment k-1 or k is
        ins = np.zeros(c.shape, bool)
        ins[:, :-1] |= sel
        ins[:, 1:] |= sel
        if win is not None:
            ins &= (p >= win[0]) & (p <= win[1])
        cs = sw.moving_average(c, smooth) * sign
        v = np.where(ins & np.isfinite(cs), cs, -np.inf)
        k = np.argmax(v, axis=1)
        rows = np.arange(c.shape[0])
        ok = np.isfinite(v[rows, k])
        km, kp = np.clip(k - 1, 0, None), np.clip(k + 1, None, c.shape[1] - 1)
        inner = ok & (k > 0) & (k < c.shape[1] - 1) & ins[rows, km] & ins[rows, kp]
        y0, y1, y2 = v[rows, km], v[rows, k], v[rows, kp]
        with np.errstate(invalid="ignore", divide="ignore"):
            den = y0 - 2 * y1 + y2
            delta = np.where(inner & (den < 0), 0.5 * (y0 - y2) / den, 0.0)
        delta = np.clip(np.nan_to_num(delta), -0.5, 0.5)
        with np.errstate(invalid="ignore"):
            epk = p[rows, k] + delta * np.where(delta > 0, p[rows, kp] - p[rows, k], p[rows, k] - p[rows, km])
        with np.errstate(invalid="ignore"):
            ipk = np.where(inner, y1 - 0.25 * (y0 - y2) * delta, y1)
        # prominence above the higher end of the window
        first = np.argmax(ins, axis=1)
        last = c.shape[1] - 1 - np.argmax(ins[:, ::-1], axis=1)
        ends = np.maximum(cs[rows, first], cs[rows, last])
        prom = ipk - ends
        good = ok & inner & (prom > min_prominence[sl])
        E[sl] = np.where(good, epk, np.nan)
        I[sl] = np.where(ok, ipk * sign, np.nan)
        P[sl] = np.where(ok, prom, np.nan)
    return E, I, P


def _min_prom(ds, min_prominence):
    if min_prominence is None:
        if "noise" in ds:
            return 5.0 * np.nan_to_num(ds.noise.values, nan=0.0)
        from .quality import noise_level

        cur = ds.current.values
        noise = np.concatenate([noise_level(cur[sl]) for sl in sw.chunks(*cur.shape)])
        return 5.0 * np.nan_to_num(noise, nan=0.0)
    return np.full(ds.sizes["pixel"], float(min_prominence))


def peak(ds, direction="anodic", *, window=None, cycle=-1, smooth=5, min_prominence=None):
    """Potential and current of the anodic or cathodic peak of every landing.

    Parameters
    ----------
    ds : xarray.Dataset
        SECCM Dataset.
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
        Minimum height (A) of the peak above the higher end of the window;
        default 5 x the pixel's noise. Below it (no peak: a flat or
        monotonic curve) the potential is NaN.

    Returns
    -------
    xarray.Dataset
        Maps (y, x): ``potential`` (V), ``current`` (A, signed), ``prominence`` (A).
    """
    validate(ds)
    E, I, P = _peak_arrays(ds, direction, window, cycle, smooth, _min_prom(ds, min_prominence))
    common = {"direction": direction}
    return xr.Dataset(
        {
            "potential": _to_map(E, ds, "potential", {"units": "V", "long_name": f"{direction} peak potential", **common}),
            "current": _to_map(I, ds, "current", {"units": "A", "long_name": f"{direction} peak current", **common}),
            "prominence": _to_map(P, ds, "prominence", {"units": "A", "long_name": "peak height above window ends"}),
        }
    )


def peak_separation(ds, *, window=None, cycle=-1, smooth=5, min_prominence=None):
    """Anodic minus cathodic peak potential (V) of every landing, as a map.

    ``window`` (E1, E2) restricts both peak searches to one couple.
    """
    validate(ds)
    mp = _min_prom(ds, min_prominence)
    Ea, _, _ = _peak_arrays(ds, "anodic", window, cycle, smooth, mp)
    Ec, _, _ = _peak_arrays(ds, "cathodic", window, cycle, smooth, mp)
    return _to_map(Ea - Ec, ds, "peak_separation", {"units": "V", "long_name": "peak separation Ep,a - Ep,c"})


def onset(ds, current, *, branch="anodic", cycle=-1, window=None, smooth=5):
    """Potential at which the current first reaches ``current`` on a sweep.

    Parameters
    ----------
    ds : xarray.Dataset
        SECCM Dataset.
    current : float
        Threshold in amperes. Positive: first sample with i >= current;
        negative: first with i <= current (cathodic onsets).
    branch, cycle, window
        As in :func:`charge`.
    smooth : int
        Moving average (samples) of the current before the comparison.

    Returns
    -------
    xarray.DataArray
        Map (y, x) in volts, linearly interpolated; NaN if never reached.
    """
    validate(ds)
    thr = float(current)
    if not np.isfinite(thr) or thr == 0:
        raise ParameterError(f"current={current!r}: expected a non-zero threshold in amperes")
    win = _check_window(window)
    sign = 1.0 if thr > 0 else -1.0
    cur, pot = sw.arrays(ds)
    out = np.full(cur.shape[0], np.nan)
    for sl in sw.chunks(*cur.shape):
        c, p = cur[sl].astype(np.float64), pot[sl].astype(np.float64)
        d, start, valid = sw.directions(p, smooth)
        sel = sw.select(d, start, valid, branch, cycle)
        if win is not None:
            pm = (p[:, :-1] + p[:, 1:]) / 2
            sel &= (pm >= win[0]) & (pm <= win[1])
        cs = sw.moving_average(c, smooth) * sign
        a0, a1 = cs[:, :-1], cs[:, 1:]
        with np.errstate(invalid="ignore"):
            hit = sel & (a1 >= thr * sign)
        rows = np.arange(c.shape[0])
        k = np.argmax(hit, axis=1)
        found = hit[rows, k]
        y0, y1 = a0[rows, k], a1[rows, k]
        with np.errstate(invalid="ignore", divide="ignore"):
            f = np.where(y0 < thr * sign, (thr * sign - y0) / (y1 - y0), 1.0)
        f = np.clip(np.nan_to_num(f, nan=1.0), 0, 1)
        e = p[rows, k] + f * (p[rows, k + 1] - p[rows, k])
        out[sl] = np.where(found, e, np.nan)
    return _to_map(out, ds, "onset", {"units": "V", "long_name": f"onset potential at {thr:g} A", "branch": branch})
