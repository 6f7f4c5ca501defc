"""Drawing SECCM maps: display scaling, a small map plot, and the selectable map of the pixel selector.

Display only: the maps themselves come from :mod:`nbtools.seccm`
(:func:`~nbtools.seccm.make_map`); this module chooses colours, SI prefixes
and outlines.

- :func:`display_scale`, :func:`robust_limits`: readable units and colour limits;
- :func:`map_plot`: a small Bokeh figure of a map (fit results);
- :func:`outline_segments`: the edges of a pixel mask (group outlines);
- :class:`MapView`: the scan map with tap, box and lasso selection, failed
  landings marked, group outlines and an image overlay layer.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import ParameterError
from ..plotting import current_display_unit

__all__ = ["GROUP_COLORS", "STATUS_COLORS", "display_scale", "robust_limits", "nice_ticks", "colour_scale",
           "map_plot", "outline_segments", "MapView"]

GROUP_COLORS = ["#e8175d", "#00b4ff", "#ff9f1c", "#7fff00", "#c77dff", "#8c564b", "#ff66cc", "#17becf"]
STATUS_COLORS = {"landed": "#4daf4a", "failed_landing": "#e41a1c", "no_contact": "#377eb8",
                 "saturated": "#984ea3", "noisy": "#ff7f00", "empty": "#999999"}
_PREFIX = [(1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "µ"), (1e-3, "m"), (1.0, "")]


def display_scale(unit, values):
    """(label, factor) to show values in ``unit`` with a readable SI prefix."""
    v = np.asarray(values, dtype=np.float64)
    v = np.abs(v[np.isfinite(v)])
    big = float(np.percentile(v, 98)) if v.size else 0.0
    if unit == "A":
        return current_display_unit(big)
    if unit == "V":
        return ("mV", 1e3) if 0 < big < 0.1 else ("V", 1.0)
    if unit in ("C", "m", "s", "F") and big > 0:
        for base, p in _PREFIX:
            if big < base * 1000:
                return p + unit, 1.0 / base
    return unit or "", 1.0


def robust_limits(values, low=2.0, high=98.0):
    """Colour limits: the ``low``-``high`` percentiles of the finite values."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(v, [low, high])
    if not hi > lo:
        lo, hi = float(v.min()), float(v.max())
    if not hi > lo:
        lo, hi = lo - 0.5 * (abs(lo) or 1.0), hi + 0.5 * (abs(hi) or 1.0)
    return float(lo), float(hi)


def _nice_step(raw):
    e = np.floor(np.log10(raw))
    f = raw / 10**e
    return (1 if f < 1.5 else 2 if f < 3 else 5 if f < 7 else 10) * 10**e


def nice_ticks(lo, hi, n=5):
    """Round ticks in ``[lo, hi]`` whose labels need at most 3 significant digits: (ticks, labels), or None.

    None when fewer than two such ticks fit (the range is too narrow for 3
    digits: show the values relative to a round reference, see :func:`colour_scale`).
    """
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        return None
    step = _nice_step((hi - lo) / n)
    big = max(abs(lo), abs(hi))
    top = np.floor(np.log10(big)) if big > 0 else 0.0
    while top - np.floor(np.log10(step) + 1e-9) + 1 > 3:  # a tick would need a 4th significant digit
        step = _nice_step(step * 1.6)
    ticks = np.arange(np.ceil(lo / step - 1e-9), np.floor(hi / step + 1e-9) + 1) * step
    if ticks.size < 2:
        return None
    decimals = int(max(0, -np.floor(np.log10(step) + 1e-9)))
    ticks = np.round(ticks, decimals + 3) + 0.0  # no -0.0
    return ticks.tolist(), [f"{t:.{decimals}f}" for t in ticks]


