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


def _directions(ds, p, smooth):
    """Sweep directions of a chunk; computed once when the waveform is shared."""
    if ds.potential.ndim == 1:
        d, start, valid = sw.directions(ds.potential.values[None, :], smooth)
        shape = (p.shape[0], d.shape[1])
        return np.broadcast_to(d, shape), np.broadcast_to(start, shape), np.broadcast_to(valid, shape)
    return sw.directions(p, smooth)


_BCODE = {"anodic": 1, "cathodic": -1, "forward": 2, "reverse": -2}
ENGINES = ("numba", "numpy")


def _kargs(ds, branch, cycle, smooth):
    """Arrays and codes for the numba kernels."""
    if branch not in _BCODE:
        raise ParameterError(f"branch={branch!r}: expected one of {sw.BRANCHES}")
    if cycle is not None and not isinstance(cycle, (int, np.integer)):
        raise ParameterError(f"cycle={cycle!r}: expected an integer (0 first sweep of the branch, -1 last) or None (all)")
    from . import _kernels as K

    cur = ds.current.values
    if cur.dtype not in (np.float32, np.float64):
        cur = cur.astype(np.float64)
    # one compiled variant per current dtype: potential and time follow it
    pot = np.ascontiguousarray(ds.potential.values, dtype=cur.dtype)
    pot = pot[None, :] if pot.ndim == 1 else pot
    ns = ds.n_samples.values.astype(np.int64)
    cyc = K.ALL if cycle is None else int(cycle)
    return K, cur, pot, ns, max(int(smooth or 1) // 2, 0), _BCODE[branch], cyc


def _engine(engine):
    if engine not in ENGINES:
        raise ParameterError(f"engine={engine!r}: expected one of {ENGINES}")
    return engine


def _potential_range(ds):
    """(min, max) of the scan's potentials in V, NaN-safe."""
    e = np.asarray(ds["potential"].values, dtype=float)
    return float(np.nanmin(e)), float(np.nanmax(e))


def _check_window(window, name="window", ds=None):
    """Validate a (low, high) window; with ``ds``, a potential window must overlap the scan."""
    if window is None:
        return None
    unit = "s" if name == "time_window" else "volts"
    try:
        a, b = (float(v) for v in window)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}={window!r}: expected (low, high) in {unit}") from None
    if not (np.isfinite(a) and np.isfinite(b)) or a >= b:
        raise ParameterError(f"{name}={window!r}: expected two finite values with low < high")
    if ds is not None and name != "time_window":
        lo, hi = _potential_range(ds)
        if b <= lo or a >= hi:
            raise ParameterError(
                f"{name}=({a:g}, {b:g}) V does not overlap the scan's potentials ({lo:g} to {hi:g} V); "
                "choose a window inside that range (same reference electrode as the data)")
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


def current_at(ds, potential, *, branch="anodic", cycle=-1, smooth=5, engine="numba"):
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
    lo, hi = _potential_range(ds)
    if not lo <= level <= hi:
        raise ParameterError(
            f"current_at: potential={level:g} V is outside the scan's potentials ({lo:g} to {hi:g} V); "
            "choose a potential inside that range (same reference electrode as the data)")
    if branch == "both":
        a = current_at(ds, level, branch="anodic", cycle=cycle, smooth=smooth, engine=engine)
        c = current_at(ds, level, branch="cathodic", cycle=cycle, smooth=smooth, engine=engine)
        out = (a + c) / 2
        out.attrs = dict(a.attrs, branch="both")
        return out
    if _engine(engine) == "numba":
        K, cur, pot, ns, h, b, cyc = _kargs(ds, branch, cycle, smooth)
        out = np.empty(cur.shape[0])
        K.crossing_kernel(cur, pot, ns, h, b, cyc, level, out)
    else:
        cur, pot = sw.arrays(ds)
        out = np.full(cur.shape[0], np.nan)
        for sl in sw.chunks(*cur.shape):
            c, p = cur[sl], pot[sl]
            d, start, valid = _directions(ds, p, smooth)
            sel = sw.select(d, start, valid, branch, cycle)
            out[sl] = _crossing(c, p, sel, level)
    return _to_map(out, ds, "current", {"units": "A", "long_name": f"current at {level:g} V ({branch})",
                                        "potential": level, "branch": branch})


