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
from scipy.ndimage import median_filter

from ._kernels.blocks import edge_medians

#: blocks per baseline window
BLOCKS_PER_WINDOW = 50


def block_size(window_samples: float) -> int:
    """Block length (samples) for a baseline window of ``window_samples``."""
    return max(1, int(round(window_samples / BLOCKS_PER_WINDOW)))


def running_median(values: np.ndarray, width: int, mask: np.ndarray | None = None) -> np.ndarray:
    """Centred running median of ``values`` over ``width`` points.

    ``mask`` (bool) marks points to ignore: they are replaced by linear
    interpolation between the valid neighbours before the median. Near the
    ends the window shrinks symmetrically (unbiased on monotone trends).
    NaN values are ignored.
    """
    v = np.asarray(values, dtype=np.float64).copy()
    if mask is not None and mask.any() and not mask.all():
        # masked points are bridged linearly first, so a steep trend is not
        # biased by windows that lose points on one side only
        good = np.flatnonzero(~mask)
        v[mask] = np.interp(np.flatnonzero(mask), good, v[good])
    n = v.size
    width = max(1, int(width) | 1)  # odd
    h = width // 2
    if width == 1 or n == 1:
        out = v
    else:
        pad = np.concatenate([np.full(h, np.nan), v, np.full(h, np.nan)])
        win = sliding_window_view(pad, width)
        with np.errstate(all="ignore"):
            if not np.isnan(v).any() and n > width:
                # interior via ndimage (no n x width copy); edges fixed below
                out = median_filter(v, size=width, mode="nearest")
            else:
                valid = np.isfinite(win)
                cnt = valid.sum(axis=1)
                out = np.full(n, np.nan)
                ok = cnt > 0
                if ok.any():
                    srt = np.sort(np.where(valid, win, np.inf), axis=1)
                    idx = np.arange(n)
                    lo = np.clip((cnt - 1) // 2, 0, width - 1)
                    hi = np.clip(cnt // 2, 0, width - 1)
                    med = 0.5 * (srt[idx, lo] + srt[idx, hi])
                    out[ok] = med[ok]
            # edges: shrinking windows kept symmetric about the point, so a
            # monotone trend (charging decay, drift) is followed without bias
            edges = np.empty(n)
            edge_medians(v, h, edges)
            at = np.r_[0:min(h, n), max(n - h, h):n]
            fill = np.isfinite(edges[at]) | ~np.isfinite(out[at])  # no finite value: NaN (bridged below)
            out[at[fill]] = edges[at[fill]]
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
