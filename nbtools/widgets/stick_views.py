"""Plots and tables of the particle-on-a-stick dashboard (display only).

Each function draws one part of the result of :func:`nbtools.stick.analyse_particle`
(a Bokeh figure or an HTML string); every number comes from that result.
"""

from __future__ import annotations

import html

import numpy as np

from .. import stick
from ..kinetics.registry import unit_text
from ..plotting import current_display_unit

__all__ = ["html_table", "cv_figure", "peaks_html", "size_html", "slope_figure", "slope_html", "pitt_figure",
           "pitt_html", "laviron_figure", "laviron_html", "trust_html"]

COLORS = ["#1f4e9c", "#2a9d8f", "#e9c46a", "#f4a261", "#e76f51", "#8e44ad", "#264653", "#b00020",
          "#6a994e", "#577590"]
_TOOLS = "pan,box_zoom,wheel_zoom,reset,save"


def html_table(df, columns, *, highlight=None) -> str:
    """HTML table; ``columns`` = [(column, header, formatter)], ``highlight`` rows shaded green."""
    head = "".join(f"<th style='text-align:left;padding:2px 10px'>{html.escape(h)}</th>" for _, h, _ in columns)
    body = []
    for k, row in df.reset_index(drop=True).iterrows():
        style = " style='background:#eef5ee'" if highlight is not None and bool(highlight[k]) else ""
        cells = "".join(f"<td style='padding:2px 10px'>{html.escape(f(row[c]))}</td>" for c, _, f in columns)
        body.append(f"<tr{style}>{cells}</tr>")
    return f"<table style='border-collapse:collapse'><tr>{head}</tr>{''.join(body)}</table>"


def _finish(fig, location="top_left", hide=True):
    fig.legend.location = location
    if hide:
        fig.legend.click_policy = "hide"
    fig.toolbar.logo = None
    return fig


def cv_figure(result, *, per_scan_rate=False):
    """The voltammograms with their peaks (current, or current / scan rate)."""
    from bokeh.plotting import figure

    cvs, peaks = result["cvs"], result["peaks"]
    div = [c.attrs["v"] if per_scan_rate else 1.0 for c in cvs]
    unit, k = current_display_unit(max(float(np.max(np.abs(c["i"]))) / d for c, d in zip(cvs, div)))
    ylab = f"Current / scan rate / ({unit}·s/V)" if per_scan_rate else f"Current / {unit}"
    fig = figure(height=330, sizing_mode="stretch_width", x_axis_label="Potential / V", y_axis_label=ylab,
                 title="Cyclic voltammograms (anodic current up)", tools=_TOOLS, active_scroll=None)
    for j, (c, row, d) in enumerate(zip(cvs, peaks.itertuples(), div)):
        col = COLORS[j % len(COLORS)]
        fig.line(c["E"], c["i"] * k / d, color=col, legend_label=f"{row.v * 1e3:g} mV/s")
        fig.scatter([row.E_pa, row.E_pc], [row.i_pa * k / d, row.i_pc * k / d], color=col, size=7, marker="x")
    return _finish(fig)


def peaks_html(peaks) -> str:
    cols = [("v", "scan rate", lambda v: f"{v * 1e3:.3g} mV/s"),
            ("E_pa", "E peak, anodic", lambda v: f"{v:.4f} V"),
            ("E_pc", "E peak, cathodic", lambda v: f"{v:.4f} V"),
            ("dEp", "separation", lambda v: f"{v * 1e3:.1f} mV"),
            ("i_pa", "i peak, anodic", lambda v: stick.format_si(v, "A")),
            ("i_pc", "i peak, cathodic", lambda v: stick.format_si(v, "A")),
            ("Q_a", "charge, anodic", lambda v: stick.format_si(v, "C")),
            ("Q_c", "charge, cathodic", lambda v: stick.format_si(v, "C"))]
    return html_table(peaks, cols)


