"""What 'auto' decides (event kind, sign), why, and that the decided recipe reproduces the table."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nbtools import Trace
from nbtools.impact import EventRecipe, decisions_text, find_events, prepare, summarize
from nbtools.impact.auto import OPPOSITE_SIGN, decide_polarity
from nbtools.recipes import from_json
from nbtools.simulate import impact_trace


@pytest.mark.parametrize("seed", [1, 2])
def test_a_staircase_is_detected_as_steps(seed):
    tr, truth = impact_trace(duration=60, fs=10, rate=0.1, kind="step", seed=seed, noise_rms=1e-12,
                             bessel_cutoff=None, drift=20e-12)
    ev = find_events(tr)
    d = ev.attrs["decisions"]["event_kind"]
    assert ev.attrs["kind"] == "step" and d["value"] == "step" and d["evidence"]["persistence_median"] > 1
    assert "keeps its new level" in d["reason"]
    assert ev.equals(find_events(tr, kind="step"))  # the decided kind and sign, nothing else
    assert find_events(tr, ev.attrs["recipe"]).equals(ev)


@pytest.mark.parametrize("kw", [dict(), dict(tau=20e-3, fs=20e3, rate=5, radius_median=60e-9),
                                dict(pink_noise=3e-12, drift=200e-12)])
def test_transients_with_drift_and_slow_decays_are_spikes(kw):
    args = dict(duration=6, fs=50e3, rate=10, seed=4, mains=1e-12)
    args.update(kw)
    tr, _ = impact_trace(**args)
    ev = find_events(tr)
    d = ev.attrs["decisions"]["event_kind"]
    assert d["value"] == "spike" and d["evidence"]["persistence_median"] < 0.3 and d["evidence"]["judged"] >= 3


def test_polarity_auto_keeps_the_dominant_sign_and_lists_the_other():
    """A cathodic recording with a few anodic excursions: negative events; the positive candidates are
    rejected, with the reason, and counted by the noise-model check."""
    tr, truth = impact_trace(duration=4, fs=20e3, rate=8, polarity="negative", seed=6)
    x = tr.current.astype(float).copy()
    rng = np.random.default_rng(0)
    for i in rng.choice(np.arange(2000, x.size - 2000), 4, replace=False):
        x[i:i + 5] += 15 * truth.attrs["noise_sd"]  # short positive glitches
    tr2 = Trace(x, fs=tr.fs)
    ev = find_events(tr2)
    assert (ev["peak"] < 0).all() and ev.attrs["recipe"].polarity == "negative"
    rej = ev.attrs["rejected"]
    opposite = rej[rej["reason"].str.startswith(OPPOSITE_SIGN)]
    assert len(opposite) >= 3 and (opposite["peak"] > 0).all()
    assert "positive" in opposite["reason"].iloc[0] and "negative events" in opposite["reason"].iloc[0]
    assert ev.attrs["noise_model_check"]["opposite_polarity_count"] == len(opposite)
    d = ev.attrs["decisions"]["polarity"]
    assert d["value"] == "negative" and "listed as rejected" in d["reason"]
    # strong ones of the other sign are called out: the particles may give both signs
    assert "choose 'both'" in d["reason"]
    assert find_events(tr2, ev.attrs["recipe"]).equals(ev)
    assert find_events(tr2, polarity="both").shape[0] >= len(ev) + len(opposite) - 1


def test_decide_polarity_by_summed_height():
    d = decide_polarity([1, 1, -1, -1, -1], [30e-12, 40e-12, -6e-12, -6e-12, -6e-12], 5e-12)
    assert d.value == "positive" and "2 of the 5" in d.reason and d.evidence["strong_opposite"] == 0
    assert decide_polarity([], [], 1.0).value == "positive"


def test_without_events_spikes_are_assumed_and_said():
    tr, _ = impact_trace(duration=2, fs=20e3, rate=0, seed=8)
    ev = find_events(tr)
    assert len(ev) == 0 and ev.attrs["kind"] == "spike"
    # no excursion, and the step detector finds no level change in filtered noise either
    assert "nothing says these are steps" in ev.attrs["decisions"]["event_kind"]["reason"]


def test_steps_in_filtered_noise_are_not_found():
    """A low-pass filter (every amplifier has one) correlates neighbouring samples: the step test's
    noise comes from its own window differences, so a blank gives no steps whatever the filter."""
    for cutoff in (None, 2000.0, 500.0):
        kw = {} if cutoff is None else {"bessel_cutoff": cutoff}
        tr, _ = impact_trace(duration=20, fs=20e3, rate=0, seed=3, **kw)
        ev = find_events(tr, kind="step", polarity="both")
        assert len(ev) <= 1, (cutoff, len(ev))


def test_decisions_in_words_and_in_the_summary():
    tr, _ = impact_trace(duration=3, fs=20e3, rate=6, seed=9)
    ev = find_events(tr)
    s = summarize(ev)
    assert s["kind"] == "spike" and s["polarity"] == "positive"
    text = decisions_text(s)
    assert text.startswith("Detected as spikes (transients): the current returns") and "Sign positive" in text
    assert decisions_text(summarize(find_events(tr, kind="spike", polarity="positive"))) == ""
    json.dumps(ev.attrs["decisions"])  # JSON-friendly


def test_prepared_trace_decides_once_for_every_threshold():
    tr, _ = impact_trace(duration=3, fs=20e3, rate=6, polarity="negative", seed=10)
    pt = prepare(tr)
    assert pt.resolved.polarity == "negative" and pt.resolved.event_kind == "spike"
    assert pt.accepts(pt.resolved.replace(threshold=7.0)) and pt.accepts(EventRecipe(threshold=8.0))
    for th in (5.0, 8.0, "auto"):
        ev = pt.detect(th)
        assert ev.attrs["recipe"].polarity == "negative" and ev.equals(find_events(tr, threshold=th))
        assert ev.equals(find_events(tr, ev.attrs["recipe"]))
        r = from_json(ev.attrs["recipe"].to_json())
        assert find_events(tr, r).equals(ev)


def test_auto_recipes_round_trip_and_keep_their_meaning():
    r = EventRecipe(polarity="auto", event_kind="auto")
    assert from_json(r.to_json()) == r and r.n_polarities == 1
    assert EventRecipe.coerce(None, **r.as_params()) == r
    assert "blank" not in r.detection_settings()  # a blank never changes the detection
