"""SpikePicker: choose the detection threshold of nanoimpact events by eye.

A view over a recipe: the picker holds ``recipe`` (an
:class:`~nbtools.impact.EventRecipe`) and ``result`` (the event table it
made) as traitlets. A control sets one recipe setting (the recipe checks it);
the new recipe goes to :mod:`nbtools.impact` once (``PreparedTrace.detect``,
or ``.preview`` for long traces), the table comes back once and is drawn.
Every number shown comes from :mod:`nbtools.impact`. The parts: controls
(:mod:`.spike_controls`), plots (:mod:`.spike_plots`), table
(:mod:`.event_table`), layout and summary text (:mod:`.spike_layout`).
"""

from __future__ import annotations

import time
from pathlib import Path

import ipywidgets as W
import pandas as pd
import traitlets

from ..errors import ParameterError
from ..impact import EventRecipe, event_radii, mark_accepted, prepare, summarize
from ..impact.blank import blank_source, load_blank
from ..trace import Trace
from .display import ErrorDisplay
from .event_table import EventTable
from .later import Later
from .recipe_bar import RecipeBar
from .spike_controls import RecipeControls, export_box, material_names, picker_buttons
from .spike_layout import collect_warnings, export_files, picker_layout, report_html
from .spike_plots import EventPlots
from .trace_loader import as_trace
from .trace_view import TraceView

__all__ = ["SpikePicker", "REFINE_SAMPLES", "FAST_EXACT_S", "REFINE_DELAY_S"]

#: traces up to this many samples get the exact run at every threshold change
REFINE_SAMPLES = 20_000_000
#: in a running kernel, a threshold step whose exact run took longer than this (s) shows a preview
#: at once and the exact table once the slider has rested for :data:`REFINE_DELAY_S`
FAST_EXACT_S = 0.05
REFINE_DELAY_S = 0.4


