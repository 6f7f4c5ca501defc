"""Review fixes: classify needs two populations, derived scan rate, load's error classes."""

import warnings

import numpy as np
import pytest
import xarray as xr

from nbtools import seccm
from nbtools.errors import NbtoolsWarning, ParameterError
from nbtools.simulate import seccm_scan


@pytest.fixture(scope="module")
def tdms(realdata):
    p = realdata / "seccm" / "wecspm_x22500_y-4500.tdms"
    if not p.exists():
        pytest.skip(f"{p} absent")
    return p


# ------------------------------------------------------------------ classify
def test_classify_homogeneous_scan_is_not_split():
    ds, truth = seccm_scan(nx=10, ny=10, n_samples=300, seed=1, coverage=0.0)
    assert not truth["particle"].any()
    with pytest.warns(NbtoolsWarning, match="no two populations"):
        m = seccm.classify(ds)
    assert not m.values.any()
    assert m.attrs["split"] == 0 and np.isnan(m.attrs["threshold"])
    assert m.attrs["separation"] < m.attrs["min_separation"]


def test_classify_one_gaussian_population_is_not_split():
    rng = np.random.default_rng(8)
    ds, _ = seccm_scan(nx=12, ny=10, n_samples=100, seed=8, coverage=0.0, label=False)
    per_pixel = xr.DataArray(rng.normal(1e-9, 0.1e-9, ds.sizes["pixel"]), dims="pixel",
                             coords={"ix": ds.ix, "iy": ds.iy})
    act = seccm.to_grid(per_pixel, ds)
    with pytest.warns(NbtoolsWarning, match="no two populations"):
        m = seccm.classify(ds, act)
    assert not m.values.any()
    # two populations 8 sd apart in the same scan are split
    act2 = act.where(act.x < act.x[6], act + 0.8e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NbtoolsWarning)
        m2 = seccm.classify(ds, act2)
    assert m2.attrs["split"] == 1
    np.testing.assert_array_equal(m2.values, (act2.x >= act2.x[6]).broadcast_like(act2).values)


def test_classify_too_small_scan_warns():
    ds, _ = seccm_scan(nx=3, ny=3, n_samples=200, seed=2, label=False)
    with pytest.warns(NbtoolsWarning, match="too small"):
        m = seccm.classify(ds)
    assert not m.values.any() and m.attrs["n_used"] == 9
    # an explicit threshold is applied as given, without the population test
    q = seccm.charge(ds)
    thr = float(np.nanmedian(q))
    with warnings.catch_warnings():
        warnings.simplefilter("error", NbtoolsWarning)
        m2 = seccm.classify(ds, q, threshold=thr)
    np.testing.assert_array_equal(m2.values, (q > thr).values)


def test_classify_real_four_landings_is_not_split(tdms):
    ds = seccm.load(tdms)
    assert int((ds.status == "landed").sum()) == 4
    with pytest.warns(NbtoolsWarning, match="too small"):
        m = seccm.classify(ds)
    assert not m.values.any()


def test_classify_activity_by_name_and_bad_activity_message():
    ds, truth = seccm_scan(nx=16, ny=14, n_samples=240, seed=5)
    by_name = seccm.classify(ds, "charge")
    np.testing.assert_array_equal(by_name.values, seccm.classify(ds).values)
    pk = seccm.classify(ds, "peak_current")
    t = truth["particle"]
    assert (pk.values & t).sum() / (pk.values | t).sum() >= 0.8
    assert pk.attrs["threshold_units"] == "A"
    with pytest.raises(ParameterError, match="found the string 'charges'"):
        seccm.classify(ds, activity="charges")
    with pytest.raises(ParameterError, match=r"ndarray"):
        seccm.classify(ds, activity=np.zeros((14, 16)))
    with pytest.raises(ParameterError, match=r"dims \('pixel',\)"):
        seccm.classify(ds, activity=ds.noise)
