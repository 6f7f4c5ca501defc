"""fit(): bad input, warnings, confidence intervals and their coverage."""

import json

import lmfit
import numpy as np
import pytest

from nbtools.errors import DataError, FitError, NbtoolsWarning, ParameterError
from nbtools.kinetics import MODELS, butler_volmer, confidence_intervals, fit

ETA = np.linspace(-0.15, 0.15, 200)


def _bv(seed=0, noise=0.02, i0=2e-9, alpha=0.4):
    rng = np.random.default_rng(seed)
    y = butler_volmer(ETA, i0, alpha)
    return y + rng.normal(0, noise * np.abs(y).max(), y.size)


def test_interval_coverage_about_95_percent():
    """100 seeded repeats: the 95 % intervals cover the truth in 88-99 % of them."""
    hits = {"i0": 0, "alpha": 0}
    n = 100
    for seed in range(n):
        res = fit("ButlerVolmer", ETA, _bv(seed))
        for k, v in (("i0", 2e-9), ("alpha", 0.4)):
            lo, hi = res.ci.loc[k, ["lower", "upper"]]
            hits[k] += lo <= v <= hi
    for k, h in hits.items():
        assert 0.88 <= h / n <= 0.99, (k, h)


def test_profile_and_bootstrap_intervals_agree_with_stderr():
    res = fit("ButlerVolmer", ETA, _bv(1))
    a = confidence_intervals(res, 0.95, method="stderr")
    b = confidence_intervals(res, 0.95, method="conf_interval")
    c = confidence_intervals(res, 0.95, method="bootstrap", n_boot=60, seed=0)
    for k in ("i0", "alpha"):
        w = a.loc[k, "upper"] - a.loc[k, "lower"]
        assert b.loc[k, "upper"] - b.loc[k, "lower"] == pytest.approx(w, rel=0.1)
        assert c.loc[k, "upper"] - c.loc[k, "lower"] == pytest.approx(w, rel=0.4)
    assert list(a["unit"]) == ["A", ""]


def test_recovery_within_5_percent():
    res = fit("ButlerVolmer", ETA, _bv(5))
    assert res.params["i0"].value == pytest.approx(2e-9, rel=0.05)
    assert res.params["alpha"].value == pytest.approx(0.4, rel=0.05)


def test_inputs_not_modified():
    y = _bv(2)
    y0 = y.copy()
    p = MODELS["ButlerVolmer"].make_params(i0=1e-9)
    fit("ButlerVolmer", ETA, y, p)
    np.testing.assert_array_equal(y, y0)
    assert p["i0"].value == 1e-9


@pytest.mark.parametrize("x,match", [
    (np.r_[ETA[:100], ETA[:100]], "duplicated|turns"),
    (np.r_[ETA[:150], ETA[150:][::-1]], "monotonic"),
])
def test_bad_x_order(x, match):
    with pytest.raises(DataError, match=match):
        fit("ButlerVolmer", x, _bv(0)[: x.size])


def test_duplicated_x():
    x = ETA.copy()
    x[10] = x[9]
    with pytest.raises(DataError, match="duplicated"):
        fit("ButlerVolmer", x, _bv(0))


def test_time_must_increase():
    t = np.linspace(0.1, 10, 50)[::-1]
    with pytest.raises(DataError, match="strictly increasing"):
        fit("PITTSphere", t, np.exp(-t))


def test_nan_in_data():
    y = _bv(0)
    y[[5, 17]] = np.nan
    with pytest.raises(DataError, match="2 of 200 points have NaN.*index 5.*nan_policy='omit'"):
        fit("ButlerVolmer", ETA, y)
    res = fit("ButlerVolmer", ETA, y, nan_policy="omit")
    assert res.ndata == 198


def test_millivolts_given_as_volts():
    with pytest.raises(DataError, match="milli-units"):
        fit("ButlerVolmer", ETA * 1e3, _bv(0))


def test_milliamps_given_as_amps_warns():
    # a current 1000x too large pushes i0 out of the single-entity plausible range
    y = _bv(0, i0=2e-5) * 1e3
    with pytest.warns(NbtoolsWarning, match="plausible range.*mA"):
        fit("ButlerVolmer", ETA, y)


def test_bounds_excluding_initial_value():
    with pytest.raises(ParameterError, match="outside its bounds"):
        fit("ButlerVolmer", ETA, _bv(0), params={"alpha": {"value": 0.99, "min": 0.1, "max": 0.9}})
    p = lmfit.Parameters()
    p.add("i0", value=1e-9, min=0)
    p.add("alpha", value=1.2, min=0.1, max=0.9)  # lmfit silently clips this to 0.9
    p.add("T", value=298.15, vary=False)
    with pytest.raises(ParameterError, match="sits on its bound"):
        fit("ButlerVolmer", ETA, _bv(0), p)
    with pytest.raises(ParameterError, match="min .* > max"):
        fit("ButlerVolmer", ETA, _bv(0), params={"alpha": {"value": 0.5, "min": 0.9, "max": 0.1}})


def test_unknown_model_and_parameter():
    with pytest.raises(ParameterError, match="not in nbtools.kinetics.MODELS"):
        fit("ButlerVolmr", ETA, _bv(0))
    with pytest.raises(ParameterError, match="unknown parameter 'k0'"):
        fit("ButlerVolmer", ETA, _bv(0), params={"k0": 1.0})


def test_constant_and_too_short_data():
    with pytest.raises(DataError, match="constant"):
        fit("ButlerVolmer", ETA, np.full(ETA.size, 1e-9))
    with pytest.raises(DataError, match="at least 3"):
        fit("ButlerVolmer", ETA[:2], _bv(0)[:2])
    with pytest.raises(DataError, match="equal length"):
        fit("ButlerVolmer", ETA, _bv(0)[:-1])


