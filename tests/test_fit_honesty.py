"""Fits that say how far to trust them: goodness of fit against each curve's own noise, parameters the
data do not determine, model comparison, the fitted curve of a pixel and the scan's potential window.

Ground truth from nbtools.simulate and the kinetics model functions (known noise, known model).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbtools import seccm
from nbtools.batch import fit_many
from nbtools.errors import DataError, NbtoolsWarning, ParameterError
from nbtools.kinetics import butler_volmer, butler_volmer_mt, fit, frumkin_cv
from nbtools.kinetics.goodness import compare_models, determination, goodness, nested_pairs, noise_sd
from nbtools.simulate import seccm_scan

REAL = Path("/work/wt/shared/realdata/seccm/wecspm_x22500_y-4500.tdms")
CLEAN = dict(failed_fraction=0.0, no_contact_fraction=0, saturated_fraction=0, noisy_fraction=0, coverage=0.5)
ETA = np.linspace(-0.3, 0.3, 601)
SIGMA = 1e-11


def _text(html):
    return re.sub("<[^>]+>", " ", html).replace("&gt;", ">").replace("&#x27;", "'")


@pytest.fixture(scope="module")
def scans():
    """Two simulated scans with known couples: (4.0, 4.15) V and (4.0,) V; their particle and substrate pixels."""
    out = {}
    for key, e0 in (("two", (4.0, 4.15)), ("one", (4.0,))):
        ds, truth = seccm_scan(nx=5, ny=4, n_samples=400, seed=3, e0=e0, noise=0.2e-12, **CLEAN)
        on = truth["particle"][ds.iy.values, ds.ix.values] & (ds.status.values == "landed")
        out[key] = (ds, np.flatnonzero(on)[:6], np.flatnonzero(~on & (ds.status.values == "landed"))[:4])
    return out


def _fits(ds, pixels):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NbtoolsWarning)
        two = seccm.fit_pixels(ds, "CouplesCV", couples=2, sampling="average", pixels=pixels, scheduler="sync")
        one = seccm.fit_pixels(ds, "CouplesCV1", sampling="average", pixels=pixels, scheduler="sync")
    return two, one


# ------------------------------------------------------------------ the noise of a curve, from the curve
@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_noise_from_the_data_is_scale_free(scale):
    rng = np.random.default_rng(5)
    E = np.r_[np.linspace(3.7, 4.4, 400), np.linspace(4.4, 3.7, 400)]
    clean = frumkin_cv(E, 5e-11, 4.0, 0.0, 0.005) * 1e3  # sharp peaks, a sweep reversal
    y = (clean + rng.normal(0, 0.02 * np.abs(clean).max(), E.size)) * scale
    assert noise_sd(y) == pytest.approx(0.02 * np.abs(clean).max() * scale, rel=0.1)
    # steep exponentials (Butler-Volmer over +-0.3 V, noise 1e-5 of the largest current): the higher orders
    y = butler_volmer(ETA, 1e-9, 0.5) + rng.normal(0, SIGMA, ETA.size)
    assert noise_sd(y * scale) == pytest.approx(SIGMA * scale, rel=0.15)
    assert noise_sd(y[:6]) != noise_sd(y[:6]) or True  # too few points: NaN, never an error
    assert np.isnan(noise_sd(y[:5]))


def test_goodness_and_determination_of_plain_arrays():
    rng = np.random.default_rng(1)
    x = np.linspace(-1, 1, 500)
    y = x ** 2 + rng.normal(0, 0.01, x.size)
    good = goodness(y, x ** 2, 0)
    assert 0.8 < good["redchi_noise"] < 1.25 and good["r2"] > 0.99 and not good["resid_structure"]
    assert abs(good["resid_r1"]) < 0.15 and good["runs_p"] > 1e-3
    bad = goodness(y, 0.8 * x ** 2 + 0.05, 2)  # a wrong curve: long runs of one sign
    assert bad["resid_structure"] and bad["runs_p"] < 1e-6 and bad["redchi_noise"] > 10
    rows = goodness(np.vstack([y, y]), np.vstack([x ** 2, 0.8 * x ** 2 + 0.05]), [0, 2])
    assert rows["resid_structure"].tolist() == [False, True]
    codes = determination([[1.0, 2.0, 0.0, 5.0]], [[0.5, 3.0, 0.1, np.nan]], [0, 0, 0, 0], [10, 10, 10, 10])
    assert codes.tolist() == [["", "relative error > 100 %", "at its lower bound", "no standard error"]]


# ------------------------------------------------------------------ one curve: kinetics.fit and fit_many
def test_a_right_model_reports_chi_square_near_one_against_the_noise():
    y = butler_volmer(ETA, 2e-9, 0.45) + np.random.default_rng(2).normal(0, SIGMA, ETA.size)
    res = fit("ButlerVolmer", ETA, y)
    g = res.nb_goodness
    assert 0.8 < g["redchi_noise"] < 1.25 and g["r2"] > 0.999 and not g["resid_structure"]
    assert g["noise"] == pytest.approx(SIGMA, rel=0.15) and res.nb_not_determined == {}
    from nbtools.kinetics import fit_summary
    from nbtools.kinetics.results import fit_quality_text

    st = fit_summary(res)["statistics"]
    assert st["redchi_noise"] == pytest.approx(g["redchi_noise"]) and st["aic"] == pytest.approx(res.aic)
    assert "times the data's noise" in fit_quality_text(st)


def test_a_wrong_model_flags_residual_structure_and_pure_noise_flags_not_determined():
    rng = np.random.default_rng(3)
    y = butler_volmer_mt(ETA, 1e-9, 0.5, 2e-8, -2e-8) + rng.normal(0, SIGMA, ETA.size)
    with pytest.warns(NbtoolsWarning):
        wrong = fit("ButlerVolmer", ETA, y)
    assert wrong.nb_goodness["resid_structure"] and wrong.nb_goodness["redchi_noise"] > 100
    assert any("structure" in m or "strongly correlated" in m for m in wrong.nb_warnings)
    E = np.r_[np.linspace(3.7, 4.4, 300), np.linspace(4.4, 3.7, 300)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NbtoolsWarning)
        noise = fit("FrumkinCV", E, rng.normal(0, 1e-12, E.size), params={"v": 0.005})
    assert noise.nb_not_determined and not noise.nb_goodness["resid_structure"]
    assert set(noise.nb_not_determined.values()) <= {"relative error > 100 %", "at its lower bound",
                                                     "at its upper bound", "no standard error"}


@pytest.mark.parametrize("engine", ["batch", "fast", "lmfit"])
def test_fit_many_tables_carry_goodness_and_not_determined(engine):
    rng = np.random.default_rng(4)
    Y = np.array([butler_volmer(ETA, i0, 0.5) for i0 in (1e-9, 2e-9)]
                 + [butler_volmer_mt(ETA, 1e-9, 0.5, 2e-8, -2e-8)]) + rng.normal(0, SIGMA, (3, ETA.size))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NbtoolsWarning)
        df = fit_many("ButlerVolmer", ETA, Y, scheduler="sync", engine=engine)
    for col in ("ndata", "r2", "noise", "redchi_noise", "resid_r1", "runs_p", "resid_structure", "aic", "bic",
                "not_determined"):
        assert col in df.columns, col
    assert ((df["redchi_noise"][:2] > 0.8) & (df["redchi_noise"][:2] < 1.25)).all()
    assert df["resid_structure"].tolist() == [False, False, True]
    assert (df["status"][:2] == "ok").all() and df["status"][2] == "warning"
    assert (df["ndata"] == ETA.size).all() and (df["not_determined"] == "").all()


def test_aic_picks_the_true_model_of_one_curve():
    from nbtools.kinetics import compare_results

    rng = np.random.default_rng(6)
    for truth, y in (("ButlerVolmerMT", butler_volmer_mt(ETA, 1e-9, 0.5, 2e-8, -2e-8)),
                     ("ButlerVolmer", butler_volmer(ETA, 1e-9, 0.5))):
        y = y + rng.normal(0, SIGMA, ETA.size)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NbtoolsWarning)
            res = {m: fit(m, ETA, y) for m in ("ButlerVolmer", "ButlerVolmerMT")}
        table = compare_results(res)
        assert table.attrs["preferred_bic"] == truth
        p = table.attrs["tests"]["ButlerVolmer vs ButlerVolmerMT"]["f_p"]
        assert (p < 1e-6) if truth == "ButlerVolmerMT" else (p > 0.01)
    with pytest.raises(DataError, match="different points"):
        compare_results({"a": res["ButlerVolmer"], "b": fit("ButlerVolmer", ETA[:300], y[:300], warn=False)})


def test_compare_models_and_nesting():
    assert nested_pairs({"one": ["Q1", "ks"], "two": ["Q1", "Q2", "ks"], "other": ["Q", "g"]}) == [("one", "two")]
    out = compare_models({"a": [100.0, np.nan], "b": [90.0, 50.0]}, [200, 200], {"a": 2, "b": 3},
                         nested=[("a", "b")])
    assert out["preferred_aic"].tolist() == ["b", "b"] and np.isnan(out["tests"][("a", "b")]["f_p"][1])
    assert out["weight"]["b"][0] > 0.99 and out["delta_aic"][0] == pytest.approx(200 * np.log(100 / 90) - 2)


# ------------------------------------------------------------------ SECCM pixels
def test_seccm_right_model_chi_square_near_one_and_info_status(scans):
    ds, part, _ = scans["two"]
    two, _ = _fits(ds, part)
    q = seccm.fit_quality(two, ds)
    assert q["n_fitted"] == len(part) and q["n_structure"] == 0
    assert 0.8 < q["redchi_noise"] < 1.25 and q["r2"] > 0.999
    assert q["noise"] == pytest.approx(0.2e-12, rel=0.15)
    text, level = seccm.fit_status_text(two, ds)
    assert level == "info" and text.startswith(f"Fitted {len(part)} of {len(part)} pixels") and "not determined" \
        not in text
    summary = seccm.fit_summary(two, ds)
    assert (summary["n_determined"] == summary["n"]).all()
    c = seccm.pixel_fit_curve(two, ds, part[0])  # the fitted curve over the pixel's data
    assert c["fit"].shape == c["current"].shape and np.std(c["residual"]) == pytest.approx(0.2e-12, rel=0.2)
    with pytest.raises(ParameterError, match="no fit"):
        seccm.pixel_fit_curve(two, ds, int(np.flatnonzero(two.fit_status.values != "ok")[0]))


def test_seccm_wrong_model_and_noise_pixels_are_not_green(scans):
    ds, part, sub = scans["two"]
    _, one = _fits(ds, part)  # one couple fitted to two: structure in every pixel
    text, level = seccm.fit_status_text(one, ds)
    assert level == "warning" and f"the residuals have structure the model does not follow in {len(part)}" in text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NbtoolsWarning)
        noise = seccm.fit_pixels(ds, "CouplesCV1", sampling="average", pixels=sub, scheduler="sync")
    text, level = seccm.fit_status_text(noise, ds)  # carbon only: no couple to determine
    assert level == "warning" and re.search(r"kₛ[^;(]* not determined in \d", text), text
    counts = seccm.not_determined_counts(noise)
    assert counts["ks"] and noise.not_determined.sel(parameter="ks").values[sub].tolist().count("") < len(sub)
    assert np.isnan(seccm.fit_summary(noise, ds).loc["ks", "median"]) or \
        seccm.fit_summary(noise, ds).loc["ks", "n_determined"] < seccm.fit_summary(noise, ds).loc["ks", "n"]


@pytest.mark.parametrize("truth", ["two", "one"])
def test_aic_picks_the_true_number_of_couples(scans, truth):
    ds, part, _ = scans[truth]
    two, one = _fits(ds, part)
    table = seccm.compare_fits({"two couples": two, "one couple": one}, ds)
    want = "two couples" if truth == "two" else "one couple"
    assert len(table) >= 3 and (table["preferred_aic"] == want).mean() >= 0.8
    p = table["F test p: one couple vs two couples"]
    assert (p < 1e-3).all() if truth == "two" else (p > 0.01).mean() >= 0.8
    assert "special case" in seccm.comparison_text(table)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NbtoolsWarning)
        other = seccm.fit_pixels(ds, "CouplesCV1", sampling="average", pixels=part, window=(3.8, 4.3),
                                 scheduler="sync")
    with pytest.raises(ParameterError, match="different data"):
        seccm.compare_fits([two, other], ds)


# ------------------------------------------------------------------ the dashboard
def test_fit_map_panel_window_status_curve_and_comparison():
    from nbtools.widgets import FitMapPanel, PixelSelector

    ds, truth = seccm_scan(nx=5, ny=4, n_samples=300, seed=3, e_low=-0.9, e_high=-0.2, e0=(-0.55,), noise=0.2e-12,
                           **CLEAN)
    sel = PixelSelector(ds)
    panel = FitMapPanel(sel, recipe=seccm.PixelFitRecipe(model="CouplesCV1", sampling="average", max_pixels=4),
                        scheduler="sync")
    assert (panel.window.low.value, panel.window.high.value) == (-0.9, -0.2)  # the scan's range, not 3.7-4.4
    panel.window.use.value = True
    assert panel.recipe.window == (-0.9, -0.2)
    panel.window.use.value = False
    on = np.flatnonzero(truth["particle"][ds.iy.values, ds.ix.values] & (ds.status.values == "landed"))
    sel.select(on[:4])
    panel.pixels.value = "selection"
    panel.fit()
    status = _text(panel.status.value)
    assert "Fitted 4 of 4 pixels" in status and "not determined" not in status
    assert "Goodness of fit" in panel.table.value and "determined in" in panel.table.value
    assert {"fit: reduced χ² relative to noise", "fit: R²"} <= set(sel.options.customs)  # misfit on the map
    sel.show_map("fit: reduced χ² relative to noise")
    assert panel.curve.widget.layout.display is None and panel.curve.pixel.value == on[0]
    assert len(panel.curve.fit_source.data["y"]) == len(panel.curve.data_source.data["y"]) > 100
    assert "R²" in _text(panel.curve.caption.value)
    sel.select(on[2:3])  # the curve follows the selection
    assert panel.curve.pixel.value == on[2]
    panel.couples.value = 2
    panel.model.value = "CouplesCV"
    panel.fit()
    comp = _text(panel.comparison.value)
    assert "Model comparison" in comp and "AIC prefers CouplesCV1" in comp
    panel.model.value = "LavironCV"  # another data treatment: said, not compared
    panel.fit()
    assert "fitted to other data" in _text(panel.comparison.value)
    panel.window.use.value = True
    panel.window.low.value, panel.window.high.value = 3.7, 4.4  # the example's window on this scan
    panel.fit_button.click()
    assert "-0.9" in _text(panel.status.value) and "nbtools-error" in panel.status.value


def test_fit_panel_says_not_determined_and_compares_models():
    from nbtools.widgets import FitPanel

    y = butler_volmer(ETA, 1e-9, 0.5) + np.random.default_rng(7).normal(0, SIGMA, ETA.size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NbtoolsWarning)
        panel = FitPanel(ETA, y, "ButlerVolmerMT")
        panel.fit()  # no limiting current in these data
        assert "do not determine" in _text(panel.status.value) and "nbtools-warning" in panel.status.value
        panel.set_model("ButlerVolmer")
        panel.fit()
    assert "times the data's noise" in _text(panel.status.value)
    comp = _text(panel.comparison.value)
    assert "AIC prefers" in comp and "not needed" in comp


@pytest.mark.skipif(not REAL.exists(), reason="real WEC-SPM file not available")
def test_real_wecspm_scan_is_not_reported_as_plain_success():
    from nbtools.widgets import FitMapPanel, PixelSelector

    ds = seccm.load(REAL)
    sel = PixelSelector(ds)
    panel = FitMapPanel(sel, scheduler="sync")
    lo, hi = seccm.layout.potential_range(ds)
    assert panel.window.low.value <= lo and panel.window.high.value >= hi and panel.window.high.value < 0
    sel.select(np.arange(ds.sizes["pixel"]))
    panel.pixels.value = "selection"
    panel.model.value = "FrumkinCV"
    panel.fit()
    status = _text(panel.status.value)
    assert "Fitted 4 of 4 pixels" in status and "not determined in" in status and "nbtools-warning" in \
        panel.status.value
    assert "interaction parameter g not determined in" in status


def test_particle_on_a_stick_status_is_not_plain_success_when_a_step_fit_needs_checking():
    from nbtools.widgets import ParticleOnAStick

    data = Path(__file__).resolve().parents[1] / "data"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NbtoolsWarning)
        app = ParticleOnAStick(data, small=True)
    check = int((app.result["pitt"]["status"] != "ok").sum())
    status = _text(app.status.value)
    assert ("need checking" in status) == bool(check)
    assert ("nbtools-warning" in app.status.value) == bool(check)


@settings(max_examples=25, deadline=None)
@given(scale=st.floats(1e-15, 1e3), offset=st.floats(-1e3, 1e3), seed=st.integers(0, 10_000))
def test_goodness_is_scale_and_offset_free(scale, offset, seed):
    """Multiplying data and fit by any scale (fA or A) and adding any offset changes no verdict."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, 200)
    y, f = np.sin(5 * x) + rng.normal(0, 0.05, x.size), np.sin(5 * x)
    a = goodness(y, f, 1)
    b = goodness(y * scale + offset * scale, f * scale + offset * scale, 1)
    for key in ("r2", "redchi_noise", "resid_r1", "runs_p", "resid_structure"):
        assert b[key] == pytest.approx(a[key], rel=1e-6, abs=1e-9), key
    assert b["noise"] == pytest.approx(a["noise"] * scale, rel=1e-6)
