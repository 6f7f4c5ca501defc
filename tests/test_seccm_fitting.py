"""Per-pixel kinetic fits over simulated scans and the bundled example (known truth).

fit_pixels goes through nbtools.batch.fit_many, each pixel starting from the
model's guess on its own curve; parameter and standard-error maps are filled.
"""

import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from nbtools import seccm
from nbtools.errors import DataError, NbtoolsWarning, ParameterError
from nbtools.simulate import seccm_scan

EXAMPLE = Path(__file__).resolve().parents[1] / "data"
CLEAN = dict(failed_fraction=0.05, no_contact_fraction=0, saturated_fraction=0, noisy_fraction=0, coverage=0.45)


@pytest.fixture(scope="module")
def scan():
    return seccm_scan(nx=6, ny=5, n_samples=500, seed=4, e0=(4.0,), noise=0.2e-12, k_s=200.0, **CLEAN)


def _per_pixel(truth_map, ds):
    return truth_map[ds.iy.values, ds.ix.values]


def _particle_pixels(ds, truth, step=1):
    on = _per_pixel(truth["particle"], ds) & (ds.status.values == "landed")
    return np.flatnonzero(on)[::step]


def _check_recovery(r, ds, idx, q_couple, ks_true, couples=("1", "2"), e0=(4.0, 4.15)):
    st = r.fit_status.values[idx]
    assert (st == "ok").all(), set(st)
    val = {k: seccm.from_grid(r[k], ds).values[idx] for k in r.data_vars if r[k].dims == ("y", "x")}
    for c, e in zip(couples, e0):
        np.testing.assert_allclose(val[f"Q{c}"], q_couple[idx], rtol=0.03)
        np.testing.assert_allclose(val[f"E0{c}"], e, atol=0.01)
    np.testing.assert_allclose(val["alpha"], 0.5, atol=0.05)
    ratio = val["ks"] / ks_true[idx]
    assert (ratio > 0.8).all() and (ratio < 1.25).all(), ratio
    for k in ("Q" + couples[0], "E0" + couples[0], "ks", "alpha"):  # uncertainty maps filled
        err = val[f"{k}_stderr"]
        assert np.isfinite(err).all() and (err > 0).all(), k
    return val


def test_fit_pixels_recovers_charge_and_e0(scan):
    ds, truth = scan
    mask = seccm.classify(ds)
    r = seccm.fit_pixels(ds, "FrumkinCV", pixels=mask, scheduler="sync")
    st = r.fit_status.values
    ok = st == "ok"
    assert ok.sum() >= 5
    q = seccm.from_grid(r.Q, ds).values
    e0 = seccm.from_grid(r.E0, ds).values
    np.testing.assert_allclose(q[ok], truth["charge"][ok], rtol=0.03)
    np.testing.assert_allclose(e0[ok], 4.0, atol=0.01)
    assert np.isfinite(seccm.from_grid(r.Q_stderr, ds).values[ok]).all()
    # pixels not selected or failed: NaN with a status, never an abort
    assert np.isnan(q[~ok]).all()
    assert all(s.startswith(("not selected", "skipped", "failed")) for s in st[~ok])
    assert any(s.startswith("skipped: failed_landing") for s in st)
    assert r.Q.dims == ("y", "x") and r.Q.attrs["units"] == "C"


def test_fit_pixels_goes_through_fit_many(scan, monkeypatch):
    import nbtools.batch as batch

    calls = []
    real = batch.fit_many

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(batch, "fit_many", spy)
    ds, truth = scan
    idx = _particle_pixels(ds, truth)[:3]
    r = seccm.fit_pixels(ds, "FrumkinCV", pixels=idx, scheduler="threads", n_workers=2)
    assert len(calls) == 1 and calls[0]["scheduler"] == "threads"
    assert r.attrs["scheduler"] == "threads" and r.attrs["engine"] == "batch"
    assert (r.fit_status.values[idx] == "ok").all()


def test_fit_pixels_distributed_address(scan):
    distributed = pytest.importorskip("distributed")
    ds, truth = scan
    idx = _particle_pixels(ds, truth)[:2]
    with distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        r = seccm.fit_pixels(ds, "FrumkinCV", pixels=idx, scheduler=cluster.scheduler_address)
    assert r.attrs["scheduler"].startswith("distributed:")
    assert (r.fit_status.values[idx] == "ok").all()


