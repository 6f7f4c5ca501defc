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
        of each class), ``separation`` (level gap over the summed spreads; > 5
        is a clean two-level record).
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
    spread = (np.percentile(lo, 84) - np.percentile(lo, 16) + np.percentile(hi, 84) - np.percentile(hi, 16)) / 2
    gap = float(np.median(hi) - np.median(lo))
    sep = gap / spread if spread > 0 else np.inf
    return {"threshold": thr, "rest_level": float(np.median(lo)), "pulse_level": float(np.median(hi)),
            "separation": float(sep)}


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
        One row per segment: ``kind`` ('pulse' or 'rest'), ``start``/``stop``
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
    rows = []
    for a, b, s in merged:
        t0 = t[a - 1] if a > 0 else t[a]
        cur = float(np.mean(i[a:b]))
        dur = float(t[b - 1] - t0)
        rows.append({"kind": "pulse" if s != 0 else "rest", "start": int(a), "stop": int(b), "t_start": float(t0),
                     "t_end": float(t[b - 1]), "duration": dur, "current": cur,
                     "charge": cur * dur if s != 0 else 0.0, "n": int(b - a)})
    seg = pd.DataFrame(rows)
    if not (seg["kind"] == "pulse").any():
        raise DataError("no current pulse found in the record")
    seg.attrs["levels"] = lv
    return seg
