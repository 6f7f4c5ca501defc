"""SpikePicker: choose the detection threshold of nanoimpact events by eye.

The numerics are :func:`nbtools.impact.find_events` and the statistics and
trust functions of :mod:`nbtools.impact`; this module only wires controls,
plots and tables to them.

Public API
----------
``SpikePicker(trace, blank=None, *, material="LiMn2O4", conversion=1.0,
export_folder=None, max_points=2000, auto_refine=None, **params)``

- ``.events``: the current event table (exact ``find_events`` result) with a
  boolean ``accepted`` column; ``.accepted_events`` only the accepted ones.
- ``.params``: JSON-serialisable parameters; ``find_events(trace, **params)``
  reproduces ``.events`` (without ``accepted``).
- ``.summary``: dict of n events, frequency and its interval, noise,
  threshold, expected false events per second.
- ``.detect()``, ``.set_threshold(sd)``, ``.set_params(**params)``,
  ``.set_trace(trace, blank=None)``, ``.select(i)`` (zoom to event ``i``),
  ``.reject(i)``, ``.accept(i)``, ``.toggle(i)``, ``.export(folder=None)``.
- ``.widget``: the root ipywidget; the object displays itself.
- ``.on_result(func)``: call ``func(picker)`` after every new result (preview
  or exact, accept/reject), e.g. to refresh a trust panel.

A threshold change first shows a preview from a cached low-threshold run
(milliseconds), then, for traces up to ``auto_refine`` samples, the exact
run. Every callback is guarded: errors appear in the status line.
"""

from __future__ import annotations

import contextlib
import html
import json
import math
import warnings
from pathlib import Path

import ipywidgets as W
import numpy as np
import pandas as pd

from ..errors import NbtoolsWarning, ParameterError
from ..plotting import _si, current_display_unit
from ..trace import Trace
from ._spike_support import CandidateCache, csv_data_uri, export_events, mark_accepted
from .display import ErrorDisplay, bokeh_widget
from .trace_view import TraceView

__all__ = ["SpikePicker"]

#: traces up to this many samples get the exact run right after a threshold preview
REFINE_SAMPLES = 20_000_000

_POLARITIES = [("both", "both"), ("positive (anodic)", "positive"), ("negative (cathodic)", "negative")]
_BASELINES = [("auto (running median)", "auto"), ("running median", "median"),
              ("polynomial", "poly"), ("constant", "constant"), ("none (already subtracted)", "none")]
_CHARGE_UNITS = [(1e-18, "aC"), (1e-15, "fC"), (1e-12, "pC"), (1e-9, "nC"), (1e-6, "µC"), (1.0, "C")]


def _charge_unit(q_abs: float):
    q = float(q_abs) if np.isfinite(q_abs) and q_abs > 0 else 1e-15
    for base, label in _CHARGE_UNITS:
        if q < base * 1000.0:
            return label, 1.0 / base
    return "C", 1.0


def _as_trace(obj, what: str):
    if obj is None or isinstance(obj, Trace):
        return obj
    if isinstance(obj, (str, Path)):
        from ..io import load_trace

        return load_trace(obj)
    raise ParameterError(f"{what} must be an nbtools.Trace or the path of a recording, found {type(obj).__name__}")


def _window_text(value) -> str:
    return "auto" if value == "auto" else f"{float(value):g}"


