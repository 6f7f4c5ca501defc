"""The panels of :class:`~nbtools.widgets.PixelSelector`: group controls, the group table, export, layout, state.

Functions of the selector (kept apart so that the selector's own module stays
a short view over its traits).
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import ipywidgets as W
import numpy as np

from ..errors import ParameterError
from ..seccm.export import export_groups, free_path, safe_name
from ..seccm.recipe import AnalysisRecipe
from ..seccm.registry import ALIASES, MAPS
from ..seccm.stats import curve_stats as stats_of
from .map_view import display_scale

__all__ = ["group_controls", "export_controls", "summary_html", "selector_params", "restore_params",
           "export_selection", "layout", "selection_text", "classify_text", "mark_text", "auto_targets", "mean_items",
           "typical_current"]

#: the groups Auto (classify) fills, and where it puts its split when the user made those
AUTO_GROUPS = (("particle", "substrate"), ("particle (auto)", "substrate (auto)"))


def typical_current(current, landed):
    """A large current of the landed curves (99.5th percentile of |i| of up to ~400 of them): the display unit."""
    good = np.flatnonzero(landed)
    sample = current[good[:: max(1, good.size // 400)]] if good.size else current[:1]
    with np.errstate(invalid="ignore"):
        return float(np.nanpercentile(np.abs(sample), 99.5)) if np.isfinite(sample).any() else 0.0


def selection_text(n_selected, n_used, n_drawn, seconds):
    """The line under the map: how many pixels are selected, used and drawn."""
    if n_selected == 0:
        return "<i>No pixel selected.</i>"
    n_fail = n_selected - n_used
    extra = f", {n_fail} failed left out" if n_fail else ""
    more = f" (showing {n_drawn} of them)" if n_used > n_drawn else ""
    return (f"<b>Selection: {n_selected} pixels</b> ({n_used} used{extra}){more}. "
            f"<span style='color:#777'>updated in {seconds * 1e3:.0f} ms</span>")


def auto_targets(sel):
    """(names, kept): the groups Auto (classify) fills, and the user's groups it leaves alone."""
    def users(name):
        return name in sel.group_masks and sel.group_masks[name].any() and name not in sel._auto_made

    kept = tuple(n for n in AUTO_GROUPS[0] if users(n))
    return (AUTO_GROUPS[1] if kept else AUTO_GROUPS[0]), kept


def classify_text(mask, split, caught, kept):
    """The status line after Auto (classify): the split made and where it went, or why none was made."""
    if split is None:  # classify declined: too few landings or one population
        note = mask.attrs.get("note") or "; ".join(str(w.message) for w in caught)
        return (f"Auto (classify): no particle/substrate split: {note}. Your groups were left as they are; "
                "select the pixels by hand, or classify on another map or potential window.")
    names, part = split
    thr = mask.attrs["threshold"]
    label, scale = display_scale(str(mask.attrs.get("threshold_units", "")), [thr])
    how = {"auto": "threshold between the two populations", "otsu": "Otsu threshold"}.get(
        mask.attrs["recipe"].threshold, "threshold")
    text = (f"Auto (classify): {names[0]}: {int(part.sum())} pixels, {names[1]}: {int((~part).sum())} pixels "
            f"({how} {thr * scale:.3g} {label} on the {mask.attrs['activity']} map; failed landings take their "
            "neighbours' label).")
    if kept:
        text += f" Your group(s) {', '.join(repr(k) for k in kept)} were left as they are."
    return text


def mean_items(sel, min_band):
    """What the curve plot draws per group: (legend, colour, potential, statistics, curves when too few for a band)."""
    items = []
    for name, st in sel._stats.items():
        if st is None:
            continue
        rows, stats = st
        pot = sel._pot if sel._pot.ndim == 1 else stats_of(sel._pot, rows)["mean"]
        few = rows.size < min_band
        curves = [(sel._pot if sel._pot.ndim == 1 else sel._pot[r], sel._cur[r]) for r in rows] if few else None
        legend = f"{name} (n={rows.size}{': curves, too few for a band' if few else ''})"
        items.append((legend, sel.colors.get(name, "#000000"), pot, stats, curves))
    return items


