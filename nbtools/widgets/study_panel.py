"""StudyPanel: the Study dashboard: inputs, recipe, run with a progress bar, explore the results.

A view over a recipe and a :class:`nbtools.study.Study` (traitlets ``recipe``,
``study``, ``selected``): the *Run study* button calls
:func:`nbtools.study.run` with what the controls say; the files table, the
population explorer and the file's analysis draw what the study holds.
"""

from __future__ import annotations

from pathlib import Path

import ipywidgets as W
import traitlets

from ..recipes import Recipe, kinds
from .display import ErrorDisplay
from .recipe_bar import RecipeBar
from .study_results import FilesTable, PopulationExplorer, file_detail

__all__ = ["StudyPanel", "TECHNIQUE_CHOICES"]

#: the recipes a study runs, as the technique chooser lists them
TECHNIQUE_CHOICES = [("Nanoimpact: events per recording (impact.events)", "impact.events"),
                     ("SECCM: map, particles, per-pixel fits (seccm.analysis)", "seccm.analysis"),
                     ("Particle on a stick: a folder of curves per particle (stick.workflow)", "stick.workflow"),
                     ("GITT: pulses per galvanostatic record (gitt.analysis)", "gitt.analysis")]
_WHERE = [("a local Dask cluster (one worker per core)", "local"), ("this process, one file after another", "sync"),
          ("an existing Dask scheduler", "address")]


