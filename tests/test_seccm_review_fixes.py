"""Review fixes: classify needs two populations, derived scan rate, load's error classes."""

import warnings

import numpy as np
import pytest
import xarray as xr

from nbtools import seccm
from nbtools.errors import NbtoolsWarning, ParameterError
from nbtools.simulate import seccm_scan


# ------------------------------------------------------------------ classify
def test_classify_homogeneous_scan_is_not_split():
    ds, truth = seccm_scan(nx=10, ny=10, n_samples=300, seed=1, coverage=0.0)
    assert not truth["particle"].any()
    with pytest.warns(NbtoolsWarning, match="look like one population"):
        m = seccm.classify(ds)
    assert not m.values.any()
    assert m.attrs["split"] == 0 and np.isnan(m.attrs["threshold"])
    assert m.attrs["separation"] < m.attrs["min_separation"]


def test_classify_one_gaussian_population_is_not_split():
    rng = np.random.default_rng(8)
    ds, _ = seccm_scan(nx=12, ny=10, n_samples=100, seed=8, coverage=0.0, label=False)
    per_pixel = xr.DataArray(rng.normal(1e-9, 0.1e-9, ds.sizes["pixel"]), dims="pixel",
                             coords={"ix": ds.ix, "iy": ds.iy})
    act = seccm.to_grid(per_pixel, ds)
    with pytest.warns(NbtoolsWarning, match="look like one population"):
        m = seccm.classify(ds, act)
    assert not m.values.any()
    # two populations 8 sd apart in the same scan are split
    act2 = act.where(act.x < act.x[6], act + 0.8e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NbtoolsWarning)
        m2 = seccm.classify(ds, act2)
    assert m2.attrs["split"] == 1
    np.testing.assert_array_equal(m2.values, (act2.x >= act2.x[6]).broadcast_like(act2).values)


def test_classify_too_small_scan_warns():
    ds, _ = seccm_scan(nx=3, ny=3, n_samples=200, seed=2, label=False)
    with pytest.warns(NbtoolsWarning, match="too few"):
        m = seccm.classify(ds)
    assert not m.values.any() and m.attrs["n_used"] == 9
    # an explicit threshold is applied as given, without the population test
    q = seccm.charge(ds)
    thr = float(np.nanmedian(q))
    with warnings.catch_warnings():
        warnings.simplefilter("error", NbtoolsWarning)
        m2 = seccm.classify(ds, q, threshold=thr)
    np.testing.assert_array_equal(m2.values, (q > thr).values)


def test_classify_real_four_landings_is_not_split(tdms):
    ds = seccm.load(tdms)
    assert int((ds.status == "landed").sum()) == 4
    with pytest.warns(NbtoolsWarning, match="too few"):
        m = seccm.classify(ds)
    assert not m.values.any()


def test_classify_activity_by_name_and_bad_activity_message():
    ds, truth = seccm_scan(nx=16, ny=14, n_samples=240, seed=5)
    by_name = seccm.classify(ds, "charge")
    np.testing.assert_array_equal(by_name.values, seccm.classify(ds).values)
    pk = seccm.classify(ds, "peak_current")
    t = truth["particle"]
    assert (pk.values & t).sum() / (pk.values | t).sum() >= 0.8
    assert pk.attrs["threshold_units"] == "A"
    with pytest.raises(ParameterError, match="found the string 'charges'"):
        seccm.classify(ds, activity="charges")
    with pytest.raises(ParameterError, match=r"ndarray"):
        seccm.classify(ds, activity=np.zeros((14, 16)))
    with pytest.raises(ParameterError, match=r"dims \('pixel',\)"):
        seccm.classify(ds, activity=ds.noise)


# ------------------------------------------------------------- scan rate
def _triangle(rate, hold=0.5, dt=2e-3, e1=0.1, e2=0.6):
    """Hold at e1, then one cycle e1 -> e2 -> e1 at ``rate`` (V/s)."""
    t_sw = (e2 - e1) / rate
    t = np.arange(0, hold + 2 * t_sw, dt)
    u = np.clip(t - hold, 0, None)
    E = np.where(u < t_sw, e1 + rate * u, e2 - rate * (u - t_sw))
    return t, E


@pytest.mark.parametrize("rate", [0.05, 0.5, 3.0])
def test_read_columns_derives_scan_rate_from_time(tmp_path, rate):
    t, E = _triangle(rate)
    rng = np.random.default_rng(3)
    cur = rng.normal(0, 1, (4, t.size))
    p = tmp_path / "scan.csv"
    with open(p, "w") as fh:
        fh.write("t (s),E (V)," + ",".join(f"I{i} (nA)" for i in range(4)) + "\n")
        np.savetxt(fh, np.column_stack([t, E, cur.T]), delimiter=",")
    ds = seccm.read_columns(p, grid=(2, 2), time_column="t", potential_column="E")
    assert ds.attrs["scan_rate"] == pytest.approx(rate, rel=1e-3)
    assert "derived" in ds.attrs["scan_rate_source"]
    # dt instead of a time column; a given scan_rate wins
    p2 = tmp_path / "nt.csv"
    np.savetxt(p2, np.column_stack([E, cur.T]), delimiter=",")
    assert seccm.read_columns(p2, grid=(2, 2), dt=2e-3).attrs["scan_rate"] == pytest.approx(rate, rel=1e-3)
    given = seccm.read_columns(p2, grid=(2, 2), dt=2e-3, scan_rate=7.0)
    assert given.attrs["scan_rate"] == 7.0 and "scan_rate_source" not in given.attrs
    # no time: nothing is made up
    assert "scan_rate" not in seccm.read_columns(p2, grid=(2, 2)).attrs


