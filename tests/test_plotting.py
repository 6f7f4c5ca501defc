"""downsample_window and display helpers (no browser)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbtools import Trace
from nbtools.errors import ParameterError
from nbtools.plotting import current_display_unit, downsample_window, trace_summary


def noisy(n, seed=0, fs=1e4):
    rng = np.random.default_rng(seed)
    y = rng.normal(0, 1e-12, n)
    return Trace(y, fs=fs)


@pytest.mark.parametrize("window", [(None, None), (1.0, 2.0), (0.0, 0.01), (9.5, 20.0)])
def test_window_min_max_and_edges_kept(window):
    tr = noisy(100_000)  # 10 s at 10 kHz
    rng = np.random.default_rng(1)
    y = tr.current.copy()
    y[rng.integers(0, len(y), 20)] += rng.normal(0, 50e-12, 20)  # one-sample spikes
    tr = Trace(y, fs=tr.fs)
    t0, t1 = window
    t, out = downsample_window(tr, t0=t0, t1=t1, n_out=500)
    assert len(t) == len(out) <= 500
    assert np.all(np.diff(t) > 0)
    # the true window, extended by one sample each side
    i0 = 0 if t0 is None else max(tr.index_at(t0) - 1, 0)
    i1 = len(tr) if t1 is None else min(tr.index_at(t1) + 1, len(tr))
    ref = y[i0:i1]
    assert out.max() == ref.max() and out.min() == ref.min()
    assert t[0] == pytest.approx(i0 / tr.fs) and t[-1] == pytest.approx((i1 - 1) / tr.fs)
    if t0 is not None:
        assert t[0] <= t0 or i0 == 0
    if t1 is not None and i1 < len(tr):
        assert t[-1] >= t1


def test_short_window_returned_whole():
    tr = noisy(1000)
    t, y = downsample_window(tr, t0=0.01, t1=0.02, n_out=2000)
    np.testing.assert_array_equal(y, tr.current[99:201])
    np.testing.assert_allclose(t, np.arange(99, 201) / 1e4)


def test_time_array_input_matches_trace_input():
    tr = noisy(50_000, seed=3)
    a = downsample_window(tr, t0=0.5, t1=4.0, n_out=300)
    b = downsample_window(tr.time, tr.current, t0=0.5, t1=4.0, n_out=300)
    # same window and extremes (LTTB may pick different points in between)
    assert len(b[0]) <= 300
    assert a[0][0] == pytest.approx(b[0][0]) and a[0][-1] == pytest.approx(b[0][-1])
    assert a[1].max() == b[1].max() and a[1].min() == b[1].min()
    assert set(np.round(b[0] * 1e4).astype(int)) <= set(range(len(tr)))


def test_lazy_trace_is_not_materialised():
    raw = np.random.default_rng(0).integers(-2000, 2000, 200_000).astype(np.int16)
    tr = Trace.from_raw(raw, fs=1e4, gain=-1e-13, offset=2e-12)  # negative gain: extremes swap
    t, y = downsample_window(tr, n_out=400)
    assert tr.is_lazy
    full = raw * -1e-13 + 2e-12
    assert y.max() == pytest.approx(full.max()) and y.min() == pytest.approx(full.min())
    assert len(y) <= 400


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16, ">f4"])
def test_dtypes(dtype):
    y = (np.random.default_rng(0).normal(0, 100, 10_000)).astype(dtype)
    t, out = downsample_window(Trace(y, fs=1.0), n_out=100)
    assert len(out) <= 100 and out.max() == y.max() and out.min() == y.min()


def test_bad_arguments():
    tr = noisy(100)
    with pytest.raises(ParameterError, match="n_out"):
        downsample_window(tr, n_out=3)
    with pytest.raises(ParameterError, match="not both"):
        downsample_window(tr, tr.current)
    with pytest.raises(ParameterError, match="current"):
        downsample_window(np.arange(10.0))
    with pytest.raises(ParameterError, match="same length"):
        downsample_window(np.arange(10.0), np.arange(9.0))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 20_000), n_out=st.integers(10, 3000), seed=st.integers(0, 2**16),
       a=st.floats(-0.1, 1.1), b=st.floats(-0.1, 1.1))
def test_bounded_and_extremes_property(n, n_out, seed, a, b):
    y = np.random.default_rng(seed).standard_t(2, n)
    tr = Trace(y, fs=100.0)
    t0, t1 = sorted((a * n / 100.0, b * n / 100.0))
    t, out = downsample_window(tr, t0=t0, t1=t1, n_out=n_out)
    assert len(t) <= n_out
    i0 = max(tr.index_at(t0) - 1, 0)
    i1 = min(tr.index_at(t1) + 1, n)
    if i1 > i0:
        assert out.max() == y[i0:i1].max() and out.min() == y[i0:i1].min()


@pytest.mark.parametrize("peak, unit", [(3e-15, "fA"), (2.5e-12, "pA"), (999e-12, "pA"), (1.2e-9, "nA"),
                                        (40e-6, "µA"), (5e-3, "mA"), (2.0, "A"), (0.0, "pA"), (np.nan, "pA")])
def test_current_display_unit(peak, unit):
    label, factor = current_display_unit(peak)
    assert label == unit
    if peak and np.isfinite(peak):
        assert 1 <= peak * factor < 1000 or label in ("fA", "A")


def test_trace_summary_rows():
    tr = Trace(np.zeros(2000), fs=2e4, t0=1.0, source="/d/run.abf",
               meta={"instrument": "Axopatch", "units": {"current": "pA"}, "potential": 0.25,
                     "warnings": ["time rebuilt"], "filter_hz": 1000})
    rows = dict(trace_summary(tr))
    assert rows["File"] == "/d/run.abf"
    assert rows["Instrument"] == "Axopatch"
    assert rows["Sampling rate"] == "20 kHz"
    assert rows["Duration"] == "100 ms"
    assert rows["Starts at"] == "1 s"
    assert rows["Units in the file"] == "current: pA"
    assert rows["Applied potential"] == "250 mV"
    assert rows["Filter hz"] == "1000"
    assert rows["Warnings"] == "time rebuilt"
    assert tr.meta["warnings"] == ["time rebuilt"]  # input not modified
