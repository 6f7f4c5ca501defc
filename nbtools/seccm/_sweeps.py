"""Vectorised helpers: chunking over pixels and sweep segmentation of CVs.

A curve of n samples has n-1 *segments* (sample k to k+1). Each segment has a
direction (+1 positive-going = anodic, -1 negative-going = cathodic) taken from
the lightly smoothed potential, and a sweep number (0, 1, ...) that increases
at every reversal.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from .layout import pixel_arrays

BRANCHES = ("anodic", "cathodic", "forward", "reverse")


def chunks(n, m, max_elems=2_000_000):
    step = max(1, max_elems // max(m, 1))
    for i in range(0, n, step):
        yield slice(i, min(n, i + step))


def arrays(ds, need_time=False):
    names = ("current", "potential", "time") if need_time else ("current", "potential")
    return pixel_arrays(ds, *names)


def moving_average(a, w):
    """Centred moving average along axis 1 of odd width w (edges kept raw).

    NaN spreads over the w-wide neighbourhood; the edges (w // 2 samples)
    keep their raw values.
    """
    if w is None or w <= 1:
        return a
    w = int(w) | 1
    h = w // 2
    m = a.shape[1]
    if m <= w:
        return a
    out = a.copy()
    acc = a[:, : m - w + 1].copy()
    for j in range(1, w):  # w shifted adds, not a loop over pixels
        acc += a[:, j : m - w + 1 + j]
    acc *= 1.0 / w
    out[:, h : m - h] = acc
    # keep raw values where the neighbourhood touches NaN padding
    bad = ~np.isfinite(out) & np.isfinite(a)
    if bad.any():
        out[bad] = a[bad]
    return out


def directions(pot, smooth=5):
    """Direction (+1/-1, int8), sweep-start flag and validity of every segment.

    The direction of segment k (sample k to k+1) is the sign of the potential
    change across ``smooth`` samples centred on it, which ignores readback
    noise; a segment without change takes the previous direction.
    """
    p = np.asarray(pot)
    n, m = p.shape
    if m < 2:
        z = np.zeros((n, 0), bool)
        return z.astype(np.int8), z, z
    h = max(int(smooth or 1) // 2, 0)
    k = np.arange(m - 1)
    hi = np.minimum(k + 1 + h, m - 1)
    lo = np.maximum(k - h, 0)
    D = p[:, hi] - p[:, lo]
    valid = np.isfinite(p[:, 1:]) & np.isfinite(p[:, :-1])
    # near the end of a NaN-padded curve the wide difference is NaN: use the plain one
    nan = ~np.isfinite(D) & valid
    if nan.any():
        D[nan] = (p[:, 1:] - p[:, :-1])[nan]
    d = (D > 0).astype(np.int8)
    d -= (D < 0)
    zero = (d == 0) & valid
    if zero.any():
        rows = np.flatnonzero(zero.any(axis=1))
        dd = d[rows]
        idx = np.where(dd != 0, k[None, :].astype(np.int32), 0).astype(np.int32)
        np.maximum.accumulate(idx, axis=1, out=idx)
        dd = np.take_along_axis(dd, idx, axis=1)
        first_nz = np.argmax(dd != 0, axis=1)
        first = dd[np.arange(len(rows)), first_nz]
        dd = np.where(dd == 0, first[:, None], dd).astype(np.int8)
        d[rows] = dd
    start = np.ones_like(d, dtype=bool)
    start[:, 1:] = d[:, 1:] != d[:, :-1]
    return d, start, valid


def select(d, start, valid, branch, cycle):
    """Mask (n, m-1) of the segments of the chosen branch and cycle."""
    if branch == "anodic":
        on = d == 1
    elif branch == "cathodic":
        on = d == -1
    elif branch == "forward":
        on = d == d[:, :1]
    elif branch == "reverse":
        on = d == -d[:, :1]
    else:
        raise ParameterError(f"branch={branch!r}: expected one of {BRANCHES}")
    on &= valid
    if cycle is None:
        return on
    if not isinstance(cycle, (int, np.integer)):
        raise ParameterError(f"cycle={cycle!r}: expected an integer (0 first sweep of the branch, -1 last) or None (all)")
    bs = start & on
    total = bs.sum(axis=1)
    if total.max(initial=0) <= 1:  # one sweep of this branch per curve: nothing to choose
        return on if cycle in (0, -1) else np.zeros_like(on)
    rank = np.cumsum(bs, axis=1, dtype=np.int16) - 1
    target = cycle if cycle >= 0 else total[:, None] + cycle
    return on & (rank == target)


def first_last(sel):
    """Index of the first and last True segment per row (-1 when none)."""
    n, m1 = sel.shape
    anyv = sel.any(axis=1)
    first = np.where(anyv, np.argmax(sel, axis=1), -1)
    last = np.where(anyv, m1 - 1 - np.argmax(sel[:, ::-1], axis=1), -1)
    return first, last
