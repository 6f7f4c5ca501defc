"""Synthetic recordings: the truth is what the trace contains."""

import numpy as np
import pytest

from nbtools import Trace
from nbtools.errors import ParameterError
from nbtools.impact import find_events, fit_events, radius_to_charge
from nbtools.simulate import impact_trace, inject_events


def test_truth_charge_is_the_integral():
    # isolated events, no noise: the integral of the trace is the truth charge
    tr, truth = impact_trace(duration=1.0, fs=50e3, rate=5, noise_rms=1e-15, seed=2, dtype=np.float64)
    assert len(truth) > 0
    total = tr.current.sum() / tr.fs
    assert total == pytest.approx(truth.charge.sum(), rel=1e-3)
    np.testing.assert_allclose(np.abs(truth.charge), radius_to_charge(truth.radius, "LiMn2O4"), rtol=1e-12)


def test_seeded_and_polarity():
    a, ta = impact_trace(duration=0.5, fs=20e3, seed=5, polarity="negative")
    b, tb = impact_trace(duration=0.5, fs=20e3, seed=5, polarity="negative")
    assert np.array_equal(a.current, b.current) and ta.equals(tb)
    assert (ta.charge < 0).all() and a.current.dtype == np.float32


def test_inject_events_recovered():
    host, _ = impact_trace(duration=2.0, fs=50e3, rate=0, seed=1)
    tr, truth = inject_events(host, np.full(10, 5e-14), seed=3)
    assert not np.shares_memory(tr.current, host.current)
    det = find_events(tr)
    assert len(det) == 10
    np.testing.assert_allclose(np.sort(det.charge), 5e-14, rtol=0.15)
    fit = fit_events(det, tr)
    assert (fit.fit_status == "ok").mean() > 0.8


def test_inject_needs_room():
    host, _ = impact_trace(duration=0.05, fs=10e3, rate=0, seed=1)
    with pytest.raises(ParameterError, match="cannot place"):
        inject_events(host, np.full(100, 1e-13))
    with pytest.raises(ParameterError, match="fs"):
        inject_events(host.current, [1e-13])


def test_bad_simulation_parameters():
    with pytest.raises(ParameterError, match="polarity"):
        impact_trace(duration=0.1, fs=1e3, polarity="up")
    with pytest.raises(ParameterError, match="bessel_cutoff"):
        impact_trace(duration=0.1, fs=1e3, bessel_cutoff=600)
