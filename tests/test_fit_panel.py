"""FitPanel without a browser: model chooser, table, fit button, params round trip, errors, export."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nbtools.errors import DataError, NbtoolsWarning, ParameterError
from nbtools.kinetics import MODELS, FitRecipe, butler_volmer, fit, format_quantity, pitt_sphere, refit
from nbtools.recipes import from_json
from nbtools.widgets import FitPanel

I0, ALPHA = 2e-9, 0.4


@pytest.fixture
def bv_data():
    rng = np.random.default_rng(42)
    eta = np.linspace(-0.15, 0.15, 201)
    y = butler_volmer(eta, I0, ALPHA) + 2e-11 * rng.normal(size=eta.size)
    return eta, y


@pytest.fixture
def pitt_data():
    rng = np.random.default_rng(7)
    t = np.linspace(0.05, 40, 400)
    y = pitt_sphere(t, 3e-12, 25.0) + 2e-15 * rng.normal(size=t.size)
    return t, y


def test_chooser_lists_registry_models_with_matching_units(bv_data):
    panel = FitPanel(*bv_data, "ButlerVolmer")
    names = list(panel.model_select.options)
    assert "ButlerVolmer" in names and "MarcusHushChidsey" in names
    assert all(MODELS[n].x_unit == "V" and MODELS[n].y[1] == "A" for n in names)
    assert "PITTSphere" not in names  # time-domain models need time data
    assert "LavironCV" not in names  # a voltammogram (E in time order) is not an i(eta) curve
    # the table is the registry's parameter list, with units from the registry
    assert list(panel.rows) == list(MODELS["ButlerVolmer"].make_model().param_names)
    html_table = repr(panel.table.children)
    assert "exchange current" in html_table


def test_fit_button_recovers_known_parameters(bv_data):
    eta, y = bv_data
    panel = FitPanel(eta, y, "ButlerVolmer", x_label="Overpotential", y_label="Current")
    panel.set_param("i0", value=1e-9)
    panel.set_param("alpha", value=0.6)
    panel.fit_button.click()
    assert panel.status.last_error is None, panel.status.value
    assert "Fit converged" in panel.status.value and panel.warnings == []
    res = panel.result
    assert res.params["i0"].value == pytest.approx(I0, rel=0.02)
    assert res.params["alpha"].value == pytest.approx(ALPHA, rel=0.02)
    ci = res.ci
    assert ci.loc["i0", "lower"] <= I0 <= ci.loc["i0", "upper"]
    assert "95% interval" in panel.report.value and "nA" in panel.report.value
    assert panel.figure.xaxis[0].axis_label == "Overpotential / V"
    assert panel.figure.yaxis[0].axis_label == "Current / nA"
    # plotted fit is in the display unit (nA)
    assert np.nanmax(np.abs(panel.fit_source.data["y"])) == pytest.approx(np.max(np.abs(res.best_fit)) * 1e9)
    assert len(panel.resid_source.data["r"]) == eta.size


def test_choose_model_rebuilds_table_and_fits(bv_data):
    eta, y = bv_data
    panel = FitPanel(eta, y, "ButlerVolmer")
    panel.model_select.value = "MarcusHushChidseyZeng"
    assert "lam" in panel.rows and "alpha" not in panel.rows
    assert panel.result is None
    panel.model_select.value = "ButlerVolmerMT"
    assert {"il_a", "il_c"} <= set(panel.rows)
    panel.model_select.value = "Tafel"
    panel.fit()
    assert panel.recipe.model == panel.result.recipe.model == "Tafel"
    assert panel.params["params"]["model"] == "Tafel"


def test_params_round_trip_reproduces_fit_exactly(bv_data):
    eta, y = bv_data
    panel = FitPanel(eta, y, "ButlerVolmer")
    panel.set_param("alpha", value=0.55, min=0.1, max=0.9)
    panel.fit()
    text = json.dumps(panel.params, allow_nan=False)  # strict JSON
    settings = json.loads(text)
    assert settings["recipe"] == "kinetics.fit" and settings["params"]["model"] == "ButlerVolmer"
    assert settings["params"]["params"] == {"alpha": {"value": 0.55, "min": 0.1, "max": 0.9}}
    assert panel.result.recipe == panel.recipe == from_json(settings)
    again = FitPanel.from_params(eta, y, settings)
    core = fit(from_json(settings), eta, y)
    for name in panel.result.params:
        v = panel.result.params[name].value
        assert again.result.params[name].value == v
        assert core.params[name].value == v
        assert refit(eta, y, settings).params[name].value == v
        assert fit("ButlerVolmer", eta, y, recipe=panel.result.recipe).params[name].value == v
    assert again.rows["alpha"]["min"].value == "0.1"


def test_recipe_read_write_and_bad_recipe(bv_data):
    eta, y = bv_data
    panel = FitPanel(eta, y, "ButlerVolmer")
    rec = FitRecipe(model="Tafel", params={"alpha": {"value": 0.45, "vary": False}}, window=(0.12, 0.15),
                    conf="profile", nan_policy="omit")
    panel.recipe = rec
    assert panel.model_select.value == "Tafel" and not panel.rows["alpha"]["vary"].value
    assert panel.rows["alpha"]["value"].value == "0.45" and panel.x_from.value == "0.12"
    assert panel.conf_select.value == "conf_interval" and panel.skip_nan.value
    assert panel.recipe is rec  # showing a recipe does not change it
    panel.fit()
    assert panel.result.recipe == rec and panel.result.params["alpha"].value == 0.45
    with pytest.raises(ParameterError, match="this panel's data"):
        panel.recipe = FitRecipe(model="PITTSphere")
    assert panel.recipe is rec
    panel.recipe_bar.load(FitRecipe(model="ButlerVolmer", level=0.9).to_json())  # Load fit recipe
    assert panel.recipe.model == "ButlerVolmer" and panel.conf_select.description == "90% intervals"
    import datetime

    data = FitRecipe(model="ImpactKinetic").to_json().encode()
    panel.recipe_bar.upload.value = ({"name": "r.json", "type": "application/json", "size": len(data),
                                      "content": memoryview(data),
                                      "last_modified": datetime.datetime.now(datetime.timezone.utc)},)
    assert isinstance(panel.status.last_error, ParameterError) and "fits i against t in s" in panel.status.value
    assert panel.recipe.model == "ButlerVolmer"


def test_weights_are_part_of_the_fit(bv_data):
    eta, y = bv_data
    panel = FitPanel(eta, y, "ButlerVolmer", weights=np.full(eta.size, 5e10))
    assert panel.recipe.weights == "given"
    res = panel.fit()
    assert res.recipe == panel.recipe
    assert refit(eta, y, panel.params, weights=panel.weights).params["i0"].value == res.params["i0"].value


def test_start_from_fit_and_guess_edit_the_recipe(bv_data):
    eta, y = bv_data
    panel = FitPanel(eta, y, "ButlerVolmer")
    assert panel.recipe.params == {}  # every start value from the data-based guess
    panel.start_from_fit()
    assert "No fit yet" in panel.status.value
    panel.fit()
    panel.start_from_fit()
    assert set(panel.recipe.params) == {"i0", "alpha"}
    assert panel.recipe.params["alpha"]["value"] == panel.result.params["alpha"].value
    panel.guess_button.click()
    assert panel.recipe.params == {} and "estimated" in panel.status.value


def test_pitt_fit_and_derived_diffusion_coefficient(pitt_data):
    t, y = pitt_data
    model = MODELS["PITTSphere"].make_model(radius=200e-9)
    panel = FitPanel(t, y, model, x_label="Time since the step")
    assert "D" in panel.rows and panel.rows["D"]["value"].disabled
    panel.fit()
    assert panel.result.params["tau"].value == pytest.approx(25.0, rel=0.03)
    assert panel.result.params["D"].value == pytest.approx((200e-9) ** 2 / 25.0, rel=0.03)
    assert "derived" in panel.report.value
    d = panel.params["result"]["params"]["D"]
    assert d["derived"] and d["lower"] < (200e-9) ** 2 / 25.0 < d["upper"]
    assert panel.figure.yaxis[0].axis_label == "i / pA"


def test_bad_bounds_error_shown_not_raised(bv_data):
    panel = FitPanel(*bv_data, "ButlerVolmer")
    panel.set_param("alpha", min=0.9, max=0.2)
    panel.fit_button.click()
    assert isinstance(panel.status.last_error, ParameterError)
    assert "nbtools-error" in panel.status.value and "swap the bounds" in panel.status.value
    panel.set_param("alpha", min=0.05, max=0.3, value=0.5)
    panel.fit_button.click()
    assert "outside its bounds" in panel.status.value
    panel.rows["i0"]["value"].value = "two nA"
    panel.fit_button.click()
    assert "is not a number" in panel.status.value
    assert panel.result is None


def test_nan_data_error_and_skip_option(bv_data):
    eta, y = bv_data
    y = y.copy()
    y[10] = np.nan
    panel = FitPanel(eta, y, "ButlerVolmer")
    panel.fit_button.click()
    assert isinstance(panel.status.last_error, DataError)
    assert "skip NaN/Inf points" in panel.status.value
    panel.skip_nan.value = True
    panel.fit_button.click()
    assert "Fit converged" in panel.status.value
    assert panel.result.ndata == eta.size - 1
    assert panel.recipe.nan_policy == "omit" == panel.result.recipe.nan_policy


def test_failed_fit_shown(bv_data):
    eta, _ = bv_data
    panel = FitPanel(eta, np.zeros_like(eta), "ButlerVolmer")
    panel.fit_button.click()
    assert isinstance(panel.status.last_error, DataError) and "constant" in panel.status.value


def test_warnings_shown_in_panel(bv_data):
    eta, y = bv_data
    # current in mA given as A: a 2 A exchange current is not a single particle
    panel = FitPanel(eta, y * 1e9, "ButlerVolmer")
    with _no_warning_escapes():
        panel.fit_button.click()
    assert panel.status.last_error is None
    assert any("plausible" in w for w in panel.warnings)
    assert "nbtools-warning" in panel.status.value and "Fit converged, but" in panel.status.value
    assert "outside the physically plausible range" in panel.warning_box.value
    assert "warnings:" in panel.report_text()


class _no_warning_escapes:
    """The panel shows NbtoolsWarnings itself; none may reach the caller."""

    def __enter__(self):
        import warnings

        self._cm = warnings.catch_warnings(record=True)
        self.caught = self._cm.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self._cm.__exit__(*exc)
        leaked = [w for w in self.caught if issubclass(w.category, NbtoolsWarning)]
        assert not leaked, [str(w.message) for w in leaked]
        return False


def test_export_never_overwrites(bv_data, tmp_path):
    panel = FitPanel(*bv_data, "ButlerVolmer", x_label="Overpotential", y_label="Current",
                     export_dir=str(tmp_path / "out"))
    panel.export_button.click()
    assert isinstance(panel.status.last_error, DataError)  # nothing fitted yet
    panel.status.last_error = None
    panel.fit()
    (tmp_path / "out").mkdir()
    keep = tmp_path / "out" / "fit_ButlerVolmer_curve.csv"
    keep.write_text("user file")
    panel.export_button.click()
    assert panel.status.last_error is None, panel.status.value
    assert keep.read_text() == "user file"
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert "fit_ButlerVolmer-1_report.txt" in files and "fit_ButlerVolmer-1_curve.csv" in files
    first = panel.export(name="mine")
    second = panel.export(name="mine")
    assert [p.name for p in first] == ["mine_report.txt", "mine_fit.json", "mine_curve.csv"]
    assert [p.name for p in second] == ["mine-1_report.txt", "mine-1_fit.json", "mine-1_curve.csv"]
    import pandas as pd

    curve = pd.read_csv(first[2])
    assert list(curve.columns) == ["Overpotential / V", "Current / A", "Fit current / A", "Residual / A"]
    np.testing.assert_allclose(curve["Fit current / A"], panel.result.best_fit, rtol=1e-9)
    saved = json.loads(first[1].read_text())
    assert saved["result"]["params"]["alpha"]["value"] == pytest.approx(panel.result.params["alpha"].value)
    assert refit(*bv_data, saved).params["alpha"].value == panel.result.params["alpha"].value
    assert "95% interval" in first[0].read_text()
    with pytest.raises(ParameterError, match="plain name"):
        panel.export(name="../escape")


def test_unknown_model_and_param_errors(bv_data):
    with pytest.raises(ParameterError, match="MODELS"):
        FitPanel(*bv_data, "NoSuchModel")
    panel = FitPanel(*bv_data)
    with pytest.raises(ParameterError, match="no parameter"):
        panel.set_param("k0", value=1.0)


def test_widget_root_and_inputs_untouched(bv_data):
    import ipywidgets as W

    eta, y = bv_data
    y0 = y.copy()
    panel = FitPanel(eta, y)
    assert isinstance(panel.widget, W.VBox)
    assert panel.fit_button in _walk(panel.widget)
    panel.fit()
    np.testing.assert_array_equal(y, y0)


def _walk(w):
    out = [w]
    for c in getattr(w, "children", ()):
        out += _walk(c)
    return out


def test_format_quantity():
    assert format_quantity(2.5e-9, "A") == "2.5 nA"
    assert format_quantity(-3.2e-13, "C") == "-320 fC"
    assert format_quantity(0.45, "") == "0.45"
    assert format_quantity(25.0, "s") == "25 s"
    assert format_quantity(1e-6 - 1e-15, "A") == "1 µA"


def test_structured_residuals_warned(pitt_data):
    """The Nernstian PITT model on a transient with slow surface kinetics: converges, but misfits."""
    from nbtools.kinetics import pitt_sphere_biot

    t, _ = pitt_data
    y = pitt_sphere_biot(t, 3e-12, 25.0, 1.0) + 2e-15 * np.random.default_rng(3).normal(size=t.size)
    wrong = FitPanel(t, y, "PITTSphere")
    wrong.fit()
    assert any("residuals are strongly correlated" in w for w in wrong.warnings)
    right = FitPanel(t, y, "PITTSphereBiot")
    right.fit()
    assert not any("residuals" in w for w in right.warnings)



def test_cv_model_on_simulated_voltammogram():
    """LavironCV on a particle CV: the chooser offers CV models only; the fit runs with v fixed."""
    from pathlib import Path

    from nbtools.stick import load_cv_series

    data = Path(__file__).resolve().parents[1] / "data"
    cv = load_cv_series([data / "particle_cv_2mVs.csv"])[0]
    panel = FitPanel(cv["E"], cv["i"], "LavironCV", params={"v": cv.attrs["v"]})
    assert set(panel.model_select.options) == {"FrumkinCV", "LavironCV", "CouplesCV", "CouplesCV1"}
    assert panel.rows["v"]["value"].value == f"{cv.attrs['v']:.6g}" and not panel.rows["v"]["vary"].value
    panel.fit()
    assert panel.result.params["E0"].value == pytest.approx(4.05, abs=0.002)
    assert panel.result.params["Q"].value == pytest.approx(9.59e-9, rel=0.03)
    # the uniform-particle model misses the solid diffusion of the simulated particle
    assert any("residuals" in w for w in panel.warnings)


def test_fit_window_tafel_region(bv_data):
    eta, y = bv_data
    panel = FitPanel(eta, y, "Tafel")
    panel.x_from.value = "0.12"
    assert panel.recipe.window == (0.12, eta.max())  # an empty end is the data's end
    assert panel.x_to.value == "0.15"
    panel.fit_button.click()
    assert panel.status.last_error is None, panel.status.value
    assert panel.result.ndata == int(np.sum(eta >= 0.12))
    assert panel.result.params["alpha"].value == pytest.approx(ALPHA, rel=0.03)
    settings = json.loads(json.dumps(panel.params, allow_nan=False))
    assert settings["params"]["window"] == [0.12, eta.max()]
    again = FitPanel.from_params(eta, y, settings)
    assert again.result.params["i0"].value == panel.result.params["i0"].value
    with pytest.warns(NbtoolsWarning, match="correlated"):  # i0 is an extrapolation: said once more
        assert refit(eta, y, settings).params["i0"].value == panel.result.params["i0"].value
    assert any("correlated" in w for w in panel.warnings)
    panel.x_to.value = "0.1"  # a window given in either order (nbtools.recipes.check_window)
    assert panel.recipe.window == (0.1, 0.12)


def test_old_fit_settings_still_refit(bv_data):
    """A *_fit.json exported before recipes (model, params with null bounds, options) fits again."""
    eta, y = bv_data
    old = {"nbtools_fit": 1, "model": "ButlerVolmer", "x_name": "eta",
           "params": {"i0": {"value": 1e-9, "min": 0.0, "max": None, "vary": True, "unit": "A"},
                      "alpha": {"value": 0.5, "min": 0.05, "max": 0.95, "vary": True, "unit": ""},
                      "T": {"value": 298.15, "min": 1.0, "max": 2000.0, "vary": False, "unit": "K"}},
           "options": {"conf": "stderr", "level": 0.9, "method": "leastsq", "nan_policy": "raise",
                       "n_boot": 200, "seed": 0, "x_min": -0.1, "x_max": None}}
    res = refit(eta, y, old)
    assert res.recipe.window == (-0.1, eta.max()) and res.recipe.level == 0.9
    assert res.params["alpha"].value == pytest.approx(ALPHA, rel=0.03)


def test_fit_window_refused_for_voltammogram_models():
    E = np.r_[np.linspace(3.8, 4.3, 200), np.linspace(4.3, 3.8, 200)[1:]]
    from nbtools.kinetics import frumkin_cv

    y = frumkin_cv(E, 1e-9, 4.05, 0.0, 1e-3)
    panel = FitPanel(E, y, "FrumkinCV", params={"v": 1e-3})
    panel.x_from.value = "4.0"
    panel.fit_button.click()
    assert isinstance(panel.status.last_error, ParameterError) and "time order" in panel.status.value


def test_fit_error_shown(bv_data):
    """A model that cannot be evaluated at the start values (overflow at T = 1 K): FitError in the status."""
    from nbtools.errors import FitError

    panel = FitPanel(*bv_data, "ButlerVolmer")
    panel.set_param("T", value=1.0, min=0.5)
    panel.fit_button.click()
    assert isinstance(panel.status.last_error, FitError), panel.status.value
    assert "nbtools-error" in panel.status.value and panel.result is None
