"""FitPanel: fit a kinetic model from :data:`nbtools.kinetics.MODELS` to one curve.

Everything on the panel comes from the registry entry of the chosen model
(parameters, units, defaults, bounds, description, validity); the fit is one
call of :func:`nbtools.kinetics.fit` (through :func:`~nbtools.widgets._fit_io.refit`).

Public API
----------
``FitPanel(x, y, model="ButlerVolmer", *, x_label=None, y_label=None, weights=None,
params=None, models=None, options=None, export_dir=".")``

- ``.widget`` (the root ipywidget; the panel also displays itself)
- ``.fit()`` run the fit with the table's starting values (raises on bad input;
  the *Fit* button calls it through the status line), returns the ``ModelResult``
- ``.result`` (lmfit ``ModelResult`` or None), ``.warnings`` (list of str)
- ``.params``: JSON-serialisable settings that reproduce the last fit
  (``FitPanel.from_params(x, y, params)`` or ``refit(x, y, params)``)
- ``.set_model(name)``, ``.set_param(name, value=, min=, max=, vary=)``,
  ``.guess()``, ``.start_from_fit()``, ``.export(folder=None, name=None)``
- controls for tests and notebooks: ``.model_select``, ``.rows[name]`` (dict of
  ``value``/``min``/``max`` Text and ``vary`` Checkbox), ``.fit_button``,
  ``.export_button``, ``.status`` (ErrorDisplay), ``.report`` (HTML)
- CSS classes for browser tests: ``nbtools-fit-panel`` (root), ``nbtools-fit-button``
"""

from __future__ import annotations

import html
import inspect
import warnings

import ipywidgets as W
import lmfit
import numpy as np

from ..errors import DataError, NbtoolsWarning, ParameterError
from ..plotting import current_display_unit
from ._fit_io import (DEFAULT_OPTIONS, export_fit, fit_settings, fit_summary, format_quantity,
                      refit, report_text)
from .display import ErrorDisplay, bokeh_widget

__all__ = ["FitPanel", "refit"]

_MAX_PLOT_POINTS = 20_000
_CONF_CHOICES = [("standard errors (fast)", "stderr"), ("profile likelihood", "conf_interval"),
                 ("bootstrap (slow)", "bootstrap")]


def _fmt(v: float) -> str:
    return "inf" if v == np.inf else "-inf" if v == -np.inf else f"{v:.6g}"


def _parse(text: str, what: str, empty: float | None = None) -> float:
    t = str(text).strip().replace("\u2212", "-")
    if not t and empty is not None:
        return empty
    try:
        return float(t)
    except ValueError:
        raise ParameterError(f"{what}: {text!r} is not a number (write e.g. 2.5e-9, inf or -inf)") from None


def _resolve(model):
    """(registry entry, model instance or None for the registry default)."""
    from ..kinetics import MODELS, get_entry

    if isinstance(model, str):
        return get_entry(model), None
    if isinstance(model, type) and issubclass(model, lmfit.Model):
        model = model()
    entry = get_entry(model) if isinstance(model, lmfit.Model) else None
    if entry is None:
        raise ParameterError(
            f"FitPanel needs a model from nbtools.kinetics.MODELS (a name or an instance), got "
            f"{model!r}; known: {sorted(MODELS)}")
    return entry, model