def colour_scale(values, unit, good=None, name=""):
    """How to colour a map of SI ``values`` in ``unit``: display values, limits, ticks and the colour bar's title.

    Colours span the 2nd-98th percentile of the ``good`` values; tick labels
    have at most 3 significant digits. When the range is too narrow for
    that (peak potentials within a few mV of 4 V), the values are shown
    relative to a round reference: the title says ``<name> − 4.01 V / mV``.

    Returns
    -------
    dict
        ``shown`` (values in the display unit), ``low``, ``high``, ``ticks``,
        ``labels`` and their printf ``format`` (None: let the plot choose), ``title``, ``unit`` (the
        display unit of absolute values) and ``factor`` (SI -> display).
    """
    v = np.asarray(values, dtype=np.float64)
    sel = v if good is None or not np.any(good) else v[good]
    label, factor = display_scale(unit, sel)
    shown = v * factor
    lo, hi = robust_limits(sel * factor)
    title = f"{name} / {label}" if label and name else (name or label)
    ticks = nice_ticks(lo, hi)
    if ticks is None and unit and hi > lo:
        big = max(abs(lo), abs(hi))
        step3 = 10 ** (np.floor(np.log10(big)) - 2)
        ref = np.floor(lo / step3) * step3
        rel = (v - ref / factor)
        label2, f2 = display_scale(unit, (sel - ref / factor))
        shown = rel * f2
        lo, hi = robust_limits((sel - ref / factor) * f2)
        ticks = nice_ticks(lo, hi)
        title = f"{name} − {ref:.3g} {label} / {label2}" if name else f"− {ref:.3g} {label} / {label2}"
    fmt = None
    if ticks:
        last = ticks[1][-1]
        fmt = f"%.{len(last.split('.')[1]) if '.' in last else 0}f"
    return {"shown": shown, "low": lo, "high": hi, "ticks": ticks[0] if ticks else None,
            "labels": ticks[1] if ticks else None, "format": fmt, "title": title, "unit": label, "factor": factor}


def value_texts(values, unit):
    """Each value with 3 significant digits and the display unit (hover texts); '–' for NaN."""
    v = np.asarray(values, dtype=np.float64)
    label, factor = display_scale(unit, v)
    return [f"{x * factor:.3g} {label}".strip() if np.isfinite(x) else "–" for x in v]


#: the hover's value line, from the pixel's index (Bokeh writes NaN itself before a formatter sees it):
#: 3 significant digits and the unit, a status code's name, '–' for NaN
_VALUE_JS = """
value = source.data.value[value];
if (!Number.isFinite(value)) { return "\u2013"; }
if (names.length) { const i = Math.round(value); return (i >= 0 && i < names.length) ? names[i] : "\u2013"; }
const text = String(Number(value.toPrecision(3)));
return unit ? text + " " + unit : text;
"""


def _extent(gx, gy):
    """(x0, x1, y0, y1, dx, dy) of a grid of pixel centres: edges half a pitch out."""
    dx = float(np.min(np.diff(gx))) if gx.size > 1 else (float(np.min(np.diff(gy))) if gy.size > 1 else 1e-6)
    dy = float(np.min(np.diff(gy))) if gy.size > 1 else dx
    return gx[0] - dx / 2, gx[-1] + dx / 2, gy[0] - dy / 2, gy[-1] + dy / 2, dx, dy


def apply_ticks(colorbar, scale):
    """Put the ticks of a :func:`colour_scale` (at most 3 significant digits) on a Bokeh colour bar."""
    from bokeh.models import BasicTicker, BasicTickFormatter, FixedTicker, PrintfTickFormatter

    # changed in place when of the right kind: a new model would be sent whole and the plot rebuilt
    if scale["ticks"]:
        if isinstance(colorbar.ticker, FixedTicker):
            colorbar.ticker.ticks = list(scale["ticks"])
        else:
            colorbar.ticker = FixedTicker(ticks=scale["ticks"])
        if isinstance(colorbar.formatter, PrintfTickFormatter):
            colorbar.formatter.format = scale["format"]
        else:
            colorbar.formatter = PrintfTickFormatter(format=scale["format"])
    else:
        if not isinstance(colorbar.ticker, BasicTicker) or isinstance(colorbar.ticker, FixedTicker):
            colorbar.ticker = BasicTicker(desired_num_ticks=4)
        if not isinstance(colorbar.formatter, BasicTickFormatter):
            colorbar.formatter = BasicTickFormatter(precision=2)
    colorbar.major_label_overrides = {}


def _strip_unit(title, unit):
    """``'Q / C'`` -> ``'Q'`` when ``C`` is the map's SI unit: the unit shown is the colour bar's."""
    suffix = f" / {unit}"
    return title[: -len(suffix)] if unit and title.endswith(suffix) else title