def mark_text(n, status):
    """The status line after marking landings by hand."""
    if status in (None, "auto"):
        return f"{n} landing(s) labelled by the statistics again (hover over a pixel to see why)."
    used = "used in statistics" if status == "landed" else "left out of statistics"
    return (f"Marked {n} landing(s) as {status.replace('_', ' ')} by hand: they are {used}. "
            "'Automatic label' gives them back to the statistics.")


def _box(description, width, **kw):
    return W.Checkbox(description=description, indent=False, layout=W.Layout(width=width), **kw)


def group_controls(sel):
    """Checkboxes, group buttons and the selection line; linked to the selector's traits and methods."""
    g = sel.status.guard
    for name, text, width in (("mark_failed", "Mark failed landings (×)", "210px"),
                              ("show_groups", "Show groups on the map", "200px"),
                              ("include_failed", "Use failed landings in statistics", "250px")):
        box = _box(text, width, value=getattr(sel, name))
        W.link((sel, name), (box, "value"))
        setattr(sel, f"{name}_box", box)
    sel.group_choice = W.Dropdown(options=[], description="Group:", layout=W.Layout(width="230px"))
    sel.add_button = W.Button(description="Add selection to group", button_style="primary",
                              layout=W.Layout(width="190px"), tooltip="Put the selected pixels into the chosen group")
    sel.remove_button = W.Button(description="Remove selection", layout=W.Layout(width="150px"),
                                 tooltip="Take the selected pixels out of the chosen group")
    sel.clear_button = W.Button(description="Clear group", layout=W.Layout(width="110px"),
                                tooltip="Empty the chosen group")
    sel.auto_button = W.Button(description="Auto (classify)", button_style="info", layout=W.Layout(width="140px"),
                               tooltip="Fill 'particle' and 'substrate' by thresholding the activity map (Otsu)")
    sel.mark_buttons = {
        "landed": W.Button(description="Mark landed", layout=W.Layout(width="120px"),
                           tooltip="The selected landings are good: use them in statistics"),
        "failed_landing": W.Button(description="Mark failed", layout=W.Layout(width="120px"),
                                   tooltip="The selected landings failed: leave them out of statistics"),
        None: W.Button(description="Automatic label", layout=W.Layout(width="140px"),
                       tooltip="Give the selected landings back to the automatic landing-quality labels"),
    }
    for status, button in sel.mark_buttons.items():
        button.on_click(g(lambda b, status=status: sel.mark(status)))
    sel.new_name = W.Text(placeholder="new group name", layout=W.Layout(width="160px"))
    sel.new_button = W.Button(description="New group", layout=W.Layout(width="100px"))
    sel.selection_info = W.HTML("<i>No pixel selected: drag a box or a lasso on the map, or click a pixel.</i>")
    sel.summary_html = W.HTML()
    sel.add_button.on_click(g(lambda b: sel.add_to_group(sel.group_choice.value)))
    sel.remove_button.on_click(g(lambda b: sel.remove_from_group(sel.group_choice.value)))
    sel.clear_button.on_click(g(lambda b: sel.clear_group(sel.group_choice.value)))
    sel.auto_button.on_click(g(lambda b: sel.auto_classify()))

    @g
    def on_new(_):
        sel.new_group(sel.new_name.value)
        sel.new_name.value = ""

    sel.new_button.on_click(on_new)


