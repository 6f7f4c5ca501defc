"""Impact statistics: frequency with Poisson intervals, collision frequency, histograms."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as _st

from ..errors import ParameterError
from .auto import OPPOSITE_SIGN
from .noise import rice_rate
from .recipe import recipe_of

__all__ = ["masked_time", "observed_time", "impact_frequency", "noise_model_check", "frequency_over_time",
           "collision_frequency", "concentration_from_frequency", "stokes_einstein", "histogram", "AVOGADRO",
           "BOLTZMANN"]

AVOGADRO = 6.02214076e23
BOLTZMANN = 1.380649e-23


def _count(events):
    if isinstance(events, pd.DataFrame):
        return len(events)
    if np.ndim(events) == 0:
        return int(events)
    return len(events)


def masked_time(events) -> float:
    """Seconds of the recording left out of the detection (``attrs['masked']`` spans)."""
    return float(sum(b - a for a, b in getattr(events, "attrs", {}).get("masked", [])))


def observed_time(events) -> float:
    """Seconds in which events could be found: the duration minus the masked spans (at least one sample)."""
    a = events.attrs
    return max(float(a["duration"]) - masked_time(events), 1.0 / float(a["fs"]))


def impact_frequency(events, duration=None, conf=0.95):
    """Impact frequency (1/s) with the exact Poisson (Garwood) interval.

    Parameters
    ----------
    events : DataFrame, sequence or int
        Detected events (or their count).
    duration : float, optional
        Observation time (s); default ``events.attrs['duration']`` minus the
        masked time.
    conf : float
        Confidence level of the two-sided interval.

    Returns
    -------
    dict
        ``frequency``, ``low``, ``high`` (1/s), ``count``, ``duration``, ``conf``.
    """
    n = _count(events)
    if duration is None:
        attrs = getattr(events, "attrs", {})
        if "duration" not in attrs:
            raise ParameterError("duration (s) is required unless events come from find_events")
        duration = attrs["duration"] - masked_time(events)
    duration = float(duration)
    if not duration > 0:
        raise ParameterError(f"duration must be a positive time in s, found {duration!r}")
    if not 0 < conf < 1:
        raise ParameterError(f"conf must be in (0, 1), found {conf!r}")
    a = 1 - conf
    lo = 0.0 if n == 0 else _st.chi2.ppf(a / 2, 2 * n) / 2
    hi = _st.chi2.ppf(1 - a / 2, 2 * n + 2) / 2
    return dict(frequency=n / duration, low=float(lo) / duration, high=float(hi) / duration, count=n,
                duration=duration, conf=conf)


def noise_model_check(events, *, p_alarm=1e-3, min_count=3):
    """Does the recording's noise follow the Gaussian model behind
    ``attrs['expected_false_per_s']``? An empirical check from the events
    themselves.

    With ``polarity='both'``, the events of the minority sign (with
    ``polarity='auto'``: the rejected candidates of the other sign) are compared
    with the false events Gaussian noise of the measured bandwidth gives at
    the threshold for that sign (Rice: ``nu_0 exp(-u^2/2)`` per second of
    unmasked time). Many more than that (Poisson p < ``p_alarm`` and at
    least ``min_count``) means that either the particles give both signs, or
    the noise has heavy tails (spikes, pickup, switching) and the
    expected false-event rate is too optimistic: count false events with a
    blank (:func:`nbtools.impact.false_event_rate`).

    Parameters
    ----------
    events : DataFrame
        A spike :func:`~nbtools.impact.find_events` result.

    Returns
    -------
    dict
        ``ok`` (True, False, or None when not checked), ``opposite_polarity_count``
        (events of the minority sign), ``minority`` ('positive'/'negative'),
        ``expected`` (Gaussian false events of one sign), ``p_value``,
        ``message``.
    """
    a = events.attrs
    pol = recipe_of(events).polarity if ("recipe" in a or "params" in a) else None
    out = dict(ok=None, opposite_polarity_count=None, minority=None, expected=np.nan, p_value=np.nan)
    rej = a.get("rejected")
    opposite = None
    if rej is not None and len(rej) and "reason" in rej:
        opposite = rej["reason"].astype(str).str.startswith(OPPOSITE_SIGN)
    auto_sign = opposite is not None and bool(opposite.any()) or "polarity" in (a.get("decisions") or {})
    if (pol != "both" and not auto_sign) or "noise_bandwidth" not in a:
        out["message"] = (f"not checked (polarity={pol!r}): detect with polarity 'auto' or 'both' to count "
                          "events of the opposite sign")
        return out
    if pol == "both":
        sgn = np.sign(events["peak"].to_numpy(float)) if len(events) else np.empty(0)
        n_pos, n_neg = int((sgn > 0).sum()), int((sgn < 0).sum())
        minority, n = ("negative", n_neg) if n_neg <= n_pos else ("positive", n_pos)
    else:  # polarity 'auto': the other sign's candidates are among the rejected
        minority = "negative" if pol == "positive" else "positive"
        n = int(opposite.sum()) if opposite is not None else 0
    T = a["duration"] - masked_time(events)
    mu = float(rice_rate(float(a["noise_bandwidth"]), float(a["threshold"]), 1)) * max(T, 0.0)
    pv = float(_st.poisson.sf(n - 1, mu)) if n > 0 else 1.0
    ok = not (n >= min_count and pv < p_alarm)
    if n < min_count:
        msg = (f"{n} {minority} events (the minority sign): too few to test the Gaussian noise model, which "
               f"expects {mu:.2g} at this threshold")
    elif ok:
        msg = (f"{n} {minority} events (the minority sign), consistent with the {mu:.2g} that Gaussian noise "
               "gives at this threshold")
    else:
        msg = (f"noise is not Gaussian: {n} {minority} events (the minority sign) where the Gaussian noise model "
               f"expects {mu:.2g} at this threshold (Poisson p = {pv:.1e}). Unless the particles give both signs, "
               "these are noise excursions and attrs['expected_false_per_s'] "
               f"({float(a.get('expected_false_per_s', np.nan)):.2g}/s) underestimates the false events: "
               "use a blank, false_event_rate(blank, events)")
    out.update(ok=bool(ok), opposite_polarity_count=n, minority=minority, expected=float(mu), p_value=pv,
               message=msg)
    return out


def frequency_over_time(events, bin=10.0, duration=None, conf=0.95):
    """Events per second in consecutive time bins (s) with Garwood intervals.

    Returns a DataFrame with ``t_start``, ``t_end``, ``count``, ``frequency``,
    ``low``, ``high``.
    """
    if not bin > 0:
        raise ParameterError(f"bin must be a positive time in s, found {bin!r}")
    if duration is None:
        duration = getattr(events, "attrs", {}).get("duration")
        if duration is None:
            duration = float(events["t_peak"].max()) if len(events) else bin
    edges = np.arange(0.0, duration + bin, bin)
    edges[-1] = min(edges[-1], max(duration, edges[-2] + 1e-12)) if edges.size > 1 else bin
    t = events["t_peak"].to_numpy(float) if len(events) else np.empty(0)
    cnt, _ = np.histogram(t, edges)
    w = np.diff(edges)
    a = 1 - conf
    lo = np.where(cnt > 0, _st.chi2.ppf(a / 2, 2 * np.maximum(cnt, 1)) / 2, 0.0)
    hi = _st.chi2.ppf(1 - a / 2, 2 * cnt + 2) / 2
    return pd.DataFrame({"t_start": edges[:-1], "t_end": edges[1:], "count": cnt,
                         "frequency": cnt / w, "low": lo / w, "high": hi / w})


def stokes_einstein(radius, T=298.15, viscosity=8.9e-4):
    """Diffusion coefficient (m^2/s) of a sphere of hydrodynamic radius (m)."""
    r = np.asarray(radius, dtype=float)
    if np.any(r <= 0):
        raise ParameterError("radius must be positive (m)")
    D = BOLTZMANN * T / (6 * np.pi * viscosity * r)
    return float(D) if np.ndim(D) == 0 else D


def collision_frequency(radius_particle, concentration, electrode_radius, T=298.15, viscosity=8.9e-4,
                        unit="mol/m3"):
    """Diffusion-limited impact frequency at a disk microelectrode, f = 4 D c r_d N_A (1/s).

    Parameters
    ----------
    radius_particle : float
        Hydrodynamic radius (m); D from Stokes-Einstein.
    concentration : float
        Particle concentration in mol/m^3 (1 pM = 1e-9 mol/m^3), or particles
        per m^3 with ``unit='1/m3'``.
    electrode_radius : float
        Disk radius (m).
    T, viscosity : float
        K and Pa s (water at 25 C: 8.9e-4).

    Examples
    --------
    >>> round(collision_frequency(25e-9, 1e-9, 5e-6), 3)   # 1 pM, 5 um disk
    0.118
    """
    D = stokes_einstein(radius_particle, T, viscosity)
    c = _conc(concentration, unit)
    f = 4 * D * c * electrode_radius * AVOGADRO
    return float(f) if np.ndim(f) == 0 else f


def concentration_from_frequency(frequency, radius_particle, electrode_radius, T=298.15, viscosity=8.9e-4,
                                 unit="mol/m3"):
    """Inverse of :func:`collision_frequency`: particle concentration from f (1/s)."""
    D = stokes_einstein(radius_particle, T, viscosity)
    c = np.asarray(frequency, dtype=float) / (4 * D * electrode_radius * AVOGADRO)
    c = c if unit == "mol/m3" else c * AVOGADRO
    return float(c) if np.ndim(c) == 0 else c


def _conc(c, unit):
    if unit == "mol/m3":
        return np.asarray(c, dtype=float)
    if unit == "1/m3":
        return np.asarray(c, dtype=float) / AVOGADRO
    raise ParameterError(f"unit must be 'mol/m3' or '1/m3', found {unit!r}")


def histogram(events, column="charge", bins="auto", *, material=None, conversion=1.0, log=False):
    """Counts and edges of |charge| (C), radius (m, needs ``material``) or duration (s).

    Returns a DataFrame with ``left``, ``right``, ``count``; ``attrs['column']``.
    """
    if column == "radius":
        if material is None:
            raise ParameterError("histogram of radius needs material=<name> to convert charge")
        from .sizing import charge_to_radius

        v = charge_to_radius(events["charge"].to_numpy(float), material, conversion)
    elif column in events:
        v = np.abs(events[column].to_numpy(float)) if column in ("charge", "peak", "step_height") \
            else events[column].to_numpy(float)
    else:
        raise ParameterError(f"column {column!r} is not in the events table")
    v = np.atleast_1d(v)
    v = v[np.isfinite(v)]
    if log:
        v = v[v > 0]
        if v.size == 0:
            return pd.DataFrame({"left": [], "right": [], "count": []})
        cnt, edges = np.histogram(np.log10(v), bins=bins)
        edges = 10**edges
    else:
        cnt, edges = np.histogram(v, bins=bins)
    df = pd.DataFrame({"left": edges[:-1], "right": edges[1:], "count": cnt})
    df.attrs["column"] = column
    return df
