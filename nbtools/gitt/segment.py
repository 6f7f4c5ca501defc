"""Split a galvanostatic record into current pulses and rests, from the current's own levels.

No absolute threshold: the two levels (rest, pulse) are separated by Otsu's
method on |I| (the split that maximises the between-level variance), and the
split is accepted only when the levels are far apart compared with their own
spread. Runs shorter than ``min_samples`` (switching glitches) join their
neighbour.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError, ParameterError

__all__ = ["segment_pulses", "current_levels"]


def _otsu(a, bins=512):
    hist, edges = np.histogram(a, bins=bins)
    centres = 0.5 * (edges[1:] + edges[:-1])
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centres)
    mt = m0[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = w0 * w1 * (m0 / w0 - (mt - m0) / w1) ** 2
    between[~np.isfinite(between)] = -1
    return float(edges[int(np.argmax(between)) + 1])


def current_levels(i):
    """Threshold between rest and pulse currents (A) and the separation of the two levels.

    Returns
    -------
    dict
        ``threshold`` (A, on |I|), ``rest_level`` and ``pulse_level`` (median |I|
        of each class), ``rest_spread`` (16-84 % range of the rest currents),
        ``separation`` (gap between the rest level and the lowest pulse currents,
        in rest spreads; > 5 is a clean record).
    """
    a = np.abs(np.asarray(i, dtype=float))
    a = a[np.isfinite(a)]
    if a.size < 4 or np.ptp(a) == 0:
        raise DataError("the current has a single level: no pulses and rests to separate "
                        f"(|I| between {a.min() if a.size else np.nan:.3g} and {a.max() if a.size else np.nan:.3g} A)")
    thr = _otsu(a)
    lo, hi = a[a < thr], a[a >= thr]
    if lo.size == 0 or hi.size == 0:
        raise DataError("the current does not split into a rest level and a pulse level")
    # the lowest pulse currents against the rest level and its spread (pulses may come at several levels)
    spread = float(np.percentile(lo, 84) - np.percentile(lo, 16))
    gap = float(np.percentile(hi, 10) - np.median(lo))
    sep = gap / spread if spread > 0 else (np.inf if gap > 0 else 0.0)
    return {"threshold": thr, "rest_level": float(np.median(lo)), "pulse_level": float(np.median(hi)),
            "rest_spread": spread, "separation": float(sep)}


def _trapezoid(y, x):
    return float(np.sum(0.5 * (y[1:] + y[:-1]) * np.diff(x))) if y.size > 1 else 0.0


def _constant_pieces(i, a, b, sign, min_samples, rel_tol=0.05, merge_tol=0.10):
    """Split a run of current into constant-current pieces; a current that keeps changing becomes 'other' (2).

    A piece holds while |I| stays within ``rel_tol`` of its own starting level (or 4 noise SDs, whichever is
    larger; up to ``min_samples - 1`` stray samples). Adjacent pieces whose levels differ by less than
    ``merge_tol`` are one drifting segment (a constant-voltage hold, a ramp), and so is a piece shorter than
    ``2 max(min_samples, 3)`` samples between two level changes: kind 'other'.
    """
    c = np.abs(i[a:b])
    n = c.size
    d = np.diff(c)
    noise = 1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(2) if d.size > 2 else 0.0
    out, j = [], 0
    while j < n:
        m = min(max(min_samples, 3), n - j)
        ref = float(np.median(c[j:j + m]))
        tol = max(rel_tol * ref, 4 * noise)
        k, miss = j + m, 0
        while k < n:
            if abs(c[k] - ref) <= tol:
                miss = 0
            else:
                miss += 1
                if miss >= min_samples:
                    k -= miss - 1
                    break
            k += 1
        k = min(k, n)
        out.append([j, k, float(np.median(c[j:k]))])
        j = k
    if len(out) == 1:
        return [(a, b, sign)]
    groups = [[out[0]]]
    for p in out[1:]:
        prev = groups[-1][-1][2]
        if abs(p[2] - prev) <= merge_tol * max(p[2], prev):
            groups[-1].append(p)
        else:
            groups.append([p])
    # a drifting group, or a short piece between level changes, is not a galvanostatic pulse
    short = 2 * max(min_samples, 3)
    res = []
    for g in groups:
        kind = sign if len(g) == 1 and g[0][1] - g[0][0] >= short else 2
        if res and kind == 2 and res[-1][2] == 2:
            res[-1] = (res[-1][0], a + g[-1][1], 2)
        else:
            res.append((a + g[0][0], a + g[-1][1], kind))
    return res


def segment_pulses(t, i, *, min_samples=3, min_separation=5.0):
    """Pulses and rests of a galvanostatic record.

    Parameters
    ----------
    t : array_like
        Time (s), increasing.
    i : array_like
        Current (A), anodic positive.
    min_samples : int
        Shorter runs are switching glitches and join the run before them.
    min_separation : float
        Smallest accepted gap between the rest and pulse levels, in units of
        their spread (:func:`current_levels`).

    Returns
    -------
    pandas.DataFrame
        One row per segment: ``kind`` ('pulse', 'rest', or 'other' for a current
        that keeps changing: a constant-voltage hold, a ramp), ``start``/``stop``
        (sample indices, stop exclusive), ``t_start`` (time of the sample before
        the segment, when the switch happened; the first sample for the first
        segment), ``t_end``, ``duration`` (s), ``current`` (mean A), ``charge``
        (C, current x duration), ``n`` (samples). ``attrs['levels']`` holds
        :func:`current_levels`.

    Raises
    ------
    DataError
        One current level only, levels not separated, or no pulse.

    Examples
    --------
    >>> import numpy as np
    >>> from nbtools.gitt import segment_pulses
    >>> i = np.r_[np.zeros(10), np.full(5, 1e-9), np.zeros(10)]
    >>> segment_pulses(np.arange(25.0), i)["kind"].tolist()
    ['rest', 'pulse', 'rest']
    """
    t = np.asarray(t, dtype=float)
    i = np.asarray(i, dtype=float)
    if t.shape != i.shape or t.ndim != 1:
        raise ParameterError(f"t and i must be 1-D arrays of one length, got shapes {t.shape} and {i.shape}")
    if t.size < 10:
        raise DataError(f"a GITT record needs at least 10 samples, got {t.size}")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(i))):
        raise DataError("t or i holds NaN/inf values; drop those rows first")
    if np.any(np.diff(t) <= 0):
        k = int(np.argmax(np.diff(t) <= 0))
        raise DataError(f"time must increase; it does not at sample {k + 1} (t = {t[k]:.6g} -> {t[k + 1]:.6g} s)")
    min_samples = int(min_samples)
    if min_samples < 1:
        raise ParameterError(f"min_samples must be >= 1, got {min_samples!r}")
    lv = current_levels(i)
    if lv["separation"] < min_separation:
        raise DataError(
            f"the current does not separate into rests and pulses: levels {lv['rest_level']:.3g} and "
            f"{lv['pulse_level']:.3g} A differ by only {lv['separation']:.2g}x their spread (need "
            f">= {min_separation:g}); is this a galvanostatic pulse record?")
    on = np.abs(i) >= lv["threshold"]
    state = np.where(on, np.sign(i), 0).astype(int)
    # runs
    edges = np.flatnonzero(np.diff(state)) + 1
    starts = np.r_[0, edges]
    stops = np.r_[edges, state.size]
    runs = [[a, b, state[a]] for a, b in zip(starts, stops)]
    merged = []
    for a, b, s in runs:
        if merged and (b - a < min_samples or merged[-1][2] == s):
            merged[-1][1] = b
        else:
            merged.append([a, b, s])
    # a short first run joins the next
    if len(merged) > 1 and merged[0][1] - merged[0][0] < min_samples:
        merged[1][0] = merged[0][0]
        merged.pop(0)
    pieces = []
    quiet = max(3 * lv["rest_spread"], 0.01 * lv["pulse_level"]) + lv["rest_level"]
    for a, b, s in merged:
        if s != 0:
            pieces += _constant_pieces(i, a, b, s, min_samples)
            continue
        loud = np.abs(i[a:b]) > quiet
        k = int(np.argmin(loud)) if not loud.all() else b - a  # first quiet sample
        if k >= min_samples or (k > 0 and pieces and pieces[-1][2] == 2):
            if pieces and pieces[-1][2] == 2:
                pieces[-1] = (pieces[-1][0], a + k, 2)
            else:
                pieces.append((a, a + k, 2))
            if a + k < b:
                pieces.append((a + k, b, 0))
        else:
            pieces.append((a, b, 0))
    merged = pieces
    rows = []
    for a, b, s in merged:
        t0 = t[a - 1] if a > 0 else t[a]
        cur = float(np.mean(i[a:b]))
        dur = float(t[b - 1] - t0)
        kind = "rest" if s == 0 else ("other" if s == 2 else "pulse")
        if s == 2:
            s = int(np.sign(cur))
        rows.append({"kind": kind, "start": int(a), "stop": int(b), "t_start": float(t0),
                     "t_end": float(t[b - 1]), "duration": dur, "current": cur,
                     "charge": _trapezoid(i[max(a - 1, 0):b], t[max(a - 1, 0):b]) if kind == "other" else
                     (cur * dur if s != 0 else 0.0), "n": int(b - a)})
    seg = pd.DataFrame(rows)
    if not (seg["kind"] == "pulse").any():
        raise DataError("no current pulse found in the record")
    seg.attrs["levels"] = lv
    return seg
