"""find_events on seeded synthetic recordings with known events."""

import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

from nbtools import Trace
from nbtools.errors import DataError, ParameterError
from nbtools.impact import EVENT_COLUMNS, find_events
from nbtools.simulate import impact_trace


def match(det, truth, fs):
    """Index of the detection covering each truth peak (-1: missed), one-to-one."""
    ds, de = det.t_start.to_numpy() - 2 / fs, det.t_end.to_numpy()
    used = np.zeros(len(det), bool)
    m = np.full(len(truth), -1)
    for k, tp in enumerate(truth.t_peak.to_numpy()):
        hit = np.flatnonzero((ds <= tp) & (de >= tp) & ~used)
        if hit.size:
            used[hit[0]] = True
            m[k] = hit[0]
    return m


def scores(det, truth, fs):
    m = match(det, truth, fs)
    strong = truth.snr.to_numpy() >= 6
    rec = np.mean(m[strong] >= 0)
    fp = len(det) - np.count_nonzero(m >= 0)
    prec = 1 - fp / max(len(det), 1)
    ok = strong & (m >= 0)
    qerr = np.median(np.abs(det.charge.to_numpy()[m[ok]] / truth.charge.to_numpy()[ok] - 1))
    dt = np.abs(det.t_peak.to_numpy()[m[ok]] - truth.t_peak.to_numpy()[ok]) * fs
    return 2 * prec * rec / (prec + rec), qerr, dt


REALISTIC = dict(duration=8.0, fs=100e3, rate=12, pink_noise=2e-12, mains=1e-12, drift=50e-12)


@pytest.mark.parametrize("polarity,seed", [("positive", 1), ("negative", 2), ("both", 3)])
def test_accuracy_default_params(polarity, seed):
    """Defaults (polarity 'auto' takes the sign of one-sign recordings; a recording with both signs
    is detected with polarity 'both')."""
    tr, truth = impact_trace(polarity=polarity, seed=seed, **REALISTIC)
    det = find_events(tr, **({"polarity": "both"} if polarity == "both" else {}))
    f1, qerr, dt = scores(det, truth, tr.fs)
    assert f1 >= 0.97
    assert qerr <= 0.06  # one 8 s recording (~70 events); the pooled target is below
    assert np.mean(dt <= 2) >= 0.97
    assert set(EVENT_COLUMNS) <= set(det.columns)
    if polarity == "negative":
        assert (det.peak < 0).all() and (det.charge < 0).all()


def test_accuracy_targets_pooled_over_recordings():
    """The issue's targets on events with SNR >= 6, pooled over 12 recordings
    (both signs): F1 >= 0.97 each, median |charge error| <= 5 %, peak time
    within 2 samples (for >= 99 % of the events)."""
    q_all, dt_all = [], []
    for seed in range(4):
        for polarity in ("positive", "negative", "both"):
            tr, truth = impact_trace(polarity=polarity, seed=500 + seed, **REALISTIC)
            det = find_events(tr, polarity="both" if polarity == "both" else "auto")
            m = match(det, truth, tr.fs)
            ok = (truth.snr.to_numpy() >= 6) & (m >= 0)
            f1, _, dt = scores(det, truth, tr.fs)
            assert f1 >= 0.97
            q_all.append(np.abs(det.charge.to_numpy()[m[ok]] / truth.charge.to_numpy()[ok] - 1))
            dt_all.append(dt)
    q_all, dt_all = np.concatenate(q_all), np.concatenate(dt_all)
    assert q_all.size > 600
    assert np.median(q_all) <= 0.05
    assert np.mean(dt_all <= 2) >= 0.99


def test_peak_time_follows_shapes_that_vary_with_size():
    """Decay and rise growing with particle size (tau = 1 ms (r/r_med)^2):
    one half-max -> peak delay for all events would be wrong for most."""
    import pandas as pd
    from nbtools.impact.inject import bessel_sos, event_template, inject_events

    fs, sig = 100e3, 5e-12
    host, _ = impact_trace(duration=8, fs=fs, rate=0, seed=2, noise_rms=sig)
    sos = bessel_sos(host.meta["filter"]["cutoff_hz"], fs)
    r = np.exp(0.35 * np.random.default_rng(4).standard_normal(70))
    tau = 1e-3 * r**2
    peak1 = np.array([event_template("biexp", t, fs, sos=sos).max() for t in tau])
    ev = pd.DataFrame(dict(t_start=0.05 + 0.11 * np.arange(70), charge=40 * r * sig / peak1, tau=tau))
    tr, truth = inject_events(host, ev, shape="biexp")
    det = find_events(tr)
    m = match(det, truth, fs)
    assert (m >= 0).all()
    err = np.abs(det.t_peak.to_numpy()[m] - truth.t_peak.to_numpy()) * fs
    assert np.median(err) < 2.5 and np.mean(err <= 2) >= 0.45