def test_model_nan_at_start_is_fit_error():
    # huge overpotential with large alpha overflows the exponential
    eta = np.linspace(2.0, 2.9, 50)
    with pytest.raises(FitError, match="NaN/Inf"):
        fit("ButlerVolmer", eta, np.linspace(1, 2, 50), params={"i0": 1e300, "alpha": 0.9})


def test_stuck_at_bound_and_correlation_warnings():
    # data from alpha = 0.97 with the upper bound at 0.95
    y = butler_volmer(ETA, 1e-9, 0.97)
    with pytest.warns(NbtoolsWarning) as rec:
        fit("ButlerVolmer", ETA, y * (1 + 1e-3 * np.sin(ETA * 100)))
    assert any("stuck at its upper bound" in str(w.message) for w in rec)
    # only the anodic Tafel branch far from E_eq: i0 and alpha correlated
    eta = np.linspace(0.25, 0.35, 50)
    y = butler_volmer(eta, 1e-9, 0.5)
    with pytest.warns(NbtoolsWarning, match="strongly correlated"):
        fit("ButlerVolmer", eta, y * (1 + 1e-3 * np.cos(eta * 300)))


def test_result_is_serialisable():
    res = fit("ButlerVolmer", ETA, _bv(3))
    d = json.loads(res.params.dumps())
    assert "i0" in json.dumps(d)
    assert res.nb_entry == "ButlerVolmer"
    assert set(res.ci.columns) >= {"value", "stderr", "lower", "upper", "level", "method", "unit"}


def test_dict_params_start_from_guess_and_trace_input():
    from nbtools import Trace
    from nbtools.kinetics import frumkin_cv, impact_kinetic

    E = np.r_[np.linspace(3.7, 4.3, 601), np.linspace(4.3, 3.7, 601)[1:]]
    y = frumkin_cv(E, 5e-11, 4.0, 0.3, 0.005)
    res = fit("FrumkinCV", E, y, params={"v": 0.005})  # the scan rate is all a user must give
    assert res.params["Q"].value == pytest.approx(5e-11, rel=1e-3)
    assert not res.params["v"].vary
    fs = 1e5
    t = np.arange(2000) / fs
    tr = Trace(impact_kinetic(t, 2e-15, 800.0, 2e-3) + 1e-13 * np.sin(t * 1e4), fs=fs)
    with pytest.warns(NbtoolsWarning, match="residuals are strongly correlated"):  # the sine
        res = fit("ImpactKinetic", tr)
    assert res.params["Q"].value == pytest.approx(2e-15, rel=0.05)
    assert res.params["k"].value == pytest.approx(800.0, rel=0.05)


def test_check_result_flags_serially_correlated_residuals():
    """A converged fit of the wrong model: residuals follow a shape, not noise."""
    from nbtools.batch import fit_many
    from nbtools.kinetics import check_result, pitt_sphere, pitt_sphere_biot

    t = np.linspace(0.05, 40, 400)
    rng = np.random.default_rng(4)
    clean = pitt_sphere_biot(t, 1e-11, 10.0, 2.0)  # finite surface kinetics
    y = clean + rng.normal(0, 5e-4 * clean.max(), t.size)
    with pytest.warns(NbtoolsWarning, match="residuals are strongly correlated"):
        wrong = fit("PITTSphere", t, y)  # Nernstian model: converges, wrong shape
    assert wrong.success and wrong.nb_residual_r1 > 0.6 and len(wrong.nb_warnings) == 1
    assert any("residuals" in m for m in wrong.nb_warnings)
    assert any("residuals" in m for m in check_result(wrong, warn=False))
    right = fit("PITTSphere", t, pitt_sphere(t, 1e-11, 20.0) + rng.normal(0, 2e-14, t.size))
    assert abs(right.nb_residual_r1) < 0.3 and not right.nb_warnings
    exact = fit("PITTSphere", t, pitt_sphere(t, 1e-11, 20.0))  # rounding-error residuals
    assert not any("residuals" in m for m in exact.nb_warnings)
    # the batch engines flag it the same way
    for engine in ("fast", "lmfit"):
        df = fit_many("PITTSphere", t, np.array([y, pitt_sphere(t, 1e-11, 20.0)
                                                 + rng.normal(0, 2e-14, t.size)]),
                      scheduler="sync", engine=engine)
        assert "residuals are strongly correlated" in df.loc[0, "message"], engine
        assert "residuals" not in df.loc[1, "message"], engine


def test_fit_guess_option_with_parameters():
    from nbtools.kinetics import frumkin_cv

    E = np.r_[np.linspace(3.7, 4.3, 301), np.linspace(4.3, 3.7, 301)[1:]]
    y = frumkin_cv(E, 3e-10, 4.02, 0.5, 0.01)
    y = y + np.random.default_rng(2).normal(0, 0.01 * np.abs(y).max(), y.size)
    pars = MODELS["FrumkinCV"].make_params(v=0.01)
    pars["g"].set(value=0.5, vary=False)
    res = fit("FrumkinCV", E, y, pars, guess=True)  # varying ones from the guess
    assert res.params["Q"].value == pytest.approx(3e-10, rel=0.02)
    assert res.params["g"].value == 0.5 and not res.params["g"].vary
    assert pars["Q"].value == MODELS["FrumkinCV"].params["Q"].value  # input not modified
    with pytest.raises(ParameterError, match="guess"):
        fit("FrumkinCV", E, y, pars, guess="auto")
