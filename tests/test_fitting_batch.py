"""The batched least-squares engine (nbtools.fitting): agreement with lmfit, statuses, ragged curves."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbtools.batch import fit_many
from nbtools.errors import DataError, ParameterError
from nbtools.fitting import batch_model, fit_batch, gpu_available, least_squares_batch
from nbtools.fitting.models import guess_i0_alpha
from nbtools.kinetics import MODELS, butler_volmer

ETA = np.linspace(-0.15, 0.15, 120)


def bv_curves(n, seed=0, noise=0.01):
    rng = np.random.default_rng(seed)
    i0 = 10 ** rng.uniform(-10, -8, n)
    al = rng.uniform(0.3, 0.7, n)
    Y = butler_volmer(ETA[None, :], i0[:, None], al[:, None])
    return i0, al, Y + rng.normal(0, noise, Y.shape) * np.abs(Y).max(axis=1, keepdims=True)


def test_bv_agrees_with_lmfit_and_exact_covariance():
    i0, al, Y = bv_curves(40)
    b = fit_batch("ButlerVolmer", ETA, Y)
    ref = fit_many("ButlerVolmer", ETA, Y, scheduler="sync", engine="lmfit")
    assert (b["fit_status"] == "converged").all() and (b["status"] == ref["status"]).all()
    for c in ("i0", "alpha"):
        assert np.max(np.abs(b[c] / ref[c] - 1)) < 1e-3
    # alpha's error agrees with lmfit; i0's lmfit error comes from finite differences in its
    # bound-transformed variable: compare with the exact covariance of the analytic Jacobian
    assert np.max(np.abs(b["alpha_stderr"] / ref["alpha_stderr"] - 1)) < 0.05
    assert np.median(np.abs(b["i0_stderr"] / ref["i0_stderr"] - 1)) < 0.05
    P = np.c_[b["i0"], b["alpha"], np.full(len(b), 298.15)]
    J = batch_model("ButlerVolmer").jac(ETA, P, np, (0, 1))
    R = butler_volmer(ETA[None, :], P[:, :1], P[:, 1:2]) - Y
    cov = np.linalg.inv(np.einsum("nmi,nmj->nij", J, J)) * ((R ** 2).sum(1) / (ETA.size - 2))[:, None, None]
    assert np.allclose(np.sqrt(cov[:, 0, 0]), b["i0_stderr"], rtol=1e-8)
    assert np.median(np.abs(b["i0"] / i0 - 1)) < 0.01


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_registry_model_matches_the_lmfit_engine(name):
    entry = MODELS[name]
    if entry.example_spec is None:
        pytest.skip("no example")
    ex = [entry.example(noise=0.01, seed=s) for s in range(3)]
    x = ex[0]["x"]
    Y = np.array([e["y"] for e in ex])
    fixed = {k: v for k, v in ex[0]["truth"].items() if not entry.params[k].vary}
    b = fit_batch(name, x, Y, params=fixed or None)
    ref = fit_many(name, x, Y, params=fixed or None, scheduler="sync", engine="lmfit")
    assert (b["fit_status"] == "converged").all(), b[["fit_status", "message"]]
    # transients with a landing time t0 have local minima one sample apart: both optimisers are
    # local, so only curves where they reach the same residuals are compared there
    same = np.isclose(b["chisqr"], ref["chisqr"], rtol=1e-6, atol=0)
    if batch_model(name).multimodal:
        # fit_many's default does not use the batch engine for these (MINPACK per curve)
        assert fit_many(name, x, Y, params=fixed or None).attrs["engine"] == "fast"
    else:
        assert same.all(), (b["chisqr"], ref["chisqr"])
    free = [p for p in entry.params if entry.params[p].vary and p in b.columns]
    for p in free:
        assert np.allclose(b.loc[same, p], ref.loc[same, p], rtol=1e-3, atol=1e-3 * np.abs(ref[p]).max()), p


def test_ragged_curves_and_nan_points_equal_single_fits():
    i0, al, Y = bv_curves(5, seed=3)
    xs = [ETA[: 60 + 10 * k] for k in range(5)]
    ys = [Y[k, : 60 + 10 * k].copy() for k in range(5)]
    ys[2][7] = np.nan
    b = fit_batch("ButlerVolmer", xs, ys)
    for k in range(5):
        one = fit_batch("ButlerVolmer", xs[k], ys[k][None, :])
        assert np.isclose(b["i0"][k], one["i0"][0], rtol=1e-9)
    assert b["status"][2] == "warning" and "1 NaN/Inf points omitted" in b["message"][2]
    r = fit_batch("ButlerVolmer", xs, ys, nan_policy="raise")
    assert r["status"][2] == "failed" and "nan_policy" in r["message"][2] and r["status"][4] == "ok"


def test_failed_curves_are_rows_not_errors():
    _, _, Y = bv_curves(3, seed=1)
    Y[1] = 1e-9  # constant: nothing to fit
    Y[2, :] = np.nan
    b = fit_batch("ButlerVolmer", ETA, Y)
    assert list(b["status"]) == ["ok", "failed", "failed"]
    assert "constant" in b["message"][1] and "at least 3" in b["message"][2]
    assert np.isnan(b.loc[1, "i0"]) and b.loc[1, "nfev"] == 0 and not b.loc[1, "success"]


def test_fixed_parameters_and_bounds():
    i0, al, Y = bv_curves(6, seed=2)
    b = fit_batch("ButlerVolmer", ETA, Y, params={"alpha": {"value": 0.5, "vary": False}})
    assert "alpha" not in b.columns and (b["fit_status"] == "converged").all()
    # a bound the truth lies outside of: stuck there, said so
    b = fit_batch("ButlerVolmer", ETA, Y, params={"alpha": {"value": 0.2, "min": 0.05, "max": 0.25}})
    assert (b["fit_status"] == "at_bound").all() and b["message"].str.contains("stuck at its upper bound").all()
    assert (b["alpha"] <= 0.25).all()


def test_chunking_and_threads_do_not_change_results():
    _, _, Y = bv_curves(50, seed=4)
    a = fit_batch("ButlerVolmer", ETA, Y, chunk_size=7, n_workers=2)
    b = fit_batch("ButlerVolmer", ETA, Y, chunk_size=1000, n_workers=1)
    assert np.array_equal(a["i0"].to_numpy(), b["i0"].to_numpy())


def test_batch_guess_equals_one_curve_guess():
    from nbtools.kinetics import ButlerVolmerModel

    _, _, Y = bv_curves(20, seed=5)
    i0, al = guess_i0_alpha(ETA, Y, 298.15)
    m = ButlerVolmerModel()
    for k in range(20):
        g = m.guess_values(Y[k], ETA)
        assert np.isclose(g["i0"], i0[k], rtol=1e-9) and np.isclose(g["alpha"], al[k], rtol=1e-9)


def test_engine_on_a_plain_function_with_fd_jacobian():
    # exponential decays a exp(-t/tau) + c: the engine alone, forward differences
    t = np.linspace(0, 5, 80)
    rng = np.random.default_rng(0)
    P = np.c_[rng.uniform(1, 3, 30), rng.uniform(0.5, 2, 30), rng.uniform(-0.1, 0.1, 30)]
    f = lambda x, Q: Q[:, :1] * np.exp(-x[None, :] / Q[:, 1:2]) + Q[:, 2:3]  # noqa: E731
    Y = f(t, P) + rng.normal(0, 1e-3, (30, t.size))
    r = least_squares_batch(f, np.tile([1.0, 1.0, 0.0], (30, 1)), t, Y, lower=[0, 1e-3, -1], upper=[10, 10, 1])
    assert (r.status_names == "converged").all()
    assert np.allclose(r.params, P, atol=0.02)


def test_bad_arguments():
    _, _, Y = bv_curves(2)
    with pytest.raises(ParameterError, match="backend"):
        fit_batch("ButlerVolmer", ETA, Y, backend="tpu")
    with pytest.raises(DataError, match="x has"):
        fit_batch("ButlerVolmer", ETA[:10], Y)
    with pytest.raises(ParameterError, match="unknown parameter"):
        fit_batch("ButlerVolmer", ETA, Y, params={"k0": 1})
    if not gpu_available():
        with pytest.raises(ParameterError, match="GPU"):
            fit_batch("ButlerVolmer", ETA, Y, backend="cupy")


@pytest.mark.skipif(not gpu_available(), reason="no CUDA GPU with CuPy on this machine")
def test_gpu_backend_matches_numpy():
    _, _, Y = bv_curves(200, seed=6)
    a = fit_batch("ButlerVolmer", ETA, Y, backend="numpy")
    b = fit_batch("ButlerVolmer", ETA, Y, backend="cupy")
    assert b.attrs["backend"] == "cupy"
    assert np.allclose(a["i0"], b["i0"], rtol=1e-6)


@settings(max_examples=15, deadline=None)
@given(scale=st.floats(1e-3, 1e3), seed=st.integers(0, 100))
def test_property_current_scale(scale, seed):
    """Scaling every current scales i0 and its error; alpha does not move."""
    _, _, Y = bv_curves(3, seed=seed)
    a = fit_batch("ButlerVolmer", ETA, Y)
    b = fit_batch("ButlerVolmer", ETA, Y * scale)
    assert np.allclose(b["i0"], a["i0"] * scale, rtol=1e-5)
    assert np.allclose(b["alpha"], a["alpha"], rtol=1e-5)
    assert np.allclose(b["i0_stderr"], a["i0_stderr"] * scale, rtol=1e-4)


def test_fused_kernel_equals_array_path():
    """The numba point kernels (one pass, normal equations in place) against the NumPy array path."""
    from nbtools.fitting import _kernels

    _, _, Y = bv_curves(30, seed=8)
    Y[3, 5] = np.nan
    for name, point in (("ButlerVolmer", _kernels.POINTS["bv_point"]), ("Tafel", _kernels.POINTS["tafel_point"])):
        bm = batch_model(name)
        p0 = np.tile([1e-9, 0.5, 298.15], (30, 1))
        kw = dict(lower=[0, 0.05, 1], upper=[np.inf, 0.95, 2000], free=[True, True, False])
        f = lambda x, P: bm.f(x, P, np)  # noqa: E731
        jac = lambda x, P, c: bm.jac(x, P, np, c)  # noqa: E731
        a = least_squares_batch(f, p0, ETA, Y, jac=jac, **kw)
        b = least_squares_batch(f, p0, ETA, Y, jac=jac, point=point, **kw)
        assert np.array_equal(a.status, b.status)
        assert np.allclose(a.params, b.params, rtol=1e-9)
        assert np.allclose(a.stderr, b.stderr, rtol=1e-6, equal_nan=True)
        assert np.allclose(a.resid_r1, b.resid_r1, rtol=1e-9, equal_nan=True)


def test_couples_form_chunking_invariance_and_guess():
    """SECCM whole-cycle model: the vectorised guess equals the model's own, and a pixel's fit
    does not depend on the other pixels of its batch (bit for bit)."""
    from pathlib import Path

    from nbtools import seccm
    from nbtools.fitting.couples import guess_couples
    from nbtools.kinetics import CouplesCVModel

    data = Path(__file__).resolve().parents[1] / "data"
    ds = seccm.load(data / "seccm_example.nc")
    truth = np.load(data / "seccm_example_truth.npz")
    part = np.flatnonzero(truth["particle"][ds.iy.values, ds.ix.values] & (ds.status.values == "landed"))
    E = seccm.pixel_curve(ds, 0)[0]
    Y = np.array([seccm.pixel_curve(ds, p)[1] for p in part[::30][:12]])
    g = guess_couples(E, Y, 2, 0.5, 298.15)
    m = CouplesCVModel(couples=2)
    for k in (0, 7):
        one = m.guess_values(Y[k], E, v=0.5)
        for name, val in one.items():
            assert np.isclose(g[name][k], val, rtol=1e-12, atol=0), name
    pr = {"v": {"value": 0.5, "vary": False}}
    a = fit_batch(m, E, Y, params=pr)
    b = fit_batch(m, E, Y[5:6], params=pr)
    assert a.attrs["form"] == "couples" and (a["fit_status"] == "converged").sum() >= 10
    assert np.array_equal(a.iloc[5][["E01", "ks", "Q1"]].to_numpy(float), b.iloc[0][["E01", "ks", "Q1"]].to_numpy(float))


def test_jacobian_normal_kernel_equals_einsum():
    """J^T J and J^T r of a stored Jacobian, with the engine's scaling and mask, against NumPy."""
    from nbtools.fitting._kernels import jacobian_normal

    rng = np.random.default_rng(4)
    n, m, k = 7, 50, 4
    J, r = rng.normal(size=(n, m, k)), rng.normal(size=(n, m))
    G, W, ys = rng.uniform(0.5, 2, (n, k)), rng.uniform(0.5, 2, (n, m)), rng.uniform(1, 3, n)
    M = rng.uniform(size=(n, m)) > 0.2
    J[0, 3, 1] = np.nan  # a non-finite derivative counts as 0
    r = np.where(M, r, 0.0)
    A, g = np.empty((n, k, k)), np.empty((n, k))
    jacobian_normal(J, G, W, M, ys, r, A, g)
    Js = np.nan_to_num(J) * G[:, None, :] * (W / ys[:, None])[:, :, None] * M[:, :, None]
    assert np.allclose(A, np.einsum("nmi,nmj->nij", Js, Js), rtol=1e-12)
    assert np.allclose(g, np.einsum("nmi,nm->ni", Js, r), rtol=1e-12)


