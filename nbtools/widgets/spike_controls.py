"""The controls of a nanoimpact recipe (:class:`~nbtools.impact.EventRecipe`).

:class:`RecipeControls` holds one control per setting the
:class:`~nbtools.widgets.SpikePicker` offers. A control the user changes
reports ``{field: value}`` once (``on_change``); :meth:`RecipeControls.show`
writes a recipe into the controls. A control whose value is what
:meth:`~RecipeControls.show` put there reports nothing, so writing a recipe
never comes back as a change. The values are not checked here: the recipe
checks them (the one check of each setting).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import ipywidgets as W

__all__ = ["RecipeControls", "POLARITY_CHOICES", "BASELINE_CHOICES", "KIND_CHOICES"]

POLARITY_CHOICES = [("auto (the recording's sign)", "auto"), ("positive (anodic)", "positive"),
                    ("negative (cathodic)", "negative"), ("both signs", "both")]
BASELINE_CHOICES = [("auto (running median)", "auto"), ("running median", "median"), ("polynomial", "poly"),
                    ("constant", "constant"), ("none (already subtracted)", "none")]
KIND_CHOICES = [("auto (from the recording)", "auto"), ("spikes (transients)", "spike"),
                ("steps (blocking)", "step")]

_WIDE = {"description_width": "initial"}


@dataclass(frozen=True)
class Binding:
    """A control showing one recipe field: ``to_display(recipe value)``, ``from_display(control value)``."""

    field: str
    widget: W.Widget
    to_display: Callable = lambda v: v
    from_display: Callable = lambda v: v


def _window_text(value) -> str:
    return "auto" if value == "auto" else f"{float(value):g}"


def _window_value(text):
    text = str(text).strip()
    return "auto" if text.lower() in ("", "auto") else text  # the recipe reads the number (or says why not)


def _ms(v):
    return float(v) * 1e3


def _s(v):
    return float(v) / 1e3


class RecipeControls:
    """Controls of the threshold, polarity, kind, baseline, event limits and sizing of a recipe.

    Parameters
    ----------
    recipe : EventRecipe
        Shown first.
    materials : sequence of str
        Names offered for the material.
    on_change : callable
        ``on_change({field: value})`` when the user changes a control.
    guard : callable, optional
        Wraps the callbacks (an :meth:`ErrorDisplay.guard`).
    """

    def __init__(self, recipe, *, materials, on_change, guard=lambda f: f):
        self.on_change = on_change
        self._shown = recipe
        self._auto_value = 5.5  # the slider's value while the threshold is 'auto' (the resolved one)
        th0 = self._auto_value if recipe.threshold == "auto" else float(recipe.threshold)
        self.threshold = W.FloatSlider(
            value=th0, min=min(3.0, th0), max=max(20.0, th0), step=0.1, readout_format=".1f",
            continuous_update=False, description="Threshold (× noise σ)", style=_WIDE,
            layout=W.Layout(width="420px"))
        self.auto = W.Checkbox(value=recipe.threshold == "auto", indent=False, layout=W.Layout(width="300px"),
                               description="auto (≈1 false event per 10⁷ samples)")
        self.polarity = W.Dropdown(options=POLARITY_CHOICES, description="Sign", layout=W.Layout(width="300px"),
                                   tooltip="auto keeps the sign most events have and lists the others as rejected")
        self.kind = W.Dropdown(options=KIND_CHOICES, description="Event kind", style=_WIDE,
                               layout=W.Layout(width="300px"),
                               tooltip="auto: steps when the current keeps its new level, spikes when it returns")
        self.baseline = W.Dropdown(options=BASELINE_CHOICES, description="Baseline", layout=W.Layout(width="300px"))
        self.window = W.Text(continuous_update=False, description="Baseline window / s", style=_WIDE,
                             layout=W.Layout(width="230px"), tooltip="'auto' or seconds; longer than the events")
        self.hysteresis = W.FloatText(step=0.1, description="Event ends below (× σ)", style=_WIDE,
                                      layout=W.Layout(width="220px"))
        self.min_duration = W.FloatText(step=0.1, description="Min duration / ms", style=_WIDE,
                                        layout=W.Layout(width="200px"))
        self.min_separation = W.FloatText(step=0.1, description="Min separation / ms", style=_WIDE,
                                          layout=W.Layout(width="210px"))
        self.material = W.Dropdown(options=list(materials), description="Material", layout=W.Layout(width="260px"))
        self.conversion = W.FloatText(step=0.05, description="Conversion (0–1]", style=_WIDE,
                                      layout=W.Layout(width="190px"))
        self.bindings = [
            Binding("polarity", self.polarity), Binding("event_kind", self.kind), Binding("baseline", self.baseline),
            Binding("baseline_window", self.window, _window_text, _window_value),
            Binding("hysteresis", self.hysteresis, float, float),
            Binding("min_duration", self.min_duration, _ms, _s),
            Binding("min_separation", self.min_separation, _ms, _s),
            Binding("material", self.material), Binding("conversion", self.conversion, float, float),
        ]
        #: recipe field -> the label of its control (error messages name the control, not the field)
        self.labels = {b.field: b.widget.description for b in self.bindings}
        self.labels.update(threshold="Threshold (× noise σ)", kind="Event kind")
        self.show(recipe)
        for b in self.bindings:
            b.widget.observe(guard(self._reporter(b)), names="value")
        self.threshold.observe(guard(self._on_threshold), names="value")
        self.auto.observe(guard(self._on_auto), names="value")

    # ------------------------------------------------------------- recipe -> controls
    def show(self, recipe) -> None:
        """Write ``recipe`` into the controls (reports no change)."""
        self._shown = recipe
        self.auto.value = recipe.threshold == "auto"
        self._set_slider(self._slider_value(recipe))
        for b in self.bindings:
            b.widget.value = b.to_display(getattr(recipe, b.field))

    def show_auto_threshold(self, threshold: float) -> None:
        """Show the threshold that 'auto' resolved to (reports no change)."""
        self._auto_value = min(max(float(threshold), self.threshold.min), self.threshold.max)
        if self._shown.threshold == "auto":
            self._set_slider(self._auto_value)

    def _slider_value(self, recipe) -> float:
        return self._auto_value if recipe.threshold == "auto" else float(recipe.threshold)

    def _set_slider(self, value: float) -> None:
        s = self.threshold
        s.max = max(s.max, value)
        s.min = min(s.min, value)
        s.value = value

    # ------------------------------------------------------------- controls -> recipe
    def _reporter(self, b: Binding):
        def report(change):
            if change["new"] != b.to_display(getattr(self._shown, b.field)):
                self.on_change({b.field: b.from_display(change["new"])})

        return report

    def _on_threshold(self, change):
        if change["new"] != self._slider_value(self._shown):
            self.on_change({"threshold": float(change["new"])})

    def _on_auto(self, change):
        if change["new"] != (self._shown.threshold == "auto"):
            self.on_change({"threshold": "auto" if change["new"] else float(self.threshold.value)})

    # ------------------------------------------------------------- layout
    def settings_box(self):
        """Baseline and event limits, in an accordion (closed)."""
        box = W.VBox([W.HBox([self.baseline, self.window, self.hysteresis]),
                      W.HBox([self.min_duration, self.min_separation])])
        acc = W.Accordion(children=[box])
        acc.set_title(0, "Baseline and event settings")
        acc.selected_index = None
        return acc


def material_names() -> list[str]:
    """Names of :mod:`nbtools.materials`, in table order."""
    from ..materials import list_materials

    return list(list_materials()["name"])


def export_box(export_folder):
    """(folder text, Export button, result HTML) of an export row."""
    from ..safety import confined

    if confined():  # a workshop server: this page's own folder under the data folder
        export_folder = export_folder if export_folder and not Path(str(export_folder)).is_absolute() else ""
    else:
        export_folder = export_folder or Path.home() / "nbtools_exports"
    folder = W.Text(value=str(export_folder), description="Export to folder",
                    placeholder="(this page's folder in the workshop's exports)" if confined() else "",
                    style=_WIDE, layout=W.Layout(width="520px"))
    button = W.Button(description="Export", icon="download",
                      tooltip="Write events (CSV, Parquet) and parameters (JSON); never overwrites")
    return folder, button, W.HTML()


def picker_buttons():
    """(Detect events, Reject selected, Whole trace) buttons."""
    detect = W.Button(description="Detect events", button_style="primary", icon="search",
                      tooltip="Run the exact detection with the settings above", layout=W.Layout(width="160px"))
    toggle = W.Button(description="Reject selected", icon="times", layout=W.Layout(width="170px"),
                      tooltip="Reject (or accept again) the event selected in the table")
    whole = W.Button(description="Whole trace", icon="expand", layout=W.Layout(width="170px"),
                     tooltip="Zoom back out to the whole recording")
    return detect, toggle, whole
