"""Blank recordings (same electrode, no particles): how many false events they give at a recording's threshold.

The threshold always comes from the recording's own noise; a blank only
measures the false-event rate there (:class:`BlankCounter`,
:func:`~nbtools.impact.false_event_rate`). When the blank's noise matches the
recording's (SD and bandwidth within BLANK_TOLERANCE) it is searched at the
recording's threshold in amperes; when it does not (another gain, filter or
electrode), at the same threshold relative to its own noise, and the result
says so.
"""

from __future__ import annotations

import os

import numpy as np

from ..trace import Trace
from .stats import impact_frequency
from .noise import rice_rate

__all__ = ["BlankCounter", "blank_mismatch", "load_blank", "blank_source", "BLANK_TOLERANCE"]

#: a blank is a fair control when its noise SD and bandwidth are within this
#: factor of the recording's own
BLANK_TOLERANCE = 1.3


def load_blank(blank, recipe):
    """The blank to use: ``blank`` (Trace or array) when given, else the recording at ``recipe.blank``
    (read with :func:`nbtools.io.load_trace`), else None."""
    if blank is not None:
        return blank
    if recipe.blank is None:
        return None
    from ..io import load_trace

    return load_trace(recipe.blank)


def blank_source(blank) -> str | None:
    """The file a blank was read from (a Trace's ``source``), or None."""
    src = getattr(blank, "source", None) if isinstance(blank, Trace) else None
    return None if src is None else os.fspath(src)


def blank_mismatch(blank_noise, blank_bandwidth, noise, bandwidth, tol=BLANK_TOLERANCE):
    """A message when a blank's noise SD (A) or bandwidth (Hz, mean-level
    up-crossings per s) differs from the recording's by more than ``tol``
    (ratio); None when they agree (or are unknown)."""
    bad = []
    for what, b, r, u in (("noise", blank_noise, noise, "A"), ("bandwidth", blank_bandwidth, bandwidth, "Hz")):
        if b and r and np.isfinite(b) and np.isfinite(r) and b > 0 and r > 0 and not 1 / tol <= b / r <= tol:
            bad.append(f"{what} {b:.3g} {u} vs {r:.3g} {u} ({b / r:.2g}x)")
    if not bad:
        return None
    return (f"the blank's noise (sigma = {blank_noise:.3g} A, bandwidth {blank_bandwidth:.3g} Hz) differs from "
            f"the recording's own (sigma = {noise:.3g} A, bandwidth {bandwidth:.3g} Hz) by more than "
            f"{(tol - 1) * 100:.0f} %: " + "; ".join(bad) + ". Different filter, gain or electrode?")


class BlankCounter:
    """False events of a blank at the thresholds of one recording.

    Parameters
    ----------
    blank : Trace or array
        The blank recording.
    recipe : EventRecipe
        The recording's detection settings with 'auto' resolved (event kind
        and polarity as the recording's).
    noise, bandwidth : float
        The recording's own noise SD (A) and bandwidth (Hz).
    prepare : callable
        :func:`nbtools.impact.prepare` (passed in: this module sits below it).
    fs : float, optional
        Sampling rate of a plain-array blank.
    """

    def __init__(self, blank, recipe, noise, bandwidth, prepare, *, fs=None):
        fs = None if isinstance(blank, Trace) else fs
        base = recipe.replace(noise=None, threshold="auto", blank=None, chunk_size=None)
        own = prepare(blank, base, fs=fs)
        a = own.detect().attrs
        self.blank_noise = float(a.get("noise_estimate", a["noise"]))
        self.blank_bandwidth = float(a.get("noise_bandwidth_estimate", a["noise_bandwidth"]))
        self.noise, self.bandwidth = float(noise), float(bandwidth)
        self.mismatch = blank_mismatch(self.blank_noise, self.blank_bandwidth, self.noise, self.bandwidth)
        self.n_polarities = recipe.n_polarities
        # a fair blank: the recording's noise, so the same threshold in amperes; else its own noise
        self._prep = own if self.mismatch else prepare(blank, base.replace(noise=self.noise), fs=fs)

    @property
    def matched(self) -> bool:
        """True when the blank's noise matches the recording's (searched at the same amperes)."""
        return self.mismatch is None

    def rate(self, threshold, conf=0.95) -> dict:
        """The blank's false events at ``threshold`` (noise SDs of the recording): see
        :func:`nbtools.impact.false_event_rate` for the keys."""
        det = self._prep.detect(float(threshold))
        a = det.attrs
        th_A = float(a["threshold_A"])
        u = th_A / self.blank_noise if self.blank_noise > 0 else float("nan")
        rice = rice_rate(self.blank_bandwidth, u, self.n_polarities)
        f = impact_frequency(det, conf=conf)
        if self.matched:
            at, note = "recording threshold", (
                f"the blank, searched at this recording's threshold ({float(threshold):.3g} noise SDs, the same "
                "current), gave")
        else:
            ratio = self.blank_noise / self.noise if self.noise > 0 else float("nan")
            at, note = "blank's own noise", (
                f"the blank is {ratio:.2g} x as noisy as this recording (another gain, filter or electrode?), "
                f"so it was searched at the same {float(threshold):.3g} noise SDs of its own noise; it gave")
        return dict(rice_per_s=float(rice), per_sample=float(rice / a["fs"]), empirical_per_s=f["frequency"],
                    empirical_low=f["low"], empirical_high=f["high"], count=f["count"], duration=f["duration"],
                    threshold=float(a["threshold"]), threshold_A=th_A, noise=float(a["noise"]),
                    bandwidth=self.blank_bandwidth, blank_noise=self.blank_noise, rice_threshold=float(u),
                    blank_bandwidth=self.blank_bandwidth, recording_noise=self.noise,
                    recording_bandwidth=self.bandwidth, at=at, matched=self.matched, note=note,
                    mismatch=self.mismatch)
