"""Review fixes of the trust tools: blank at the recording's threshold, injection placement, noise-model check."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from nbtools import Trace
from nbtools.errors import NbtoolsWarning, ParameterError
from nbtools.impact import false_event_rate, find_events, injection_recovery
from nbtools.simulate import impact_trace

REAL = Path(os.environ.get("NBTOOLS_REALDATA",
                           Path(__file__).resolve().parents[1].parent / "shared" / "realdata")) / "nanoimpact"


@pytest.fixture(scope="module")
def recording():
    tr, _ = impact_trace(duration=3.0, fs=20e3, rate=4.0, noise_rms=5e-12, seed=31)
    return tr, find_events(tr)


# --- 1. the blank's false events at the recording's threshold ---------------------------
def test_blank_is_searched_at_the_recordings_threshold(recording):
    tr, ev = recording
    blank, _ = impact_trace(duration=3.0, fs=20e3, rate=0.0, noise_rms=5e-12, seed=32)
    fr = false_event_rate(blank, ev)
    assert fr["at"] == "recording threshold"
    assert fr["threshold_A"] == pytest.approx(ev.attrs["threshold_A"], rel=1e-12)
    assert fr["noise"] == pytest.approx(ev.attrs["noise"], rel=1e-12)
    same = find_events(blank, noise=ev.attrs["noise"], threshold=ev.attrs["threshold"])
    assert fr["count"] == len(same) and fr["count"] <= 2
    assert fr["blank_noise"] == pytest.approx(ev.attrs["noise"], rel=0.1)


def test_noisier_blank_is_searched_at_its_own_noise_and_says_so(recording):
    """A blank 2.4 x as noisy as the recording is not a fair control in amperes (it would count
    hundreds of false events at the recording's threshold): it is searched at the same threshold
    relative to its own noise, and the result says so."""
    tr, ev = recording
    noisy, _ = impact_trace(duration=3.0, fs=20e3, rate=0.0, noise_rms=12e-12, seed=33)
    fr = false_event_rate(noisy, ev)
    assert fr["matched"] is False and fr["at"] == "blank's own noise"
    assert "2.4 x as noisy" in fr["note"] and re.search(r"noise 1.[0-9]+e-11 A vs 4.[0-9]+e-12 A", fr["mismatch"])
    assert fr["threshold"] == pytest.approx(ev.attrs["threshold"])
    assert fr["threshold_A"] == pytest.approx(ev.attrs["threshold"] * fr["blank_noise"], rel=1e-9)
    assert fr["count"] <= 2 and fr["empirical_low"] <= fr["empirical_per_s"] <= fr["empirical_high"]
    assert fr["rice_threshold"] == pytest.approx(ev.attrs["threshold"])
    with pytest.raises(ParameterError, match="either events"):
        false_event_rate(noisy, ev, threshold=6.0)
    with pytest.raises(ParameterError, match="find_events result"):
        false_event_rate(noisy.current, 20e3)


def test_find_events_with_a_noisier_blank_keeps_its_own_threshold(recording):
    """One sigma: the recording's. The blank's count comes with the table, and says how it was made."""
    tr, ev = recording
    noisy, _ = impact_trace(duration=3.0, fs=20e3, rate=0.0, noise_rms=12e-12, seed=33)
    det = find_events(tr, blank=noisy)  # no warning: nothing was replaced
    assert det.equals(ev) and det.attrs["noise"] == ev.attrs["noise"]
    assert det.attrs["threshold_A"] == ev.attrs["threshold_A"]
    br = det.attrs["blank_rate"]
    assert br == false_event_rate(noisy, ev) and br["recording_noise"] == ev.attrs["noise_estimate"]


@pytest.mark.skipif(not REAL.is_dir(), reason="realdata folder absent")
def test_real_aunp_blank_at_the_recordings_threshold():
    import warnings

    from nbtools.io import load_trace

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reader notes (quantised time column)
        tr = load_trace(REAL / "AuNPs_NIE_gamry.txt")
        bl = load_trace(REAL / "AuNPs_blank_gamry.txt")
        ev = find_events(tr)
    with pytest.warns(NbtoolsWarning, match="not Gaussian"):  # the negative dips of an anodic recording
        fr = false_event_rate(bl, ev)
    # the blank is 3.9 x as noisy (another current range): searched at the same SDs of its own noise
    assert fr["matched"] is False and "3.9 x as noisy" in fr["note"]
    assert fr["threshold"] == pytest.approx(ev.attrs["threshold"]) and fr["count"] <= 5
    withblank = find_events(tr, blank=bl)
    assert withblank.equals(ev) and withblank.attrs["blank_rate"]["count"] == fr["count"]


def test_spike_picker_blank_count_is_at_the_recordings_threshold(recording):
    from nbtools.widgets.spike_picker import SpikePicker

    tr, _ = recording
    blank, _ = impact_trace(duration=3.0, fs=20e3, rate=0.0, noise_rms=5e-12, seed=34)
    sp = SpikePicker(tr, blank=blank)
    fr = false_event_rate(blank, sp.events)
    assert sp.summary["blank_count"] == fr["count"]
    assert fr["threshold_A"] == pytest.approx(sp.summary["threshold_A"])


# --- 2. injection-recovery: injections placed away from real events, matched by time ----
@pytest.fixture(scope="module")
def busy_recording():
    """Pure Gaussian noise with 10 large, slow real events (~30 % of the time inside their integration ranges)."""
    import pandas as pd

    from nbtools.simulate import inject_events

    fs = 20e3
    rng = np.random.default_rng(5)
    noise = Trace(rng.normal(0, 5e-12, int(4 * fs)), fs=fs)
    t = np.arange(0.1, 3.9, 0.4)
    tr, _ = inject_events(noise, pd.DataFrame({"charge": np.full(t.size, 4.5e-12), "t_start": t}), tau=30e-3)
    return tr


def test_real_events_are_not_counted_as_recovered_injections(busy_recording):
    tr = busy_recording
    assert len(find_events(tr)) == 10
    rec = injection_recovery(tr, [1e-19, 5e-14], n_per_charge=20, tau=1e-3)
    # an undetectable charge is never "recovered" (real events land nowhere near the injections)
    assert rec["n_recovered"].iloc[0] == 0
    # a clear one is recovered every time, its charge matched to its own detection, not a real event's
    assert rec["efficiency"].iloc[1] == 1.0
    assert rec["charge_ratio"].iloc[1] == pytest.approx(1.0, abs=0.15)


def test_injection_charges_are_magnitudes_and_must_fit(busy_recording):
    tr = busy_recording
    with pytest.raises(ParameterError, match="positive finite magnitudes.*inject_polarity"):
        injection_recovery(tr, [-5e-14], n_per_charge=5, tau=1e-3)
    with pytest.raises(ParameterError, match="n_per_charge"):
        injection_recovery(tr, [5e-14], n_per_charge=500, tau=1e-3)


# --- 3. empirical check of the Gaussian noise model ------------------------------------
def test_gaussian_noise_passes_the_noise_model_check(recording):
    tr, ev = recording
    chk = ev.attrs["noise_model_check"]
    assert chk["ok"] is True and chk["opposite_polarity_count"] == ev.attrs["opposite_polarity_count"]
    assert chk["opposite_polarity_count"] <= 1 and chk["expected"] < 0.1
    blank, _ = impact_trace(duration=3.0, fs=20e3, rate=0.0, noise_rms=5e-12, seed=35)
    false_event_rate(blank, ev)  # no warning (pytest turns an unexpected one into a failure)
    injection_recovery(tr, [5e-14], n_per_charge=5)
    pos = find_events(tr, polarity="positive").attrs["noise_model_check"]
    assert pos["ok"] is None and "not checked" in pos["message"]
    assert find_events(tr, polarity="both").attrs["noise_model_check"]["ok"] is True


def test_heavy_tailed_noise_fails_the_check_and_the_trust_tools_warn():
    rng = np.random.default_rng(52)
    tr = Trace(rng.standard_t(3, 60000) * 5e-12, fs=20e3)
    blank = Trace(rng.standard_t(3, 60000) * 5e-12, fs=20e3)
    ev = find_events(tr)  # no warning from detection: the check is an attrs entry
    chk = ev.attrs["noise_model_check"]
    assert chk["ok"] is False and chk["opposite_polarity_count"] > 100 * max(chk["expected"], 0.01)
    assert "not Gaussian" in chk["message"] and "blank" in chk["message"]
    with pytest.warns(NbtoolsWarning, match="not Gaussian"):
        fr = false_event_rate(blank, ev)
    assert fr["count"] > 100  # the blank measures what the Gaussian model misses
    assert fr["empirical_per_s"] > 100 * ev.attrs["expected_false_per_s"]
    with pytest.warns(NbtoolsWarning, match="not Gaussian"):
        injection_recovery(tr, [5e-13], n_per_charge=3, tau=2e-4)


@pytest.mark.skipif(not REAL.is_dir(), reason="realdata folder absent")
def test_real_aunp_negative_events_flag_the_noise_model():
    import warnings

    from nbtools.io import load_trace

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reader notes (quantised time column)
        ev = find_events(load_trace(REAL / "AuNPs_NIE_gamry.txt"))
    chk = ev.attrs["noise_model_check"]
    rej = ev.attrs["rejected"]
    n_neg = int(rej.reason.str.startswith("opposite sign").sum())  # polarity 'auto': listed as rejected
    assert (ev["peak"] > 0).all()
    assert chk["minority"] == "negative" and chk["opposite_polarity_count"] == n_neg >= 5
    assert chk["ok"] is False and chk["expected"] < 0.1
