"""Interfacial kinetics: closed forms against independent numerics, fits, properties."""

from contextlib import nullcontext

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from nbtools.errors import NbtoolsWarning
from nbtools.kinetics import (
    butler_volmer,
    butler_volmer_mt,
    chidsey_rate,
    fit,
    marcus_hush_chidsey,
    marcus_hush_chidsey_zeng,
    tafel,
    zeng_rate,
)

F_RT = 96485.33212 / (8.314462618 * 298.15)


def _chidsey_quad(eta_t, lam_t):
    c = lam_t + eta_t

    def fn(x):
        return np.exp(-((x - c) ** 2) / (4 * lam_t) - np.logaddexp(0.0, x))

    lo, hi = c - 2 * lam_t - 12 * np.sqrt(lam_t) - 40, c + 12 * np.sqrt(lam_t) + 40
    pts = [0.0] if lo < 0 < hi else None
    return quad(fn, lo, hi, points=pts, limit=400, epsabs=0, epsrel=1e-12)[0]


@pytest.mark.parametrize("lam_t", [0.8, 3.0, 8.3, 20.0, 80.0])
def test_chidsey_vectorised_matches_adaptive_quadrature(lam_t):
    et = np.array([-60.0, -20.0, -3.0, -0.5, 0.0, 0.7, 4.0, 25.0, 60.0])
    ref = np.array([_chidsey_quad(e, lam_t) for e in et])
    np.testing.assert_allclose(chidsey_rate(et, lam_t), ref, rtol=1e-9)


def test_chidsey_reference_number():
    # kinetics.md 6.2 [N]: k(0; 8.3) = 0.32089 exact, 0.30708 Zeng
    assert chidsey_rate(0.0, 8.3) == pytest.approx(0.32089, abs=1e-5)
    assert zeng_rate(0.0, 8.3) == pytest.approx(0.30708, abs=1e-5)


@pytest.mark.parametrize("lam_t", [8.3, 10.0, 15.0])
def test_zeng_within_5_percent_inside_its_validity_range(lam_t):
    et = np.linspace(-40, 40, 401)
    err = np.max(np.abs(zeng_rate(et, lam_t) / chidsey_rate(et, lam_t) - 1))
    assert err < 0.05


@pytest.mark.parametrize("lam_t,min_err", [(1.0, 0.10), (20.0, 0.08), (40.0, 0.25), (80.0, 0.5)])
def test_zeng_fails_outside_validity_range(lam_t, min_err):
    """Where the closed form stops being valid (kinetics.md 1.4 table)."""
    et = np.linspace(-40, 40, 401)
    err = np.max(np.abs(zeng_rate(et, lam_t) / chidsey_rate(et, lam_t) - 1))
    assert err > min_err


def test_mhc_long_input_interpolation_accuracy():
    eta = np.linspace(-0.8, 0.8, 3000)
    for lam in (0.05, 0.3, 1.5):
        lt, et = lam * F_RT, eta * F_RT
        k0 = chidsey_rate(0.0, lt)
        ref = (chidsey_rate(-et, lt) - chidsey_rate(et, lt)) / k0
        got = marcus_hush_chidsey(eta, 1.0, lam)
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-9)


def test_mhc_normalised_like_butler_volmer_near_equilibrium():
    # i0 means the same: small-eta slope di/deta = i0 f for both (alpha = 1/2)
    eta = np.array([-1e-4, 1e-4])
    for lam in (0.1, 0.3, 1.0):
        s_mhc = np.diff(marcus_hush_chidsey(eta, 2e-9, lam))[0] / 2e-4
        s_bv = np.diff(butler_volmer(eta, 2e-9, 0.5))[0] / 2e-4
        assert s_mhc == pytest.approx(s_bv, rel=1e-4)
    # and MHC ~ BV(alpha=1/2) for |eta| << lam
    eta = np.linspace(-0.03, 0.03, 7)
    np.testing.assert_allclose(marcus_hush_chidsey(eta, 1e-9, 1.5), butler_volmer(eta, 1e-9, 0.5),
                               rtol=0.02)
    np.testing.assert_allclose(marcus_hush_chidsey_zeng(eta, 1e-9, 0.3)[3], 0.0, atol=1e-20)


def test_bv_reference_values():
    # Tafel slope 59.16 mV/dec at alpha = 1 (kinetics.md 1.3)
    i1, i2 = butler_volmer(np.array([0.3, 0.3 + 0.05916]), 1e-9, 1.0 - 1e-12)
    assert i2 / i1 == pytest.approx(10.0, rel=1e-3)
    # back reaction / forward reaction = exp(-f eta): 1 % at 118 mV (4.6 RT/F)
    eta = 0.1183
    back = 1 - butler_volmer(eta, 1e-9, 0.5) / tafel(eta, 1e-9, 0.5)
    assert back == pytest.approx(0.010, abs=2e-4)


