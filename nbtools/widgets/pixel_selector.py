"""PixelSelector: pick pixels of an SECCM map into named groups and compare their voltammograms.

A view over the SECCM analysis recipe (:class:`~nbtools.seccm.recipe.AnalysisRecipe`:
the map shown, the particle/substrate split, the per-pixel fit) and over a
selection and named groups of pixels. Every number comes from
:mod:`nbtools.seccm` (:func:`~nbtools.seccm.make_map`,
:func:`~nbtools.seccm.classify`, :func:`~nbtools.seccm.stats.curve_stats`,
:func:`~nbtools.seccm.group_summary`, :func:`~nbtools.seccm.export_groups`);
the drawing is :class:`~nbtools.widgets.map_view.MapView` and
:class:`~nbtools.widgets.curve_view.CurveView`; the panels (groups, table,
export, state) are in :mod:`nbtools.widgets.selector_panels`. Everything the
buttons do is a method a script or test can call (see :class:`PixelSelector`).
"""

from __future__ import annotations

import time
import warnings

import ipywidgets as W
import numpy as np
import traitlets
import xarray as xr

from .. import seccm
from ..errors import NbtoolsWarning, ParameterError
from ..plotting import current_display_unit
from ..recipes import Recipe
from ..seccm.export import export_groups
from ..seccm.recipe import AnalysisRecipe, MapRecipe
from ..seccm.registry import MAPS, resolve_map
from ..seccm.quality import status_texts
from ..seccm.stats import MIN_BAND_CURVES, curve_stats
from .curve_view import CurveView, pick_rows
from .display import ErrorDisplay, bokeh_widget
from .map_options import ClassifyOptions, MapOptions
from .map_view import GROUP_COLORS, MapView, map_plot, outline_segments, robust_limits
from .selector_panels import (auto_targets, classify_text, export_controls, export_selection, group_controls,
                              mark_text, mean_items, restore_params, selection_text, selector_params, summary_html,
                              typical_current)
from .traits import PixelIndices, Result

__all__ = ["PixelSelector", "MAPS", "export_groups", "map_plot", "outline_segments", "robust_limits"]

#: maps of the group table: short name -> recipe
SUMMARY_MAPS = {"charge": MapRecipe(map="charge"), "E_pa": MapRecipe(map="peak_potential", direction="anodic"),
                "E_pc": MapRecipe(map="peak_potential", direction="cathodic")}
_MAX_CACHED = 24