def test_couples_memo_serves_a_subset_of_rows_exactly():
    """The engine asks for the Jacobian at the accepted rows of its last trial: the memorised unit
    rates must be those of exactly these rows (same values as a fresh evaluation)."""
    from nbtools.fitting.couples import couples_form
    from nbtools.kinetics import CouplesCVModel

    E = np.r_[np.linspace(3.7, 4.4, 80), np.linspace(4.4, 3.7, 80)]
    names, f, jac = couples_form(CouplesCVModel(couples=2))
    rng = np.random.default_rng(2)
    P = np.tile([1e-11, 3.95, 1e-11, 4.1, 1.0, 0.5, 1e-9, 0.0, 0.0, 0.5, 298.15], (6, 1))
    P[:, 1] += rng.uniform(-0.05, 0.05, 6)
    P[:, 4] = 10 ** rng.uniform(-1, 1, 6)
    X = np.tile(E, (6, 1))
    f(X, P)
    rows = np.array([1, 4, 5])
    served = jac(X[rows], P[rows])
    _, f2, jac2 = couples_form(CouplesCVModel(couples=2))  # a fresh memo
    assert np.array_equal(served, jac2(X[rows], P[rows]))
    P2 = P[rows].copy()
    P2[0, 4] *= 1.5  # not a row of the last call: computed afresh
    assert np.array_equal(jac(X[rows], P2), jac2(X[rows], P2))


