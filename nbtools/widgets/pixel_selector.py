"""PixelSelector: pick pixels of an SECCM map into named groups and compare their voltammograms.

A Bokeh map of the scan (any :mod:`nbtools.seccm` map, robust colour limits,
failed landings marked) with tap, box and lasso selection; named groups with
their own colours; a linked plot of the selected pixels' voltammograms with
each group's mean and 95 % confidence band; a summary table per group; export
of the masks and mean curves; an optional registered microscope image over
the map (:class:`~nbtools.widgets.image_overlay.ImageOverlay`).

The numerics are calls into :mod:`nbtools.seccm` (maps, classify) and
:func:`~nbtools.widgets._curve_stats.curve_stats`; everything the buttons do
is a method that a script or test can call:

- ``PixelSelector(ds, map=None, *, groups=('particle', 'substrate'), params=None)``
- ``.select(indices)``, ``.selection`` (pixel indices), ``.add_to_group(name)``,
  ``.remove_from_group(name)``, ``.clear_group(name)``, ``.new_group(name)``,
  ``.auto_classify()``, ``.show_map(name)``, ``.add_map(name, dataarray)``
- ``.groups`` (name -> boolean DataArray (y, x)), ``.group_names``, ``.params`` / ``.set_params``
- ``.summary()`` (DataFrame per group), ``.export(folder)``; :func:`map_plot` (a small map figure)
- ``.widget`` (root ipywidget), ``.status`` (ErrorDisplay), ``.source``
  (ColumnDataSource of pixel centres carrying the selection)
"""

from __future__ import annotations

import html
import time
import warnings
from pathlib import Path

import ipywidgets as W
import numpy as np
import pandas as pd
import xarray as xr

from ..errors import NbtoolsWarning, ParameterError
from ..plotting import current_display_unit
from ._curve_stats import curve_stats, pick_rows
from .display import ErrorDisplay, bokeh_widget

__all__ = ["PixelSelector", "MAPS", "export_groups", "map_plot", "outline_segments"]

from ._map_tools import (  # noqa: F401  (re-exported)
    _ALIASES,
    GROUP_COLORS,
    MAPS,
    STATUS_COLORS,
    display_scale,
    export_groups,
    map_plot,
    robust_limits,
)


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


