"""Real instrument files (skipped when ../shared/realdata is absent)."""

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nbtools import Trace
from nbtools.impact import false_event_rate, find_events

REAL = Path(os.environ.get("NBTOOLS_REALDATA",
                           Path(__file__).resolve().parents[1].parent / "shared" / "realdata")) / "nanoimpact"
pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason="realdata folder absent")


def load(name):
    """nbtools.io.load_trace when available, else a tiny local parser."""
    path = REAL / name
    try:
        from nbtools.io import load_trace

        return load_trace(path)
    except (ImportError, AttributeError):
        pass
    if "gamry" in name:
        d = pd.read_csv(path, sep="\t", skiprows=2, header=None).dropna()
        return Trace(d.iloc[:, -1].to_numpy(float), fs=100.0, source=str(path))
    d = pd.read_csv(path, skiprows=17, header=None).dropna()
    return Trace(d.iloc[:, 1].to_numpy(float), fs=10.0, source=str(path))


def test_aunp_many_events_blank_few():
    """Defaults on the AuNP recording: spikes (they return to the baseline), of one sign (glucose
    oxidation: anodic), the noise dips of the other sign listed as rejected with the reason."""
    nie = find_events(load("AuNPs_NIE_gamry.txt"))
    blank = find_events(load("AuNPs_blank_gamry.txt"))
    rate_nie = len(nie) / nie.attrs["duration"]
    fr = false_event_rate(blank)
    assert len(nie) >= 50
    assert fr["empirical_per_s"] < 0.25 * rate_nie
    assert nie.attrs["kind"] == "spike" and (nie.polarity == "positive").all()
    d = nie.attrs["decisions"]
    assert d["event_kind"]["value"] == "spike" and "returns to its level" in d["event_kind"]["reason"]
    assert d["polarity"]["value"] == "positive" and nie.attrs["recipe"].polarity == "positive"
    rej = nie.attrs["rejected"]
    assert (rej.reason.str.startswith("opposite sign") == (rej.peak < 0)).all() and (rej.peak < 0).sum() >= 5
    # the recipe of the table reproduces it
    assert find_events(load("AuNPs_NIE_gamry.txt"), nie.attrs["recipe"]).equals(nie)


def test_chi_beads_steps():
    tr = load("beads_steps_chi760e.txt")
    auto = find_events(tr)  # the defaults notice the steps
    assert auto.attrs["kind"] == "step" and auto.attrs["decisions"]["event_kind"]["value"] == "step"
    assert "keeps its new level" in auto.attrs["decisions"]["event_kind"]["reason"]
    assert find_events(tr, auto.attrs["recipe"]).equals(auto)
    det = find_events(tr, kind="step", polarity="both")
    assert 6 <= len(det) <= 14 and len(auto) == len(det[det.step_height > 0])
    late = det[det.t_peak > 40]
    # blocking beads lower the magnitude of the cathodic current: upward steps
    assert len(late) >= 6 and (late.step_height > 0).all()
    # the overshoot after the 117.8 s step relaxes by about 1 pA, and the
    # background bends near 75 s: neither is a step
    rej = det.attrs["rejected"].set_index("t_start").reason
    for t in (75.1, 118.4):
        assert (np.abs(det.t_start - t) > 0.15).all()
    # the overshoot is either below the threshold or a candidate rejected for what it is
    assert rej[np.abs(rej.index - 118.4) < 0.15].isin(
        ["slope change, not a step", "relaxation after the previous step"]).all()
