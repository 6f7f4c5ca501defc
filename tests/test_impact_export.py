"""Event exports that people read in a spreadsheet and programs read in SI units."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from nbtools.impact import event_radii, export_events, find_events
from nbtools.impact.export import SI_UNITS, charge_unit, spreadsheet_table
from nbtools.impact.table import FLAG_NO_DECAY, event_flags
from nbtools.simulate import impact_trace


@pytest.fixture(scope="module")
def events():
    tr, _ = impact_trace(duration=3, fs=20e3, rate=8, radius_median=25e-9, seed=61)
    ev = find_events(tr)
    ev = ev.assign(accepted=np.arange(len(ev)) % 4 != 0)
    ev.attrs = find_events(tr).attrs
    return ev


def test_csv_headers_carry_units_and_values_are_in_them(events, tmp_path):
    paths = export_events(events, events.attrs["params"], tmp_path, "rec")
    assert [p.name for p in paths] == ["rec_events.csv", "rec_events.parquet", "rec_params.json"]
    csv = pd.read_csv(paths[0])
    unit, factor = charge_unit(np.median(np.abs(events["charge"])))
    for head in ("t start / s", "t peak / s", "peak / pA", f"charge / {unit}", f"charge SD (noise) / {unit}",
                 "radius / nm", "duration / ms", "decay time / ms", "rise time (10-90 %) / ms", "SNR", "polarity",
                 "accepted", "flags", "start sample / sample"):
        assert head in csv.columns, head
    np.testing.assert_allclose(csv[f"charge / {unit}"], events["charge"] * factor, rtol=1e-9)
    np.testing.assert_allclose(csv["radius / nm"], event_radii(events) * 1e9, rtol=1e-9)
    np.testing.assert_allclose(csv["duration / ms"], events["duration"] * 1e3, rtol=1e-9)
    assert set(csv["accepted"]) == {"yes", "no"}
    # every unit-less name is a number without unit or a text column
    for c in csv.columns:
        assert " / " in c or c in ("SNR", "polarity", "kind", "accepted", "flags")


def test_parquet_keeps_si_values_with_units_in_its_metadata(events, tmp_path):
    import pyarrow.parquet as pq

    path = export_events(events, events.attrs["params"], tmp_path, formats=("parquet",))[0]
    table = pq.read_table(path)
    back = table.to_pandas()
    np.testing.assert_allclose(back["charge"], events["charge"])  # coulombs
    assert "radius" in back and back["radius"].max() < 1e-6  # metres
    meta = json.loads(table.schema.metadata[b"nbtools"])
    assert meta["units"]["charge"] == "C" and meta["units"]["radius"] == "m" and meta["units"]["t_peak"] == "s"
    assert table.schema.field("peak").metadata[b"unit"] == b"A"
    assert meta["recipe"]["recipe"] == "impact.events"


def test_json_names_the_units_and_the_recipe(events, tmp_path):
    path = export_events(events, events.attrs["params"], tmp_path, formats=("json",))[0]
    doc = json.loads(path.read_text())
    assert doc["units"]["charge_sd"] == "C"
    assert doc["recipe"]["recipe"] == "impact.events" and doc["recipe"]["params"]["polarity"] == "positive"


def test_no_impossible_time_constants():
    flags = event_flags([2.0, 3.0, 4.0], [0.1, 2.0, 0.1], [np.nan, 5.0, -1.0], [0.0, 0.0, 2.0])
    assert FLAG_NO_DECAY in flags[0] and "charge uncertain" in flags[1] and FLAG_NO_DECAY in flags[2]
    assert "charge partly extrapolated (50 % modelled tail)" in flags[2]
    tr, _ = impact_trace(duration=4, fs=20e3, rate=10, shape="square", seed=62)
    ev = find_events(tr)
    tau = ev["decay_tau"].to_numpy()
    assert not (tau <= 0).any()
    assert ev.loc[~np.isfinite(tau), "flags"].str.contains(FLAG_NO_DECAY).all()


def test_units_table_covers_the_numeric_columns(events):
    numeric = [c for c in events.columns if events[c].dtype.kind in "fi" and c != "accepted"]
    assert set(numeric) <= set(SI_UNITS)
    sheet = spreadsheet_table(events)
    assert len(sheet.columns) == len(events.columns)
