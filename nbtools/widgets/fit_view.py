"""Display parts of the fit panel: the data/fit/residual plot and the HTML report.

Display only: the curves come from :func:`nbtools.kinetics.model_curve` and the
fit result, the numbers of the report from :func:`nbtools.kinetics.fit_summary`.
"""

from __future__ import annotations

import html
import re

import numpy as np

from ..kinetics import format_quantity
from ..kinetics.registry import PARAM_NAMES, param_name
from ..kinetics.results import fit_quality_text
from ..plotting import current_display_unit

__all__ = ["FitPlot", "comparison_html", "report_html", "warnings_html", "model_info_html", "axis_label", "param_cell",
           "plain_params"]

MAX_PLOT_POINTS = 20_000
_TOOLS = "pan,box_zoom,wheel_zoom,reset,save"


def _every(n: int) -> int:
    return max(1, n // MAX_PLOT_POINTS)


class FitPlot:
    """Data (points), start values (dashed), fit (line) and residuals of one curve (Bokeh).

    ``y`` is shown in a prefixed unit (nA, pA ...) when the model's y unit is A.
    """

    def __init__(self, x, y):
        from bokeh.layouts import column
        from bokeh.models import ColumnDataSource, Span
        from bokeh.plotting import figure

        self.x, self.y = x, y
        finite = y[np.isfinite(y)]
        self._peak = float(np.max(np.abs(finite))) if finite.size else 0.0
        self.y_unit, self.y_scale = "A", 1.0
        self.data_source = ColumnDataSource(data=dict(x=[], y=[]))
        self.fit_source = ColumnDataSource(data=dict(x=[], y=[]))
        self.start_source = ColumnDataSource(data=dict(x=[], y=[]))
        self.resid_source = ColumnDataSource(data=dict(x=[], r=[]))
        self.figure = figure(height=300, sizing_mode="stretch_width", tools=_TOOLS, active_scroll=None,
                             output_backend="canvas", title="Data and fit")
        self.figure.scatter("x", "y", source=self.data_source, size=4, color="#7f8c9a", alpha=0.8,
                            legend_label="data")
        self.figure.line("x", "y", source=self.start_source, color="#d08c00", line_dash="dashed",
                         line_width=1.5, legend_label="start values")
        self.figure.line("x", "y", source=self.fit_source, color="#b00020", line_width=2, legend_label="fit")
        # a model with an uncompensated resistance: the data against the potential the particle saw, E - i R_u
        self.ir_source = ColumnDataSource(data=dict(x=[], y=[]))
        self.figure.scatter("x", "y", source=self.ir_source, size=3, color="#1f8a4c", alpha=0.7,
                            legend_label="data against E - i R_u")
        self.figure.legend.location = "top_left"
        self.figure.legend.click_policy = "hide"
        self.resid_figure = figure(height=160, sizing_mode="stretch_width", tools=_TOOLS, active_scroll=None,
                                   x_range=self.figure.x_range, output_backend="canvas",
                                   title="Residuals (data - fit)")
        self.resid_figure.scatter("x", "r", source=self.resid_source, size=3, color="#1f4e9c")
        self.resid_figure.add_layout(Span(location=0, dimension="width", line_color="#888"))
        for f in (self.figure, self.resid_figure):
            f.toolbar.logo = None
        self.layout = column(self.figure, self.resid_figure, sizing_mode="stretch_width")

    def set_axes(self, y_unit: str, x_label: str, y_label: str, resid_label: str) -> None:
        """Axis labels; ``y_unit`` "A" picks a prefixed display unit for the data's size."""
        if y_unit == "A":
            self.y_unit, self.y_scale = current_display_unit(self._peak)
        else:
            self.y_unit, self.y_scale = y_unit, 1.0
        self.figure.xaxis.axis_label = self.resid_figure.xaxis.axis_label = x_label
        self.figure.yaxis.axis_label = y_label.replace("{unit}", self.y_unit)
        self.resid_figure.yaxis.axis_label = resid_label.replace("{unit}", self.y_unit)
        k = _every(self.x.size)
        self.data_source.data = dict(x=self.x[::k], y=self.y[::k] * self.y_scale)

    def show_start(self, x, y) -> None:
        """The model at the starting values (empty arrays: none)."""
        k = _every(np.size(x))
        self.start_source.data = dict(x=np.asarray(x)[::k], y=np.asarray(y)[::k] * self.y_scale)

    def show_fit(self, result, x_name: str) -> None:
        """The fitted curve and its residuals (None: clear)."""
        if result is None:
            self.fit_source.data = dict(x=[], y=[])
            self.resid_source.data = dict(x=[], r=[])
            self.ir_source.data = dict(x=[], y=[])
            return
        xs = np.asarray(result.userkws[x_name], dtype=float)
        k = _every(xs.size)
        self.fit_source.data = dict(x=xs[::k], y=result.best_fit[::k] * self.y_scale)
        self.resid_source.data = dict(x=xs[::k], r=(result.data - result.best_fit)[::k] * self.y_scale)
        ru = result.params.get("Ru")
        if ru is not None and ru.value > 0 and x_name == "E":
            from ..kinetics import ir_corrected_potential

            xe = ir_corrected_potential(xs, result.data, ru.value)
            self.ir_source.data = dict(x=xe[::k], y=np.asarray(result.data)[::k] * self.y_scale)
        else:
            self.ir_source.data = dict(x=[], y=[])


def param_cell(name, p) -> str:
    """A parameter as people read it: its plain name and symbol (the Python name as a tooltip)."""
    label, symbol = p.get("label") or name, p.get("symbol") or name
    text = f"{html.escape(label)}, <i>{html.escape(symbol)}</i>" if symbol != label else html.escape(label)
    return f"<span title='{html.escape(name)}'>{text}</span>"


def _row(name, p, why="") -> str:
    u = p["unit"]
    if not p["vary"] and not p["derived"]:
        return (f"<tr><td>{param_cell(name, p)}</td><td>{format_quantity(p['value'], u)}</td>"
                f"<td colspan=2 style='color:#777'>fixed</td></tr>")
    err = format_quantity(p["stderr"], u) if p["stderr"] is not None else "n/a"
    ci = (f"{format_quantity(p['lower'], u)} … {format_quantity(p['upper'], u)}"
          if p.get("lower") is not None and p.get("upper") is not None else "n/a")
    tag = " <span style='color:#777'>(derived)</span>" if p["derived"] else ""
    if why:
        tag += f" <span style='color:#8a5300'>(not determined: {html.escape(why)})</span>"
    return (f"<tr><td>{param_cell(name, p)}{tag}</td><td><b>{format_quantity(p['value'], u)}</b></td>"
            f"<td>± {err}</td><td>{ci}</td></tr>")


def report_html(summary: dict) -> str:
    """The fit report table from :func:`nbtools.kinetics.fit_summary`."""
    lvl = summary["interval_level"]
    st = summary["statistics"]
    ivl = (f"{lvl:.0%} interval ({html.escape(str(summary['interval_method']))})" if lvl else "interval (none)")
    head = ("<tr><th align=left>parameter</th><th align=left>fitted value</th>"
            f"<th align=left>standard error</th><th align=left>{ivl}</th></tr>")
    conv = "Fit converged" if st["success"] else "Fit did not converge"
    nd = summary.get("not_determined", {})
    rows = "".join(_row(name, p, nd.get(name, "")) for name, p in summary["params"].items())
    return (f"<div class='nbtools-fit-report'><b>{conv}</b> ({html.escape(st['message'])}); "
            f"{html.escape(fit_quality_text(st))}.<table style='border-collapse:collapse' cellpadding=4>"
            + head + rows + "</table></div>")


def comparison_html(table) -> str:
    """:func:`nbtools.kinetics.compare_results` as HTML: AIC, BIC, weights, and the nested tests in words."""
    best = table.attrs["preferred_aic"]
    rows = "".join(f"<tr><td>{'<b>' if m == best else ''}{html.escape(m)}{'</b>' if m == best else ''}</td>"
                   f"<td>{int(r['parameters'])}</td><td>{r['aic']:.1f}</td><td>{r['bic']:.1f}</td>"
                   f"<td>{r['delta_aic']:.3g}</td><td>{r['weight']:.2f}</td></tr>" for m, r in table.iterrows())
    tests = []
    for pair, t in table.attrs["tests"].items():
        a, b = pair.split(" vs ")
        verdict = "needed" if t["f_p"] < 0.05 else "not needed"
        tests.append(f"{a} is a special case of {b}: {b}'s extra parameters are {verdict} (F test p = "
                     f"{t['f_p']:.2g}, likelihood-ratio test p = {t['lr_p']:.2g})")
    second = table["delta_aic"].drop(best).min() if len(table) > 1 else np.nan
    strength = "decisively" if second > 10 else "clearly" if second > 2 else "only weakly"
    head = (f"AIC prefers <b>{html.escape(best)}</b> ({strength}: ΔAIC {second:.3g} to the next), BIC prefers "
            f"{html.escape(table.attrs['preferred_bic'])}. The preferred model is the better of those tried, not "
            "necessarily a good one: check its residuals.")
    return ("<div class='nbtools-model-comparison'><b>Models fitted to these points</b> <span style='color:#555'>"
            "(lower AIC/BIC is better)</span><br>" + head
            + "".join(f"<br>{html.escape(t)}" for t in tests)
            + "<table style='border-collapse:collapse' cellpadding=4><tr><th align=left>model</th><th>parameters</th>"
              "<th>AIC</th><th>BIC</th><th>ΔAIC</th><th>Akaike weight</th></tr>" + rows + "</table></div>")


def plain_params(text: str) -> str:
    """``text`` with quoted parameter names (``'tau'``) replaced by their plain names and symbols
    (``the diffusion time r²/D (τ)``)."""
    def name(m):
        if m.group(1) not in PARAM_NAMES and param_name(m.group(1)) == (m.group(1), m.group(1)):
            return m.group(0)
        label, symbol = param_name(m.group(1))
        return f"the {label} ({symbol})"

    return re.sub(r"'([A-Za-z_][A-Za-z_0-9]*)'", name, text)


def warnings_html(messages) -> str:
    """The fit's warnings as a list ('' for none), parameters named in plain words."""
    if not messages:
        return ""
    items = "".join(f"<li>{html.escape(plain_params(m))}</li>" for m in messages)
    return (f"<div class='nbtools-fit-warnings' style='color:#8a5300'>"
            f"<b>Warnings</b><ul style='margin:2px 0'>{items}</ul></div>")


def model_info_html(entry) -> str:
    """What the registry says about a model: description, validity, identifiability tip."""
    tip = f"<br>Tip: {html.escape(entry.hints)}" if entry.hints else ""
    return (f"<div style='max-width:900px'><b>{html.escape(entry.description)}</b><br>"
            f"<span style='color:#555'>Valid: {html.escape(entry.validity)}{tip}</span></div>")


def axis_label(entry, label, which: int) -> str:
    """Axis ``which`` (0: x, 1: y) named ``label`` (default: the model's variable) with its unit;
    the y unit is the placeholder ``{unit}`` (a prefixed display unit)."""
    name, unit = (entry.x_name, entry.x_unit) if which == 0 else (entry.y[0], "{unit}")
    if label and " / " in label:
        return label
    return f"{label or name} / {unit}" if unit else (label or name)
