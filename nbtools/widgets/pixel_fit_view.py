"""PixelFitView: one fitted pixel's voltammogram with the fitted curve over it and the residuals.

Display only: the curves come from :func:`nbtools.seccm.pixel_fit_curve`, the
numbers of the caption from the fit result (goodness of fit against the
pixel's own noise, parameters the data do not determine). ``comparison_html``
draws :func:`nbtools.seccm.compare_fits` as a table.
"""

from __future__ import annotations

import html

import ipywidgets as W
import numpy as np

from .. import seccm
from ..kinetics.registry import param_name
from ..kinetics.results import format_quantity
from ..plotting import current_display_unit
from .display import bokeh_widget

__all__ = ["PixelFitView", "comparison_html"]

_TOOLS = "pan,box_zoom,wheel_zoom,reset,save"
#: most pixels listed one by one in the comparison table
MAX_ROWS = 20


class PixelFitView:
    """Data (points), fit (line) and residuals of the chosen fitted pixel; ``.pixel`` Dropdown, ``.caption``."""

    def __init__(self, ds, guard=lambda f: f):
        from bokeh.layouts import column
        from bokeh.models import ColumnDataSource, Span
        from bokeh.plotting import figure

        self.ds = ds
        self.result = None
        self.pixel = W.Dropdown(options=[], description="Pixel:", layout=W.Layout(width="420px"),
                                tooltip="a fitted pixel: its data with the fitted curve over them")
        self.caption = W.HTML()
        self.data_source = ColumnDataSource(dict(x=[], y=[]))
        self.fit_source = ColumnDataSource(dict(x=[], y=[]))
        self.resid_source = ColumnDataSource(dict(x=[], r=[]))
        self.figure = figure(height=280, width=620, tools=_TOOLS, title="Fitted pixel: data and fit",
                             x_axis_label="E / V", output_backend="canvas")
        self.figure.scatter("x", "y", source=self.data_source, size=3, color="#7f8c9a", legend_label="data")
        self.figure.line("x", "y", source=self.fit_source, color="#b00020", line_width=2, legend_label="fit")
        self.figure.legend.location = "top_left"
        self.resid = figure(height=150, width=620, tools=_TOOLS, x_range=self.figure.x_range,
                            title="Residuals (data - fit)", x_axis_label="E / V", output_backend="canvas")
        self.resid.scatter("x", "r", source=self.resid_source, size=3, color="#1f4e9c")
        self.resid.add_layout(Span(location=0, dimension="width", line_color="#888"))
        for f in (self.figure, self.resid):
            f.toolbar.logo = None
        self.pixel.observe(guard(lambda c: self.draw()), names="value")
        self.widget = W.VBox([self.pixel, self.caption, bokeh_widget(column(self.figure, self.resid))])
        self.widget.layout.display = "none"

    def show(self, result):
        """List the fitted pixels of ``result`` (None: hide) and draw the first."""
        self.result = result
        drawable = result is not None and result.attrs["recipe"].model != "given"  # an instance: no curve here
        ok = np.flatnonzero(result.fit_status.values == "ok").tolist() if drawable else []
        self.widget.layout.display = None if ok else "none"
        opts = [(self._label(p), p) for p in ok]
        keep = self.pixel.value if self.pixel.value in ok else (ok[0] if ok else None)
        self.pixel.options = opts
        self.pixel.value = keep
        self.draw()

    def follow(self, pixels):
        """Show the first of ``pixels`` (a selection) that was fitted."""
        if self.result is None:
            return
        fitted = set(o[1] for o in self.pixel.options)
        for p in np.asarray(pixels).tolist():
            if p in fitted:
                self.pixel.value = p
                return

    def _label(self, p):
        ds, r = self.ds, self.result
        where = f"pixel {p} (column {int(ds.ix.values[p])}, row {int(ds.iy.values[p])})"
        nd = _not_determined(r, p)
        return where + (": " + ", ".join(param_name(k)[1] for k in nd) + " not determined" if nd else "")

    def draw(self):
        p = self.pixel.value
        if self.result is None or p is None:
            for s in (self.data_source, self.fit_source):
                s.data = dict(x=[], y=[])
            self.resid_source.data = dict(x=[], r=[])
            self.caption.value = ""
            return
        c = seccm.pixel_fit_curve(self.result, self.ds, p)
        peak = float(np.nanmax(np.abs(c["current"]))) if c["current"].size else 0.0
        unit, scale = current_display_unit(peak)
        self.data_source.data = dict(x=c["potential"], y=c["current"] * scale)
        self.fit_source.data = dict(x=c["potential"], y=c["fit"] * scale)
        self.resid_source.data = dict(x=c["potential"], r=c["residual"] * scale)
        self.figure.yaxis.axis_label = f"I / {unit}"
        self.resid.yaxis.axis_label = f"residual / {unit}"
        self.caption.value = _caption(self.result, self.ds, p, unit, scale)


