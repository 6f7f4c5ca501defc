"""FitMapPanel: fit a voltammogram model to every chosen pixel of an SECCM scan; parameter and uncertainty maps.

A view over a per-pixel fit recipe (:class:`~nbtools.seccm.recipe.PixelFitRecipe`)
and its result (:func:`nbtools.seccm.fit_pixels`). The model menu lists
:func:`nbtools.seccm.pixel_models`, the options shown are those the model
takes, the fixed parameters are the model's own; the statistics table is
:func:`nbtools.seccm.fit_summary`. With a :class:`~nbtools.widgets.PixelSelector`
the panel fits its selection or a group, keeps its recipe in the selector's
(``selector.recipe.fit``) and adds the maps to the selector's map menu.
"""

from __future__ import annotations

import html
import time
import warnings

import ipywidgets as W
import numpy as np
import traitlets
import xarray as xr

from .. import seccm
from ..errors import NbtoolsWarning, ParameterError
from ..kinetics.registry import param_name
from ..kinetics.results import format_quantity
from ..seccm.pixel_models import get_pixel_model, pixel_models
from ..seccm.recipe import PixelFitRecipe
from .display import ErrorDisplay, bokeh_widget
from .map_options import WindowBox
from .map_view import map_plot
from .pixel_fit_view import PixelFitView, comparison_html
from .traits import Result

__all__ = ["FitMapPanel"]

#: the pixel source that fits every usable landing (at most 'At most' of them, spread evenly)
ALL = "all pixels"


