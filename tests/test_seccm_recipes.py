"""SECCM recipes: validation, JSON round trip, and every result reproduced from the recipe it carries."""

from __future__ import annotations

import ast
import inspect
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from nbtools import seccm
from nbtools.errors import NbtoolsWarning, ParameterError
from nbtools.recipes import from_json, kinds
from nbtools.seccm.recipe import (MAP_OPTIONS, AnalysisRecipe, ClassifyRecipe, MapRecipe, PixelFitRecipe,
                                  QualityRecipe)
from nbtools.simulate import seccm_scan

PKG = Path(seccm.__file__).resolve().parent


@pytest.fixture(scope="module")
def scan():
    return seccm_scan(nx=12, ny=10, n_samples=240, seed=7)


# ------------------------------------------------------------------ recipes themselves
def test_kinds_registered():
    k = kinds()
    for cls in (MapRecipe, QualityRecipe, ClassifyRecipe, PixelFitRecipe, AnalysisRecipe):
        assert k[cls.kind] is cls
    assert set(seccm.MAPS) == set(MAP_OPTIONS)


@pytest.mark.parametrize("cls, kw, words", [
    (MapRecipe, dict(map="charges"), "map must be one of"),
    (MapRecipe, dict(window=(4.0, 4.0)), "empty range"),
    (MapRecipe, dict(window="3.9-4.3"), "window must be a range"),
    (MapRecipe, dict(map="current_at"), "needs potential"),
    (MapRecipe, dict(map="onset", onset_current=0.0), "non-zero current threshold"),
    (MapRecipe, dict(branch="both"), "'current_at' only"),
    (MapRecipe, dict(cycle=True), "cycle must be a whole number"),
    (MapRecipe, dict(baseline="quadratic"), "baseline must be 'linear', 'none' or a current in A"),
    (MapRecipe, dict(smooth=0), "smooth must be >= 1"),
    (MapRecipe, dict(window=(3.9, 4.3), time_window=(0, 1)), "not both"),
    (QualityRecipe, dict(n_windows=2), "n_windows must be >= 5"),
    (QualityRecipe, dict(rail=-1e-9), "rail must be > 0"),
    (ClassifyRecipe, dict(activity="charges"), "found the string 'charges'"),
    (ClassifyRecipe, dict(threshold="mean"), "threshold must be"),
    (PixelFitRecipe, dict(model="PITTSphere"), "independent variable"),
    (PixelFitRecipe, dict(model="Nope"), "not a per-pixel voltammogram model"),
    (PixelFitRecipe, dict(couples=3), "couples must be one of"),
    (PixelFitRecipe, dict(model="FrumkinCV", sampling="average"), "no sampling option"),
    (PixelFitRecipe, dict(params={"k0": 1.0}), "unknown parameter"),
    (PixelFitRecipe, dict(params={"ks": {"value": 1, "step": 2}}), "unknown key"),
    (PixelFitRecipe, dict(pixels=[1, -2]), "must be >= 0"),
])
def test_bad_settings_name_the_setting(cls, kw, words):
    with pytest.raises(ParameterError, match=words):
        cls(**kw)


def test_normalisation():
    assert MapRecipe(window=[4.3, 3.9]).window == (3.9, 4.3)
    assert ClassifyRecipe(threshold=None).threshold == "auto"
    assert PixelFitRecipe(pixels=np.array([5, 1, 5])).pixels == (1, 5)
    a = AnalysisRecipe(map={"map": "current_at", "potential": 4.0}, fit=PixelFitRecipe(model="LavironCV"))
    assert isinstance(a.map, MapRecipe) and a.map.potential == 4.0 and a.fit.model == "LavironCV"
    assert a.changed() == {"map": {"map": "current_at", "potential": 4.0}, "fit": {"model": "LavironCV"}}
    assert set(a.describe()["part"]) == {"map", "classify", "fit"}
    assert a.with_part(ClassifyRecipe(window=(3.9, 4.2))).classify.window == (3.9, 4.2)


