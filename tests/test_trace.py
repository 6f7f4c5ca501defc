"""nbtools.Trace: lengths, lazy time, slicing by time and by samples, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbtools import Trace
from nbtools.errors import DataError, NbtoolsError, ParameterError


def make(n=1000, fs=100.0, t0=0.0):
    return Trace(np.arange(n, dtype=float) * 1e-12, fs=fs, t0=t0, meta={"instrument": "test"}, source="x.csv")


def test_basic_properties():
    tr = make(1000, fs=100.0, t0=2.0)
    assert len(tr) == 1000
    assert tr.duration == pytest.approx(10.0)
    assert tr.dt == pytest.approx(0.01)
    assert "fs=100 Hz" in repr(tr) and "x.csv" in repr(tr)


def test_time_is_lazy_and_correct():
    tr = make(500, fs=50.0, t0=1.5)
    assert "time" not in tr.__dict__  # not computed until asked
    t = tr.time
    assert "time" in tr.__dict__
    np.testing.assert_allclose(t[[0, 1, -1]], [1.5, 1.52, 1.5 + 499 / 50.0])


def test_slice_time_half_open_and_shares_memory():
    tr = make(1000, fs=100.0, t0=0.0)
    part = tr.slice_time(1.0, 2.0)
    assert len(part) == 100
    assert part.t0 == pytest.approx(1.0)
    assert part.current[0] == tr.current[100]
    assert np.shares_memory(part.current, tr.current)
    assert part.meta == tr.meta and part.meta is not tr.meta
    assert part.source == tr.source


def test_slice_time_clips_to_trace():
    tr = make(1000, fs=100.0, t0=5.0)
    assert len(tr.slice_time(None, None)) == 1000
    assert len(tr.slice_time(-100.0, 1e9)) == 1000
    assert len(tr.slice_time(20.0, 30.0)) == 0


def test_getitem_slices_with_step():
    tr = make(1000, fs=100.0, t0=0.0)
    sub = tr[10:20]
    assert len(sub) == 10 and sub.t0 == pytest.approx(0.1)
    dec = tr[::10]
    assert dec.fs == pytest.approx(10.0) and len(dec) == 100


@pytest.mark.parametrize("fs", [0, -1.0, np.nan, np.inf, "fast", None])
def test_bad_fs_raises_parameter_error(fs):
    with pytest.raises(ParameterError, match="fs") as info:
        Trace(np.zeros(10), fs=fs)
    assert isinstance(info.value, NbtoolsError) and isinstance(info.value, ValueError)


def test_2d_current_raises_data_error_naming_the_file():
    with pytest.raises(DataError, match=r"1-D.*shape \(10, 2\).*run1\.abf"):
        Trace(np.zeros((10, 2)), fs=1.0, source="run1.abf")


def test_integer_index_is_refused():
    with pytest.raises(ParameterError, match="slice"):
        make()[3]


def test_lazy_trace_matches_eager():
    raw = np.arange(-50, 50, dtype=np.int16)
    lazy = Trace.from_raw(raw, fs=10.0, gain=2e-12, offset=1e-12)
    assert lazy.is_lazy and len(lazy) == 100
    part = lazy.slice_time(1.0, 2.0)
    assert part.is_lazy  # slicing reads nothing
    np.testing.assert_allclose(part.current, raw[10:20] * 2e-12 + 1e-12)


@settings(max_examples=50, deadline=None)
@given(
    n=st.integers(1, 5000),
    fs=st.floats(0.5, 1e6),
    t0=st.floats(-1e3, 1e3),
    a=st.floats(0, 1),
    b=st.floats(0, 1),
)
def test_slice_time_property(n, fs, t0, a, b):
    tr = Trace(np.zeros(n), fs=fs, t0=t0)
    start, stop = t0 + min(a, b) * n / fs, t0 + max(a, b) * n / fs
    part = tr.slice_time(start, stop)
    if len(part):
        # every kept sample lies in [start, stop) up to rounding of one part in 1e9
        tol = 1e-9 * max(abs(start), abs(stop), 1.0) + 1e-9 / fs
        assert part.time[0] >= start - tol
        assert part.time[-1] < stop + tol
    assert 0 <= len(part) <= n
