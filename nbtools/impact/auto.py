"""What ``'auto'`` decides for one recording, and why: spikes or steps, and the sign of the events.

A :class:`Decision` holds the value chosen, a sentence saying why (shown in the
dashboard and kept in ``events.attrs['decisions']``) and the numbers behind it.
Both decisions look at the candidates that cross the automatic threshold with
either sign on the recording's own baseline and noise
(:func:`spike_candidates`), so they do not change when the threshold slider
moves.

- **Spikes or steps** (:func:`decide_kind`): a transient returns to the
  level it started from; a blocking step keeps the new level. For the
  PERSIST_EVENTS strongest candidates, the level (median) over one event
  length after the event, one event length past its end, is compared with the
  level over one event length before it, relative to the event's height:
  about 0 for transients, about 1 or more for steps (a running-median
  baseline cuts a step into two opposite half-height bumps, each of which
  sees the full level change). A median of at least STEP_PERSISTENCE over
  the candidates means steps. With fewer than MIN_JUDGED excursions (a
  staircase of a few steps), the step detector's level changes are judged.
- **Sign** (:func:`decide_polarity`): the sign that carries most of the
  candidates' summed height; the other sign's candidates are listed among
  the rejected ones (:data:`OPPOSITE_SIGN`), and when some of them are strong
  the reason says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .stages import heights as event_heights, hysteresis_scan

__all__ = ["Decision", "spike_candidates", "persistence", "decide_kind", "decide_polarity", "opposite_reason", "OPPOSITE_SIGN",
           "STEP_PERSISTENCE", "PERSIST_EVENTS", "MIN_JUDGED", "STRONG_FACTOR"]

#: median |persistence| of the strongest candidates at or above which the recording holds steps
STEP_PERSISTENCE = 0.5
#: the strongest this many candidates are judged; at least MIN_JUDGED are needed to call steps
PERSIST_EVENTS = 20
MIN_JUDGED = 2
#: candidates of the opposite sign this many times the threshold high are called strong in the reason
STRONG_FACTOR = 2.0
#: reason of the candidates of the sign that polarity='auto' left out (the start of the text)
OPPOSITE_SIGN = "opposite sign"


@dataclass(frozen=True)
class Decision:
    """What 'auto' chose for ``setting`` (``value``), in words (``reason``), with the numbers
    (``evidence``)."""

    setting: str
    value: str
    reason: str
    evidence: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """``{'value', 'reason', 'evidence'}`` (JSON-friendly)."""
        return {"value": self.value, "reason": self.reason, "evidence": dict(self.evidence)}


@dataclass
class Candidates:
    """Excursions beyond a level around the baseline: sample ranges ``[starts, ends)``, signs and
    heights above the baseline (A, signed), and the level (A)."""

    starts: np.ndarray
    ends: np.ndarray
    signs: np.ndarray
    heights: np.ndarray
    level: float


def spike_candidates(bg, recipe, threshold) -> Candidates:
    """The hysteresis scan of both signs at ``threshold`` noise SDs on the background ``bg``
    (:class:`~nbtools.impact.background.SpikeBackground`), with each candidate's height."""
    on = threshold * bg.sigma
    off = recipe.hysteresis * bg.sigma
    starts, ends, signs = hysteresis_scan(bg.src, bg.chunks, bg.B, bg.bvals, on, off, on, off, bg.mins, bg.maxs,
                                          workers=bg.workers)
    heights = event_heights(bg.src, bg.chunks, bg.B, bg.bvals, starts, ends, signs, workers=bg.workers)
    return Candidates(starts, ends, signs, heights, float(on))


def _persistence(read, n, a, b, height):
    """(level one event length past the end - level over one event length before the start) / height,
    signed with the event; NaN when there is no room on either side."""
    d = max(int(b - a), 8)
    b0, b1 = max(0, a - d), a
    c0, c1 = min(n, b + d), min(n, b + 2 * d)
    if b1 - b0 < 3 or c1 - c0 < 3 or height == 0:
        return np.nan
    before = float(np.median(read(b0, b1)))
    after = float(np.median(read(c0, c1)))
    return np.sign(height) * (after - before) / abs(height)