def test_small_particles_only():
    """No event reaches SNR 20: the peak delay and the tail length come from
    the strongest events above SNR 8 (10 kHz, 5 ms decays)."""
    tr, truth = impact_trace(duration=120, fs=10e3, rate=3, tau=5e-3, polarity="positive", seed=8,
                             radius_median=18e-9, radius_sigma=0.2)
    det = find_events(tr)
    assert det.snr.max() < 20
    m = match(det, truth, tr.fs)
    ok = (truth.snr.to_numpy() >= 6) & (m >= 0)
    assert ok.sum() >= 15
    dt = np.abs(det.t_peak.to_numpy()[m[ok]] - truth.t_peak.to_numpy()[ok]) * tr.fs
    assert np.mean(dt <= 2) >= 0.95
    q = det.charge.to_numpy()[m[ok]] / truth.charge.to_numpy()[ok] - 1
    assert abs(np.median(q)) < 0.08


def test_charge_sd_is_calibrated():
    """charge_sd (the noise's share of each charge) matches the scatter of the
    charge errors on synthetic recordings: (charge - truth) / charge_sd has a
    robust SD near 1 and is centred."""
    z = []
    for seed in range(3):
        tr, truth = impact_trace(polarity="both", seed=300 + seed, **REALISTIC)
        det = find_events(tr, polarity="both")
        m = match(det, truth, tr.fs)
        ok = (truth.snr.to_numpy() >= 6) & (m >= 0)
        d = det.iloc[m[ok]]
        # (an event cut short by its neighbour has a large uncertainty: its tail is extrapolated)
        assert (d.charge_sd > 0).all() and np.mean(d.charge_sd < 0.3 * d.charge.abs()) > 0.95
        z.append((d.charge.to_numpy() - truth.charge.to_numpy()[ok]) / d.charge_sd.to_numpy())
    z = np.concatenate(z)
    rsd = 1.4826 * np.median(np.abs(z - np.median(z)))
    assert z.size > 150
    assert 0.75 < rsd < 1.4
    assert abs(np.median(z)) < 0.4
    # steps carry no charge
    st_, _ = impact_trace(duration=60, fs=10, rate=0.1, kind="step", seed=3, noise_rms=1e-12, bessel_cutoff=None)
    assert find_events(st_, kind="step").charge_sd.isna().all()


def test_pure_noise_false_events():
    # 1e6 samples of filtered white + 1/f noise: Rice predicts 0.1 false events
    tr, truth = impact_trace(duration=10, fs=100e3, rate=0, pink_noise=2e-12, seed=5)
    det = find_events(tr)
    assert len(truth) == 0
    assert len(det) <= 1
    assert det.attrs["expected_false_per_s"] * tr.duration < 0.2


def test_params_reproduce_and_are_json():
    tr, _ = impact_trace(duration=2, fs=50e3, rate=10, seed=7)
    det = find_events(tr, hysteresis=0.5, min_duration=1e-4)
    params = json.loads(json.dumps(det.attrs["params"]))
    again = find_events(tr, **params)
    assert det.equals(again)
    for key in ("noise", "threshold_A", "baseline_method", "n_samples", "fs", "duration", "rejected"):
        assert key in det.attrs
    assert "reason" in det.attrs["rejected"].columns


def test_blank_counts_false_events_and_leaves_the_detection_alone():
    """The threshold comes from the recording's own noise; a blank (twice as noisy) only counts its
    false events there, and the recipe reproduces the table with or without it."""
    blank, _ = impact_trace(duration=2, fs=50e3, rate=0, seed=8, noise_rms=8e-12)
    tr, _ = impact_trace(duration=2, fs=50e3, rate=5, seed=9, noise_rms=4e-12)
    det = find_events(tr, blank=blank)
    own = find_events(tr)
    assert det.equals(own) and det.attrs["noise"] == own.attrs["noise"] == pytest.approx(4e-12, rel=0.1)
    assert det.attrs["params"]["noise"] is None
    br = det.attrs["blank_rate"]
    assert br["matched"] is False and "2 x as noisy" in br["note"] and br["count"] >= 0
    assert find_events(tr, **det.attrs["params"]).equals(det)