def _not_determined(result, p):
    if "not_determined" not in result:
        return {}
    row = result.not_determined.values[p]
    return {k: str(v) for k, v in zip(result.parameter.values.tolist(), row) if v}


def _value(result, ds, name, p):
    a = result[name]
    v = a.values[p] if a.dims == ("pixel",) else seccm.from_grid(a, ds).values[p]
    return float(v)


def _caption(result, ds, p, unit, scale):
    """The pixel's goodness of fit and its undetermined parameters, in words."""
    rc = _value(result, ds, "redchi_noise", p) if "redchi_noise" in result else np.nan
    r2 = _value(result, ds, "r2", p) if "r2" in result else np.nan
    noise = _value(result, ds, "noise", p) if "noise" in result else np.nan
    struct = bool(result.resid_structure.values[p]) if "resid_structure" in result else False
    parts = [f"R² {r2:.3f}" if np.isfinite(r2) else "",
             (f"residuals {np.sqrt(rc):.2g} times this curve's noise ({format_quantity(noise, 'A')}); "
              f"reduced χ² relative to the noise {rc:.3g} (about 1 for a model that follows the data)")
             if np.isfinite(rc) else ""]
    text = "; ".join(x for x in parts if x)
    warn = []
    if struct:
        warn.append("the residuals have structure: the model does not follow a feature of these data")
    for k, why in _not_determined(result, p).items():
        label, symbol = param_name(k)
        warn.append(f"{label} {symbol} not determined ({why})")
    body = html.escape(text) + "".join(f"<br><span style='color:#8a5300'>{html.escape(w)}</span>" for w in warn)
    return f"<div class='nbtools-pixel-fit' style='max-width:900px'>{body}</div>"


def comparison_html(table) -> str:
    """:func:`nbtools.seccm.compare_fits` as HTML: the verdict, per-model counts, the first pixels."""
    s = seccm.comparison_summary(table)
    head = ("<tr><th align=left>model</th><th>fitted parameters</th><th>pixels where AIC prefers it</th>"
            "<th>where BIC prefers it</th><th>median Akaike weight</th></tr>")
    rows = "".join(f"<tr><td>{html.escape(m)}</td><td>{int(r['parameters'])}</td><td>{int(r['preferred_aic'])}</td>"
                   f"<td>{int(r['preferred_bic'])}</td><td>{r['median_weight']:.2f}</td></tr>"
                   for m, r in s.iterrows())
    models = list(table.attrs["models"])
    px = "".join(
        f"<tr><td>{p}</td>" + "".join(f"<td>{row[f'aic: {m}']:.1f}</td>" for m in models)
        + f"<td>{html.escape(str(row['preferred_aic']))}</td><td>{row['delta_aic']:.3g}</td></tr>"
        for p, row in table.head(MAX_ROWS).iterrows())
    pxhead = ("<tr><th>pixel</th>" + "".join(f"<th>AIC {html.escape(m)}</th>" for m in models)
              + "<th>preferred</th><th>ΔAIC</th></tr>")
    more = f"<br><i>first {MAX_ROWS} of {len(table)} pixels</i>" if len(table) > MAX_ROWS else ""
    style = "<table style='border-collapse:collapse' cellpadding=4>"
    return (f"<div class='nbtools-model-comparison'><b>Model comparison</b> "
            f"<span style='color:#555'>(same data: {html.escape(table.attrs['data'])}; lower AIC/BIC is better; "
            f"ΔAIC above 10 is decisive)</span><br>{html.escape(seccm.comparison_text(table))}"
            f"{style}{head}{rows}</table>{style}{pxhead}{px}</table>{more}</div>")