class FitPanel:
    """Interactive fit of one curve: model chooser, parameter table, plot, report, export.

    Parameters
    ----------
    x, y : array_like
        Independent variable and data in SI units (e.g. overpotential in V and
        current in A, or time in s and current in A). Not modified.
    model : str or lmfit.Model
        Name in :data:`nbtools.kinetics.MODELS` or a model instance from it.
    x_label, y_label : str, optional
        Axis names. A name without a unit gets the model's unit (``"Overpotential"``
        -> ``"Overpotential / V"``); currents are shown in a prefixed unit (nA, pA...).
    weights : array_like, optional
        1/sigma per point, passed to the fit.
    params : dict, optional
        Starting values: name -> value or ``{"value", "min", "max", "vary"}``
        (e.g. ``{"v": 0.05}`` to set a fixed scan rate). Applied after the
        data-based guess.
    models : list of str, optional
        Names offered in the chooser; default: every registry model with the same
        independent variable (name and unit) and y unit as ``model``.
    options : dict, optional
        Fit options (``conf``, ``level``, ``method``, ``nan_policy``, ``n_boot``, ``seed``).
    export_dir : str or Path
        Folder proposed for exports.

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

    def __init__(self, x, y, model="ButlerVolmer", *, x_label=None, y_label=None, weights=None,
                 params=None, models=None, options=None, export_dir="."):
        from ..kinetics import MODELS

        self.x = np.array(x, dtype=float, copy=True).ravel()
        self.y = np.array(y, dtype=float, copy=True).ravel()
        if self.x.size != self.y.size:
            raise DataError(f"x has {self.x.size} points but y has {self.y.size}; pass arrays of equal length")
        self.weights = None if weights is None else np.array(weights, dtype=float, copy=True)
        entry, instance = _resolve(model)
        self._custom = {entry.name: instance} if instance is not None else {}
        names = list(models) if models is not None else [
            n for n, e in MODELS.items()
            if e.x_name == entry.x_name and e.x_unit == entry.x_unit and e.y[1] == entry.y[1]]
        for n in names:
            if n not in MODELS:
                raise ParameterError(f"models: {n!r} is not in nbtools.kinetics.MODELS; known: {sorted(MODELS)}")
        if entry.name not in names:
            names.insert(0, entry.name)
        self._labels = (x_label, y_label)
        self._options = {**DEFAULT_OPTIONS, **(options or {})}
        self.result = None
        self.warnings: list[str] = []
        self._last_settings = None
        self._initial = params or {}

        self.status = ErrorDisplay()
        self.model_select = W.Dropdown(options=names, value=entry.name, description="Model",
                                       layout=W.Layout(width="320px"))
        self.model_info = W.HTML()
        self.table = W.VBox()
        self.rows: dict[str, dict] = {}
        self.conf_select = W.Dropdown(options=_CONF_CHOICES, value=self._options["conf"],
                                      description=f"{self._options['level']:.0%} intervals",
                                      style={"description_width": "initial"})
        self.x_from = W.Text("" if self._options["x_min"] is None else _fmt(self._options["x_min"]),
                             description="fit from", layout=W.Layout(width="190px"), continuous_update=False,
                             tooltip="fit only points with x from .. to (empty: all)")
        self.x_to = W.Text("" if self._options["x_max"] is None else _fmt(self._options["x_max"]),
                           description="to", layout=W.Layout(width="170px"), continuous_update=False)
        self.x_unit_label = W.HTML()
        self.skip_nan = W.Checkbox(value=self._options["nan_policy"] == "omit",
                                   description="skip NaN/Inf points", indent=False)
        self.guess_button = W.Button(description="Starting values from data",
                                     tooltip="Estimate the varying parameters from the data",
                                     layout=W.Layout(width="210px"))
        self.from_fit_button = W.Button(description="Use fitted values as start", layout=W.Layout(width="210px"),
                                        tooltip=(
            "Copy the fitted values into the table (to refit with other bounds or fixed parameters)"))
        self.fit_button = W.Button(description="Fit", button_style="primary", icon="check",
                                   tooltip="Fit the model to the data with the table's starting values")
        self.fit_button.add_class("nbtools-fit-button")
        self.warning_box = W.HTML()
        self.report = W.HTML()
        self.export_folder = W.Text(value=str(export_dir), description="Folder",
                                    layout=W.Layout(width="360px"))
        self.export_name = W.Text(value="", description="Name", layout=W.Layout(width="260px"))
        self.export_button = W.Button(description="Export report and curve", icon="download",
                                      layout=W.Layout(width="220px"), tooltip=(
                                          "Write <name>_report.txt, <name>_fit.json and <name>_curve.csv; "
                                          "existing files are never replaced"))
        self._build_plot()

        g = self.status.guard
        self.model_select.observe(g(lambda ch: self.set_model(ch["new"])), names="value")
        self.guess_button.on_click(g(lambda _: self._guess_clicked()))
        self.from_fit_button.on_click(g(lambda _: self.start_from_fit()))
        self.fit_button.on_click(g(lambda _: self.fit()))
        self.export_button.on_click(g(lambda _: self.export()))
        self.conf_select.observe(g(lambda ch: self._options.update(conf=ch["new"])), names="value")
        self.skip_nan.observe(g(lambda ch: self._options.update(
            nan_policy="omit" if ch["new"] else "raise")), names="value")
        self._widget = None
        g(self.set_model)(entry.name)

    # --- model and table ------------------------------------------------------------
    @property
    def entry(self):
        """Registry entry of the chosen model."""
        from ..kinetics import MODELS

        return MODELS[self.model_select.value]

    @property
    def model(self):
        """The lmfit model instance used for the chosen entry."""
        name = self.model_select.value
        if name not in self._custom:
            self._custom[name] = self.entry.make_model()
        return self._custom[name]

    def set_model(self, name: str) -> None:
        """Choose a model: rebuild the parameter table from its registry entry and guess starting values."""
        from ..kinetics import get_entry

        get_entry(name)  # clear error for unknown names
        if self.model_select.value != name:
            self.model_select.value = name  # the observer calls back here
            return
        e, model = self.entry, self.model
        self.result, self._last_settings, self.warnings = None, None, []
        self.model_info.value = (
            f"<div style='max-width:900px'><b>{html.escape(e.description)}</b><br>"
            f"<span style='color:#555'>Valid: {html.escape(e.validity)}"
            + (f"<br>Tip: {html.escape(e.hints)}" if e.hints else "") + "</span></div>")
        pars = model.make_params()
        self._apply_overrides(pars)
        self._guess_into(pars)
        self._apply_overrides(pars)
        self._build_table(pars)
        self.export_name.value = f"fit_{e.name}"
        self.x_unit_label.value = f"<span style='color:#555'>{html.escape(e.x_unit)} (empty: all points)</span>"
        self.warning_box.value = ""
        self.report.value = "<i>Press <b>Fit</b> to fit the model; the dashed line shows the starting values.</i>"
        self._set_axis_labels()
        self._update_fit_curve()
        self._update_start_curve()
        self.status.info(f"Model {e.name}: check the starting values, then press Fit.")

    def _apply_overrides(self, pars):
        for k, v in self._initial.items():
            if k not in pars:
                continue
            if isinstance(v, dict):
                for attr in ("value", "min", "max", "vary"):
                    if attr in v:
                        setattr(pars[k], attr, v[attr])
            else:
                pars[k].value = float(v)

    def _guess_into(self, pars) -> bool:
        """Fill varying parameters with ``model.guess`` (fixed ones, e.g. the scan rate, are passed in)."""
        model, xn = self.model, self.entry.x_name
        ok = np.isfinite(self.x) & np.isfinite(self.y)
        if ok.sum() < 3:
            return False
        fixed = {n: p.value for n, p in pars.items() if not p.vary and not p.expr}
        sig = inspect.signature(model.guess).parameters
        if not any(p.kind is p.VAR_KEYWORD for p in sig.values()):
            fixed = {k: v for k, v in fixed.items() if k in sig}
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                g = model.guess(self.y[ok], **{xn: self.x[ok]}, **fixed)
        except Exception:  # no usable guess: keep the registry defaults
            return False
        for n, p in pars.items():
            if n in g and p.vary and not p.expr and np.isfinite(g[n].value):
                p.value = g[n].value
        return True

    def _build_table(self, pars):
        model = self.model
        head = W.HBox([W.HTML(f"<b>{t}</b>", layout=W.Layout(width=w)) for t, w in (
            ("parameter", "90px"), ("start value", "130px"), ("min", "110px"), ("max", "110px"),
            ("vary", "60px"), ("unit", "70px"), ("meaning", "360px"))])
        rows, boxes = {}, [head]
        for name, p in pars.items():
            info = model.param_info(name)
            unit = info.unit if info and info.unit else "–"
            desc = info.description if info else ""
            r = {"value": W.Text(_fmt(p.value), layout=W.Layout(width="130px"), continuous_update=False),
                 "min": W.Text(_fmt(p.min), layout=W.Layout(width="110px"), continuous_update=False),
                 "max": W.Text(_fmt(p.max), layout=W.Layout(width="110px"), continuous_update=False),
                 "vary": W.Checkbox(value=bool(p.vary), indent=False, layout=W.Layout(width="60px"))}
            if p.expr:
                for w in r.values():
                    w.disabled = True
                desc = (desc if "derived" in desc else f"{desc} (derived)") if desc else f"derived: {p.expr}"
            for w in r.values():
                w.observe(self.status.guard(lambda _ch: self._update_start_curve()), names="value")
            r["expr"] = p.expr
            rows[name] = r
            boxes.append(W.HBox([
                W.HTML(f"<code>{html.escape(name)}</code>", layout=W.Layout(width="90px")),
                r["value"], r["min"], r["max"], r["vary"],
                W.HTML(html.escape(unit), layout=W.Layout(width="70px")),
                W.HTML(f"<span style='color:#555'>{html.escape(desc)}</span>",
                       layout=W.Layout(width="360px"))]))
        self.rows = rows
        self.table.children = boxes

    def set_param(self, name, *, value=None, min=None, max=None, vary=None) -> None:
        """Set a row of the parameter table (numbers, or text such as ``"inf"``)."""
        if name not in self.rows:
            raise ParameterError(f"{self.model_select.value} has no parameter {name!r}; it has {list(self.rows)}")
        r = self.rows[name]
        for key, v in (("min", min), ("max", max), ("value", value)):
            if v is not None:
                r[key].value = v if isinstance(v, str) else _fmt(float(v))
        if vary is not None:
            r["vary"].value = bool(vary)

    def _table_params(self) -> dict:
        out = {}
        for name, r in self.rows.items():
            if r["expr"]:
                continue
            out[name] = {"value": _parse(r["value"].value, f"start value of {name}"),
                         "min": _parse(r["min"].value, f"min of {name}", empty=-np.inf),
                         "max": _parse(r["max"].value, f"max of {name}", empty=np.inf),
                         "vary": bool(r["vary"].value)}
        return out

    def _units(self) -> dict:
        return {n: (self.model.param_info(n).unit if self.model.param_info(n) else "") for n in self.rows}

    def _window(self):
        lo = _parse(self.x_from.value, "fit from", empty=np.nan)
        hi = _parse(self.x_to.value, "fit to", empty=np.nan)
        return (None if np.isnan(lo) else lo), (None if np.isnan(hi) else hi)

    def _settings(self) -> dict:
        opts = dict(self._options)
        opts["x_min"], opts["x_max"] = self._window()
        return fit_settings(self.entry.name, self.entry.x_name, self._table_params(), options=opts,
                            units=self._units())

    def guess(self) -> None:
        """Replace the start values of the varying parameters by estimates from the data."""
        pars = self.model.make_params()
        for n, p in self._table_params().items():
            pars[n].set(min=p["min"], max=p["max"], vary=p["vary"])
            pars[n].value = p["value"]
        if not self._guess_into(pars):
            raise DataError(f"{self.entry.name} could not estimate starting values from these data; "
                            f"type them into the table")
        for n, r in self.rows.items():
            if not r["expr"] and r["vary"].value:
                r["value"].value = _fmt(pars[n].value)

    def _guess_clicked(self):
        self.guess()
        self.status.info("Starting values estimated from the data: press Fit.")

    def start_from_fit(self) -> None:
        """Copy the fitted values into the table."""
        if self.result is None:
            self.status.warning("No fit yet: press Fit first.")
            return
        for n, r in self.rows.items():
            if not r["expr"] and n in self.result.params:
                r["value"].value = _fmt(self.result.params[n].value)
        self.status.info("Fitted values copied into the table.")

    # --- fitting -------------------------------------------------------------------
    def fit(self):
        """Fit with the table's starting values; show the result, report and warnings.

        Returns
        -------
        lmfit.model.ModelResult

        Raises
        ------
        DataError, ParameterError, FitError
            Bad data, bad starting values or bounds, or a failed fit (the *Fit*
            button shows them in the status line).
        """
        settings = self._settings()
        if settings["options"]["nan_policy"] != "omit":
            bad = ~(np.isfinite(self.x) & np.isfinite(self.y))
            if bad.any():
                raise DataError(f"{bad.sum()} of {bad.size} points are NaN/Inf (first at index "
                                f"{int(np.flatnonzero(bad)[0])}): tick 'skip NaN/Inf points' or clean the data")
        self.result = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = refit(self.x, self.y, settings, model=self._custom.get(self.entry.name),
                           weights=self.weights)
        # includes the residual serial-correlation check (nbtools.kinetics.check_result)
        msgs = [str(w.message) for w in caught if issubclass(w.category, NbtoolsWarning)]
        self.result, self._last_settings, self.warnings = result, settings, msgs
        self._update_fit_curve()
        self._show_report()
        st = fit_summary(result)["statistics"]
        text = (f"reduced chi-square {st['redchi']:.3g}, {st['ndata']} points, "
                f"{st['nfev']} function evaluations")
        if not result.success:
            self.status.warning(f"Fit did not converge ({result.message}): {text}. Try other starting values.")
        elif msgs:
            self.status.warning(f"Fit converged, but read the {len(msgs)} warning(s) below: {text}.")
        else:
            self.status.info(f"Fit converged: {text}. Intervals in the table below.")
        return result

    @property
    def params(self) -> dict:
        """JSON-serialisable settings: model, start values/bounds/vary, options (+ ``result`` after a fit).

        Describes the last fit when there is one, otherwise the current table.
        ``FitPanel.from_params(x, y, panel.params)`` or ``refit(x, y, panel.params)``
        reproduce the fit exactly.
        """
        if self.result is None or self._last_settings is None:
            return {**self._settings(), "result": None}
        return {**self._last_settings, "result": fit_summary(self.result)}

    @classmethod
    def from_params(cls, x, y, params: dict, *, model=None, fit=True, **kwargs) -> "FitPanel":
        """A panel set up from :attr:`params` (e.g. read back from the exported JSON), fitted if ``fit``."""
        from ._fit_io import core_params

        if not isinstance(params, dict) or "model" not in params:
            raise ParameterError("params must be the dict of FitPanel.params (with 'model' and 'params')")
        opts = {k: v for k, v in params.get("options", {}).items() if k in DEFAULT_OPTIONS}
        panel = cls(x, y, model if model is not None else params["model"], options=opts, **kwargs)
        for name, p in core_params(params).items():
            panel.set_param(name, value=p["value"], min=p["min"], max=p["max"], vary=p["vary"])
        lo, hi = opts.get("x_min"), opts.get("x_max")
        panel.x_from.value = "" if lo is None else repr(float(lo))
        panel.x_to.value = "" if hi is None else repr(float(hi))
        if fit:
            panel.fit()
        return panel

    # --- display ---------------------------------------------------------------------
    def _axis_label(self, which: int) -> str:
        e = self.entry
        label = self._labels[which]
        name, unit = (e.x_name, e.x_unit) if which == 0 else (e.y[0], e.y[1])
        if which == 1:
            unit = self._y_unit
        if label and " / " in label:
            return label
        return f"{label or name} / {unit}" if unit else (label or name)

    def _build_plot(self):
        from bokeh.layouts import column
        from bokeh.models import ColumnDataSource, Span
        from bokeh.plotting import figure

        finite = self.y[np.isfinite(self.y)]
        peak = float(np.max(np.abs(finite))) if finite.size else 0.0
        self._y_unit, self._y_scale = ("A", 1.0)
        step = max(1, self.x.size // _MAX_PLOT_POINTS)
        self._plot_idx = np.arange(0, self.x.size, step)
        self.data_source = ColumnDataSource(data=dict(x=[], y=[]))
        self.fit_source = ColumnDataSource(data=dict(x=[], y=[]))
        self.start_source = ColumnDataSource(data=dict(x=[], y=[]))
        self.resid_source = ColumnDataSource(data=dict(x=[], r=[]))
        tools = "pan,box_zoom,wheel_zoom,reset,save"
        self.figure = figure(height=300, sizing_mode="stretch_width", tools=tools, active_scroll=None,
                             output_backend="canvas", title="Data and fit")
        self.figure.scatter("x", "y", source=self.data_source, size=4, color="#7f8c9a", alpha=0.8,
                            legend_label="data")
        self.figure.line("x", "y", source=self.start_source, color="#d08c00", line_dash="dashed",
                         line_width=1.5, legend_label="start values")
        self.figure.line("x", "y", source=self.fit_source, color="#b00020", line_width=2,
                         legend_label="fit")
        self.figure.legend.location = "top_left"
        self.figure.legend.click_policy = "hide"
        self.resid_figure = figure(height=160, sizing_mode="stretch_width", tools=tools,
                                   active_scroll=None, x_range=self.figure.x_range,
                                   output_backend="canvas", title="Residuals (data - fit)")
        self.resid_figure.scatter("x", "r", source=self.resid_source, size=3, color="#1f4e9c")
        self.resid_figure.add_layout(Span(location=0, dimension="width", line_color="#888"))
        for f in (self.figure, self.resid_figure):
            f.toolbar.logo = None
        self.layout = column(self.figure, self.resid_figure, sizing_mode="stretch_width")
        self._peak = peak

    def _set_axis_labels(self):
        unit = self.entry.y[1]
        if unit == "A":
            self._y_unit, self._y_scale = current_display_unit(self._peak)
        else:
            self._y_unit, self._y_scale = unit, 1.0
        xl, yl = self._axis_label(0), self._axis_label(1)
        self.figure.xaxis.axis_label = self.resid_figure.xaxis.axis_label = xl
        self.figure.yaxis.axis_label = yl
        self.resid_figure.yaxis.axis_label = f"Residual / {self._y_unit}" if " / " not in (self._labels[1] or "") \
            else "Residual"
        i = self._plot_idx
        self.data_source.data = dict(x=self.x[i], y=self.y[i] * self._y_scale)

    def _update_start_curve(self):
        e = self.entry
        try:
            p = self._table_params()
        except ParameterError:
            self.start_source.data = dict(x=[], y=[])
            raise
        pars = self.model.make_params()
        for n, v in p.items():
            pars[n].set(value=v["value"])
        ok = np.isfinite(self.x)
        with np.errstate(all="ignore"):
            yy = np.asarray(self.model.eval(pars, **{e.x_name: self.x[ok]}), dtype=float)
        xs = self.x[ok]
        step = max(1, xs.size // _MAX_PLOT_POINTS)
        self.start_source.data = dict(x=xs[::step], y=yy[::step] * self._y_scale)

    def _update_fit_curve(self):
        r = self.result
        if r is None:
            self.fit_source.data = dict(x=[], y=[])
            self.resid_source.data = dict(x=[], r=[])
            return
        xs = np.asarray(r.userkws[self.entry.x_name], dtype=float)
        step = max(1, xs.size // _MAX_PLOT_POINTS)
        self.fit_source.data = dict(x=xs[::step], y=r.best_fit[::step] * self._y_scale)
        self.resid_source.data = dict(x=xs[::step], r=(r.data - r.best_fit)[::step] * self._y_scale)

    def _show_report(self):
        s = fit_summary(self.result)
        lvl = s["interval_level"] or 0.95
        rows = []
        for name, p in s["params"].items():
            u = p["unit"]
            if not p["vary"] and not p["derived"]:
                rows.append(f"<tr><td><code>{name}</code></td><td>{format_quantity(p['value'], u)}</td>"
                            f"<td colspan=2 style='color:#777'>fixed</td></tr>")
                continue
            err = format_quantity(p["stderr"], u) if p["stderr"] is not None else "n/a"
            ci = (f"{format_quantity(p['lower'], u)} … {format_quantity(p['upper'], u)}"
                  if p.get("lower") is not None and p.get("upper") is not None else "n/a")
            tag = " <span style='color:#777'>(derived)</span>" if p["derived"] else ""
            rows.append(f"<tr><td><code>{name}</code>{tag}</td><td><b>{format_quantity(p['value'], u)}</b></td>"
                        f"<td>± {err}</td><td>{ci}</td></tr>")
        st = s["statistics"]
        head = ("<tr><th align=left>parameter</th><th align=left>fitted value</th>"
                f"<th align=left>standard error</th><th align=left>{lvl:.0%} interval "
                f"({html.escape(str(s['interval_method']))})</th></tr>")
        conv = "Fit converged" if st["success"] else "Fit did not converge"
        self.report.value = (
            f"<div class='nbtools-fit-report'><b>{conv}</b> ({html.escape(st['message'])}); "
            f"reduced chi-square {st['redchi']:.4g}"
            + (f", R² {st['rsquared']:.5f}" if st["rsquared"] is not None else "")
            + f", {st['ndata']} points.<table style='border-collapse:collapse' cellpadding=4>"
            + head + "".join(rows) + "</table></div>")
        if self.warnings:
            items = "".join(f"<li>{html.escape(m)}</li>" for m in self.warnings)
            self.warning_box.value = (f"<div class='nbtools-fit-warnings' style='color:#8a5300'>"
                                      f"<b>Warnings</b><ul style='margin:2px 0'>{items}</ul></div>")
        else:
            self.warning_box.value = ""

    def report_text(self) -> str:
        """The fit report as plain text (what *Export* writes)."""
        if self.result is None:
            raise DataError("no fit yet: call fit() first")
        return report_text(self.result, model_name=self.entry.name, x_label=self._axis_label(0),
                           y_label=self._axis_label(1), warnings=self.warnings)

    def export(self, folder=None, name=None):
        """Write the report (text), settings+results (JSON) and fitted curve (CSV); returns the paths.

        Existing files are never replaced (a ``-1``, ``-2``... suffix is added).
        """
        if self.result is None:
            raise DataError("nothing to export yet: press Fit first")
        e = self.entry
        folder = self.export_folder.value if folder is None else folder
        name = self.export_name.value if name is None else name
        if not str(folder).strip():
            raise ParameterError("choose a folder to export into")
        x_head = f"{self._labels[0] or e.x_name} / {e.x_unit}" if e.x_unit else (self._labels[0] or e.x_name)
        if self._labels[0] and " / " in self._labels[0]:
            x_head = self._labels[0].split(" / ")[0] + f" / {e.x_unit}"
        y_name = (self._labels[1] or e.y[0]).split(" / ")[0]
        paths = export_fit(self.result, folder, name, settings=self._last_settings,
                           report=self.report_text(), x_header=x_head, y_header=f"{y_name} / {e.y[1]}")
        self.status.info("Saved " + ", ".join(str(p) for p in paths))
        return paths

    @property
    def widget(self):
        """The root ipywidget of the panel."""
        if self._widget is None:
            export = W.HBox([self.export_folder, self.export_name, self.export_button])
            self._widget = W.VBox([
                W.HBox([self.model_select]), self.model_info,
                self.table,
                W.HBox([self.conf_select, self.skip_nan]),
                W.HBox([self.x_from, self.x_to, self.x_unit_label]),
                W.HBox([self.guess_button, self.from_fit_button, self.fit_button]),
                self.status, self.warning_box,
                bokeh_widget(self.layout),
                self.report,
                W.HTML("<b>Export</b> <span style='color:#555'>(text report, JSON settings and results, "
                       "CSV of data, fit and residuals; existing files are never replaced)</span>"),
                export,
            ])
            self._widget.add_class("nbtools-fit-panel")
        return self._widget

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)