def size_html(result) -> str:
    s = result["size"]
    return (f"<p>Charge of a full sweep (median of all sweeps): <b>{stick.format_si(s['charge'], 'C')}</b> "
            f"= capacity <b>{stick.format_si(s['capacity_Ah'], 'Ah')}</b> ({s['capacity_Ah'] * 1e3:.3g} mAh). "
            f"For {html.escape(s['material'])} ({s['conversion']:.0%} of the formula unit converted) this is a "
            f"sphere of radius <b>{stick.format_si(s['radius'], 'm')}</b> (mass "
            f"{stick.format_si(s['mass'] * 1e3, 'g')}). Mid-peak potential (median over the scan rates) "
            f"{result['peaks']['E_mid'].median():.4f} V ≈ formal potential E0.</p>")


def slope_figure(result):
    """log |i_p| against log v with the fitted line and the slopes 1 and 1/2 for reference."""
    from bokeh.plotting import figure

    p, s = result["peaks"], result["slope"]
    unit, k = current_display_unit(float(np.max(np.abs(np.r_[p["i_pa"], p["i_pc"]]))))
    mv = 1e3  # V/s -> mV/s on the axis
    fig = figure(height=300, sizing_mode="stretch_width", x_axis_type="log", y_axis_type="log",
                 x_axis_label="Scan rate / (mV/s)", y_axis_label=f"|Peak current| / {unit}",
                 title="log |i_p| against log v", tools="pan,box_zoom,reset,save")
    fig.scatter(p["v"] * mv, p["i_pa"].abs() * k, size=8, color="#b00020", legend_label="anodic")
    fig.scatter(p["v"] * mv, p["i_pc"].abs() * k, size=8, marker="triangle", color="#1f4e9c",
                legend_label="cathodic")
    v = np.geomspace(p["v"].min(), p["v"].max(), 20)
    fig.line(v * mv, 10 ** (s["intercept"] + s["slope"] * np.log10(v)) * k, color="#b00020",
             legend_label=f"fit, slope {s['slope']:.2f}")
    v0, i0 = p["v"].iloc[0], abs(p["i_pa"].iloc[0]) * k
    fig.line(v * mv, i0 * (v / v0), color="#888", line_dash="dashed", legend_label="slope 1 (thin layer)")
    fig.line(v * mv, i0 * np.sqrt(v / v0), color="#888", line_dash="dotted", legend_label="slope 1/2 (diffusion)")
    return _finish(fig, hide=False)


def slope_html(slope) -> str:
    return (f"<p>Slope <b>{slope['slope']:.3f}</b> (95 % interval {slope['lower']:.3f} … {slope['upper']:.3f}, "
            f"{int(slope['n'])} scan rates): <b>{html.escape(slope['verdict'])}</b>.</p>")


def pitt_figure(steps):
    """|i| of each potential step against the time since the step (log scale)."""
    from bokeh.models import Range1d
    from bokeh.plotting import figure

    peak = max(float(np.max(np.abs(s["i"]))) for s in steps)
    unit, k = current_display_unit(peak)
    fig = figure(height=300, sizing_mode="stretch_width", y_axis_type="log",
                 y_range=Range1d(peak * k * 1e-3, peak * k * 2), x_axis_label="Time since the step / s",
                 y_axis_label=f"|Current| / {unit}", title="Potential-step transients",
                 tools="pan,box_zoom,reset,save")
    for j, s in enumerate(steps):
        y = np.abs(s["i"].to_numpy()) * k
        ok = y > 0
        fig.line(s["t_step"].to_numpy()[ok], y[ok], color=COLORS[j % len(COLORS)], legend_label=f"→ {s.attrs['E']:.3f} V")
    return _finish(fig, location="top_right")


