"""FitPanel: fit a kinetic model from :data:`nbtools.kinetics.MODELS` to one curve.

A view over a :class:`~nbtools.kinetics.FitRecipe`: the controls edit
``panel.recipe`` (model, parameter table, window, intervals, NaN policy), the
table shows the parameters the fit starts from (:func:`nbtools.kinetics.start_params`)
and *Fit* is one call of :func:`nbtools.kinetics.fit` with the recipe; the
result (``panel.result``, carrying ``result.recipe``) is drawn and reported
(:func:`nbtools.kinetics.fit_summary`). Everything model-specific comes from
the registry entry (parameters, units, bounds, description, validity).

Public API
----------
``FitPanel(x, y, model=None, *, recipe=None, x_label=None, y_label=None, weights=None,
params=None, models=None, options=None, export_dir=".")``

- ``.recipe`` (read/write: a FitRecipe), ``.result`` (lmfit ``ModelResult`` or None),
  ``.warnings`` (list of str); both are traitlets (``panel.observe(f, names="result")``)
- ``.fit()`` applies the controls and fits (raises on bad input; the *Fit* button shows
  errors in the status line), returns the ``ModelResult``
- ``.params``: the recipe as a JSON dict plus the results (``FitPanel.from_params(x, y, p)``,
  ``nbtools.kinetics.refit(x, y, p)``)
- ``.set_model(name)``, ``.set_param(name, value=, min=, max=, vary=)``, ``.guess()``,
  ``.start_from_fit()``, ``.report_text()``, ``.export(folder=None, name=None)``
- controls for tests and notebooks: ``.model_select``, ``.rows[name]`` (``value``/``min``/``max``
  Text and ``vary`` Checkbox), ``.x_from``, ``.x_to``, ``.conf_select``, ``.skip_nan``,
  ``.fit_button``, ``.export_button``, ``.recipe_bar``, ``.status`` (ErrorDisplay), ``.report`` (HTML)
- CSS classes for browser tests: ``nbtools-fit-panel`` (root), ``nbtools-fit-button``
"""

from __future__ import annotations

import html
import warnings

import ipywidgets as W
import numpy as np
import traitlets

from .. import kinetics
from ..errors import DataError, NbtoolsWarning, ParameterError
from ..kinetics import FitRecipe
from .display import ErrorDisplay, bokeh_widget
from .fit_table import ParamTable, WindowBoxes
from ..kinetics.results import fit_quality_text
from ..kinetics.registry import param_name
from .fit_view import FitPlot, axis_label, comparison_html, model_info_html, report_html, warnings_html
from .recipe_bar import RecipeBar

__all__ = ["FitPanel"]

_CONF_CHOICES = [("standard errors (fast)", "stderr"), ("profile likelihood", "conf_interval"),
                 ("bootstrap (slow)", "bootstrap"), ("none", None)]