@pytest.mark.parametrize("charging_tau", [0.05, 0.5, 2.0])
def test_charging_transient_rejected_with_reason(charging_tau):
    # a Cottrell-like decay 400x the noise at t = 0
    tr, truth = impact_trace(duration=8, fs=20e3, rate=5, seed=11, charging_transient=2e-9,
                             charging_tau=charging_tau)
    det = find_events(tr)
    rej = det.attrs["rejected"]
    # either the baseline follows the decay from the first sample, or the
    # initial excursion is rejected as the charging transient (not an event)
    t_mask = det.attrs["masked"][0][1] if det.attrs["masked"] else 0.0
    if t_mask > 0:
        assert rej.reason.iloc[0] == "charging transient" and rej.t_start.iloc[0] == 0
    assert t_mask < 0.5
    assert det.attrs["noise"] == pytest.approx(truth.attrs["noise_sd"], rel=0.1)
    late = truth.t_start > t_mask + 0.1
    f1, _, _ = scores(det[det.t_start > t_mask + 0.1], truth[late], tr.fs)
    assert f1 >= 0.95


def test_range_switch_masked():
    tr, _ = impact_trace(duration=2, fs=20e3, rate=0, seed=12)
    x = tr.current.astype(np.float64).copy()
    x[20000:20010] += 1e-9  # switching glitch
    tr2 = Trace(x, fs=tr.fs, meta={"range_changes": [1.0]})
    assert len(find_events(Trace(x, fs=tr.fs))) == 1
    det = find_events(tr2)
    assert len(det) == 0 and set(det.attrs["rejected"].reason) == {"range switch"}


def test_min_duration_rejects_with_reason():
    tr, _ = impact_trace(duration=2, fs=50e3, rate=10, seed=13)
    det = find_events(tr, min_duration=1.0)
    assert len(det) == 0
    assert (det.attrs["rejected"].reason == "too short").all() and len(det.attrs["rejected"]) > 5


def test_steps_found():
    tr, truth = impact_trace(duration=150, fs=10, rate=0.1, kind="step", seed=3, drift=1e-10,
                             noise_rms=1e-12, step_height=2e-11, bessel_cutoff=None)
    det = find_events(tr, kind="step")
    d = np.abs(det.t_peak.to_numpy()[:, None] - truth.t_start.to_numpy()[None, :]).min(axis=1)
    assert np.mean(d <= 0.15) >= 0.9  # detected steps are true ones
    assert len(det) >= 0.9 * len(truth)
    assert np.isfinite(det.step_height).all()
    # heights of the matched steps (drifting background): within 10 % each
    j = np.abs(det.t_peak.to_numpy()[:, None] - truth.t_start.to_numpy()[None, :]).argmin(axis=1)
    near = d <= 0.15
    rel = det.step_height.to_numpy()[near] / truth.step_height.to_numpy()[j[near]] - 1
    assert np.median(np.abs(rel)) < 0.05 and np.abs(rel).max() < 0.1


@pytest.mark.parametrize("min_duration", [0.0, 0.01, 0.05])
def test_steps_in_pure_noise(min_duration):
    # 2e5 samples of white noise: the table expects 0.02 false steps
    x = 1e-12 * np.random.default_rng(0).standard_normal(200_000)
    det = find_events(x, fs=1000.0, kind="step", min_duration=min_duration)
    assert len(det) <= 1
    assert det.attrs["expected_false_per_s"] * 200 < 0.1


def test_big_endian_samples():
    tr, _ = impact_trace(duration=2.0, fs=20e3, rate=5, seed=8, dtype=np.float64)
    ref = find_events(tr)
    got = find_events(tr.current.astype(">f8"), fs=tr.fs)
    assert len(got) == len(ref) > 0
    np.testing.assert_allclose(got.charge, ref.charge, rtol=1e-9)