def map_plot(map2d, *, title=None, width=300, palette=None):
    """A small Bokeh figure of a map (y, x): robust colour limits, units on the colour bar, µm axes.

    NaN (failed or unfitted pixels) are grey. A ``title`` ending in the
    map's SI unit (``'Q / C'``) is shown in the colour bar's unit
    (``'Q / pC'``): title and colour bar never disagree. Tick labels and
    hover values have at most 3 significant digits. Returns a
    ``bokeh.plotting.figure`` (show it with :func:`nbtools.widgets.bokeh_widget`).
    """
    from bokeh.models import ColorBar, HoverTool, LinearColorMapper
    from bokeh.palettes import Viridis256
    from bokeh.plotting import figure

    if not isinstance(map2d, xr.DataArray) or map2d.dims[:2] != ("y", "x"):
        raise ParameterError("map_plot: expected a DataArray with dims ('y', 'x')")
    vals = np.asarray(map2d.values, dtype=np.float64)
    gx, gy = np.asarray(map2d.x.values, float), np.asarray(map2d.y.values, float)
    x0, x1, y0, y1, _, _ = (v * 1e6 for v in _extent(gx, gy))
    unit = str(map2d.attrs.get("units", ""))
    name = _strip_unit(title or str(map2d.attrs.get("long_name", map2d.name)), unit)
    cs = colour_scale(vals, unit, np.isfinite(vals), name=name)
    mapper = LinearColorMapper(palette=palette or Viridis256, low=cs["low"], high=cs["high"], nan_color="#d0d0d0")
    w, h = x1 - x0, y1 - y0
    f = figure(frame_width=width, frame_height=int(np.clip(width * h / w, 80, 2 * width)),
               x_range=(x0, x1), y_range=(y0, y1), tools="pan,wheel_zoom,reset,save",
               x_axis_label="x / µm", y_axis_label="y / µm", output_backend="canvas", title=cs["title"])
    f.toolbar.logo = None
    f.grid.visible = False
    r = f.image(image=[cs["shown"]], x=x0, y=y0, dw=w, dh=h, color_mapper=mapper)
    f.add_tools(HoverTool(renderers=[r], tooltips=[("x, y", "$x{0.0}, $y{0.0} µm"), ("value", "@image{%0.3g}")],
                          formatters={"@image": "printf"}))
    bar = ColorBar(color_mapper=mapper, title=cs["title"].split(" / ")[-1] if " / " in cs["title"] else "",
                   width=10)
    apply_ticks(bar, cs)
    f.add_layout(bar, "right")
    return f


def outline_segments(mask, x, y, *, inset=0.0):
    """Edges between pixels in and out of a (y, x) boolean mask, as segments (x0, y0, x1, y1).

    ``x``, ``y``: the grid's pixel centres (any unit); edges sit half a pitch
    away, moved ``inset`` (fraction of the pitch) into the mask so that the
    outlines of two touching groups are both visible.
    """
    m = np.pad(np.asarray(mask, bool), 1)
    x, y = np.asarray(x, float), np.asarray(y, float)
    dx = float(np.min(np.diff(x))) if x.size > 1 else 1.0
    dy = float(np.min(np.diff(y))) if y.size > 1 else dx
    inner = m[1:-1, 1:-1]
    out = [[], [], [], []]
    # (neighbour offset, edge from (x, y) offsets to (x, y) offsets)
    for (di, dj), (ax, ay, bx, by) in (((0, -1), (-1, -1, -1, 1)), ((0, 1), (1, -1, 1, 1)),
                                        ((-1, 0), (-1, -1, 1, -1)), ((1, 0), (-1, 1, 1, 1))):
        nb = m[1 + di: m.shape[0] - 1 + di, 1 + dj: m.shape[1] - 1 + dj]
        iy, ix = np.nonzero(inner & ~nb)
        cx, cy = x[ix], y[iy]
        sx, sy = dx * (0.5 - inset), dy * (0.5 - inset)
        out[0].append(cx + ax * sx)
        out[1].append(cy + ay * sy)
        out[2].append(cx + bx * sx)
        out[3].append(cy + by * sy)
    return tuple(np.concatenate(v) for v in out)