class PixelSelector(traitlets.HasTraits):
    """Select pixels of an SECCM scan on a map, group them, compare their voltammograms.

    Parameters
    ----------
    ds : xarray.Dataset
        SECCM Dataset (:func:`nbtools.seccm.load`, :func:`nbtools.simulate.seccm_scan` ...).
    map : str or xarray.DataArray, optional
        The map shown first: a key of :data:`nbtools.seccm.MAPS` (``'charge'``,
        ``'current_at'``, ``'peak_potential'``, ``'status'`` ...) or a DataArray
        (y, x) on the scan grid. Default: the recipe's map (charge).
    groups : sequence of str
        Names of the empty groups to start with.
    recipe : AnalysisRecipe, optional
        The analysis settings (map, classify, fit); ``.recipe`` reads and writes them.
    params : dict, optional
        A previous ``.params``: restores the recipe, groups and options.
    max_curves : int
        Most individual curves drawn for a selection (the means and bands
        always use every selected pixel).
    image : str or pathlib.Path, optional
        A microscope image to offer in the overlay panel.
    panels : sequence of {'overlay', 'export'}
        Collapsible panels shown under the groups.

    Examples
    --------
    >>> from nbtools.simulate import seccm_scan
    >>> ds, truth = seccm_scan(12, 12, 200, seed=1)
    >>> sel = PixelSelector(ds)
    >>> sel.select([0, 1, 2]); sel.add_to_group("particle")
    >>> int(sel.groups["particle"].sum())
    3
    """

    recipe = traitlets.Instance(Recipe)  # an AnalysisRecipe (a part given is merged in)
    map = Result(xr.DataArray, allow_none=True)
    mask = Result(xr.DataArray, allow_none=True)
    selection = PixelIndices()
    group_masks = traitlets.Dict()
    include_failed = traitlets.Bool(False)
    mark_failed = traitlets.Bool(True)
    show_groups = traitlets.Bool(True)

    def __init__(self, ds, map=None, *, groups=("particle", "substrate"), recipe=None, params=None, max_curves=50,
                 image=None, panels=("overlay", "export")):
        from .image_overlay import ImageOverlay

        seccm.layout.validate(ds)
        # a shallow copy of its own: marking landings replaces its status, never the caller's
        self.ds, self.max_curves, self.panels = ds.copy(), int(max_curves), tuple(panels)
        self.status, self.overlay, self._widget = ErrorDisplay(), None, None
        self.last_response_s, self.last_tap, self._auto_made = float("nan"), None, set()
        self._cur, self._pot = np.asarray(ds.current.values), np.asarray(ds.potential.values)
        self._read_status()
        big = typical_current(self._cur, self._landed)
        self.cur_unit, self.cur_scale = current_display_unit(big)
        lo, hi = seccm.layout.potential_range(ds)
        self.defaults = {"potential": round((lo + hi) / 2, 4), "onset_current": 0.1 * big or 1e-12}
        super().__init__(recipe=AnalysisRecipe.coerce(recipe))
        self.colors, self._maps, self._custom, self._stats = {}, {}, {}, {}
        self.map_view = MapView(ds)
        self._read_status()
        self.curve_view = CurveView(unit=self.cur_unit, scale=self.cur_scale, height=max(self.map_view.height, 300),
                                    reference=ds.attrs.get("reference_electrode", ""))
        g = self.status.guard
        self.options = MapOptions(self.recipe.map, defaults=self.defaults, current_unit=self.cur_unit,
                                  current_scale=self.cur_scale, guard=g)
        self.classify_options = ClassifyOptions(self.recipe.classify, guard=g)
        group_controls(self)
        export_controls(self)
        self._connect()
        for name in groups:
            self.new_group(name)
        self.group_choice.value = next(iter(self.group_masks), None)
        if isinstance(map, xr.DataArray):
            self.add_map(map.name or "custom", map)
        elif map is not None:
            self.show_map(map)
        self._redraw_map()
        self._refresh_failed()
        self.overlay = ImageOverlay(self, image=image)
        if params is not None:
            self.set_params(params)
        curve_stats(self._cur, np.zeros(1, dtype=np.int64))  # compile the kernel now, not on first click

    def _read_status(self):
        self._status = np.asarray(self.ds.status.values).astype(str)
        self._landed = seccm.good_pixels(self.ds, include_failed=False).values
        self._usable = {False: self._landed, True: seccm.good_pixels(self.ds, include_failed=True).values}
        if hasattr(self, "map_view"):
            self.map_view.set_reasons(status_texts(self.ds))
            self._maps = {r: m for r, m in self._maps.items() if r.map != "status"}

    @traitlets.validate("recipe")
    def _valid_recipe(self, proposal):
        """A part (MapRecipe ...) replaces that part; the map gets a potential and an onset current."""
        r = proposal["value"]
        if not isinstance(r, AnalysisRecipe):
            r = self.recipe.with_part(r)
        fill = {k: v for k, v in self.defaults.items() if getattr(r.map, k) is None}
        return r.replace(map=r.map.replace(**fill)) if fill else r

    def _connect(self):
        g = self.status.guard
        self.options.observe(g(lambda c: setattr(self, "recipe", self.recipe.replace(map=c["new"]))), names="recipe")
        self.options.observe(g(lambda c: self._redraw_map()), names="custom")
        self.classify_options.observe(g(lambda c: setattr(self, "recipe", self.recipe.replace(classify=c["new"]))),
                                      names="recipe")
        self.observe(g(self._on_recipe), names="recipe")
        self.observe(g(lambda c: self._show_map(c["new"])), names="map")
        self.observe(g(lambda c: self._on_selection()), names="selection")
        self.observe(g(lambda c: self._refresh_groups()), names=["group_masks", "include_failed"])
        self.observe(g(lambda c: self._on_selection()), names="include_failed")
        self.observe(g(lambda c: self._refresh_failed()), names="mark_failed")
        self.observe(lambda c: setattr(self.map_view.group_renderer, "visible", c["new"]), names="show_groups")
        self.source.selected.on_change("indices", g(lambda attr, old, new: setattr(self, "selection", new)))
        from bokeh.events import Tap

        self.map_view.figure.on_event(Tap, g(self._on_tap))

    @property
    def source(self):
        """ColumnDataSource of the pixel centres; its ``selected.indices`` is the map's selection."""
        return self.map_view.source

    # ----------------------------------------------------------- recipe and maps
    def _on_recipe(self, change):
        self.options.recipe = change["new"].map
        self.classify_options.recipe = change["new"].classify
        if change["old"].map != change["new"].map:
            self._redraw_map()

    def map_values(self, name=None):
        """The map (y, x) DataArray shown (or of ``name``: a MAPS key, an alias or an added map), in SI units."""
        if name is None:
            return self.map
        if name in self._custom:
            return self._custom[name]
        return self._registry_map(resolve_map(name, self.recipe.map))

    def _registry_map(self, r):
        if r not in self._maps:
            while len(self._maps) >= _MAX_CACHED:
                self._maps.pop(next(iter(self._maps)))
            self._maps[r] = seccm.make_map(self.ds, r)
        return self._maps[r]

    def _redraw_map(self):
        key = self.options.shown
        self.map = self._custom[key] if key in self._custom else self._registry_map(self.recipe.map)

    def _show_map(self, da):
        key = self.options.shown
        title = MAPS[key].label if key in MAPS else key
        self.map_view.show(da, title=title, landed=self._landed)

    def show_map(self, name):
        """Show map ``name``: a key of :data:`nbtools.seccm.MAPS` (or an older alias) or one added by :meth:`add_map`."""
        if name in self._custom:
            self.options.choose(name)
            return
        r = resolve_map(name, self.recipe.map)
        with self.options.hold_trait_notifications():
            self.options.recipe = r
            self.options.custom = ""

    def add_map(self, name, map2d, *, show=True):
        """Offer a map (DataArray (y, x) on the scan grid, e.g. fitted parameters) in the chooser."""
        shape = self.map_view.shape
        if not isinstance(map2d, xr.DataArray) or map2d.dims[:2] != ("y", "x") or map2d.shape[:2] != shape:
            got = getattr(map2d, "dims", type(map2d).__name__), getattr(map2d, "shape", "")
            raise ParameterError(f"map {name!r}: expected a DataArray with dims ('y', 'x') and shape "
                                 f"{shape} (the scan grid), found {got}")
        name = str(name)
        self._custom[name] = map2d
        self.options.add_custom(name)
        if show:
            self.show_map(name)
        elif self.options.shown == name:
            self._redraw_map()

    # ----------------------------------------------------------- selection
    def select(self, indices):
        """Select pixels by index (as the map's tools do)."""
        idx = np.unique(np.asarray(indices, dtype=np.int64).ravel())
        n = len(self._status)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise ParameterError(f"pixel indices must be within 0..{n - 1}")
        self.source.selected.indices = idx.tolist()

    def _use(self, rows):
        return rows[self._usable[self.include_failed][rows]]

    def _on_selection(self):
        t0 = time.perf_counter()
        rows = self.selection
        if not np.array_equal(np.unique(self.source.selected.indices), rows):
            self.source.selected.indices = rows.tolist()
        use = self._use(rows)
        shown = pick_rows(use, self.max_curves)
        self.curve_view.show_curves([self._pot if self._pot.ndim == 1 else self._pot[r] for r in shown],
                                    [self._cur[r] for r in shown])
        self._stats["selection"] = (use, curve_stats(self._cur, use)) if use.size else None
        self._draw_means()
        self.last_response_s = time.perf_counter() - t0
        self.selection_info.value = selection_text(rows.size, use.size, len(shown), self.last_response_s)

    def _draw_means(self):
        self.curve_view.show_means(mean_items(self, MIN_BAND_CURVES))

    def _on_tap(self, event):
        self.last_tap = (float(event.x) * 1e-6, float(event.y) * 1e-6)
        if self.overlay is not None:
            self.overlay.show_tap(self.last_tap)

    def _refresh_failed(self):
        bad = np.flatnonzero(~self._landed) if self.mark_failed else np.zeros(0, int)
        self.map_view.show_failed(bad, self._status)

    # ----------------------------------------------------------- landing quality marked by the user
    def mark(self, status, pixels=None):
        """Label the selected landings (or ``pixels``) yourself: 'landed', 'failed_landing' ... or None (automatic).

        :func:`nbtools.seccm.mark_pixels` on ``self.ds``: classify, fits, statistics and exports follow; ``.params``
        keeps the marks.
        """
        rows = self.selection if pixels is None else np.unique(np.asarray(pixels, dtype=np.int64).ravel())
        if rows.size == 0:
            return self.status.warning("Nothing selected: select the landings to mark on the map first.")
        new = seccm.mark_pixels(self.ds, rows, status)
        for name in ("status", "status_auto", "status_override"):
            self.ds[name] = new[name]
        self._read_status()
        self._redraw_map()
        for refresh in (lambda: self._show_map(self.map), self._refresh_failed, self._refresh_groups,
                        self._on_selection):  # colour limits over the landed pixels, crosses, means
            refresh()
        self.status.info(mark_text(rows.size, status))

    # ----------------------------------------------------------- groups
    @property
    def group_names(self):
        """Names of the groups, in creation order."""
        return list(self.group_masks)

    @property
    def groups(self):
        """Group name -> boolean DataArray (y, x) on the scan grid (True = in the group)."""
        return {name: seccm.layout.pixel_map(m, self.ds, name, {"long_name": f"group {name!r}"})
                for name, m in self.group_masks.items()}

    def _set_masks(self, auto=False, **masks):
        """Set groups; ``auto``: made by Auto (classify), which may replace them (it never replaces a user's)."""
        self._auto_made = (self._auto_made | set(masks)) if auto else (self._auto_made - set(masks))
        self.group_masks = {**self.group_masks, **{k: np.asarray(v, bool) for k, v in masks.items()}}

    def new_group(self, name):
        """Create an empty group ``name`` with the next free colour."""
        name = str(name).strip()
        if not name:
            raise ParameterError("group name is empty: type a name first")
        if name in self.group_masks:
            raise ParameterError(f"group {name!r} exists already; choose another name")
        used = set(self.colors.values())
        self.colors[name] = next((c for c in GROUP_COLORS if c not in used), GROUP_COLORS[len(self.colors) % 8])
        self._set_masks(**{name: np.zeros(len(self._status), bool)})
        self.group_choice.options = self.group_names
        self.group_choice.value = name

    def _group(self, name):
        if name not in self.group_masks:
            raise ParameterError(f"no group {name!r}; groups: {self.group_names}")
        return self.group_masks[name].copy()

    def add_to_group(self, name):
        """Add the selected pixels to group ``name``."""
        if self.selection.size == 0:
            self.status.warning("Nothing selected: select pixels on the map first (click, box or lasso).")
            return
        self._put(name, True)

    def remove_from_group(self, name):
        """Take the selected pixels out of group ``name``."""
        self._put(name, False)

    def _put(self, name, value):
        g = self._group(name)
        g[self.selection] = value
        self._set_masks(**{name: g})
        self.status.info(f"{name}: {int(g.sum())} pixels")

    def clear_group(self, name):
        """Empty group ``name``."""
        self._set_masks(**{name: self._group(name) & False})
        self.status.info(f"{name}: cleared")

    def set_group(self, name, mask):
        """Set group ``name`` (created if new) from a mask (y, x), a boolean (pixel) array or indices."""
        m = seccm.pixel_mask(self.ds, mask)
        if name not in self.group_masks:
            self.new_group(name)
        self._set_masks(**{name: m})

    def auto_classify(self, **settings):
        """Split the scan into particle and substrate groups with :func:`nbtools.seccm.classify`.

        ``settings`` change the recipe's classify part first (``window=(E1, E2)`` ...);
        ``activity='given'`` (or a DataArray) thresholds the map shown (or that one). Fills
        'particle'/'substrate' when empty or filled by Auto before, else 'particle (auto)'/'substrate (auto)':
        a group the user made never changes, nor any group when there is no split (the status line says why).
        """
        if isinstance(settings.get("activity"), xr.DataArray):
            given = settings.pop("activity")
            settings["activity"] = "given"
        else:
            given = self.map
        r = self.recipe.classify.replace(**settings) if settings else self.recipe.classify
        if not self._usable[r.include_failed].any():
            return self.status.warning("Auto (classify): no landing is labelled landed, so there is nothing to split. "
                                       "Hover over the pixels to see why; mark good landings with 'Mark landed'.")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", NbtoolsWarning)
            mask = seccm.classify(self.ds, r, **({"activity": given} if r.activity == "given" else {}))
        self.recipe = self.recipe.replace(classify=mask.attrs["recipe"])
        self.mask = mask
        if not mask.attrs["split"]:
            self.status.warning(classify_text(mask, None, caught, ()))
            return mask
        part = seccm.pixel_mask(self.ds, mask)
        names, kept = auto_targets(self)
        for name in names:
            if name not in self.group_masks:
                self.new_group(name)
        self._set_masks(auto=True, **{names[0]: part, names[1]: ~part})
        self.status.info(classify_text(mask, (names, part), caught, kept))
        return mask

    def _refresh_groups(self):
        masks = self.group_masks
        self.map_view.show_groups(masks, self.colors)
        sel = self._stats.get("selection")
        self._stats = {}
        for name, m in masks.items():
            use = self._use(np.flatnonzero(m))
            if use.size:
                self._stats[name] = (use, curve_stats(self._cur, use))
        self._stats["selection"] = sel
        self._draw_means()
        self.summary_html.value = summary_html(self)

    def summary(self):
        """One row per group: pixels, charge and peak potentials (:func:`nbtools.seccm.group_summary`)."""
        maps = {k: self._registry_map(r) for k, r in SUMMARY_MAPS.items()}
        return seccm.group_summary(self.ds, self.group_masks, maps, include_failed=self.include_failed)

    # ----------------------------------------------------------- state, export, display
    @property
    def params(self):
        """JSON-serialisable state: recipe, shown map, groups (pixel indices), colours, options, overlay."""
        return selector_params(self)

    def set_params(self, params):
        """Restore a state saved from :attr:`params`."""
        restore_params(self, params)

    def export(self, folder, *, prefix="seccm"):
        """Write the group masks (NetCDF, CSV), mean curves (CSV) and ``.params`` (JSON) into ``folder``.

        Existing files are never replaced (a suffix ``_2`` ... is added). Returns the paths.
        """
        return export_selection(self, folder, prefix)

    @property
    def widget(self):
        """The root ipywidget (created on first use)."""
        if self._widget is None:
            from .selector_panels import layout

            self._widget = layout(self, bokeh_widget)
        return self._widget

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)