def test_laviron_single_couple_per_pixel_guess_and_stderr():
    """Was: Q stuck at the 1e-12 default, alpha 0.13-0.18, every stderr NaN."""
    ds, truth = seccm_scan(nx=5, ny=4, n_samples=400, seed=4, e0=(4.0,), **CLEAN)
    idx = _particle_pixels(ds, truth, step=2)
    assert idx.size >= 4
    q = 2e-11 * _per_pixel(truth["activity"], ds)
    r = seccm.fit_pixels(ds, "LavironCV", pixels=idx, scheduler="sync")
    val = _check_recovery(r, ds, idx, q, truth["k_s"], couples=("",), e0=(4.0,))
    assert (val["Q"] > 1e-12 * 1.5).all()


def test_couples_cv_recovers_truth_on_simulated_scan():
    ds, truth = seccm_scan(nx=5, ny=4, n_samples=400, seed=4, **CLEAN)
    idx = _particle_pixels(ds, truth, step=2)
    q = 2e-11 * _per_pixel(truth["activity"], ds) / 2
    r = seccm.fit_pixels(ds, pixels=idx, scheduler="sync")
    _check_recovery(r, ds, idx, q, truth["k_s"])
    assert r.attrs["model"] == "CouplesCV(2)"
    lam = seccm.from_grid(r.Lambda, ds).values[idx]
    assert np.all((lam > 0.05) & (lam < 2))  # quasi-reversible at 0.5 V/s: ks and alpha identifiable


def test_couples_cv_recovers_truth_on_bundled_example():
    ds = seccm.load(EXAMPLE / "seccm_example.nc")
    t = np.load(EXAMPLE / "seccm_example_truth.npz")
    truth = {"particle": t["particle"], "k_s": t["k_s"]}
    idx = _particle_pixels(ds, truth, step=60)
    q = 2e-11 * _per_pixel(t["activity"], ds) / 2
    r = seccm.fit_pixels(ds, pixels=idx, scheduler="sync")
    _check_recovery(r, ds, idx, q, t["k_s"])


def test_reversible_scan_warns_ks_not_identifiable():
    ds, truth = seccm_scan(nx=4, ny=3, n_samples=400, seed=4, k_s=500.0, **CLEAN)
    idx = _particle_pixels(ds, truth)[:3]
    with pytest.warns(NbtoolsWarning, match="not identifiable"):
        r = seccm.fit_pixels(ds, pixels=idx, scheduler="sync")
    assert np.isnan(seccm.from_grid(r.ks, ds).values[idx]).all()
    assert np.isnan(seccm.from_grid(r.alpha, ds).values[idx]).all()
    assert all("not identifiable" in m for m in r.fit_message.values[idx])
    q = 2e-11 * _per_pixel(truth["activity"], ds) / 2
    np.testing.assert_allclose(seccm.from_grid(r.Q1, ds).values[idx], q[idx], rtol=0.03)


def test_failed_pixel_is_nan_with_reason_not_abort(scan):
    ds, truth = scan
    idx = _particle_pixels(ds, truth)[:3]
    bad = ds.copy(deep=True)
    cur = bad.current.values.copy()
    cur[idx[0]] = 1e-12  # constant: cannot be fitted
    bad["current"] = (bad.current.dims, cur, bad.current.attrs)
    r = seccm.fit_pixels(bad, "FrumkinCV", pixels=idx, scheduler="sync", subtract_capacitive=False)
    st = r.fit_status.values
    assert st[idx[0]].startswith("failed") and "constant" in st[idx[0]]
    assert np.isnan(seccm.from_grid(r.Q, bad).values[idx[0]])
    assert (st[idx[1:]] == "ok").all()


