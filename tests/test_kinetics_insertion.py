"""Insertion voltammetry: Frumkin and Laviron models against [N] references and a NumPy reference."""

import math

import numpy as np
import pytest

from nbtools.kinetics import fit, frumkin_cv, frumkin_eq_potential, frumkin_fraction, laviron_cv
from nbtools.kinetics._laviron_kernel import laviron_fraction
from nbtools.kinetics.insertion import sweep_sign

F_RT = 96485.33212 / (8.314462618 * 298.15)


def _cv(E1=-0.6, E2=0.6, n=2401):
    a = np.linspace(E1, E2, n)
    return np.r_[a, a[::-1][1:]]


def _fwhm(E, i):
    half = i.max() / 2
    above = E[(i > half) & (np.gradient(E) > 0)]
    return above.max() - above.min()


@pytest.mark.parametrize("g,ip,fwhm", [(-2, 0.125, 201.7), (-1, 0.167, 145.8), (0, 0.250, 90.6),
                                       (1, 0.500, 38.0), (1.5, 1.000, 15.0)])
def test_frumkin_peak_and_width_table(g, ip, fwhm):
    E = _cv(-0.5, 0.5, 20001)
    i = frumkin_cv(E, 1.0, 0.0, g, 0.1)
    assert i.max() / (F_RT * 0.1) == pytest.approx(ip, rel=2e-3)
    assert _fwhm(E, i) * 1e3 == pytest.approx(fwhm, abs=0.2)
    # cathodic sweep mirrors the anodic one
    assert i.min() == pytest.approx(-i.max(), rel=1e-9)


def test_frumkin_isotherm_inverse():
    x = np.linspace(0.01, 0.99, 50)
    for g in (-1.0, 0.0, 1.5):
        E = frumkin_eq_potential(x, 3.9, g)
        y = frumkin_fraction(E, 3.9, g)
        np.testing.assert_allclose(1 / (1 + np.exp(-y)), x, rtol=1e-10)


def test_frumkin_charge_is_Q():
    E = _cv(-0.6, 0.6, 4001)
    i = frumkin_cv(E, 2e-10, 0.0, 0.5, 0.01)
    an = sweep_sign(E) > 0
    q = np.sum(i[:-1][an[:-1]] * np.abs(np.diff(E))[an[:-1]]) / 0.01
    assert q == pytest.approx(2e-10, rel=1e-3)


@pytest.mark.parametrize("lam,dEp,ip", [(100, 0.4, 0.2500), (10, 3.8, 0.2499), (3, 12.6, 0.2488),
                                        (1, 34.6, 0.2423), (0.3, 88.6, 0.2202), (0.1, 173.1, 0.1974),
                                        (0.03, 290.0, 0.1866), (0.01, 402.1, 0.1844)])
def test_laviron_peak_separation_table(lam, dEp, ip):
    """kinetics.md 1.7 Delta E_p(Lambda) table (alpha = 0.5)."""
    from nbtools.kinetics.cv import find_cv_peaks

    E = _cv(-0.7, 0.7, 7001)
    v = 0.1
    i = laviron_cv(E, 1.0, 0.0, lam * F_RT * v, 0.5, 0.0, v)
    pk = find_cv_peaks(E, i, v=v, baseline="none")
    sep = (pk.E_peak.iloc[0] - pk.E_peak.iloc[1]) * 1e3
    assert sep == pytest.approx(dEp, abs=max(0.5, 0.01 * dEp))
    assert i.max() / (F_RT * v) == pytest.approx(ip, rel=0.01)


def test_laviron_irreversible_peak_formula():
    # kinetics.md 1.7: ks = 0.1/s, v = 0.1 V/s, alpha = 0.5: E_pa - E0 = 152.9 mV (sim), 152.5 (formula)
    E = _cv(-0.6, 0.6, 12001)
    i = laviron_cv(E, 1.0, 0.0, 0.1, 0.5, 0.0, 0.1)
    assert E[np.argmax(i)] * 1e3 == pytest.approx(152.9, abs=0.6)
    # Lambda = 0.026 is not fully irreversible: the limiting formula is 1 % above
    assert i.max() / (0.5 * F_RT * 0.1 / math.e) == pytest.approx(1.0, rel=0.02)


@pytest.mark.parametrize("g", [-1.0, 0.0, 1.0])
def test_laviron_fast_kinetics_is_frumkin(g):
    E = _cv(-0.5, 0.5, 2001)
    i1 = laviron_cv(E, 1.0, 0.0, 1e7, 0.5, g, 0.1)
    i2 = frumkin_cv(E, 1.0, 0.0, g, 0.1)
    assert np.max(np.abs(i1 - i2)) / i2.max() < 0.005