def pitt_html(pt) -> str:
    cols = [("E", "step to", lambda v: f"{v:.3f} V"), ("Q", "charge", lambda v: stick.format_si(v, "C")),
            ("tau", "τ = r²/D", lambda v: f"{v:.3g} s"),
            ("tau_lower", "95 % from", lambda v: f"{v:.3g} s"), ("tau_upper", "to", lambda v: f"{v:.3g} s"),
            ("biot", "Biot L", lambda v: f"{v:.3g}"), ("D", "D", lambda v: f"{v:.3g} m²/s"),
            ("status", "status", str)]
    a = pt.attrs
    notes = [f"→ {e:.3f} V: {w}" for e, ws in zip(pt["E"], pt["warnings"]) for w in ws.split(" | ") if w]
    warn = ("<div style='color:#8a5300'>Fit warnings:<ul style='margin:2px 0'>"
            + "".join(f"<li>{html.escape(w)}</li>" for w in notes) + "</ul></div>" if notes else "")
    return (html_table(pt, cols) + warn +
            f"<p>τ over all steps (geometric mean): <b>{a['tau']:.3g} s</b> (spread ×{10 ** a['tau_spread']:.2f}); "
            f"with r = {stick.format_si(a['radius'], 'm')} from the charge, <b>D = {a['D']:.3g} m²/s</b> "
            f"({a['D'] * 1e4:.3g} cm²/s). Biot L = k r/D: above ~30 diffusion alone controls the step, "
            f"below ~0.1 the surface reaction does.</p>")


def laviron_figure(lt):
    """Peak separation against scan rate; the rows used for k_s in green."""
    from bokeh.plotting import figure

    fig = figure(height=260, sizing_mode="stretch_width", x_axis_type="log", x_axis_label="Scan rate / (mV/s)",
                 y_axis_label="Peak separation / mV", title="Peak separation (green: used for k_s)",
                 tools="pan,box_zoom,reset,save")
    used = lt["used"].to_numpy()
    fig.scatter(lt["v"][used] * 1e3, lt["dEp"][used] * 1e3, size=9, color="#2a9d8f", legend_label="used")
    fig.scatter(lt["v"][~used] * 1e3, lt["dEp"][~used] * 1e3, size=7, color="#999", legend_label="not used")
    return _finish(fig, hide=False)


def laviron_html(lt) -> str:
    cols = [("v", "scan rate", lambda v: f"{v * 1e3:.3g} mV/s"), ("dEp", "separation", lambda v: f"{v * 1e3:.1f} mV"),
            ("sigma", "σ = Fvτ/RT", lambda v: f"{v:.2g}"), ("Lambda", "Λ = k_s/fv", lambda v: f"{v:.3g}"),
            ("ks_app", "apparent k_s", lambda v: f"{v:.3g} s⁻¹"), ("ks", "k_s", lambda v: f"{v:.3g} s⁻¹"),
            ("k0", "k0", lambda v: f"{v:.3g} m/s"), ("used", "used", lambda v: "yes" if v else "no")]
    a, table = lt.attrs, html_table(lt, cols, highlight=lt["used"].to_numpy())
    if not a["n_used"]:
        return (table + f"<p><b>k_s not measurable here</b>: no scan rate has a peak separation of at least "
                f"{a['min_dEp'] * 1e3:g} mV with σ ≤ {a['sigma_max']:g}. Faster scans separate the peaks more "
                f"(if σ stays small).</p>")
    return (table + f"<p><b>k_s = {a['ks']:.3g} s⁻¹</b> (apparent {a['ks_app']:.3g} s⁻¹) from {a['n_used']} scan "
            f"rate(s); <b>k0 = k_s r/3 = {a['k0']:.3g} m/s</b> ({a['k0'] * 100:.3g} cm/s). "
            f"<span style='color:#555'>{html.escape(a['note'])}.</span></p>")


def trust_html(df) -> str:
    """The table of :func:`nbtools.stick.trust_table`, rows within the tolerance in green."""
    cols = [("quantity", "quantity", str), ("recovered", "recovered", lambda v: f"{v:.3g}"),
            ("truth", "truth", lambda v: f"{v:.3g}"), ("unit", "unit", unit_text), ("error", "error", str),
            ("how", "how", str)]
    return (html_table(df, cols, highlight=df["good"].to_numpy()) +
            "<p style='color:#555'>Green: within 10 % (5 mV for potentials) of the truth.</p>")
