"""SECCM readers, NetCDF round trip, from_arrays and bad input."""

import numpy as np
import pytest
import xarray as xr

from nbtools import seccm
from nbtools.errors import DataError, FormatError, MissingFileError, NbtoolsWarning, ParameterError
from nbtools.simulate import seccm_scan


def small(**kw):
    return seccm_scan(nx=6, ny=5, n_samples=200, seed=7, **kw)


def test_netcdf_round_trip(tmp_path):
    ds, _ = small()
    p = seccm.save(ds, tmp_path / "scan.nc")
    back = seccm.load(p)
    xr.testing.assert_identical(ds, back)
    with pytest.raises(ParameterError, match="overwrite=True"):
        seccm.save(ds, p)
    seccm.save(ds, p, overwrite=True)


def test_round_trip_ragged_real_like(tmp_path):
    E = [np.linspace(0, 1, 50), np.linspace(0, 1, 30)]
    I = [np.sin(e * 6) * 1e-9 for e in E]
    ds = seccm.from_arrays(I, E, x=[0, 1e-6], y=[0, 0], time=[np.arange(50) * 0.01, np.arange(30) * 0.01],
                           label=False)
    assert ds.n_samples.values.tolist() == [50, 30]
    assert np.isnan(ds.current.values[1, 30:]).all()
    seccm.save(ds, tmp_path / "r.h5")
    xr.testing.assert_identical(ds, seccm.load(tmp_path / "r.h5"))


def test_columns_serpentine(tmp_path):
    ny, nx, m = 3, 4, 40
    E = np.linspace(0.0, 0.5, m)
    grid_val = np.arange(ny * nx).reshape(ny, nx) + 1.0  # value per grid cell (nA)
    order = []
    for r in range(ny):
        cols = range(nx) if r % 2 == 0 else range(nx - 1, -1, -1)
        order += [(r, c) for c in cols]
    cur = np.array([grid_val[r, c] * np.ones(m) for r, c in order]).T
    p = tmp_path / "scan.csv"
    header = "E (mV)," + ",".join(f"I{k} (nA)" for k in range(ny * nx))
    np.savetxt(p, np.column_stack([E * 1e3, cur]), delimiter=",", header=header, comments="")
    ds = seccm.load(p, grid=(ny, nx), serpentine=True, pitch=2e-6, dt=0.01, label=False)
    g = seccm.to_grid(ds.current.isel(sample=0), ds)
    np.testing.assert_allclose(g.values, grid_val * 1e-9)
    np.testing.assert_allclose(ds.potential.values, E)
    assert ds.attrs["units_found_current"] == "nA"
    np.testing.assert_allclose(g.x.values, np.arange(nx) * 2e-6)
    with pytest.raises(DataError, match="12 curves"):
        seccm.load(p, grid=(5, 5))
    with pytest.raises(ParameterError, match="grid="):
        seccm.load(p)


def test_folder(tmp_path):
    m = 30
    for x in (0, 5, 10):
        for y in (0, 5):
            E = np.linspace(-0.2, 0.4, m)
            arr = np.column_stack([E, np.full(m, (x + 10 * y + 1) * 1e-12)])
            np.savetxt(tmp_path / f"pix_x{x}um_y{y}um.txt", arr, delimiter="\t", header="E/V\tI/A", comments="")
    ds = seccm.load(tmp_path, scan_rate=0.1, label=False)
    assert tuple(ds.attrs["grid_shape"]) == (2, 3)
    g = seccm.to_grid(ds.current.isel(sample=0), ds)
    np.testing.assert_allclose(g.values, [[1e-12, 6e-12, 11e-12], [51e-12, 56e-12, 61e-12]])
    np.testing.assert_allclose(g.y.values, [0, 5e-6])
    assert ds.time.values[0, -1] == pytest.approx(0.6 / 0.1)
    (tmp_path / "notes.txt").write_text("1\t2\n")
    with pytest.raises(FormatError, match="without x/y"):
        seccm.load(tmp_path)


def test_tdms_without_channels(tmp_path):
    from nptdms import ChannelObject, TdmsWriter

    p = tmp_path / "other.tdms"
    with TdmsWriter(str(p)) as w:
        w.write_segment([ChannelObject("Group", "Voltage", np.arange(5.0)), ChannelObject("Group", "Temp", np.ones(5))])
    with pytest.raises(FormatError) as e:
        seccm.load(p)
    msg = str(e.value)
    assert "Voltage" in msg and "Temp" in msg and "FeedbackType" in msg


def test_tdms_no_landing(tmp_path):
    from nptdms import ChannelObject, TdmsWriter

    p = tmp_path / "moves.tdms"
    n = 20
    chans = {"X (um)": np.zeros(n), "Y (um)": np.zeros(n), "V1 (V)": np.zeros(n), "Current1 (A)": np.zeros(n),
             "FeedbackType ": np.zeros(n), "Line Number": np.ones(n), "dt(s)": np.full(n, 0.01)}
    with TdmsWriter(str(p)) as w:
        w.write_segment([ChannelObject("Data", k, v) for k, v in chans.items()])
    with pytest.raises(FormatError, match="no landing"):
        seccm.load(p)
    # an approach directly followed by a retract: a landing of zero length
    fbk = np.zeros(n)
    fbk[2:6] = 2
    fbk[6:9] = 3
    chans["FeedbackType "] = fbk
    with TdmsWriter(str(p)) as w:
        w.write_segment([ChannelObject("Data", k, v) for k, v in chans.items()])
    with pytest.raises(FormatError, match="no landing"):
        seccm.load(p)