class MapView:
    """The selectable Bokeh map of a scan (axes in µm).

    Attributes
    ----------
    figure : bokeh figure
    source : ColumnDataSource
        Pixel centres (``x``, ``y`` in µm, ``pixel``) with the hover texts
        ``value`` (the map's value) and ``why`` (the landing's label and its
        reason); its ``selected.indices`` is the selection the tap, box and
        lasso tools make.
    image_source, mapper, colorbar
        The map image and its colours.
    failed_source, group_source
        Failed-landing markers and group outlines.
    overlay_source, overlay_renderer
        An RGBA image drawn over the map (:class:`~nbtools.widgets.image_overlay.ImageOverlay`).
    extent : tuple
        ``(x0, x1, y0, y1, dx, dy)`` of the scan area in m.
    """

    def __init__(self, ds, *, width=430):
        from bokeh.models import (BoxSelectTool, ColorBar, ColumnDataSource, CustomJSHover, HoverTool,
                                  LassoSelectTool, LinearColorMapper, Range1d, TapTool)
        from bokeh.palettes import Viridis256
        from bokeh.plotting import figure

        self.gx = np.asarray(ds.attrs["grid_x"], dtype=np.float64).ravel()
        self.gy = np.asarray(ds.attrs["grid_y"], dtype=np.float64).ravel()
        self.shape = (self.gy.size, self.gx.size)
        self.ix, self.iy = ds.ix.values.astype(np.int64), ds.iy.values.astype(np.int64)
        self.extent = _extent(self.gx, self.gy)
        x0, x1, y0, y1, _, _ = (v * 1e6 for v in self.extent)
        w, h = width, int(np.clip(width * (y1 - y0) / (x1 - x0), 160, 620))
        if h in (160, 620):
            w = int(np.clip(h * (x1 - x0) / (y1 - y0), 160, 620))
        self.height = h
        self.mapper = LinearColorMapper(palette=Viridis256, low=0, high=1, nan_color="#d0d0d0")
        f = figure(frame_width=w, frame_height=h, x_range=Range1d(x0, x1), y_range=Range1d(y0, y1),
                   tools="pan,wheel_zoom,reset,save", x_axis_label="x / µm", y_axis_label="y / µm",
                   title="", output_backend="canvas")
        f.toolbar.logo = None
        f.grid.visible = False
        self.image_source = ColumnDataSource(dict(image=[np.zeros(self.shape)], x=[x0], y=[y0], dw=[x1 - x0],
                                                  dh=[y1 - y0]))
        f.image(image="image", x="x", y="y", dw="dw", dh="dh", source=self.image_source, color_mapper=self.mapper)
        self.colorbar = ColorBar(color_mapper=self.mapper, title="", width=12)
        f.add_layout(self.colorbar, "right")
        # overlay image (filled by ImageOverlay), under the markers
        self.overlay_source = ColumnDataSource(dict(image=[np.zeros((1, 1), dtype=np.uint32)], x=[x0], y=[y0],
                                                    dw=[x1 - x0], dh=[y1 - y0]))
        self.overlay_renderer = f.image_rgba(image="image", x="x", y="y", dw="dw", dh="dh",
                                             source=self.overlay_source, global_alpha=0.5)
        self.overlay_renderer.visible = False
        self.failed_source = ColumnDataSource(dict(x=[], y=[], status=[]))
        f.scatter("x", "y", source=self.failed_source, marker="x", size=max(4, min(12, 0.7 * w / self.shape[1])),
                  line_color="black", line_width=1.2)
        # group outlines in the group's colour: the map's colours stay readable inside
        self.group_source = ColumnDataSource(dict(x0=[], y0=[], x1=[], y1=[], color=[]))
        self.group_renderer = f.segment("x0", "y0", "x1", "y1", source=self.group_source, line_color="color",
                                        line_width=2.5, line_alpha=0.95)
        xs, ys = self.gx[self.ix] * 1e6, self.gy[self.iy] * 1e6
        # the hover's value: numbers in the display unit (a binary array, not 40,000 texts per map change)
        self.source = ColumnDataSource(dict(x=xs, y=ys, pixel=np.arange(len(xs)),
                                            value=np.full(len(xs), np.nan, np.float32), why=[""] * len(xs)))
        self.value_format = CustomJSHover(args=dict(unit="", names=[], source=self.source), code=_VALUE_JS)
        size = float(np.clip(0.9 * w / self.shape[1], 3, 24))
        pts = f.scatter("x", "y", source=self.source, marker="square", size=size,
                        fill_alpha=0.0, line_alpha=0.0, selection_fill_color="white", selection_fill_alpha=0.55,
                        selection_line_color="black", selection_line_alpha=0.9, nonselection_fill_alpha=0.0,
                        nonselection_line_alpha=0.0)
        f.add_tools(TapTool(renderers=[pts]), BoxSelectTool(renderers=[pts]), LassoSelectTool(renderers=[pts]),
                    HoverTool(renderers=[pts], tooltips=[("pixel", "@pixel"), ("x, y", "@x{0.0}, @y{0.0} µm"),
                                                         ("value", "@pixel{custom}"), ("landing", "@why")],
                              formatters={"@pixel": self.value_format}))
        f.toolbar.active_drag = f.select_one(BoxSelectTool)
        self.figure = f

    def grid_mask(self, per_pixel):
        """A per-pixel boolean vector on the (y, x) grid."""
        g = np.zeros(self.shape, bool)
        g[self.iy[per_pixel], self.ix[per_pixel]] = True
        return g

    def show(self, da, *, title, landed):
        """Draw map ``da`` (y, x): robust colour limits over the ``landed`` pixels; status maps in their colours.

        Tick labels have at most 3 significant digits (:func:`colour_scale`);
        the hover shows each pixel's value with 3 significant digits.
        """
        from bokeh.models import FixedTicker
        from bokeh.palettes import Viridis256

        vals = np.asarray(da.transpose("y", "x", ...).values, dtype=np.float64)
        if vals.ndim != 2:
            raise ParameterError(f"map {title!r}: expected 2 dimensions (y, x), found {da.dims}")
        meanings = str(da.attrs.get("flag_meanings", "")).split()
        unit = str(da.attrs.get("units", ""))
        per_pixel = vals[self.iy, self.ix]
        if meanings:  # a map of codes (the status map)
            self.mapper.palette = [STATUS_COLORS.get(s, "#999999") for s in meanings]
            self.mapper.low, self.mapper.high = -0.5, len(meanings) - 0.5
            self.colorbar.ticker = FixedTicker(ticks=list(range(len(meanings))))
            self.colorbar.major_label_overrides = {i: s.replace("_", " ") for i, s in enumerate(meanings)}
            self.colorbar.title = str(da.attrs.get("long_name", "status"))
            shown = vals
            hover = dict(unit="", names=[m.replace("_", " ") for m in meanings], source=self.source)
            values = per_pixel
        else:
            long = _strip_unit(str(da.attrs.get("long_name", da.name or title)), unit)
            cs = colour_scale(vals, unit, self.grid_mask(landed), name=long)
            shown = cs["shown"]
            self.mapper.palette = Viridis256
            self.mapper.low, self.mapper.high = cs["low"], cs["high"]
            apply_ticks(self.colorbar, cs)
            self.colorbar.title = cs["title"]
            label, factor = display_scale(unit, per_pixel)
            hover = dict(unit=label, names=[], source=self.source)
            values = per_pixel * factor
        self.figure.title.text = _strip_unit(title, unit)
        self.image_source.data["image"] = [np.asarray(shown, np.float32)]  # only the image is sent
        self.source.data["value"] = np.asarray(values, np.float32)
        if self.value_format.args != hover:
            self.value_format.args = hover

    def set_reasons(self, texts):
        """The landing-quality text of every pixel (shown on hover)."""
        self.source.data["why"] = list(texts)

    def show_failed(self, rows, status):
        """Mark the pixels ``rows`` (failed landings) with a cross."""
        self.failed_source.data = dict(x=self.source.data["x"][rows], y=self.source.data["y"][rows],
                                       status=status[rows])

    def show_groups(self, masks, colors):
        """Outline each group (name -> per-pixel boolean) in its colour."""
        segs = [outline_segments(self.grid_mask(m), self.gx * 1e6, self.gy * 1e6, inset=0.15)
                for m in masks.values()]
        cols = [[colors[name]] * len(sg[0]) for sg, name in zip(segs, masks)]
        cat = (lambda k: np.concatenate([sg[k] for sg in segs])) if segs else (lambda k: np.zeros(0))
        self.group_source.data = dict(x0=cat(0), y0=cat(1), x1=cat(2), y1=cat(3), color=sum(cols, []))