class StudyPanel(traitlets.HasTraits):
    """Pick inputs and a recipe, run a study, explore its files and population.

    Parameters
    ----------
    inputs : str or path
        Folder(s), file(s) or glob(s) (several separated by ``;``).
    out : str or path
        The study folder.
    recipe : Recipe, optional
        Default: the nanoimpact recipe's defaults.
    where : {'local', 'sync', 'address'}
        Where the files are analysed (a local Dask cluster, this process, a scheduler).
    options : dict, optional
        Reader options (``fs=`` for ``.npy`` files ...).
    """

    recipe = traitlets.Instance(Recipe)
    study = traitlets.Any(None, allow_none=True)  # nbtools.study.Study
    selected = traitlets.Unicode("")  # the file whose analysis is open

    def __init__(self, inputs="", out="", *, recipe=None, where="local", options=None):
        from ..impact.recipe import EventRecipe

        super().__init__(recipe=recipe if recipe is not None else EventRecipe())
        self.options = dict(options or {})
        self.status = ErrorDisplay()
        g = self.status.guard
        wide = W.Layout(width="760px")
        self._trusted = {str(inputs)}  # inputs the dashboard chose itself (demo, uploads): not confined
        self.inputs = W.Text(value=str(inputs), description="Inputs:", layout=wide,
                             placeholder="a folder (searched recursively), files or globs; several: separate by ;")
        self.upload = W.FileUpload(multiple=True, description="Upload files", tooltip="Recordings to add to a study")
        self.technique = W.Dropdown(options=TECHNIQUE_CHOICES, value=self.recipe.kind, description="Recipe:",
                                    layout=W.Layout(width="520px"))
        self.recipe_text = W.HTML()
        self.out = W.Text(value=str(out), description="Study folder:", layout=wide,
                          style={"description_width": "initial"})
        self.where = W.Dropdown(options=_WHERE, value=where, description="Run on:", layout=W.Layout(width="420px"))
        self.address = W.Text(placeholder="tcp://host:8786", layout=W.Layout(width="260px", display="none"))
        self.run_button = W.Button(description="Run study", button_style="primary", icon="play")
        self.progress = W.IntProgress(value=0, min=0, max=1, layout=W.Layout(width="300px"))
        self.progress_text = W.Label("")
        self.summary = W.HTML()
        self.files = FilesTable(on_select=g(self._on_row))
        self.explorer = PopulationExplorer(self.status, on_select=g(self._on_row))
        self.detail = W.VBox()
        self.recipe_bar = RecipeBar(self, folder=lambda: self.out.value, stem="study_recipe", status=self.status)
        self.technique.observe(g(self._on_technique), names="value")
        self.where.observe(lambda c: setattr(self.address.layout, "display", "" if c["new"] == "address" else "none"),
                           names="value")
        self.upload.observe(g(self._on_upload), names="value")
        self.run_button.on_click(g(lambda _: self.run()))
        self.observe(g(self._on_recipe), names="recipe")
        self.observe(g(self._on_study), names="study")
        self.observe(g(self._on_selected), names="selected")
        self._on_recipe(None)
        self.widget = W.VBox([
            W.HTML("<h3 style='margin:4px 0'>1. Inputs and recipe</h3>"), W.HBox([self.inputs, self.upload]),
            W.HBox([self.technique, self.recipe_bar]), self.recipe_text,
            W.HTML("<h3 style='margin:8px 0 4px 0'>2. Run</h3>"), self.out, W.HBox([self.where, self.address]),
            W.HBox([self.run_button, self.progress, self.progress_text]), self.status,
            W.HTML("<h3 style='margin:8px 0 4px 0'>3. Files</h3>"), self.summary, self.files.widget,
            W.HTML("<i>Click a file (or an entity of the population) to open its analysis below the population.</i>"),
            W.HTML("<h3 style='margin:8px 0 4px 0'>4. Population</h3>"), self.explorer.widget, self.detail])

    # ------------------------------------------------------------------ recipe
    def _on_technique(self, change) -> None:
        if self.recipe.kind != change["new"]:  # a recipe of another kind: its defaults
            self.recipe = kinds()[change["new"]]()

    def _on_recipe(self, change) -> None:
        kind = self.recipe.kind
        if kind in dict((v, k) for k, v in TECHNIQUE_CHOICES):
            self.technique.value = kind
        changed = self.recipe.changed()
        text = "; ".join(f"{k} = {v}" for k, v in changed.items()) or "all defaults"
        self.recipe_text.value = f"<span style='color:#555'>Settings changed from the defaults: {text}</span>"

    # ------------------------------------------------------------------ inputs
    def _upload_folder(self) -> Path:
        from ..safety import confined, export_dir

        if confined():
            return export_dir("uploads")
        out = Path(self.out.value.strip() or "study").expanduser()
        return out.with_name(out.name + "_uploads")

    def _on_upload(self, change) -> None:
        files = change["new"]
        if not files:
            return
        folder = self._upload_folder()
        from ..safety import check_upload, shown_name

        for f in files:
            check_upload(f["name"], len(f["content"]))
        folder.mkdir(parents=True, exist_ok=True)
        for f in files:
            (folder / Path(f["name"]).name).write_bytes(bytes(f["content"]))
        self._trusted.add(str(folder))
        self.inputs.value = str(folder)
        self.status.info(f"{len(files)} file(s) saved in {shown_name(folder)}; press Run study.")
        self.upload.value = ()

    def _input_list(self) -> list:
        parts = [p.strip() for p in self.inputs.value.replace("\n", ";").split(";") if p.strip()]
        if not parts:
            from ..errors import ParameterError

            raise ParameterError("Inputs: type a folder, files or a glob pattern (or upload files) first")
        from ..safety import confined, user_path

        if confined() and self.inputs.value not in self._trusted:  # each folder, file or glob in the data folder
            return [str(user_path(p)) for p in parts]
        return parts

    # ------------------------------------------------------------------ run
    def _scheduler(self):
        if self.where.value == "sync":
            return "sync"
        if self.where.value == "address":
            from ..errors import ParameterError

            from ..safety import confined

            if confined():
                raise ParameterError("on this shared server a study runs on the server itself: choose "
                                     "'this process, one file after another'")
            if not self.address.value.strip():
                raise ParameterError("Run on an existing Dask scheduler: type its address, e.g. tcp://host:8786")
            return self.address.value.strip()
        return None

    def _progress(self, done, total, record) -> None:
        self._failed += bool(record) and record.get("status") == "failed"
        self.progress.max = max(total, 1)
        self.progress.value = done
        failed = f", {self._failed} failed" if self._failed else ""
        self.progress_text.value = (f"{done}/{total} files analysed{failed}" if total else
                                    "nothing to analyse: every file was analysed before with this recipe")

    def _out(self):
        """The study folder typed (a folder of this page's own under the data folder on a workshop server)."""
        from ..safety import confined, export_dir

        text = self.out.value.strip()
        return str(export_dir(text or "study")) if confined() else text

    def run(self):
        """Run the study the controls describe; returns the :class:`~nbtools.study.Study` (also ``.study``)."""
        from ..study import run

        self._failed = 0
        self.status.info("Looking for inputs ...")
        self.run_button.disabled = True
        try:
            study = run(self.recipe, self._input_list(), out=self._out(), scheduler=self._scheduler(),
                        options=self.options, progress=self._progress)
        finally:
            self.run_button.disabled = False
        self.study = study
        self.status.info(f"Done: {study.summary()}")
        return study

    def open(self, out):
        """Show a study folder written before (``nbtools batch`` or this dashboard)."""
        from ..study import Study

        self.out.value = str(out)
        self.study = Study.open(out)
        return self.study

    # ------------------------------------------------------------------ results
    def _on_study(self, change) -> None:
        s = self.study
        if s is None:
            return
        self.recipe = s.recipe
        c = s.counts()
        self.summary.value = (f"<b>{c.get('files', 0)} file(s)</b>: {c.get('ok', 0)} ok, {c.get('warning', 0)} with "
                              f"warnings, {c.get('failed', 0)} failed; {c.get('reused', 0)} reused from an earlier "
                              f"run. Report: <code>{s.report}</code>; tables: <code>{s.out}</code>")
        self.files.show(s)
        self.explorer.show(s)
        self.selected = ""
        self.detail.children = []

    def _on_row(self, name) -> None:
        self.selected = name or ""

    def _on_selected(self, change) -> None:
        if not self.selected or self.study is None:
            self.detail.children = []
            return
        self.status.info(f"Opening {self.selected} ...")
        self.detail.children = [W.HTML("<h3 style='margin:8px 0 4px 0'>5. One file</h3>"),
                                file_detail(self.study, self.selected)]
        self.status.info(f"{self.selected}: its analysis with the study's recipe is below the population.")