class FitMapPanel(traitlets.HasTraits):
    """Per-pixel fits over a selection or a group: model, fixed parameters, window, Fit, maps.

    Parameters
    ----------
    source : PixelSelector or xarray.Dataset
        The selector whose selection and groups can be fitted (and whose map
        menu receives the results), or a scan (then every pixel is a candidate).
    recipe : PixelFitRecipe, optional
        Starting settings (default: the selector's ``recipe.fit``; max_pixels 60).
    scheduler : optional
        Dask scheduler of :func:`nbtools.seccm.fit_pixels`.

    Traits
    ------
    recipe : PixelFitRecipe
        The fit settings (read/write).
    result : xarray.Dataset or None
        The last :func:`~nbtools.seccm.fit_pixels` result.
    """

    recipe = traitlets.Instance(PixelFitRecipe)
    result = Result(xr.Dataset, allow_none=True)

    def __init__(self, source, *, recipe=None, scheduler=None):
        self.selector = None if isinstance(source, xr.Dataset) else source
        self.ds = source if self.selector is None else source.ds
        self.scheduler = scheduler
        if recipe is None:
            recipe = self.selector.recipe.fit if self.selector is not None else PixelFitRecipe()
            recipe = recipe if recipe.max_pixels is not None else recipe.replace(max_pixels=60)
        super().__init__(recipe=PixelFitRecipe.coerce(recipe))
        self.status = ErrorDisplay()
        self._build()
        self._sync()
        g = self.status.guard
        self.observe(g(lambda c: self._sync()), names="recipe")
        self.observe(g(lambda c: self._show_result()), names="result")
        if self.selector is not None:
            self.selector.observe(g(lambda c: self._pixel_sources()), names="group_masks")
            self.selector.observe(g(lambda c: setattr(self, "recipe", c["new"].fit)), names="recipe")
            self.selector.observe(g(lambda c: self.curve.follow(c["new"])), names="selection")
            self.observe(g(lambda c: setattr(self.selector, "recipe", self.selector.recipe.replace(fit=c["new"]))),
                         names="recipe")
        self._pixel_sources()

    # ------------------------------------------------------------ controls
    def _build(self):
        g = self.status.guard
        models = pixel_models()
        self.model = W.Dropdown(options=list(models), description="Model:", layout=W.Layout(width="240px"))
        self.couples = W.Dropdown(options=[1, 2], description="Couples:", layout=W.Layout(width="160px"))
        self.sampling = W.Dropdown(options=[("current at each sample", "point"),
                                            ("current averaged over each interval", "average")],
                                   description="Samples:", style={"description_width": "initial"},
                                   layout=W.Layout(width="330px"),
                                   tooltip="how the instrument records the current (averaging front ends: 'averaged')")
        self.window = WindowBox("Window", *_scan_window(self.ds))  # ticked: the whole scan, to narrow down
        self.pixels = W.Dropdown(options=[], description="Pixels:", layout=W.Layout(width="240px"))
        self.max_pixels = W.BoundedIntText(value=60, min=0, max=10_000_000, description="At most:",
                                           tooltip="largest number of pixels to fit, spread evenly over the chosen "
                                                   "ones (0: all of them)", layout=W.Layout(width="170px"))
        self.fixed_box = W.VBox()
        self.fit_button = W.Button(description="Fit pixels", button_style="primary", icon="play")
        self.progress = W.IntProgress(value=0, min=0, max=1, layout=W.Layout(width="300px"))
        self.which = W.Dropdown(options=[], description="Map of:", layout=W.Layout(width="220px", display="none"))
        self.maps_box = W.VBox()
        self.table = W.HTML()
        self.comparison = W.HTML()
        self.results = {}  # model label -> the latest result of that model (compared when two or more)
        self.curve = PixelFitView(self.ds, guard=g)
        self.description = W.HTML()
        for name, w in (("model", self.model), ("couples", self.couples), ("sampling", self.sampling),
                        ("max_pixels", self.max_pixels)):
            w.observe(g(lambda c, name=name: self._edit(name, c["new"])), names="value")
        self.window.observe(g(lambda c: self._edit("window", c["new"])), names="window")
        self.fit_button.on_click(g(lambda b: self.fit()))
        self.pixels.observe(lambda c: setattr(self, "_auto_source", getattr(self, "_setting_source", False)),
                            names="value")
        self.which.observe(g(lambda c: self._show_maps()), names="value")
        fixed = W.Accordion(children=[self.fixed_box])
        fixed.set_title(0, "Fixed parameters (ticked: held at the value given, SI units)")
        fixed.selected_index = None
        self.widget = W.VBox([W.HBox([self.model, self.couples, self.sampling]), self.description,
                              W.HBox([self.pixels, self.max_pixels, self.window]), fixed,
                              W.HBox([self.fit_button, self.progress]), self.status, self.which, self.maps_box,
                              self.table, self.curve.widget, self.comparison])
        self.widget.add_class("nbtools-fit-map-panel")  # for browser tests

    def _edit(self, name, value):
        entry = get_pixel_model(self.recipe.model)
        if name == "max_pixels":
            value = value or None  # 0: all
        if name == "sampling" and ("sampling" not in entry.options or value == (self.recipe.sampling or "point")):
            return  # None means 'point'; hidden for models without the option
        if getattr(self.recipe, name) == value:
            return
        changes = {name: value}
        if name == "model":  # parameters of another model do not carry over
            changes["params"] = {}
            if "sampling" not in get_pixel_model(value).options:
                changes["sampling"] = None
        self.recipe = self.recipe.replace(**changes)

    def _sync(self):
        """Controls follow the recipe; options and fixed parameters are those of its model."""
        r = self.recipe
        entry = get_pixel_model(r.model)
        self.model.value, self.couples.value, self.max_pixels.value = r.model, r.couples, r.max_pixels or 0
        self.sampling.value = r.sampling or "point"
        self.window.window = r.window
        self.couples.layout.display = None if "couples" in entry.options else "none"
        self.sampling.layout.display = None if "sampling" in entry.options else "none"
        note = "" if entry.has_background else (" Fit a window around one couple: the double-layer line of "
                                                "each sweep is subtracted first.")
        self.description.value = f"<span style='color:#555'>{html.escape(entry.description)}.{note}</span>"
        if getattr(self, "_rows_for", None) != (r.model, r.couples, r.params):
            self._fixed_rows(entry)

    def _fixed_rows(self, entry):
        self._rows_for = (self.recipe.model, self.recipe.couples, self.recipe.params)
        info = entry.param_info(couples=self.recipe.couples)
        rows = []
        for p, i in info.items():
            if p == "v" or not i.vary:
                continue  # v: the scan rate, fixed from the data; T: fixed by default
            set_ = self.recipe.params.get(p)
            fixed = isinstance(set_, dict) and set_.get("vary") is False
            box = W.Checkbox(value=fixed, description=f"{p} / {i.unit}" if i.unit else p, indent=False,
                             layout=W.Layout(width="120px"), tooltip=i.description)
            val = W.FloatText(value=set_["value"] if fixed else i.value, layout=W.Layout(width="130px"))
            for w in (box, val):
                w.observe(self.status.guard(lambda c, p=p, box=box, val=val: self._fix(p, box.value, val.value)),
                          names="value")
            rows.append(W.HBox([box, val]))
        self.fixed_box.children = [W.GridBox(rows, layout=W.Layout(grid_template_columns="repeat(3, 270px)"))]

    def _fix(self, name, fixed, value):
        params = dict(self.recipe.params)
        if fixed:
            params[name] = {"value": float(value), "vary": False}
        else:
            params.pop(name, None)
        self._rows_for = (self.recipe.model, self.recipe.couples, params)  # the rows show it already
        self.recipe = self.recipe.replace(params=params)

    def _pixel_sources(self):
        if self.selector is None:
            self.pixels.options = [ALL]
            return
        current = self.pixels.value
        auto = getattr(self, "_auto_source", True) or current is None  # not chosen by the user yet
        particle = "particle" in self.selector.group_names and self.selector.group_masks["particle"].any()
        options = ["selection", ALL] + [n for n in self.selector.group_names if n != ALL]
        value = ("particle" if particle else ALL) if auto or current not in options else current
        self._setting_source = True  # not the user's choice
        try:
            self.pixels.options = options
            self.pixels.value = value
        finally:
            self._setting_source = False
        self._auto_source = auto

    # ------------------------------------------------------------ fit
    def chosen_pixels(self):
        """Pixel indices to fit: the selector's selection or the chosen group (None: every pixel)."""
        if self.selector is None:
            return None
        name = self.pixels.value
        if name == ALL:
            return None
        idx = self.selector.selection if name == "selection" else np.flatnonzero(self.selector.group_masks[name])
        if idx.size == 0:
            raise ParameterError(f"no pixel in {name!r}: select pixels on the map or fill the group "
                                 "(e.g. 'Auto (classify)') first")
        return idx

    def fit(self):
        """Fit the chosen pixels with the recipe (progress bar, warnings in the status line); returns the result."""
        r = self.recipe.replace(pixels=self.chosen_pixels())
        self.progress.value, self.progress.max = 0, 1
        self.status.info(f"Fitting with {r.model} ...")
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", NbtoolsWarning)
            result = seccm.fit_pixels(self.ds, r, progress=self._on_progress, scheduler=self.scheduler)
        self.results[result.attrs["model"]] = result
        self.result = result
        self._report(result, time.perf_counter() - t0, [str(w.message) for w in caught])
        self._compare()
        return result

    def _on_progress(self, done, total):
        self.progress.max = max(total, 1)
        self.progress.value = done

    def _report(self, result, seconds, notes):
        summary = seccm.fit_summary(result, self.ds)
        text, level = seccm.fit_status_text(result, self.ds, seconds=seconds)
        if self.selector is not None:
            text += " The maps are also in the Map menu above."
        (self.status.warning if notes or level == "warning" else self.status.info)(" ".join([text] + notes))
        self.table.value = _table(summary, seccm.fit_quality(result, self.ds))

    def _compare(self):
        """Compare the latest fits of the models tried (AIC/BIC; tests where one model is a case of another)."""
        if len(self.results) < 2 or self.result is None:
            self.comparison.value = ""
            return

        def key(r):
            d = r.attrs.get("data", {})
            return (d.get("window"), d.get("subtract_capacitive"))

        same = {m: r for m, r in self.results.items() if key(r) == key(self.result)}
        other = [f"{m} (fitted to {r.attrs.get('data', {}).get('text', 'other data')})"
                 for m, r in self.results.items() if m not in same]
        note = ("" if not other else "<br><span style='color:#555'>Not compared, fitted to other data: "
                + html.escape("; ".join(other)) + ". Models can only be compared on the same data (window and "
                "double-layer treatment).</span>")
        if len(same) < 2:
            name = html.escape(self.result.attrs["model"])
            self.comparison.value = (f"<div class='nbtools-model-comparison'><b>Model comparison</b>: fit another "
                                     f"model to the same data to compare it with {name}.{note}</div>")
            return
        self.comparison.value = comparison_html(seccm.compare_fits(same, self.ds)).replace("</div>", note + "</div>")

    def _show_result(self):
        r = self.result
        if r is None:
            self.which.options, self.maps_box.children, self.table.value = [], [], ""
            self.which.layout.display = "none"
            self.curve.show(None)
            return
        free = seccm.fit_summary(r, self.ds).index.tolist()
        if self.selector is not None:
            for p in free:
                self.selector.add_map(f"fit: {p}", r[p], show=False)
                self.selector.add_map(f"fit: {p} stderr", r[f"{p}_stderr"], show=False)
            for key, name in (("redchi_noise", "fit: reduced χ² relative to noise"), ("r2", "fit: R²")):
                if key in r:  # where the model misses the data, on the map
                    self.selector.add_map(name, r[key], show=False)
        self.which.options = [(" ".join(dict.fromkeys(param_name(p))), p) for p in free]
        self.which.value = "ks" if "ks" in free else (free[0] if free else None)
        self.which.layout.display = None if free else "none"
        self._show_maps()
        self.curve.show(r)
        if self.selector is not None:
            self.curve.follow(self.selector.selection)

    def _show_maps(self):
        from bokeh.layouts import row

        r, p = self.result, self.which.value
        if r is None or not p:
            self.maps_box.children = []
            return
        label, symbol = param_name(p)
        name = f"{label} {symbol}" if symbol != label else label  # map_plot adds the colour bar's unit
        self.maps_box.children = [bokeh_widget(row(map_plot(r[p], title=name),
                                                   map_plot(r[f"{p}_stderr"],
                                                            title=f"uncertainty of {symbol} (standard error)")))]

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