def test_fit_pixels_bad_input(scan):
    ds, _ = scan
    with pytest.raises(ParameterError, match="independent variable"):
        seccm.fit_pixels(ds, "PITTSphere")
    with pytest.raises(ParameterError, match="window"):
        seccm.fit_pixels(ds, "FrumkinCV", window=(4.1, 4.1))
    with pytest.raises(ParameterError, match=r"window=\(5, 6\) V does not overlap the scan's potentials \(3\.7"):
        seccm.fit_pixels(ds, "FrumkinCV", window=(6, 5))
    with pytest.raises(ParameterError, match="unknown parameter"):
        seccm.fit_pixels(ds, "FrumkinCV", params={"k0": 1.0})
    with pytest.raises(ParameterError, match="couples"):
        seccm.fit_pixels(ds, couples=3)
    nosr = ds.copy()
    nosr.attrs = {k: v for k, v in ds.attrs.items() if k != "scan_rate"}
    with pytest.raises(ParameterError, match="scan_rate"):
        seccm.fit_pixels(nosr, "FrumkinCV")
    with pytest.raises(DataError, match="enough samples"):
        seccm.fit_pixels(ds, "FrumkinCV", window=(4.0, 4.0001), scheduler="sync")


def test_fit_that_did_not_converge_is_failed_with_nan(scan, monkeypatch):
    import nbtools.batch as batch

    real = batch.fit_many

    def not_converged_first(*args, **kwargs):
        df = real(*args, **kwargs)
        df.loc[df.index[0], ["success", "status", "message"]] = [False, "warning", "the fit did not converge: maxfev"]
        return df

    monkeypatch.setattr(batch, "fit_many", not_converged_first)
    ds, truth = scan
    idx = _particle_pixels(ds, truth)[:3]
    r = seccm.fit_pixels(ds, "FrumkinCV", pixels=idx, scheduler="sync")
    st = r.fit_status.values
    assert st[idx[0]].startswith("failed") and "did not converge" in st[idx[0]]
    assert np.isnan(seccm.from_grid(r.Q, ds).values[idx[0]])
    assert np.isnan(seccm.from_grid(r.Q_stderr, ds).values[idx[0]])
    assert (st[idx[1:]] == "ok").all() and r.attrs["n_failed"] >= 1


def test_identifiability_working_curve_interpolated_in_alpha():
    """The alpha-grid interpolation of the peak separation matches the exact working curve."""
    from nbtools.kinetics import laviron_lambda
    from nbtools.seccm.identifiability import dEp_of_lambda

    for alpha in (0.37, 0.5, 0.62):
        for dep in (0.004, 0.02, 0.08):
            lam = laviron_lambda(dep, alpha=alpha)
            assert dEp_of_lambda(lam, alpha) == pytest.approx(dep, rel=0.03, abs=2e-4)
    # one call for every pixel: each value as the scalar call gives it (alphas off and on the grid, clipped)
    lams = np.array([0.01, 0.3, 2.0, 9.0, 50.0, 1e-4])
    alphas = np.array([0.37, 0.5, 0.05, 0.95, 0.62, 0.1])
    many = dEp_of_lambda(lams, alphas)
    assert many.shape == lams.shape
    assert all(many[k] == dEp_of_lambda(lams[k], alphas[k]) for k in range(lams.size))
    assert isinstance(dEp_of_lambda(0.3, 0.5), float)
    assert np.isnan(dEp_of_lambda(1.0, np.nan)) and np.isnan(dEp_of_lambda(np.array([1.0, 1.0]), [0.5, np.nan])[1])


def test_couples_cv_background_remembered_per_curve_by_value():
    """The sweep sign and range middle are cached per potential programme: a changed E is a new key."""
    from nbtools.kinetics.insertion import sweep_sign
    from nbtools.seccm.cv_model import _background

    E = np.r_[np.linspace(3.7, 4.4, 50), np.linspace(4.4, 3.7, 50)[1:]]
    for shift in (0.0, 0.2):
        Es = E + shift
        want = sweep_sign(Es) * 0.5 * (2e-12 + 1e-12 * (Es - (3.7 + 4.4 + 2 * shift) / 2)) + 1e-13
        np.testing.assert_allclose(_background(Es, 2e-12, 1e-12, 1e-13, 0.5), want, rtol=1e-12)
    up = np.linspace(3.7, 4.4, 50)
    np.testing.assert_allclose(_background(up, 1e-12, 0.0, 0.0, 0.5), 5e-13)
    down = up[::-1].copy()  # same values, other order: the cathodic sign, not a stale hit
    np.testing.assert_allclose(_background(down, 1e-12, 0.0, 0.0, 0.5), -5e-13)


# --- sampling: seccm_scan records the current averaged over each sample interval --------------

@pytest.fixture(scope="module")
def averaged_scan():
    return seccm_scan(nx=5, ny=4, n_samples=400, seed=4, noise=0.05e-12, **CLEAN)


