"""Per-pixel kinetic fits over a simulated scan (single couple, known truth)."""

import numpy as np
import pytest

from nbtools import seccm
from nbtools.errors import ParameterError
from nbtools.simulate import seccm_scan


@pytest.fixture(scope="module")
def scan():
    return seccm_scan(nx=6, ny=5, n_samples=500, seed=4, e0=(4.0,), noise=0.2e-12, coverage=0.45, k_s=200.0,
                      failed_fraction=0.05, no_contact_fraction=0, saturated_fraction=0, noisy_fraction=0)


def test_fit_pixels_recovers_charge_and_e0(scan):
    ds, truth = scan
    mask = seccm.classify(ds)
    r = seccm.fit_pixels(ds, "FrumkinCV", pixels=mask, params={"v": {"value": 0.5, "vary": False}},
                         scheduler="sync")
    st = r.fit_status.values
    ok = st == "ok"
    assert ok.sum() >= 5
    q = seccm.from_grid(r.Q, ds).values
    e0 = seccm.from_grid(r.E0, ds).values
    np.testing.assert_allclose(q[ok], truth["charge"][ok], rtol=0.03)
    np.testing.assert_allclose(e0[ok], 4.0, atol=0.01)
    assert np.isfinite(seccm.from_grid(r.Q_stderr, ds).values[ok]).mean() >= 0.75  # lmfit may lack a covariance
    # pixels not selected or failed: NaN with a status, never an abort
    assert np.isnan(q[~ok]).all()
    assert all(s.startswith(("not selected", "skipped", "failed")) for s in st[~ok])
    assert any(s.startswith("skipped: failed_landing") for s in st)
    assert r.Q.dims == ("y", "x")


def test_fit_pixels_bad_input(scan):
    ds, _ = scan
    with pytest.raises(ParameterError, match="independent variable"):
        seccm.fit_pixels(ds, "PITTSphere")
    with pytest.raises(ParameterError, match="window"):
        seccm.fit_pixels(ds, "FrumkinCV", window=(4.1, 3.9))
    # a window without enough samples: per-pixel failure, not an exception
    from nbtools.errors import DataError

    with pytest.raises(DataError, match="enough samples"):
        seccm.fit_pixels(ds, "FrumkinCV", window=(4.0, 4.0001), scheduler="sync")
