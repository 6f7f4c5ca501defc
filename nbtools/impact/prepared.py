"""A recording prepared for detection at many thresholds: :func:`prepare`, :class:`PreparedTrace`.

``prepare(trace, recipe)`` estimates the baseline, noise and mains pickup
once (:mod:`nbtools.impact.background`); ``.detect(threshold)`` then redoes
only the threshold-dependent stages and equals ``find_events`` exactly;
``.preview(threshold)`` keeps, of the candidates found once at a low
threshold, those that pass a higher one (milliseconds, for a slider).
"""

from __future__ import annotations

import functools
import math
import numbers
import os

import numpy as np
import pandas as pd

from ..errors import DataError, ParameterError
from ..threads import resolve_workers
from ..trace import Trace
from .background import estimate_background
from .auto import decide_kind, decide_polarity, opposite_reason, spike_candidates
from .blank import BlankCounter, blank_source, load_blank
from .noise import auto_threshold, rice_rate
from .parallel import pmap
from .recipe import EventRecipe
from .source import as_samples
from .spikes import detect_spikes
from .stats import noise_model_check
from .steps import find_steps, step_window

__all__ = ["PreparedTrace", "prepare", "LOW_THRESHOLD"]

#: threshold (noise SDs) of the candidate run that previews higher thresholds
LOW_THRESHOLD = 4.0


def legacy_rate(recipe, fs):
    """``(recipe, fs)`` of a call that gave the sampling rate in second place (``find_events(x, fs)``,
    the form of nbtools before recipes): a number there is the rate, never a recipe."""
    if isinstance(recipe, numbers.Real) and not isinstance(recipe, bool):
        if fs is not None:
            raise ParameterError(f"give the sampling rate once: found {recipe!r} in second place and fs={fs!r}; "
                                 "the second argument is a recipe (find_events(trace, recipe, fs=...))")
        return None, recipe
    return recipe, fs


def prepare(trace, recipe=None, *, fs=None, workers=None, **params) -> PreparedTrace:
    """Estimate baseline, noise and mains pickup once; detect at any threshold.

    Parameters are those of :func:`~nbtools.impact.find_events` (``blank``: a
    Trace or array used as the blank, or the path of one, the recipe's
    ``blank``). The returned :class:`PreparedTrace`'s ``.detect(threshold)``
    gives exactly ``find_events(trace, recipe, fs=fs, **params, threshold=threshold)``
    but only redoes the threshold-dependent stages (detection, features).
    ``workers`` (threads; default ``NBTOOLS_NUM_THREADS``, else every core) runs the passes over
    the samples in parallel with the same result as one thread (see :func:`~nbtools.impact.find_events`).

    Examples
    --------
    >>> from nbtools.simulate import impact_trace
    >>> from nbtools.impact import find_events, prepare
    >>> tr, _ = impact_trace(duration=2.0, fs=20e3, rate=5.0, seed=1)
    >>> pt = prepare(tr)
    >>> pt.detect(6.0).equals(find_events(tr, threshold=6.0))
    True
    """
    recipe, fs = legacy_rate(recipe, fs)
    blank = params.pop("blank", None)
    if isinstance(blank, (str, os.PathLike)):  # a file: the recipe's blank
        params["blank"], blank = os.fspath(blank), None
    recipe = EventRecipe.coerce(recipe, **params)
    samples = as_samples(trace, fs)
    if samples.n == 0:
        raise DataError("the trace is empty (0 samples); load a recording with data")
    if samples.n < 16:
        raise DataError(f"the trace has only {samples.n} samples; at least 16 are needed to estimate a baseline")
    return PreparedTrace(samples, recipe, blank=load_blank(blank, recipe), workers=workers)


def _resolve(samples, recipe):
    """``(baseline window s, range mask s)`` for this recording: the 'auto' values, and the checks of
    settings against the data (window within the trace, mains below fs/2)."""
    fs, n = samples.fs, samples.n
    duration = n / fs
    if recipe.baseline_window == "auto":
        window = min(max(1.0, 300.0 / fs), duration / 4.0)
    else:
        window = recipe.baseline_window
        if window > duration:
            raise DataError(
                f"the trace ({duration:g} s, {n} samples) is shorter than baseline_window={window:g} s; "
                "pass a shorter baseline_window or baseline='constant'")
    if recipe.mains not in ("auto", None) and not recipe.mains < fs / 2:
        raise ParameterError(f"mains must be a frequency in (0, fs/2) = (0, {fs / 2:g}) Hz, found {recipe.mains!r}")
    range_mask = max(10.0 / fs, 0.01) if recipe.range_mask == "auto" else recipe.range_mask
    return window, range_mask