def export_controls(sel):
    """Folder, name and button of the export panel."""
    sel.export_folder = W.Text(placeholder="/folder/for/results", description="Folder:", layout=W.Layout(width="420px"))
    sel.export_prefix = W.Text(value="seccm", description="Name:", layout=W.Layout(width="200px"))
    sel.export_button = W.Button(description="Export masks and mean curves", icon="save",
                                 layout=W.Layout(width="230px"),
                                 tooltip="Writes <name>_groups.nc, <name>_groups.csv and <name>_mean_curves.csv; "
                                         "existing files are never replaced")

    @sel.status.guard
    def on_export(_):
        from ..safety import confined, export_dir, shown_name

        folder = sel.export_folder.value.strip()
        if not folder and not confined():
            raise ParameterError("type the folder to write into (it must exist)")
        folder = export_dir(folder)
        paths = sel.export(folder, prefix=sel.export_prefix.value or "seccm")
        sel.status.info("Written: " + ", ".join(p.name for p in paths)
                        + f" in {shown_name(Path(folder).expanduser())}")

    sel.export_button.on_click(on_export)
    sel.export_widget = W.VBox([W.HBox([sel.export_folder, sel.export_prefix]), sel.export_button])


def summary_html(sel):
    """The group table: pixels, charge and peak potentials per group (mean ± sd over pixels)."""
    if not any(m.any() for m in sel.group_masks.values()):
        return ("<i>No pixels in any group yet: select pixels and press 'Add selection to group', "
                "or 'Auto (classify)'.</i>")
    df = sel.summary()
    qs = display_scale("C", df["charge_mean_C"].values)
    th = "padding:2px 10px;text-align:right;border-bottom:1px solid #999"
    head = ["group", "pixels", "used", "failed", f"charge / {qs[0]}", "E<sub>pa</sub> / V", "E<sub>pc</sub> / V"]
    out = ["<table style='border-collapse:collapse'><tr>" + "".join(f"<th style='{th}'>{h}</th>" for h in head)
           + "</tr>"]

    def pm(m, s, scale=1.0, fmt=".3g"):
        if not np.isfinite(m):
            return "–"
        return f"{m * scale:{fmt}} ± {s * scale:{fmt}}" if np.isfinite(s) else f"{m * scale:{fmt}}"

    td = "padding:2px 10px;text-align:right"
    for _, r in df.iterrows():
        col = sel.colors.get(r["group"], "#000")
        cells = [f"<span style='color:{col};font-size:130%'>■</span> {html.escape(str(r['group']))}",
                 str(r["n_pixels"]), str(r["n_used"]), str(r["n_failed"]),
                 pm(r["charge_mean_C"], r["charge_sd_C"], qs[1]),
                 pm(r["E_pa_mean_V"], r["E_pa_sd_V"], fmt=".3f") + (f" (n={r['E_pa_n']})" if r["E_pa_n"] else ""),
                 pm(r["E_pc_mean_V"], r["E_pc_sd_V"], fmt=".3f") + (f" (n={r['E_pc_n']})" if r["E_pc_n"] else "")]
        out.append("<tr>" + "".join(f"<td style='{td}'>{c}</td>" for c in cells) + "</tr>")
    out.append("</table><span style='color:#777'>mean ± standard deviation over pixels; peak potentials "
               "only where a peak was found (n)</span>")
    return "".join(out)


def selector_params(sel):
    """JSON-serialisable state of a selector (``PixelSelector.params``)."""
    p = {
        "recipe": sel.recipe.to_dict(),
        "map": sel.options.shown,
        "groups": {name: np.flatnonzero(m).tolist() for name, m in sel.group_masks.items()},
        "colors": dict(sel.colors),
        "options": {"mark_failed": bool(sel.mark_failed), "show_groups": bool(sel.show_groups),
                    "include_failed": bool(sel.include_failed)},
        "n_pixels": int(len(sel._status)),
        "auto_groups": sorted(sel._auto_made & set(sel.group_masks)),
    }
    if "status_override" in sel.ds:
        marks = np.asarray(sel.ds.status_override.values).astype(str)
        p["status_override"] = {str(i): str(marks[i]) for i in np.flatnonzero(marks != "")}
    if sel.overlay is not None:
        p["overlay"] = sel.overlay.params
    return p


