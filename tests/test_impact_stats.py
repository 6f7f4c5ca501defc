import numpy as np
import pandas as pd
import pytest

from nbtools.errors import ParameterError
from nbtools.impact import (collision_frequency, concentration_from_frequency, false_event_rate,
                            find_events, frequency_over_time, histogram, impact_frequency,
                            injection_recovery)
from nbtools.simulate import impact_trace


def test_collision_frequency_reference_values():
    # kinetics.md 3.2: 1 pM, 5 um disk, 25/50/250 nm -> 0.118/0.059/0.012 1/s
    for r, f in ((25e-9, 0.118), (50e-9, 0.059), (250e-9, 0.0118)):
        assert collision_frequency(r, 1e-9, 5e-6) == pytest.approx(f, rel=0.01)
    assert concentration_from_frequency(0.118, 25e-9, 5e-6) == pytest.approx(1e-9, rel=0.01)
    assert collision_frequency(25e-9, 1e-9 * 6.02214076e23, 5e-6, unit="1/m3") == pytest.approx(0.118, rel=0.01)


def test_garwood_interval():
    f = impact_frequency(10, 100.0)
    assert f["low"] == pytest.approx(0.04795, rel=1e-3) and f["high"] == pytest.approx(0.18390, rel=1e-3)
    assert impact_frequency(0, 10.0)["low"] == 0
    with pytest.raises(ParameterError):
        impact_frequency(3, 0.0)


def test_frequency_over_time_and_histograms():
    tr, truth = impact_trace(duration=4, fs=20e3, rate=10, seed=4)
    ev = find_events(tr)
    fot = frequency_over_time(ev, bin=1.0)
    assert fot["count"].sum() == len(ev)
    h = histogram(ev, "radius", material="LiMn2O4", bins=5)
    assert h["count"].sum() == len(ev)
    with pytest.raises(ParameterError, match="material"):
        histogram(ev, "radius")


def test_trust_tools():
    tr, _ = impact_trace(duration=4, fs=20e3, rate=0, seed=6)
    fr = false_event_rate(tr)
    assert fr["rice_per_s"] < 0.01 and fr["count"] <= 1
    rec = injection_recovery(tr, [2e-15, 2e-14, 2e-13], n_per_charge=10, material="LiMn2O4")
    eff = rec["efficiency"].to_numpy()
    assert eff[0] < 0.5 and eff[-1] == 1.0
    assert np.isfinite(rec.attrs["detection_limit"]) and rec.attrs["detection_limit_radius"] > 0


def test_injection_recovery_polarities_are_separate_and_progress_reports():
    tr, _ = impact_trace(duration=3, fs=20e3, rate=0, seed=11)
    calls = []
    neg = injection_recovery(tr, [2e-14, 2e-13], n_per_charge=8, inject_polarity="negative",
                             polarity="negative", progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 2), (2, 2)]
    assert neg["efficiency"].iloc[-1] == 1.0 and neg.attrs["params"]["polarity"] == "negative"
    assert neg["charge_ratio"].iloc[-1] == pytest.approx(1.0, abs=0.2)  # signed detected / signed injected
    # detection restricted to the other sign finds none of them
    pos = injection_recovery(tr, [2e-13], n_per_charge=8, inject_polarity="negative", polarity="positive")
    assert pos["efficiency"].iloc[0] == 0.0
    with pytest.raises(ParameterError, match="inject_polarity"):
        injection_recovery(tr, [2e-13], inject_polarity="both")
    with pytest.raises(ParameterError, match="progress"):
        injection_recovery(tr, [2e-13], progress=5)
