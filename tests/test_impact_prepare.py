"""prepare(): baseline and noise once, detect at many thresholds (same result as find_events)."""

import numpy as np
import pytest

from nbtools import Trace
from nbtools.errors import ParameterError
from nbtools.impact import find_events, prepare
from nbtools.simulate import impact_trace


@pytest.fixture(scope="module")
def rec():
    return impact_trace(duration=3.0, fs=50e3, rate=15, polarity="both", pink_noise=2e-12, mains=1e-12,
                        drift=30e-12, offset=2e-9, seed=21)


def test_detect_equals_find_events_at_each_threshold(rec):
    tr, _ = rec
    pt = prepare(tr, hysteresis=0.8)
    counts = []
    for th in (4.0, "auto", 7.5, 12.0):
        got = pt.detect(th)
        ref = find_events(tr, hysteresis=0.8, threshold=th)
        assert got.equals(ref)
        assert got.attrs["params"] == ref.attrs["params"]
        assert got.attrs["noise"] == ref.attrs["noise"] == pt.noise
        counts.append(len(got))
    assert counts[0] > counts[2] > counts[3]  # the threshold matters
    assert pt.detect().equals(find_events(tr, hysteresis=0.8))


def test_detect_for_steps_and_with_blank():
    tr, _ = impact_trace(duration=2.0, fs=20e3, kind="step", rate=4, seed=22)
    pt = prepare(tr, kind="step")
    assert pt.detect(8.0).equals(find_events(tr, kind="step", threshold=8.0))
    blank, _ = impact_trace(duration=2.0, fs=20e3, rate=0, seed=23)
    tr2, _ = impact_trace(duration=2.0, fs=20e3, rate=5, seed=24)
    pb = prepare(tr2, blank=blank)
    assert pb.detect(6.0).equals(find_events(tr2, blank=blank, threshold=6.0))


def test_baseline_curve_follows_the_background(rec):
    tr, _ = rec
    ev = find_events(tr)
    bc = ev.attrs["baseline_curve"]
    t, v = bc["t"], bc["value"]
    assert t[0] == tr.t0 and t[-1] == pytest.approx(tr.t0 + (len(tr) - 1) / tr.fs)
    assert np.all(np.diff(t) >= 0) and t.size < len(tr) / 10
    # offset 2 nA, drift of tens of pA: the curve sits on the offset, within the drift
    assert np.all(np.abs(v - 2e-9) < 0.2e-9)
    # the event's reported background is the curve plus a small local correction
    b_at_peak = np.interp(ev.t_peak, t, v)
    assert np.median(np.abs(ev.baseline - b_at_peak)) < 3 * ev.attrs["noise"]
    np.testing.assert_array_equal(prepare(tr).baseline_curve["value"], v)


def test_detect_bad_threshold(rec):
    tr, _ = rec
    pt = prepare(tr)
    with pytest.raises(ParameterError, match="threshold"):
        pt.detect("high")
    with pytest.raises(ParameterError, match="hysteresis"):
        pt.detect(0.5)
    with pytest.raises(ParameterError, match="polarity"):
        prepare(tr, polarity="up")
    x = np.asarray(tr.current)
    assert prepare(x, tr.fs).detect(6.0).equals(find_events(Trace(x, fs=tr.fs), threshold=6.0))