def _reference_fraction(E, v, x0, E0, f, ks, alpha, g, sub=20):
    """Independent solution: trapezoidal rule (Crank-Nicolson) with Newton, plain Python."""

    def rate(x, e):
        u = f * (e - E0) + g * (1 - 2 * x)
        return -ks * (x * math.exp(alpha * u) - (1 - x) * math.exp(-(1 - alpha) * u))

    out = [x0]
    x = x0
    for k in range(E.size - 1):
        h = abs(E[k + 1] - E[k]) / v / sub
        for j in range(sub):
            e0 = E[k] + (E[k + 1] - E[k]) * j / sub
            e1 = E[k] + (E[k + 1] - E[k]) * (j + 1) / sub
            r0 = rate(x, e0)
            xn = x + h * r0
            for _ in range(20):
                res = xn - x - 0.5 * h * (r0 + rate(xn, e1))
                d = 1e-7
                jac = 1 - 0.5 * h * (rate(xn + d, e1) - rate(xn, e1)) / d
                step = res / jac
                xn -= step
                if abs(step) < 1e-14:
                    break
            x = xn
        out.append(x)
    return np.array(out)


@pytest.mark.parametrize("ks,alpha,g", [(0.05, 0.5, 0.0), (0.5, 0.3, 0.0), (0.2, 0.6, 0.8)])
def test_kernel_matches_reference_ode(ks, alpha, g):
    E = _cv(-0.4, 0.4, 401)
    v = 0.05
    x0 = float(1 / (1 + np.exp(-frumkin_fraction(E[:1], 0.0, g)[0])))
    dE = np.abs(np.diff(E))
    x, _ = laviron_fraction(E, dE / v, x0, 0.0, F_RT, ks, alpha, g,
                            np.maximum(1, np.ceil(dE / 1e-4)).astype(np.int64))
    ref = _reference_fraction(E, v, x0, 0.0, F_RT, ks, alpha, g)
    np.testing.assert_allclose(x, ref, atol=2e-4)


def test_laviron_fit_recovers_parameters():
    rng = np.random.default_rng(3)
    E = _cv(3.6, 4.4, 801)
    v = 0.01
    truth = dict(Q=2e-10, E0=4.0, ks=0.05, alpha=0.4)
    y = laviron_cv(E, truth["Q"], truth["E0"], truth["ks"], truth["alpha"], 0.0, v)
    y = y + rng.normal(0, 0.01 * y.max(), y.size)
    from nbtools.kinetics import LavironCVModel

    m = LavironCVModel()
    res = fit(m, E, y, m.guess(y, E, v=v))
    for k, val in truth.items():
        assert res.params[k].value == pytest.approx(val, rel=0.05), k


def test_frumkin_fit_recovers_parameters_and_cv_x_order_allowed():
    rng = np.random.default_rng(4)
    E = _cv(3.7, 4.3, 601)
    y = frumkin_cv(E, 5e-11, 4.0, 0.8, 0.005)
    y = y + rng.normal(0, 0.01 * y.max(), y.size)
    from nbtools.kinetics import FrumkinCVModel

    m = FrumkinCVModel()
    res = fit(m, E, y, m.guess(y, E, v=0.005))
    assert res.params["Q"].value == pytest.approx(5e-11, rel=0.05)
    assert res.params["g"].value == pytest.approx(0.8, rel=0.05)
    assert res.params["E0"].value == pytest.approx(4.0, abs=1e-3)


def _generic_kernel(E, v, E0, ks, alpha, step=1e-4):
    """The general (g != 0) kernel path at g = 1e-300: the substep scheme as it was before the
    g = 0 fast path (exp per node, three linearisations per substep)."""
    dE = np.abs(np.diff(E))
    x0 = float(1 / (1 + np.exp(-F_RT * (E0 - E[0]))))
    return laviron_fraction(E, dE / v, x0, E0, F_RT, ks, alpha, 1e-300,
                            np.maximum(1, np.ceil(dE / step)).astype(np.int64))


