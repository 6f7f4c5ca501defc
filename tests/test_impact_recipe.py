"""EventRecipe: one check per setting, JSON round trip, and find_events(trace, events.attrs["recipe"]) == events."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbtools import Trace
from nbtools.errors import MaterialError, ParameterError
from nbtools.impact import DEFAULTS, EventRecipe, find_events, prepare
from nbtools.recipes import from_json
from nbtools.simulate import impact_trace


@pytest.fixture(scope="module")
def rec():
    tr, _ = impact_trace(duration=3.0, fs=20e3, rate=8, polarity="both", pink_noise=1e-12, drift=20e-12, seed=41)
    return tr


@pytest.fixture(scope="module")
def blank():
    return impact_trace(duration=3.0, fs=20e3, rate=0, seed=42)[0]


# --- the recipe itself ----------------------------------------------------------------
def test_defaults_and_keyword_names():
    r = EventRecipe()
    assert r.kind == "impact.events" and r.event_kind == "auto" and r.threshold == "auto" and r.polarity == "auto"
    assert DEFAULTS == r.as_params() and DEFAULTS["kind"] == "auto" and "blank" not in DEFAULTS
    assert EventRecipe.coerce(kind="step").event_kind == "step"
    assert r.replace(kind="step") == EventRecipe(event_kind="step")
    assert EventRecipe.coerce(None, **EventRecipe(event_kind="step", threshold=7).as_params()).threshold == 7.0
    with pytest.raises(ParameterError, match="not both"):
        EventRecipe.coerce(kind="step", event_kind="spike")


@pytest.mark.parametrize("kw, words", [
    (dict(threshold=0), "threshold must be > 0"),
    (dict(threshold="high"), "threshold must be a number"),
    (dict(polarity="up"), "polarity must be one of"),
    (dict(kind="blob"), "event_kind must be one of"),
    (dict(baseline="spline"), "baseline must be one of"),
    (dict(baseline_window=-1), "baseline_window must be > 0"),
    (dict(hysteresis=-0.5), "hysteresis must be >= 0"),
    (dict(threshold=3, hysteresis=4), "hysteresis .4. must be below threshold .3."),
    (dict(min_duration=-1e-3), "min_duration must be >= 0"),
    (dict(mask_start=-1), "mask_start must be >= 0"),
    (dict(range_mask="wide"), "range_mask must be a number"),
    (dict(noise=0), "noise must be > 0"),
    (dict(false_rate=0.5), "false_rate must be > 0 and < 0.1"),
    (dict(iterations=0), "iterations must be >= 1"),
    (dict(mains=-50), "mains must be > 0"),
    (dict(chunk_size=10), "chunk_size must be >= 64"),
    (dict(conversion=1.5), r"conversion must be a fraction in \(0, 1\]"),
    (dict(merge="perhaps"), "merge must be True or False"),
])
def test_each_setting_is_checked_by_the_recipe(kw, words):
    with pytest.raises(ParameterError, match=words):
        EventRecipe.coerce(**kw)


def test_material_is_a_table_name():
    assert EventRecipe(material="lfp").material == "LiFePO4"
    with pytest.raises(MaterialError, match="not in the table"):
        EventRecipe(material="unobtainium")


def test_the_threshold_is_checked_in_one_place(rec):
    """A prepared trace asked for another threshold says what the recipe says."""
    pt = prepare(rec)
    for bad in ("high", -2.0, 0.5):
        with pytest.raises(ParameterError) as from_recipe:
            EventRecipe(threshold=bad)
        with pytest.raises(ParameterError) as from_prepared:
            pt.detect(bad)
        with pytest.raises(ParameterError) as from_preview:
            pt.preview(bad)
        assert str(from_recipe.value) == str(from_prepared.value) == str(from_preview.value)


_values = dict(
    threshold=st.one_of(st.just("auto"), st.floats(2.0, 40.0)),
    polarity=st.sampled_from(["both", "positive", "negative", "anodic", "cathodic"]),
    event_kind=st.sampled_from(["spike", "step"]),
    baseline=st.sampled_from(["auto", "median", "poly", "constant", "none"]),
    baseline_window=st.one_of(st.just("auto"), st.floats(1e-3, 100.0)),
    baseline_degree=st.integers(0, 12),
    hysteresis=st.floats(0.0, 1.9),
    min_duration=st.floats(0.0, 1.0),
    min_separation=st.floats(0.0, 1.0),
    merge=st.booleans(),
    mask_start=st.one_of(st.just("auto"), st.none(), st.floats(0.0, 10.0)),
    range_mask=st.one_of(st.just("auto"), st.floats(0.0, 1.0)),
    noise=st.one_of(st.none(), st.floats(1e-15, 1e-6)),
    false_rate=st.floats(1e-12, 0.09),
    iterations=st.integers(1, 50),
    mains=st.one_of(st.just("auto"), st.none(), st.floats(1.0, 1000.0)),
    chunk_size=st.one_of(st.none(), st.integers(64, 1 << 26)),
    material=st.sampled_from(["LiMn2O4", "LiFePO4", "Au", "Ag"]),
    conversion=st.floats(1e-3, 1.0),
    blank=st.one_of(st.none(), st.text("abc/_.", min_size=1, max_size=12).filter(str.strip)),
)


@settings(max_examples=80, deadline=None)
@given(st.fixed_dictionaries({}, optional=_values))
def test_property_json_round_trip(kw):
    r = EventRecipe(**kw)
    back = from_json(r.to_json())
    assert back == r and back.digest() == r.digest() and type(back) is EventRecipe
    assert EventRecipe.coerce(json.loads(r.to_json())) == r
    assert EventRecipe.coerce(None, **r.as_kwargs()) == r


# --- results carry the recipe that reproduces them ----------------------------------------
@pytest.mark.parametrize("kw", [
    {}, dict(threshold=7.0, polarity="positive"), dict(hysteresis=0.5, min_duration=2e-4, merge=False,
                                                        min_separation=1e-3),
    dict(baseline="poly", baseline_degree=2, mask_start=0.2), dict(chunk_size=4096), dict(kind="step"),
])
def test_recipe_in_attrs_reproduces_the_table(rec, kw):
    ev = find_events(rec, **kw)
    r = ev.attrs["recipe"]
    assert isinstance(r, EventRecipe) and ev.attrs["params"] == r.as_params()
    assert find_events(rec, r).equals(ev)
    assert find_events(rec, from_json(r.to_json())).equals(ev)  # also after a trip through a file
    assert find_events(rec, **json.loads(json.dumps(ev.attrs["params"]))).equals(ev)


def test_recipe_with_a_blank_reproduces_with_or_without_it(rec, blank, tmp_path):
    """A blank never changes the detection: the table is the recording's own, and the recipe (the
    blank's path in it, when it was one) reproduces it; the blank's false events come with it."""
    own = find_events(rec)
    ev = find_events(rec, blank=blank, threshold="auto")
    r = ev.attrs["recipe"]
    assert ev.equals(own) and r.blank is None and r.noise is None and r.threshold == "auto"
    assert ev.attrs["blank_rate"]["threshold"] == own.attrs["threshold"]
    assert find_events(rec, r).equals(ev)
    assert find_events(rec, blank=blank, **ev.attrs["params"]).equals(ev)
    # a blank named by a path: the recipe keeps the path
    path = tmp_path / "blank.npz"
    np.savez(path, current=blank.current, fs=blank.fs, t0=0.0, current_unit="A")
    from nbtools.io import load_trace

    ev2 = find_events(rec, EventRecipe(blank=str(path)))
    assert ev2.equals(own) and ev2.attrs["blank_source"] == str(path) and ev2.attrs["recipe"].blank == str(path)
    assert ev2.attrs["blank_rate"]["count"] == find_events(rec, blank=load_trace(path)).attrs["blank_rate"]["count"]
    assert find_events(rec, ev2.attrs["recipe"]).equals(ev2)
    assert find_events(rec, blank=str(path)).equals(ev2)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(th=st.one_of(st.just("auto"), st.floats(4.0, 12.0)), pol=st.sampled_from(["both", "positive", "negative"]),
       h=st.floats(0.0, 2.0), merge=st.booleans(), base=st.sampled_from(["auto", "constant", "poly"]))
def test_property_result_recipe_reproduces(rec, th, pol, h, merge, base):
    ev = find_events(rec, threshold=th, polarity=pol, hysteresis=h, merge=merge, baseline=base)
    assert find_events(rec, from_json(ev.attrs["recipe"].to_json())).equals(ev)


def test_recipe_and_keywords_combine(rec):
    r = EventRecipe(threshold=8.0, polarity="positive")
    assert find_events(rec, r, polarity="negative").equals(find_events(rec, threshold=8.0, polarity="negative"))
    assert find_events(rec, r.to_json()).equals(find_events(rec, r))
    from nbtools.recipes import Recipe

    class Other(Recipe):  # a recipe of another analysis
        kind = "test.other"

    with pytest.raises(ParameterError, match="expected a EventRecipe"):
        find_events(rec, Other())


def test_sampling_rate_in_second_place_still_works(rec):
    x = np.asarray(rec.current)
    ref = find_events(Trace(x, fs=rec.fs), threshold=6.0)
    assert find_events(x, rec.fs, threshold=6.0).equals(ref)
    assert prepare(x, rec.fs).detect(6.0).equals(ref)
    with pytest.raises(ParameterError, match="sampling rate once"):
        find_events(x, rec.fs, fs=rec.fs)


def test_recipe_and_trace_by_keyword(rec):
    r = EventRecipe(threshold=7.0)
    assert find_events(trace=rec, recipe=r).equals(find_events(rec, r))
    assert prepare(rec, recipe=r).detect().equals(find_events(rec, r))
