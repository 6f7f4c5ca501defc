"""Studies without a cluster: inputs, blanks, labels, storage, statistics, and runs in this process
('sync') whose results must equal the single-file API called file by file."""

from __future__ import annotations

import json
import os
import re
import shutil
import time

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st
from study_helpers import DATA, FS, impact_folder

from nbtools.errors import DataError, MissingFileError, ParameterError
from nbtools.impact import EventRecipe, find_events
from nbtools.io import load_trace
from nbtools.study import (Study, bootstrap_ci, compare_groups, condition_table, describe_groups, find_units,
                           fingerprint, loglog_slope, proportional_fit, run)
from nbtools.study.inputs import same_input
from nbtools.study.store import atomic_write, read_table, remove_partial, table_units, write_table

OPTIONS = {"fs": FS}  # the .npy recordings store no sampling rate


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return impact_folder(tmp_path_factory.mktemp("impact_in"))


@pytest.fixture(scope="module")
def study(folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("impact_out") / "study"
    return run(EventRecipe(threshold=6), folder, out=out, scheduler="sync", options=OPTIONS, progress=False)


# ------------------------------------------------------------------ inputs and labels
def test_units_blanks_and_other_kinds(folder):
    units, notes = find_units(folder, "impact")
    names = sorted(u.name for u in units)
    assert names == ["10pM/rec_a.npz", "10pM/rec_b.csv", "10pM/rec_c.npy", "20pM/broken.npz", "20pM/rec_a.npz",
                     "20pM/rec_b.csv", "20pM/rec_c.npy"]
    for u in units:  # each recording takes the blank of its own folder
        assert u.blank == str(folder / u.folder / "blank.npz")
    assert notes["other_kind"] == [str(folder / "10pM" / "particle_cv_1mVs.csv")]
    assert sorted(notes["blanks"]) == sorted(str(folder / c / "blank.npz") for c in ("10pM", "20pM"))
    one, _ = find_units(folder, "impact", blank=folder / "10pM" / "blank.npz")
    assert {u.blank for u in one} == {str(folder / "10pM" / "blank.npz")}
    none, notes = find_units(folder, "impact", blanks=None)
    assert all(u.blank is None for u in none) and len(notes["unpaired"]) == 7
    mapped, _ = find_units(folder, "impact", blanks={"*rec_a*": "10pM/blank.npz"})
    assert {u.name: u.blank for u in mapped}["20pM/rec_a.npz"] == str(folder / "10pM" / "blank.npz")
    assert {u.name: u.blank for u in mapped}["20pM/rec_b.csv"] is None
    assert len({u.id for u in units}) == len(units)  # same file names in two folders: distinct outputs


def test_inputs_globs_and_errors(folder):
    units, _ = find_units(str(folder / "*" / "rec_a.npz"), "impact")
    assert sorted(u.name for u in units) == ["rec_a.npz", "rec_a.npz"] and len({u.path for u in units}) == 2
    with pytest.raises(MissingFileError, match="matches no file"):
        find_units(str(folder / "*.abf"), "impact")
    with pytest.raises(MissingFileError, match="not a file, a folder"):
        find_units(folder / "nothing_here", "impact")


def test_condition_labels_from_folders_and_a_table(folder, tmp_path):
    units, _ = find_units(folder, "impact")
    labels, units_of, missing = condition_table(units, "folders")
    by_name = {u.name: labels.loc[u.id] for u in units}
    assert by_name["10pM/rec_a.npz"]["condition"] == "10pM"
    assert by_name["20pM/rec_b.csv"]["concentration"] == pytest.approx(2e-8)  # 20 pM = 2e-8 mol/m^3
    assert units_of["concentration"] == "mol/m3" and not missing
    csv = tmp_path / "conditions.csv"
    csv.write_text("file,concentration / nM,electrode\n10pM/rec_a.npz,0.5,Pt\n*rec_b*,2,Au\n", encoding="utf-8")
    labels, units_of, missing = condition_table(units, csv)
    by_name = {u.name: labels.loc[u.id] for u in units}
    assert by_name["10pM/rec_a.npz"]["concentration"] == pytest.approx(5e-7)
    assert by_name["20pM/rec_b.csv"]["electrode"] == "Au" and by_name["20pM/rec_b.csv"]["condition"] == "2 nM Au"
    assert by_name["10pM/rec_c.npy"]["condition"] == "10pM"  # not in the table: its folder's label
    assert "10pM/rec_c.npy" in missing
    bad = tmp_path / "bad.csv"
    bad.write_text("name,concentration\nx,1\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="'file' column"):
        condition_table(units, bad)


# ------------------------------------------------------------------ storage
def test_fingerprints_and_same_input(tmp_path):
    p = tmp_path / "x.bin"
    p.write_bytes(b"abc" * 1000)
    fp = fingerprint(p)
    assert fp["method"] == "sha256" and fp["size"] == 3000 and len(fp["sha256"]) == 64
    assert fingerprint(p, hash_limit=100)["method"] == "size+mtime"
    os.utime(p, ns=(fp["mtime_ns"] + 5_000_000_000,) * 2)  # touched, same content: still the same input
    assert same_input(fp, p)
    p.write_bytes(b"abd" * 1000)
    assert not same_input(fp, p)
    big = fingerprint(p, hash_limit=100)
    os.utime(p, ns=(big["mtime_ns"] + 1,) * 2)  # identified by size and time only: a new time is a change
    assert not same_input(big, p)


def test_atomic_write_leaves_no_half_file(tmp_path):
    target = tmp_path / "t.csv"

    def broken(tmp):
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write(target, broken)
    assert not target.exists() and list(tmp_path.iterdir()) == []
    (tmp_path / ".left.csv.1234.part").write_text("x")  # what a killed run leaves
    assert remove_partial(tmp_path) == 1 and list(tmp_path.iterdir()) == []


def test_tables_carry_units(tmp_path):
    df = pd.DataFrame({"charge": [1e-13, 2e-13], "n": [1, 2], "note": ["a", None], "info": [{"k": 1}, None]})
    write_table(df, tmp_path / "t", units={"charge": "C"}, meta={"recipe": {"recipe": "x"}})
    assert (tmp_path / "t.csv").read_text().splitlines()[0] == "charge / C,n,note,info"
    back = read_table(tmp_path / "t")
    assert back["charge"].tolist() == df["charge"].tolist() and back.attrs["units"] == {"charge": "C"}
    assert back.attrs["recipe"] == {"recipe": "x"} and table_units(tmp_path / "t") == {"charge": "C"}


# ------------------------------------------------------------------ statistics
def test_median_interval_is_the_bootstrap_distribution():
    rng = np.random.default_rng(3)
    x = rng.lognormal(0, 1, 41)
    exact = bootstrap_ci(x, "median")
    boots = np.median(x[rng.integers(0, x.size, (20000, x.size))], axis=1)
    lo, hi = np.quantile(boots, [0.025, 0.975])
    srt = np.sort(x)  # the interval ends are order statistics next to the resampled quantiles
    assert abs(np.searchsorted(srt, exact["low"]) - np.searchsorted(srt, lo)) <= 1
    assert abs(np.searchsorted(srt, exact["high"]) - np.searchsorted(srt, hi)) <= 1


def test_bootstrap_intervals_cover_the_truth():
    rng = np.random.default_rng(7)
    hits_med = hits_mean = 0
    for _ in range(200):
        x = rng.normal(10.0, 2.0, 60)
        m = bootstrap_ci(x, "median")
        a = bootstrap_ci(x, "mean", n_boot=400, seed=1)
        hits_med += m["low"] <= 10.0 <= m["high"]
        hits_mean += a["low"] <= 10.0 <= a["high"]
    assert 0.88 <= hits_med / 200 <= 0.995 and 0.88 <= hits_mean / 200 <= 0.99
    assert bootstrap_ci([], "median")["n"] == 0
    with pytest.raises(ParameterError, match="conf"):
        bootstrap_ci([1, 2, 3], conf=95)


def test_compare_groups_finds_a_shift_and_its_size():
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"radius": np.r_[rng.lognormal(np.log(20e-9), 0.3, 80), rng.lognormal(np.log(30e-9), 0.3, 80),
                                       rng.lognormal(np.log(20e-9), 0.3, 80)],
                       "condition": ["a"] * 80 + ["b"] * 80 + ["c"] * 80})
    overall, pairs = compare_groups(df, "radius")
    assert overall["test"] == "Kruskal-Wallis" and overall["p"] < 1e-6 and overall["k"] == 3
    ab = pairs[(pairs["a"] == "a") & (pairs["b"] == "b")].iloc[0]
    ac = pairs[(pairs["a"] == "a") & (pairs["b"] == "c")].iloc[0]
    assert ab["cliffs_delta"] < -0.5 and ab["magnitude"] == "large" and ab["p_holm"] < 1e-6
    assert abs(ac["cliffs_delta"]) < 0.25 and ac["p_holm"] > 0.05
    u = st.mannwhitneyu(df.radius[:80], df.radius[80:160]).statistic
    assert ab["cliffs_delta"] == pytest.approx(2 * u / 6400 - 1)
    two, _ = compare_groups(df[df.condition != "c"], "radius")
    assert two["test"] == "Mann-Whitney U" and two["effect_name"] == "Cliff's delta"
    one, _ = compare_groups(df[df.condition == "a"], "radius")
    assert "nothing to compare" in one["note"]
    d = describe_groups(df, ["radius"])
    assert d["group"].tolist() == ["all", "a", "b", "c"] and (d["median_low"] <= d["median"]).all()