def restore_params(sel, params):
    """Apply a state saved from ``PixelSelector.params`` (also older ones with ``map_options``)."""
    if not isinstance(params, dict):
        raise ParameterError(f"params: expected a dict from PixelSelector.params, found {type(params).__name__}")
    n = params.get("n_pixels", len(sel._status))
    if n != len(sel._status):
        raise ParameterError(f"params were saved for a scan of {n} pixels; this scan has {len(sel._status)}")
    if "recipe" in params:
        sel.recipe = AnalysisRecipe.coerce(params["recipe"])
    elif "map_options" in params:  # before recipes: potential and onset current of the map chooser
        mo = params["map_options"]
        sel.recipe = sel.recipe.replace(map=sel.recipe.map.replace(
            potential=mo.get("potential", sel.recipe.map.potential),
            onset_current=mo.get("onset_current", sel.recipe.map.onset_current)))
    marks = params.get("status_override", {})
    if "status_override" in sel.ds or marks:
        sel.mark(None, np.arange(len(sel._status)))  # the statistics' labels, then the saved marks
        for status in sorted(set(marks.values())):
            sel.mark(status, [int(i) for i, s in marks.items() if s == status])
    opt = params.get("options", {})
    sel.mark_failed = bool(opt.get("mark_failed", True))
    sel.show_groups = bool(opt.get("show_groups", True))
    sel.include_failed = bool(opt.get("include_failed", False))
    for name, c in params.get("colors", {}).items():
        sel.colors[name] = str(c)
    masks = {}
    for name, idx in params.get("groups", {}).items():
        m = np.zeros(len(sel._status), bool)
        m[np.asarray(idx, dtype=np.int64)] = True
        masks[name] = m
    for name in masks:
        if name not in sel.group_masks:
            sel.new_group(name)
    sel._set_masks(**masks)
    sel._auto_made = sel._auto_made | (set(params.get("auto_groups", ())) & set(masks))
    shown = params.get("map")
    if shown in MAPS or shown in ALIASES or shown in sel._custom:
        sel.show_map(shown)
    if sel.overlay is not None and params.get("overlay"):
        sel.overlay.set_params(params["overlay"])


def export_selection(sel, folder, prefix):
    """Group masks, mean curves and the selector's params into ``folder`` (never replacing a file)."""
    groups = {k: v for k, v in sel.group_masks.items() if v.any()}
    paths = export_groups(sel.ds, groups, folder, prefix=prefix, include_failed=sel.include_failed)
    p = free_path(Path(folder).expanduser() / f"{safe_name(prefix)}_selector.json")
    p.write_text(json.dumps(sel.params, indent=1), encoding="utf-8")
    return paths + [p]


def layout(sel, bokeh_widget):
    """The selector's root widget."""
    from bokeh.layouts import row

    hint = W.HTML("<span style='color:#555'>Map tools (right of the map): box select (default), lasso, click "
                  "(tap); Shift adds to the selection. Hover over a pixel to see its value and why its landing got "
                  "its label. Pixels marked × are failed landings: shown, but left out of means and statistics "
                  "unless ticked below; mark landings yourself with the buttons under the groups.</span>")
    rows = [
        sel.options.widget,
        W.HBox([sel.mark_failed_box, sel.show_groups_box, sel.include_failed_box]),
        hint,
        bokeh_widget(row(sel.map_view.figure, sel.curve_view.figure)),
        sel.selection_info,
        W.HBox([sel.group_choice, sel.add_button, sel.remove_button, sel.clear_button]),
        W.HBox([sel.auto_button, sel.classify_options.widget]),
        W.HBox([W.HTML("Landing quality of the selection:", layout=W.Layout(width="220px")),
                *sel.mark_buttons.values()]),
        W.HBox([sel.new_name, sel.new_button]),
        sel.status,
        W.HTML("<b>Groups</b> (statistics over landed pixels)"),
        sel.summary_html,
    ]
    if sel.overlay is not None and "overlay" in sel.panels:
        acc = W.Accordion(children=[sel.overlay.widget])
        acc.set_title(0, "Correlative overlay: SEM / optical image")
        rows.append(acc)
    if "export" in sel.panels:
        exp = W.Accordion(children=[sel.export_widget])
        exp.set_title(0, "Export masks and mean curves")
        rows.append(exp)
    return W.VBox(rows)