def test_couples_cv_average_sampling_recovers_ks_point_model_is_low(averaged_scan):
    ds, truth = averaged_scan
    idx = _particle_pixels(ds, truth, step=2)
    assert idx.size >= 4
    ratio, redchi = {}, {}
    for s in ("point", "average"):
        r = seccm.fit_pixels(ds, pixels=idx, sampling=s, scheduler="sync")
        assert (r.fit_status.values[idx] == "ok").all()
        ratio[s] = seccm.from_grid(r.ks, ds).values[idx] / truth["k_s"][idx]
        redchi[s] = seccm.from_grid(r.redchi, ds).values[idx]
    assert r.attrs["model"] == "CouplesCV(2), average"
    assert np.all(np.abs(ratio["average"] - 1) < 0.03), ratio
    # the point model lags half a sample: ks measurably low, worse residuals
    assert np.all(ratio["point"] < 0.97) and np.all(ratio["point"] < ratio["average"] - 0.02), ratio
    assert np.median(redchi["average"]) < np.median(redchi["point"])


def test_fit_pixels_sampling_passes_to_models_and_instances(averaged_scan, monkeypatch):
    import pickle

    import nbtools.batch as batch
    from nbtools.seccm.cv_model import CouplesCVModel

    ds, truth = averaged_scan
    idx = _particle_pixels(ds, truth)[:2]
    seen = []
    real = batch.fit_many

    def spy(model, *args, **kwargs):
        seen.append(pickle.loads(pickle.dumps(model)))  # what a Dask worker receives
        return real(model, *args, **kwargs)

    monkeypatch.setattr(batch, "fit_many", spy)
    with warnings.catch_warnings():  # one couple fitted to a two-couple scan: ks may be unidentifiable
        warnings.simplefilter("ignore", NbtoolsWarning)
        seccm.fit_pixels(ds, pixels=idx, couples=1, sampling="average", scheduler="sync")
        seccm.fit_pixels(ds, "LavironCV", pixels=idx, window=(3.85, 4.08), sampling="average",
                         scheduler="sync")
    seccm.fit_pixels(ds, CouplesCVModel(couples=2, sampling="average"), pixels=idx, scheduler="sync")
    seccm.fit_pixels(ds, pixels=idx, scheduler="sync")  # default unchanged
    assert [m.sampling for m in seen] == ["average", "average", "average", "point"]
    assert [type(m).__name__ for m in seen] == ["CouplesCVModel", "LavironCVModel", "CouplesCVModel",
                                                "CouplesCVModel"]
    assert seen[0].couples == 1 and seen[0].func.__name__ == "couple_cv_average"
    with pytest.raises(ParameterError, match="sampling.*instance"):
        seccm.fit_pixels(ds, CouplesCVModel(sampling="average"), pixels=idx, sampling="point")
    with pytest.raises(ParameterError, match="no sampling option"):
        seccm.fit_pixels(ds, "FrumkinCV", pixels=idx, sampling="average")
    with pytest.raises(ParameterError, match="sampling"):
        seccm.fit_pixels(ds, pixels=idx, sampling="mean")


def test_couples_cv_average_faradaic_part_is_laviron_average():
    from nbtools.kinetics import laviron_cv
    from nbtools.seccm.cv_model import CouplesCVModel

    ds, _ = seccm_scan(nx=1, ny=1, n_samples=200, seed=1, label=False)
    E = ds.potential.values.astype(float)
    kw = dict(Q1=1e-11, E01=4.0, Q2=8e-12, E02=4.15, ks=3.0, alpha=0.45, C=2e-12, dC=1e-12, ib=1e-13, v=0.5)
    pt, av = CouplesCVModel(), CouplesCVModel(sampling="average")
    diff = av.eval(av.make_params(**kw), E=E) - pt.eval(pt.make_params(**kw), E=E)
    far = sum(laviron_cv(E, q, e, 3.0, 0.45, 0.0, 0.5, sampling="average")
              - laviron_cv(E, q, e, 3.0, 0.45, 0.0, 0.5) for q, e in ((1e-11, 4.0), (8e-12, 4.15)))
    np.testing.assert_allclose(diff, far, atol=1e-9 * np.abs(far).max())  # background identical
    assert np.abs(far).max() > 1e-13