def test_two_couples_on_one_couple_data_converge_as_not_determined():
    """A degenerate fit (two couples where the data have one) ends with the second couple not
    determined, not as a failed fit that ran to the iteration limit: the determined directions
    are converged and its cost is that of the one-couple fit."""
    from nbtools import seccm
    from nbtools.kinetics import CouplesCVModel
    from nbtools.simulate import seccm_scan

    ds, truth = seccm_scan(nx=5, ny=4, n_samples=300, seed=3, e_low=-0.9, e_high=-0.2, e0=(-0.55,),
                           noise=0.2e-12, failed_fraction=0.0, no_contact_fraction=0, saturated_fraction=0,
                           noisy_fraction=0, coverage=0.5)
    on = np.flatnonzero(truth["particle"][ds.iy.values, ds.ix.values] & (ds.status.values == "landed"))
    E = [seccm.pixel_curve(ds, p)[0] for p in on]
    Y = [seccm.pixel_curve(ds, p)[1] for p in on]
    pr = {"v": {"value": float(ds.attrs["scan_rate"]), "vary": False}}
    two = fit_many(CouplesCVModel(couples=2, sampling="average"), E, Y, pr)
    one = fit_many(CouplesCVModel(couples=1, sampling="average"), E, Y, pr)
    assert len(on) >= 8 and (two["fit_status"] != "max_iter").all()
    assert (two["fit_status"] == "not_determined").mean() >= 0.5
    assert (two["chisqr"] <= one["chisqr"] * 1.001).all()  # the extra couple never fits worse
    assert two["nfev"].max() < 100