class SpikePicker(traitlets.HasTraits):
    """Detect nanoimpact events interactively and review them one by one.

    Parameters
    ----------
    trace : Trace or path, optional
        The recording (A). A path is read with :func:`nbtools.io.load_trace`.
    blank : Trace or path, optional
        Blank recording of the same electrode: its false events are counted
        at the recording's threshold (the threshold comes from the
        recording's own noise).
    recipe : EventRecipe, dict, JSON text or path, optional
        The settings to start with; ``**params`` (and ``material``,
        ``conversion``) override them.
    export_folder : str or Path, optional
        Default folder of the export box (default ``~/nbtools_exports``);
        *Save recipe* writes there too.
    max_points : int
        Points sent to the browser per trace redraw.
    auto_refine : int, optional
        Largest trace (samples) that gets the exact detection at each
        threshold change (default 2e7); longer traces show previews until
        *Detect events*.

    Examples
    --------
    >>> from nbtools.simulate import impact_trace
    >>> tr, truth = impact_trace(duration=2.0, fs=20e3, rate=5.0, seed=1)
    >>> sp = SpikePicker(tr)
    >>> from nbtools.impact import find_events
    >>> len(find_events(tr, sp.events.attrs["recipe"])) == len(sp.events)
    True
    """

    recipe = traitlets.Instance(EventRecipe)
    result = traitlets.Instance(pd.DataFrame, allow_none=True)
    rejected = traitlets.Instance(frozenset, args=())
    selected = traitlets.Int(None, allow_none=True)

    def __init__(self, trace=None, blank=None, *, recipe=None, material=None, conversion=None,
                 export_folder=None, max_points: int = 2000, auto_refine: int | None = None, **params):
        sizing = {k: v for k, v in (("material", material), ("conversion", conversion)) if v is not None}
        super().__init__(recipe=EventRecipe.coerce(recipe, **params, **sizing))
        self.status = ErrorDisplay()
        self.auto_refine = REFINE_SAMPLES if auto_refine is None else int(auto_refine)
        self.trace: Trace | None = None
        self.blank: Trace | None = None
        self._prep = None  # PreparedTrace of the recipe's detection settings
        self._table = None  # the rows of ``result`` without its attrs (drawn)
        self._warned: list[str] = []  # NbtoolsWarnings of the current analysis, shown in the status
        self._listeners = []
        self._reporting = False  # True while on_result listeners run
        self._exact_s, self._exact_th = 0.0, None  # time (s) of the last exact run at a new threshold, and it
        g = self.status.guard
        self._refine = Later(g(self._refine_now), REFINE_DELAY_S)  # the exact run after previews
        self._warm = Later(g(self._warm_previews), 0.2)  # the candidates of previews, while the page is idle
        self.controls = RecipeControls(self.recipe, materials=material_names(), on_change=self._on_controls,
                                       guard=g)
        c = self.controls
        self.status.names = c.labels
        self.w_threshold, self.w_auto, self.w_polarity, self.w_kind = c.threshold, c.auto, c.polarity, c.kind
        self.w_baseline, self.w_window, self.w_hyst = c.baseline, c.window, c.hysteresis
        self.w_min_dur, self.w_min_sep, self.w_material, self.w_conversion = (
            c.min_duration, c.min_separation, c.material, c.conversion)
        self.w_detect, self.w_toggle, self.w_whole = picker_buttons()
        self.w_threshold_A, self.w_summary = W.HTML(), W.HTML()
        self.w_folder, self.w_export, self.w_export_out = export_box(export_folder)
        self.view = TraceView(max_points=max_points, height=300)
        self.plots = EventPlots(self.view, on_tap=g(self.select))
        self.event_table = EventTable(on_select=g(self._on_row))
        self.recipe_bar = RecipeBar(self, folder=lambda: self.w_folder.value, stem="nanoimpact_recipe",
                                    status=self.status)
        self.w_detect.on_click(g(lambda _: self.detect()))
        self.w_toggle.on_click(g(lambda _: self._toggle_selected()))
        self.w_whole.on_click(g(lambda _: self.zoom_whole()))
        self.w_export.on_click(g(lambda _: self.export()))
        self.observe(self._on_recipe, names="recipe")
        self.observe(g(self._on_result), names="result")
        self.observe(g(self._on_review), names="rejected")
        self.observe(g(self._on_selected), names="selected")
        self._widget = None
        if trace is not None:
            g(self.set_trace)(trace, blank)

    # ------------------------------------------------------------------ display
    @property
    def widget(self):
        """The root ipywidget (created on first use)."""
        if self._widget is None:
            self._widget = picker_layout(self)
        return self._widget

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    @property
    def overlays(self) -> dict:
        """TraceView overlay renderers by name: baseline, upper, lower (band), accepted, rejected."""
        return self.plots.overlays

    @property
    def table(self):
        """The Bokeh DataTable of the events."""
        return self.event_table.table

    @property
    def table_source(self):
        """The ColumnDataSource of the table rows on screen."""
        return self.event_table.source

    # ------------------------------------------------------------------ inputs
    def set_trace(self, trace, blank=None) -> None:
        """Analyse another recording (Trace or path), optionally with a blank; runs the detection."""
        self.trace, self.blank = as_trace(trace, "trace"), as_trace(blank, "blank")
        self._prep = None
        self._warned.clear()
        self.selected, self.rejected, self.result = None, frozenset(), None
        self.w_export_out.value = ""
        self.view.set_trace(self.trace)  # drops the overlays
        self.plots.forget_overlays()
        self._apply(self.recipe.replace(blank=blank_source(self.blank)))

    def set_blank(self, blank) -> None:
        """Use another blank (Trace, path or None) for the same recording: its false events are
        counted at the threshold shown (the detection does not change)."""
        self.blank = as_trace(blank, "blank")
        self._warned.clear()
        self._apply(self.recipe.replace(blank=blank_source(self.blank)))

    def _apply(self, recipe) -> None:
        """Set ``recipe`` (its observer runs the analysis), or rerun when it is the same."""
        if recipe == self.recipe:
            self._analyse(recipe)
        else:
            self.recipe = recipe

    # ------------------------------------------------------------------ recipe -> result
    def _on_controls(self, changes: dict) -> None:
        self.recipe = self.recipe.replace(**changes)

    def _on_recipe(self, change) -> None:
        recipe = change["new"]
        self.controls.show(recipe)
        if self.trace is None:
            return
        if recipe.blank != blank_source(self.blank):  # a loaded recipe names another blank file
            self.blank = load_blank(None, recipe)
        self._analyse(recipe)

    def _analyse(self, recipe, *, exact: bool = False) -> None:
        """Ask :mod:`nbtools.impact` for the table of ``recipe``: the exact one, or a preview on long traces."""
        if self.trace is None:
            raise ParameterError("no recording yet: pass a Trace or a path to SpikePicker(...) or set_trace(...)")
        try:
            with self._collect_warnings():
                old = self._prep
                if old is None or not old.accepts(recipe):
                    self._prep = None
                    self._warned.clear()
                    self._prep = prepare(self.trace, recipe, blank=self.blank)
                elif old.blank is not self.blank:
                    old.set_blank(self.blank)  # counts false events; the detection stays
                result = self._next_result(recipe, exact or self._prep is not old)
            self.result = result  # after the warnings are collected: the report shows them
        except Exception as exc:  # the status line stays true for direct API calls too
            self.status.error(exc)
            raise

    def _next_result(self, recipe, exact: bool):
        """The exact table when it is quick (or asked for); else a preview now, and in a running kernel the
        exact run once the slider rests (:data:`REFINE_DELAY_S`)."""
        prep, shown = self._prep, self.result
        self._refine.cancel()
        th = prep.threshold_of(recipe)
        if not exact and shown is not None and not shown.attrs.get("preview") and shown.attrs["threshold"] == th:
            return prep.detect(recipe)  # the table shown, another material: no new run
        short = len(self.trace) <= self.auto_refine
        if exact or shown is None or (short and self._exact_s <= FAST_EXACT_S):
            return self._exact(prep, recipe, th)
        if short and not self._refine.schedule():  # no event loop (a script): the exact run now
            return self._exact(prep, recipe, th)
        if not prep.can_preview(recipe):
            self.status.info("Preparing fast threshold previews (one detection at a low threshold)…")
        return prep.preview(recipe)

    def _exact(self, prep, recipe, th):
        t = time.perf_counter()
        out = prep.detect(recipe)
        if th != self._exact_th:  # a new run, not the table kept for that threshold
            self._exact_s, self._exact_th = time.perf_counter() - t, th
            if self._exact_s > FAST_EXACT_S:
                self._warm.schedule()
        return out

    def _refine_now(self) -> None:
        if self.is_preview and self.trace is not None:
            self._analyse(self.recipe, exact=True)

    def _warm_previews(self) -> None:
        prep = self._prep
        if prep is not None and not prep.can_preview(self.recipe):
            with self._collect_warnings():
                prep.preview(self.recipe)  # finds the candidates once; the next threshold step is quick

    def _collect_warnings(self):
        """The analysis' NbtoolsWarnings go to the status line (see :meth:`_report`), not to the output too."""
        return collect_warnings(self._warned)

    # ------------------------------------------------------------------ result -> screen
    def _on_result(self, change) -> None:
        df = change["new"]
        if df is not None:
            if self.recipe.threshold == "auto":
                self.controls.show_auto_threshold(df.attrs["threshold"])
            self._table = pd.DataFrame(df)  # the rows without attrs: pandas deep-copies attrs on indexing
            self._draw(band=True)
        self._report()

    def _on_review(self, change) -> None:
        if self.result is not None:
            self._draw(band=False)
            self._report()

    def _draw(self, *, band: bool) -> None:
        df, a = self._table, self.result.attrs
        acc = mark_accepted(df, self.rejected)
        steps = a["kind"] == "step"
        t = self.event_table
        t.units(df, self.view.scale)
        if band:
            self.plots.band(a, a["recipe"].polarity)
        self.plots.markers(df, acc, self.trace.t0)
        t.show(df, acc, event_radii(df, a["recipe"]), steps=steps)
        self.selected = None
        self.plots.histograms(df[acc] if len(df) else df, a["recipe"], charge_unit=t.charge_unit,
                              charge_scale=t.charge_scale, peak_unit=t.peak_unit, peak_scale=t.peak_scale,
                              steps=steps, duration=float(a["duration"]), fs=float(a["fs"]), t0=self.trace.t0)

    def _report(self) -> None:
        s = self.shown_summary
        if s:
            report_html(self, s, self._warned)
        self._reporting = True
        try:
            for func in self._listeners:
                func(self)
        finally:
            self._reporting = False

    # ------------------------------------------------------------------ public API
    @property
    def params(self) -> dict:
        """Keywords for ``find_events(trace, **params)`` (JSON-serialisable) reproducing ``.events``."""
        self._ensure_exact()
        return dict(self.result.attrs["params"])

    @property
    def events(self) -> pd.DataFrame:
        """The current events (exact detection) with a boolean ``accepted`` column."""
        self._ensure_exact()
        out = pd.DataFrame(self.result)  # no attrs copy: pandas deep-copies them
        out["accepted"] = mark_accepted(out, self.rejected)
        out.attrs = dict(self.result.attrs)
        return out

    @property
    def accepted_events(self) -> pd.DataFrame:
        """Only the accepted events (``attrs`` kept)."""
        ev = self.events
        out = ev[ev["accepted"]].reset_index(drop=True)
        out.attrs = ev.attrs
        return out

    @property
    def is_preview(self) -> bool:
        """True while a threshold preview (not yet the exact run) is shown."""
        return self.result is not None and bool(self.result.attrs.get("preview"))

    @property
    def summary(self) -> dict:
        """:func:`nbtools.impact.summarize` of the exact detection (``{}`` before any); a preview on
        screen is replaced by its exact run first, as for :attr:`events`."""
        if self.result is None:
            return {}
        if not self._reporting:  # a listener gets the result it is told about (see on_result)
            self._ensure_exact()
        return self.shown_summary

    @property
    def shown_summary(self) -> dict:
        """The summary of what is on screen (a preview's while the slider moves; no detection run)."""
        if self.result is None:
            return {}
        return summarize(self.result, mark_accepted(self.result, self.rejected))

    def detect(self) -> pd.DataFrame:
        """Run the exact detection with the current recipe and show it."""
        self.status.info("Detecting…")
        self._analyse(self.recipe, exact=True)
        return self.events

    def set_threshold(self, sd) -> None:
        """Set the threshold (noise SDs, or 'auto') as the slider would."""
        self.recipe = self.recipe.replace(threshold=sd)

    def set_params(self, **params) -> pd.DataFrame:
        """Set several recipe settings at once (keywords of :func:`~nbtools.impact.find_events`) and detect."""
        self._apply(self.recipe.replace(**params))
        return self.events

    def select(self, i: int) -> None:
        """Select event ``i`` (row of ``.events``) and zoom the trace to it."""
        self.table_source.selected.indices = [int(i)]  # -> _on_row

    def reject(self, i: int) -> None:
        """Reject event ``i`` (row of ``.events``): drawn grey, left out of the statistics."""
        self._set_accepted(i, False)

    def accept(self, i: int) -> None:
        """Accept event ``i`` again."""
        self._set_accepted(i, True)

    def toggle(self, i: int) -> None:
        """Reject an accepted event or accept a rejected one."""
        self._set_accepted(i, not bool(self.events["accepted"].iloc[int(i)]))

    def zoom_whole(self) -> None:
        """Show the whole recording."""
        if self.trace is not None:
            self.view.zoom_to(self.trace.t0, self.trace.t0 + max(len(self.trace) - 1, 1) / self.trace.fs)

    def export(self, folder=None, *, formats=("csv", "parquet", "json")) -> list[Path]:
        """Write ``.events`` and ``.params`` (and the recipe) into ``folder`` (default: the export box);
        never overwrites a file."""
        if folder is None:
            from ..safety import export_dir

            folder = export_dir(self.w_folder.value)
        return export_files(self, folder, formats)

    def on_result(self, func) -> None:
        """Call ``func(picker)`` after every new result (detection, preview, accept/reject).

        Inside ``func``, :attr:`summary` is that of the result being reported (a preview's while the
        slider moves: no detection is run from a listener)."""
        self._listeners.append(func)

    # ------------------------------------------------------------------ review
    def _ensure_exact(self):
        if self.result is None:
            if self.trace is None:
                raise ParameterError("no recording yet: pass a Trace or a path to SpikePicker(...) or set_trace(...)")
            raise ParameterError("no detection result: the last detection failed (see the status line)")
        if self.is_preview:
            self.detect()

    def _row(self, i) -> pd.Series:
        if self.result is None:
            self._ensure_exact()
        i = int(i)
        if not 0 <= i < len(self.result):
            raise ParameterError(f"event {i} does not exist: there are {len(self.result)} events")
        return self._table.iloc[i]

    def _set_accepted(self, i, value: bool):
        # row i of the table on screen (preview or exact); decisions are kept by sample index
        ev = self._row(i)
        a, b = int(ev["i_start"]), max(int(ev["i_end"]), int(ev["i_peak"]))
        if value:
            self.rejected = frozenset(r for r in self.rejected if not a <= r <= b)
        else:
            self.rejected = self.rejected | {int(ev["i_peak"])}

    def _toggle_selected(self):
        if self.selected is None:
            self.status.warning("Select an event in the table first (click its row).")
            return
        i = self.selected
        self.toggle(i)
        self.select(i)

    def _on_row(self, row) -> None:
        self.selected = row

    def _on_selected(self, change) -> None:
        i = change["new"]
        self.w_toggle.description = "Reject selected"
        if i is None or self.result is None:
            return
        ev = self._row(i)
        fs, t0 = self.trace.fs, self.trace.t0
        pad = max(3 * max(float(ev["t_end"] - ev["t_start"]), 1.0 / fs), 100.0 / fs)
        self.view.zoom_to(max(t0 + float(ev["t_start"]) - pad, t0),
                          min(t0 + float(ev["t_end"]) + pad, t0 + len(self.trace) / fs))
        acc = bool(mark_accepted(self._table.iloc[[i]], self.rejected)[0])
        self.w_toggle.description = "Reject selected" if acc else "Accept selected"
        t = self.event_table
        what = "step" if self.result.attrs["kind"] == "step" else "peak"
        self.status.info(f"Event {i}: t = {ev['t_peak']:.4f} s, {what} {ev['peak'] * t.peak_scale:.4g} "
                         f"{t.peak_unit}, SNR {ev['snr']:.1f} ({'accepted' if acc else 'rejected'}).")