def _scan_window(ds):
    """(low, high) of the scan's potentials, rounded outwards to the mV: the window's starting values."""
    lo, hi = seccm.layout.potential_range(ds)
    return float(np.floor(lo * 1e3 + 1e-3) / 1e3), float(np.ceil(hi * 1e3 - 1e-3) / 1e3)  # within 1 µV: that mV


def _table(summary, quality=None):
    """HTML: median and spread of each parameter where the data determine it, the goodness of fit,
    and why pixels were not fitted."""
    rows = []
    for p, r in summary.iterrows():
        if not r["n"]:
            continue
        rel = "–" if not np.isfinite(r["rel_stderr"]) else f"{r['rel_stderr']:.1%}"
        label, symbol = param_name(p)
        name = f"{html.escape(label)}, <i>{html.escape(symbol)}</i>" if symbol != label else html.escape(label)
        u = r["unit"]
        if r["n_determined"]:
            cells = (f"<td>{html.escape(format_quantity(r['median'], u))}</td><td>"
                     f"{html.escape(format_quantity(r['q1'], u))} – {html.escape(format_quantity(r['q3'], u))}</td>")
        else:
            cells = "<td colspan=2 style='color:#8a5300'>not determined by these data</td>"
        det = f"{r['n_determined']} of {r['n']}"
        rows.append(f"<tr><td title='{html.escape(p)}'>{name}</td>{cells}<td>{rel}</td><td>{det}</td></tr>")
    fails = "".join(f"<li>{n} x {html.escape(s)}</li>" for s, n in summary.attrs["failures"].items())
    good = ""
    if quality is not None and quality["n_fitted"]:
        good = (f"<p class='nbtools-fit-quality'><b>Goodness of fit</b> (median over {quality['n_fitted']} pixels): "
                f"R² {quality['r2']:.3f}; reduced χ² relative to each curve's own noise "
                f"{quality['redchi_noise']:.3g} "
                f"(about 1: the model follows the data to within their noise); residuals with structure the model "
                f"does not follow in {quality['n_structure']} pixels.</p>")
    return ("<table class='nbtools-fit' style='border-collapse:collapse'><tr><th>parameter</th><th>median</th>"
            "<th>interquartile range</th><th>median relative standard error</th><th>determined in</th></tr>"
            + "".join(rows).replace("<td>", "<td style='padding:2px 12px'>") + "</table>"
            + "<span style='color:#555'>Median and range over the pixels where the data determine the parameter "
              "(relative standard error up to 100 %, not at a bound).</span>" + good
            + (f"<b>Pixels not fitted</b><ul>{fails}</ul>" if fails else ""))
