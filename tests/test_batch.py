"""fit_many: Dask schedulers, failures as NaN + status, both engines."""

import numpy as np
import pytest

from nbtools.batch import fit_many
from nbtools.errors import DataError, ParameterError
from nbtools.kinetics import butler_volmer, pitt_sphere

ETA = np.linspace(-0.15, 0.15, 120)


def _curves(n=24, seed=0):
    rng = np.random.default_rng(seed)
    i0 = 10 ** rng.uniform(-10, -8, n)
    al = rng.uniform(0.3, 0.7, n)
    Y = np.array([butler_volmer(ETA, a, b) for a, b in zip(i0, al)])
    Y += rng.normal(0, 0.005, Y.shape) * np.abs(Y).max(axis=1, keepdims=True)
    return Y, i0, al


def _with_bad(Y):
    Y = Y.copy()
    Y[2] = np.nan  # all-NaN
    Y[5] = 1e-9  # constant
    Y[7, 10:20] = np.nan  # some NaN: omitted
    return Y


@pytest.mark.parametrize("engine", ["fast", "lmfit"])
def test_bad_curves_do_not_abort_the_batch(engine):
    Y, i0, al = _curves()
    df = fit_many("ButlerVolmer", ETA, _with_bad(Y), scheduler="sync", engine=engine)
    assert len(df) == 24 and df.attrs["engine"] == engine
    assert df.loc[2, "status"] == "failed" and "at least 3" in df.loc[2, "message"]
    assert df.loc[5, "status"] == "failed" and "constant" in df.loc[5, "message"]
    assert np.isnan(df.loc[[2, 5], ["i0", "alpha", "i0_stderr", "redchi"]].to_numpy()).all()
    assert not df.loc[[2, 5], "success"].any()
    assert "10 NaN/Inf points omitted" in df.loc[7, "message"]
    good = df.status != "failed"
    assert good.sum() == 22 and df.attrs["n_failed"] == 2
    np.testing.assert_allclose(df.i0[good], i0[good.to_numpy()], rtol=0.05)
    np.testing.assert_allclose(df.alpha[good], al[good.to_numpy()], rtol=0.05)
    assert {"i0_stderr", "alpha_stderr", "redchi", "success", "status", "message"} <= set(df.columns)
    assert df.attrs["units"] == {"i0": "A", "alpha": ""}


def test_engines_agree():
    Y, _, _ = _curves(8, seed=3)
    a = fit_many("ButlerVolmer", ETA, Y, scheduler="sync", engine="fast")
    b = fit_many("ButlerVolmer", ETA, Y, scheduler="sync", engine="lmfit")
    np.testing.assert_allclose(a.i0, b.i0, rtol=1e-4)
    np.testing.assert_allclose(a.alpha_stderr, b.alpha_stderr, rtol=0.02)


def test_default_local_scheduler_and_threads():
    Y, i0, _ = _curves(16, seed=1)
    d = fit_many("ButlerVolmer", ETA, _with_bad(Y))
    assert d.attrs["engine"] == "batch" and d.attrs["scheduler"] == "threads"  # this process, every core
    p = fit_many("ButlerVolmer", ETA, _with_bad(Y), scheduler="processes", chunk_size=3)
    assert p.attrs["engine"] == "batch" and p.attrs["scheduler"] == "processes"
    f = fit_many("ButlerVolmer", ETA, _with_bad(Y), engine="fast")
    assert f.attrs["scheduler"] == "processes"  # per-curve engines: local processes
    s = fit_many("ButlerVolmer", ETA, _with_bad(Y), scheduler="threads", chunk_size=3, engine="fast")
    pd_cols = ["i0", "alpha", "status"]
    assert d[pd_cols].equals(p[pd_cols]) and f[pd_cols].equals(s[pd_cols])
    assert (d.status == "failed").sum() == 2
    np.testing.assert_allclose(d["i0"], f["i0"], rtol=1e-3)


def test_distributed_cluster_address():
    distributed = pytest.importorskip("distributed")
    Y, i0, _ = _curves(8, seed=2)
    with distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        df = fit_many("ButlerVolmer", ETA, _with_bad(Y), scheduler=cluster.scheduler_address)
    assert df.attrs["scheduler"].startswith("distributed:")
    assert (df.status == "failed").sum() == 2
    good = (df.status != "failed").to_numpy()
    np.testing.assert_allclose(df.i0[good], i0[good], rtol=0.05)


def test_ragged_curves_params_index_and_xarray():
    t1, t2 = np.linspace(0.1, 30, 80), np.linspace(0.2, 40, 120)
    ys = [pitt_sphere(t1, 1e-11, 20.0), pitt_sphere(t2, 2e-11, 10.0)]
    ds = fit_many("PITTSphere", [t1, t2], ys, params={"Q": 1e-11, "tau": 15.0}, scheduler="sync",
                  index=["a", "b"], output="xarray")
    assert ds["tau"].sel(curve="b").item() == pytest.approx(10.0, rel=1e-6)
    assert ds["tau"].attrs["units"] == "s"


def test_bad_arguments():
    with pytest.raises(ParameterError, match="scheduler"):
        fit_many("ButlerVolmer", ETA, _curves(4)[0], scheduler=42, chunk_size=1)
    with pytest.raises(DataError, match="curves"):
        fit_many("ButlerVolmer", [ETA, ETA], _curves(3)[0])
    with pytest.raises(ParameterError, match="engine"):
        fit_many("ButlerVolmer", ETA, _curves(3)[0], engine="turbo")


