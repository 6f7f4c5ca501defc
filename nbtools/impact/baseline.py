"""Slow background (offset, drift, charging decay) on decimated data.

The trace is averaged in blocks of ``B`` samples (one fused pass, see
:func:`nbtools.impact._kernels.block_means`); a running median over
``window`` blocks of the block means gives the baseline at the block centres,
linear in between. Blocks that overlap detected events are masked (NaN) and
the median is taken over the remaining blocks, so events do not lift the
baseline; gaps wider than the window are bridged linearly.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

#: blocks per baseline window
BLOCKS_PER_WINDOW = 25


def block_size(window_samples: float) -> int:
    """Block length (samples) for a baseline window of ``window_samples``."""
    return max(1, int(round(window_samples / BLOCKS_PER_WINDOW)))


def running_median(values: np.ndarray, width: int, mask: np.ndarray | None = None) -> np.ndarray:
    """NaN-aware centred running median of ``values`` over ``width`` points.

    ``mask`` (bool) marks points to ignore. Windows with no valid point are
    filled by linear interpolation between valid results (constant at ends).
    """
    v = np.asarray(values, dtype=np.float64).copy()
    if mask is not None:
        v[mask] = np.nan
    n = v.size
    width = max(1, int(width) | 1)  # odd
    h = width // 2
    if width == 1 or n == 1:
        out = v
    else:
        pad = np.concatenate([np.full(h, np.nan), v, np.full(h, np.nan)])
        win = sliding_window_view(pad, width)
        if not np.isnan(v).any() and n > width:
            out = np.empty(n)
            out[h:n - h] = np.median(win[h:n - h], axis=1)
            for i in list(range(h)) + list(range(n - h, n)):
                out[i] = np.nanmedian(win[i])
        else:
            with np.errstate(all="ignore"):
                valid = np.isfinite(win)
                cnt = valid.sum(axis=1)
                out = np.full(n, np.nan)
                ok = cnt > 0
                if ok.any():
                    s = np.sort(np.where(valid, win, np.inf), axis=1)
                    idx = np.arange(n)
                    lo = (cnt - 1) // 2
                    hi = cnt // 2
                    lo = np.clip(lo, 0, width - 1)
                    hi = np.clip(hi, 0, width - 1)
                    med = 0.5 * (s[idx, lo] + s[idx, hi])
                    out[ok] = med[ok]
    bad = ~np.isfinite(out)
    if bad.all():
        finite = np.isfinite(values)
        return np.full(n, float(np.median(values[finite])) if finite.any() else 0.0)
    if bad.any():
        good = np.flatnonzero(~bad)
        out[bad] = np.interp(np.flatnonzero(bad), good, out[good])
    return out


def blocks_of_events(nb: int, B: int, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
    """Boolean mask of the blocks touched by sample ranges ``[ia, ib)``."""
    m = np.zeros(nb + 1, dtype=np.int32)
    if len(ia):
        k0 = np.clip(np.asarray(ia, dtype=np.int64) // B, 0, nb)
        k1 = np.clip((np.asarray(ib, dtype=np.int64) - 1) // B + 1, 0, nb)
        np.add.at(m, k0, 1)
        np.add.at(m, k1, -1)
    return np.cumsum(m)[:nb] > 0