@pytest.mark.parametrize("ks,alpha,v", [(0.05, 0.5, 0.5), (5.0, 0.3, 0.5), (500.0, 0.7, 0.05), (5e6, 0.5, 1.0)])
def test_laviron_cv_fast_path_matches_generic_kernel_and_fine_reference(ks, alpha, v):
    """g = 0 high-order scheme (5 mV steps) against the generic substep scheme at 1 uV steps
    (its own error ~1e-7 of i_p: 0.2 % at 0.1 mV, second order), and the first-order g = 0 loop
    (geometric rate factors) against the generic one at the same substeps (to rounding)."""
    E = _cv(3.7, 4.4, 151)  # 4.7 mV per sample as in the bundled SECCM example
    i = laviron_cv(E, 1.0, 4.0, ks, alpha, 0.0, v)
    x_old, r_old = _generic_kernel(E, v, 4.0, ks, alpha)
    _, r_fine = _generic_kernel(E, v, 4.0, ks, alpha, step=1e-6)
    ip = np.abs(r_fine).max()
    assert np.max(np.abs(i + r_fine)) < 1e-4 * ip  # the first-order scheme at 0.1 mV: < 2e-3
    assert np.max(np.abs(i + r_fine)) < 0.05 * np.max(np.abs(r_old - r_fine))
    x_new, _ = laviron_fraction(E, np.abs(np.diff(E)) / v, x_old[0], 4.0, F_RT, ks, alpha, 0.0,
                                np.maximum(1, np.ceil(np.abs(np.diff(E)) / 1e-4)).astype(np.int64))
    np.testing.assert_allclose(x_new, x_old, atol=1e-12)


def test_laviron_cv_cache_is_keyed_on_values_and_returns_fresh_arrays():
    E = _cv(-0.3, 0.3, 121)
    i1 = laviron_cv(E, 2.0, 0.0, 1.0, 0.5, 0.0, 0.1)
    i1c = i1.copy()
    i1 *= 0  # the caller owns the result: the cached curve must not change
    np.testing.assert_array_equal(laviron_cv(E, 2.0, 0.0, 1.0, 0.5, 0.0, 0.1), i1c)
    np.testing.assert_allclose(laviron_cv(E, 3.0, 0.0, 1.0, 0.5, 0.0, 0.1), 1.5 * i1c, rtol=1e-14)
    E2 = E.copy()
    E2 += 0.05  # same array length, other values: no stale hit
    i2 = laviron_cv(E2, 2.0, 0.0, 1.0, 0.5, 0.0, 0.1)
    assert np.max(np.abs(i2 - i1c)) > 0.1 * np.abs(i1c).max()
    assert np.max(np.abs(laviron_cv(E, 2.0, 0.0, 1.0 + 1e-9, 0.5, 0.0, 0.1) - i1c)) > 0


def test_laviron_cv_long_programme_not_remembered_same_curve(monkeypatch):
    from nbtools.kinetics import insertion

    E = _cv(-0.3, 0.3, 121)
    want = laviron_cv(E, 1.0, 0.0, 2.0, 0.4, 0.0, 0.1)
    monkeypatch.setattr(insertion, "_REMEMBER_MAX_POINTS", 10)
    got = laviron_cv(E, 1.0, 0.0, 2.5, 0.4, 0.0, 0.1)
    assert not any(k[1] == 2.5 for k in insertion._RATES.items)  # nothing stored
    np.testing.assert_array_equal(laviron_cv(E, 1.0, 0.0, 2.0, 0.4, 0.0, 0.1), want)
    assert np.max(np.abs(got - want)) > 0


# --- sampling="average": current averaged over the interval ending at each sample -------------

def _interval_means_of_fine_curve(E, sub, **kw):
    """Mean over each interval [t_{k-1}, t_k] of the point current on a grid ``sub`` times finer."""
    Ef = np.concatenate([np.linspace(a, b, sub, endpoint=False) for a, b in zip(E[:-1], E[1:])] + [E[-1:]])
    i_f = laviron_cv(Ef, **kw)
    seg = i_f.reshape(-1)[:-1].reshape(E.size - 1, sub)
    nxt = np.r_[seg[1:, 0], i_f[-1]]
    # trapezoid over the sub points of each interval (equal time steps within an interval)
    return (seg[:, 1:].sum(axis=1) + 0.5 * (seg[:, 0] + nxt)) / sub


@pytest.mark.parametrize("ks,alpha,g", [(0.5, 0.5, 0.0), (5.0, 0.35, 0.0), (0.3, 0.6, 0.8)])
def test_laviron_average_sampling_is_mean_of_fine_point_curve(ks, alpha, g):
    E = _cv(3.8, 4.2, 81)  # 5 mV samples: the point curve changes a lot within one
    kw = dict(Q=1e-11, E0=4.0, ks=ks, alpha=alpha, g=g, v=0.1)
    avg = laviron_cv(E, **kw, sampling="average")
    # the point current of the kernel is first-order in its substep (rate frozen mid-substep), the
    # fraction x (hence the average) second-order: extrapolate the fine means to zero step (Richardson)
    ref = 2 * _interval_means_of_fine_curve(E, 200, **kw) - _interval_means_of_fine_curve(E, 100, **kw)
    scale = np.abs(avg).max()
    assert avg[0] == 0.0  # starts at equilibrium: nothing flowed before the first sample
    np.testing.assert_allclose(avg[1:], ref, atol=3e-5 * scale)  # g = 0: one 5 mV substep per sample
    # and it differs from the point current by far more than that tolerance (half a sample late)
    assert np.abs(avg - laviron_cv(E, **kw)).max() > 0.02 * scale


