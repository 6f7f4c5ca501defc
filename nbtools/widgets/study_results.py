"""The results part of the Study dashboard: files table, population explorer, one file's analysis.

Views over a :class:`nbtools.study.Study`: every number comes from the study
(its tables and statistics) or from :mod:`nbtools.study.statistics`.
"""

from __future__ import annotations

import html

import ipywidgets as W
import numpy as np

from .display import bokeh_widget

__all__ = ["FilesTable", "PopulationExplorer", "file_detail"]

_SUMMARY = {"impact": [("n_events", "events"), ("frequency", "frequency / s⁻¹"), ("noise", "noise")],
            "seccm": [("n_particles", "particles"), ("n_landed", "landed"), ("n_fitted", "fitted")],
            "stick": [("radius", "radius"), ("D", "D / m² s⁻¹"), ("ks", "k_s / s⁻¹")],
            "gitt": [("n_pulses", "pulses"), ("D_mean", "D / m² s⁻¹"), ("noise", "noise / V")]}
_UNITS = {"noise": "A", "radius": "m"}
_TABLE_STYLE = ("<style>.nbtools-study-stats table{border-collapse:collapse;font-size:13px;margin:4px 0 10px 0}"
                ".nbtools-study-stats th,.nbtools-study-stats td{border:1px solid #d0d7de;padding:2px 6px}"
                ".nbtools-study-stats th{background:#f6f8fa}</style>")


class RowsTable:
    """A Bokeh DataTable of text columns; a click on a row calls ``on_select(key of the row)``."""

    def __init__(self, on_select, *, height=220, widths=None):
        from bokeh.models import ColumnDataSource, DataTable, TableColumn

        self.on_select = on_select
        self.keys: list[str] = []
        self.widths = dict(widths or {})
        self.source = ColumnDataSource(data={"name": []})
        self.table = DataTable(source=self.source, columns=[TableColumn(field="name", title="file")], height=height,
                               width=1000, index_position=None, selectable=True, sortable=False)
        self.widget = bokeh_widget(self.table)

    def _on_indices(self, attr, old, new):
        self.on_select(self.keys[int(new[0])] if new else None)

    def show(self, data: dict, titles: dict, keys) -> None:
        """Rows ``data`` (column -> list of text), headers ``titles``; ``keys[i]`` is passed on a click of row i."""
        from bokeh.models import ColumnDataSource, TableColumn

        self.keys = list(keys)
        src = ColumnDataSource(data=data)  # a new source: a DataTable does not redraw on new data alone
        src.selected.on_change("indices", self._on_indices)
        self.source = src
        self.table.columns = [TableColumn(field=c, title=t, width=self.widths.get(c, 100)) for c, t in titles.items()]
        self.table.source = src


def _text(values, unit=""):
    from ..study.report import fmt

    return [v if isinstance(v, str) else fmt(v, unit) for v in values]


class FilesTable(RowsTable):
    """The study's files (status, message, summary); a click calls ``on_select(name)``."""

    def __init__(self, on_select):
        super().__init__(on_select, widths={"name": 240, "message": 320})

    def show(self, study) -> None:
        """Rows of ``study.files``."""
        f = study.files
        titles = {"name": "file", "condition": "condition", "status": "status", "message": "message"}
        titles.update({c: t for c, t in _SUMMARY[study.technique] if c in f})
        data = {c: _text(f[c], _UNITS.get(c, "")) for c in titles}
        data["reused"] = np.where(f["reused"], "reused", "analysed").tolist()
        titles["reused"] = "this run"
        super().show(data, titles, f["name"])


