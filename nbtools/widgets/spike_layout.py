"""Layout and summary text of the :class:`~nbtools.widgets.SpikePicker` (no numbers computed here)."""

from __future__ import annotations

import contextlib
import html
import warnings
from pathlib import Path

import ipywidgets as W

from ..errors import NbtoolsWarning
from ..impact import decisions_text, export_events, false_event_text
from ..impact.export import with_radius
from ..plotting import current_display_unit, si_text
from .display import bokeh_widget
from .event_table import csv_data_uri

__all__ = ["picker_layout", "report_html", "export_files", "collect_warnings"]

_HELP = ("<span style='color:#555'>Drag across the plot to zoom in time; click a marker to select its event. "
         "Dashed lines: baseline ± threshold; red dots: accepted events; grey crosses: rejected events.</span>")


def _heading(text: str):
    return W.HTML(f"<b>{text}</b>")


def picker_layout(sp) -> W.VBox:
    """The picker's root widget: controls, status, trace, table, histograms, export and recipe."""
    c = sp.controls
    return W.VBox([
        W.HBox([c.threshold, sp.w_threshold_A, c.auto]),
        W.HBox([c.polarity, c.kind, sp.w_detect]),
        c.settings_box(),
        sp.status,
        sp.w_summary,
        W.HTML(_HELP),
        sp.view.widget,
        _heading("Events: click a row to zoom to it, then Reject selected to leave it out"),
        W.HBox([bokeh_widget(sp.table), W.VBox([sp.w_toggle, sp.w_whole])]),
        _heading("Histograms of the accepted events and impact frequency (95 % Poisson interval)"),
        W.HBox([c.material, c.conversion]),
        bokeh_widget(sp.plots.layout),
        _heading("Export the events, save or load the settings (recipe)"),
        W.HBox([sp.w_folder, sp.w_export]),
        sp.w_export_out,
        sp.recipe_bar,
    ])


def _units(sp, noise: float):
    """The trace's current unit, or one that suits the noise when that would read badly."""
    unit, scale = sp.view.unit, sp.view.scale
    if noise * scale < 0.1 or noise * scale >= 1000:
        unit, scale = current_display_unit(noise * 100)
    return unit, scale


def report_html(sp, s: dict, notes) -> None:
    """Write the summary ``s`` (:func:`nbtools.impact.summarize`) into the picker's summary line,
    threshold label and status line (with ``notes``, the analysis' warnings). One noise SD, the
    recording's own; what 'auto' decided and the false-event rates in words (from
    :mod:`nbtools.impact`)."""
    unit, scale = _units(sp, s["noise"])
    noise = f"{s['noise'] * scale:.3g} {unit}"
    parts = [
        f"<b>{s['n_events']} events found</b>" + (f" ({s['n_rejected']} rejected by you)" if s["n_rejected"] else ""),
        f"frequency {s['frequency']:.3g} s⁻¹ (95 % CI {s['frequency_low']:.3g}–{s['frequency_high']:.3g})",
        f"noise σ = {noise}",
        f"threshold {s['threshold_A'] * scale:.3g} {unit} ({s['threshold']:.3g} σ)",
    ]
    note = (" <i style='color:#8a5300'>preview from cached candidates — press Detect events for the exact "
            "run</i>") if s["preview"] else ""
    lines = ["<div class='nbtools-summary'>" + " · ".join(parts) + note + "</div>"]
    decided = decisions_text(s)
    if decided:
        lines.append(f"<div class='nbtools-decisions' style='color:#333'>{html.escape(decided)}</div>")
    lines.append(f"<div class='nbtools-false-events' style='color:#555'>False events: "
                 f"{html.escape(false_event_text(s))}</div>")
    sp.w_summary.value = "".join(lines)
    sp.w_threshold_A.value = (f"<span style='padding:0 10px'>= {s['threshold_A'] * scale:.3g} {unit} "
                              f"(σ = {noise})</span>")
    msg = (f"{s['n_events']} events found with a threshold of {s['threshold']:.3g} σ"
           + (" (preview)" if s["preview"] else "") + ".")
    if s["rejected_reasons"]:
        msg += " Left out by the detector: " + ", ".join(f"{v} {k}" for k, v in s["rejected_reasons"].items()) + "."
    notes = list(notes)
    if notes:
        sp.status.warning(msg + " " + " ".join(notes))
    else:
        sp.status.info(msg)


def export_files(sp, folder, formats) -> list[Path]:
    """Write the picker's events, parameters and recipe (:func:`nbtools.impact.export_events`) and show
    where they went, with a download link of the CSV."""
    ev = sp.events
    stem = Path(sp.trace.source).stem if sp.trace.source else "recording"
    info = {"source": sp.trace.source, "summary": sp.summary, "noise_A": ev.attrs.get("noise"),
            "threshold_A": ev.attrs.get("threshold_A"), "material": sp.recipe.material,
            "conversion": sp.recipe.conversion, "rejected_i_peak": sorted(int(i) for i in sp.rejected)}
    paths = export_events(ev, sp.params, folder, stem, formats=formats, info=info)
    uri = csv_data_uri(with_radius(ev))
    dl = (f" · <a download='{html.escape(stem)}_events.csv' href='{uri}' target='_blank'>"
          "download the events CSV</a>") if uri else ""
    from ..safety import shown_name

    names = ", ".join(html.escape(p.name) for p in paths)
    sp.w_export_out.value = (f"<span class='nbtools-export'>Wrote {names} in "
                             f"{html.escape(shown_name(paths[0].parent))}{dl}</span>")
    sp.status.info(f"Exported {len(ev)} events ({int(ev['accepted'].sum())} accepted) to "
                   f"{shown_name(paths[0].parent)}.")
    return paths


@contextlib.contextmanager
def collect_warnings(notes: list):
    """NbtoolsWarnings raised inside go to ``notes`` (once each; shown in the status line), not to the
    notebook output; other warnings pass on."""
    with warnings.catch_warnings(record=True) as log:
        warnings.simplefilter("always", NbtoolsWarning)
        try:
            yield notes
        finally:
            others = [w for w in log if not issubclass(w.category, NbtoolsWarning)]
            for w in log:
                if issubclass(w.category, NbtoolsWarning) and str(w.message) not in notes:
                    notes.append(str(w.message))
    for w in others:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
