"""nbtools.units: labels and unit spellings found in instrument exports."""

from __future__ import annotations

import pytest

from nbtools.errors import UnitsError
from nbtools.units import kind_of, normalise, scale, split_label


@pytest.mark.parametrize("unit, factor", [
    ("A", 1.0), ("mA", 1e-3), ("uA", 1e-6), ("µA", 1e-6), ("μA", 1e-6), ("Âµ" + "A", 1e-6),
    ("nA", 1e-9), ("pA", 1e-12), ("fA", 1e-15), (" pA ", 1e-12), ("[A]", 1.0), ("amps", 1.0),
])
def test_current_units(unit, factor):
    assert scale(unit, "current") == factor


@pytest.mark.parametrize("unit, factor", [
    ("s", 1.0), ("sec", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("min", 60.0), ("h", 3600.0), ("hours", 3600.0),
])
def test_time_units(unit, factor):
    assert scale(unit, "time") == factor


@pytest.mark.parametrize("label, name, unit", [
    ("Current / pA", "Current", "pA"), ("I/A", "I", "A"), ("current (nA)", "current", "nA"),
    ("Current/A", "Current", "A"), ("[A]", "", "A"), ("Time/sec", "Time", "sec"), ("<I>/mA", "<I>", "mA"),
    ("I [µA]", "I", "µA"), ("current_pA", "current", "pA"), ("Im", "Im", None), ("Time (ms)", "Time", "ms"),
    ("Current1 (A)", "Current1", "A"), ("control/V/mA", "control/V", "mA"), ("time_index", "time_index", None),
])
def test_split_label(label, name, unit):
    assert split_label(label) == (name, unit)


def test_gamry_potential_unit():
    assert normalise("V vs. Ref.") == "V"
    assert kind_of("V vs. Ref.") == "potential"


def test_unknown_unit_names_where_and_choices():
    with pytest.raises(UnitsError) as exc:
        scale("furlong", "current", where="run.csv, column 'I (furlong)'")
    msg = str(exc.value)
    assert "furlong" in msg and "run.csv" in msg and "pA" in msg


def test_wrong_kind_is_explained():
    with pytest.raises(UnitsError, match="potential unit"):
        scale("mV", "current")
    with pytest.raises(UnitsError, match="no current unit"):
        scale(None, "current", where="x.csv")
    with pytest.raises(UnitsError, match="kind"):
        scale("A", "charge")


@pytest.mark.parametrize("unit, factor", [("m", 1.0), ("mm", 1e-3), ("um", 1e-6), ("µm", 1e-6), ("nm", 1e-9)])
def test_length_units(unit, factor):
    assert scale(unit, "length") == factor


@pytest.mark.parametrize("unit, kind, factor", [("mv", "potential", 1e-3), ("ma", "current", 1e-3),
                                                ("NA", "current", 1e-9), ("V vs. Ref.", "potential", 1.0)])
def test_lower_case_spellings_of_seccm_exports(unit, kind, factor):
    assert scale(unit, kind) == factor


def test_label_scale_default_override_and_errors():
    from nbtools.units import label_scale

    assert label_scale("Current1 (A)", "current") == ("A", 1.0)
    assert label_scale("X (um)", "length") == ("um", 1e-6)
    assert label_scale("dt(s)", "time") == ("s", 1.0)
    assert label_scale("E", "potential", default="V") == ("V", 1.0)
    assert label_scale("I (A)", "current", override="nA") == ("nA", 1e-9)
    with pytest.raises(UnitsError, match=r"no current unit found in f.csv"):
        label_scale("I", "current", where="f.csv")
    with pytest.raises(UnitsError, match="that is a potential unit"):
        label_scale("I (mV)", "current")


def test_suffix_minutes_are_not_metres():
    assert split_label("time_m") == ("time_m", None)
    assert split_label("x_um") == ("x", "um")
