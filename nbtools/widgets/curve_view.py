"""The voltammogram plot of the pixel selector: selected curves, and group means with their 95 % bands.

Display only: the means and bands are :func:`nbtools.seccm.stats.curve_stats`
results handed in by :class:`~nbtools.widgets.PixelSelector`. A band is drawn
only where :func:`~nbtools.seccm.stats.curve_stats` gives one (3 or more
curves: the Student t interval of 2 curves spans +-12.7 standard errors and
says nothing); a group of fewer pixels shows its curves in its colour instead.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CurveView", "pick_rows"]


def pick_rows(rows, k):
    """At most ``k`` of ``rows``, spread evenly (reproducible), sorted: the curves worth drawing."""
    rows = np.asarray(rows, dtype=np.int64)
    if rows.size <= k:
        return rows
    return rows[np.linspace(0, rows.size - 1, k).round().astype(np.int64)]


class CurveView:
    """Thin grey lines for selected pixels; a dashed mean and a band per group.

    Attributes
    ----------
    figure : bokeh figure
    curves_source : ColumnDataSource
        The selected curves as one line (``x`` V, ``y`` in ``unit``, float32), NaN between curves: two
        arrays to send, however many curves (a multi-line sends two per curve).
    n_curves : int
        How many curves ``curves_source`` holds.
    means_source, band_source, group_curves_source : ColumnDataSource
        What is drawn (currents in the display unit ``unit``).
    """

    def __init__(self, *, unit, scale, reference="", height=300, width=470):
        from bokeh.models import ColumnDataSource, Label
        from bokeh.plotting import figure

        self.unit, self.scale = unit, scale
        ref = f" vs {reference}" if reference and reference != "unknown" else ""
        c = figure(frame_width=width, frame_height=height, tools="pan,box_zoom,wheel_zoom,reset,save",
                   x_axis_label=f"Potential / V{ref}", y_axis_label=f"Current / {unit}",
                   title="Selected curves (grey), group means (dashed), 95 % bands",
                   output_backend="canvas")
        c.toolbar.logo = None
        self.band_source = ColumnDataSource(dict(xs=[], ys=[], color=[]))
        c.patches("xs", "ys", source=self.band_source, fill_color="color", fill_alpha=0.25, line_alpha=0)
        self.curves_source = ColumnDataSource(dict(x=np.zeros(0, np.float32), y=np.zeros(0, np.float32)))
        self.n_curves = 0
        c.line("x", "y", source=self.curves_source, line_color="#555555", line_alpha=0.35, line_width=1)
        self.group_curves_source = ColumnDataSource(dict(xs=[], ys=[], color=[]))
        c.multi_line("xs", "ys", source=self.group_curves_source, line_color="color", line_alpha=0.8, line_width=1.3)
        self.means_source = ColumnDataSource(dict(xs=[], ys=[], color=[], name=[], dash=[]))
        c.multi_line("xs", "ys", source=self.means_source, line_color="color", line_width=2.5, line_dash="dash",
                     legend_field="name")
        c.legend.location = "top_left"
        c.legend.background_fill_alpha = 0.6
        self.empty_label = Label(x=0.5 * width, y=0.5 * height, x_units="screen", y_units="screen",
                                 text="Select pixels on the map, or fill a group", text_align="center",
                                 text_color="#888888", text_font_size="13px")
        c.add_layout(self.empty_label)
        self.figure = c

    def show_curves(self, xs, ys):
        """Draw individual curves: potentials (V) and currents (A) per curve."""
        xs, ys = list(xs), list(ys)
        self.n_curves = len(ys)
        gap = np.full(1, np.nan, np.float32)
        x = [part for v in xs for part in (np.asarray(v, np.float32), gap)][:-1]
        y = [part for v in ys for part in ((np.asarray(v) * self.scale).astype(np.float32), gap)][:-1]
        self.curves_source.data = dict(x=np.concatenate(x) if x else np.zeros(0, np.float32),
                                       y=np.concatenate(y) if y else np.zeros(0, np.float32))

    def show_means(self, items):
        """Draw means and bands: ``items`` is a list of (legend, colour, potential (V), curve_stats dict, curves).

        ``curves`` (a list of (potential, current) pairs, or None) are drawn in
        the group's colour where the statistics give no band (fewer than 3 curves).
        """
        xs, ys, cs, names, bx, by, bc, gx, gy, gc = ([] for _ in range(10))
        for name, color, x, st, *rest in items:
            x = np.asarray(x, dtype=np.float64)
            ok = np.isfinite(x) & np.isfinite(st["mean"])
            xs.append(x[ok])
            ys.append(st["mean"][ok] * self.scale)
            cs.append(color)
            names.append(name)
            okb = ok & np.isfinite(st["low"])
            if okb.sum() > 1:
                bx.append(np.concatenate([x[okb], x[okb][::-1]]))
                by.append(np.concatenate([st["low"][okb], st["high"][okb][::-1]]) * self.scale)
                bc.append(color)
            elif rest and rest[0]:
                for cx, cy in rest[0]:
                    gx.append(np.asarray(cx, dtype=np.float64))
                    gy.append(np.asarray(cy) * self.scale)
                    gc.append(color)
        self.means_source.data = dict(xs=xs, ys=ys, color=cs, name=names, dash=["dash"] * len(xs))
        self.figure.legend.visible = bool(names)
        self.empty_label.visible = not names
        self.band_source.data = dict(xs=bx, ys=by, color=bc)
        self.group_curves_source.data = dict(xs=gx, ys=gy, color=gc)
