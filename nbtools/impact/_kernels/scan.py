"""Hysteresis scan and tail merging of event candidates (numba)."""

from __future__ import annotations

import numpy as np
from numba import njit

from .blocks import baseline_at, baseline_segment, fill_base


@njit(cache=True, nogil=True)
def _scan(x, i, j, b0, slope, on_pos, off_pos, on_neg, off_neg, starts, ends, signs,
          count, state, cur_start, lo):
    """Hysteresis over local samples [i, j) with baseline b0 + slope*(ii - lo) (``lo <= i``)."""
    cap = starts.shape[0]
    ii = i
    while ii < j:
        if state == 0:
            up = b0 + on_pos
            dn = b0 - on_neg
            while ii < j:
                d = slope * (ii - lo)
                v = x[ii]
                if v > up + d or v < dn + d:
                    break
                ii += 1
            if ii == j:
                break
            r = x[ii] - (b0 + slope * (ii - lo))
            state = 1 if r > on_pos else -1
            cur_start = ii
            ii += 1
        elif state == 1:
            lim = b0 + off_pos
            while ii < j and x[ii] > lim + slope * (ii - lo):
                ii += 1
            if ii == j:
                break
            if count >= cap:
                return count, state, cur_start, -1
            starts[count] = cur_start
            ends[count] = ii
            signs[count] = 1
            count += 1
            state = 0
            if -(x[ii] - (b0 + slope * (ii - lo))) > on_neg:
                state = -1
                cur_start = ii
            ii += 1
        else:
            lim = b0 - off_neg
            while ii < j and x[ii] < lim + slope * (ii - lo):
                ii += 1
            if ii == j:
                break
            if count >= cap:
                return count, state, cur_start, -1
            starts[count] = cur_start
            ends[count] = ii
            signs[count] = -1
            count += 1
            state = 0
            if x[ii] - (b0 + slope * (ii - lo)) > on_pos:
                state = 1
                cur_start = ii
            ii += 1
    return count, state, cur_start, 0


@njit(cache=True, nogil=True)
def _grid_start(g, B, nb, half):
    """Start of the linear baseline piece holding sample ``g``: the first sample at or after the
    block centre before it (``g`` itself where the baseline is constant)."""
    p = (g - half) / B
    if p < 0.0 or p >= nb - 1:
        return g
    return int(np.ceil(int(p) * B + half))


@njit(cache=True, nogil=True)
def hysteresis(x, i0, i1, offset, B, bvals, on_pos, off_pos, on_neg, off_neg,
               starts, ends, signs, state0, mins=None, maxs=None):
    """Hysteresis detection on the residual ``x - baseline``.

    Samples ``x[i0:i1]`` are scanned; global sample index = local + ``offset``
    (used for the baseline). An event opens when the residual exceeds
    ``on_pos`` (or falls below ``-on_neg``) and closes at the first sample back
    within ``off_pos`` (``-off_neg``). Set ``on_pos``/``on_neg`` to ``inf`` to
    disable a polarity. ``state0`` is the sign of an event open at ``i0``
    (0: none, the scan then starts idle). ``mins``/``maxs`` (per sub-block,
    from :func:`block_stats`) let the scan skip, while idle, whole sub-blocks
    in which no sample can cross the threshold (the result is the same).

    Returns ``(count, stop, state)``: events found (local indices, end
    exclusive; an event still open at ``i1`` gets ``end = i1``), the local
    index where the scan stopped (``i1`` unless the output arrays filled up,
    in which case it stopped idle at the start of the event that did not
    fit), and the sign of the event open at ``i1`` (0 if none).
    """
    nb = bvals.shape[0]
    half = (B - 1) / 2.0
    skip = mins is not None and maxs is not None
    nsub = mins.shape[0] // nb if skip else 1
    S = (B + nsub - 1) // nsub
    count = 0
    state = state0
    cur_start = i0
    i = i0
    while i < i1:
        g = i + offset
        kb = g // B
        js = (g - kb * B) // S
        sub_a = kb * B + js * S
        sub_b = min(sub_a + S, (kb + 1) * B)
        # idle and the whole sub-block is inside the band: skip it (the
        # baseline is linear in it but for the block centre, a knot)
        if skip and state == 0 and g == sub_a:
            e_g = min(sub_b, offset + i1)
            bl = baseline_at(g, B, bvals)
            bc = baseline_at(min(max(kb * B + half, g), e_g - 1), B, bvals)
            br = baseline_at(e_g - 1, B, bvals)
            bmin = min(bl, bc, br)
            bmax = max(bl, bc, br)
            q = kb * nsub + js
            if maxs[q] - bmin <= on_pos and bmax - mins[q] <= on_neg:
                i = e_g - offset
                continue
        # one linear baseline segment [i, j): base(ii) = b0 + slope * (ii - gs), anchored at the
        # segment's grid start gs <= g (a knot or sub-block boundary), so that the baseline's
        # rounding does not depend on where a scan started (chunks, pieces, restarts)
        gs = _grid_start(g, B, nb, half)
        if skip:
            gs = max(gs, sub_a)
        j_glob, b0, slope = baseline_segment(gs, offset + i1, B, bvals)
        if skip:
            # stop at the next sub-block boundary so idle ones can be skipped
            j_glob = min(j_glob, sub_b)
        j = min(i1, j_glob - offset)
        count, state, cur_start, full = _scan(x, i, j, b0, slope, on_pos, off_pos, on_neg, off_neg,
                                              starts, ends, signs, count, state, cur_start, gs - offset)
        if full:
            return count, cur_start, 0
        i = j
    if state != 0:
        if count >= starts.shape[0]:
            return count, cur_start, 0
        starts[count] = cur_start
        ends[count] = i1
        signs[count] = state
        count += 1
    return count, i1, state


