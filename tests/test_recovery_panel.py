"""RecoveryPanel without a browser: false-event text, injection-recovery run, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from nbtools.simulate import impact_trace
from nbtools.widgets.recovery_panel import RecoveryPanel, detection_limit
from nbtools.widgets.spike_picker import SpikePicker


@pytest.fixture(scope="module")
def picker():
    tr, _ = impact_trace(duration=3.0, fs=20e3, rate=5.0, radius_median=25e-9, seed=21)
    return SpikePicker(tr)


def test_false_event_text_follows_the_picker(picker):
    panel = RecoveryPanel(picker, n_sizes=3, n_per_size=5)
    picker.on_result(lambda _: panel.refresh())
    assert "False events" in panel.w_false.value and "per second" in panel.w_false.value
    picker.w_threshold.value = 9.0
    assert "at 9 σ" in panel.w_false.value and "Rice" in panel.w_false.value
    assert 0 < panel.w_rmin.value < panel.w_rmax.value


def test_injection_recovery_efficiency_rises_with_radius(picker):
    panel = RecoveryPanel(picker, n_sizes=4, n_per_size=10)
    panel.w_rmin.value, panel.w_rmax.value = 3.0, 40.0
    df = panel.run()
    assert len(df) == 4 and panel.w_progress.value == 4
    assert df["efficiency"].iloc[0] < 0.5 and df["efficiency"].iloc[-1] >= 0.9
    assert (df["low"] <= df["efficiency"]).all() and (df["efficiency"] <= df["high"]).all()
    lim = df.attrs["detection_limit_radius"]
    assert 3e-9 < lim <= 40e-9
    assert "90 % detection limit" in panel.w_result.value
    assert len(panel.source.data["r"]) == 4


def test_bad_radius_range_shows_error(picker):
    panel = RecoveryPanel(picker)
    panel.w_rmin.value, panel.w_rmax.value = 30.0, 10.0
    panel.w_run.click()
    assert "nbtools-error" in panel.status.value and "must exceed" in panel.status.value
    assert panel.result is None


def test_detection_limit_interpolates_in_log():
    assert detection_limit([1, 10], [0.0, 1.0], 0.5) == pytest.approx(10**0.5)
    assert detection_limit([1, 2, 4], [0.95, 1, 1]) == 1
    assert np.isnan(detection_limit([1, 2], [0.1, 0.2]))


def test_panel_follows_the_picker_and_shares_its_recipe(picker):
    panel = RecoveryPanel(picker, n_sizes=3, n_per_size=5)  # no on_result wiring: it observes the picker
    picker.set_threshold(11.0)
    assert "at 11 σ" in panel.w_false.value
    assert panel.recipe is picker.recipe
    panel.recipe = picker.recipe.replace(threshold=12.0)
    assert picker.params["threshold"] == 12.0 and "at 12 σ" in panel.w_false.value


def test_run_sets_the_result_trait_and_uses_the_recipe_material(picker):
    picker.set_params(threshold="auto", material="LiFePO4")
    panel = RecoveryPanel(picker, n_sizes=2, n_per_size=4)
    seen = []
    panel.observe(lambda c: seen.append(c["new"]), names="result")
    df = panel.run()
    assert seen == [df] and panel.result is df
    assert df.attrs["material"] == "LiFePO4" and df.attrs["recipe"].threshold == picker.events.attrs["threshold"]
    assert "LiFePO4" in panel.w_result.value
