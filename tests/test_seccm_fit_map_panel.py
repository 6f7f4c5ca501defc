"""FitMapPanel without a browser: model menu from the registry, fixed parameters, progress, maps, failures."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from nbtools import seccm
from nbtools.errors import ParameterError
from nbtools.simulate import seccm_scan
from nbtools.widgets import FitMapPanel, PixelSelector

CLEAN = dict(failed_fraction=0.05, no_contact_fraction=0, saturated_fraction=0, noisy_fraction=0, coverage=0.45)


@pytest.fixture(scope="module")
def scan():
    return seccm_scan(nx=6, ny=5, n_samples=300, seed=4, **CLEAN)


@pytest.fixture
def panel(scan):
    sel = PixelSelector(scan[0])
    return FitMapPanel(sel, recipe=seccm.PixelFitRecipe(max_pixels=3), scheduler="sync")


def test_models_and_their_options_come_from_the_registry(panel):
    assert list(panel.model.options) == list(seccm.pixel_models())
    for name, entry in seccm.pixel_models().items():
        panel.model.value = name
        assert panel.recipe.model == name
        assert (panel.couples.layout.display is None) == ("couples" in entry.options)
        assert (panel.sampling.layout.display is None) == ("sampling" in entry.options)
        rows = [r.children[0].description.split(" /")[0] for r in panel.fixed_box.children[0].children]
        names = set(entry.make_model().param_names)
        assert set(rows) <= names and "v" not in rows  # v: fixed from the scan


def test_controls_edit_the_recipe_and_the_selector_keeps_it(panel):
    sel = panel.selector
    panel.model.value = "LavironCV"
    panel.sampling.value = "average"
    panel.window.use.value = True
    panel.max_pixels.value = 0  # all
    assert panel.recipe == seccm.PixelFitRecipe(model="LavironCV", sampling="average", window=(3.7, 4.4))
    assert sel.recipe.fit == panel.recipe
    row = next(r for r in panel.fixed_box.children[0].children if r.children[0].description.startswith("alpha"))
    row.children[1].value = 0.4
    row.children[0].value = True
    assert panel.recipe.params == {"alpha": {"value": 0.4, "vary": False}}
    sel.recipe = sel.recipe.replace(fit=seccm.PixelFitRecipe(model="FrumkinCV", max_pixels=7))  # a loaded recipe
    assert panel.model.value == "FrumkinCV" and panel.max_pixels.value == 7
    assert panel.sampling.layout.display == "none"


def test_fit_a_group_with_progress_maps_and_failures(panel, scan):
    ds, truth = scan
    sel = panel.selector
    sel.set_group("particle", xr.DataArray(truth["particle"], dims=("y", "x")))
    panel.pixels.value = "particle"
    steps = []
    panel.progress.observe(lambda c: steps.append(c["new"]), names="value")
    result = panel.fit()
    assert panel.progress.value == panel.progress.max == 3 and steps[-1] == 3
    assert panel.result is result and result.attrs["n_fitted"] == 3
    r = result.attrs["recipe"]
    assert r.pixels == tuple(np.flatnonzero(sel.group_masks["particle"])) and r.max_pixels == 3
    assert "Fitted 3 of" in panel.status.value
    assert {"fit: ks", "fit: ks stderr", "fit: Q1"} <= set(sel.options.customs)
    assert panel.which.value == "ks" and panel.maps_box.children
    assert "E01" in panel.table.value and "interquartile" in panel.table.value
    failed = [s for s in result.fit_status.values if s.startswith("skipped")]
    assert failed and "Pixels not fitted" in panel.table.value and "skipped: failed_landing" in panel.table.value
    again = seccm.fit_pixels(ds, r, scheduler="sync")
    np.testing.assert_array_equal(again.ks.values, result.ks.values)
    sel.show_map("fit: ks")
    xr.testing.assert_identical(sel.map, result.ks)


def test_fixed_parameter_is_held(panel, scan):
    ds, truth = scan
    panel.selector.select(np.flatnonzero(truth["particle"][ds.iy.values, ds.ix.values]
                                         & (ds.status.values == "landed"))[:2])
    panel.pixels.value = "selection"
    panel.model.value = "FrumkinCV"
    row = next(r for r in panel.fixed_box.children[0].children if r.children[0].description.startswith("g"))
    row.children[1].value = 0.0
    row.children[0].value = True
    result = panel.fit()
    assert "g" not in result and "Q" in result and result.attrs["n_fitted"] == 2


def test_empty_choice_says_what_to_do(panel):
    panel.pixels.value = "selection"
    panel.selector.select([])
    panel.fit_button.click()
    assert "no pixel in" in panel.status.value and "select pixels" in panel.status.value
    assert "nbtools-error" in panel.status.value
    with pytest.raises(ParameterError, match="select pixels"):
        panel.fit()


def test_panel_on_a_scan_alone(scan):
    ds, _ = scan
    p = FitMapPanel(ds, recipe=seccm.PixelFitRecipe(model="FrumkinCV", max_pixels=2), scheduler="sync")
    assert p.pixels.options == ("all pixels",)
    result = p.fit()
    assert result.attrs["n_fitted"] == 2 and result.attrs["recipe"].pixels is None