_windows = st.one_of(st.none(), st.tuples(st.floats(-5, 5), st.floats(1e-3, 2)).map(lambda t: (t[0], t[0] + t[1])))


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(sorted(MAP_OPTIONS)), window=_windows, cycle=st.one_of(st.none(), st.integers(-3, 3)),
       smooth=st.integers(1, 15), baseline=st.one_of(st.sampled_from(["linear", "none"]), st.floats(-1e-9, 1e-9)),
       potential=st.floats(-5, 5), level=st.floats(1e-15, 1e-6), direction=st.sampled_from(["anodic", "cathodic"]),
       prominence=st.one_of(st.none(), st.floats(0, 1e-9)))
def test_map_recipe_round_trips_json(name, window, cycle, smooth, baseline, potential, level, direction, prominence):
    r = MapRecipe(map=name, window=window, cycle=cycle, smooth=smooth, baseline=baseline, potential=potential,
                  onset_current=level, direction=direction, min_prominence=prominence)
    back = from_json(r.to_json())
    assert back == r and back.digest() == r.digest()


@settings(max_examples=40, deadline=None)
@given(activity=st.sampled_from(["charge", "peak_current", "given"]), window=_windows,
       threshold=st.one_of(st.sampled_from(["auto", "otsu"]), st.floats(-1e-9, 1e-9)), min_size=st.integers(1, 9),
       fill=st.booleans(), inc=st.booleans(), sep=st.one_of(st.none(), st.floats(0.1, 20)),
       dead=st.floats(0.1, 20), n_windows=st.integers(5, 50), rail=st.one_of(st.none(), st.floats(1e-12, 1e-6)))
def test_classify_and_quality_recipes_round_trip_json(activity, window, threshold, min_size, fill, inc, sep, dead,
                                                      n_windows, rail):
    c = ClassifyRecipe(activity=activity, window=window, threshold=threshold, min_size=min_size, fill_failed=fill,
                       include_failed=inc, min_separation=sep)
    q = QualityRecipe(min_evidence=dead, n_windows=n_windows, rail=rail, min_dead_fraction=min(dead / 20, 1.0))
    for r in (c, q):
        assert from_json(r.to_json()) == r


@settings(max_examples=30, deadline=None)
@given(model=st.sampled_from(["CouplesCV", "LavironCV", "FrumkinCV"]), couples=st.sampled_from([1, 2]),
       window=_windows, pixels=st.one_of(st.none(), st.lists(st.integers(0, 10_000), max_size=30)),
       fixed=st.floats(0.1, 0.9), lower=st.floats(-1e9, 0), mx=st.one_of(st.none(), st.integers(1, 500)))
def test_pixel_fit_and_analysis_recipes_round_trip_json(model, couples, window, pixels, fixed, lower, mx):
    params = {"alpha": {"value": fixed, "vary": False}, "v": {"value": 0.5, "min": lower, "max": float("inf")}}
    sampling = "average" if model != "FrumkinCV" else None
    f = PixelFitRecipe(model=model, couples=couples, sampling=sampling, window=window, params=params,
                       pixels=pixels, max_pixels=mx) if model != "FrumkinCV" else \
        PixelFitRecipe(model=model, window=window, params={"v": params["v"]}, pixels=pixels, max_pixels=mx)
    a = AnalysisRecipe(map=MapRecipe(map="current_at", potential=4.0), classify=ClassifyRecipe(window=window), fit=f)
    for r in (f, a):
        back = from_json(json.loads(json.dumps(r.to_dict())))
        assert back == r and back.digest() == r.digest()


# ------------------------------------------------------------------ results reproduce
@pytest.mark.parametrize("name", sorted(MAP_OPTIONS))
def test_every_map_reproduces_from_its_recipe(scan, name):
    ds, _ = scan
    r = seccm.MAPS[name].recipe(potential=4.05, onset_current=5e-12, window=None)
    m = seccm.make_map(ds, r)
    assert m.dims == ("y", "x") and m.attrs["recipe"] == r
    again = seccm.make_map(ds, from_json(m.attrs["recipe"].to_json()))
    xr.testing.assert_identical(again, m)


