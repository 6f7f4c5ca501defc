"""Single entity vs ensemble: a simulated composite electrode against its own particles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nbtools.ensemble import FAST, LIMITING, EnsembleComparison, compare_with_ensemble, diffusion_regime
from nbtools.errors import DataError, ParameterError
from nbtools.simulate import composite_cv


@pytest.fixture(scope="module")
def electrode():
    return composite_cv(40, seed=1)


def test_capacity_per_mass_and_peak_separation_against_the_particles(electrode):
    el, parts, truth = electrode
    res = compare_with_ensemble(parts, el, c_rate=1, scan_rate=truth["v"], particle_scan_rate=truth["v"],
                                electrode_mass=truth["mass"], material="LiMn2O4")
    tab = res.table.set_index("quantity")
    cap = tab.loc["capacity per mass"]
    assert cap["single_particle"] == pytest.approx(truth["capacity"], rel=1e-6)  # Q over its mass
    assert cap["ensemble"] == pytest.approx(truth["capacity"], rel=0.03)  # the composite's CV charge over its mass
    sep = tab.loc["CV peak separation"]
    assert sep["single_particle"] == pytest.approx(truth["dEp_particle"])
    # the electrode's lumped resistance (30 mV at the peak) widens the separation by about twice the drop
    assert 0.04 < sep["ensemble"] - sep["single_particle"] < 0.10
    assert "excess" in sep["note"]
    assert isinstance(res, EnsembleComparison)


def test_verdict_follows_the_c_rate(electrode):
    _, parts, _ = electrode
    tau90 = float(np.percentile(parts["tau"], 90))
    slow = 3600 / (tau90 / (2 * LIMITING))  # C-rate where tau/t = 2 LIMITING
    fast = 3600 / (tau90 / (0.5 * FAST))
    res = compare_with_ensemble(parts, c_rate=[fast, slow])
    assert list(res.rates["regime"]) == ["fast", "limiting"]
    assert res.limiting == "electrode (not particle diffusion)"
    assert list(res.rates["limiting"]) == ["electrode (not particle diffusion)", "particle diffusion"]
    assert "denser" not in res.verdict.split(". at")[0] and "smaller particles" in res.verdict
    text = res.text()
    assert "Assumptions" in text and "3600/C" in text and "porosity" in text


def test_the_electrodes_transport_limits_when_particles_are_small_and_the_electrode_thick():
    parts = {"radius": np.full(5, 50e-9), "D": np.full(5, 1e-14)}  # tau = 0.25 s
    res = compare_with_ensemble(parts, c_rate=2, thickness=150e-6)  # L^2/(D_e eps^1.5) ~ 360 s vs 1800 s
    assert res.limiting == "electrode transport"
    assert res.rates["electrode_regime"].iloc[0] == "contributes"
    assert "smaller particles would not" in res.verdict
    thin = compare_with_ensemble(parts, c_rate=2, thickness=20e-6)
    assert thin.limiting == "neither"


def test_a_low_apparent_D_of_the_composite_points_at_the_electrode():
    parts = pd.DataFrame({"radius": [2e-7, 2.5e-7, 3e-7], "D": [5e-15, 6e-15, 4e-15]})
    res = compare_with_ensemble(parts, c_rate=5, gitt={"D": [2e-17, 3e-17]})
    row = res.table.set_index("quantity").loc["diffusion coefficient D (median)"]
    assert row["ratio"] < 0.01
    assert res.rates["t_electrode"].iloc[0] > 1000
    assert res.limiting == "electrode transport"


def test_the_electrode_cv_reads_from_a_file(electrode, tmp_path):
    el, parts, truth = electrode
    path = tmp_path / "composite.csv"
    pd.DataFrame({"Time / s": el.t, "Potential / V": el.E, "Current / A": el.i}).to_csv(path, index=False)
    res = compare_with_ensemble(parts, path, electrode_mass=truth["mass"], material="LiMn2O4")
    cap = res.table.set_index("quantity").loc["capacity per mass"]
    assert cap["ensemble"] == pytest.approx(truth["capacity"], rel=0.03)


def test_diffusion_regime_thresholds():
    df = diffusion_regime([10.0, 20.0, 40.0], [1, 100, 1000])
    assert list(df["regime"]) == ["fast", "contributes", "limiting"]
    assert np.allclose(df["surface_lead"], df["ratio"] / 15)
    assert (np.diff(df["ratio"]) > 0).all()


def test_bad_inputs_are_explained():
    with pytest.raises(ParameterError, match="tau"):
        compare_with_ensemble({"radius": [1e-7]})
    with pytest.raises(ParameterError, match="metres"):
        compare_with_ensemble({"radius": [0.2], "D": [1e-15]})  # mm given as m
    with pytest.raises(ParameterError, match="c_rate"):
        compare_with_ensemble({"tau": [10.0]}, c_rate=0)
    with pytest.raises(ParameterError, match="m\\^2/s"):
        compare_with_ensemble({"tau": [10.0]}, gitt=1e-11 * 1e4 * 1e4)
    with pytest.raises(DataError):
        compare_with_ensemble(pd.DataFrame({"tau": []}))