class SpikePicker:
    """Detect nanoimpact events interactively and review them one by one.

    Parameters
    ----------
    trace : Trace or path, optional
        The recording (A). A path is read with :func:`nbtools.io.load_trace`.
    blank : Trace or path, optional
        Blank recording of the same electrode: its noise sets the threshold
        and its false events are counted.
    material : str
        Material of the particles (:mod:`nbtools.materials`) for the radius.
    conversion : float
        Fraction of the theoretical charge per formula unit (0-1].
    export_folder : str or Path, optional
        Default folder of the export box (default ``~/nbtools_exports``).
    max_points : int
        Points sent to the browser per trace redraw.
    auto_refine : int, optional
        Largest trace (samples) that gets the exact detection right after each
        threshold preview (default 2e7); longer traces wait for *Detect events*.
    **params
        Initial :func:`~nbtools.impact.find_events` parameters.

    Examples
    --------
    >>> from nbtools.simulate import impact_trace
    >>> tr, truth = impact_trace(duration=2.0, fs=20e3, rate=5.0, seed=1)
    >>> sp = SpikePicker(tr)
    >>> from nbtools.impact import find_events
    >>> len(find_events(tr, **sp.params)) == len(sp.events)
    True
    """

    def __init__(self, trace=None, blank=None, *, material: str = "LiMn2O4", conversion: float = 1.0,
                 export_folder=None, max_points: int = 2000, auto_refine: int | None = None, **params):
        from ..impact import DEFAULTS
        from ..materials import list_materials

        self.status = ErrorDisplay()
        self.auto_refine = REFINE_SAMPLES if auto_refine is None else int(auto_refine)
        self.trace: Trace | None = None
        self.blank: Trace | None = None
        unknown = set(params) - set(DEFAULTS)
        if unknown:
            raise ParameterError(f"unknown find_events parameter(s) {sorted(unknown)}; known: {sorted(DEFAULTS)}")
        self._params = dict(DEFAULTS)
        self._params.update(params)
        self._result: pd.DataFrame | None = None  # last table shown (exact or preview), attrs in _attrs
        self._attrs: dict = {}
        self._exact = False
        self._rejected: set[int] = set()  # i_peak of events the user rejected
        self._blank_rate = None
        self._selected: int | None = None
        self._busy = False  # programmatic control updates: no callbacks
        self._cache = CandidateCache(self._run)
        self._warned: list[str] = []  # NbtoolsWarnings of the current analysis, shown in the status
        self._listeners = []

        self.view = TraceView(max_points=max_points, height=300)
        #: TraceView overlay renderers by name: baseline, upper, lower (band), accepted, rejected
        self.overlays: dict = {}
        self._build_controls(material, conversion, export_folder, list_materials())
        self._build_table()
        self._build_hists()
        self._widget = None
        if trace is not None:
            self.status.guard(self.set_trace)(trace, blank)

    # ------------------------------------------------------------------ controls
    def _build_controls(self, material, conversion, export_folder, materials):
        p = self._params
        th = p["threshold"]
        wide = {"description_width": "initial"}
        th0 = 5.5 if th == "auto" else float(th)
        self.w_threshold = W.FloatSlider(
            value=th0, min=min(3.0, th0), max=max(20.0, th0), step=0.1, readout_format=".1f",
            continuous_update=False, description="Threshold (× noise σ)", style=wide,
            layout=W.Layout(width="420px"))
        self.w_threshold_A = W.HTML()
        self.w_auto = W.Checkbox(value=th == "auto", description="auto (≈1 false event per 10⁷ samples)",
                                 indent=False, layout=W.Layout(width="300px"))
        self.w_polarity = W.Dropdown(options=_POLARITIES, value=p["polarity"], description="Polarity",
                                     layout=W.Layout(width="260px"))
        self.w_kind = W.Dropdown(options=[("spikes (transients)", "spike"), ("steps (blocking)", "step")],
                                 value=p["kind"], description="Event kind", style=wide,
                                 layout=W.Layout(width="260px"))
        self.w_detect = W.Button(description="Detect events", button_style="primary", icon="search",
                                 tooltip="Run the detection with the settings above",
                                 layout=W.Layout(width="160px"))
        self.w_baseline = W.Dropdown(options=_BASELINES, value=p["baseline"], description="Baseline",
                                     layout=W.Layout(width="300px"))
        self.w_window = W.Text(value=_window_text(p["baseline_window"]), continuous_update=False,
                               description="Baseline window / s", style=wide, layout=W.Layout(width="230px"),
                               tooltip="'auto' or seconds; longer than the events")
        self.w_hyst = W.BoundedFloatText(value=float(p["hysteresis"]), min=0.0, max=20.0, step=0.1,
                                         description="Event ends below (× σ)", style=wide,
                                         layout=W.Layout(width="220px"))
        self.w_min_dur = W.BoundedFloatText(value=float(p["min_duration"]) * 1e3, min=0.0, max=1e6, step=0.1,
                                            description="Min duration / ms", style=wide,
                                            layout=W.Layout(width="200px"))
        self.w_min_sep = W.BoundedFloatText(value=float(p["min_separation"]) * 1e3, min=0.0, max=1e6, step=0.1,
                                            description="Min separation / ms", style=wide,
                                            layout=W.Layout(width="210px"))
        names = list(materials["name"])
        self.w_material = W.Dropdown(options=names, value=self._material_name(material, names),
                                     description="Material", layout=W.Layout(width="260px"))
        self.w_conversion = W.BoundedFloatText(value=float(conversion), min=0.001, max=1.0, step=0.05,
                                               description="Conversion (0–1)", style=wide,
                                               layout=W.Layout(width="190px"))
        self.w_summary = W.HTML()
        self.w_toggle = W.Button(description="Reject selected", icon="times",
                                 tooltip="Reject (or accept again) the event selected in the table",
                                 layout=W.Layout(width="170px"))
        self.w_whole = W.Button(description="Whole trace", icon="expand", layout=W.Layout(width="170px"),
                                tooltip="Zoom back out to the whole recording")
        self.w_folder = W.Text(value=str(export_folder or Path.home() / "nbtools_exports"),
                               description="Export to folder", style=wide, layout=W.Layout(width="520px"))
        self.w_export = W.Button(description="Export", icon="download",
                                 tooltip="Write events (CSV, Parquet) and parameters (JSON); never overwrites")
        self.w_export_out = W.HTML()

        g = self.status.guard
        self.w_threshold.observe(g(self._on_threshold), names="value")
        self.w_auto.observe(g(self._on_auto), names="value")
        for w in (self.w_polarity, self.w_kind, self.w_baseline, self.w_window, self.w_hyst,
                  self.w_min_dur, self.w_min_sep):
            w.observe(g(self._on_setting), names="value")
        for w in (self.w_material, self.w_conversion):
            w.observe(g(self._on_material), names="value")
        self.w_detect.on_click(g(lambda _: self.detect()))
        self.w_toggle.on_click(g(self._on_toggle))
        self.w_whole.on_click(g(self._on_whole))
        self.w_export.on_click(g(lambda _: self.export()))

    @staticmethod
    def _material_name(material, names):
        from ..materials import get_material

        name = get_material(material).name
        return name if name in names else names[0]

    def _build_table(self):
        from bokeh.models import (ColumnDataSource, DataTable, NumberFormatter,
                                  StringFormatter, TableColumn)

        self.table_source = ColumnDataSource(data=self._table_data(None))
        num = NumberFormatter(format="0.000")
        self._table_columns = {
            "n": TableColumn(field="n", title="#", width=40),
            "t_peak": TableColumn(field="t_peak", title="t peak / s", formatter=NumberFormatter(format="0.0000")),
            "peak": TableColumn(field="peak", title="peak", formatter=num),
            "charge": TableColumn(field="charge", title="charge", formatter=num),
            # the SD that the recording's own noise gives this integral
            "charge_sd": TableColumn(field="charge_sd", title="± (noise)", formatter=num),
            "radius": TableColumn(field="radius", title="radius / nm", formatter=NumberFormatter(format="0.0")),
            "duration": TableColumn(field="duration", title="duration / ms", formatter=NumberFormatter(format="0.00")),
            "snr": TableColumn(field="snr", title="SNR", formatter=NumberFormatter(format="0.0")),
            # text, not BooleanFormatter: its check mark is an icon font that is missing offline
            "status": TableColumn(field="status", title="accepted?", formatter=StringFormatter(), width=80),
        }
        # a fixed width: a stretching DataTable inside an ipywidgets flex box renders empty
        self.table = DataTable(source=self.table_source, columns=list(self._table_columns.values()),
                               height=230, width=900, index_position=None, selectable=True, sortable=True)
        self.table_source.selected.on_change("indices", self._on_table_select)

    def _build_hists(self):
        from bokeh.layouts import gridplot
        from bokeh.models import ColumnDataSource
        from bokeh.plotting import figure

        self._hist = {}
        specs = [("charge", "|Charge|", "#1f77b4"), ("radius", "Radius / nm", "#2ca02c"),
                 ("duration", "Duration / ms", "#9467bd")]
        figs = []
        for key, label, color in specs:
            src = ColumnDataSource(data=dict(left=[], right=[], top=[]))
            f = figure(height=210, width=300, x_axis_label=label, y_axis_label="Events",
                       tools="pan,box_zoom,reset,save", toolbar_location=None)
            f.quad(left="left", right="right", bottom=0, top="top", source=src, color=color, alpha=0.75,
                   line_color="white")
            f.y_range.start = 0
            self._hist[key] = (f, src)
            figs.append(f)
        src = ColumnDataSource(data=dict(left=[], right=[], top=[], mid=[], low=[], high=[]))
        f = figure(height=210, width=300, x_axis_label="Time / s", y_axis_label="Frequency / s⁻¹",
                   tools="pan,box_zoom,reset,save", toolbar_location=None)
        f.quad(left="left", right="right", bottom=0, top="top", source=src, color="#ff7f0e", alpha=0.6,
               line_color="white")
        f.segment(x0="mid", x1="mid", y0="low", y1="high", source=src, color="black", line_width=1.5)
        f.y_range.start = 0
        self._hist["frequency"] = (f, src)
        figs.append(f)
        self.hist_layout = gridplot([figs], sizing_mode="stretch_width", toolbar_location=None)

    # ------------------------------------------------------------------ display
    @property
    def widget(self):
        """The root ipywidget (created on first use)."""
        if self._widget is None:
            self._widget = self._layout()
        return self._widget

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def _layout(self):
        h = lambda text: W.HTML(f"<b>{text}</b>")  # noqa: E731
        settings = W.VBox([
            W.HBox([self.w_baseline, self.w_window, self.w_hyst]),
            W.HBox([self.w_min_dur, self.w_min_sep]),
        ])
        acc = W.Accordion(children=[settings])
        acc.set_title(0, "Baseline and event settings")
        acc.selected_index = None
        return W.VBox([
            W.HBox([self.w_threshold, self.w_threshold_A, self.w_auto]),
            W.HBox([self.w_polarity, self.w_kind, self.w_detect]),
            acc,
            self.status,
            self.w_summary,
            W.HTML("<span style='color:#555'>Drag across the plot to zoom in time; click a marker to select its "
                   "event. Dashed lines: baseline ± threshold; red dots: accepted events; grey crosses: rejected "
                   "events.</span>"),
            self.view.widget,
            h("Events: click a row to zoom to it, then Reject selected to leave it out"),
            W.HBox([bokeh_widget(self.table), W.VBox([self.w_toggle, self.w_whole])]),
            h("Histograms of the accepted events and impact frequency (95 % Poisson interval)"),
            W.HBox([self.w_material, self.w_conversion]),
            bokeh_widget(self.hist_layout),
            h("Export"),
            W.HBox([self.w_folder, self.w_export]),
            self.w_export_out,
        ])

    # ------------------------------------------------------------------ public API
    def set_trace(self, trace, blank=None) -> None:
        """Analyse another recording (Trace or path), optionally with a blank; runs the detection."""
        trace = _as_trace(trace, "trace")
        blank = _as_trace(blank, "blank")
        self.trace, self.blank = trace, blank
        self._cache.clear()
        self._prep_key = self._prep = None
        self._warned = []
        self._rejected.clear()
        self._result, self._exact, self._blank_rate, self._selected = None, False, None, None
        self.w_export_out.value = ""
        for func in self._listeners:
            func(self)
        self.view.set_trace(trace)  # drops the overlays
        self.overlays.clear()
        self.detect()

    @property
    def params(self) -> dict:
        """Parameters for ``find_events(trace, **params)`` (JSON-serialisable) reproducing ``.events``."""
        self._ensure_exact()
        return dict(self._attrs["params"])

    @property
    def events(self) -> pd.DataFrame:
        """The current events (exact detection) with a boolean ``accepted`` column."""
        self._ensure_exact()
        return self._with_accepted(self._result)

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
        return self._result is not None and not self._exact

    @property
    def summary(self) -> dict:
        """n events, frequency (1/s) with its 95 % interval, noise and threshold (A), false events/s."""
        from ..impact import impact_frequency

        if self._result is None:
            return {}
        ev = self._with_accepted(self._result)
        a = self._attrs
        acc = int(ev["accepted"].sum())
        f = impact_frequency(acc, duration=self._observed_time(a))
        out = dict(n_events=acc, n_rejected=int(len(ev) - acc), frequency=f["frequency"], frequency_low=f["low"],
                   frequency_high=f["high"], noise=float(a["noise"]), threshold=float(a["threshold"]),
                   threshold_A=float(a["threshold_A"]), expected_false_per_s=float(a["expected_false_per_s"]),
                   preview=not self._exact)
        if self._blank_rate is not None:
            out.update(blank_false_per_s=self._blank_rate["empirical_per_s"],
                       blank_false_high=self._blank_rate["empirical_high"],
                       blank_count=self._blank_rate["count"], blank_duration=self._blank_rate["duration"])
        return out

    def detect(self) -> pd.DataFrame:
        """Run the exact detection with the current settings and show it."""
        self._require_trace()
        self.status.info("Detecting…")
        p = self._read_controls()
        try:
            df = self._run(**p)
        except Exception as exc:  # keep the status line true for direct API calls too
            self.status.error(exc)
            raise
        self._params = p
        self._show(df, exact=True)
        # candidates for fast previews of other thresholds (long traces: on the first slider move)
        if len(self.trace) <= self.auto_refine:
            self._cache.candidates(p)
        self._update_blank_rate()
        self._report()
        return self.events

    def set_threshold(self, sd: float | str) -> None:
        """Set the threshold (noise SDs, or 'auto') as the slider would."""
        if sd == "auto":
            self.w_auto.value = True
            if self._params["threshold"] != "auto":
                self._on_auto({"new": True})
            return
        sd = float(sd)
        self.w_threshold.max = max(self.w_threshold.max, sd)
        self.w_threshold.min = min(self.w_threshold.min, sd)
        if self.w_threshold.value == sd:
            self._on_threshold({"new": sd})  # same value (e.g. leaving 'auto'): no change event
        else:
            self.w_threshold.value = sd  # triggers _on_threshold

    def set_params(self, **params) -> pd.DataFrame:
        """Set several :func:`find_events` parameters at once and detect."""
        from ..impact import DEFAULTS

        unknown = set(params) - set(DEFAULTS)
        if unknown:
            raise ParameterError(f"unknown find_events parameter(s) {sorted(unknown)}; known: {sorted(DEFAULTS)}")
        self._params.update(params)
        self._write_controls(self._params)
        return self.detect()

    def select(self, i: int) -> None:
        """Select event ``i`` (row of ``.events``) and zoom the trace to it."""
        self.table_source.selected.indices = [int(i)]  # -> _on_table_select

    def reject(self, i: int) -> None:
        """Reject event ``i`` (row of ``.events``): drawn grey, left out of the statistics."""
        self._set_accepted(i, False)

    def accept(self, i: int) -> None:
        """Accept event ``i`` again."""
        self._set_accepted(i, True)

    def toggle(self, i: int) -> None:
        """Reject an accepted event or accept a rejected one."""
        if self._result is None:
            self._ensure_exact()
        ev = self._with_accepted(self._result)
        self._set_accepted(i, not bool(ev["accepted"].iloc[int(i)]))

    def export(self, folder=None, *, formats=("csv", "parquet", "json")) -> list[Path]:
        """Write ``.events`` and ``.params`` into ``folder`` (default: the export box); never overwrites."""
        folder = self.w_folder.value if folder is None else folder
        ev = self.events
        stem = Path(self.trace.source).stem if self.trace.source else "recording"
        info = {"source": self.trace.source, "summary": self.summary,
                "noise_A": ev.attrs.get("noise"), "threshold_A": ev.attrs.get("threshold_A"),
                "material": self.w_material.value, "conversion": self.w_conversion.value,
                "rejected_i_peak": sorted(int(i) for i in self._rejected)}
        paths = export_events(ev, self.params, folder, stem, formats=formats, info=info)
        links = ", ".join(html.escape(p.name) for p in paths)
        uri = csv_data_uri(ev)
        dl = (f" · <a download='{html.escape(stem)}_events.csv' href='{uri}' target='_blank'>"
              "download the events CSV</a>") if uri else ""
        self.w_export_out.value = (f"<span class='nbtools-export'>Wrote {links} in "
                                   f"{html.escape(str(paths[0].parent))}{dl}</span>")
        self.status.info(f"Exported {len(ev)} events ({int(ev['accepted'].sum())} accepted) to {paths[0].parent}.")
        return paths

    def on_result(self, func) -> None:
        """Call ``func(picker)`` after every new result (detection, preview, accept/reject)."""
        self._listeners.append(func)

    # ------------------------------------------------------------------ internals
    def _require_trace(self):
        if self.trace is None:
            raise ParameterError("no recording yet: pass a Trace or a path to SpikePicker(...) or set_trace(...)")

    def _run(self, **params) -> pd.DataFrame:
        """find_events(trace, blank=blank, **params), reusing the baseline and
        noise of the last call when only the threshold changed."""
        from ..impact import prepare

        self._require_trace()
        rest = {k: v for k, v in params.items() if k != "threshold"}
        key = (self.trace, self.blank, json.dumps(rest, sort_keys=True, default=repr))
        old = getattr(self, "_prep_key", None)
        with self._collect_warnings():
            if old is None or old[0] is not key[0] or old[1] is not key[1] or old[2] != key[2]:
                self._prep_key = self._prep = None
                self._warned = []
                self._prep = prepare(self.trace, blank=self.blank, **rest)
                self._prep_key = key
            return self._prep.detect(params.get("threshold", "auto"))

    @contextlib.contextmanager
    def _collect_warnings(self):
        """The analysis' NbtoolsWarnings go to the status line (see
        :meth:`_report`), not to the notebook's output as well."""
        with warnings.catch_warnings(record=True) as log:
            warnings.simplefilter("always", NbtoolsWarning)
            try:
                yield
            finally:
                others = []
                for w in log:
                    if not issubclass(w.category, NbtoolsWarning):
                        others.append(w)
                    elif str(w.message) not in self._warned:
                        self._warned.append(str(w.message))
        for w in others:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)

    def _ensure_exact(self):
        if self._result is None:
            self._require_trace()
            raise ParameterError("no detection result: the last detection failed (see the status line)")
        if not self._exact:
            self.detect()

    def _with_accepted(self, df):
        out = df.copy()
        out["accepted"] = mark_accepted(df, self._rejected)
        out.attrs = dict(self._attrs)
        return out

    @staticmethod
    def _observed_time(attrs):
        masked = sum(b - a for a, b in attrs.get("masked", []))
        return max(attrs["duration"] - masked, 1.0 / attrs["fs"])

    def _read_controls(self) -> dict:
        p = dict(self._params)
        p["threshold"] = "auto" if self.w_auto.value else float(self.w_threshold.value)
        p["polarity"] = self.w_polarity.value
        p["kind"] = self.w_kind.value
        p["baseline"] = self.w_baseline.value
        text = self.w_window.value.strip().lower()
        if text in ("", "auto"):
            p["baseline_window"] = "auto"
        else:
            try:
                p["baseline_window"] = float(text)
            except ValueError:
                raise ParameterError(f"Baseline window must be 'auto' or a time in seconds, found {text!r}") from None
        p["hysteresis"] = float(self.w_hyst.value)
        p["min_duration"] = float(self.w_min_dur.value) / 1e3
        p["min_separation"] = float(self.w_min_sep.value) / 1e3
        return p

    def _write_controls(self, p):
        self._busy = True
        try:
            self.w_auto.value = p["threshold"] == "auto"
            if p["threshold"] != "auto":
                th = float(p["threshold"])
                self.w_threshold.max = max(self.w_threshold.max, th)
                self.w_threshold.min = min(self.w_threshold.min, th)
                self.w_threshold.value = th
            self.w_polarity.value = {"anodic": "positive", "+": "positive", "cathodic": "negative",
                                     "-": "negative"}.get(p["polarity"], p["polarity"])
            self.w_kind.value = p["kind"]
            self.w_baseline.value = p["baseline"]
            self.w_window.value = _window_text(p["baseline_window"])
            self.w_hyst.value = float(p["hysteresis"])
            self.w_min_dur.value = float(p["min_duration"]) * 1e3
            self.w_min_sep.value = float(p["min_separation"]) * 1e3
        finally:
            self._busy = False

    # --- callbacks (all wrapped by status.guard) -------------------------------
    def _on_threshold(self, change):
        if self._busy or self.trace is None:
            return
        sd = float(change["new"])
        if self.w_auto.value:
            self._busy = True
            self.w_auto.value = False
            self._busy = False
        p = self._read_controls()
        long = len(self.trace) > self.auto_refine
        if self._result is not None and (long or self._cache.has(p, sd)):
            if not self._cache.has(p, sd):
                self.status.info("Preparing fast threshold previews (one detection at a low threshold)…")
            self._params = dict(p, threshold=sd)
            self._show(self._cache.preview(p, sd), exact=False)
            self._report()
            if long:
                return
        self.detect()

    def _on_auto(self, change):
        if self._busy or self.trace is None:
            return
        self.detect()

    def _on_setting(self, change):
        if self._busy or self.trace is None:
            return
        self.detect()

    def _on_material(self, change):
        if self._busy or self._result is None:
            return
        self._draw_table_and_hists()

    def _on_toggle(self, _):
        if self._selected is None:
            self.status.warning("Select an event in the table first (click its row).")
            return
        self.toggle(self._selected)

    def _on_whole(self, _):
        if self.trace is not None:
            self.view.zoom_to(self.trace.t0, self.trace.t0 + max(len(self.trace) - 1, 1) / self.trace.fs)

    def _on_table_select(self, attr, old, new):
        self.status.guard(self._select_rows)(new)

    def _select_rows(self, rows):
        if not rows or self._result is None:
            self._selected = None
            return
        i = int(rows[0])
        if not 0 <= i < len(self._result):
            raise ParameterError(f"event {i} does not exist: there are {len(self._result)} events")
        self._selected = i
        ev = self._result.iloc[i]
        fs = self.trace.fs
        dur = max(float(ev["t_end"] - ev["t_start"]), 1.0 / fs)
        pad = max(3 * dur, 100.0 / fs)
        t0 = self.trace.t0
        a = max(t0 + float(ev["t_start"]) - pad, t0)
        b = min(t0 + float(ev["t_end"]) + pad, t0 + len(self.trace) / fs)
        self.view.zoom_to(a, b)
        acc = bool(mark_accepted(self._result.iloc[[i]], self._rejected)[0])
        self.w_toggle.description = "Reject selected" if acc else "Accept selected"
        what = "step" if self._attrs.get("kind") == "step" else "peak"
        self.status.info(f"Event {i}: t = {ev['t_peak']:.4f} s, {what} {ev['peak'] * self._pscale:.4g} "
                         f"{self._punit}, SNR {ev['snr']:.1f} ({'accepted' if acc else 'rejected'}).")

    def _set_accepted(self, i, value: bool):
        # row i of the table on screen (preview or exact); decisions are kept by sample index
        if self._result is None:
            self._ensure_exact()
        i = int(i)
        if not 0 <= i < len(self._result):
            raise ParameterError(f"event {i} does not exist: there are {len(self._result)} events")
        ev = self._result.iloc[i]
        a, b = int(ev["i_start"]), max(int(ev["i_end"]), int(ev["i_peak"]))
        if value:
            self._rejected = {r for r in self._rejected if not a <= r <= b}
        else:
            self._rejected.add(int(ev["i_peak"]))
        self.w_toggle.description = "Reject selected" if value else "Accept selected"
        self._draw_events()
        self._draw_table_and_hists()
        self._report()

    # --- drawing -----------------------------------------------------------------
    def _show(self, df, *, exact: bool):
        # attrs kept apart: pandas deep-copies attrs (with the table of rejected candidates) on
        # every indexing operation, which dominated the redraw time
        self._attrs, df.attrs = df.attrs, {}
        self._result, self._exact = df, exact
        a = self._attrs
        if exact and self._params["threshold"] == "auto":
            self._busy = True
            try:
                self.w_threshold.value = min(max(float(a["threshold"]), self.w_threshold.min),
                                             self.w_threshold.max)
            finally:
                self._busy = False
        self._draw_band()
        self._draw_events()
        self._draw_table_and_hists()

    def _baseline_curve(self):
        """(t from the trace start, baseline A) for display: the core's own
        baseline (``attrs['baseline_curve']``, spikes), else a running median of
        block means computed here (steps: the local level)."""
        a = self._attrs
        tr = self.trace
        bc = a.get("baseline_curve")
        if bc is not None:
            t, v = np.asarray(bc["t"]) - tr.t0, np.asarray(bc["value"])
            step = max(1, t.size // 4000)
            if step > 1:
                t, v = np.r_[t[:-1:step], t[-1]], np.r_[v[:-1:step], v[-1]]
            return t, v
        key = (id(tr), a.get("baseline_method"), a.get("baseline_window"), a.get("baseline_block"))
        if getattr(self, "_base_key", None) == key:
            return self._base_curve
        lazy = getattr(tr, "is_lazy", False)
        x = tr._raw if lazy else tr.current  # a lazy trace: block means of the file's samples, then scaled
        n = len(x)
        method = a.get("baseline_method", "median")
        B = int(a.get("baseline_block") or max(n // 2000, 1))
        if method not in ("median", "poly", "constant", "none"):  # steps: show the local level
            B = max(n // 2000, 1)
            method = "median"
        nb = n // B
        if nb < 1:
            t = np.array([0.0, n / tr.fs])
            med = np.median(np.asarray(x, dtype=np.float64))
            curve = (t, np.full(2, float(tr._scale(np.array([med]))[0] if lazy else med)))
        else:
            means = np.asarray(x[: nb * B]).reshape(nb, B).mean(axis=1, dtype=np.float64)  # no float64 copy
            if lazy:
                means = np.asarray(tr._scale(means), dtype=np.float64)
            if method == "none":
                vals = np.zeros(nb)
            elif method == "constant":
                vals = np.full(nb, float(np.median(means)))
            elif method == "poly":
                c = np.arange(nb, dtype=np.float64)
                xc = (c - c.mean()) / max(c.std(), 1.0)
                deg = int(min(a.get("params", {}).get("baseline_degree", 3), max(nb - 1, 0)))
                vals = np.polyval(np.polyfit(xc, means, deg), xc)
            else:
                from ..impact.baseline import running_median

                win = max(1, int(round(float(a.get("baseline_window", 1.0)) * tr.fs / B)))
                vals = running_median(means, win)
            t = (np.arange(nb) + 0.5) * B / tr.fs
            step = max(1, nb // 2000)
            curve = (t[::step], vals[::step])
        self._base_key, self._base_curve = key, curve
        return curve

    def _draw_band(self):
        a = self._attrs
        t, base = self._baseline_curve()
        t = t + self.trace.t0
        th = float(a["threshold_A"])
        pol = a["params"]["polarity"]
        lines = {"baseline": base}
        if pol in ("both", "positive"):
            lines["upper"] = base + th
        if pol in ("both", "negative"):
            lines["lower"] = base - th
        for name in ("baseline", "upper", "lower"):
            if name not in lines:
                self.view.remove_overlay(name)
                self.overlays.pop(name, None)
            elif name in self.overlays:
                self.view.update_overlay(name, t, lines[name])
            else:
                style = dict(color="#777777", line_width=1) if name == "baseline" else \
                    dict(color="#ff7f0e", line_dash="dashed", line_width=1.5)
                self.overlays[name] = self.view.add_overlay(name, t, lines[name], kind="line", **style)

    def _draw_events(self):
        df = self._result
        acc = mark_accepted(df, self._rejected)
        t = df["t_peak"].to_numpy(float) + self.trace.t0
        y = (df["baseline"].to_numpy(float) + df["peak"].to_numpy(float)) if len(df) else np.zeros(0)
        self._marker_rows = {"accepted": np.flatnonzero(acc), "rejected": np.flatnonzero(~acc)}
        for name, sel, style in (("accepted", acc, dict(color="#d62728", size=7)),
                                 ("rejected", ~acc, dict(color="#7f7f7f", size=9, marker="x",
                                                         line_width=2))):
            if name in self.overlays:
                self.view.update_overlay(name, t[sel], y[sel])
            else:
                r = self.view.add_overlay(name, t[sel], y[sel], kind="scatter", **style)
                r.data_source.selected.on_change("indices", self._marker_tap(name))
                self.overlays[name] = r
                if "accepted" in self.overlays and "rejected" in self.overlays:
                    from bokeh.models import TapTool

                    self.view.figure.add_tools(TapTool(renderers=[self.overlays["accepted"],
                                                                 self.overlays["rejected"]]))

    def _marker_tap(self, name):
        """Bokeh callback: a tap on an event marker selects that event (table row, zoom)."""

        def on_tap(attr, old, new):
            if not new or self._busy:
                return
            rows = self._marker_rows.get(name, np.empty(0, int))
            k = int(new[0])
            self._busy = True
            try:
                self.overlays[name].data_source.selected.indices = []
            finally:
                self._busy = False
            if k < rows.size:
                self.status.guard(self.select)(int(rows[k]))

        return on_tap

    def _table_data(self, df):
        if df is None or len(df) == 0:
            return dict(n=[], t_peak=[], peak=[], charge=[], charge_sd=[], radius=[], duration=[], snr=[],
                        accepted=[], status=[])
        from ..impact import charge_to_radius

        acc = mark_accepted(df, self._rejected)
        q = df["charge"].to_numpy(float)
        radius = charge_to_radius(q, self.w_material.value, self.w_conversion.value) * 1e9 \
            if np.isfinite(q).any() else np.full(len(df), np.nan)
        return dict(n=np.arange(len(df)), t_peak=df["t_peak"].to_numpy(float),
                    peak=df["peak"].to_numpy(float) * self._pscale, charge=q * self._qscale,
                    charge_sd=df["charge_sd"].to_numpy(float) * self._qscale if "charge_sd" in df
                    else np.full(len(df), np.nan),
                    radius=np.asarray(radius, float), duration=df["duration"].to_numpy(float) * 1e3,
                    snr=df["snr"].to_numpy(float), accepted=acc,
                    status=np.where(acc, "yes", "REJECTED"))

    def _set_table(self, data):
        """New rows for the table. The DataTable gets a new source: in jupyter_bokeh (Bokeh 3.9) a
        DataTable does not redraw when only its source's data change (checked in Chromium)."""
        from bokeh.models import ColumnDataSource

        self._selected = None
        self.w_toggle.description = "Reject selected"
        src = ColumnDataSource(data=data)
        src.selected.on_change("indices", self._on_table_select)
        self.table_source = src
        self.table.source = src

    def _draw_table_and_hists(self):
        from ..impact import frequency_over_time, histogram

        df = self._result
        q = np.abs(df["charge"].to_numpy(float)) if len(df) else np.zeros(0)
        qmed = float(np.nanmedian(q)) if np.isfinite(q).any() else 1e-15
        self._qunit, self._qscale = _charge_unit(qmed)
        # peaks (or step heights) in the unit that suits them, not the trace's
        pk = np.abs(df["peak"].to_numpy(float)) if len(df) else np.zeros(0)
        self._punit, self._pscale = current_display_unit(float(np.nanmax(pk)) if np.isfinite(pk).any()
                                                         else 1.0 / self.view.scale)
        kind_step = self._attrs.get("kind") == "step"
        tc = self._table_columns
        tc["peak"].title = f"{'step' if kind_step else 'peak'} / {self._punit}"
        tc["charge"].title = f"charge / {self._qunit}"
        tc["charge_sd"].title = f"± noise / {self._qunit}"
        # steps have no charge, size or duration: those columns are left out
        hidden = {"charge", "charge_sd", "radius", "duration"} if kind_step else set()
        self.table.columns = [c for k, c in tc.items() if k not in hidden]
        self._set_table(self._table_data(df))
        acc = df[mark_accepted(df, self._rejected)] if len(df) else df
        cols = {"charge": ("step_height" if kind_step else "charge", self._qscale if not kind_step
                           else self._pscale),
                "radius": ("radius", 1e9), "duration": ("duration", 1e3)}
        for key, (col, scale) in cols.items():
            f, src = self._hist[key]
            data = dict(left=[], right=[], top=[])
            if len(acc) and not (key in ("radius", "duration") and kind_step) \
                    and not (key == "radius" and not np.isfinite(acc["charge"]).any()):
                h = histogram(acc, col, bins="auto",
                              **({"material": self.w_material.value, "conversion": self.w_conversion.value}
                                 if key == "radius" else {}))
                data = dict(left=h["left"].to_numpy() * scale, right=h["right"].to_numpy() * scale,
                            top=h["count"].to_numpy())
            src.data = data
        f, _ = self._hist["charge"]
        f.xaxis.axis_label = (f"|Step height| / {self._punit}" if kind_step else f"|Charge| / {self._qunit}")
        f, _ = self._hist["radius"]
        f.xaxis.axis_label = ("Radius (spikes only)" if kind_step else f"Radius / nm ({self.w_material.value})")
        f, _ = self._hist["duration"]
        f.xaxis.axis_label = "Duration (spikes only)" if kind_step else "Duration / ms"
        a = self._attrs
        dur = float(a["duration"])
        fo = frequency_over_time(acc, bin=max(dur / 10.0, 1.0 / a["fs"]), duration=dur)
        t0 = self.trace.t0
        f, src = self._hist["frequency"]
        src.data = dict(left=fo["t_start"].to_numpy() + t0, right=fo["t_end"].to_numpy() + t0,
                        top=fo["frequency"].to_numpy(), mid=0.5 * (fo["t_start"] + fo["t_end"]).to_numpy() + t0,
                        low=fo["low"].to_numpy(), high=fo["high"].to_numpy())

    def _update_blank_rate(self):
        self._blank_rate = None
        if self.blank is None:
            return
        from ..impact import false_event_rate

        p = dict(self._attrs["params"])
        th = p.pop("threshold")
        p.pop("chunk_size", None)
        with self._collect_warnings():
            self._blank_rate = false_event_rate(self.blank, threshold=th, **p)

    def _report(self):
        s = self.summary
        if not s:
            return
        unit, scale = self.view.unit, self.view.scale
        if s["noise"] * scale < 0.1 or s["noise"] * scale >= 1000:
            unit, scale = current_display_unit(s["noise"] * 100)
        parts = [
            f"<b>{s['n_events']} events found</b>"
            + (f" ({s['n_rejected']} rejected by you)" if s["n_rejected"] else ""),
            f"frequency {s['frequency']:.3g} s⁻¹ (95 % CI {s['frequency_low']:.3g}–{s['frequency_high']:.3g})",
            f"noise σ = {s['noise'] * scale:.3g} {unit}" + (" (from the blank)" if self.blank is not None else ""),
            f"threshold {s['threshold_A'] * scale:.3g} {unit} ({s['threshold']:.2f} σ)",
            f"expected false events {s['expected_false_per_s']:.2g} s⁻¹",
        ]
        if "blank_false_per_s" in s:
            parts.append(f"blank: {s['blank_count']} events in {_si(s['blank_duration'], 's')} "
                         f"({s['blank_false_per_s']:.2g} s⁻¹, ≤ {s['blank_false_high']:.2g} at 95 %)")
        note = (" <i style='color:#8a5300'>preview from cached candidates — press Detect events for the exact "
                "run</i>") if s["preview"] else ""
        self.w_summary.value = "<div class='nbtools-summary'>" + " · ".join(parts) + note + "</div>"
        self.w_threshold_A.value = (f"<span style='padding:0 10px'>= {s['threshold_A'] * scale:.3g} {unit} "
                                    f"(σ = {s['noise'] * scale:.3g} {unit})</span>")
        a = self._attrs
        rej = a.get("rejected")
        nrej = 0 if rej is None else len(rej)
        msg = (f"{s['n_events']} events found with a threshold of {s['threshold']:.2f} σ"
               + (" (preview)" if s["preview"] else "") + ".")
        if nrej:
            reasons = rej["reason"].value_counts().to_dict() if "reason" in rej else {}
            msg += " Left out by the detector: " + ", ".join(f"{v} {k}" for k, v in reasons.items()) + "."
        own = a.get("noise_estimate")
        notes = list(self._warned)
        if self.blank is not None and own and np.isfinite(own) and own > 0 and \
                not 1 / 1.5 < s["noise"] / own < 1.5:
            # the detector's own warning says the same at length
            notes = [t for t in notes if not t.startswith("the blank's noise")]
            notes.insert(0, f"The blank's noise (σ = {s['noise'] * scale:.3g} {unit}) is {s['noise'] / own:.2g} × "
                         f"the recording's own ({own * scale:.3g} {unit}): same electrode, filter and gain? The "
                         "threshold follows the blank; choose 'no blank' to use the recording's own noise.")
        if notes:
            self.status.warning(msg + " " + " ".join(notes))
        else:
            self.status.info(msg)
        for func in self._listeners:
            func(self)
