"""The real WEC-SPM TDMS file (skipped when ../shared/realdata is absent)."""

import numpy as np
import pytest

from nbtools import seccm
from nbtools.errors import ParameterError


def test_landings(tdms):
    ds = seccm.load(tdms)
    # FeedbackType: 1 (first approach), 2 (4 more approaches), 3 (4 retracts).
    # 4 approaches are followed by contact samples and a retract; the 5th
    # approach reaches the end of the file without a single contact sample.
    assert ds.sizes["pixel"] == 4
    assert ds.attrs["n_landings_complete"] == 4
    assert "approach 5" in ds.attrs["skipped"]
    assert list(ds.status.values) == ["landed"] * 4
    # serpentine 2 x 2 hop with a 10 um pitch: (0,0) (1,0) (1,1) (0,1)
    assert tuple(ds.attrs["grid_shape"]) == (2, 2)
    assert list(zip(ds.iy.values, ds.ix.values)) == [(0, 0), (0, 1), (1, 1), (1, 0)]
    assert 9e-6 < np.diff(ds.attrs["grid_x"])[0] < 11e-6
    # 6 fast sweeps + 2 slow sweeps per landing (Line Number steps); the first
    # landing starts with an extra hold at -0.9 V (line 3)
    assert [int(np.nanmax(s)) for s in ds.segment.values] == [8, 7, 7, 7]
    assert np.nanmin(ds.line_number.values[1]) == 29
    assert ds.n_samples.values.tolist() == [282, 277, 277, 277]


def test_physical_ranges(tdms):
    ds = seccm.load(tdms)
    assert ds.attrs["potential_channel"] == "V1 (V)"  # V2 is constant 0
    E = ds.potential.values
    I = ds.current.values
    assert -0.91 < np.nanmin(E) < -0.85 and -0.25 < np.nanmax(E) < -0.15
    # reduction wave: tens of nA cathodic at -0.9 V, ~0 at the positive end
    assert -5e-8 < np.nanmin(I) < -1e-8
    assert np.nanmax(np.abs(I)) < 1e-7
    ic = seccm.from_grid(seccm.current_at(ds, -0.85, branch="cathodic"), ds).values
    ia = seccm.from_grid(seccm.current_at(ds, -0.25, branch="anodic"), ds).values
    assert np.all(ic < -1e-8) and np.all(np.abs(ia) < 2e-9)
    dt = np.diff(ds.time.values[0, :10])
    np.testing.assert_allclose(dt, 0.008195075, rtol=1e-6)
    assert abs(ds.attrs["current_offset"] - 2.41e-10) < 1e-11


def test_channel_override_and_segments(tdms):
    ds = seccm.load(tdms, potential_channel="V2", current_channel="Current 2", label=False)
    assert ds.attrs["potential_channel"] == "V2 (V)"
    assert np.nanmax(np.abs(ds.potential.values)) == 0
    last = seccm.load(tdms, segments=[-2, -1])
    assert last.n_samples.values.tolist() == [171, 171, 171, 171]
    assert np.nanmin(last.line_number.values[0]) == 15
    with pytest.raises(ParameterError, match="Current 9"):
        seccm.load(tdms, current_channel="Current 9")


def test_fingerprint(tdms):
    ds = seccm.load(tdms)
    c = ds.current.values[0, : ds.n_samples.values[0]]
    assert c[0] == pytest.approx(-2.651e-08, rel=1e-3)
    assert np.nanmin(ds.current.values) == pytest.approx(-3.5005e-08, rel=1e-3)