def test_frequency_proportional_to_concentration():
    rng = np.random.default_rng(11)
    c = np.repeat([1e-9, 2e-9, 5e-9, 1e-8], 5)
    T = rng.uniform(50, 150, c.size)
    k = 3e8  # (1/s) per (mol/m^3)
    n = rng.poisson(k * c * T)
    res = proportional_fit(n, T, c)
    assert res["k_low"] <= k <= res["k_high"] and res["k"] == pytest.approx(n.sum() / np.sum(c * T))
    assert res["slope_low"] <= 1.0 <= res["slope_high"] and res["p_fit"] > 0.01
    assert len(res["table"]) == 4
    bent = proportional_fit(rng.poisson(k * 1e-9 * (c / 1e-9) ** 0.5 * T), T, c)  # f ~ sqrt(c): not proportional
    assert bent["slope_high"] < 0.8 and bent["p_fit"] < 1e-3


def test_loglog_slope_recovers_an_exponent():
    rng = np.random.default_rng(2)
    r = rng.lognormal(np.log(20e-9), 0.4, 300)
    q = 3.0e9 * r**3 * rng.lognormal(0, 0.2, r.size)
    res = loglog_slope(r, q)
    assert res["slope_low"] <= 3.0 <= res["slope_high"] and res["n"] == 300 and res["spearman"] > 0.9
    assert np.isnan(loglog_slope([1, 2], [1, 2])["slope"])