class FitPanel(traitlets.HasTraits):
    """Interactive fit of one curve: model chooser, parameter table, plot, report, export.

    Parameters
    ----------
    x, y : array_like
        Independent variable and data in SI units (e.g. overpotential in V and
        current in A, or time in s and current in A). Not modified.
    model : str or lmfit.Model, optional
        Name in :data:`nbtools.kinetics.MODELS` or a model instance from it (its
        options, e.g. the radius of a PITT model, go into the recipe). Default:
        the recipe's model, else ``"ButlerVolmer"``.
    recipe : FitRecipe, optional
        Settings to start from (``model``, ``params`` and ``options`` override them).
    x_label, y_label : str, optional
        Axis names. A name without a unit gets the model's unit (``"Overpotential"``
        -> ``"Overpotential / V"``); currents are shown in a prefixed unit (nA, pA...).
    weights : array_like, optional
        1/sigma per point, passed to the fit.
    params : dict, optional
        Starting values: name -> value or ``{"value", "min", "max", "vary"}``
        (e.g. ``{"v": 0.05}`` to set a fixed scan rate); kept when the model changes.
    models : list of str, optional
        Names offered in the chooser; default: every registry model with the same
        independent variable (name and unit) and y unit as ``model``.
    options : dict, optional
        Recipe settings (``conf``, ``level``, ``method``, ``nan_policy``, ``n_boot``,
        ``seed``; ``x_min``/``x_max`` as the window).
    export_dir : str or Path
        Folder proposed for exports and recipes.

    Examples
    --------
    >>> import numpy as np
    >>> from nbtools.kinetics import butler_volmer
    >>> eta = np.linspace(-0.15, 0.15, 101)
    >>> panel = FitPanel(eta, butler_volmer(eta, 2e-9, 0.4), "ButlerVolmer", x_label="Overpotential")
    >>> res = panel.fit()
    >>> round(res.params["alpha"].value, 3)
    0.4
    """

    recipe = traitlets.Instance(FitRecipe)
    result = traitlets.Any(None, allow_none=True)

    def __init__(self, x, y, model=None, *, recipe=None, x_label=None, y_label=None, weights=None,
                 params=None, models=None, options=None, export_dir="."):
        super().__init__()
        self.x = np.array(x, dtype=float, copy=True).ravel()
        self.y = np.array(y, dtype=float, copy=True).ravel()
        if self.x.size != self.y.size:
            raise DataError(f"x has {self.x.size} points but y has {self.y.size}; pass arrays of equal length")
        self.weights = None if weights is None else np.array(weights, dtype=float, copy=True)
        first = kinetics.results.panel_recipe(model, recipe, params=params, options=options, x=self.x)
        if self.weights is not None:
            first = first.replace(weights="given")
        self._initial = first.param_spec()  # the caller's start values, kept across models
        self._labels = (x_label, y_label)
        self.warnings: list[str] = []
        self._models = {}
        self._start_pars = None
        self._build_controls(self._chooser(first.entry, models), export_dir)
        self.plot = FitPlot(self.x, self.y)
        self.figure, self.fit_source, self.resid_source = self.plot.figure, self.plot.fit_source, self.plot.resid_source
        self.observe(self._on_recipe, names="recipe")
        self.observe(self._on_result, names="result")
        self._widget = None
        self.recipe = first

    # --- construction ----------------------------------------------------------------
    @staticmethod
    def _chooser(entry, models):
        names = list(models) if models is not None else [
            n for n, e in kinetics.MODELS.items()
            if e.x_name == entry.x_name and e.x_unit == entry.x_unit and e.y[1] == entry.y[1]]
        for n in names:
            kinetics.get_entry(n)  # a clear error for unknown names
        return names if entry.name in names else [entry.name, *names]

    def _build_controls(self, names, export_dir):
        self.status = ErrorDisplay()
        g = self.status.guard
        self.model_select = W.Dropdown(options=names, description="Model", layout=W.Layout(width="320px"))
        self.model_info, self.warning_box, self.report = W.HTML(), W.HTML(), W.HTML()
        self.comparison = W.HTML()
        self.fits = {}  # model -> its latest fit to the points of the latest fit (compared when two or more)
        self.table = ParamTable(on_edit=g(self._apply_inputs))
        self.conf_select = W.Dropdown(options=_CONF_CHOICES, style={"description_width": "initial"})
        self.window_boxes = WindowBoxes(on_edit=g(self._apply_inputs))
        self.x_from, self.x_to = self.window_boxes.low, self.window_boxes.high
        self.x_unit_label = W.HTML()
        self.skip_nan = W.Checkbox(description="skip NaN/Inf points", indent=False)
        self.guess_button = W.Button(description="Starting values from data", layout=W.Layout(width="210px"),
                                     tooltip="Estimate the varying parameters from the data")
        self.from_fit_button = W.Button(description="Use fitted values as start", layout=W.Layout(width="210px"),
                                        tooltip="Copy the fitted values into the table (to refit with other "
                                                "bounds or fixed parameters)")
        self.fit_button = W.Button(description="Fit", button_style="primary", icon="check",
                                   tooltip="Fit the model to the data with the table's starting values")
        self.fit_button.add_class("nbtools-fit-button")
        from pathlib import Path

        from ..safety import confined

        if confined() and Path(str(export_dir)).is_absolute():  # a workshop server: this page's own folder
            export_dir = ""
        self.export_folder = W.Text(value=str(export_dir), description="Folder", layout=W.Layout(width="360px"),
                                    placeholder="(this page's folder in the workshop's exports)" if confined() else "")
        self.export_name = W.Text(description="Name", layout=W.Layout(width="260px"))
        self.export_button = W.Button(description="Export report and curve", icon="download",
                                      layout=W.Layout(width="220px"),
                                      tooltip="Write <name>_report.txt, <name>_fit.json and <name>_curve.csv; "
                                              "existing files are never replaced")
        self.recipe_bar = RecipeBar(self, folder=lambda: self.export_folder.value, stem="fit_recipe",
                                    status=self.status)
        self.recipe_bar.save_button.description = "Save fit recipe"
        self.recipe_bar.upload.description = "Load fit recipe"
        self.recipe_bar.upload.layout.width = "190px"
        self.model_select.observe(g(lambda ch: self.set_model(ch["new"])), names="value")
        self.conf_select.observe(g(lambda ch: self._set(conf=ch["new"])), names="value")
        self.skip_nan.observe(g(lambda ch: self._set(nan_policy="omit" if ch["new"] else "raise")), names="value")
        self.guess_button.on_click(g(lambda _: self.guess()))
        self.from_fit_button.on_click(g(lambda _: self.start_from_fit()))
        self.fit_button.on_click(g(lambda _: self.fit()))
        self.export_button.on_click(g(lambda _: self.export()))

    # --- the recipe ------------------------------------------------------------------
    @traitlets.validate("recipe")
    def _valid_recipe(self, proposal):
        rec = proposal["value"]
        if rec.model not in self.model_select.options:
            e = kinetics.MODELS.get(rec.model)
            what = f"fits {e.y[0]} against {e.x_name} in {e.x_unit}" if e is not None else "names no model"
            raise ParameterError(f"recipe model {rec.model!r} {what}; this panel's data fit "
                                 f"{', '.join(self.model_select.options)}")
        return rec

    def _set(self, **changes):
        rec = self.recipe.replace(**changes)
        if rec != self.recipe:
            self.recipe = rec

    @property
    def entry(self):
        """Registry entry of the chosen model."""
        return self.recipe.entry

    @property
    def model(self):
        """The lmfit model of the recipe (model and options)."""
        key = (self.recipe.model, tuple(sorted(self.recipe.options.items())))
        if key not in self._models:
            self._models[key] = self.recipe.make_model()
        return self._models[key]

    @property
    def rows(self) -> dict:
        """The table's cells: name -> ``value``/``min``/``max`` Text, ``vary`` Checkbox, ``expr``."""
        return self.table.rows

    def _on_recipe(self, change):
        old, new = change["old"], change["new"]
        e = new.entry
        if not isinstance(old, FitRecipe) or (old.model, old.options) != (new.model, new.options):
            self.result, self.warnings = None, []
            self.model_select.value = new.model
            self.model_info.value = model_info_html(e)
            self.export_name.value = f"fit_{e.name}"
            self.x_unit_label.value = f"<span style='color:#555'>{html.escape(e.x_unit)} (empty: all points)</span>"
            self.report.value = "<i>Press <b>Fit</b> to fit the model; the dashed line shows the starting values.</i>"
            self.warning_box.value = ""
            self._set_axes()
            self.status.info(f"Model {e.name}: check the starting values, then press Fit.")
            self._start_pars = self._start()
            self.table.build(self.model, self._start_pars)
        else:
            self._start_pars = self._start()
            self.table.show(self._start_pars)
        self.window_boxes.show(new.window)
        self.conf_select.value = new.conf
        self.conf_select.description = f"{new.level:.0%} intervals"
        self.skip_nan.value = new.nan_policy == "omit"
        self._show_start()

    def _start(self):
        """The parameters the fit starts from (registry defaults where the data give no guess)."""
        try:
            return kinetics.start_params(self.recipe, self.x, self.y, model=self.model)
        except DataError as exc:
            self.status.error(exc)
            return kinetics.build_params(self.model, self.recipe.param_spec(), guess=False)

    def _apply_inputs(self):
        """Put what was typed into the table and the window boxes into the recipe (raises on bad input)."""
        edits = self.table.edits()
        rec = self.recipe.with_params(edits) if edits else self.recipe
        ends = self.window_boxes.typed(rec.window)
        if ends is not None:
            rec = rec.replace(window=kinetics.fit_window_from(self.x, *ends))
        if rec != self.recipe:
            self.recipe = rec

    def set_model(self, name: str) -> None:
        """Choose a model: the same settings for it, starting values from its guess."""
        if name != self.recipe.model:
            self.recipe = self.recipe.for_model(name, params=self._initial)

    def set_param(self, name, *, value=None, min=None, max=None, vary=None) -> None:
        """Type into a row of the parameter table (numbers, or text such as ``"inf"``)."""
        if name not in self.rows:
            raise ParameterError(f"{self.recipe.model} has no parameter {name!r}; it has {list(self.rows)}")
        self.table.set_cells(name, value=value, min=min, max=max, vary=vary)

    def guess(self) -> None:
        """Start the varying parameters from the model's estimate from the data again."""
        rec = self.recipe.reset_starts()
        kinetics.start_params(rec, self.x, self.y, model=self.model, require_guess=True)
        self.recipe = rec
        self.status.info("Starting values estimated from the data: press Fit.")

    def start_from_fit(self) -> None:
        """Start the varying parameters from the fitted values."""
        if self.result is None:
            self.status.warning("No fit yet: press Fit first.")
            return
        free = [n for n in self.recipe.varying() if n in self.result.params]
        self.recipe = self.recipe.with_values({n: self.result.params[n].value for n in free})
        self.status.info("Fitted values copied into the table.")

    # --- fitting -------------------------------------------------------------------
    def fit(self):
        """Apply the controls, fit with the recipe; show the result, report and warnings.

        Returns
        -------
        lmfit.model.ModelResult

        Raises
        ------
        DataError, ParameterError, FitError
            Bad data, bad starting values or bounds, or a failed fit (the *Fit*
            button shows them in the status line).
        """
        self.result = None
        self._apply_inputs()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = kinetics.fit(self.model, self.x, self.y, recipe=self.recipe, weights=self.weights)
            except DataError as exc:
                if self.recipe.nan_policy == "raise" and "NaN/Inf" in str(exc):
                    raise DataError(f"{exc}; or tick 'skip NaN/Inf points'") from None
                raise
        # includes the residual serial-correlation check (nbtools.kinetics.check_result)
        self.warnings = [str(w.message) for w in caught if issubclass(w.category, NbtoolsWarning)]
        self.result = result
        st = kinetics.fit_summary(result)["statistics"]
        text = fit_quality_text(st)
        nd = getattr(result, "nb_not_determined", {})
        self._remember(result)
        if not result.success:
            self.status.warning(f"Fit did not converge ({result.message}): {text}. Try other starting values.")
        elif nd:
            what = "; ".join(f"{' '.join(dict.fromkeys(param_name(k)))} ({why})" for k, why in nd.items())
            self.status.warning(f"Fit converged, but the data do not determine {what}: do not trust "
                                f"{'this value' if len(nd) == 1 else 'these values'}. {text}. Read the warnings "
                                "below.")
        elif self.warnings:
            self.status.warning(f"Fit converged, but read the {len(self.warnings)} warning(s) below: {text}.")
        else:
            self.status.info(f"Fit converged: {text}. Intervals in the table below.")
        return result

    def _remember(self, result):
        """Keep the fit for the model comparison (earlier fits of other points are dropped)."""
        name = self.recipe.model
        same = {m: r for m, r in self.fits.items()
                if m != name and r.ndata == result.ndata and np.array_equal(r.data, result.data)}
        self.fits = {**same, name: result}
        self.comparison.value = comparison_html(kinetics.compare_results(self.fits)) if len(self.fits) > 1 else ""

    def _on_result(self, change):
        r = change["new"]
        self.plot.show_fit(r, self.entry.x_name)
        if r is None:
            return
        self.report.value = report_html(kinetics.fit_summary(r))
        self.warning_box.value = warnings_html(self.warnings)

    @property
    def params(self) -> dict:
        """The recipe of the last fit (else the current one) as a JSON dict, with ``result`` (or None).

        ``FitPanel.from_params(x, y, panel.params)`` and ``nbtools.kinetics.refit(x, y, panel.params)``
        reproduce the fit exactly.
        """
        rec = self.result.recipe if self.result is not None else self.recipe
        return {**rec.to_dict(), "result": kinetics.fit_summary(self.result) if self.result is not None else None}

    @classmethod
    def from_params(cls, x, y, params, *, model=None, fit=True, **kwargs) -> "FitPanel":
        """A panel set up from :attr:`params`, a recipe or an exported ``*_fit.json``; fitted if ``fit``."""
        recipe = kinetics.read_fit_settings(params, x)
        panel = cls(x, y, model, recipe=recipe, **kwargs)
        if fit:
            panel.fit()
        return panel

    # --- display ---------------------------------------------------------------------
    def _label(self, which: int) -> str:
        return axis_label(self.entry, self._labels[which], which)

    def _set_axes(self):
        resid = "Residual / {unit}" if " / " not in (self._labels[1] or "") else "Residual"
        self.plot.set_axes(self.entry.y[1], self._label(0), self._label(1), resid)

    def _show_start(self):
        ok = np.isfinite(self.x)
        self.plot.show_start(self.x[ok], kinetics.model_curve(self.recipe, self.x[ok], self._start_pars))

    def report_text(self) -> str:
        """The fit report as plain text (what *Export* writes)."""
        if self.result is None:
            raise DataError("no fit yet: call fit() first")
        return kinetics.report_text(self.result, model_name=self.entry.name, x_label=self._label(0),
                                    y_label=self._label(1).replace("{unit}", self.plot.y_unit),
                                    warnings=self.warnings)

    def export(self, folder=None, name=None):
        """Write the report (text), recipe+results (JSON) and fitted curve (CSV); returns the paths.

        Existing files are never replaced (a ``-1``, ``-2``... suffix is added).
        """
        if self.result is None:
            raise DataError("nothing to export yet: press Fit first")
        e = self.entry
        folder = self.export_folder.value if folder is None else folder
        name = self.export_name.value if name is None else name
        from ..safety import confined, export_dir, shown_name

        if not confined() and not str(folder).strip():
            raise ParameterError("choose a folder to export into")
        folder = export_dir(folder)
        x_name = (self._labels[0] or e.x_name).split(" / ")[0]
        x_head = f"{x_name} / {e.x_unit}" if e.x_unit else x_name
        y_name = (self._labels[1] or e.y[0]).split(" / ")[0]
        paths = kinetics.export_fit(self.result, folder, name, report=self.report_text(), x_header=x_head,
                                    y_header=f"{y_name} / {e.y[1]}")
        self.status.info("Saved " + ", ".join(shown_name(p) for p in paths))
        return paths

    @property
    def widget(self):
        """The root ipywidget of the panel."""
        if self._widget is None:
            self._widget = W.VBox([
                W.HBox([self.model_select]), self.model_info, self.table,
                W.HBox([self.conf_select, self.skip_nan]),
                W.HBox([self.x_from, self.x_to, self.x_unit_label]),
                W.HBox([self.guess_button, self.from_fit_button, self.fit_button]),
                self.status, self.warning_box, bokeh_widget(self.plot.layout), self.report, self.comparison,
                W.HTML("<b>Export</b> <span style='color:#555'>(text report, JSON recipe and results, "
                       "CSV of data, fit and residuals; existing files are never replaced)</span>"),
                W.HBox([self.export_folder, self.export_name, self.export_button]),
                self.recipe_bar])
            self._widget.add_class("nbtools-fit-panel")
        return self._widget

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)