def test_not_a_tdms(tmp_path):
    p = tmp_path / "bad.tdms"
    p.write_bytes(b"hello world, not tdms")
    with pytest.raises(FormatError, match="bad.tdms"):
        seccm.load(p)
    with pytest.raises(MissingFileError, match="no such file"):  # as nbtools.io.load_trace
        seccm.load(tmp_path / "missing.tdms")
    with pytest.raises(FormatError, match="unknown SECCM file type"):
        (tmp_path / "a.xyz").write_text("1")
        seccm.load(tmp_path / "a.xyz")


def test_from_arrays_bad_input():
    E = np.linspace(0, 1, 10)
    with pytest.raises(DataError, match="4 curves"):
        seccm.from_arrays(np.zeros((4, 10)), E, grid=(3, 3))
    with pytest.raises(DataError, match="all NaN"):
        seccm.from_arrays(np.full((4, 10), np.nan), E, grid=(2, 2))
    with pytest.raises(DataError, match="potential has 9 samples"):
        seccm.from_arrays(np.zeros((4, 10)), E[:9], grid=(2, 2))
    with pytest.raises(DataError, match="NaN"):
        seccm.from_arrays(np.zeros((2, 10)), E, x=[0, np.nan], y=[0, 0])
    with pytest.raises(DataError, match="more than one landing"):
        seccm.from_arrays(np.zeros((2, 10)), E, x=[0, 0], y=[0, 0])
    with pytest.raises(ParameterError, match="positions missing"):
        seccm.from_arrays(np.zeros((2, 10)), E)
    with pytest.raises(DataError, match="1-D"):
        seccm.from_arrays(np.zeros(10), E, grid=(1, 1))


def test_nan_rows_marked_empty():
    E = np.linspace(0, 1, 10)
    cur = np.ones((4, 10)) * 1e-12
    cur[2] = np.nan
    with pytest.warns(NbtoolsWarning, match="pixels \\[2\\]"):
        ds = seccm.from_arrays(cur, E, grid=(2, 2), dt=0.1, label=False)
    assert ds.status.values.tolist() == ["landed", "landed", "empty", "landed"]
    assert ds.n_samples.values.tolist() == [10, 10, 0, 10]


def test_from_arrays_3d_and_to_grid_roundtrip():
    ny, nx, m = 3, 4, 20
    cur = np.random.default_rng(0).normal(size=(ny, nx, m)) * 1e-12
    ds = seccm.from_arrays(cur, np.linspace(0, 1, m), x=np.arange(nx) * 1e-6, y=np.arange(ny) * 3e-6, dt=0.1,
                           label=False)
    back = seccm.to_grid(ds.current, ds)
    assert back.dims == ("y", "x", "sample")
    np.testing.assert_array_equal(back.values, cur)
    mp = seccm.charge(ds)
    np.testing.assert_array_equal(seccm.from_grid(mp, ds).values, mp.values.ravel())


def test_map_bad_parameters():
    ds, _ = small()
    with pytest.raises(ParameterError, match="branch"):
        seccm.current_at(ds, 4.0, branch="up")
    with pytest.raises(ParameterError, match="window"):
        seccm.charge(ds, window=(4.0, 4.0))  # empty (a reversed window is read as (low, high))
    with pytest.raises(ParameterError, match="direction"):
        seccm.peak(ds, "up")
    with pytest.raises(ParameterError, match="threshold"):
        seccm.onset(ds, 0.0)
    with pytest.raises(ParameterError, match="xarray.Dataset"):
        seccm.charge(np.zeros(3))
    nt = ds.drop_vars("time")
    with pytest.raises(ParameterError, match="time"):
        seccm.charge(nt)


def test_zero_length_landing_marked_empty():
    E = np.linspace(0, 1, 20)
    with pytest.warns(NbtoolsWarning, match="1 of 3 pixels"):
        ds = seccm.from_arrays([E * 1e-9, np.array([]), E * 2e-9], [E, np.array([]), E], x=[0, 1e-6, 2e-6],
                               y=[0, 0, 0], dt=0.01)
    assert ds.status.values.tolist()[1] == "empty"
    assert ds.n_samples.values.tolist() == [20, 0, 20]
    # maps give NaN for it, statistics leave it out
    assert np.isnan(seccm.charge(ds).values[0, 1])
    assert seccm.group_stats(ds, np.array([0, 1, 2]), include_failed=True).attrs["n_pixels"] == 2


def test_real_file_round_trip(realdata, tmp_path):
    p = realdata / "seccm" / "wecspm_x22500_y-4500.tdms"
    if not p.exists():
        pytest.skip("real TDMS absent")
    ds = seccm.load(p)
    seccm.save(ds, tmp_path / "real.nc")
    xr.testing.assert_identical(ds, seccm.load(tmp_path / "real.nc"))


def test_foreign_netcdf_rejected(tmp_path):
    p = tmp_path / "other.nc"
    xr.Dataset({"a": ("t", np.arange(3.0))}).to_netcdf(p, engine="h5netcdf")
    with pytest.raises(FormatError, match="not an nbtools SECCM Dataset"):
        seccm.load(p)
    (tmp_path / "junk.h5").write_bytes(b"junk")
    with pytest.raises(FormatError, match="junk.h5"):
        seccm.load(tmp_path / "junk.h5")
    ds, _ = small()
    with pytest.raises(ParameterError, match="does not exist"):
        seccm.save(ds, tmp_path / "nofolder" / "x.nc")