def charge(ds, window=None, *, time_window=None, branch="anodic", cycle=-1, baseline="linear", smooth=5,
           end_points=15, engine="numba"):
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
    win = _check_window(window, ds=ds)
    twin = _check_window(time_window, "time_window")
    if not (baseline in ("linear", "none") or isinstance(baseline, (int, float))):
        raise ParameterError(f"baseline={baseline!r}: expected 'linear', 'none' or a current in A")
    if branch not in sw.BRANCHES:
        raise ParameterError(f"branch={branch!r}: expected one of {sw.BRANCHES}")
    if _engine(engine) == "numba":
        K, cur, pot, ns, h, b, cyc = _kargs(ds, branch, cycle, smooth)
        if "time" not in ds:
            sw.arrays(ds, need_time=True)  # raises the explanatory error
        tim = np.ascontiguousarray(ds.time.values, dtype=cur.dtype)
        tim = tim[None, :] if tim.ndim == 1 else tim
        mode = 1 if baseline == "linear" else (0 if baseline == "none" else 2)
        const = float(baseline) if mode == 2 else 0.0
        out = np.empty(cur.shape[0])
        K.charge_kernel(cur, pot, tim, ns, h, b, cyc, win is not None, *(win or (0.0, 0.0)), twin is not None,
                        *(twin or (0.0, 0.0)), mode, const, max(int(end_points), 1), out)
        return _to_map(out, ds, "charge", _charge_attrs(branch, twin, baseline, win))
    cur, pot, tim = sw.arrays(ds, need_time=True)
    out = np.full(cur.shape[0], np.nan)
    for sl in sw.chunks(*cur.shape):
        c, p, t = cur[sl], pot[sl], tim[sl]
        if twin is not None:
            tm = (t[:, :-1] + t[:, 1:]) / 2
            sel = (tm >= twin[0]) & (tm <= twin[1]) & np.isfinite(c[:, :-1] + c[:, 1:])
            x = t
        else:
            d, start, valid = _directions(ds, p, smooth)
            sel = sw.select(d, start, valid, branch, cycle)
            if win is not None:
                pm = (p[:, :-1] + p[:, 1:]) / 2
                sel &= (pm >= win[0]) & (pm <= win[1])
            x = p
        fin = np.isfinite(c) & np.isfinite(t)
        sel &= fin[:, :-1] & fin[:, 1:]
        dt = np.diff(t, axis=1)
        cb = c
        if baseline == "linear":
            x0, y0, x1, y1 = _window_ends(sel, x, c, end_points)
            with np.errstate(invalid="ignore", divide="ignore"):
                slope = np.where(x1 != x0, (y1 - y0) / (x1 - x0), 0.0)
            ft = c.dtype.type
            cb = c - (y0.astype(ft)[:, None] + slope.astype(ft)[:, None] * (x - x0.astype(ft)[:, None]))
        elif baseline != "none":
            cb = c - float(baseline)
        seg = (cb[:, :-1] + cb[:, 1:]) * (0.5 * dt)
        q = np.where(sel, seg, 0).sum(axis=1, dtype=np.float64)
        q[~sel.any(axis=1)] = np.nan
        out[sl] = q
    return _to_map(out, ds, "charge", _charge_attrs(branch, twin, baseline, win))


def _charge_attrs(branch, twin, baseline, win):
    attrs = {"units": "C", "long_name": "charge", "branch": branch if twin is None else "time",
             "baseline": str(baseline)}
    if win is not None:
        attrs["window"] = np.array(win)
    if twin is not None:
        attrs["time_window"] = np.array(twin)
    return attrs


def _window_ends(sel, x, c, n_end):
    """Mean (x, current) of ``n_end`` samples at each end of the selection.

    The selection is taken from its first to its last selected segment; the
    outermost sample at each end is skipped, so a vertex (where the capacitive
    current flips sign) does not leak into the ends.
    """
    n_end = max(int(n_end or 1), 1)
    first, last = sw.first_last(sel)
    s0, s1 = first, last + 1  # first and last sample of the selection
    j = np.arange(1, n_end + 1)
    lo = s0[:, None] + j[None, :]
    hi = s1[:, None] - j[None, :]
    ok_lo = (lo < s1[:, None]) & (first[:, None] >= 0)
    ok_hi = (hi > s0[:, None]) & (first[:, None] >= 0)
    # very short selections: fall back to the end samples themselves
    ok_lo[:, 0] |= first >= 0
    ok_hi[:, 0] |= first >= 0
    lo = np.where(ok_lo, lo, np.maximum(s0, 0)[:, None])
    hi = np.where(ok_hi, hi, np.maximum(s1, 0)[:, None])

    def mean(a, idx, ok):
        v = np.take_along_axis(a, np.clip(idx, 0, a.shape[1] - 1), axis=1).astype(np.float64)
        ok = ok & np.isfinite(v)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(ok, v, 0.0).sum(axis=1) / ok.sum(axis=1)

    return mean(x, lo, ok_lo), mean(c, lo, ok_lo), mean(x, hi, ok_hi), mean(c, hi, ok_hi)