# ------------------------------------------------------------------ a study in this process
def test_study_files_statuses_and_labels(study, folder):
    f = study.files.set_index("name")
    assert len(f) == 7 and study.counts()["failed"] == 1
    assert f.loc["20pM/broken.npz", "status"] == "failed"
    assert f.loc["20pM/broken.npz", "message"].startswith("FormatError:") and "broken.npz" in f.loc[
        "20pM/broken.npz", "message"]
    assert (f.drop("20pM/broken.npz")["status"] != "failed").all()
    assert f.loc["10pM/rec_a.npz", "concentration"] == pytest.approx(1e-8)
    assert f.loc["10pM/rec_a.npz", "blank"] == str(folder / "10pM" / "blank.npz")
    assert np.isfinite(f.drop("20pM/broken.npz")["blank_false_per_s"]).all()
    m = json.loads((study.out / "study.json").read_text())
    assert m["counts"]["files"] == 7 and m["recipe"]["recipe"] == "impact.events"
    assert m["other_kind"] == [str(folder / "10pM" / "particle_cv_1mVs.csv")]


def test_study_equals_the_single_file_api(study):
    recipe = EventRecipe(threshold=6)
    for _, row in study.files[study.files["status"] != "failed"].iterrows():
        ev = find_events(load_trace(row["file"], **({"fs": FS} if row["file"].endswith(".npy") else {})), recipe)
        got = study.tables(row["file"])["events"]
        pd.testing.assert_frame_equal(got[list(ev.columns)], ev.reset_index(drop=True), check_exact=True)
        assert row["n_events"] == len(ev) and row["threshold_A"] == ev.attrs["threshold_A"]
        assert study.recipe_for(row["file"]) == ev.attrs["recipe"]
    pop = study.population
    assert len(pop) == int(study.files["n_events"].sum())
    assert set(pop["condition"]) == {"10pM", "20pM"} and (pop["quality"] == "ok").all()


