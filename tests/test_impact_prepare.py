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


# --- preview: the fast look at another threshold ----------------------------------------
@pytest.mark.parametrize("kind", ["spike", "step"])
def test_preview_is_what_it_claims(kind):
    """Rows: the low-threshold candidates whose score passes; attrs: those of detect at that threshold."""
    from nbtools.impact.prepared import LOW_THRESHOLD

    if kind == "spike":
        tr, _ = impact_trace(duration=4.0, fs=20e3, rate=8, polarity="both", radius_median=25e-9, seed=25)
    else:
        tr, _ = impact_trace(duration=3.0, fs=10e3, kind="step", rate=3.0, seed=4)
    pt = prepare(tr, kind=kind)
    assert not pt.can_preview(9.0)
    cand = pt.detect(LOW_THRESHOLD)
    score = np.abs(cand["z"]) if kind == "step" else cand["snr"]
    for th in (6.0, 9.0, 14.0):
        pv = pt.preview(th)
        exact = pt.detect(th)
        assert pv.attrs["preview"] is True and "preview" not in exact.attrs
        expected = cand[(score >= th).to_numpy()].reset_index(drop=True)
        assert pv.equals(expected)  # exactly the passing candidates
        for key in ("threshold", "threshold_A", "expected_false_per_s", "noise", "params"):
            assert pv.attrs[key] == exact.attrs[key], key
        assert pv.attrs["recipe"] == exact.attrs["recipe"] == pt.resolved.replace(threshold=th)
        if len(exact):  # nearly the events of the exact run
            assert np.isin(exact["i_peak"], pv["i_peak"]).mean() >= 0.8
    assert pt.can_preview(9.0) and not pt.can_preview(3.0)
    assert pt.preview(3.0).attrs["threshold"] == 3.0  # below the candidates: a new candidate run


def test_expected_false_rate_is_one_formula(rec):
    from nbtools.impact import rice_rate

    tr, _ = rec
    for th in (4.5, "auto", 9.0):
        ev = find_events(tr, threshold=th, polarity="both")
        a = ev.attrs
        assert a["expected_false_per_s"] == rice_rate(a["noise_bandwidth"], a["threshold"], 2)
    for pol in ("positive", "auto"):  # 'auto' keeps one sign
        one = find_events(tr, polarity=pol, threshold=6.0).attrs
        assert one["expected_false_per_s"] == rice_rate(one["noise_bandwidth"], 6.0, 1)


def test_detect_again_with_other_sizing_reuses_the_table(rec):
    tr, _ = rec
    pt = prepare(tr)
    a = pt.detect(6.0)
    b = pt.detect(pt.recipe.replace(threshold=6.0, material="Au"))
    assert b.equals(a) and b.attrs["recipe"].material == "Au" and a.attrs["recipe"].material == "LiMn2O4"
    with pytest.raises(ParameterError, match="other detection settings"):
        pt.detect(pt.recipe.replace(polarity="both"))
    # the sign 'auto' decided is the prepared one
    assert pt.detect(pt.recipe.replace(polarity=pt.resolved.polarity, threshold=6.0)).equals(a)


def test_summary_functions():
    import pandas as pd

    from nbtools.impact import event_radii, mark_accepted, masked_time, observed_time, summarize

    tr, truth = impact_trace(duration=4.0, fs=20e3, rate=6, seed=26, charging_transient=2e-9)
    ev = find_events(tr, mask_start=0.5)
    assert masked_time(ev) == pytest.approx(0.5) and observed_time(ev) == pytest.approx(3.5)
    acc = mark_accepted(ev, [int(ev["i_peak"].iloc[0])])
    s = summarize(ev, acc)
    assert s["n_events"] == len(ev) - 1 and s["n_rejected"] == 1
    assert s["frequency"] == pytest.approx((len(ev) - 1) / 3.5)
    assert s["frequency_low"] < s["frequency"] < s["frequency_high"]
    assert s["expected_false_per_s"] == ev.attrs["expected_false_per_s"] and s["preview"] is False
    r_lmo, r_au = event_radii(ev), event_radii(ev, ev.attrs["recipe"].replace(material="Au"))
    assert np.all(r_au < r_lmo) and r_lmo.shape == (len(ev),)
    ev2 = pd.DataFrame({"i_start": [0, 10, 20], "i_peak": [2, 12, 22], "i_end": [5, 15, 25]})
    assert list(mark_accepted(ev2, [11, 25])) == [True, False, False]
