"""peak(): no peaks on flat or sloped capacitive (substrate) curves, peaks kept on particles."""

from pathlib import Path

import numpy as np
import pytest

from nbtools import seccm

EXAMPLE = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def example():
    ds = seccm.load(EXAMPLE / "seccm_example.nc")
    t = np.load(EXAMPLE / "seccm_example_truth.npz")
    part = t["particle"][ds.iy.values, ds.ix.values]
    landed = ds.status.values == "landed"
    return ds, landed & part, landed & ~part


@pytest.mark.parametrize("engine", ["numba", "numpy"])
@pytest.mark.parametrize("direction", ["anodic", "cathodic"])
def test_substrate_has_no_peak_particles_keep_theirs(example, engine, direction):
    ds, particle, substrate = example
    pk = seccm.peak(ds, direction, engine=engine)
    e = seccm.from_grid(pk.potential, ds).values
    # was: E_pa = 4.35 +- 0.05 V (end of the sloped capacitive branch) on 473 of 1,129 substrate pixels
    assert np.isnan(e[substrate]).mean() >= 0.95
    assert np.isfinite(e[particle]).mean() >= 0.95
    # the couples of the example lie near 4.00 and 4.15 V; peaks at most ~0.1 V away
    assert np.all((e[particle & np.isfinite(e)] > 3.85) & (e[particle & np.isfinite(e)] < 4.3))


def test_sloped_capacitive_curve_has_no_peak():
    E = np.r_[np.linspace(3.7, 4.4, 200, endpoint=False), np.linspace(4.4, 3.7, 200)]
    s = np.sign(np.gradient(E))
    rng = np.random.default_rng(1)
    cap = 5e-12 * (1 + 0.8 * (E - 4.0)) * s  # strongly sloped double-layer current
    cur = cap[None, :] + rng.normal(0, 0.05e-12, (3, E.size))
    cur[2] += 2e-12 * np.exp(-((E - 4.05) / 0.03) ** 2) * (s > 0)  # a real anodic peak on pixel 2
    ds = seccm.from_arrays(cur, E, np.arange(3) * 1e-6, np.zeros(3), time=np.arange(E.size) * 0.01)
    for engine in ("numba", "numpy"):
        e = seccm.from_grid(seccm.peak(ds, "anodic", engine=engine).potential, ds).values
        assert np.isnan(e[:2]).all()
        assert abs(e[2] - 4.05) < 0.01
