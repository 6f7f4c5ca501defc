"""The nanoimpact recipe: every setting of event detection and sizing, validated once.

:class:`EventRecipe` (kind ``"impact.events"``) is what
:func:`~nbtools.impact.find_events` and :func:`~nbtools.impact.prepare`
run with, what the :class:`~nbtools.widgets.SpikePicker` edits and what a
batch run applies to many files. Each setting is checked here and nowhere
else (the threshold included: a :class:`~nbtools.impact.PreparedTrace`
asked for another threshold builds ``recipe.replace(threshold=...)``).

The event kind is the field ``event_kind`` (``'spike'`` or ``'step'``):
``kind`` names the recipe kind in every :class:`~nbtools.recipes.Recipe`.
The keyword form keeps the name of the detection functions,
``find_events(trace, kind="step")``; :meth:`EventRecipe.coerce` and
:meth:`EventRecipe.replace` accept it, and :meth:`EventRecipe.as_params`
writes it (``events.attrs["params"]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..errors import ParameterError
from ..recipes import (Recipe, check_bool, check_choice, check_int, check_number, check_optional, check_text,
                       param, register)
from .sizing import check_conversion, check_material

__all__ = ["EventRecipe", "recipe_of", "POLARITIES", "BASELINES", "EVENT_KINDS"]

#: polarity names -> canonical (IUPAC: anodic = positive); 'auto': the recording's dominant sign
POLARITIES = {"auto": "auto", "both": "both", "positive": "positive", "anodic": "positive", "+": "positive",
              "negative": "negative", "cathodic": "negative", "-": "negative"}
#: background models of find_events
BASELINES = ("auto", "median", "poly", "constant", "none")
#: event kinds: 'auto' (decided from the recording), transients back to the baseline, or current
#: steps (blocking)
EVENT_KINDS = ("auto", "spike", "step")

#: keyword names of the detection functions -> recipe field (see the module docstring)
_ALIASES = {"kind": "event_kind"}

_optional_number = check_optional(check_number)
_optional_int = check_optional(check_int)
_optional_text = check_optional(check_text)


@register
@dataclass(frozen=True)
class EventRecipe(Recipe):
    """Settings of nanoimpact event detection (:func:`~nbtools.impact.find_events`) and sizing.

    Every field is validated when the recipe is built; a changed copy is
    ``recipe.replace(threshold=7)``. ``find_events(trace, recipe)`` and
    ``find_events(trace, threshold=7, ...)`` build the same recipe.

    Examples
    --------
    >>> r = EventRecipe(threshold=6, polarity="anodic")
    >>> r.threshold, r.polarity
    (6.0, 'positive')
    >>> EventRecipe.coerce(kind="step").event_kind
    'step'
    >>> EventRecipe().event_kind, EventRecipe().polarity   # decided from each recording
    ('auto', 'auto')
    """

    kind: ClassVar[str] = "impact.events"

    threshold: object = param("auto", check_number, "detection threshold in noise SDs, or 'auto' "
                              "(the level whose Gaussian false-event rate is false_rate)", "SD",
                              min=0, min_open=True, literals=("auto",))
    polarity: str = param("auto", check_choice, "sign of the events (anodic = positive): 'auto' (the "
                          "recording's dominant sign; the other sign's candidates are listed as rejected), "
                          "'positive', 'negative' or 'both'", choices=POLARITIES)
    event_kind: str = param("auto", check_choice, "'auto' (decided from the recording: level changes that "
                            "persist are steps), 'spike' (transients back to the baseline) or 'step' (blocking "
                            "staircase)", choices=EVENT_KINDS)
    baseline: str = param("auto", check_choice, "background model: 'auto' (= running 'median'), 'poly', "
                          "'constant' or 'none'", choices=BASELINES)
    baseline_window: object = param("auto", check_number, "running-median window, or 'auto' "
                                    "(max(1 s, 300 samples), at most a quarter of the trace)", "s",
                                    min=0, min_open=True, literals=("auto",))
    baseline_degree: int = param(3, check_int, "degree of the 'poly' baseline", min=0, max=12)
    hysteresis: float = param(1.0, check_number, "an event ends when the residual falls back within "
                              "this many noise SDs", "SD", min=0)
    min_duration: float = param(0.0, check_number, "shorter events are rejected ('too short')", "s", min=0)
    min_separation: float = param(0.0, check_number, "same-sign events closer than this are merged "
                                  "(merge=True) or the later one rejected ('too close')", "s", min=0)
    merge: bool = param(True, check_bool, "merge close events and tails (else reject the later one)")
    mask_start: object = param("auto", _optional_number, "seconds ignored at the start; 'auto' rejects an "
                               "excursion that starts at the first sample (charging); None masks nothing",
                               "s", min=0, literals=("auto",))
    range_mask: object = param("auto", check_number, "time masked on each side of a current-range switch, "
                               "or 'auto' (max(10 samples, 10 ms))", "s", min=0, literals=("auto",))
    noise: object = param(None, _optional_number, "noise SD instead of estimating it (None: the "
                          "recording's own)", "A", min=0, min_open=True)
    false_rate: float = param(1e-7, check_number, "false events per sample that threshold='auto' aims at",
                              "1/sample", min=0, max=0.1, min_open=True, max_open=True)
    iterations: int = param(3, check_int, "baseline/noise re-estimations with event blocks masked", min=1, max=50)
    mains: object = param("auto", _optional_number, "mains pickup frequency fitted under each event, 'auto' "
                          "(50 or 60 Hz when it stands out) or None", "Hz", min=0, min_open=True,
                          literals=("auto",))
    chunk_size: object = param(None, _optional_int, "samples per chunk (None: all in memory, 2**24 for memory "
                               "maps); results do not depend on it", "samples", min=64)
    material: str = param("LiMn2O4", check_material, "particle material that sizes the events "
                          "(nbtools.materials)")
    conversion: float = param(1.0, check_conversion, "fraction of the theoretical charge per formula unit "
                              "(0 < conversion <= 1)")
    blank: object = param(None, _optional_text, "blank recording (path) whose false events are counted at "
                          "this recording's threshold; it does not change the detection")

    def _check_together(self) -> None:
        th = self.threshold
        if th != "auto" and self.hysteresis >= th:
            raise ParameterError(
                f"hysteresis ({self.hysteresis:g}) must be below threshold ({th:g}): events end when the "
                "residual falls back within hysteresis x noise; lower hysteresis or raise the threshold")

    # ------------------------------------------------------------- keyword names
    @classmethod
    def coerce(cls, recipe=None, /, **params):
        """As :meth:`Recipe.coerce`, also accepting ``kind=`` for ``event_kind``."""
        return super().coerce(recipe, **_translate(params))

    def replace(self, **changes):
        """A copy with some settings changed (validated again); ``kind=`` sets ``event_kind``."""
        return super().replace(**_translate(changes))

    def as_params(self) -> dict:
        """The settings as :func:`~nbtools.impact.find_events` keywords (``kind`` for ``event_kind``;
        ``blank`` only when it names a file, so ``find_events(trace, blank=b, **params)`` works):
        ``find_events(trace, **recipe.as_params())`` runs this recipe (``events.attrs['params']``)."""
        out = {}
        for name, value in self.as_kwargs().items():
            if name == "blank" and value is None:
                continue
            out["kind" if name == "event_kind" else name] = value
        return out

    # ------------------------------------------------------------- parts
    def detection_settings(self) -> dict:
        """Settings that change the detection at a given threshold (all but the threshold, the sizing,
        the blank and chunk_size): two recipes with equal ones share a prepared trace."""
        skip = ("threshold", "material", "conversion", "chunk_size", "blank")
        return {k: v for k, v in self.as_kwargs().items() if k not in skip}

    @property
    def n_polarities(self) -> int:
        """2 for polarity 'both', else 1 ('auto' keeps one sign; the false-event rate counts each sign)."""
        return 2 if self.polarity == "both" else 1


def _translate(params: dict) -> dict:
    for old, new in _ALIASES.items():
        if old in params:
            if new in params:
                raise ParameterError(f"give {new}= or {old}=, not both (found {old}={params[old]!r}, "
                                     f"{new}={params[new]!r})")
            params = dict(params)
            params[new] = params.pop(old)
    return params


def recipe_of(events) -> EventRecipe:
    """The recipe that made an event table (``attrs['recipe']``; tables written by older nbtools:
    their ``attrs['params']``)."""
    attrs = getattr(events, "attrs", None) or {}
    r = attrs.get("recipe")
    if isinstance(r, EventRecipe):
        return r
    if r is not None:
        return EventRecipe.coerce(r)
    if "params" in attrs:
        return EventRecipe.coerce(None, **attrs["params"])
    raise ParameterError(
        f"events must be a find_events result (a DataFrame whose attrs hold its recipe), found "
        f"{type(events).__name__} without one")