def test_tafel_matches_bv_beyond_120mV_only():
    eta = np.r_[np.linspace(-0.4, -0.12, 30), np.linspace(0.12, 0.4, 30)]
    np.testing.assert_allclose(tafel(eta, 1e-9, 0.4), butler_volmer(eta, 1e-9, 0.4), rtol=0.01)
    near = np.array([0.03])
    assert abs(tafel(near, 1e-9, 0.5)[0] / butler_volmer(near, 1e-9, 0.5)[0] - 1) > 0.2


def test_bv_mass_transport_limits():
    eta = np.array([-1.0, 0.0, 1.0])
    i = butler_volmer_mt(eta, 1e-9, 0.5, 3e-9, -5e-9)
    assert i[0] == pytest.approx(-5e-9, rel=1e-6)
    assert i[1] == 0.0
    assert i[2] == pytest.approx(3e-9, rel=1e-6)
    # huge limiting currents -> plain BV
    e = np.linspace(-0.1, 0.1, 11)
    np.testing.assert_allclose(butler_volmer_mt(e, 1e-9, 0.4, 1e3, -1e3), butler_volmer(e, 1e-9, 0.4),
                               rtol=1e-6)
    # the explicit form solves the implicit surface-concentration equation (kinetics.md 1.2)
    ila, ilc = 3e-9, -5e-9
    ii = butler_volmer_mt(e, 1e-9, 0.4, ila, ilc)
    rhs = 1e-9 * ((1 - ii / ila) * np.exp(0.4 * F_RT * e) - (1 - ii / ilc) * np.exp(-0.6 * F_RT * e))
    np.testing.assert_allclose(ii, rhs, rtol=1e-9, atol=1e-22)


@settings(max_examples=40, deadline=None)
@given(st.floats(0.1, 0.9), st.floats(-0.3, 0.3), st.floats(1e-12, 1e-6))
def test_bv_polarity_mirror(alpha, eta, i0):
    assert butler_volmer(-eta, i0, alpha) == pytest.approx(-butler_volmer(eta, i0, 1 - alpha),
                                                           rel=1e-12, abs=1e-30)


@settings(max_examples=20, deadline=None)
@given(st.floats(0.05, 1.0), st.floats(-0.5, 0.5))
def test_mhc_odd_in_eta(lam, eta):
    e = np.array([eta, -eta])
    a, b = marcus_hush_chidsey(e, 1e-9, lam)
    assert a == pytest.approx(-b, rel=1e-9, abs=1e-25)


@pytest.mark.parametrize("model,truth,extra", [
    ("ButlerVolmer", {"i0": 2e-9, "alpha": 0.4}, {}),
    ("ButlerVolmerMT", {"i0": 2e-9, "alpha": 0.45, "il_a": 2e-8, "il_c": -3e-8}, {}),
    ("Tafel", {"i0": 2e-10, "alpha": 0.6}, {}),
    ("MarcusHushChidsey", {"i0": 1e-9, "lam": 0.25}, {}),
    ("MarcusHushChidseyZeng", {"i0": 1e-9, "lam": 0.3}, {}),
])
def test_parameter_recovery_within_5_percent(model, truth, extra):
    from nbtools.kinetics import MODELS

    rng = np.random.default_rng(42)
    entry = MODELS[model]
    m = entry.make_model()
    if model == "Tafel":
        eta = np.r_[np.linspace(-0.35, -0.12, 100), np.linspace(0.12, 0.35, 100)]
    elif model == "ButlerVolmerMT":
        eta = np.linspace(-0.4, 0.4, 400)
    else:
        eta = np.linspace(-0.5, 0.5, 400) if "Marcus" in model else np.linspace(-0.2, 0.2, 300)
    y = m.eval(m.make_params(**truth), eta=eta)
    y = y + rng.normal(0, 0.01 * np.abs(y).max(), y.size)
    # Tafel: i0 is an extrapolation to eta = 0 and correlates with alpha (warned)
    ctx = pytest.warns(NbtoolsWarning, match="correlated") if model == "Tafel" else nullcontext()
    with ctx:
        res = fit(model, eta, y)
    for k, v in truth.items():
        assert res.params[k].value == pytest.approx(v, rel=0.05), k
        lo, hi = res.ci.loc[k, ["lower", "upper"]]
        assert lo < res.params[k].value < hi
