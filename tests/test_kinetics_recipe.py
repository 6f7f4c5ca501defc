"""FitRecipe and StickRecipe: validation, JSON round trips, and results that reproduce from their recipe."""

from __future__ import annotations

import json
import math
import warnings

import lmfit
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbtools import kinetics
from nbtools.batch import fit_many
from nbtools.errors import DataError, ParameterError
from nbtools.kinetics import MODELS, FitRecipe, StickRecipe, butler_volmer, fit, pitt_sphere
from nbtools.recipes import from_json, kinds

ETA = np.linspace(-0.15, 0.15, 161)


def _bv(seed=0, i0=2e-9, alpha=0.4):
    return butler_volmer(ETA, i0, alpha) + 2e-11 * np.random.default_rng(seed).normal(size=ETA.size)


def _same(a, b):
    assert list(a.params) == list(b.params)
    for name in a.params:
        assert a.params[name].value == b.params[name].value, name
        assert a.params[name].stderr == b.params[name].stderr, name


def test_kinds_are_registered():
    assert kinds()["kinetics.fit"] is FitRecipe and kinds()["stick.workflow"] is StickRecipe


def test_defaults_and_normalisation():
    r = FitRecipe(model="LavironCV", params={"v": 0.01, "alpha": {"min": "0.3", "max": None}}, conf="profile")
    assert r.params == {"v": {"value": 0.01}, "alpha": {"min": 0.3, "max": math.inf}}
    assert r.conf == "conf_interval" and r.guess and r.level == 0.95 and r.seed == 0
    assert FitRecipe().model is None and FitRecipe().changed() == {}
    assert r.varying() == ["Q", "E0", "ks", "alpha"]
    assert r.make_model().entry_name == "LavironCV"


@pytest.mark.parametrize("kw, words", [
    (dict(model="ButlerVolmr"), "not in nbtools.kinetics.MODELS"),
    (dict(model="ButlerVolmer", params={"k0": 1.0}), "unknown parameter 'k0'"),
    (dict(model="ButlerVolmer", params={"alpha": {"min": 0.9, "max": 0.2}}), "swap the bounds"),
    (dict(model="ButlerVolmer", params={"alpha": {"value": 0.99, "max": 0.9}}), "outside its bounds"),
    (dict(model="ButlerVolmer", params={"alpha": {"start": 0.5}}), "unknown key"),
    (dict(model="ButlerVolmer", params={"alpha": "half"}), "must be a number"),
    (dict(model="PITTSphere", options={"radius": 2e-7}, params={"D": 1e-14}), "derived"),
    (dict(model="PITTSphere", options={"diameter": 1e-6}), "not options of PITTSphere"),
    (dict(model="PITTSphere", options={"biot": True}), "choose model='PITTSphereBiot'"),
    (dict(model="LavironCV", options={"sampling": "mean"}), "sampling"),
    (dict(model="LavironCV", window=(3.9, 4.1)), "time order"),
    (dict(options={"radius": 1e-6}), "need a model name"),
    (dict(conf="jackknife"), "conf must be one of"),
    (dict(level=1.0), "level must be"),
    (dict(window=(1, 1)), "empty range"),
    (dict(method="newton"), "method must be one of"),
    (dict(weights="poisson"), "weights must be one of"),
])
def test_bad_settings_name_the_setting(kw, words):
    with pytest.raises(ParameterError, match=words):
        FitRecipe(**kw)


def test_fit_carries_its_recipe_and_reproduces():
    y = _bv()
    res = fit("ButlerVolmer", ETA, y, params={"alpha": {"min": 0.2, "max": 0.8}}, level=0.9)
    assert isinstance(res.recipe, FitRecipe) and res.recipe.model == "ButlerVolmer" and res.recipe.level == 0.9
    assert res.ci["level"].iloc[0] == 0.9
    again = fit(res.recipe, ETA, y)
    _same(res, again)
    back = from_json(res.recipe.to_json())
    assert back == res.recipe
    _same(res, fit("ButlerVolmer", ETA, y, recipe=back))
    with pytest.raises(ParameterError, match="once"):
        fit(res.recipe, ETA, y, recipe=back)


