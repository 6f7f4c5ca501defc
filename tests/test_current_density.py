"""Current density maps: the current over the meniscus footprint, so landings of different wetted areas compare."""

from __future__ import annotations

import numpy as np
import pytest

from nbtools import seccm
from nbtools.errors import ParameterError
from nbtools.recipes import from_json
from nbtools.seccm import MAPS, MapRecipe, current_at, current_density, footprint_area, from_arrays, make_map
from nbtools.simulate import seccm_scan


@pytest.fixture(scope="module")
def cv_scan():
    return seccm_scan(6, 5, 200, seed=1)[0]


def _wetted_scan(seed=0):
    """A uniform surface (current density j(E) everywhere) under droplets of random footprint radius."""
    rng = np.random.default_rng(seed)
    E = np.r_[np.linspace(3.8, 4.2, 100), np.linspace(4.2, 3.8, 100)[1:]]
    j = 2e-2 * np.tanh((E - 4.0) / 0.05) * np.sign(np.gradient(E)) + 1e-2  # A/m^2
    rd = rng.uniform(0.3e-6, 1.5e-6, size=20)  # footprint radii (m): areas differ 25-fold
    cur = (np.pi * rd[:, None] ** 2) * j[None, :]
    ds = from_arrays(cur, E, grid=(4, 5), pitch=5e-6, dt=0.01, label=False)
    ds["droplet_radius"] = ("pixel", rd, {"units": "m"})
    return ds, rd


def test_current_density_is_current_over_footprint_area(cv_scan):
    j = current_density(cv_scan, 4.0, droplet_radius=1e-6)
    i = current_at(cv_scan, 4.0)
    assert np.allclose(j.values, i.values / (np.pi * 1e-12), equal_nan=True)
    assert j.attrs["units"] == "A/m^2" and "given" in j.attrs["footprint"]
    assert j.attrs["recipe"].map == "current_density"


def test_landings_of_different_wetted_areas_become_comparable():
    ds, rd = _wetted_scan()
    i = current_at(ds, 4.1)
    j = current_density(ds, 4.1)  # the scan's per-pixel droplet_radius
    spread_i = np.nanstd(i.values) / abs(np.nanmean(i.values))
    spread_j = np.nanstd(j.values) / abs(np.nanmean(j.values))
    assert spread_i > 0.5 and spread_j < 1e-6
    assert j.attrs["footprint"] == "the scan's per-pixel droplet_radius"
    area, source = footprint_area(ds)
    assert np.allclose(area, np.pi * rd**2)


def test_footprint_from_the_pipette_size(cv_scan):
    j = make_map(cv_scan, map="current_density", potential=4.0, pipette_radius=5e-7, wetting=1.2)
    i = current_at(cv_scan, 4.0)
    assert np.allclose(j.values, i.values / (np.pi * (6e-7) ** 2), equal_nan=True)
    ds = cv_scan.copy()
    ds.attrs["pipette_radius"] = 4e-7
    j2 = current_density(ds, 4.0)
    assert np.allclose(j2.values, i.values / (np.pi * 16e-14), equal_nan=True)
    assert "pipette radius 4e-07 m" in j2.attrs["footprint"]


def test_missing_or_wrong_footprint_is_explained(cv_scan):
    assert cv_scan.attrs["pipette_radius"] == 5e-7  # the simulator records its pipette
    bare = cv_scan.copy()
    del bare.attrs["pipette_radius"]
    with pytest.raises(ParameterError, match="droplet_radius"):
        current_density(bare, 4.0)
    with pytest.raises(ParameterError, match="metres"):
        current_density(cv_scan, 4.0, droplet_radius=500.0)  # nm given as m
    with pytest.raises(ParameterError, match="droplet_radius"):
        current_density(cv_scan, 4.0, droplet_radius=-1e-6)
    with pytest.raises(ParameterError, match="potential"):
        MapRecipe(map="current_density", droplet_radius=1e-6)


def test_registered_with_units_and_its_recipe_reproduces_it(cv_scan):
    entry = MAPS["current_density"]
    assert entry.unit == "A/m^2" and "droplet_radius" in entry.options
    m = make_map(cv_scan, map="current_density", potential=4.0, droplet_radius=8e-7, branch="both")
    r = m.attrs["recipe"]
    assert from_json(r.to_json()) == r
    assert np.array_equal(make_map(cv_scan, r).values, m.values, equal_nan=True)
    assert seccm.current_density is current_density


def test_the_dashboard_map_options_edit_the_footprint():
    from nbtools.widgets.map_options import MapOptions

    opts = MapOptions(MapRecipe(), defaults={"potential": 4.0})
    opts.choose("current_density")
    box = opts.controls["droplet_radius"]
    assert opts.recipe.potential == 4.0 and box.layout.display is None
    box.value = 0.8  # µm
    assert opts.recipe.droplet_radius == pytest.approx(8e-7)
    box.value = 0.0
    assert opts.recipe.droplet_radius is None  # the scan's own footprint or pipette
    opts.choose("charge")
    assert box.layout.display == "none"
