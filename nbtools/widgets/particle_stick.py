"""ParticleOnAStick: the dashboard sections of the particle-on-a-stick workflow.

A view over a :class:`~nbtools.kinetics.StickRecipe`: the material and
conversion controls edit ``app.recipe``, *Analyse* reads the files and makes
``app.result`` with one call of :func:`nbtools.stick.analyse_particle`, and each
section draws its part (:mod:`nbtools.widgets.stick_views`). A changed recipe
(a control, or *Load recipe*) analyses the files again. The sections are
separate root widgets so that a notebook can put explanations between them:

``app = ParticleOnAStick(data_dir)``; ``app.data_section``, ``app.scan_rate_section``,
``app.pitt_section``, ``app.laviron_section``, ``app.fit_section``,
``app.trust_section``; ``app.analyse()`` reruns everything (the *Analyse* button);
``app.results`` holds the tables (DataFrames) of the last analysis; ``app.recipe``
(read/write) its settings; ``app.panel`` the FitPanel of section 5.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import ipywidgets as W
import traitlets

from .. import stick
from ..errors import DataError, MissingFileError, NbtoolsError
from ..kinetics import MODELS, StickRecipe
from . import stick_views as views
from .display import ErrorDisplay, bokeh_widget
from .fit_panel import FitPanel
from .recipe_bar import RecipeBar
from .trace_loader import describe_file, plain_reader_text

__all__ = ["ParticleOnAStick"]


_CURVE_FILES = ("Upload CSV or text files whose columns are named with their units, such as 'Time / s', "
                "'Potential / V' and 'Current / pA': one file per scan rate, and optionally one with the "
                "potential steps.")


def _read_upload(path, name):
    """The curve of an uploaded file, or an error that names the file as it was uploaded and says
    what to upload instead."""
    try:
        return stick.read_curve_csv(path)
    except NbtoolsError as exc:
        what = describe_file(path)
        if what or "no numeric rows" in str(exc):
            raise DataError(f"{name} is not a table of numbers{what}. {_CURVE_FILES}") from exc
        text = plain_reader_text(str(exc)).replace(str(path), name).replace(path.name, name)
        raise type(exc)(text) from exc


class ParticleOnAStick(traitlets.HasTraits):
    """Load one particle's CVs and potential steps, analyse them, show each step of the workflow.

    Parameters
    ----------
    data_dir : str or Path
        Folder with the files.
    cv_pattern : str
        Glob of the voltammograms (CSV with ``Time / s``, ``Potential / V``, ``Current / pA``).
    pitt_file : str
        Potential-step series in the same format ("" for none).
    truth_file : str
        JSON with the true parameters of a simulated example ("" for real data).
    material : str, optional
        Name in :mod:`nbtools.materials` (default: the recipe's, LiMn2O4).
    small : bool
        Fit every other potential step only (quick tests; ``every_nth_step=2``).
    headings : bool
        Start each section with its heading (off when the notebook has its own).
    recipe : StickRecipe, optional
        The settings to start from.
    """

    recipe = traitlets.Instance(StickRecipe)
    result = traitlets.Any(None, allow_none=True)

    def __init__(self, data_dir, *, cv_pattern="particle_cv_*.csv", pitt_file="particle_pitt.csv",
                 truth_file="particle_truth.json", material=None, small=False, headings=True, recipe=None):
        super().__init__()
        from ..materials import list_materials

        changes = {"material": material} if material is not None else {}
        if small:
            changes["every_nth_step"] = 2
        first = StickRecipe.coerce(recipe, **changes)
        self.headings = bool(headings)
        self.status = ErrorDisplay()
        g = self.status.guard
        self.folder = W.Text(str(Path(data_dir)), description="Folder", layout=W.Layout(width="520px"))
        self._trusted = {str(Path(data_dir))}  # folders the panel chose itself (example, uploads)
        self.cv_pattern = W.Text(cv_pattern, description="CV files", layout=W.Layout(width="320px"),
                                 tooltip="file name pattern; * matches anything")
        self.pitt_file = W.Text(pitt_file, description="Step file", layout=W.Layout(width="320px"))
        self.truth_file = W.Text(truth_file, description="Truth", layout=W.Layout(width="320px"),
                                 tooltip="JSON with the true values of a simulated example; empty for real data")
        self.material = W.Dropdown(options=list(list_materials()["name"]), description="Material")
        self.conversion = W.BoundedFloatText(1.0, min=0.01, max=1.0, step=0.05, description="Converted",
                                             tooltip="fraction of the formula unit (de)lithiated in the "
                                                     "potential window (e.g. 0.5 for LiCoO2)")
        self.analyse_button = W.Button(description="Analyse", button_style="primary", icon="play")
        self.analyse_button.add_class("nbtools-analyse-button")
        self.upload = W.FileUpload(accept=".csv,.tsv,.txt", multiple=True, description="Upload files",
                                   tooltip="your CSV files: one per scan rate and optionally one step series")
        self.recipe_bar = RecipeBar(self, folder=lambda: Path.cwd() / "recipes", stem="particle_recipe",
                                    status=self.status)
        self.per_scan_rate = W.Checkbox(False, description="divide by the scan rate (i/v: thin-layer CVs overlap)",
                                        indent=False, layout=W.Layout(width="420px"))
        self.cv_plot, self.peak_html, self.size_html = W.VBox(), W.HTML(), W.HTML()
        self.slope_plot, self.slope_html = W.VBox(), W.HTML()
        self.pitt_plot, self.pitt_html = W.VBox(), W.HTML()
        self.laviron_plot, self.laviron_html = W.VBox(), W.HTML()
        self.step_select = W.Dropdown(description="Step", layout=W.Layout(width="360px"))
        self.fit_box, self.trust_html = W.VBox(), W.HTML()
        self.panel: FitPanel | None = None
        self.observe(g(self._on_recipe), names="recipe")
        self.observe(g(self._on_result), names="result")
        self.recipe = first
        self.analyse_button.on_click(g(lambda _: self.analyse()))
        self.upload.observe(g(lambda ch: self.load_uploaded(
            [(f["name"], bytes(f["content"])) for f in ch["new"]]) if ch["new"] else None), names="value")
        self.material.observe(g(lambda ch: self._set(material=ch["new"])), names="value")
        self.conversion.observe(g(lambda ch: self._set(conversion=ch["new"])), names="value")
        self.step_select.observe(g(lambda ch: self._show_fit_panel(ch["new"])), names="value")
        self.per_scan_rate.observe(g(lambda _: self._show_cvs() if self.result else None), names="value")
        g(self.analyse)()

    # --- state -----------------------------------------------------------------------
    @property
    def results(self) -> dict:
        """The tables of the last analysis (:func:`nbtools.stick.analyse_particle`, plus ``truth``, ``trust``)."""
        return self.result if self.result is not None else {}

    def _set(self, **changes):
        rec = self.recipe.replace(**changes)
        if rec != self.recipe:
            self.recipe = rec

    def _on_recipe(self, change):
        rec = change["new"]
        self.material.value, self.conversion.value = rec.material, rec.conversion
        if self.result is not None and self.result["recipe"] != rec:
            self.analyse()

    # --- analysis ------------------------------------------------------------------
    def load_uploaded(self, files) -> dict:
        """Analyse uploaded files: ``files`` = [(name, bytes)].

        They are written to a new temporary folder (never over the user's files);
        each is classified as a voltammogram or a potential-step series by
        :func:`nbtools.stick.classify_curve`.
        """
        import tempfile

        files = list(files)
        if not files:
            raise DataError("no files uploaded")
        from ..safety import check_upload

        for name, content in files:
            check_upload(str(name), len(content))
        tmp = Path(tempfile.mkdtemp(prefix="nbtools_particle_"))
        cvs, steps = [], []
        for name, content in files:
            safe = Path(str(name)).name or "upload.csv"
            path = tmp / f"upload_{safe}"
            path.write_bytes(content)
            kind = stick.classify_curve(_read_upload(path, safe))
            target = tmp / (f"cv_{safe}" if kind == "cv" else f"steps_{safe}")
            path.rename(target)
            (cvs if kind == "cv" else steps).append(target.name)
        if len(steps) > 1:
            raise DataError(f"{len(steps)} potential-step files uploaded ({', '.join(steps)}); upload one")
        if not cvs:
            raise DataError("no voltammogram among the uploaded files (each had only a few potentials)")
        self._trusted.add(str(tmp))
        self.folder.value = str(tmp)
        self.cv_pattern.value = "cv_*"
        self.pitt_file.value = steps[0] if steps else ""
        self.truth_file.value = ""
        return self.analyse()

    def analyse(self) -> dict:
        """Read the files and run the whole workflow with the recipe; update every section."""
        from ..safety import keep_inside, shown_name, user_path

        text = self.folder.value.strip()
        folder = Path(text) if text in self._trusted else user_path(text)
        if not folder.is_dir():
            raise MissingFileError(f"folder {shown_name(folder)!r} not found; type the folder of your files")
        pattern = self.cv_pattern.value.strip() or "*.csv"
        if ".." in Path(pattern).parts or Path(pattern).is_absolute():
            user_path(pattern)  # on a workshop server: refused, the message says why
        paths = sorted(folder.glob(pattern))
        if text not in self._trusted:
            paths = keep_inside(paths)
        if len(paths) < 1:
            raise DataError(f"no file matches {self.cv_pattern.value!r} in {shown_name(folder)}")
        self.status.info(f"Reading {len(paths)} voltammogram(s)...")
        for name in (self.pitt_file.value.strip(), self.truth_file.value.strip()):
            if name and (".." in Path(name).parts or Path(name).is_absolute()):  # names inside the folder
                user_path(name)
        pf = self.pitt_file.value.strip()
        missing_pitt = bool(pf) and not (folder / pf).is_file()
        steps = stick.read_curve_csv(folder / pf) if pf and not missing_pitt else None
        r = stick.analyse_particle(stick.load_cv_series(paths), steps, self.recipe)
        tf = self.truth_file.value.strip()
        r["truth"] = json.loads((folder / tf).read_text()) if tf and (folder / tf).is_file() else None
        self.result = r
        text = f"Analysed {len(r['cvs'])} voltammograms and {len(r['steps'])} potential steps from {shown_name(folder)}."
        pitt = r.get("pitt")
        check = int((pitt["status"] != "ok").sum()) if pitt is not None and "status" in getattr(pitt, "columns", ()) \
            else 0
        if check:  # not a plain success: some step fits do not determine their parameters, or misfit
            self.status.warning(f"{text} {check} of {len(pitt)} potential-step fits need checking (parameters the "
                                "data do not determine, or residuals with structure): read the fit warnings under the "
                                "potential steps (section 3).")
        else:
            self.status.info(text)
        if missing_pitt:
            self.status.warning(f"step file {pf!r} not found in {shown_name(folder)}: analysed the voltammograms only "
                                f"(no D; k_s without the diffusion correction).")
        return r

    # --- sections --------------------------------------------------------------------
    def _on_result(self, change):
        if change["new"] is None:
            return
        self._show_cvs()
        self._show_slope()
        self._show_pitt()
        self._show_laviron()
        self._fill_steps()
        self._show_trust()

    def _show_cvs(self):
        r = self.result
        self.cv_figure = views.cv_figure(r, per_scan_rate=self.per_scan_rate.value)
        self.cv_plot.children = [bokeh_widget(self.cv_figure)]
        self.peak_html.value = views.peaks_html(r["peaks"])
        self.size_html.value = views.size_html(r)

    def _show_slope(self):
        s = self.result["slope"]
        if s is None:
            self.slope_plot.children = []
            self.slope_html.value = "<p>Need at least 3 scan rates for the slope.</p>"
            return
        self.slope_plot.children = [bokeh_widget(views.slope_figure(self.result))]
        self.slope_html.value = views.slope_html(s)

    def _show_pitt(self):
        r = self.result
        if r["pitt"] is None:
            self.pitt_plot.children, self.pitt_html.value = [], "<p>No potential-step file given.</p>"
            return
        self.pitt_plot.children = [bokeh_widget(views.pitt_figure(r["steps"]))]
        self.pitt_html.value = views.pitt_html(r["pitt"])

    def _show_laviron(self):
        lt = self.result["laviron"]
        self.laviron_plot.children = [bokeh_widget(views.laviron_figure(lt))]
        self.laviron_html.value = views.laviron_html(lt)

    def _fill_steps(self):
        steps = self.result["steps"]
        opts = [(f"step {j + 1}: → {s.attrs['E']:.3f} V", j) for j, s in enumerate(steps)]
        self.step_select.options = opts
        if opts:
            mid = len(opts) // 2
            if self.step_select.value == opts[mid][1]:
                self._show_fit_panel(mid)
            self.step_select.value = opts[mid][1]
        else:
            self.fit_box.children = [W.HTML("<p>No potential steps to fit.</p>")]

    def _show_fit_panel(self, j):
        """A FitPanel on step ``j`` (the previous panel's settings kept); the model has the radius (D derived)."""
        if j is None:
            return
        s = self.result["steps"][j]
        radius = float(self.result["size"]["radius"])
        if self.panel is None:
            model, recipe = MODELS[self.recipe.pitt_model].make_model(radius=radius), None
        else:  # the settings of the panel before, starting from this step's guess
            model, recipe = None, self.panel.recipe.reset_starts().replace(options={"radius": radius})
        self.panel = FitPanel(s["t_step"].to_numpy(), s["i"].to_numpy(), model, recipe=recipe,
                              models=["PITTSphereBiot", "PITTSphere"], x_label="Time since the step",
                              y_label="Current", export_dir=str(Path.cwd() / "fits"))
        self.fit_box.children = [self.panel.widget]

    def _show_trust(self):
        r = self.result
        if r["truth"] is None:
            self.trust_html.value = "<p>No truth file: this section compares with a simulated example only.</p>"
            return
        fit = self.panel.result if self.panel is not None else None
        r["trust"] = stick.trust_table(r, r["truth"], fit=fit)
        self.trust_html.value = views.trust_html(r["trust"])

    # --- section roots --------------------------------------------------------------------
    def _section(self, title, *children):
        head = [W.HTML(f"<h3 style='margin:8px 0 4px 0'>{html.escape(title)}</h3>")] if self.headings else []
        return W.VBox(head + list(children))

    @property
    def data_section(self):
        """Files, material, the voltammograms, peak table, charge, capacity and size; Save/Load recipe."""
        return self._section("1. Data and peaks",
                             W.HBox([self.folder]), W.HBox([self.cv_pattern, self.pitt_file, self.truth_file]),
                             W.HBox([self.material, self.conversion, self.analyse_button, self.upload]),
                             self.recipe_bar, self.status, self.per_scan_rate, self.cv_plot, self.peak_html,
                             self.size_html)

    @property
    def scan_rate_section(self):
        return self._section("2. Surface-confined or diffusion-limited?", self.slope_plot, self.slope_html)

    @property
    def pitt_section(self):
        return self._section("3. Potential steps: τ = r²/D and D", self.pitt_plot, self.pitt_html)

    @property
    def laviron_section(self):
        return self._section("4. Laviron: peak separation to k_s and k0", self.laviron_plot, self.laviron_html)

    @property
    def fit_section(self):
        return self._section("5. Fit one transient yourself", self.step_select, self.fit_box)

    @property
    def trust_section(self):
        refresh = W.Button(description="Compare again", tooltip="include the latest fit of section 5")
        refresh.on_click(self.status.guard(lambda _: self._show_trust()))
        return self._section("6. How far to trust it: recovered against the simulation's truth",
                             self.trust_html, refresh)