def test_map_functions_and_make_map_agree(scan):
    ds, _ = scan
    w = (3.9, 4.25)
    q = seccm.charge(ds, window=w, branch="cathodic")
    xr.testing.assert_identical(q, seccm.make_map(ds, map="charge", window=w, branch="cathodic"))
    xr.testing.assert_identical(seccm.charge(ds, q.attrs["recipe"]), q)
    pk = seccm.peak(ds, "cathodic", window=w)
    xr.testing.assert_identical(pk.current, seccm.make_map(ds, pk.current.attrs["recipe"]))
    assert pk.current.attrs["recipe"].map == "peak_current" and pk.attrs["recipe"].direction == "cathodic"
    xr.testing.assert_identical(seccm.current_at(ds, 4.0), seccm.current_at(ds, potential=4.0))
    xr.testing.assert_identical(seccm.onset(ds, 5e-12), seccm.make_map(ds, map="onset", onset_current=5e-12))


def test_settings_a_map_does_not_read_are_refused_or_ignored(scan):
    ds, _ = scan
    with pytest.raises(ParameterError, match="charge does not use \\['potential'\\]"):
        seccm.charge(ds, potential=4.0)
    base = seccm.make_map(ds, map="charge")
    other = seccm.make_map(ds, map="charge", potential=4.2, direction="cathodic", min_prominence=1e-12)
    np.testing.assert_array_equal(base.values, other.values)


def test_classify_reproduces_from_its_recipe(scan):
    ds, _ = scan
    m = seccm.classify(ds, window=(3.85, 4.1), min_size=3)
    assert m.attrs["recipe"] == ClassifyRecipe(window=(3.85, 4.1), min_size=3) and m.attrs["split"]
    xr.testing.assert_identical(seccm.classify(ds, from_json(m.attrs["recipe"].to_json())), m)
    q = seccm.charge(ds, window=(3.85, 4.1))
    given_ = seccm.classify(ds, q)
    assert given_.attrs["recipe"].activity == "given"
    xr.testing.assert_identical(seccm.classify(ds, given_.attrs["recipe"], activity=q), given_)
    with pytest.raises(ParameterError, match="activity='given'"):
        seccm.classify(ds, given_.attrs["recipe"])


def test_quality_and_labels_reproduce_from_their_recipe(scan):
    ds, _ = scan
    q = seccm.quality(ds, min_evidence=6.0, n_windows=12)
    assert q.attrs["recipe"] == QualityRecipe(min_evidence=6.0, n_windows=12)
    xr.testing.assert_identical(seccm.quality(ds, q.attrs["recipe"]), q)
    relabelled = seccm.label_landings(ds, q.attrs["recipe"])
    text = relabelled.status.attrs["recipe"]
    assert isinstance(text, str) and from_json(text) == q.attrs["recipe"]  # text: NetCDF-safe
    xr.testing.assert_identical(seccm.label_landings(ds, text), relabelled)
    np.testing.assert_array_equal(relabelled.status.values, q.status.values)


def test_quality_recipe_survives_save_and_load(scan, tmp_path):
    ds, _ = scan
    back = seccm.load(seccm.save(seccm.label_landings(ds, noisy_factor=5.0), tmp_path / "s.nc"))
    assert from_json(back.status.attrs["recipe"]) == QualityRecipe(noisy_factor=5.0)


def test_fit_reproduces_from_its_recipe_and_reports_progress(scan):
    ds, truth = scan
    mask = seccm.classify(ds)
    calls = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NbtoolsWarning)  # ks may be unidentifiable on some pixels
        f = seccm.fit_pixels(ds, pixels=mask, max_pixels=5, sampling="average", scheduler="sync",
                             progress=lambda done, total: calls.append((done, total)))
        r = f.attrs["recipe"]
        assert r.model == "CouplesCV" and r.max_pixels == 5 and r.pixels == tuple(np.flatnonzero(
            seccm.pixel_mask(ds, mask)))
        again = seccm.fit_pixels(ds, from_json(r.to_json()), scheduler="sync")
    for k in ("elapsed_s", "recipe"):
        f.attrs.pop(k), again.attrs.pop(k)
    xr.testing.assert_identical(again, f)
    assert calls[0] == (0, 5) and calls[-1] == (5, 5) and len(calls) >= 3
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:]))
    assert int((f.fit_status.values == "ok").sum()) + int(np.char.startswith(
        f.fit_status.values.astype(str), "failed").sum()) == 5
    summary = seccm.fit_summary(f, ds)
    assert {"Q1", "E01", "Q2", "E02", "ks", "alpha", "C"} <= set(summary.index) and summary.attrs["n_fitted"] == 5
    assert summary.loc["E01", "median"] == pytest.approx(4.0, abs=0.02)
    assert summary.attrs["failures"] == {"skipped: failed_landing": 1, "skipped: no_contact": 1, "skipped: noisy": 1}