def test_recipe_settings_reach_the_fit():
    y = _bv(1)
    r = FitRecipe(model="Tafel", window=(0.12, 0.15), conf="bootstrap", n_boot=30, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one Tafel branch: i0 and alpha correlated
        res = fit(r, ETA, y)
        again = fit(r, ETA, y)
    assert res.ndata == int(np.sum(ETA >= 0.12)) and res.ci["method"].iloc[0] == "bootstrap"
    np.testing.assert_array_equal(res.ci["lower"], again.ci["lower"])  # seeded bootstrap
    assert res.params["alpha"].value == pytest.approx(0.4, rel=0.03)
    with pytest.raises(DataError, match="keeps 0 points"):
        fit(r.replace(window=(1.0, 2.0)), ETA, y)


def test_weights_are_recorded_and_required_again():
    y = _bv(2)
    w = np.full(ETA.size, 1 / 2e-11)
    res = fit("ButlerVolmer", ETA, y, weights=w)
    assert res.recipe.weights == "given"
    _same(res, fit(res.recipe, ETA, y, weights=w))
    with pytest.raises(DataError, match="pass weights="):
        fit(res.recipe, ETA, y)


def test_model_options_and_parameters_go_into_the_recipe():
    t = np.linspace(0.05, 40, 300)
    y = pitt_sphere(t, 3e-12, 25.0) + 2e-15 * np.random.default_rng(4).normal(size=t.size)
    model = MODELS["PITTSphere"].make_model(radius=2e-7)
    res = fit(model, t, y)
    assert res.recipe.options == {"radius": 2e-7} and "D" in res.params
    _same(res, fit(res.recipe, t, y))
    pars = MODELS["PITTSphere"].make_params(Q=2e-12, tau=20.0)
    res2 = fit("PITTSphere", t, y, pars)  # lmfit.Parameters: used as given, no guess
    assert res2.recipe.guess is False and res2.recipe.params["tau"]["value"] == 20.0
    _same(res2, fit(res2.recipe, t, y))


def test_foreign_model_keeps_its_settings():
    x = np.linspace(0, 1, 50)
    y = 2.0 * x + 0.5 + 0.01 * np.random.default_rng(5).normal(size=x.size)
    res = fit(lmfit.models.LinearModel(), x, y)
    assert res.recipe.model is None and res.params["slope"].value == pytest.approx(2.0, rel=0.02)
    with pytest.raises(ParameterError, match="names no model"):
        fit(res.recipe, x, y)
    _same(res, fit(lmfit.models.LinearModel(), x, y, recipe=res.recipe))


def test_fit_many_takes_and_carries_the_recipe():
    rng = np.random.default_rng(6)
    Y = np.array([butler_volmer(ETA, i0, 0.5) for i0 in (1e-9, 2e-9, 4e-9)])
    Y += rng.normal(0, 2e-12, Y.shape)
    for engine in ("fast", "lmfit"):
        df = fit_many("ButlerVolmer", ETA, Y, window=(-0.1, 0.1), scheduler="sync", engine=engine)
        rec = df.attrs["recipe"]
        assert isinstance(rec, FitRecipe) and rec.window == (-0.1, 0.1) and rec.nan_policy == "omit"
        again = fit_many(from_json(rec.to_json()), ETA, Y, scheduler="sync", engine=engine)
        np.testing.assert_array_equal(df[["i0", "alpha", "i0_stderr"]], again[["i0", "alpha", "i0_stderr"]])
        one = fit(rec, ETA, Y[1])
        assert one.params["i0"].value == pytest.approx(df.loc[1, "i0"], rel=1e-4)
    slow = fit_many(FitRecipe(model="ButlerVolmer", method="least_squares"), ETA, Y, scheduler="sync")
    assert slow.attrs["engine"] == "lmfit" and (slow.status != "failed").all()


def test_start_params_and_recipe_edits():
    y = _bv(7)
    r = FitRecipe(model="ButlerVolmer", params={"alpha": {"min": 0.3, "max": 0.6}})
    start = kinetics.start_params(r, ETA, y)
    assert 0.3 < start["alpha"].value < 0.6 and start["alpha"].min == 0.3
    r2 = r.with_values({"i0": 1e-9})
    assert r2.params["i0"] == {"value": 1e-9} and r2.params["alpha"]["max"] == 0.6
    assert r2.reset_starts().params == {"alpha": {"min": 0.3, "max": 0.6}}
    cv = r.for_model("LavironCV", params={"v": 0.01, "i0": 1.0})
    assert cv.params == {"v": {"value": 0.01}} and cv.window is None
    def line(x, a=1.0):
        return a * x

    with pytest.raises(DataError, match="could not estimate"):  # an lmfit model without a guess
        kinetics.start_params(FitRecipe(), ETA, y, model=lmfit.Model(line), require_guess=True)


def test_export_is_a_recipe_file(tmp_path):
    y = _bv(8)
    res = fit("ButlerVolmer", ETA, y)
    paths = kinetics.export_fit(res, tmp_path, "bv")
    assert [p.name for p in paths] == ["bv_report.txt", "bv_fit.json", "bv_curve.csv"]
    saved = json.loads(paths[1].read_text())
    assert saved["result"]["params"]["alpha"]["value"] == res.params["alpha"].value
    assert from_json(paths[1]) == res.recipe
    _same(res, kinetics.refit(ETA, y, paths[1]))
    assert "nbtools fit report: ButlerVolmer" in paths[0].read_text()
    table = kinetics.parameter_table(res)
    assert table.loc["T", "vary"] == False and np.isnan(table.loc["T", "lower"])  # noqa: E712
    assert table.attrs["level"] == 0.95


# --------------------------------------------------------------------------- properties
_names = st.sampled_from(sorted(MODELS))


@st.composite
def fit_recipes(draw):
    name = draw(_names)
    entry = MODELS[name]
    params = {}
    for p in draw(st.lists(st.sampled_from(sorted(entry.params)), unique=True, max_size=3)):
        info = entry.params[p]
        lo = info.min if math.isfinite(info.min) else info.value - 1e3
        hi = info.max if math.isfinite(info.max) else info.value + 1e3
        value = draw(st.floats(lo, hi, allow_nan=False))
        params[p] = draw(st.sampled_from([value, {"value": value, "vary": draw(st.booleans())},
                                          {"min": info.min, "max": info.max}]))
    window = None
    if entry.x_order != "time-order" and draw(st.booleans()):
        a = draw(st.floats(-1e3, 1e3))
        window = (a, a + draw(st.floats(1e-3, 1e3)))
    return FitRecipe(model=name, params=params, window=window, guess=draw(st.booleans()),
                     conf=draw(st.sampled_from(["stderr", "profile", "bootstrap", None])),
                     level=draw(st.floats(0.5, 0.999)), n_boot=draw(st.integers(2, 500)),
                     seed=draw(st.one_of(st.none(), st.integers(0, 2**31))),
                     nan_policy=draw(st.sampled_from(["raise", "omit"])),
                     max_nfev=draw(st.one_of(st.none(), st.integers(1, 10_000))))


@settings(max_examples=80, deadline=None)
@given(r=fit_recipes())
def test_property_fit_recipe_json_round_trip(r):
    back = from_json(r.to_json())
    assert back == r and back.digest() == r.digest() and FitRecipe.coerce(r.to_dict()) == r


@settings(max_examples=40, deadline=None)
@given(material=st.sampled_from(["LiMn2O4", "LiCoO2", "LiFePO4"]), conversion=st.floats(0.01, 1.0),
       smooth=st.floats(0, 0.05), fraction=st.one_of(st.none(), st.floats(0.1, 0.95)),
       nth=st.integers(1, 4), model=st.sampled_from(["PITTSphereBiot", "PITTSphere"]))
def test_property_stick_recipe_json_round_trip(material, conversion, smooth, fraction, nth, model):
    r = StickRecipe(material=material, conversion=conversion, smooth=smooth, peak_fraction=fraction,
                    every_nth_step=nth, pitt_model=model)
    assert from_json(r.to_json()) == r


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**16), i0=st.floats(1e-10, 1e-8), alpha=st.floats(0.3, 0.7),
       lo=st.floats(-0.15, -0.05), conf=st.sampled_from(["stderr", "profile"]))
def test_property_fit_reproduces_from_its_recipe(seed, i0, alpha, lo, conf):
    y = _bv(seed, i0, alpha)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit("ButlerVolmer", ETA, y, window=(lo, 0.15), conf=conf)
        again = fit(from_json(res.recipe.to_json()), ETA, y)
    _same(res, again)
    np.testing.assert_array_equal(res.ci.to_numpy(), again.ci.to_numpy())