def test_steps_reject_a_bend_and_an_overshoot_relaxing():
    rng = np.random.default_rng(0)
    n, fs = 1200, 10.0
    x = rng.normal(scale=0.2e-12, size=n)
    x[300:] += 10e-12          # a step
    x[306:] -= 3e-12           # its overshoot relaxing right after
    x[800:] += 8e-12           # another step
    u = np.arange(n) - 600
    x += np.where(u > 0, 0.05e-12 * u, 0.0)  # the background bends at 60 s
    det = find_events(Trace(x, fs=fs), kind="step", mask_start=0.0, polarity="both")
    assert sorted(np.round(det.t_start, 1)) == [30.0, 80.0]
    np.testing.assert_allclose(sorted(det.step_height), [8e-12, 10e-12], rtol=0.05)
    rej = det.attrs["rejected"]
    assert "relaxation after the previous step" in set(rej.reason[(rej.t_start - 30.6).abs() < 0.2])


# ---- properties --------------------------------------------------------------------
_BASE, _ = impact_trace(duration=1.0, fs=20e3, rate=15, polarity="both", seed=21, drift=2e-11,
                        dtype=np.float64)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=64, max_value=30000))
def test_chunking_invariance(chunk):
    ref = find_events(_BASE)
    got = find_events(_BASE, chunk_size=chunk)
    assert got.drop(columns=[]).equals(ref)


@settings(max_examples=8, deadline=None)
@given(st.floats(min_value=-1e-9, max_value=1e-9))
def test_offset_invariance(offset):
    ref = find_events(_BASE)
    got = find_events(Trace(_BASE.current + offset, fs=_BASE.fs))
    assert len(got) == len(ref)
    np.testing.assert_allclose(got.t_peak, ref.t_peak, atol=2 / _BASE.fs)
    np.testing.assert_allclose(got.charge, ref.charge, rtol=1e-3, atol=1e-16)


def test_polarity_mirror():
    ref = find_events(_BASE)
    got = find_events(Trace(-_BASE.current, fs=_BASE.fs))
    assert len(got) == len(ref)
    np.testing.assert_allclose(got.charge, -ref.charge, rtol=1e-6, atol=1e-18)
    assert (got.polarity != ref.polarity).all()
    pos = find_events(_BASE, polarity="positive")
    assert (pos.peak > 0).all() and len(pos) == (ref.peak > 0).sum()


def test_memmap_chunked_identical(tmp_path):
    tr, _ = impact_trace(duration=4, fs=100e3, rate=10, seed=31)
    path = tmp_path / "trace.npy"
    np.save(path, tr.current)
    mm = np.load(path, mmap_mode="r")
    ref = find_events(tr)
    got = find_events(Trace(mm, fs=tr.fs), chunk_size=100_000)
    assert got.equals(ref)


# ---- bad input ---------------------------------------------------------------------
def test_bad_inputs():
    with pytest.raises(DataError, match="empty"):
        find_events(np.array([]), fs=10)
    with pytest.raises(DataError, match="constant"):
        find_events(np.ones(1000), fs=10)
    x = np.random.default_rng(0).normal(size=1000)
    x[500] = np.nan
    with pytest.raises(DataError, match="index 500"):
        find_events(x, fs=100)
    x[500] = np.inf
    with pytest.raises(DataError, match="NaN or Inf"):
        find_events(x, fs=100)
    y = np.random.default_rng(1).normal(size=1000)
    with pytest.raises(ParameterError, match="fs"):
        find_events(y)
    for fs in (0, -5, float("nan"), "abc"):
        with pytest.raises(ParameterError, match="fs"):
            find_events(y, fs=fs)
    with pytest.raises(ParameterError, match="contradicts"):
        find_events(Trace(y, fs=100), fs=200)
    with pytest.raises(DataError, match="shorter than baseline_window"):
        find_events(y, fs=100, baseline_window=100)
    with pytest.raises(ParameterError, match="polarity"):
        find_events(y, fs=100, polarity="up")
    with pytest.raises(ParameterError, match="hysteresis"):
        find_events(y, fs=100, threshold=3, hysteresis=4)
    with pytest.raises(ParameterError, match="unknown EventRecipe setting.*treshold"):
        find_events(y, fs=100, treshold=3)
    with pytest.raises(ParameterError, match="mains must be a frequency in"):
        find_events(y, fs=100, mains=60.0)