def test_read_folder_derives_scan_rate(tmp_path):
    t, E = _triangle(0.2, dt=5e-3)
    for x in (0, 10):
        for y in (0, 10):
            np.savetxt(tmp_path / f"x{x}_y{y}.csv", np.column_stack([E, 1e-9 * np.sin(E), t]), delimiter=",")
    ds = seccm.read_folder(tmp_path, time_column=2)
    assert ds.attrs["scan_rate"] == pytest.approx(0.2, rel=1e-3)


def test_real_tdms_scan_rate_and_fit(tdms):
    last = seccm.load(tdms, segments=[-2, -1])
    # independent estimate: potential range over the duration of the last sweep of landing 1
    n = int(last.n_samples[1])
    seg = last.segment.values[1, :n]
    sel = seg == seg.max()
    E, t = last.potential.values[1, :n][sel], last.time.values[1, :n][sel]
    ref = np.ptp(E) / np.ptp(t)
    assert last.attrs["scan_rate"] == pytest.approx(ref, rel=0.02)
    assert "derived" in last.attrs["scan_rate_source"]
    full = seccm.load(tdms)
    assert full.attrs["scan_rate"] == pytest.approx(ref, rel=0.02)  # most time is spent in the slow sweeps
    assert "several rates" in full.attrs["scan_rate_note"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NbtoolsWarning)  # identifiability notes of the fit itself
        r = seccm.fit_pixels(last, pixels=[1], scheduler="sync")
    assert r.fit_status.values[1] == "ok"


# ------------------------------------------------------------ load errors
def test_load_missing_path_is_missing_file_error(tmp_path):
    import nbtools.seccm.readers  # noqa: F401  (read_netcdf is not re-exported)
    from nbtools import io
    from nbtools.errors import MissingFileError

    for name in ("missing.tdms", "missing.csv", "missing.nc", "no_folder"):
        with pytest.raises(MissingFileError, match=name) as e:
            seccm.load(tmp_path / name)
        assert isinstance(e.value, FileNotFoundError)
    # the same class as the trace loader
    with pytest.raises(MissingFileError):
        io.load_trace(tmp_path / "missing.abf")
    for reader, name in ((seccm.read_wecspm_tdms, "a.tdms"), (seccm.read_columns, "a.csv"),
                         (seccm.read_folder, "f"), (seccm.readers.read_netcdf, "a.nc")):
        with pytest.raises(MissingFileError, match=name):
            reader(tmp_path / name)


@pytest.mark.parametrize(
    "name, content",
    [
        ("words.txt", "hello world\nthis is not data\nfoo bar baz\n"),
        ("text.csv", "E,I\nx,y\nfoo,bar\n"),
        ("cells.csv", "E (V),I1,I2\nabc,def,ghi\njkl,mno,pqr\n"),
        ("empty.txt", ""),
    ],
)
def test_load_garbage_text_says_no_numeric_rows(tmp_path, name, content):
    from nbtools.errors import DataError, FormatError

    p = tmp_path / name
    p.write_text(content)
    with pytest.raises((FormatError, DataError), match="no numeric rows") as e:
        seccm.load(p)
    assert name in str(e.value)
    assert not isinstance(e.value, ParameterError)
    # a folder of such files too
    d = tmp_path / "folder"
    d.mkdir()
    (d / "x1_y2.csv").write_text(content)
    with pytest.raises((FormatError, DataError), match="no numeric rows"):
        seccm.load(d)


def test_load_numeric_columns_without_grid_still_asks_for_grid(tmp_path):
    p = tmp_path / "ok.csv"
    np.savetxt(p, np.column_stack([np.linspace(0, 1, 20), np.ones((20, 4))]), delimiter=",")
    with pytest.raises(ParameterError, match=r"grid=\(ny, nx\)"):
        seccm.load(p)


def test_windows_and_potentials_outside_the_scan_are_named():
    """A window or potential that misses the data says so instead of returning an all-NaN map."""
    from nbtools.simulate import seccm_scan

    ds, _ = seccm_scan(nx=6, ny=6, n_samples=200, seed=1)
    for call in (lambda: seccm.charge(ds, window=(-0.9, -0.2)),
                 lambda: seccm.peak(ds, "anodic", window=(5.0, 6.0)),
                 lambda: seccm.current_at(ds, 0.0)):
        with pytest.raises(ParameterError, match="outside|overlap"):
            call()
    assert np.isfinite(seccm.current_at(ds, 4.0).values).any()
