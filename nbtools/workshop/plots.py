"""Small Bokeh figures for the workshop notebooks (show one with :func:`nbtools.widgets.bokeh_widget`).

Each takes data in SI units and labels its axes in the units people read
(pA, fC, nm, ms, V); long recordings are thinned with
:func:`nbtools.plotting.downsample_window`, which keeps every spike's top.
SECCM maps use :func:`nbtools.widgets.map_view.map_plot`.
"""

from __future__ import annotations

import numpy as np

from ..plotting import current_display_unit, downsample_window

__all__ = ["trace_plot", "histogram_plot", "lines_plot", "points_plot", "map_plot"]

_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def _figure(title, x_label, y_label, *, width=700, height=260, x_axis_type="linear", y_axis_type="linear"):
    from bokeh.plotting import figure

    f = figure(title=title, width=width, height=height, x_axis_label=x_label, y_axis_label=y_label,
               tools="pan,box_zoom,wheel_zoom,reset,save", x_axis_type=x_axis_type, y_axis_type=y_axis_type)
    f.toolbar.logo = None
    return f


def trace_plot(trace, *, events=None, t0=None, t1=None, threshold=None, title="Current trace", n_out=3000):
    """Current against time (thinned to ``n_out`` points), with the events' peaks and the threshold.

    Parameters
    ----------
    trace : nbtools.Trace
    events : DataFrame, optional
        From :func:`nbtools.impact.find_events`: a marker at each ``t_peak``.
    t0, t1 : float, optional
        Time window (s).
    threshold : float, optional
        A horizontal line at this current (A) above the median current.
    """
    t, i = downsample_window(trace, t0=t0, t1=t1, n_out=n_out)
    unit, factor = current_display_unit(float(np.nanmax(np.abs(i))) if i.size else 1e-12)
    f = _figure(title, "time / s", f"current / {unit}")
    f.line(t, i * factor, line_width=1, color=_COLOURS[0], legend_label="current")
    if events is not None and len(events):
        ev = events
        if t0 is not None or t1 is not None:
            lo, hi = (t0 if t0 is not None else -np.inf), (t1 if t1 is not None else np.inf)
            ev = ev[(ev["t_peak"] >= lo) & (ev["t_peak"] <= hi)]
        base = float(np.median(i))
        f.scatter(ev["t_peak"], (base + ev["peak"]) * factor, size=7, color=_COLOURS[1], marker="inverted_triangle",
                  legend_label="events found")
    if threshold is not None:
        base = float(np.median(i))
        f.line([t[0], t[-1]], [(base + threshold) * factor] * 2, line_dash="dashed", color=_COLOURS[2],
               legend_label="threshold")
    f.legend.location = "top_left"
    f.legend.click_policy = "hide"
    return f


def histogram_plot(values, *, bins=20, scale=1.0, x_label="", title="", log=False):
    """Histogram of ``values / scale`` (``log``: logarithmic bins)."""
    v = np.asarray(values, dtype=float) / scale
    v = v[np.isfinite(v)]
    if log:
        v = v[v > 0]
        edges = np.geomspace(v.min(), v.max(), bins + 1) if v.size else np.array([1.0, 10.0])
    else:
        edges = np.histogram_bin_edges(v, bins=bins) if v.size else np.array([0.0, 1.0])
    counts, edges = np.histogram(v, bins=edges)
    f = _figure(title, x_label, "count", width=420, height=260, x_axis_type="log" if log else "linear")
    f.quad(left=edges[:-1], right=edges[1:], bottom=0, top=counts, fill_color=_COLOURS[0], line_color="white")
    return f


def lines_plot(curves, *, x_label="", y_label="", title="", x_scale=1.0, y_scale=1.0, log_y=False, width=520,
               height=320):
    """Several curves: ``curves`` is a list of ``(x, y, label)`` in SI, drawn as ``x/x_scale``, ``y/y_scale``
    (``log_y``: logarithmic y axis, where an exponential decay is a straight line)."""
    f = _figure(title, x_label, y_label, width=width, height=height, y_axis_type="log" if log_y else "linear")
    for k, (x, y, label) in enumerate(curves):
        f.line(np.asarray(x) / x_scale, np.asarray(y) / y_scale, color=_COLOURS[k % len(_COLOURS)],
               line_width=1.5, legend_label=str(label))
    if curves:
        f.legend.click_policy = "hide"
        f.legend.background_fill_alpha = 0.7
        if len(curves) > 4:  # a long legend goes beside the plot, not over the curves
            legend = f.legend[0]
            f.center.remove(legend)
            f.add_layout(legend, "right")
        else:
            f.legend.location = "top_left"
    return f


def points_plot(x, y, *, x_label="", y_label="", title="", log=False, fit=None, width=420, height=300):
    """Points ``(x, y)``, on log-log axes with ``log``; ``fit`` = (x, y) of a line drawn through them."""
    kind = "log" if log else "linear"
    f = _figure(title, x_label, y_label, width=width, height=height, x_axis_type=kind, y_axis_type=kind)
    f.scatter(np.asarray(x, float), np.asarray(y, float), size=8, color=_COLOURS[0])
    if fit is not None:
        f.line(np.asarray(fit[0], float), np.asarray(fit[1], float), color=_COLOURS[1], line_dash="dashed")
    return f


def map_plot(map2d, *, title=None, width=300):
    """An SECCM map (y, x) with its colour bar (:func:`nbtools.widgets.map_view.map_plot`)."""
    from ..widgets.map_view import map_plot as _map_plot

    return _map_plot(map2d, title=title, width=width)