@njit(cache=True, nogil=True)
def merge_tails(starts, ends, signs, peaks, ipeaks, decays, heights, level, off, keep, changed):
    """Merge candidates rising out of the previous event's decaying tail.

    Event k joins the last kept event j when they have the same sign and k
    would not reach the detection ``level`` (A) without j's tail: its height
    above the slow baseline (``heights``) minus j's exponential decay from
    j's height at k's peak is below ``level``. The decay constant is j's
    fitted one (``decays[j]``, samples), at most twice the one its fall from
    its height to the lower level ``off`` (A) took (a fit on a short stretch
    can run long; the fall bounds it).
    Without a decay for j (NaN): when k starts within
    ``max(2, 2 * (end_j - ipeak_j))`` samples of j's end and
    ``|peak_k| < 0.5 |peak_j|``. Writes kept indices into ``keep`` and the
    output positions of extended events into ``changed``; modifies ``ends``
    of kept events in place. Returns ``(n_keep, n_changed, n_merged)``.
    """
    n = starts.shape[0]
    if n == 0:
        return 0, 0, 0
    nk = 1
    keep[0] = 0
    nch = 0
    merged = 0
    j = 0
    end_j = ends[0]
    tau = _merge_decay(decays[0], ends[0] - ipeaks[0], heights[0], off)
    for k in range(1, n):
        same = signs[k] == signs[j]
        if tau > 0.0:
            tail = abs(heights[j]) * np.exp(-(ipeaks[k] - ipeaks[j]) / tau)
            join = same and abs(heights[k]) - tail < level
        else:
            join = (same and starts[k] - end_j <= max(2, 2 * (end_j - ipeaks[j]))
                    and abs(peaks[k]) < 0.5 * abs(peaks[j]))
        if join:
            if ends[k] > end_j:
                end_j = ends[k]
            ends[j] = end_j
            merged += 1
            if nch == 0 or changed[nch - 1] != nk - 1:
                changed[nch] = nk - 1
                nch += 1
        else:
            keep[nk] = k
            nk += 1
            j = k
            end_j = ends[k]
            tau = _merge_decay(decays[k], ends[k] - ipeaks[k], heights[k], off)
    return nk, nch, merged


@njit(cache=True, nogil=True)
def _merge_decay(fitted, fall, height, off):
    """The decay constant (samples) whose tail merge_tails extrapolates: the fitted one, at most
    twice that of the fall from ``height`` to ``off`` in ``fall`` samples; NaN without a fit."""
    if not fitted > 0.0:
        return np.nan
    ratio = abs(height) / off if off > 0.0 else 2.0
    return min(fitted, 2.0 * max(fall, 1) / np.log(max(ratio, 2.0)))


@njit(cache=True, nogil=True)
def event_heights(x, offset, B, bvals, starts, ends, signs, idx, out):
    """``out[k]``: the height of event ``idx[k]`` above the baseline (signed extreme of the residual
    over ``[starts, ends)``; 0 for an empty event). ``x`` holds samples ``offset ..`` and covers them."""
    buf = np.empty(1024, np.float64)
    for k in range(idx.shape[0]):
        e = idx[k]
        a = starts[e]
        b = ends[e]
        if b <= a:
            out[k] = 0.0
            continue
        if buf.shape[0] < b - a:
            buf = np.empty(2 * (b - a), np.float64)
        fill_base(a, b, B, bvals, buf)
        sg = np.float64(signs[e])
        best = -np.inf
        for g in range(a, b):
            r = sg * (np.float64(x[g - offset]) - buf[g - a])
            if r > best:
                best = r
        out[k] = sg * best
