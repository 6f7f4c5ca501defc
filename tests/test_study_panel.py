"""The Study dashboard's widget without a browser: a view over a recipe and a study (traitlets)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from study_helpers import impact_folder

from nbtools.impact import EventRecipe
from nbtools.kinetics import StickRecipe
from nbtools.seccm import AnalysisRecipe
from nbtools.widgets.study_panel import StudyPanel


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = impact_folder(tmp_path_factory.mktemp("panel_in"), duration=1.0, seed=70)
    for f in root.rglob("*"):  # .npz and .csv only: no reader options needed
        if f.suffix == ".npy" or f.name == "broken.npz":
            f.unlink()
    return root


def test_recipe_follows_the_technique_and_loaded_recipes(tmp_path):
    panel = StudyPanel(tmp_path, tmp_path / "out", where="sync")
    assert panel.recipe == EventRecipe() and "all defaults" in panel.recipe_text.value
    panel.technique.value = "stick.workflow"
    assert panel.recipe == StickRecipe()
    panel.recipe_bar.load(EventRecipe(threshold=7).to_json())
    assert panel.technique.value == "impact.events" and panel.recipe.threshold == 7.0
    assert "threshold = 7.0" in panel.recipe_text.value
    panel.recipe = AnalysisRecipe()
    assert panel.technique.value == "seccm.analysis"


def test_run_shows_files_population_and_a_files_analysis(folder, tmp_path):
    panel = StudyPanel(folder, tmp_path / "out", where="sync", recipe=EventRecipe(threshold=6))
    seen = []
    panel.observe(lambda c: seen.append(c["new"]), names="study")
    study = panel.run()
    assert seen == [study] and panel.progress.value == panel.progress.max == 4
    assert "4/4 files analysed" in panel.progress_text.value
    assert panel.files.keys == study.files["name"].tolist()
    assert panel.files.source.data["status"] == ["ok"] * 4
    assert panel.explorer.column.value == "radius" and "Mann-Whitney" in panel.explorer.stats.value
    panel.explorer.column.value = "duration"
    assert panel.explorer.figs[False].title.text.startswith("duration") or \
        panel.explorer.figs[True].title.text.startswith("duration")
    rows = panel.explorer.rows
    assert rows.keys and set(rows.keys) <= set(study.files["name"])
    rows.source.selected.indices = [0]  # a click on the entity with the largest duration opens its file
    assert panel.selected == rows.keys[0]
    panel.files.source.selected.indices = [1]  # a click on the second file
    assert panel.selected == study.files["name"].iloc[1]
    picker = [w for w in panel.detail.children[1].children if hasattr(w, "children")]
    assert picker, "the file's analysis (a SpikePicker) is shown"
    again = panel.run()
    assert again.counts()["computed"] == 0 and "nothing to analyse" in panel.progress_text.value


def test_upload_goes_beside_the_study_folder(folder, tmp_path):
    panel = StudyPanel("", tmp_path / "study", where="sync")
    data = (folder / "10pM" / "rec_a.npz").read_bytes()
    panel.upload.value = ({"name": "up.npz", "type": "", "size": len(data), "content": memoryview(data),
                           "last_modified": datetime.now(timezone.utc)},)
    up = tmp_path / "study_uploads"
    assert (up / "up.npz").read_bytes() == data and panel.inputs.value == str(up)
    assert panel.upload.value == ()
    panel.inputs.value = " "
    panel.run_button.click()  # no inputs: the status line says what to do
    assert "Inputs: type a folder" in panel.status.value