def test_model_instances_become_names(scan):
    from nbtools.kinetics import LavironCVModel
    from nbtools.seccm.fitting import fit_recipe

    ds, _ = scan
    r, inst = fit_recipe(ds, seccm.CouplesCVModel(couples=1, sampling="average"))
    assert inst is None and (r.model, r.couples, r.sampling) == ("CouplesCV", 1, "average")
    r, inst = fit_recipe(ds, LavironCVModel(sampling="average"), params={"alpha": 0.5})
    assert inst is None and (r.model, r.sampling) == ("LavironCV", "average") and r.params == {"alpha": 0.5}


# ------------------------------------------------------------------ window: keyword-only, one check
def test_window_is_keyword_only_everywhere():
    for name in seccm.__all__:
        obj = getattr(seccm, name)
        if not callable(obj) or inspect.isclass(obj):
            continue
        try:
            sig = inspect.signature(obj)
        except (TypeError, ValueError):
            continue
        for p in sig.parameters.values():
            if "window" in p.name:
                assert p.kind == p.KEYWORD_ONLY, f"seccm.{name}: {p.name} is {p.kind.description}"


def test_positional_window_is_refused_with_the_fix(scan):
    ds, _ = scan
    with pytest.raises(ParameterError, match=r"window is keyword-only: window=\(E1, E2\)"):
        seccm.charge(ds, (3.9, 4.3))


@pytest.mark.parametrize("call", [
    lambda ds: seccm.charge(ds, window=(5.0, 6.0)),
    lambda ds: seccm.onset(ds, 1e-12, window=(0.0, 1.0)),
    lambda ds: seccm.classify(ds, window=(5.0, 6.0)),
    lambda ds: seccm.fit_pixels(ds, "FrumkinCV", window=(5.0, 6.0)),
    lambda ds: seccm.pixel_curve(ds, 0, window=(5.0, 6.0)),
])
def test_window_outside_the_scan_names_its_range(scan, call):
    ds, _ = scan
    with pytest.raises(ParameterError, match=r"does not overlap the scan's potentials \(3\.7 to 4\.4 V\)"):
        call(ds)


# ------------------------------------------------------------------ structure
def _imports(path):
    """Modules of nbtools.seccm imported by a module (anywhere in it, function bodies too)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names = [node.module] if node.module else [a.name for a in node.names]
            out.update(n.split(".")[0] for n in names)
    return out


def test_no_import_cycle_in_seccm():
    graph = {p.stem: _imports(p) & {q.stem for q in PKG.glob("*.py")} for p in PKG.glob("*.py")}
    graph.pop("__init__")
    state = {}

    def visit(node, path):
        state[node] = "active"
        for nxt in graph.get(node, ()):
            assert state.get(nxt) != "active", f"import cycle: {' -> '.join(path + [nxt])}"
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in graph:
        if node not in state:
            visit(node, [node])


def test_seccm_imports_no_simulate_and_no_private_names_of_other_packages():
    for p in PKG.glob("*.py"):
        if p.name == "cv_model.py":  # moves into nbtools.kinetics (issue 9, kinetics part)
            continue
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level >= 2:
                mod = node.module or ""
                assert not mod.startswith("simulate"), f"{p.name} imports nbtools.{mod}"
                assert not any(part.startswith("_") for part in mod.split(".")), f"{p.name} imports {mod}"
                assert not any(a.name.startswith("_") for a in node.names), f"{p.name}: {ast.unparse(node)}"


def test_from_arrays_takes_quality_settings_or_a_recipe(scan):
    ds, _ = scan
    args = (ds.current.values, ds.potential.values, ds.x.values, ds.y.values)
    a = seccm.from_arrays(*args, time=ds.time.values, quality_options={"noisy_factor": 5.0})
    b = seccm.from_arrays(*args, time=ds.time.values, quality_options=QualityRecipe(noisy_factor=5.0))
    assert from_json(a.status.attrs["recipe"]) == QualityRecipe(noisy_factor=5.0)
    xr.testing.assert_identical(a, b)