class PopulationExplorer:
    """A property of the population: its histogram per condition and its statistics."""

    #: most population rows listed (the CSV has them all)
    MAX_ROWS = 2000

    def __init__(self, status, on_select):
        from bokeh.layouts import column
        from bokeh.plotting import figure

        self.status = status
        self.rows = RowsTable(on_select, height=200, widths={"name": 240})
        self.study = None
        self.column = W.Dropdown(description="Property:", options=[], layout=W.Layout(width="300px"))
        # a linear and a logarithmic x axis (an axis type cannot change): the one that suits the values is shown
        self.figs = {log: figure(width=760, height=300, x_axis_type="log" if log else "linear", visible=not log,
                                 title="Population: run a study (or open one) to see it", toolbar_location="right")
                     for log in (False, True)}
        for f in self.figs.values():
            f.yaxis.axis_label = "fraction of the condition's entities"
        self.stats = W.HTML()
        self.stats.add_class("nbtools-study-stats")
        self.column.observe(status.guard(lambda _: self._draw()), names="value")
        self.rows_note = W.HTML()
        self.widget = W.VBox([self.column, bokeh_widget(column(*self.figs.values())), self.stats, self.rows_note,
                              self.rows.widget])

    def show(self, study) -> None:
        """Offer the study's numeric population columns (the technique's main properties first)."""
        from ..study.population import PROPERTIES

        self.study = study
        pop = study.population
        numeric = [c for c in pop.columns if pop[c].dtype.kind == "f" and not c.endswith("_stderr")]
        first = [c for c in PROPERTIES[study.technique] if c in numeric]
        options = first + [c for c in numeric if c not in first]
        keep = self.column.value if self.column.value in options else (options[0] if options else None)
        self.column.options = options
        if self.column.value != keep:
            self.column.value = keep  # draws
        else:
            self._draw()

    def _draw(self) -> None:
        from bokeh.palettes import Category10_10

        from ..study.population import ABSOLUTE
        from ..study.report import html_table, shown_distributions, si_axis
        from ..study.statistics import grouped_histogram

        col, s = self.column.value, self.study
        for f in self.figs.values():
            f.renderers = []
        if s is None or col is None:
            return
        good = s.population[s.population["quality"] == "ok"]
        h = grouped_histogram(good, col, "condition", absolute=col in ABSOLUTE)
        unit = s.units.get(col, "")
        fig = self.figs[h.attrs["log"]]
        self.figs[not h.attrs["log"]].visible, fig.visible = False, True
        fig.title.text = f"{col}{' (magnitude)' if col in ABSOLUTE else ''}"
        si_axis(fig.xaxis, col, unit)
        for i, name in enumerate(dict.fromkeys(h["group"])):
            g = h[h["group"] == name]
            y = g["fraction"].to_numpy()
            fig.step(x=np.r_[g["left"].to_numpy(), g["right"].iloc[-1]], y=np.r_[y, y[-1]], mode="after",
                     line_width=2, color=Category10_10[i % 10], legend_label=f"{name} (n={int(g['count'].sum())})")
        d = s.statistics.get("distributions")
        rows = d[d["column"] == col] if d is not None and len(d) else None
        tests = s.statistics.get("tests")
        test = tests[tests["column"] == col] if tests is not None and len(tests) else None
        self._rows(good, col, unit)
        shown = shown_distributions(rows, s.units) if rows is not None else None
        self.stats.value = (_TABLE_STYLE + "<b>Medians and means with bootstrap 95 % intervals</b>" + html_table(shown, {})
                            + ("<b>Rank test across conditions</b>" + html_table(test.drop(columns=["left_out"],
                                                                                           errors="ignore"), {})
                               if test is not None and len(test) else ""))


    def _rows(self, pop, col, unit) -> None:
        """The entities, largest ``col`` first (a click opens the entity's file)."""
        top = pop.sort_values(col, ascending=False, key=lambda v: v.abs(), na_position="last").head(self.MAX_ROWS)
        extra = [c for c in ("event", "particle", "t_peak", "radius", "charge") if c in top and c != col][:3]
        titles = {"name": "file", "condition": "condition", col: col}
        titles.update({c: c for c in extra})
        data = {c: _text(top[c], self.study.units.get(c, "")) for c in titles}
        self.rows.show(data, titles, top["name"])
        self.rows_note.value = (f"<b>Entities</b> ({min(len(pop), self.MAX_ROWS)} of {len(pop)} with quality ok, "
                                f"largest {html.escape(col)} first; population.csv has them all). Click one to open "
                                "its file's analysis.")


def file_detail(study, name):
    """A widget with one file's analysis: the nanoimpact SpikePicker on the recording (with its blank and the
    study's recipe), the SECCM PixelSelector on the scan, or a particle's tables."""
    row = study.files[study.files["name"] == name].iloc[0]
    head = W.HTML(f"<h4 style='margin:6px 0'>{html.escape(name)}: {html.escape(str(row['status']))}</h4>"
                  + (f"<div>{html.escape(str(row['message']))}</div>" if row["message"] else ""))
    if row["status"] == "failed":
        return W.VBox([head])
    options = study.manifest.get("settings", {}).get("options") or {}
    if study.technique == "impact":
        from ..io import load_trace
        from ..study.techniques import reader_options
        from ..study.techniques.impact import effective_recipe
        from .spike_picker import SpikePicker

        blank = row.get("blank")
        blank = blank if isinstance(blank, str) and blank else None
        trace = load_trace(row["file"], **reader_options(row["file"], options, "trace"))
        bt = load_trace(blank, **reader_options(blank, options, "trace")) if blank else None
        if study.recipe.blank is None:  # the study detected with the recording's own noise (the blank: false events)
            bt = None
        picker = SpikePicker(trace, bt, recipe=effective_recipe(study.recipe, blank).replace(blank=None)
                             if bt is not None else study.recipe)
        return W.VBox([head, picker.widget])
    if study.technique == "seccm":
        from ..io import load_scan
        from ..study.techniques import reader_options
        from ..study.techniques.seccm import as_analysis
        from .pixel_selector import PixelSelector

        ds = load_scan(row["file"], **reader_options(row["file"], options, "scan"))
        return W.VBox([head, PixelSelector(ds, recipe=as_analysis(study.recipe)[0]).widget])
    from ..study.report import html_table

    tables = study.tables(name)
    parts = [f"<b>{html.escape(k)}</b>" + html_table(v, v.attrs.get("units", {})) for k, v in tables.items()]
    return W.VBox([head, W.HTML("".join(parts))])