# --------------------------------------------------------------- widget
class PixelSelector:
    """Select pixels of an SECCM scan on a map, group them, compare their voltammograms.

    Parameters
    ----------
    ds : xarray.Dataset
        SECCM Dataset (:func:`nbtools.seccm.load`, :func:`nbtools.seccm.from_arrays`,
        :func:`nbtools.simulate.seccm_scan`).
    map : str or xarray.DataArray, optional
        The map shown first: a key of :data:`MAPS` (``'charge'``,
        ``'current_at'``, ``'peak_potential_anodic'``, ``'status'`` ...) or a
        DataArray (y, x) on the scan grid. Default ``'charge'``.
    groups : sequence of str
        Names of the empty groups to start with.
    params : dict, optional
        A previous ``.params``: restores the map, groups and options.
    max_curves : int
        Most individual curves drawn for a selection (the means and bands
        always use every selected pixel).
    image : str or pathlib.Path, optional
        A microscope image to offer in the overlay panel.
    panels : sequence of {'overlay', 'export'}
        Collapsible panels shown under the groups (the overlay panel is
        ``.overlay.widget`` either way).

    Examples
    --------
    >>> from nbtools.simulate import seccm_scan
    >>> ds, truth = seccm_scan(12, 12, 200, seed=1)
    >>> sel = PixelSelector(ds)
    >>> sel.select([0, 1, 2]); sel.add_to_group("particle")
    >>> int(sel.groups["particle"].sum())
    3
    """

    def __init__(self, ds, map=None, *, groups=("particle", "substrate"), params=None, max_curves=50,
                 image=None, panels=("overlay", "export")):
        from ..seccm.dataset import validate

        validate(ds)
        self.ds = ds
        self.max_curves = int(max_curves)
        self.status = ErrorDisplay()
        self.last_response_s = float("nan")
        self._cur = np.asarray(ds.current.values)
        pot = np.asarray(ds.potential.values)
        self._pot = pot
        self._status = np.asarray(ds.status.values).astype(str)
        self._landed = self._status == "landed"
        self._has_data = self._status != "empty"
        ny, nx = (int(v) for v in np.asarray(ds.attrs["grid_shape"]).ravel()[:2])
        self._shape = (ny, nx)
        self._gx = np.asarray(ds.attrs["grid_x"], dtype=np.float64).ravel()
        self._gy = np.asarray(ds.attrs["grid_y"], dtype=np.float64).ravel()
        self._ix, self._iy = ds.ix.values.astype(np.int64), ds.iy.values.astype(np.int64)
        self._groups: dict[str, np.ndarray] = {}
        self._colors: dict[str, str] = {}
        self._maps: dict[str, xr.DataArray] = {}
        self._custom: dict[str, xr.DataArray] = {}
        self._widget = None
        self._selection = np.zeros(0, dtype=np.int64)
        self._building = True
        self._panels = tuple(panels)

        good = self._status == "landed"
        sample = self._cur[np.flatnonzero(good)[:: max(1, good.sum() // 400)]] if good.any() else self._cur[:1]
        with np.errstate(invalid="ignore"):
            big = np.nanpercentile(np.abs(sample), 99.5) if np.isfinite(sample).any() else 0.0
        self.cur_unit, self.cur_scale = current_display_unit(float(big))
        self._opts = {
            "potential": float(np.nanmean([np.nanmin(pot), np.nanmax(pot)])),
            "onset_current": float(0.1 * big) if big > 0 else 1e-12,
        }
        self._build_controls()
        self._build_figures()
        self.overlay = None
        for g in groups:
            self.new_group(g)
        if self._groups:
            self.group_choice.value = next(iter(self._groups))
        self._building = False
        if isinstance(map, xr.DataArray):
            self.add_map(map.name or "custom", map)
        elif map is not None:
            self.show_map(map)
        else:
            self.show_map("charge")
        from .image_overlay import ImageOverlay

        self.overlay = ImageOverlay(self, image=image)
        if params is not None:
            self.set_params(params)
        self._refresh_groups()
        curve_stats(self._cur, np.zeros(1, dtype=np.int64))  # compile the kernel now, not on first click

    # ----------------------------------------------------------- building
    def _build_controls(self):
        g = self.status.guard
        opts = [(label, key) for key, (label, _) in MAPS.items()]
        self.map_choice = W.Dropdown(options=opts, value="charge", description="Map:",
                                     layout=W.Layout(width="380px"))
        self.potential_box = W.FloatText(value=round(self._opts["potential"], 3), description="E / V:",
                                         step=0.01, layout=W.Layout(width="170px"))
        self.onset_box = W.FloatText(value=round(self._opts["onset_current"] * self.cur_scale, 3),
                                     description=f"at / {self.cur_unit}:", layout=W.Layout(width="170px"))
        self.mark_failed = W.Checkbox(value=True, description="Mark failed landings (×)", indent=False,
                                      layout=W.Layout(width="210px"))
        self.include_failed = W.Checkbox(value=False, description="Use failed landings in statistics",
                                         indent=False, layout=W.Layout(width="250px"))
        self.show_groups = W.Checkbox(value=True, description="Show groups on the map", indent=False,
                                      layout=W.Layout(width="200px"))
        self.group_choice = W.Dropdown(options=[], description="Group:", layout=W.Layout(width="230px"))
        self.add_button = W.Button(description="Add selection to group", button_style="primary",
                                   layout=W.Layout(width="190px"),
                                   tooltip="Put the selected pixels into the chosen group")
        self.remove_button = W.Button(description="Remove selection", layout=W.Layout(width="150px"),
                                      tooltip="Take the selected pixels out of the chosen group")
        self.clear_button = W.Button(description="Clear group", layout=W.Layout(width="110px"),
                                     tooltip="Empty the chosen group")
        self.auto_button = W.Button(description="Auto (classify)", button_style="info",
                                    layout=W.Layout(width="140px"),
                                    tooltip="Fill 'particle' and 'substrate' by thresholding the charge map (Otsu)")
        self.new_name = W.Text(placeholder="new group name", layout=W.Layout(width="160px"))
        self.new_button = W.Button(description="New group", layout=W.Layout(width="100px"))
        self.selection_info = W.HTML("<i>No pixel selected: drag a box or a lasso on the map, or click a pixel.</i>")
        self.summary_html = W.HTML()
        self.export_folder = W.Text(placeholder="/folder/for/results", description="Folder:",
                                    layout=W.Layout(width="420px"))
        self.export_prefix = W.Text(value="seccm", description="Name:", layout=W.Layout(width="200px"))
        self.export_button = W.Button(description="Export masks and mean curves", icon="save",
                                      layout=W.Layout(width="230px"),
                                      tooltip="Writes <name>_groups.nc, <name>_groups.csv and "
                                              "<name>_mean_curves.csv; existing files are never replaced")
        self.map_choice.observe(g(lambda c: self.show_map(c["new"])), names="value")
        self.potential_box.observe(g(self._on_map_option), names="value")
        self.onset_box.observe(g(self._on_map_option), names="value")
        self.mark_failed.observe(g(lambda c: self._refresh_failed()), names="value")
        self.show_groups.observe(g(lambda c: setattr(self._group_r, "visible", bool(c["new"]))), names="value")
        self.include_failed.observe(g(lambda c: (self._refresh_groups(), self._on_indices(None, None, None,
                                                                                         force=True))),
                                    names="value")
        self.add_button.on_click(g(lambda b: self.add_to_group(self.group_choice.value)))
        self.remove_button.on_click(g(lambda b: self.remove_from_group(self.group_choice.value)))
        self.clear_button.on_click(g(lambda b: self.clear_group(self.group_choice.value)))
        self.auto_button.on_click(g(lambda b: self.auto_classify()))
        self.new_button.on_click(g(self._on_new_group))
        self.export_button.on_click(g(self._on_export))

    def _extent(self):
        gx, gy = self._gx, self._gy
        dx = float(np.min(np.diff(gx))) if gx.size > 1 else (float(np.min(np.diff(gy))) if gy.size > 1 else 1e-6)
        dy = float(np.min(np.diff(gy))) if gy.size > 1 else dx
        return gx[0] - dx / 2, gx[-1] + dx / 2, gy[0] - dy / 2, gy[-1] + dy / 2, dx, dy

    def _build_figures(self):
        from bokeh.events import Tap
        from bokeh.layouts import row
        from bokeh.models import (BoxSelectTool, ColorBar, ColumnDataSource, HoverTool, LassoSelectTool,
                                  LinearColorMapper, Range1d, TapTool)
        from bokeh.palettes import Viridis256
        from bokeh.plotting import figure

        x0, x1, y0, y1, dx, dy = (v * 1e6 for v in self._extent())  # µm
        self._ext_um = (x0, x1, y0, y1, dx, dy)
        w = 430
        h = int(np.clip(w * (y1 - y0) / (x1 - x0), 160, 620))
        if h == 620 or h == 160:
            w = int(np.clip(h * (x1 - x0) / (y1 - y0), 160, 620))
        self.mapper = LinearColorMapper(palette=Viridis256, low=0, high=1, nan_color="#d0d0d0")
        f = figure(frame_width=w, frame_height=h, x_range=Range1d(x0, x1), y_range=Range1d(y0, y1),
                   tools="pan,wheel_zoom,reset,save", x_axis_label="x / µm", y_axis_label="y / µm",
                   title="", output_backend="canvas")
        f.toolbar.logo = None
        f.grid.visible = False
        self._image_src = ColumnDataSource(dict(image=[np.zeros(self._shape)], x=[x0], y=[y0],
                                                dw=[x1 - x0], dh=[y1 - y0]))
        img = f.image(image="image", x="x", y="y", dw="dw", dh="dh", source=self._image_src,
                      color_mapper=self.mapper)
        f.add_tools(HoverTool(renderers=[img], tooltips=[("x, y", "$x{0.0}, $y{0.0} µm"), ("value", "@image")]))
        self.colorbar = ColorBar(color_mapper=self.mapper, title="", width=12)
        f.add_layout(self.colorbar, "right")
        # overlay image (filled by ImageOverlay), under the markers
        self._overlay_src = ColumnDataSource(dict(image=[np.zeros((1, 1), dtype=np.uint32)], x=[x0], y=[y0],
                                                  dw=[x1 - x0], dh=[y1 - y0]))
        self._overlay_r = f.image_rgba(image="image", x="x", y="y", dw="dw", dh="dh", source=self._overlay_src,
                                       global_alpha=0.5)
        self._overlay_r.visible = False
        # failed landings
        self._failed_src = ColumnDataSource(dict(x=[], y=[], status=[]))
        f.scatter("x", "y", source=self._failed_src, marker="x", size=max(4, min(12, 0.7 * w / self._shape[1])),
                  line_color="black", line_width=1.2)
        # group membership: translucent rectangles
        self._group_src = ColumnDataSource(dict(x=[], y=[], color=[]))
        # group outlines in the group's colour: the map's colours stay readable inside
        self._group_src = ColumnDataSource(dict(x0=[], y0=[], x1=[], y1=[], color=[]))
        self._group_r = f.segment("x0", "y0", "x1", "y1", source=self._group_src, line_color="color",
                                  line_width=2.5, line_alpha=0.95)
        # pixel centres: carry the selection
        xs = self._gx[self._ix] * 1e6
        ys = self._gy[self._iy] * 1e6
        self.source = ColumnDataSource(dict(x=xs, y=ys, pixel=np.arange(len(xs))))
        size = float(np.clip(0.9 * w / self._shape[1], 3, 24))
        pts = f.scatter("x", "y", source=self.source, marker="square", size=size, fill_alpha=0.0, line_alpha=0.0,
                        selection_fill_color="white", selection_fill_alpha=0.55, selection_line_color="black",
                        selection_line_alpha=0.9, nonselection_fill_alpha=0.0, nonselection_line_alpha=0.0)
        f.add_tools(TapTool(renderers=[pts]), BoxSelectTool(renderers=[pts]), LassoSelectTool(renderers=[pts]))
        f.toolbar.active_drag = f.select_one(BoxSelectTool)
        self.map_figure = f
        self.source.selected.on_change("indices", self.status.guard(self._on_indices))
        f.on_event(Tap, self.status.guard(self._on_tap))
        self.last_tap = None

        # voltammograms
        ref = self.ds.attrs.get("reference_electrode", "")
        ref = f" vs {ref}" if ref and ref != "unknown" else ""
        c = figure(frame_width=470, frame_height=max(h, 300), tools="pan,box_zoom,wheel_zoom,reset,save",
                   x_axis_label=f"Potential / V{ref}", y_axis_label=f"Current / {self.cur_unit}",
                   title="Selected pixels (thin) and group means with 95 % CI band", output_backend="canvas")
        c.toolbar.logo = None
        self._band_src = ColumnDataSource(dict(xs=[], ys=[], color=[]))
        c.patches("xs", "ys", source=self._band_src, fill_color="color", fill_alpha=0.25, line_alpha=0)
        self._curves_src = ColumnDataSource(dict(xs=[], ys=[]))
        c.multi_line("xs", "ys", source=self._curves_src, line_color="#555555", line_alpha=0.35, line_width=1)
        self._mean_src = ColumnDataSource(dict(xs=[], ys=[], color=[], name=[], dash=[]))
        c.multi_line("xs", "ys", source=self._mean_src, line_color="color", line_width=2.5, line_dash="dash",
                     legend_field="name")
        c.legend.location = "top_left"
        c.legend.background_fill_alpha = 0.6
        from bokeh.models import Label

        self._empty_label = Label(x=0.5 * 470, y=0.5 * max(h, 300), x_units="screen", y_units="screen",
                                  text="Select pixels on the map, or fill a group", text_align="center",
                                  text_color="#888888", text_font_size="13px")
        c.add_layout(self._empty_label)
        self.curve_figure = c
        self.layout = row(f, c)

    # ----------------------------------------------------------- display
    @property
    def widget(self):
        """The root ipywidget (created on first use)."""
        if self._widget is None:
            hint = W.HTML("<span style='color:#555'>Map tools (right of the map): box select (default), lasso, "
                          "click (tap); Shift adds to the selection. Pixels marked × are failed landings: shown, "
                          "but left out of means and statistics unless ticked below.</span>")
            rows = [
                W.HBox([self.map_choice, self.potential_box, self.onset_box]),
                W.HBox([self.mark_failed, self.show_groups, self.include_failed]),
                hint,
                bokeh_widget(self.layout),
                self.selection_info,
                W.HBox([self.group_choice, self.add_button, self.remove_button, self.clear_button]),
                W.HBox([self.auto_button, self.new_name, self.new_button]),
                self.status,
                W.HTML("<b>Groups</b> (statistics over landed pixels)"),
                self.summary_html,
            ]
            if self.overlay is not None and "overlay" in self._panels:
                acc = W.Accordion(children=[self.overlay.widget])
                acc.set_title(0, "Correlative overlay: SEM / optical image")
                rows.append(acc)
            if "export" in self._panels:
                exp = W.Accordion(children=[self.export_widget])
                exp.set_title(0, "Export masks and mean curves")
                rows.append(exp)
            self._widget = W.VBox(rows)
            self._sync_option_boxes()
        return self._widget

    @property
    def export_widget(self):
        """The export controls (folder, name, button)."""
        if getattr(self, "_export_w", None) is None:
            self._export_w = W.VBox([W.HBox([self.export_folder, self.export_prefix]), self.export_button])
        return self._export_w

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    # ----------------------------------------------------------- maps
    def _map(self, key):
        if key in self._custom:
            return self._custom[key]
        cache = key if key not in ("current_at", "onset") else (
            key, self._opts["potential"] if key == "current_at" else self._opts["onset_current"])
        if cache not in self._maps:
            self._maps[cache] = MAPS[key][1](self.ds, self._opts)
        return self._maps[cache]

    def map_values(self, key=None):
        """The map (y, x) DataArray shown (or of ``key``), in SI units."""
        return self._map(self._key(key or self.map_choice.value))

    def _key(self, name):
        if name in self._custom or name in MAPS:
            return name
        if name in _ALIASES:
            return _ALIASES[name]
        raise ParameterError(f"map={name!r}: expected one of {list(MAPS) + list(self._custom)} or a DataArray (y, x)")

    def add_map(self, name, map2d, *, show=True):
        """Offer a map (DataArray (y, x) on the scan grid, e.g. fitted parameters) in the chooser."""
        if not isinstance(map2d, xr.DataArray) or map2d.dims[:2] != ("y", "x") or \
                map2d.shape[:2] != self._shape:
            got = getattr(map2d, "dims", type(map2d).__name__), getattr(map2d, "shape", "")
            raise ParameterError(f"map {name!r}: expected a DataArray with dims ('y', 'x') and shape "
                                 f"{self._shape} (the scan grid), found {got}")
        name = str(name)
        self._custom[name] = map2d
        opts = [o for o in self.map_choice.options if o[1] != name] + [(name, name)]
        self.map_choice.options = opts
        if show:
            self.show_map(name)

    def show_map(self, name):
        """Show map ``name`` (a key of :data:`MAPS` or a map added with :meth:`add_map`)."""
        from bokeh.models import BasicTicker, FixedTicker
        from bokeh.palettes import Viridis256

        key = self._key(name)
        if self.map_choice.value != key:
            self.map_choice.value = key  # observer calls back here
            return
        da = self._map(key)
        vals = np.asarray(da.transpose("y", "x", ...).values, dtype=np.float64)
        if vals.ndim != 2:
            raise ParameterError(f"map {name!r}: expected 2 dimensions (y, x), found {da.dims}")
        if key == "status":
            from ..seccm.dataset import STATUS_VALUES

            self.mapper.palette = [STATUS_COLORS[s] for s in STATUS_VALUES]
            self.mapper.low, self.mapper.high = -0.5, len(STATUS_VALUES) - 0.5
            self.colorbar.ticker = FixedTicker(ticks=list(range(len(STATUS_VALUES))))
            self.colorbar.major_label_overrides = {i: s.replace("_", " ") for i, s in enumerate(STATUS_VALUES)}
            self.colorbar.title = "status"
            shown = vals
        else:
            unit = str(da.attrs.get("units", ""))
            label, scale = display_scale(unit, vals)
            shown = vals * scale
            good = np.zeros(self._shape, bool)
            good[self._iy[self._status == "landed"], self._ix[self._status == "landed"]] = True
            lo, hi = robust_limits(shown[good] if good.any() else shown)
            self.mapper.palette = Viridis256
            self.mapper.low, self.mapper.high = lo, hi
            self.colorbar.ticker = BasicTicker()
            self.colorbar.major_label_overrides = {}
            long = str(da.attrs.get("long_name", da.name or key))
            self.colorbar.title = f"{long} / {label}" if label else long
        self.map_figure.title.text = MAPS[key][0] if key in MAPS else key
        self._image_src.data = dict(self._image_src.data, image=[shown])
        self._sync_option_boxes()

    def _sync_option_boxes(self):
        key = self.map_choice.value
        self.potential_box.layout.display = None if key == "current_at" else "none"
        self.onset_box.layout.display = None if key == "onset" else "none"

    def _on_map_option(self, change):
        self._opts["potential"] = float(self.potential_box.value)
        self._opts["onset_current"] = float(self.onset_box.value) / self.cur_scale
        if self._opts["onset_current"] == 0:
            raise ParameterError("the onset threshold must be non-zero (a current in the unit shown)")
        if self.map_choice.value in ("current_at", "onset"):
            self.show_map(self.map_choice.value)

    def _refresh_failed(self):
        bad = np.flatnonzero(self._status != "landed") if self.mark_failed.value else np.zeros(0, int)
        self._failed_src.data = dict(x=self.source.data["x"][bad], y=self.source.data["y"][bad],
                                     status=self._status[bad])

    # ----------------------------------------------------------- selection
    @property
    def selection(self):
        """Selected pixel indices (into ``ds.pixel``), sorted."""
        return self._selection.copy()

    def select(self, indices):
        """Select pixels by index (as the map's tools do)."""
        idx = np.unique(np.asarray(indices, dtype=np.int64).ravel())
        n = len(self._status)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise ParameterError(f"pixel indices must be within 0..{n - 1}")
        self.source.selected.indices = idx.tolist()

    def _use(self, rows):
        return rows[(self._has_data if self.include_failed.value else self._landed)[rows]]

    def _on_indices(self, attr, old, new, *, force=False):
        t0 = time.perf_counter()
        rows = np.unique(np.asarray(self.source.selected.indices, dtype=np.int64))
        if not force and attr is not None and np.array_equal(rows, self._selection):
            return  # jupyter_bokeh 4.1 calls on_change callbacks twice per browser event
        self._selection = rows
        use = self._use(rows)
        shown = pick_rows(use, self.max_curves)
        xs = [self._x_of(r) for r in shown]
        ys = [self._cur[r] * self.cur_scale for r in shown]
        self._curves_src.data = dict(xs=xs, ys=ys)
        self._sel_stats = curve_stats(self._cur, use) if use.size else None
        self._update_means()
        n_fail = rows.size - use.size
        self.last_response_s = time.perf_counter() - t0
        if rows.size == 0:
            self.selection_info.value = "<i>No pixel selected.</i>"
        else:
            extra = f", {n_fail} failed left out" if n_fail else ""
            more = f" (showing {len(shown)} of them)" if use.size > len(shown) else ""
            self.selection_info.value = (f"<b>Selection: {rows.size} pixels</b> ({use.size} used{extra}){more}. "
                                         f"<span style='color:#777'>updated in {self.last_response_s * 1e3:.0f} ms"
                                         "</span>")

    def _x_of(self, r):
        return self._pot if self._pot.ndim == 1 else self._pot[r]

    def _mean_pot(self, rows):
        return self._pot if self._pot.ndim == 1 else curve_stats(self._pot, rows)["mean"]

    def _on_tap(self, event):
        self.last_tap = (float(event.x) * 1e-6, float(event.y) * 1e-6)
        if self.overlay is not None:
            self.overlay.show_tap(self.last_tap)

    # ----------------------------------------------------------- groups
    def new_group(self, name):
        """Create an empty group ``name`` with the next free colour."""
        name = str(name).strip()
        if not name:
            raise ParameterError("group name is empty: type a name first")
        if name in self._groups:
            raise ParameterError(f"group {name!r} exists already; choose another name")
        self._groups[name] = np.zeros(len(self._status), bool)
        used = set(self._colors.values())
        self._colors[name] = next((c for c in GROUP_COLORS if c not in used),
                                  GROUP_COLORS[len(self._colors) % len(GROUP_COLORS)])
        self.group_choice.options = list(self._groups)
        self.group_choice.value = name
        if not self._building:
            self._refresh_groups()

    def _group(self, name):
        if name not in self._groups:
            raise ParameterError(f"no group {name!r}; groups: {list(self._groups)}")
        return self._groups[name]

    def add_to_group(self, name):
        """Add the selected pixels to group ``name``."""
        g = self._group(name)
        if self._selection.size == 0:
            self.status.warning("Nothing selected: select pixels on the map first (click, box or lasso).")
            return
        g[self._selection] = True
        self.status.info(f"{name}: {int(g.sum())} pixels")
        self._refresh_groups()

    def remove_from_group(self, name):
        """Take the selected pixels out of group ``name``."""
        g = self._group(name)
        g[self._selection] = False
        self.status.info(f"{name}: {int(g.sum())} pixels")
        self._refresh_groups()

    def clear_group(self, name):
        """Empty group ``name``."""
        self._group(name)[:] = False
        self.status.info(f"{name}: cleared")
        self._refresh_groups()

    def set_group(self, name, mask):
        """Set group ``name`` (created if new) from a mask (y, x), a boolean (pixel) array or indices."""
        from ..seccm import pixel_mask

        m = pixel_mask(self.ds, mask)
        if name not in self._groups:
            self.new_group(name)
        self._groups[name] = m.copy()
        self._refresh_groups()

    def auto_classify(self, **options):
        """Fill 'particle' and 'substrate' from :func:`nbtools.seccm.classify` of the charge map."""
        from ..seccm import classify, pixel_mask

        options.setdefault("activity", self._map("charge"))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", NbtoolsWarning)
            mask = classify(self.ds, **options)
        part = pixel_mask(self.ds, mask)
        for name in ("particle", "substrate"):
            if name not in self._groups:
                self.new_group(name)
        self._groups["particle"] = part
        self._groups["substrate"] = ~part
        if not mask.attrs.get("split", True):  # classify declined: too few pixels or one population
            note = mask.attrs.get("note") or "; ".join(str(w.message) for w in caught)
            self.status.warning(f"Auto (classify): no particle/substrate split. {note}")
            self._refresh_groups()
            return mask
        thr = mask.attrs.get("threshold", np.nan)
        label, scale = display_scale(str(mask.attrs.get("threshold_units", "")), [thr])
        self.status.info(f"Auto (classify): particle: {int(part.sum())} pixels, substrate: {int((~part).sum())} "
                         f"pixels (Otsu threshold {thr * scale:.3g} {label} on the charge map; "
                         "failed landings take their neighbours' label).")
        self._refresh_groups()
        return mask

    @property
    def group_names(self):
        """Names of the groups, in creation order."""
        return list(self._groups)

    @property
    def groups(self):
        """Group name -> boolean DataArray (y, x) on the scan grid (True = in the group)."""
        from ..seccm import to_grid

        out = {}
        for name, m in self._groups.items():
            da = xr.DataArray(m, dims="pixel", coords={"ix": self.ds.ix, "iy": self.ds.iy}, name=name,
                              attrs={"long_name": f"group {name!r}"})
            out[name] = to_grid(da, self.ds, fill=False).drop_vars(["ix", "iy"], errors="ignore")
        return out

    def _refresh_groups(self):
        if self._building:
            return
        segs = [outline_segments(self._grid_mask(m), self._gx * 1e6, self._gy * 1e6, inset=0.15)
                for m in self._groups.values()]
        cols = [[c] * len(sg[0]) for sg, c in zip(segs, self._colors.values())]
        cat = (lambda k: np.concatenate([sg[k] for sg in segs])) if segs else (lambda k: np.zeros(0))
        self._group_src.data = dict(x0=cat(0), y0=cat(1), x1=cat(2), y1=cat(3), color=sum(cols, []))
        self._group_stats = {}
        for name, m in self._groups.items():
            use = self._use(np.flatnonzero(m))
            if use.size:
                self._group_stats[name] = (use, curve_stats(self._cur, use))
        self._update_means()
        self._refresh_failed()
        self.summary_html.value = self._summary_html()

    def _grid_mask(self, m):
        g = np.zeros(self._shape, bool)
        g[self._iy[m], self._ix[m]] = True
        return g

    def _update_means(self):
        xs, ys, cs, names = [], [], [], []
        bx, by, bc = [], [], []
        items = list(getattr(self, "_group_stats", {}).items())
        sel = getattr(self, "_sel_stats", None)
        if sel is not None:
            items.append(("selection", (self._use(self._selection), sel)))
        for name, (rows, st) in items:
            color = self._colors.get(name, "#000000")
            x = np.asarray(self._mean_pot(rows), dtype=np.float64)
            ok = np.isfinite(x) & np.isfinite(st["mean"])
            xs.append(x[ok])
            ys.append(st["mean"][ok] * self.cur_scale)
            cs.append(color)
            names.append(f"{name} (n={rows.size})")
            okb = ok & np.isfinite(st["low"])
            if okb.sum() > 1:
                bx.append(np.concatenate([x[okb], x[okb][::-1]]))
                by.append(np.concatenate([st["low"][okb], st["high"][okb][::-1]]) * self.cur_scale)
                bc.append(color)
        self._mean_src.data = dict(xs=xs, ys=ys, color=cs, name=names, dash=["dash"] * len(xs))
        self.curve_figure.legend.visible = bool(names)
        self._empty_label.visible = not names
        self._band_src.data = dict(xs=bx, ys=by, color=bc)

    # ----------------------------------------------------------- summary
    def summary(self):
        """One row per group: pixels, charge and peak potentials (mean ± sd over used pixels)."""
        from ..seccm import from_grid

        cols = {"charge": ("charge", "C"), "peak_potential_anodic": ("E_pa", "V"),
                "peak_potential_cathodic": ("E_pc", "V")}
        per_pixel = {k: from_grid(self._map(k), self.ds).values for k in cols}
        rows = []
        for name, m in self._groups.items():
            sel = np.flatnonzero(m)
            use = self._use(sel)
            r = {"group": name, "n_pixels": sel.size, "n_used": use.size, "n_failed": sel.size - use.size}
            for k, (short, unit) in cols.items():
                v = per_pixel[k][use]
                v = v[np.isfinite(v)]
                r[f"{short}_mean_{unit}"] = float(v.mean()) if v.size else np.nan
                r[f"{short}_sd_{unit}"] = float(v.std(ddof=1)) if v.size > 1 else np.nan
                r[f"{short}_n"] = v.size
            rows.append(r)
        df = pd.DataFrame(rows)
        df.attrs["source"] = str(self.ds.attrs.get("source", ""))
        df.attrs["statistics"] = "landed pixels only" if not self.include_failed.value else "all pixels with data"
        return df

    def _summary_html(self):
        if not any(m.any() for m in self._groups.values()):
            return ("<i>No pixels in any group yet: select pixels and press 'Add selection to group', "
                    "or 'Auto (classify)'.</i>")
        df = self.summary()
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
            col = self._colors.get(r["group"], "#000")
            cells = [f"<span style='color:{col};font-size:130%'>■</span> {html.escape(str(r['group']))}",
                     str(r["n_pixels"]), str(r["n_used"]), str(r["n_failed"]),
                     pm(r["charge_mean_C"], r["charge_sd_C"], qs[1]),
                     pm(r["E_pa_mean_V"], r["E_pa_sd_V"], fmt=".3f") + (f" (n={r['E_pa_n']})" if r["E_pa_n"] else ""),
                     pm(r["E_pc_mean_V"], r["E_pc_sd_V"], fmt=".3f") + (f" (n={r['E_pc_n']})" if r["E_pc_n"] else "")]
            out.append("<tr>" + "".join(f"<td style='{td}'>{c}</td>" for c in cells) + "</tr>")
        out.append("</table><span style='color:#777'>mean ± standard deviation over pixels; peak potentials "
                   "only where a peak was found (n)</span>")
        return "".join(out)

    # ----------------------------------------------------------- params, export
    @property
    def params(self):
        """JSON-serialisable state: map, groups (pixel indices), colours, options, overlay."""
        p = {
            "map": self.map_choice.value,
            "map_options": {"potential": self._opts["potential"], "onset_current": self._opts["onset_current"]},
            "groups": {name: np.flatnonzero(m).tolist() for name, m in self._groups.items()},
            "colors": dict(self._colors),
            "options": {"mark_failed": bool(self.mark_failed.value), "show_groups": bool(self.show_groups.value),
                        "include_failed": bool(self.include_failed.value)},
            "n_pixels": int(len(self._status)),
        }
        if self.overlay is not None:
            p["overlay"] = self.overlay.params
        return p

    def set_params(self, params):
        """Restore a state saved from :attr:`params`."""
        if not isinstance(params, dict):
            raise ParameterError(f"params: expected a dict from PixelSelector.params, found {type(params).__name__}")
        n = params.get("n_pixels", len(self._status))
        if n != len(self._status):
            raise ParameterError(f"params were saved for a scan of {n} pixels; this scan has {len(self._status)}")
        mo = params.get("map_options", {})
        self._opts.update({k: float(v) for k, v in mo.items() if k in self._opts})
        self.potential_box.value = round(self._opts["potential"], 6)
        self.onset_box.value = self._opts["onset_current"] * self.cur_scale
        opt = params.get("options", {})
        self.mark_failed.value = bool(opt.get("mark_failed", True))
        self.show_groups.value = bool(opt.get("show_groups", True))
        self.include_failed.value = bool(opt.get("include_failed", False))
        self._building = True
        try:
            for name, idx in params.get("groups", {}).items():
                if name not in self._groups:
                    self.new_group(name)
                m = np.zeros(len(self._status), bool)
                m[np.asarray(idx, dtype=np.int64)] = True
                self._groups[name] = m
            for name, c in params.get("colors", {}).items():
                if name in self._colors:
                    self._colors[name] = str(c)
        finally:
            self._building = False
        if "map" in params and params["map"] in (set(MAPS) | set(self._custom)):
            self.show_map(params["map"])
        if self.overlay is not None and params.get("overlay"):
            self.overlay.set_params(params["overlay"])
        self._refresh_groups()

    def export(self, folder, *, prefix="seccm"):
        """Write the group masks (NetCDF, CSV), mean curves (CSV) and ``.params`` (JSON) into ``folder``.

        Existing files are never replaced (a suffix ``_2`` ... is added). Returns the paths.
        """
        import json

        from ._map_tools import _free_path, _safe_name

        groups = {k: v for k, v in self._groups.items() if v.any()}
        paths = export_groups(self.ds, groups, folder, prefix=prefix, include_failed=self.include_failed.value)
        p = _free_path(Path(folder).expanduser() / f"{_safe_name(prefix)}_selector.json")
        p.write_text(json.dumps(self.params, indent=1), encoding="utf-8")
        return paths + [p]

    def _on_new_group(self, _):
        self.new_group(self.new_name.value)
        self.new_name.value = ""

    def _on_export(self, _):
        folder = self.export_folder.value.strip()
        if not folder:
            raise ParameterError("type the folder to write into (it must exist)")
        paths = self.export(folder, prefix=self.export_prefix.value or "seccm")
        self.status.info("Written: " + ", ".join(p.name for p in paths) + f" in {Path(folder).expanduser()}")