def _cv_batch(n=6, seed=5):
    from nbtools.kinetics import frumkin_cv

    E = np.r_[np.linspace(3.7, 4.3, 301), np.linspace(4.3, 3.7, 301)[1:]]
    rng = np.random.default_rng(seed)
    Q = 10 ** rng.uniform(-12, -9, n)  # three decades of particle charge
    E0 = rng.uniform(3.95, 4.05, n)
    Y = np.array([frumkin_cv(E, q, e0, 0.5, 0.01) for q, e0 in zip(Q, E0)])
    Y += rng.normal(0, 0.01, Y.shape) * np.abs(Y).max(axis=1, keepdims=True)
    return E, Y, Q, E0


@pytest.mark.parametrize("engine", ["fast", "lmfit"])
def test_cv_batch_guesses_per_curve_with_only_scan_rate(engine):
    from nbtools.kinetics import MODELS

    E, Y, Q, E0 = _cv_batch()
    df = fit_many("FrumkinCV", E, Y, params={"v": 0.01}, scheduler="sync", engine=engine)
    assert (df.status != "failed").all() and df.success.all()
    np.testing.assert_allclose(df.Q, Q, rtol=0.03)
    np.testing.assert_allclose(df.E0, E0, atol=2e-3)
    np.testing.assert_allclose(df.g, 0.5, atol=0.1)
    # lmfit.Parameters: bounds and fixed values kept, the varying ones start from the guess
    pars = MODELS["FrumkinCV"].make_params(v=0.01)
    pars["g"].set(value=0.5, vary=False)
    dp = fit_many("FrumkinCV", E, Y, params=pars, scheduler="sync", engine=engine)
    np.testing.assert_allclose(dp.Q, Q, rtol=0.03)
    assert "g" not in dp.columns or dp["g"].isna().all()  # fixed: not a fitted column
    # guess=False: every curve starts from the same defaults, and most do not converge
    bad = fit_many("FrumkinCV", E, Y, params={"v": 0.01}, scheduler="sync", engine=engine,
                   guess=False)
    assert np.sum(np.abs(bad.Q / Q - 1) < 0.03) < len(Q)
    with pytest.raises(ParameterError, match="guess"):
        fit_many("FrumkinCV", E, Y, params={"v": 0.01}, guess="maybe")


def test_fast_engine_moves_a_parameter_started_mid_bounds():
    # alpha starts at 0.5, the middle of its bounds (0.05, 0.95): its internal (arcsine)
    # value rounds to ~1e-16, and MINPACK's relative difference step never moved it
    from nbtools.kinetics import laviron_cv

    E = np.r_[np.linspace(3.7, 4.3, 301), np.linspace(4.3, 3.7, 301)[1:]]
    rng = np.random.default_rng(0)
    truth = [(3e-11, 0.15, 0.4), (1e-10, 0.3, 0.6)]
    Y = np.array([laviron_cv(E, q, 4.0, ks, a, 0.0, 0.01) for q, ks, a in truth])
    Y += rng.normal(0, 0.005, Y.shape) * np.abs(Y).max(axis=1, keepdims=True)
    df = fit_many("LavironCV", E, Y, params={"v": 0.01}, scheduler="sync", engine="fast")
    np.testing.assert_allclose(df.alpha, [a for *_, a in truth], atol=0.02)
    np.testing.assert_allclose(df.ks, [k for _, k, _ in truth], rtol=0.05)
    assert np.isfinite(df.alpha_stderr).all() and (df.alpha_stderr > 0).all()


def _no_numbers(text):
    import re

    return re.sub(r"[-+]?\d+(\.\d+)?(e[-+]?\d+)?", "#", text)


def test_fast_engine_reports_the_kinetics_checks():
    """Both engines word their warnings by nbtools.kinetics.check_values (one implementation)."""
    from nbtools.kinetics import MODELS

    hint = f"({MODELS['ButlerVolmer'].hints})"
    stuck = butler_volmer(ETA, 1e-9, 0.97) * (1 + 1e-3 * np.sin(ETA * 100))  # alpha bound 0.95
    eta = np.linspace(0.25, 0.35, 120)  # one Tafel branch: i0 and alpha correlated
    tafel = butler_volmer(eta, 1e-9, 0.5) * (1 + 1e-3 * np.cos(eta * 300))
    msgs = {}
    for engine in ("fast", "lmfit"):
        a = fit_many("ButlerVolmer", ETA, stuck[None], scheduler="sync", engine=engine)
        b = fit_many("ButlerVolmer", eta, tafel[None], scheduler="sync", engine=engine)
        msgs[engine] = (a.loc[0, "message"], b.loc[0, "message"])
        assert (a.status == "warning").all() and (b.status == "warning").all()
    fast, slow = msgs["fast"], msgs["lmfit"]
    assert "parameter 'alpha' = 0.95 is stuck at its upper bound" in fast[0]
    assert "fitted alpha = 0.95 is outside the physically plausible range" in fast[0]  # no unit gap
    assert "parameters 'i0' and 'alpha' are strongly correlated" in fast[1]
    assert "the data determine only a combination of them" in fast[1]
    for m in fast + slow:
        assert m.count(hint) <= 1, m  # the model's hint said once per curve
    # same checks, same words; only the numbers of the two optimisers may differ
    assert [_no_numbers(m) for m in fast] == [_no_numbers(m) for m in slow]


def test_one_bound_tolerance_for_both_engines():
    from nbtools.kinetics.fitting import BOUND_RTOL, check_values

    free = {"biot": (0.0, 1e4)}
    # a fraction of the span: 0.5 in (0, 1e4) is a value, not a stuck parameter
    assert BOUND_RTOL <= 1e-6
    assert check_values({"biot": 0.5}, free) == []
    at = check_values({"biot": 1e4 * (1 - 1e-8)}, free)
    assert len(at) == 1 and "stuck at its upper bound" in at[0]
    assert any("stuck at its lower bound" in m for m in check_values({"biot": 0.5}, free, bound_rtol=1e-4))
