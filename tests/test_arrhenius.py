"""nbtools.kinetics.arrhenius_fit: activation energies of k0 and D with intervals, on simulated temperature series
(values with known Ea, and whole GITT records simulated at each temperature)."""

from __future__ import annotations

import numpy as np
import pytest

from nbtools.errors import DataError, ParameterError
from nbtools.kinetics import arrhenius, arrhenius_fit
from nbtools.simulate import arrhenius_series

T6 = (278.15, 288.15, 298.15, 308.15, 318.15, 328.15)


@pytest.mark.parametrize("quantity,Ea,ref", [("k0", 55e3, 1e-9), ("D", 35e3, 3e-15)])
def test_activation_energy_within_5_percent_on_a_simulated_series(quantity, Ea, ref):
    hits = 0
    for seed in range(20):
        df = arrhenius_series(T6, Ea=Ea, value_ref=ref, rel_err=0.05, seed=seed, quantity=quantity)
        res = arrhenius_fit(df["T"], df["value"], df["err"], quantity=quantity)
        assert res.Ea == pytest.approx(Ea, rel=0.05)
        hits += res.Ea_low <= Ea <= res.Ea_high
        assert res.value_ref_low < res.value_ref < res.value_ref_high
    assert hits >= 16  # the 95 % interval covers the truth in most series


def test_exact_values_give_the_exact_activation_energy_and_prefactor():
    T = np.array(T6)
    res = arrhenius_fit(T, arrhenius(T, 2e-14, 40e3, T_ref=298.15), quantity="D", unit="m^2/s", T_ref=298.15)
    assert res.Ea == pytest.approx(40e3, rel=1e-9)
    assert res.value_ref == pytest.approx(2e-14, rel=1e-9)
    assert res.predict(350.0) == pytest.approx(float(arrhenius(350.0, 2e-14, 40e3)), rel=1e-9)
    assert res.prefactor == pytest.approx(2e-14 * np.exp(40e3 / (8.314462618 * 298.15)), rel=1e-9)
    assert "kJ/mol" in res.summary() and not res.weighted


def test_scatter_larger_than_the_errors_widens_the_interval():
    df = arrhenius_series(T6, Ea=50e3, rel_err=0.10, seed=4)
    honest = arrhenius_fit(df["T"], df["value"], df["err"])
    optimistic = arrhenius_fit(df["T"], df["value"], df["err"] / 10)
    assert optimistic.chi2_red > 1
    assert optimistic.Ea_err == pytest.approx(honest.Ea_err, rel=0.2)  # Birge scaling restores the width


def test_activation_energy_of_D_from_gitt_records_at_four_temperatures():
    """GITT simulated at 4 temperatures with D = D_ref exp(-Ea/R (1/T - 1/T_ref)), analysed, then fitted."""
    from nbtools import gitt
    from nbtools.simulate import gitt_sequence
    from nbtools.simulate.gitt import frumkin_ocv

    Ea, D_ref, r = 45e3, 3e-15, 1e-6
    T = np.array([283.15, 298.15, 313.15, 328.15])
    D, Derr = [], []
    for k, Tk in enumerate(T):
        Dk = float(arrhenius(Tk, D_ref, Ea))
        tau = r**2 / Dk
        df = gitt_sequence(n_pulses=3, dx_pulse=0.04, x0=0.6, t_pulse=0.1 * tau, t_rest=0.5 * tau, D=Dk,
                           radius=r, ocv=frumkin_ocv(T=Tk), T=Tk, points_pulse=50, points_rest=50, noise=5e-5,
                           seed=k)
        m = gitt.analyze(df, radius=r).mean_D()
        D.append(m["D"])
        Derr.append(m["D_err"])
    res = arrhenius_fit(T, D, Derr, quantity="D", unit="m^2/s")
    assert res.Ea == pytest.approx(Ea, rel=0.05)
    assert res.Ea_low < res.Ea < res.Ea_high


def test_bad_input_gets_a_message():
    with pytest.raises(ParameterError, match="kelvin"):
        arrhenius_fit([-10, 0, 25], [1, 2, 3])
    with pytest.raises(ParameterError, match="> 0"):
        arrhenius_fit([280, 290, 300], [1, -2, 3])
    with pytest.raises(DataError, match="3 different temperatures"):
        arrhenius_fit([280, 280, 300], [1, 2, 3])
    with pytest.raises(ParameterError, match="one length"):
        arrhenius_fit([280, 290, 300], [1, 2])
    with pytest.raises(ParameterError, match="err must be > 0"):
        arrhenius_fit([280, 290, 300], [1, 2, 3], [0.1, 0, 0.1])