def test_one_worker_runs_in_this_process(folder, tmp_path):
    """``workers=1`` with no scheduler is this process (no cluster to start): same tables as 'sync'."""
    import os
    import socket

    study = run(EventRecipe(threshold=6), folder / "10pM", out=tmp_path / "one", workers=1, options=OPTIONS,
                progress=False)
    ran = {json.loads((study.out / "files" / u / "result.json").read_text())["worker"] for u in study.files["unit"]}
    assert ran == {f"{socket.gethostname()}:{os.getpid()}"}
    sync = run(EventRecipe(threshold=6), folder / "10pM", out=tmp_path / "sync", scheduler="sync", options=OPTIONS,
               progress=False)
    cols = ["name", "status", "n_events", "threshold_A", "noise"]
    pd.testing.assert_frame_equal(study.files[cols], sync.files[cols])


def test_study_outputs_have_units_and_a_report(study):
    out = study.out
    head = (out / "population.csv").read_text().splitlines()[0].split(",")
    assert "charge / C" in head and "radius / m" in head and "concentration / mol/m3" in head
    assert table_units(out / "population")["t_peak"] == "s"
    assert table_units(out / "files")["frequency"] == "1/s"
    html = study.report.read_text(encoding="utf-8")
    assert "Bokeh" in html and not re.search(r"<(script|link)[^>]*(src|href)=", html)  # BokehJS inline: offline
    assert "20pM/broken.npz" in html and "Mann-Whitney" in html
    stats = study.statistics
    assert set(stats["distributions"]["group"]) == {"all", "10pM", "20pM"}
    assert stats["frequency"]["n_concentrations"] == 2 and stats["frequency"]["k"] > 0
    again = Study.open(out)
    def plain(df):  # missing values alike (NaN, None, pd.NA)
        return df.astype(object).where(df.notna(), None)

    pd.testing.assert_frame_equal(plain(again.files), plain(study.files), check_dtype=False)
    assert len(again.population) == len(study.population)


def test_rerun_reuses_and_recomputes_what_changed(study, folder, tmp_path):
    src = tmp_path / "in"
    shutil.copytree(folder, src)
    out = tmp_path / "out"
    kw = dict(out=out, scheduler="sync", options=OPTIONS, progress=False, report=False)
    first = run(EventRecipe(threshold=6), src, **kw)
    t0 = time.perf_counter()
    second = run(EventRecipe(threshold=6), src, **kw)
    assert time.perf_counter() - t0 < 5 and second.counts()["computed"] == 0 and second.files["reused"].all()
    assert second.counts()["reused"] == 7 and Study.open(out).files["reused"].all()
    os.utime(src / "10pM" / "rec_a.npz")  # touched, same content (SHA-256): still reused
    third = run(EventRecipe(threshold=6), src, **kw)
    assert third.counts()["computed"] == 0 and third.counts()["reused"] == 7
    np.savez(src / "10pM" / "rec_b.npz", current=np.zeros(10), fs=FS)  # a new file (too short: fails)
    shutil.copy(src / "20pM" / "rec_a.npz", src / "10pM" / "rec_a.npz")  # changed content
    fourth = run(EventRecipe(threshold=6), src, **kw)
    f = fourth.files.set_index("name")
    assert not f.loc["10pM/rec_a.npz", "reused"] and not f.loc["10pM/rec_b.npz", "reused"]
    assert f.loc["10pM/rec_b.npz", "status"] == "failed" and f.drop(["10pM/rec_a.npz", "10pM/rec_b.npz"])[
        "reused"].all()
    assert fourth.counts()["computed"] == 2
    fifth = run(EventRecipe(threshold=7), src, **kw)  # another recipe: everything again
    assert fifth.counts()["computed"] == 8 and first.recipe.digest() != fifth.recipe.digest()
    forced = run(EventRecipe(threshold=7), src, force=True, **kw)
    assert forced.counts()["computed"] == 8


def test_recipe_with_a_blank_detects_with_each_folders_blank(folder, tmp_path):
    saved = EventRecipe(threshold=6).replace(blank=str(DATA / "impact_blank.npz"))  # as the dashboard saves it
    path = tmp_path / "nanoimpact_recipe.json"
    saved.to_json(path)
    s = run(path, [folder / "10pM" / "rec_a.npz", folder / "20pM" / "rec_a.npz"], out=tmp_path / "out",
            scheduler="sync", progress=False)  # files given one by one: the blanks beside them
    assert s.files["blank"].tolist() == [str(folder / c / "blank.npz") for c in ("10pM", "20pM")]
    for _, row in s.files.iterrows():
        ev = find_events(load_trace(row["file"]), saved.replace(blank=row["blank"]))
        got = s.tables(row["file"])["events"]
        pd.testing.assert_frame_equal(got[list(ev.columns)], ev.reset_index(drop=True), check_exact=True)
        # the blank counts false events; the noise stays the recording's own
        assert row["noise"] == ev.attrs["noise"] and row["blank_count"] >= 0 and row["blank_duration"] > 0


