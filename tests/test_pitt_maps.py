"""PITT (potential-step) maps of an SECCM scan: tau = r^2/D per pixel, D per particle, against a simulated scan."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from nbtools import seccm
from nbtools.errors import DataError, ParameterError
from nbtools.recipes import from_json
from nbtools.seccm import StepFitRecipe, fit_steps, particle_regions, particle_table, step_info
from nbtools.simulate import seccm_scan, seccm_step_scan


@pytest.fixture(scope="module")
def scan():
    return seccm_step_scan(seed=0)


@pytest.fixture(scope="module")
def mask(scan):
    ds, _ = scan
    st = ds.attrs["step_time"]
    q = seccm.charge(ds, time_window=(st + 0.1, float(ds.time.values[-1])), baseline="none")
    return seccm.classify(ds, activity=q)


@pytest.fixture(scope="module")
def fits(scan, mask):
    ds, _ = scan
    return fit_steps(ds, pixels=mask)


def test_the_simulated_scan_knows_its_particles(scan):
    ds, truth = scan
    assert truth["radius"].size >= 4
    assert np.allclose(truth["tau"], truth["radius"] ** 2 / truth["D"])
    on = truth["particle"].ravel()  # from_arrays keeps the raster order of the simulator
    assert np.all(np.isfinite(truth["tau_pixel"][on])) and np.all(np.isnan(truth["tau_pixel"][~on]))


def test_step_info_finds_the_step(scan):
    ds, truth = scan
    info = step_info(ds)
    assert np.isclose(info["step_time"], truth["step_time"]) and np.isclose(info["dE"], truth["dE"])
    assert info["E_initial"] == pytest.approx(3.95) and info["E_step"] == pytest.approx(4.0)
    cv, _ = seccm_scan(5, 4, 200, seed=1)
    with pytest.raises(DataError, match="does not step"):
        step_info(cv)


def test_classify_finds_the_particles_of_a_step_scan(scan, mask):
    _, truth = scan
    assert (mask.values == truth["particle"]).mean() > 0.98


def test_tau_within_5_percent_at_every_particle_pixel(scan, mask, fits):
    ds, truth = scan
    tau = fits["tau"].values[ds.iy.values, ds.ix.values]
    sel = mask.values[ds.iy.values, ds.ix.values] & truth["particle"].ravel()
    rel = np.abs(tau[sel] / truth["tau_pixel"][sel] - 1)
    assert sel.sum() > 100 and np.all(np.isfinite(rel))
    assert rel.max() < 0.05, f"worst pixel off by {rel.max():.1%}"
    assert np.median(rel) < 0.01
    st = fits["fit_status"].values
    assert set(st[~mask.values[ds.iy.values, ds.ix.values]]) == {"not selected"}
    assert fits.attrs["n_fitted"] == int(mask.values.sum()) and fits.attrs["n_failed"] == 0
    assert fits["tau"].attrs["units"] == "s" and fits["D"].attrs["units"] == "m^2/s"


def test_D_per_particle_from_the_region_radius(scan, fits):
    _, truth = scan
    table = particle_table(fits)
    assert len(table) == truth["radius"].size
    reg = fits["region"].values
    for _, row in table.iterrows():
        j = np.bincount(truth["labels"][reg == row["region"]]).argmax()  # the true particle under the region
        assert abs(row["radius"] / truth["radius"][j - 1] - 1) < 0.05  # sqrt(area/pi) of a pixelated disc
        assert abs(row["tau"] / truth["tau"][j - 1] - 1) < 0.02
        assert abs(row["D"] / truth["D"][j - 1] - 1) < 0.10
        assert row["D_low"] <= row["D"] <= row["D_high"]
    assert "regions" in fits.attrs["radius_source"]


def test_a_given_radius_or_radius_map_gives_D_directly(scan, mask):
    ds, truth = scan
    few = np.flatnonzero(mask.values[ds.iy.values, ds.ix.values])[:12]
    res = fit_steps(ds, pixels=few, radius=3e-6)
    tau = res["tau"].values[ds.iy.values, ds.ix.values][few]
    D = res["D"].values[ds.iy.values, ds.ix.values][few]
    assert np.allclose(D, 3e-6**2 / tau) and res.attrs["recipe"].radius == 3e-6
    rmap = xr.DataArray(np.where(truth["particle"], 2e-6, np.nan), dims=("y", "x"),
                        coords={"y": np.asarray(ds.attrs["grid_y"]), "x": np.asarray(ds.attrs["grid_x"])})
    res2 = fit_steps(ds, pixels=few, radius=rmap)
    assert np.allclose(res2["D"].values[ds.iy.values, ds.ix.values][few], 2e-6**2 / tau, rtol=1e-6)
    assert res2.attrs["radius_source"] == "given map"
    res3 = fit_steps(ds, pixels=few, radius=None)
    assert "D" not in res3 and "tau" in res3


def test_the_recipe_reproduces_the_fit_and_round_trips(scan, mask):
    ds, _ = scan
    few = np.flatnonzero(mask.values[ds.iy.values, ds.ix.values])[:10]
    a = fit_steps(ds, pixels=few, time_window=(0.05, 15.0))
    r = a.attrs["recipe"]
    assert isinstance(r, StepFitRecipe) and from_json(r.to_json()) == r
    b = fit_steps(ds, r)
    assert np.allclose(a["tau"].values, b["tau"].values, equal_nan=True)


def test_a_bad_pixel_fails_alone(scan, mask):
    ds, _ = scan
    idx = np.flatnonzero(mask.values[ds.iy.values, ds.ix.values])[:6]
    bad = ds.copy(deep=True)
    k = int(step_info(ds)["index"])
    bad["current"].values[idx[0], k:] = np.nan  # nothing after the step
    res = fit_steps(bad, pixels=idx)
    st = res["fit_status"].values
    assert st[idx[0]].startswith("failed") and all(s == "ok" for s in st[idx[1:]])
    assert np.isnan(res["tau"].values[ds.iy.values[idx[0]], ds.ix.values[idx[0]]])


def test_a_series_resistance_can_be_given_per_scan(scan, mask):
    ds, _ = scan
    few = np.flatnonzero(mask.values[ds.iy.values, ds.ix.values])[:5]
    res = fit_steps(ds, pixels=few, params={"Ru": {"value": 1e6, "vary": False}})
    assert res.attrs["recipe"].params["Ru"]["value"] == 1e6
    assert np.all(np.isfinite(res["tau"].values[ds.iy.values, ds.ix.values][few]))
    with pytest.raises(ParameterError, match="unknown parameter"):
        fit_steps(ds, pixels=few, params={"ks": 1.0})


def test_particle_regions_measure_area_in_grid_cells(scan):
    ds, truth = scan
    labels, table = particle_regions(truth["particle"], ds)
    pitch = float(np.diff(ds.attrs["grid_x"])[0])
    assert table["n_pixels"].sum() == truth["particle"].sum()
    assert np.allclose(table["area"], table["n_pixels"] * pitch**2)
    with pytest.raises(ParameterError, match="grid"):
        particle_regions(np.ones((3, 3), bool), ds)


def test_radii_from_particle_outlines_on_an_image(scan, mask, fits):
    ds, truth = scan
    ang = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    outlines = [np.c_[cx + r * np.cos(ang), cy + r * np.sin(ang)] for (cx, cy), r in zip(truth["centre"],
                                                                                         truth["radius"])]
    rmap = seccm.polygon_radii(ds, outlines)
    assert rmap.attrs["units"] == "m"
    lab = truth["labels"]
    inside = np.isfinite(rmap.values)
    assert np.allclose(rmap.values[inside], truth["radius"][lab[inside] - 1], rtol=0.01)  # 64-gon area
    # D from the outlines' radii: within 3 % of the truth at every particle pixel
    D = rmap.values**2 / fits["tau"].values
    sel = inside & mask.values
    rel = np.abs(D[sel] / truth["D"][lab[sel] - 1] - 1)
    assert rel.max() < 0.06 and np.median(rel) < 0.02
    with pytest.raises(ParameterError, match="no area"):
        seccm.polygon_radii(ds, [[(0, 0), (1e-6, 0), (2e-6, 0)]])


def test_a_constant_potential_is_refused_and_a_given_step_time_is_used():
    t = np.arange(100) * 0.1
    cur = 1e-12 * np.exp(-t)[None, :] * np.ones((4, 1))
    flat = seccm.from_arrays(cur, np.full(100, 4.0), grid=(2, 2), time=t, label=False)
    with pytest.raises(DataError, match="does not step"):
        step_info(flat)
    ds = seccm.from_arrays(cur, np.r_[3.95, np.full(99, 4.0)], grid=(2, 2), time=t, label=False)
    assert step_info(ds)["step_time"] == 0.0 and step_info(ds)["index"] == 1
    assert step_info(ds, step_time=-0.05)["step_time"] == -0.05