class PreparedTrace:
    """A trace with its baseline, noise and mains pickup estimated once, for
    fast re-detection at other thresholds (e.g. a threshold slider).

    Made by :func:`prepare`. ``detect(threshold)`` equals
    ``find_events(trace, recipe.replace(threshold=threshold), blank=blank)``
    exactly, without repeating the baseline and noise estimation;
    ``preview(threshold)`` is the fast approximation of it. What 'auto'
    decided (event kind, polarity) is decided here, once per recording
    (:mod:`nbtools.impact.auto`): :attr:`resolved` is the recipe with those
    values, and every table carries it (``attrs['recipe']``) with the reasons
    (``attrs['decisions']``).

    Attributes
    ----------
    recipe : EventRecipe
        The recipe given to :func:`prepare`.
    resolved : EventRecipe
        The recipe with 'auto' event kind and polarity decided.
    decisions : dict
        :class:`~nbtools.impact.auto.Decision` of each setting 'auto' decided.
    noise : float
        Noise SD (A) used for detection (spikes; NaN for steps).
    threshold_auto : float
        The automatic threshold (SD) for ``false_rate``.
    baseline_curve : dict
        ``{'t': s, 'value': A}`` of the background (spikes; None for steps).
    background : SpikeBackground or None
        What was estimated (spikes).
    workers : int
        Threads of the passes over the samples (the results do not depend on it).
    """

    def __init__(self, samples, recipe: EventRecipe, *, blank=None, workers=None):
        self.samples = samples
        self.recipe = recipe
        self.workers = resolve_workers(workers)
        self.window, self.range_mask = _resolve(samples, recipe)
        self.background = None
        self.decisions = {}
        self._candidates = None  # low-threshold run behind preview()
        self._last = None  # (threshold, table) of the last detect()
        self.set_blank(blank)
        kind, pol = recipe.event_kind, recipe.polarity
        if kind != "step":
            self.background = estimate_background(samples, recipe, window=self.window, range_mask=self.range_mask,
                                                  workers=self.workers)
        if kind == "auto" or (kind == "spike" and pol == "auto"):
            cand = spike_candidates(self.background, recipe, self.background.threshold_auto)
            if kind == "auto":
                self.decisions["event_kind"] = decide_kind(self.background.src.read, samples.n, cand,
                                                           steps=lambda: self._step_changes(recipe))
                kind = self.decisions["event_kind"].value
            if kind == "spike" and pol == "auto":
                self.decisions["polarity"] = decide_polarity(cand.signs, cand.heights, cand.level)
        if kind == "step":
            self.background = None
            if pol == "auto":
                both = self._steps(recipe.replace(event_kind="step", polarity="both",
                                                  threshold=self._step_threshold_auto(recipe)))
                self.decisions["polarity"] = decide_polarity(np.sign(both["peak"]), both["peak"],
                                                             both.attrs["threshold_A"], noun="steps")
        if "polarity" in self.decisions:
            pol = self.decisions["polarity"].value
        self.resolved = recipe.replace(event_kind=kind, polarity=pol)

    def _step_changes(self, recipe):
        """``(starts, ends, heights)`` of the step detector's candidates of both signs at its automatic
        threshold (what decide_kind judges when there are too few excursions)."""
        r = recipe.replace(event_kind="step", polarity="both", threshold=self._step_threshold_auto(recipe))
        both = self._steps(r)
        i = both["i_peak"].to_numpy(np.int64)
        w = step_window(r, self.samples.fs)
        return i - 2 * w, i + 2 * w, both["peak"].to_numpy(float)

    # ------------------------------------------------------------- blank
    def set_blank(self, blank) -> None:
        """Use ``blank`` (Trace, array or None) to count false events at the thresholds detected at
        (``attrs['blank_rate']``); the detection itself does not depend on it."""
        self.blank = blank
        self.blank_source = blank_source(blank)
        self._counter = None
        self._blank_rates = {}

    def _blank_rate(self, events) -> dict:
        a = events.attrs
        th = float(a["threshold"])
        if th not in self._blank_rates:
            if self._counter is None:
                self._counter = BlankCounter(
                    self.blank, self.resolved, a.get("noise_estimate", a["noise"]),
                    a.get("noise_bandwidth_estimate", a["noise_bandwidth"]),
                    functools.partial(prepare, workers=self.workers), fs=self.samples.fs)
            self._blank_rates[th] = self._counter.rate(th)
        return dict(self._blank_rates[th])

    # ------------------------------------------------------------- properties
    @property
    def kind(self) -> str:
        """The event kind detected ('spike' or 'step'; 'auto' decided)."""
        return self.resolved.event_kind

    @property
    def params(self) -> dict:
        """The recipe as :func:`~nbtools.impact.find_events` keywords."""
        return self.recipe.as_params()

    @property
    def noise(self) -> float:
        return float("nan") if self.background is None else self.background.sigma

    def _step_threshold_auto(self, recipe) -> float:
        w = step_window(recipe, self.samples.fs)
        return auto_threshold(0.25 / w, recipe.false_rate, recipe.n_polarities)

    @property
    def threshold_auto(self) -> float:
        if self.background is not None:
            return self.background.threshold_auto
        return self._step_threshold_auto(self.resolved)

    @property
    def baseline_curve(self):
        bg = self.background
        return None if bg is None else bg.curve(self.samples.fs, self.samples.t0)

    def _resolve_auto(self, recipe: EventRecipe) -> EventRecipe:
        """``recipe`` with 'auto' event kind and polarity replaced by what this recording decided."""
        changes = {}
        if recipe.event_kind == "auto":
            changes["event_kind"] = self.resolved.event_kind
        if recipe.polarity == "auto":
            changes["polarity"] = self.resolved.polarity
        return recipe.replace(**changes) if changes else recipe

    def accepts(self, recipe: EventRecipe) -> bool:
        """True when ``recipe`` (with 'auto' as decided here) differs from the prepared one only in
        threshold, sizing, blank or chunking."""
        return self._resolve_auto(recipe).detection_settings() == self.resolved.detection_settings()

    # ------------------------------------------------------------- detection
    def _recipe_for(self, threshold) -> EventRecipe:
        if threshold is None:
            return self.recipe
        if isinstance(threshold, EventRecipe):
            if not self.accepts(threshold):
                raise ParameterError("this prepared trace was made with other detection settings than the "
                                     "recipe given; prepare(trace, recipe) again")
            return threshold
        return self.recipe.replace(threshold=threshold)  # the threshold's one check

    def threshold_of(self, threshold) -> float:
        """The threshold (noise SDs) that ``threshold`` (a number, 'auto' or a recipe) detects at here."""
        recipe = self._recipe_for(threshold)
        return self.threshold_auto if recipe.threshold == "auto" else recipe.threshold

    def _steps(self, recipe) -> pd.DataFrame:
        return find_steps(self.samples, recipe, window=self.window, range_mask=self.range_mask, workers=self.workers)

    def _detect(self, recipe, th) -> pd.DataFrame:
        if self.background is None:
            return self._steps(recipe.replace(threshold=th))
        return detect_spikes(self.samples, self.background, recipe, th, range_mask=self.range_mask)

    def _run(self, recipe, th) -> pd.DataFrame:
        """The table at ``th`` (a number), without its recipe (see :meth:`_label`); with polarity 'auto',
        the other sign's events listed among the rejected."""
        run = self._resolve_auto(recipe)
        d = self.decisions.get("polarity")
        if d is None or recipe.polarity != "auto":
            return self._detect(run, th)
        # the sign kept and the other one (listed as rejected): independent, run side by side
        other = run.replace(polarity="negative" if run.polarity == "positive" else "positive")
        events, other = pmap(lambda r: self._detect(r, th), [run, other], min(2, self.workers))
        events.attrs["rejected"] = _add_rejected(events.attrs["rejected"], other, opposite_reason(d))
        return events

    def _label(self, events, recipe):
        """``attrs['recipe']`` (the recipe that reproduces the table: 'auto' kind and polarity as
        decided), ``attrs['params']``, the decisions, the noise-model check and the blank's rate."""
        a = events.attrs
        recipe = self._resolve_auto(recipe)
        a["recipe"] = recipe
        a["params"] = recipe.as_params()
        a["decisions"] = {k: v.as_dict() for k, v in self.decisions.items()}
        a["resolved"] = dict(a["resolved"], event_kind=recipe.event_kind, polarity=recipe.polarity)
        if a["kind"] == "spike":
            check = noise_model_check(events)
            a.update(noise_model_check=check, opposite_polarity_count=check["opposite_polarity_count"])
        if self.blank is not None and not a.get("preview"):
            a["blank_source"] = self.blank_source
            a["blank_rate"] = self._blank_rate(events)
        return events

    def detect(self, threshold=None) -> pd.DataFrame:
        """Events at ``threshold`` (noise SDs, 'auto', or a recipe that this trace :meth:`accepts`;
        default: the prepared recipe's). Same table as :func:`~nbtools.impact.find_events`.

        The last table is kept: asking again at its threshold (e.g. with
        another material) returns it at once, labelled with the new recipe.
        """
        recipe = self._recipe_for(threshold)
        th = self.threshold_of(recipe)
        if self._last is None or self._last[0] != th:
            self._last = (th, self._run(recipe, th))
        last = self._last[1]
        return self._label(_relabel(last, last.attrs), recipe)

    # ------------------------------------------------------------- preview
    def _low(self, recipe, th) -> float:
        return min(th, max(LOW_THRESHOLD, recipe.hysteresis + 0.5))

    def can_preview(self, threshold) -> bool:
        """True when :meth:`preview` of ``threshold`` needs no new candidate run."""
        recipe = self._recipe_for(threshold)
        c = self._candidates
        return c is not None and float(c.attrs["threshold"]) <= self._low(recipe, self.threshold_of(recipe)) + 1e-12

    def preview(self, threshold) -> pd.DataFrame:
        """The events of a low-threshold run that pass ``threshold`` (fast; for a slider).

        The candidates are found once at ``min(threshold, LOW_THRESHOLD)``
        (above the hysteresis) with this trace's baseline and noise; a preview
        keeps those whose score (``snr``; ``|z|`` for steps) reaches
        ``threshold``. ``attrs`` are those of :meth:`detect` at that threshold
        (``threshold``, ``threshold_A``, ``expected_false_per_s``, ``recipe``,
        ``params``) with ``preview=True``; the rows differ from :meth:`detect`'s
        where the lower level merged or split events differently.
        """
        recipe = self._recipe_for(threshold)
        th = self.threshold_of(recipe)
        if not self.can_preview(recipe):
            low = self._low(recipe, th)
            self._candidates = self._run(recipe.replace(threshold=low), low)
        return self._passing(recipe, th)

    def _passing(self, recipe, th) -> pd.DataFrame:
        """The candidates whose score reaches ``th``, with the attrs of a detection at ``th``."""
        cand = self._candidates
        a = cand.attrs
        table = pd.DataFrame(cand)
        events = table[_score(table) >= th].reset_index(drop=True)
        rej = a["rejected"]
        noise = float(a["noise"])
        if a["kind"] == "step":
            th_A = float(th * noise * math.sqrt(2.0 / a["resolved"]["window_samples"]))
        else:
            th_A = float(th * noise)
        attrs = dict(a, threshold=float(th), threshold_A=th_A, preview=True,
                     expected_false_per_s=float(rice_rate(a["noise_bandwidth"], th, recipe.n_polarities)),
                     resolved=dict(a["resolved"], threshold=float(th)),
                     rejected=rej[_score(rej) >= th].reset_index(drop=True) if len(rej) else rej)
        events.attrs = attrs
        return self._label(events, recipe)


def _add_rejected(rejected, other, reason) -> pd.DataFrame:
    """``rejected`` with the rows of ``other`` (events of the sign left out) added, reason ``reason``,
    in time order."""
    if not len(other):
        return rejected
    extra = pd.DataFrame(other)
    extra.attrs = {}
    extra["reason"] = reason
    out = pd.concat([rejected, extra[list(rejected.columns)] if len(rejected.columns) else extra],
                    ignore_index=True)
    return out.sort_values("t_start", kind="stable").reset_index(drop=True)


def _score(df) -> np.ndarray:
    """Detection score of each event in noise SDs (the quantity compared with the threshold)."""
    if "z" in df.columns:  # steps: two-window z score
        return np.abs(df["z"].to_numpy(float))
    return df["snr"].to_numpy(float)


def _relabel(events, attrs) -> pd.DataFrame:
    """The table ``events`` (data shared) with ``attrs``."""
    out = pd.DataFrame(events)  # no attrs: pandas would deep-copy them (with the rejected table)
    out.attrs = dict(attrs)
    return out
