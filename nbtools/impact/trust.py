"""How far to trust the detections: false-event rate and injection-recovery."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats as _st

from ..errors import NbtoolsWarning, ParameterError
from ..trace import Trace
from .blank import BlankCounter
from .detect import find_events, prepare
from .inject import inject_events
from .noise import rice_rate
from .recipe import EventRecipe, recipe_of
from .stats import impact_frequency

__all__ = ["false_event_rate", "injection_recovery", "detection_limit"]


def detection_limit(x, efficiency, level=0.9) -> float:
    """Smallest ``x`` (charge, radius ...; log-interpolated) at which ``efficiency`` reaches ``level``;
    NaN if never.

    Examples
    --------
    >>> round(detection_limit([1, 10], [0.0, 1.0], 0.5), 4)
    3.1623
    """
    x = np.asarray(x, float)
    e = np.asarray(efficiency, float)
    order = np.argsort(x)
    x, e = x[order], e[order]
    above = np.flatnonzero(e >= level)
    if above.size == 0:
        return float("nan")
    j = above[0]
    if j == 0:
        return float(x[0])
    e0, e1 = e[j - 1], e[j]
    f = (level - e0) / (e1 - e0) if e1 > e0 else 1.0
    return float(10 ** (np.log10(x[j - 1]) + f * (np.log10(x[j]) - np.log10(x[j - 1]))))


def false_event_rate(blank, events=None, *, recipe=None, fs=None, conf=0.95, **params):
    """False events per second in a blank recording, at the recording's threshold.

    Recommended call: ``false_event_rate(blank, events)`` with ``events`` the
    :func:`find_events` result of the recording. The threshold is the
    recording's (from its own noise); the blank only says how many false
    events it lets through (:class:`~nbtools.impact.blank.BlankCounter`): a
    blank whose noise matches the recording's (SD and bandwidth within 30 %)
    is searched with the recording's noise and threshold, i.e. the same
    threshold in amperes (``attrs['threshold_A']``); a blank whose noise does
    not match (another gain, filter or electrode) is searched at the same
    threshold in units of its own noise, and ``at`` and ``note`` say so.
    Without ``events`` the blank is analysed with ``recipe`` and ``**params``
    (its own noise, e.g. ``threshold=6``).

    Two estimates: (1) empirical: the blank's count over its unmasked time,
    with the exact Poisson (Garwood) interval; (2) Rice's formula for Gaussian
    noise, ``n_pol * nu_0 * exp(-u^2/2)``, with ``nu_0`` the blank's measured
    mean-level up-crossing rate (Hz) and ``u`` the threshold in the blank's
    own noise SDs. Real noise has more large excursions than Gaussian noise:
    the count is the rate to trust (:func:`~nbtools.impact.false_event_text`
    says both in words).

    An :class:`~nbtools.errors.NbtoolsWarning` is raised when the
    recording's events show that its noise is not Gaussian
    (``events.attrs['noise_model_check']``).

    Parameters
    ----------
    blank : Trace, array or DataFrame
        Blank recording (same electrode, no particles); without ``events``
        also the result of ``find_events`` on it.
    events : DataFrame, optional
        ``find_events`` result of the recording (its recipe, noise and
        threshold are used).
    recipe : EventRecipe, optional
        Without ``events``: the settings to detect with.
    fs : float, optional
        Sampling rate (Hz) of a plain-array blank.
    conf : float
        Confidence level of the interval.
    **params
        :class:`~nbtools.impact.EventRecipe` settings: without ``events``
        those to detect with (``threshold``, ``noise`` ...); with ``events``
        other settings that override the recording's (e.g. ``chunk_size``).

    Returns
    -------
    dict
        ``empirical_per_s``, ``empirical_low``, ``empirical_high`` (1/s),
        ``count``, ``duration`` (s), ``rice_per_s``, ``per_sample`` (Rice),
        ``threshold`` (SD of ``noise``), ``threshold_A`` (A), ``noise`` (A, used
        for detection), ``bandwidth`` (Hz, the blank's), ``blank_noise`` (A,
        the blank's own SD), ``rice_threshold`` (threshold in the blank's own
        SDs); with ``events`` also ``recording_noise``,
        ``recording_bandwidth``, ``matched`` (the blank's noise matches the
        recording's), ``at`` ('recording threshold' or "blank's own noise"),
        ``note`` (how it was searched, in words) and ``mismatch`` (what
        differs, or None); without: ``at`` 'blank threshold'.

    Examples
    --------
    >>> from nbtools.simulate import impact_trace
    >>> from nbtools.impact import find_events, false_event_rate
    >>> tr, _ = impact_trace(duration=2.0, fs=20e3, rate=5.0, seed=1)
    >>> blank, _ = impact_trace(duration=2.0, fs=20e3, rate=0.0, seed=2)
    >>> ev = find_events(tr)
    >>> fr = false_event_rate(blank, ev)
    >>> fr["threshold_A"] == ev.attrs["threshold_A"], fr["matched"]
    (True, True)
    """
    if events is not None:
        if not isinstance(events, pd.DataFrame) or "params" not in getattr(events, "attrs", {}):
            raise ParameterError(
                f"events must be the find_events result of the recording (a DataFrame with attrs), found "
                f"{type(events).__name__}; give a plain array's sampling rate as fs=...")
        if isinstance(blank, pd.DataFrame):
            raise ParameterError(
                "with events, blank must be the blank recording (Trace or array), not a table: it is "
                "searched again at the recording's threshold")
        if recipe is not None or "threshold" in params or "noise" in params:
            raise ParameterError(
                "give either events (the recording's noise and threshold are used) or recipe=/threshold=/noise=, "
                "not both")
        ra = events.attrs
        r = recipe_of(events).replace(**{"chunk_size": None, "blank": None, **params})
        counter = BlankCounter(blank, r, ra.get("noise_estimate", ra["noise"]),
                               ra.get("noise_bandwidth_estimate", ra.get("noise_bandwidth", np.nan)), prepare, fs=fs)
        out = counter.rate(float(ra["threshold"]), conf=conf)
        _warn_noise_model(events, "The blank's count at the recording's threshold is the measured rate.")
        return out
    df = blank if isinstance(blank, pd.DataFrame) else find_events(blank, EventRecipe.coerce(recipe, **params), fs=fs)
    a = df.attrs
    th_A = float(a["threshold_A"])
    own = float(a.get("noise_estimate", a["noise"]))
    bw = float(a.get("noise_bandwidth", np.nan))
    u = th_A / own
    rice = rice_rate(bw, u, recipe_of(df).n_polarities)
    f = impact_frequency(df, conf=conf)
    return dict(rice_per_s=float(rice), per_sample=float(rice / a["fs"]), empirical_per_s=f["frequency"],
                empirical_low=f["low"], empirical_high=f["high"], count=f["count"], duration=f["duration"],
                threshold=float(a["threshold"]), threshold_A=th_A, noise=float(a["noise"]), bandwidth=bw,
                blank_noise=own, rice_threshold=float(u), at="blank threshold")


def injection_recovery(trace, charges, fs=None, *, recipe=None, n_per_charge=20, shape="exp", tau="auto",
                       inject_polarity="positive", material=None, conversion=1.0, efficiency_level=0.9,
                       seed=0, conf=0.95, progress=None, **params):
    """Detection efficiency against charge, by injecting transients into the
    user's own recording and running :func:`find_events` on it.

    Parameters
    ----------
    trace : Trace or array
        The recording whose noise and baseline are the test bed.
    charges : sequence of float
        Charge magnitudes (C, > 0) to test; the sign of the injected
        transients is ``inject_polarity`` (a negative charge is an error, not
        silently flipped).
    n_per_charge : int
        Events injected per charge (one run of find_events per charge). They
        are placed at least 15 ``tau`` apart, away from the recording's own
        events and rejected candidates (their integration range plus a
        quarter of it and 3 ``tau``) and from masked time, so a real event is never counted
        as a recovered injection.
    recipe : EventRecipe, optional
        The detection settings (those of the analysis); ``**params`` override them.
    shape, tau
        Of the injected transients (:func:`nbtools.impact.inject_events`).
    inject_polarity : {'positive', 'negative'}
        Sign of the injected transients (anodic positive). The detection
        polarity is the recipe's ``polarity``.
    material, conversion
        If given, a ``radius`` column (m) is added.
    efficiency_level : float
        The detection limit is the smallest charge (log-interpolated) whose
        efficiency reaches this level.
    progress : callable, optional
        Called as ``progress(done, total)`` after each charge (e.g. to move a
        progress bar); ``total`` is the number of charges.
    **params
        :class:`~nbtools.impact.EventRecipe` settings (use those of the
        analysis, including ``polarity``).

    An injection is recovered by a detected event of its sign whose
    ``[t_start, t_end]`` holds the injected peak time (nearest ``t_peak``
    first, each detection matched once).

    Returns
    -------
    pandas.DataFrame
        ``charge``, ``n_injected``, ``n_recovered``, ``efficiency``, ``low``,
        ``high`` (Clopper-Pearson), ``charge_ratio`` (median detected/injected),
        ``radius`` (if material). ``attrs``: ``detection_limit`` (C, NaN if
        never reached), ``detection_limit_radius`` (m), ``recipe``, ``params``.
    """
    if not isinstance(trace, Trace):
        if fs is None:
            raise ParameterError("fs (Hz) is required when trace is a plain array")
        trace = Trace(np.asarray(trace), fs=fs)
    q = np.atleast_1d(np.asarray(charges, dtype=float))
    if q.size == 0 or np.any(~np.isfinite(q)) or np.any(q <= 0):
        raise ParameterError(
            f"charges must be positive finite magnitudes in C, found {charges!r}; the sign of the injected "
            "transients is inject_polarity='positive' or 'negative'")
    n_per_charge = int(n_per_charge)
    if n_per_charge < 1:
        raise ParameterError(f"n_per_charge must be >= 1, found {n_per_charge!r}")
    if inject_polarity not in ("positive", "negative"):
        raise ParameterError(f"inject_polarity must be 'positive' or 'negative', found {inject_polarity!r}")
    if progress is not None and not callable(progress):
        raise ParameterError(f"progress must be a callable progress(done, total) or None, found {progress!r}")
    rows = []
    recipe = EventRecipe.coerce(recipe, **params)
    base = find_events(trace, recipe)
    _warn_noise_model(base, "Detections of the injections are counted; false events are not: check them with a "
                      "blank.")
    fs_ = trace.fs
    tau_s = max(1e-3, 10.0 / fs_) if tau == "auto" else float(tau)
    for k, qq in enumerate(q):
        rng = np.random.default_rng(None if seed is None else seed + k)
        t_start = _injection_times(base, len(trace), fs_, tau_s, n_per_charge, rng)
        sign = 1.0 if inject_polarity == "positive" else -1.0
        plan = pd.DataFrame({"charge": np.full(n_per_charge, sign * qq), "t_start": t_start})
        tr2, truth = inject_events(trace, plan, shape=shape, tau=tau_s)
        det = find_events(tr2, recipe)
        hit = _match(det, truth["t_peak"].to_numpy(), sign)
        rec = int((hit >= 0).sum())
        ratios = det["charge"].to_numpy()[hit[hit >= 0]] / truth["charge"].to_numpy()[hit >= 0]
        a = 1 - conf
        lo = _st.beta.ppf(a / 2, rec, n_per_charge - rec + 1) if rec > 0 else 0.0
        hi = _st.beta.ppf(1 - a / 2, rec + 1, n_per_charge - rec) if rec < n_per_charge else 1.0
        rows.append(dict(charge=qq, n_injected=n_per_charge, n_recovered=rec, efficiency=rec / n_per_charge,
                         low=float(lo), high=float(hi),
                         charge_ratio=float(np.median(ratios)) if ratios.size else np.nan))
        if progress is not None:
            progress(k + 1, q.size)
    df = pd.DataFrame(rows).sort_values("charge").reset_index(drop=True)
    lim = detection_limit(df["charge"], df["efficiency"], efficiency_level)
    if material is not None:
        from .sizing import charge_to_radius

        df["radius"] = charge_to_radius(df["charge"].to_numpy(), material, conversion)
    df.attrs.update(detection_limit=lim, efficiency_level=efficiency_level,
                    noise=base.attrs["noise"], threshold_A=base.attrs["threshold_A"],
                    recipe=base.attrs["recipe"], params=base.attrs["params"],
                    detection_limit_radius=(float(charge_to_radius(lim, material, conversion))
                                            if material is not None and np.isfinite(lim) else np.nan))
    return df


def _injection_times(base, n, fs, tau, count, rng):
    """``count`` start times (s from the trace start) for injected transients:
    one per slot of 15 tau, in slots clear of the recording's events,
    rejected candidates and masked time."""
    tmpl = int(math.ceil(12 * tau * fs)) + 42  # template length of inject_events (with a filter)
    G = max(int(math.ceil(15 * tau * fs)), tmpl + 1)
    lo, hi = [], []
    t0 = float(base.attrs.get("t0", 0.0))
    for tab in (base, base.attrs.get("rejected")):
        if tab is None or not len(tab) or "i_int_start" not in tab:
            continue
        a = np.minimum(tab["i_int_start"].to_numpy(np.int64), tab["i_start"].to_numpy(np.int64))
        b = np.maximum(tab["i_int_end"].to_numpy(np.int64), tab["i_end"].to_numpy(np.int64))
        d = (b - a) // 4 + int(math.ceil(3 * tau * fs))  # tails below the lower level
        lo.append(a - d)
        hi.append(b + d)
    for ta, tb in base.attrs.get("masked", []):
        lo.append(np.array([int(math.floor((ta - t0) * fs))]))
        hi.append(np.array([int(math.ceil((tb - t0) * fs)) + 1]))
    slots = np.arange(max(0, (n - tmpl) // G), dtype=np.int64)
    if lo:
        lo, hi = np.concatenate(lo), np.concatenate(hi)
        o = np.argsort(lo, kind="stable")
        lo, reach = lo[o], np.maximum.accumulate(hi[o])
        j = np.searchsorted(lo, (slots + 1) * G, side="left") - 1  # last interval starting before the slot end
        busy = (j >= 0) & (reach[np.maximum(j, 0)] > slots * G)
        slots = slots[~busy]
    if slots.size < count:
        raise ParameterError(
            f"only {slots.size} injections {15 * tau:g} s apart fit in this {n / fs:g} s recording away from its "
            f"{len(base)} events and masked time; lower n_per_charge (found {count}) or tau, or use a longer "
            "recording")
    pick = np.sort(rng.choice(slots, count, replace=False))
    return (pick * G + rng.uniform(0, G - tmpl, count)) / fs


def _match(det, t_peak, sign):
    """Index of the detected event recovering each injected peak (-1: missed):
    same sign, ``t_start - 2/fs <= t_peak <= t_end``, nearest peak time first,
    each detection used once."""
    out = np.full(t_peak.size, -1, np.int64)
    if not len(det):
        return out
    fs = float(det.attrs.get("fs", np.inf))
    ts, te, tp = (det[c].to_numpy(float) for c in ("t_start", "t_end", "t_peak"))
    ok_sign = np.sign(det["peak"].to_numpy(float)) == sign
    used = np.zeros(len(det), bool)
    for i, t in enumerate(t_peak):
        cand = np.flatnonzero(ok_sign & ~used & (ts - 2 / fs <= t) & (te >= t))
        if cand.size:
            c = cand[np.argmin(np.abs(tp[cand] - t))]
            out[i] = c
            used[c] = True
    return out


def _warn_noise_model(events, note):
    """NbtoolsWarning with ``attrs['noise_model_check']`` when it failed."""
    chk = events.attrs.get("noise_model_check") or {}
    if chk.get("ok") is False:
        warnings.warn(chk["message"] + ". " + note, NbtoolsWarning, stacklevel=3)