def test_laviron_average_sampling_charge_is_exact_and_default_is_point():
    E = _cv(3.7, 4.3, 61)
    kw = dict(Q=2e-11, E0=4.0, ks=1.0, alpha=0.5, v=0.2)
    avg = laviron_cv(E, **kw, sampling="average")
    # sum of averaged currents x interval = charge passed = -Q (x_end - x_start)
    x, _ = laviron_fraction(E, np.abs(np.diff(E)) / 0.2, 1 / (1 + np.exp(-F_RT * (4.0 - E[0]))), 4.0, F_RT,
                            1.0, 0.5, 0.0, np.maximum(1, np.ceil(np.abs(np.diff(E)) / 1e-4)).astype(np.int64))
    up = slice(1, 31)
    q = np.sum(avg[up] * np.abs(np.diff(E))[:30] / 0.2)
    assert q == pytest.approx(-2e-11 * (x[30] - x[0]), rel=1e-6)
    np.testing.assert_array_equal(laviron_cv(E, **kw), laviron_cv(E, **kw, sampling="point"))
    # repeated potentials (an empty interval) fall back to the point current, never NaN
    Er = np.r_[E[:10], E[9], E[10:]]
    assert np.isfinite(laviron_cv(Er, **kw, sampling="average")).all()


def test_laviron_sampling_bad_value():
    from nbtools.errors import ParameterError
    from nbtools.kinetics import LavironCVModel

    with pytest.raises(ParameterError, match="sampling.*'point'.*'average'"):
        laviron_cv(_cv(3.8, 4.2, 11), sampling="mean")
    with pytest.raises(ParameterError, match="sampling"):
        LavironCVModel(sampling="interval")


def test_laviron_model_sampling_kept_when_pickled_and_from_registry():
    import pickle

    from nbtools.kinetics import LavironCVModel, get_entry

    E = _cv(3.8, 4.2, 81)
    m = pickle.loads(pickle.dumps(LavironCVModel(sampling="average")))
    assert m.sampling == "average" and "sampling" not in m.param_names
    p = m.make_params(Q=1e-11, E0=4.0, ks=0.5, v=0.1)
    np.testing.assert_array_equal(m.eval(p, E=E), laviron_cv(E, 1e-11, 4.0, 0.5, 0.5, 0.0, 0.1,
                                                             sampling="average"))
    # what nbtools.batch's fast engine calls: model.func with the parameters only
    np.testing.assert_array_equal(m.func(E, 1e-11, 4.0, 0.5), m.eval(p, E=E))
    assert get_entry("LavironCV").make_model(sampling="average").sampling == "average"
    assert LavironCVModel().sampling == "point" and LavironCVModel().func is laviron_cv


def _seccm_single_couple(k_s):
    from nbtools.simulate import seccm_scan

    ds, truth = seccm_scan(nx=3, ny=3, n_samples=400, seed=2, e0=(4.0,), k_s=k_s, capacitance=0.0,
                           noise=0.02e-12, coverage=1.0, radius_px=(20.0, 20.0), failed_fraction=0,
                           no_contact_fraction=0, saturated_fraction=0, noisy_fraction=0, label=False)
    return ds, truth


def test_laviron_average_model_recovers_ks_of_averaging_simulator():
    """seccm_scan records the current averaged over each sample interval: the point model lags."""
    from nbtools.kinetics import LavironCVModel

    ds, truth = _seccm_single_couple(5.0)
    E = ds.potential.values.astype(float)
    v = ds.attrs["scan_rate"]
    ratio = {}
    for s in ("point", "average"):
        r = []
        for p in range(3):
            y = ds.current.values[p].astype(float)
            m = LavironCVModel(sampling=s)
            res = fit(m, E, y, {**m.guess(y, E, v=v).valuesdict(), "alpha": 0.47}, conf=None, warn=False)
            r.append(res.params["ks"].value / truth["k_s"][p])
        ratio[s] = np.array(r)
    assert np.all(np.abs(ratio["average"] - 1) < 0.03), ratio
    assert np.all(ratio["point"] < 0.97) and np.all(ratio["point"] < ratio["average"] - 0.02), ratio