def persistence(read, n, starts, ends, heights) -> np.ndarray:
    """|persistence| of the PERSIST_EVENTS largest of the changes ``[starts, ends)`` of ``heights`` (A):
    how much of its height the level keeps one change length past its end (NaN where there is no
    room)."""
    heights = np.asarray(heights, float)
    order = np.argsort(-np.abs(heights), kind="stable")[:PERSIST_EVENTS]
    p = np.array([_persistence(read, n, int(starts[k]), int(ends[k]), heights[k]) for k in order])
    return np.abs(p[np.isfinite(p)])


def decide_kind(read, n, cand: Candidates, steps=None) -> Decision:
    """Spikes or steps, from how much of their level change the strongest candidates keep
    (``read(i0, i1)``: samples of the recording, ``n`` of them). With fewer than MIN_JUDGED
    excursions, ``steps()`` (the step detector's candidates: ``(starts, ends, heights)``) are judged
    instead, when given."""
    p = persistence(read, n, cand.starts, cand.ends, cand.heights)
    what = "excursions"
    if p.size < MIN_JUDGED and steps is not None:
        p, what = persistence(read, n, *steps()), "level changes"
    ev = {"judged": int(p.size), "persistence_median": float(np.median(p)) if p.size else float("nan"),
          "step_persistence": STEP_PERSISTENCE}
    if p.size == 0:
        return Decision("event_kind", "spike", "no excursion crosses the threshold, so nothing says these "
                        "are steps: detecting transients (spikes)", ev)
    if p.size < MIN_JUDGED:
        return Decision("event_kind", "spike", f"only {p.size} {what} to judge by: detecting transients "
                        "(spikes); choose 'steps' if the current changes in steps", ev)
    med = float(np.median(p))
    if med >= STEP_PERSISTENCE:
        return Decision("event_kind", "step", f"the current keeps its new level after the {p.size} strongest "
                        f"{'changes' if what == 'excursions' else what} (the level after them differs from the level before by {med:.2g} times their height, "
                        "median), as blocking collisions do", ev)
    return Decision("event_kind", "spike", f"the current returns to its level after the {p.size} strongest "
                    f"{what} (the level after them differs from the level before by {med:.2g} times their "
                    "height, median)", ev)


def _sign_name(sign) -> str:
    return "positive (anodic)" if sign > 0 else "negative (cathodic)"


def decide_polarity(signs, heights, level, noun="events") -> Decision:
    """The recording's dominant sign: the one with the larger summed |height| of the candidates
    (``signs``, ``heights`` A, found beyond ``level`` A with either sign)."""
    signs = np.sign(np.asarray(signs, float))
    h = np.abs(np.asarray(heights, float))
    pos, neg = float(h[signs > 0].sum()), float(h[signs < 0].sum())
    n_pos, n_neg = int((signs > 0).sum()), int((signs < 0).sum())
    if n_pos + n_neg == 0:
        return Decision("polarity", "positive", f"no {noun} cross the threshold: positive (anodic) assumed",
                        {"n_positive": 0, "n_negative": 0})
    sign = 1 if pos >= neg else -1
    other = signs == -sign
    strong = int(np.count_nonzero(other & (h >= STRONG_FACTOR * level)))
    value = "positive" if sign > 0 else "negative"
    n_main, n_other = (n_pos, n_neg) if sign > 0 else (n_neg, n_pos)
    ev = {"n_positive": n_pos, "n_negative": n_neg, "sum_positive": pos, "sum_negative": neg,
          "strong_opposite": strong}
    reason = f"{n_main} of the {n_main + n_other} candidate {noun} are {_sign_name(sign)}"
    if n_other:
        reason += f"; the {n_other} {_sign_name(-sign).split()[0]} ones are listed as rejected ({OPPOSITE_SIGN})"
        if strong:
            reason += (f", {strong} of them strong (over {STRONG_FACTOR:g} x the threshold): if the particles "
                       "give both signs, choose 'both'")
    return Decision("polarity", value, reason, ev)


def opposite_reason(decision: Decision) -> str:
    """The rejection reason of a candidate of the sign that ``decision`` left out."""
    sign = "negative" if decision.value == "positive" else "positive"
    return f"{OPPOSITE_SIGN} ({sign}) to the recording's {decision.value} events"
