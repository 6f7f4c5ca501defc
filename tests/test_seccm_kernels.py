"""numba kernels of SECCM maps against their NumPy reference, and properties."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbtools import seccm
from nbtools.simulate import seccm_scan


@pytest.fixture(scope="module")
def scans():
    ds, _ = seccm_scan(nx=12, ny=10, n_samples=300, seed=11)
    # ragged, per-pixel potentials, float64, two cycles with readback noise
    rng = np.random.default_rng(0)
    curves, pots, times = [], [], []
    for k in range(12):
        m = 200 + 10 * k
        E = np.r_[np.linspace(0, 1, m // 4), np.linspace(1, 0, m // 4), np.linspace(0, 1, m // 4),
                  np.linspace(1, 0, m - 3 * (m // 4))]
        E = E + rng.normal(0, 1e-4, E.size)
        I = 1e-9 * np.exp(-((E - 0.5) / 0.08) ** 2) * np.sign(np.gradient(E)) + 1e-10 * E + rng.normal(0, 1e-12, E.size)
        curves.append(I)
        pots.append(E)
        times.append(np.arange(m) * 0.01)
    rag = seccm.from_arrays(curves, pots, x=np.arange(12) % 4 * 1e-6, y=np.arange(12) // 4 * 1e-6, time=times)
    return [ds, rag]


def both(fn, ds, **kw):
    a = fn(ds, engine="numba", **kw)
    b = fn(ds, engine="numpy", **kw)
    return a, b


@pytest.mark.parametrize("which", [0, 1])
def test_kernels_match_numpy(scans, which):
    ds = scans[which]
    E = float(np.nanmedian(ds.potential.values))
    for branch in ("anodic", "cathodic", "forward", "reverse"):
        for cycle in (0, -1, None):
            a, b = both(seccm.current_at, ds, potential=E, branch=branch, cycle=cycle)
            np.testing.assert_allclose(a.values, b.values, rtol=1e-5, atol=1e-16, equal_nan=True)
    for kw in ({}, {"window": (E - 0.2, E + 0.2)}, {"baseline": "none"}, {"baseline": 1e-12, "cycle": 0},
               {"time_window": (0.1, 1.0)}):
        a, b = both(seccm.charge, ds, **kw)
        np.testing.assert_allclose(a.values, b.values, rtol=1e-4, atol=1e-18, equal_nan=True)
    for d in ("anodic", "cathodic"):
        a, b = both(seccm.peak, ds, direction=d)
        for v in ("potential", "current", "prominence"):
            np.testing.assert_allclose(a[v].values, b[v].values, rtol=1e-4, atol=1e-15, equal_nan=True)
    thr = float(np.nanpercentile(ds.current.values, 80))
    a, b = both(seccm.onset, ds, onset_current=thr)
    np.testing.assert_allclose(a.values, b.values, rtol=1e-5, atol=1e-7, equal_nan=True)
    qa, qb = seccm.quality(ds, engine="numba"), seccm.quality(ds, engine="numpy")
    np.testing.assert_array_equal(qa.status.values, qb.status.values)
    np.testing.assert_allclose(qa.noise.values, qb.noise.values, rtol=1e-5)
    for v in ("evidence", "sweep_evidence", "shape_evidence", "dead_start", "dead_end"):
        np.testing.assert_allclose(qa[v].values, qb[v].values, rtol=1e-6, atol=1e-9, err_msg=v)
    np.testing.assert_array_equal(qa.reason.values, qb.reason.values)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(offset=st.floats(-5e-11, 5e-11), scale=st.floats(0.1, 10))
def test_charge_offset_invariance_and_scaling(scans, offset, scale):
    ds = scans[0]
    ref = seccm.charge(ds).values
    ds2 = ds.assign(current=ds.current * scale + offset)
    np.testing.assert_allclose(seccm.charge(ds2).values, ref * scale, rtol=1e-3, atol=2e-15)


def test_polarity_mirror(scans):
    ds = scans[0]
    mir = ds.assign(current=-ds.current, potential=-ds.potential)
    a = seccm.charge(ds, window=(3.8, 4.3), branch="anodic").values
    c = seccm.charge(mir, window=(-4.3, -3.8), branch="cathodic").values
    np.testing.assert_allclose(c, -a, rtol=1e-5, atol=1e-18)
    pa = seccm.peak(ds, "anodic").potential.values
    pc = seccm.peak(mir, "cathodic").potential.values
    np.testing.assert_allclose(pc, -pa, rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize("which", [0, 1])
def test_group_stats_matches_numpy(scans, which):
    from scipy import stats

    ds = scans[which]
    idx = np.flatnonzero(ds.status.values == "landed")[::2]
    g = seccm.group_stats(ds, idx)
    c = ds.current.values[idx].astype(float)
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning) if np.isnan(c).all(axis=0).any() else _null():
        mean = np.nanmean(c, axis=0)
        sd = np.nanstd(c, axis=0, ddof=1)
    n = np.isfinite(c).sum(axis=0)
    np.testing.assert_allclose(g.current.values, mean, rtol=1e-6, atol=1e-18)
    np.testing.assert_allclose(g.current_std.values, sd, rtol=1e-4, atol=1e-16)
    half = np.where(n >= 3, stats.t.ppf(0.975, np.maximum(n - 1, 1)) * sd / np.sqrt(n), np.nan)  # no band below 3
    np.testing.assert_allclose(g.ci_high.values, mean + half, rtol=1e-4, atol=1e-16)
    np.testing.assert_array_equal(g.n.values, n)


def _null():
    import contextlib

    return contextlib.nullcontext()