def test_study_refuses_bad_arguments(folder, tmp_path):
    (tmp_path / "mine.txt").write_text("my data")
    with pytest.raises(ParameterError, match="not empty and holds no study"):
        run(EventRecipe(), folder, out=tmp_path, scheduler="sync", progress=False)
    with pytest.raises(ParameterError, match="study runs a nanoimpact"):
        from nbtools.seccm import QualityRecipe

        run(QualityRecipe(), folder, out=tmp_path / "o", scheduler="sync", progress=False)
    with pytest.raises(DataError, match="no impact input"):
        run(EventRecipe(), str(folder / "*" / "blank.npz"), out=tmp_path / "o2", scheduler="sync", progress=False)


# ------------------------------------------------------------------ SECCM and particle on a stick
def test_seccm_study_equals_the_single_file_api(tmp_path):
    from nbtools.seccm import AnalysisRecipe, classify, fit_pixels, from_grid, load, make_map

    src = tmp_path / "scans"
    src.mkdir()
    shutil.copy(DATA / "seccm_example.nc", src / "scan1.nc")
    recipe = AnalysisRecipe().replace(fit=AnalysisRecipe().fit.replace(max_pixels=6))
    s = run(recipe, src, out=tmp_path / "out", scheduler="sync", progress=False)
    row = s.files.iloc[0]
    assert row["status"] in ("ok", "warning") and row["n_particles"] > 0
    ds = load(src / "scan1.nc")
    t = s.tables(row["file"])
    m = make_map(ds, recipe.map)
    np.testing.assert_array_equal(t["pixels"]["charge"].to_numpy(), from_grid(m, ds).values)
    mask = classify(ds, recipe.classify)
    assert int((t["pixels"]["particle"] > 0).sum()) == int(mask.values[ds.iy.values, ds.ix.values].sum())
    with pytest.warns(Warning):
        fits = fit_pixels(ds, s.recipe_for(row["file"]).fit)
    np.testing.assert_array_equal(t["pixels"]["ks"].to_numpy(), from_grid(fits["ks"], ds).values)
    parts = t["particles"]
    assert len(parts) == row["n_particles"] == len(s.population)
    px = t["pixels"]
    one = parts.iloc[0]
    sel = px[px["particle"] == one["particle"]]
    assert one["charge"] == pytest.approx(sel["charge"].sum()) and one["n_pixels"] == len(sel)
    assert one["radius"] == pytest.approx(np.sqrt(one["area"] / np.pi))


def test_stick_study_equals_analyse_particle(tmp_path):
    from nbtools.kinetics import StickRecipe
    from nbtools.stick import analyse_particle, load_cv_series, read_curve_csv

    p = tmp_path / "particles" / "p1"
    p.mkdir(parents=True)
    for f in DATA.glob("particle_*.csv"):
        shutil.copy(f, p / f.name)
    recipe = StickRecipe(every_nth_step=2)
    s = run(recipe, tmp_path / "particles", out=tmp_path / "out", scheduler="sync", progress=False)
    row = s.population.iloc[0]
    ref = analyse_particle(load_cv_series(sorted(p.glob("particle_cv_*.csv"))), read_curve_csv(p / "particle_pitt.csv"),
                           recipe)
    assert row["name"] == "p1" and row["n_cv"] == 6 and row["n_steps"] == 1
    assert row["tau"] == ref["pitt"].attrs["tau"] and row["ks"] == ref["laviron"].attrs["ks"]
    assert row["radius"] == ref["size"]["radius"]
    pd.testing.assert_frame_equal(s.tables("p1")["peaks"], ref["peaks"].reset_index(drop=True), check_exact=True)


def test_detection_limit_when_asked(folder, tmp_path):
    s = run(EventRecipe(threshold=6), folder / "10pM" / "rec_a.npz", out=tmp_path / "out", scheduler="sync",
            progress=False, report=False, detection_limit=True)
    row = s.files.iloc[0]
    assert 0 < row["detection_limit_radius"] < 1e-6 and row["detection_limit_charge"] > 0
    pop = s.population
    below = pop["radius"] < row["detection_limit_radius"]
    assert (pop.loc[below, "quality"] == "below detection limit").all()
    assert (pop.loc[~below, "quality"] == "ok").all()