def _peak_arrays(ds, direction, window, cycle, smooth, min_prominence, engine="numba"):
    if direction not in ("anodic", "cathodic"):
        raise ParameterError(f"direction={direction!r}: expected 'anodic' or 'cathodic'")
    win = _check_window(window, ds=ds)
    sign = 1.0 if direction == "anodic" else -1.0
    if _engine(engine) == "numba":
        K, cur, pot, ns, h, b, cyc = _kargs(ds, direction, cycle, 5)
        n = cur.shape[0]
        E, I, P = np.empty(n), np.empty(n), np.empty(n)
        inner = np.empty(n, dtype=bool)
        w = int(smooth or 1) | 1
        K.peak_kernel(cur, pot, ns, h, b, cyc, win is not None, *(win or (0.0, 0.0)), w, sign, E, I, P, inner)
        with np.errstate(invalid="ignore"):
            good = inner & (P > min_prominence)
        return np.where(good, E, np.nan), I, P
    cur, pot = sw.arrays(ds)
    n = cur.shape[0]
    E = np.full(n, np.nan)
    I = np.full(n, np.nan)
    P = np.full(n, np.nan)
    for sl in sw.chunks(*cur.shape):
        c, p = cur[sl], pot[sl]
        d, start, valid = _directions(ds, p, 5)
        sel = sw.select(d, start, valid, direction, cycle)
        # sample k is in the branch when segment k-1 or k is
        ins = np.zeros(c.shape, bool)
        ins[:, :-1] |= sel
        ins[:, 1:] |= sel
        if win is not None:
            ins &= (p >= win[0]) & (p <= win[1])
        cs = sw.moving_average(c, smooth) * sign
        rows = np.arange(c.shape[0])
        M = c.shape[1]
        first = np.argmax(ins, axis=1)
        last = M - 1 - np.argmax(ins[:, ::-1], axis=1)
        has = ins.any(axis=1)
        # background line through the mean raw (E, i) of ne samples at each end, outermost skipped
        ne = np.clip((last - first) // 8, 1, 5)
        j = np.arange(1, 6)
        use = j[None, :] <= ne[:, None]
        ka = np.minimum(first[:, None] + j[None, :], last[:, None])
        kz = np.maximum(last[:, None] - j[None, :], first[:, None])

        def end_mean(a, kk):
            v = np.take_along_axis(a, kk, axis=1).astype(np.float64)
            okk = use & np.isfinite(v) & np.isfinite(np.take_along_axis(c, kk, axis=1))
            okk &= np.isfinite(np.take_along_axis(p, kk, axis=1))
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(okk, v, 0.0).sum(axis=1) / okk.sum(axis=1)

        x0, y0 = end_mean(p, ka), end_mean(c, ka) * sign
        x1, y1e = end_mean(p, kz), end_mean(c, kz) * sign
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = np.where(x1 != x0, (y1e - y0) / (x1 - x0), 0.0)
            r = cs - (y0[:, None] + slope[:, None] * (p - x0[:, None]))
        kidx = np.arange(M)[None, :]
        cand = ins & (kidx > first[:, None]) & (kidx < last[:, None]) & has[:, None]
        v = np.where(cand & np.isfinite(r), r, -np.inf)
        k = np.argmax(v, axis=1)
        ok = np.isfinite(v[rows, k])
        km, kp = np.clip(k - 1, 0, None), np.clip(k + 1, None, M - 1)
        inner = ok & ins[rows, km] & ins[rows, kp]
        r0, r1, r2 = r[rows, km], r[rows, k], r[rows, kp]
        with np.errstate(invalid="ignore", divide="ignore"):
            den = r0 - 2 * r1 + r2
            delta = np.where(inner & (den < 0), 0.5 * (r0 - r2) / den, 0.0)
        delta = np.clip(np.nan_to_num(delta), -0.5, 0.5)
        with np.errstate(invalid="ignore"):
            epk = p[rows, k] + delta * np.where(delta > 0, p[rows, kp] - p[rows, k], p[rows, k] - p[rows, km])
            prom = np.where(inner, r1 - 0.25 * (r0 - r2) * delta, r1)
            ipk = np.where(inner, cs[rows, k] - 0.25 * (cs[rows, km] - cs[rows, kp]) * delta, cs[rows, k])
        good = ok & inner & (prom > min_prominence[sl])
        E[sl] = np.where(good, epk, np.nan)
        I[sl] = np.where(ok, ipk * sign, np.nan)
        P[sl] = np.where(ok, prom, np.nan)
    return E, I, P


def _min_prom(ds, min_prominence):
    if min_prominence is None:
        if "noise" in ds:
            return 5.0 * np.nan_to_num(ds.noise.values, nan=0.0)
        from .quality import quality

        return 5.0 * np.nan_to_num(quality(ds).noise.values, nan=0.0)
    return np.full(ds.sizes["pixel"], float(min_prominence))


def peak(ds, direction="anodic", *, window=None, cycle=-1, smooth=5, min_prominence=None, engine="numba"):
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
        Minimum height (A) of the peak above the background line; default
        5 x the pixel's noise. The background is the straight line through
        the mean current of a few samples at each end of the branch (or
        window), the outermost skipped: a capacitive (double-layer) branch,
        sloped or not, is flat after subtracting it. The peak is the largest
        value of the background-subtracted current strictly inside the
        branch; below the threshold (a flat or monotonic curve, the end of a
        sloped capacitive branch) the potential is NaN.

    Returns
    -------
    xarray.Dataset
        Maps (y, x): ``potential`` (V), ``current`` (A, signed, smoothed raw
        current at the peak), ``prominence`` (A, above the background line).
    """
    validate(ds)
    E, I, P = _peak_arrays(ds, direction, window, cycle, smooth, _min_prom(ds, min_prominence), engine)
    common = {"direction": direction}
    return xr.Dataset(
        {
            "potential": _to_map(E, ds, "potential", {"units": "V", "long_name": f"{direction} peak potential", **common}),
            "current": _to_map(I, ds, "current", {"units": "A", "long_name": f"{direction} peak current", **common}),
            "prominence": _to_map(P, ds, "prominence", {"units": "A", "long_name": "peak height above the background line"}),
        }
    )


def peak_separation(ds, *, window=None, cycle=-1, smooth=5, min_prominence=None, engine="numba"):
    """Anodic minus cathodic peak potential (V) of every landing, as a map.

    ``window`` (E1, E2) restricts both peak searches to one couple.
    """
    validate(ds)
    mp = _min_prom(ds, min_prominence)
    Ea, _, _ = _peak_arrays(ds, "anodic", window, cycle, smooth, mp, engine)
    Ec, _, _ = _peak_arrays(ds, "cathodic", window, cycle, smooth, mp, engine)
    return _to_map(Ea - Ec, ds, "peak_separation", {"units": "V", "long_name": "peak separation Ep,a - Ep,c"})


def onset(ds, current, *, branch="anodic", cycle=-1, window=None, smooth=5, engine="numba"):
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
    win = _check_window(window, ds=ds)
    sign = 1.0 if thr > 0 else -1.0
    if _engine(engine) == "numba":
        K, cur, pot, ns, h, b, cyc = _kargs(ds, branch, cycle, smooth)
        out = np.empty(cur.shape[0])
        K.onset_kernel(cur, pot, ns, h, b, cyc, win is not None, *(win or (0.0, 0.0)), int(smooth or 1) | 1, thr, out)
        return _to_map(out, ds, "onset", {"units": "V", "long_name": f"onset potential at {thr:g} A",
                                          "branch": branch})
    cur, pot = sw.arrays(ds)
    out = np.full(cur.shape[0], np.nan)
    for sl in sw.chunks(*cur.shape):
        c, p = cur[sl], pot[sl]
        d, start, valid = _directions(ds, p, smooth)
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
