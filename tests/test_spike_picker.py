"""SpikePicker without a browser: set controls / call handlers, assert on state."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from nbtools import Trace
from nbtools.impact import EventRecipe, export_events, find_events, mark_accepted
from nbtools.recipes import from_json
from nbtools.simulate import impact_trace
from nbtools.widgets.spike_picker import SpikePicker


@pytest.fixture(scope="module")
def recording():
    tr, truth = impact_trace(duration=4.0, fs=20e3, rate=6.0, polarity="positive", radius_median=25e-9,
                             seed=11)
    return tr, truth


@pytest.fixture
def picker(recording, tmp_path):
    return SpikePicker(recording[0], export_folder=tmp_path / "out")


def _same(ev, ref):
    pd.testing.assert_frame_equal(ev.drop(columns="accepted").reset_index(drop=True), ref.reset_index(drop=True))


def test_defaults_find_events_and_params_reproduce(picker, recording):
    tr, truth = recording
    ev = picker.events
    assert len(ev) > 5 and ev["accepted"].all()
    assert abs(len(ev) - len(truth)) <= max(3, len(truth) // 5)
    json.dumps(picker.params)  # serialisable
    _same(ev, find_events(tr, **picker.params))
    assert "events found" in picker.w_summary.value
    assert "pA" in picker.w_threshold_A.value
    # what 'auto' decided, in words, and the false-event rates explained together
    text = picker.w_summary.value.replace("&#x27;", "'")
    assert "Detected as spikes (transients): the current returns to its level" in text and "(spikes)" not in text
    assert "Sign positive:" in text and "Rice's formula" in text and "Load a blank recording" in text
    assert picker.w_kind.value == "auto" and picker.w_polarity.value == "auto"


def test_threshold_slider_changes_events_and_params_reproduce(picker, recording):
    tr = recording[0]
    n0 = len(picker.events)
    picker.w_threshold.value = 15.0  # as the browser would
    assert not picker.w_auto.value
    ev = picker.events
    assert len(ev) < n0
    assert picker.params["threshold"] == 15.0
    _same(ev, find_events(tr, **picker.params))
    assert "15 σ" in picker.status.value
    # the threshold band on the plot: baseline ± threshold (in the plot unit)
    up = np.asarray(picker.overlays["upper"].data_source.data["y"])
    base = np.asarray(picker.overlays["baseline"].data_source.data["y"])
    assert np.allclose(up - base, ev.attrs["threshold_A"] * picker.view.scale)
    assert ev.attrs["threshold_A"] == pytest.approx(15.0 * ev.attrs["noise"])


def test_preview_then_exact_on_long_traces(recording):
    tr = recording[0]
    sp = SpikePicker(tr, auto_refine=0)  # every trace counts as long: previews wait for Detect
    sp.w_threshold.value = 9.0
    assert sp.is_preview
    assert "preview" in sp.w_summary.value
    prev = sp.result.copy()
    ev = sp.events  # asking for the events runs the exact detection
    assert not sp.is_preview
    _same(ev, find_events(tr, **sp.params))
    # the preview kept (nearly) the same events as the exact run
    assert abs(len(prev) - len(ev)) <= 1
    assert np.isin(ev["i_peak"], prev["i_peak"]).mean() > 0.9


def test_summary_is_the_exact_runs_while_a_preview_is_shown(recording):
    """``summary`` is a result a script can use (the blank's counts included); ``shown_summary`` is the
    preview's (what the report says while the slider moves). A CI run once saw the preview's summary."""
    tr, truth = recording
    blank, _ = impact_trace(duration=4.0, fs=20e3, rate=0.0, noise_rms=truth.attrs["noise_sd"], seed=12)
    sp = SpikePicker(tr, blank=blank, auto_refine=0)
    sp.w_threshold.value = 7.0
    assert sp.is_preview and "blank_count" not in sp.shown_summary  # a preview does not count the blank
    s = sp.summary
    assert not sp.is_preview and s["n_events"] == len(sp.events) and s["blank_count"] >= 0


def test_a_listener_reading_the_summary_gets_the_reported_result(recording):
    """A listener told about a preview reads the preview's summary: no detection from inside it, no re-entry."""
    sp = SpikePicker(recording[0], auto_refine=0)
    calls = []

    def listener(p):
        calls.append(("enter", p.is_preview))
        calls.append(("exit", p.is_preview, p.summary["n_events"]))

    sp.on_result(listener)
    sp.w_threshold.value = 7.0
    assert sp.is_preview and [c[0] for c in calls] == ["enter", "exit"] and calls[1][1] is True


def test_other_settings_rerun(picker, recording):
    tr = recording[0]
    n_auto = len(picker.events)
    assert "lower" not in picker.overlays and "upper" in picker.overlays  # 'auto': the positive sign
    picker.w_polarity.value = "negative"
    ev = picker.events
    assert len(ev) < n_auto and (ev["peak"] < 0).all()
    assert "upper" not in picker.overlays and "lower" in picker.overlays
    picker.w_polarity.value = "positive"
    picker.w_min_dur.value = 0.5  # ms
    assert picker.params["min_duration"] == pytest.approx(0.5e-3)
    picker.w_window.value = "0.4"
    assert picker.params["baseline_window"] == 0.4
    _same(picker.events, find_events(tr, **picker.params))
    picker.w_auto.value = True
    assert picker.params["threshold"] == "auto"
    _same(picker.events, find_events(tr, **picker.params))


def test_set_params_and_steps():
    tr, truth = impact_trace(duration=3.0, fs=10e3, kind="step", rate=3.0, seed=4)
    sp = SpikePicker(tr, kind="step")
    ev = sp.events
    assert len(ev) >= 1 and (ev["kind"] == "step").all()
    _same(ev, find_events(tr, **sp.params))
    assert "Step height" in sp.plots.hists["charge"][0].xaxis.axis_label
    # steps have no charge, size or duration: no such columns; heights in their own unit
    titles = [c.title for c in sp.table.columns]
    assert not any(t.startswith(("charge", "± noise", "radius", "duration")) for t in titles)
    unit = sp.event_table.peak_unit
    assert f"step / {unit}" in titles
    shown = np.asarray(sp.table_source.data["peak"])
    assert 1 <= np.nanmax(np.abs(shown)) < 1000
    np.testing.assert_allclose(shown, ev["peak"].to_numpy() * sp.event_table.peak_scale)
    # back to spikes: the columns return
    sp.set_params(kind="spike")
    assert any(c.title.startswith("charge") for c in sp.table.columns)


def test_reject_accept_and_stats(picker):
    s0 = picker.summary
    picker.select(2)
    assert picker.selected == 2
    picker.w_toggle.click()
    ev = picker.events
    assert not ev["accepted"].iloc[2] and ev["accepted"].sum() == len(ev) - 1
    s1 = picker.summary
    assert s1["n_events"] == s0["n_events"] - 1 and s1["n_rejected"] == 1
    assert s1["frequency"] < s0["frequency"]
    assert list(picker.table_source.data["accepted"]).count(False) == 1
    assert len(picker.overlays["rejected"].data_source.data["t"]) == 1
    # a rejection survives a re-detection that keeps the event
    picker.w_threshold.value = picker.w_threshold.value + 0.2
    assert picker.events["accepted"].sum() == len(picker.events) - 1
    picker.accept(int(np.flatnonzero(~picker.events["accepted"].to_numpy())[0]))
    assert picker.events["accepted"].all()


def test_table_selection_zooms_to_event(picker):
    ev = picker.events
    picker.table_source.selected.indices = [1]  # a click in the table
    t0, t1 = picker.view.window
    assert t0 <= ev["t_start"].iloc[1] and ev["t_end"].iloc[1] <= t1
    assert t1 - t0 < picker.trace.duration / 10
    assert len(picker.view.source.data["t"]) <= picker.view.max_points
    picker.w_whole.click()
    assert picker.view.window[1] - picker.view.window[0] > 0.9 * picker.trace.duration


def test_histograms_and_material(picker):
    src = picker.plots.hists["radius"][1]
    r_lmo = np.asarray(picker.table_source.data["radius"])
    assert np.nansum(src.data["top"]) == len(picker.events)
    picker.w_material.value = "Au"
    r_au = np.asarray(picker.table_source.data["radius"])
    assert np.all(r_au < r_lmo)  # denser, 3 electrons: smaller particle for the same charge
    f = picker.plots.hists["frequency"][1].data
    low, top, high = (np.asarray(f[k]) for k in ("low", "top", "high"))
    assert np.all(low <= top) and np.all(top <= high)


def test_export_never_overwrites(picker, tmp_path):
    picker.reject(0)
    first = picker.export()
    assert {p.suffix for p in first} == {".csv", ".parquet", ".json"}
    csv = pd.read_csv(first[0])
    assert len(csv) == len(picker.events) and csv["accepted"].iloc[0] == "no"
    # units in every header, the values in those units; the radius the table shows is there
    unit = picker.event_table.charge_unit
    assert f"charge / {unit}" in csv and "radius / nm" in csv and "t peak / s" in csv and "SNR" in csv
    np.testing.assert_allclose(csv[f"charge / {unit}"], picker.events["charge"] * picker.event_table.charge_scale)
    np.testing.assert_allclose(csv["radius / nm"], np.asarray(picker.table_source.data["radius"]), rtol=1e-9)
    pq = pd.read_parquet(first[1])
    assert len(pq) == len(csv) and np.allclose(pq["charge"], picker.events["charge"])  # SI values
    doc = json.loads(first[2].read_text())
    _same(picker.events, find_events(picker.trace, **doc["find_events_params"]))
    before = first[0].read_bytes()
    second = picker.export()
    assert not set(first) & set(second)
    assert first[0].read_bytes() == before
    assert "download" in picker.w_export_out.value and "data:text/csv;base64," in picker.w_export_out.value


def test_export_refuses_a_file_as_folder(picker, tmp_path):
    f = tmp_path / "a_file"
    f.write_text("x")
    picker.w_folder.value = str(f)
    picker.w_export.click()
    assert "nbtools-error" in picker.status.value and "not a folder" in picker.status.value
    assert f.read_text() == "x"


@pytest.mark.parametrize("current, words", [
    (np.full(5000, 1e-12), "constant"),
    (np.where(np.arange(5000) == 1234, np.nan, np.random.default_rng(0).normal(0, 1e-12, 5000)), "NaN"),
])
def test_bad_traces_show_errors(current, words):
    sp = SpikePicker(Trace(current, fs=1e4))
    assert "nbtools-error" in sp.status.value and words in sp.status.value
    with pytest.raises(Exception):
        sp.events
    sp.widget  # still displays


def test_bad_settings_show_errors(picker):
    picker.w_window.value = "soon"
    # the error names the control on the page, not the recipe field
    assert "nbtools-error" in picker.status.value and "Baseline window / s" in picker.status.value
    assert "baseline_window" not in picker.status.value
    picker.w_window.value = "1e6"
    assert "nbtools-error" in picker.status.value and "shorter" in picker.status.value
    picker.w_window.value = "auto"
    assert "events found" in picker.status.value


def test_blank_counts_false_events_at_the_recordings_threshold(recording):
    tr = recording[0]
    blank, _ = impact_trace(duration=4.0, fs=20e3, rate=0.0, seed=12)
    sp = SpikePicker(tr, blank=blank)
    s = sp.summary
    assert "blank_false_per_s" in s and s["blank_count"] <= 1 and s["blank_matched"] is True
    text = sp.w_summary.value.replace("&#x27;", "'")
    assert "this recording's threshold" in text and "the blank's count is the one to trust" in text
    assert sp.params["noise"] is None  # the recording's own noise
    _same(sp.events, find_events(tr, blank=blank, **sp.params))
    _same(sp.events, find_events(tr, **sp.params))
    sp.set_blank(None)
    assert "blank_count" not in sp.summary and "Load a blank recording" in sp.w_summary.value


def test_widget_displays_itself(picker):
    import ipywidgets as W

    assert isinstance(picker.widget, W.VBox)
    bundle = picker._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_path_input_and_bad_type(tmp_path):
    tr, _ = impact_trace(duration=2.0, fs=10e3, rate=5.0, seed=3)
    path = tmp_path / "rec.npz"
    np.savez(path, current=tr.current, fs=tr.fs, t0=0.0, current_unit="A")
    sp = SpikePicker(str(path))
    assert len(sp.events) >= 1 and sp.trace.source
    bad = SpikePicker(42)
    assert "nbtools-error" in bad.status.value and "Trace" in bad.status.value


# --- helpers ----------------------------------------------------------------------
def test_mark_accepted():
    ev = pd.DataFrame({"i_start": [0, 10, 20], "i_peak": [2, 12, 22], "i_end": [5, 15, 25]})
    assert mark_accepted(ev, []).all()
    assert list(mark_accepted(ev, [12])) == [True, False, True]
    assert list(mark_accepted(ev, [11, 25])) == [True, False, False]


def test_export_events_bad_formats(tmp_path):
    from nbtools.errors import ParameterError

    with pytest.raises(ParameterError, match="formats"):
        export_events(pd.DataFrame({"a": [1]}), {}, tmp_path, formats=("xlsx",))
    with pytest.raises(ParameterError, match="folder"):
        export_events(pd.DataFrame({"a": [1]}), {}, "  ")


# --- real recordings (skipped when ../shared/realdata is absent) ------------------------
def test_mismatched_blank_is_explained_not_used_for_the_threshold(recording):
    import warnings

    tr, truth = recording
    own = SpikePicker(tr).summary
    blank, _ = impact_trace(duration=4.0, fs=20e3, rate=0.0, noise_rms=3 * truth.attrs["noise_sd"], seed=13)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sp = SpikePicker(tr, blank=blank)
        sp.set_threshold(6.0)
    assert not [w for w in caught if "blank" in str(w.message)]
    s = sp.summary
    assert s["noise"] == own["noise"] and s["blank_matched"] is False  # one sigma: the recording's
    assert "3 x as noisy" in sp.w_summary.value and sp.w_summary.value.count("σ =") == 1
    assert "nbtools-warning" not in sp.status.value


def test_real_aunp_recording_with_blank(realdata):
    import warnings

    folder = realdata / "nanoimpact"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reader notes about the quantised time column
        sp = SpikePicker(folder / "AuNPs_NIE_gamry.txt")
        n_own = len(sp.events)
        assert n_own >= 50, sp.status.value
        _same(sp.events, find_events(sp.trace, **sp.params))
        sp.set_trace(sp.trace, blank=folder / "AuNPs_blank_gamry.txt")
    s = sp.summary
    assert s["n_events"] == n_own  # the blank does not change the detection
    assert s["blank_count"] <= 5 and s["blank_duration"] > 100
    # this blank is noisier than the recording: searched at the same SDs of its own noise, and said so
    text = sp.w_summary.value.replace("&#x27;", "'")
    assert "3.9 x as noisy" in text and "of the 62 events may be noise" in text.replace(str(n_own), "62")


def test_tap_on_a_marker_selects_the_event(picker):
    picker.reject(0)
    acc_rows = np.flatnonzero(picker.events["accepted"].to_numpy())
    picker.overlays["accepted"].data_source.selected.indices = [2]  # a tap on the 3rd red dot
    assert picker.selected == acc_rows[2]
    assert list(picker.table_source.selected.indices) == [acc_rows[2]]
    assert picker.overlays["accepted"].data_source.selected.indices == []
    picker.overlays["rejected"].data_source.selected.indices = [0]
    assert picker.selected == 0 and picker.w_toggle.description == "Accept selected"


def test_threshold_outside_the_slider_range(recording):
    tr = recording[0]
    sp = SpikePicker(tr, threshold=25.0)
    assert sp.params["threshold"] == 25.0 and sp.w_threshold.value == 25.0
    _same(sp.events, find_events(tr, **sp.params))
    sp.set_params(threshold=2.5, hysteresis=0.5)
    assert sp.params["threshold"] == 2.5
    sp.set_threshold("auto")
    assert sp.params["threshold"] == "auto"
    sp.set_threshold(sp.w_threshold.value)  # same value as shown: leaves 'auto'
    assert sp.params["threshold"] != "auto" and not sp.w_auto.value


@pytest.mark.parametrize("method", ["poly", "constant", "none"])
def test_band_for_each_baseline_method(picker, method):
    picker.w_baseline.value = method
    assert picker.params["baseline"] == method and "events found" in picker.status.value
    base = np.asarray(picker.overlays["baseline"].data_source.data["y"])
    assert base.size >= 2 and np.all(np.isfinite(base))
    if method == "none":
        assert np.all(base == 0)


def test_lazy_trace_from_raw(recording):
    tr = recording[0]
    raw = np.round(tr.current / 1e-13).astype(np.int16)
    lazy = Trace.from_raw(raw, fs=tr.fs, gain=1e-13)
    assert lazy.is_lazy
    sp = SpikePicker(lazy)
    assert len(sp.events) > 5
    base = np.asarray(sp.overlays["baseline"].data_source.data["y"]) / sp.view.scale
    assert np.all(np.abs(base - np.median(tr.current)) < 5 * sp.summary["noise"])


def test_threshold_change_reuses_baseline_and_band_is_the_core_baseline(picker, recording):
    tr = recording[0]
    calls = []
    picker.observe(lambda c: calls.append(c["new"].attrs["noise"]), names="result")
    picker.w_threshold.value = 9.0
    assert len(calls) == 1  # one result back for one slider move
    _same(picker.events, find_events(tr, **picker.params))
    bc = picker.events.attrs["baseline_curve"]
    x = np.asarray(picker.overlays["baseline"].data_source.data["t"])
    y = np.asarray(picker.overlays["baseline"].data_source.data["y"]) / picker.view.scale
    np.testing.assert_allclose(y, np.interp(x, bc["t"], bc["value"]), rtol=1e-9, atol=1e-18)
    picker.w_hyst.value = 0.5  # another setting: prepared again, exact
    assert not picker.is_preview and picker.params["hysteresis"] == 0.5


# --- the picker is a view over its recipe -------------------------------------------------
def test_recipe_round_trips_through_the_recipe_bar(picker, recording, tmp_path):
    tr = recording[0]
    picker.set_params(threshold=7.5, polarity="positive", hysteresis=0.7, min_duration=2e-4, material="LiFePO4")
    r = picker.recipe
    assert (r.threshold, r.polarity, r.hysteresis, r.material) == (7.5, "positive", 0.7, "LiFePO4")
    picker.w_folder.value = str(tmp_path / "exports")
    path = picker.recipe_bar.save()
    assert path.parent == tmp_path / "exports" and from_json(path) == r
    other = SpikePicker(tr)
    other.recipe_bar.load(path)  # Load recipe
    assert other.recipe == r
    assert (other.w_threshold.value, other.w_polarity.value, other.w_hyst.value, other.w_material.value) == (
        7.5, "positive", 0.7, "LiFePO4")
    assert other.w_min_dur.value == pytest.approx(0.2) and not other.w_auto.value
    _same(other.events, find_events(tr, r))
    pd.testing.assert_frame_equal(other.events, picker.events)
    assert other.events.attrs["recipe"] == r.replace(kind="spike")  # 'auto' as decided


def test_setting_the_recipe_updates_the_controls_and_reruns(picker, recording):
    tr = recording[0]
    picker.recipe = EventRecipe(threshold=9.0, event_kind="step")
    assert picker.w_kind.value == "step" and picker.w_threshold.value == 9.0
    _same(picker.events, find_events(tr, threshold=9.0, kind="step"))
    picker.recipe = picker.recipe.replace(threshold="auto", kind="spike")
    assert picker.w_auto.value and picker.params["threshold"] == "auto"
    assert picker.w_threshold.value == pytest.approx(picker.events.attrs["threshold"])


def test_a_slider_move_goes_down_once_and_back_once(picker, monkeypatch):
    from nbtools.impact.prepared import PreparedTrace

    calls = []
    for name in ("detect", "preview"):
        real = getattr(PreparedTrace, name)
        monkeypatch.setattr(PreparedTrace, name, lambda self, th=None, _r=real, _n=name: calls.append(_n)
                            or _r(self, th))
    results = []
    picker.observe(lambda c: results.append(c["new"]), names="result")
    picker.w_threshold.value = 8.0
    assert calls == ["detect"] and len(results) == 1
    r = results[0].attrs["recipe"]  # the recipe the slider made, with 'auto' as decided
    assert r.threshold == 8.0 and r.replace(kind="auto", polarity="auto") == picker.recipe


def test_long_trace_previews_then_detect_button(recording):
    sp = SpikePicker(recording[0], auto_refine=0)
    sp.w_threshold.value = 9.0
    assert sp.is_preview and sp.result.attrs["threshold"] == 9.0
    sp.w_material.value = "Au"  # sizing only: still the preview, relabelled
    assert sp.is_preview and sp.result.attrs["recipe"].material == "Au"
    sp.w_detect.click()
    assert not sp.is_preview and "preview" not in sp.w_summary.value
