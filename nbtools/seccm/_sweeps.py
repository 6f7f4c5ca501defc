"""Vectorised helpers: chunking over pixels and sweep segmentation of CVs.

A curve of n samples has n-1 *segments* (sample k to k+1). Each segment has a
direction (+1 positive-going = anodic, -1 negative-going = cathodic) taken from
the lightly smoothed potential, and a sweep number (0, 1, ...) that increases
at every reversal.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from .dataset import pixel_arrays

BRANCHES = ("anodic", "cathodic", "forward", "reverse")


def chunks(n, m, max_elems=2_000_000):
    step = max(1, max_elems // max(m, 1))
    for i in range(0, n, step):
        yield slice(i, min(n, i + step))


def arrays(ds, need_time=False):
    names = ("current", "potential", "time") if need_time else ("current", "potential")
    return pixel_arrays(ds, *names)


def moving_average(a, w):
    """Centred moving average along axis 1 (NaN-aware), odd window w."""
    if w is None or w <= 1:
        return a
    w = int(w) | 1
    h = w // 2
    fin = np.isfinite(a)
    v = np.where(fin, a, 0.0)
    pad = ((0, 0), (h + 1, h))
    S = np.cumsum(np.pad(v, pad), axis=1)
    C = np.cumsum(np.pad(fin.astype(np.float64), pad), axis=1)
    s = S[:, w:] - S[:, :-w]
    c = C[:, w:] - C[:, :-w]
    with np.errstate(all="ignore"):
        out = s / c
    out[~fin] = np.nan
    return out


def directions(pot, smooth=5):
    """Direction (+1/-1, int8), sweep-start flag and validity of every segment."""
    ps = moving_average(np.asarray(pot, dtype=np.float64), smooth)
    dE = np.diff(ps, axis=1)
    d = np.sign(np.nan_to_num(dE, nan=0.0)).astype(np.int8)
    n, m1 = d.shape
    if m1 == 0:
        return d, np.zeros(d.shape, bool), np.zeros(d.shape, bool)
    idx = np.where(d != 0, np.arange(m1)[None, :], 0)
    np.maximum.accumulate(idx, axis=1, out=idx)
    d = np.take_along_axis(d, idx, axis=1)
    # leading zeros take the first direction
    first_nz = np.argmax(d != 0, axis=1)
    first = d[np.arange(n), first_nz]
    d = np.where(d == 0, first[:, None], d)
    start = np.ones_like(d, dtype=bool)
    start[:, 1:] = d[:, 1:] != d[:, :-1]
    valid = np.isfinite(dE)
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
    rank = np.cumsum(bs, axis=1) - 1
    total = bs.sum(axis=1)
    target = cycle if cycle >= 0 else total[:, None] + cycle
    return on & (rank == target)


def first_last(sel):
    """Index of the first and last True segment per row (-1 when none)."""
    n, m1 = sel.shape
    anyv = sel.any(axis=1)
    first = np.where(anyv, np.argmax(sel, axis=1), -1)
    last = np.where(anyv, m1 - 1 - np.argmax(sel[:, ::-1], axis=1), -1)
    return first, last
