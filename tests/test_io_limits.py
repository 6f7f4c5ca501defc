"""Bounded resources: declared sizes checked against the file and the budget, bombs refused, values validated."""

from __future__ import annotations

import struct
import time
import zipfile

import numpy as np
import pytest

from nbtools.errors import DataError, FormatError, NbtoolsError, ParameterError, SizeLimitError
from nbtools.io import limits, load, load_scan, load_trace


def _hwm():
    try:
        with open("/proc/self/status") as fh:
            return next(int(ln.split()[1]) * 1024 for ln in fh if ln.startswith("VmHWM"))
    except (OSError, StopIteration):
        return None


def _peak_of(fn):
    """(result or exception, peak resident bytes above the start) of fn(); peak None off Linux."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        start = _hwm()
    except OSError:
        start = None
    try:
        out = fn()
    except Exception as exc:  # noqa: BLE001
        out = exc
    return out, (None if start is None else _hwm() - start)


def test_budget_from_the_environment(monkeypatch):
    monkeypatch.setenv(limits.ENV, "512M")
    assert limits.max_load_bytes() == 512 * 2**20
    monkeypatch.setenv(limits.ENV, "2G")
    assert limits.max_load_bytes() == 2 * 2**30
    monkeypatch.setenv(limits.ENV, "lots")
    with pytest.raises(ParameterError, match=limits.ENV):
        limits.max_load_bytes()
    monkeypatch.delenv(limits.ENV)
    assert limits.max_load_bytes() >= 64 * 2**20


def test_hdf5_declaring_8_gib_with_no_data(tmp_path):
    h5py = pytest.importorskip("h5py")
    p = tmp_path / "bomb.h5"
    with h5py.File(p, "w") as f:
        ds = f.create_dataset("current", shape=(1 << 30,), dtype="f8", chunks=(1 << 16,), compression="gzip")
        ds.attrs["units"] = "A"
        ds.attrs["fs"] = 1e4
    assert p.stat().st_size < 100_000
    t0 = time.monotonic()
    out, peak = _peak_of(lambda: load_trace(p))
    assert isinstance(out, SizeLimitError) and "stores no data" in str(out)
    assert time.monotonic() - t0 < 5
    assert peak is None or peak < 100 * 2**20


def test_npz_member_expansion_and_declared_sizes(tmp_path, monkeypatch):
    p = tmp_path / "zeros.npz"
    np.savez_compressed(p, current=np.zeros(2_000_000), fs=1e4)  # 16 MB that compress to ~16 KB
    monkeypatch.setattr(limits, "SMALL_BYTES", 1 << 20)
    out, peak = _peak_of(lambda: load_trace(p))
    assert isinstance(out, SizeLimitError) and "expand" in str(out) and "'current'" in str(out)
    assert peak is None or peak < 50 * 2**20
    monkeypatch.undo()
    # a directory entry declaring 4 GiB for a member
    q = tmp_path / "declared.npz"
    np.savez(q, current=np.ones(100) * 1e-9, fs=10.0)
    data = bytearray(q.read_bytes())
    pos = data.find(b"PK\x01\x02")
    data[pos + 24:pos + 28] = struct.pack("<I", 0xFFFFFFF0)
    q.write_bytes(bytes(data))
    with pytest.raises(SizeLimitError, match="'current'"):
        load_trace(q)


@pytest.mark.parametrize("arrays, error, words", [
    (dict(current=np.ones(10), dt=0.0), DataError, "'dt'.*positive"),
    (dict(current=np.ones(10), dt="fast"), DataError, "'dt'.*'fast'.*number"),
    (dict(current=np.ones(10), fs=np.nan), DataError, "'fs'"),
    (dict(current=np.ones(10) * (1 + 1j), fs=1.0), DataError, "complex"),
    (dict(current=np.ones(10) > 0, fs=1.0), DataError, "booleans"),
    (dict(current=np.array(["1", "2"]), fs=1.0), FormatError, "text"),
    (dict(current=np.array([{}, None], dtype=object), fs=1.0), FormatError, "Python objects"),
])
def test_npz_values_are_validated(tmp_path, arrays, error, words):
    p = tmp_path / "x.npz"
    np.savez(p, **arrays)
    with pytest.raises(error, match=words):
        load_trace(p)


def test_npy_header_checked(tmp_path):
    p = tmp_path / "x.npy"
    np.save(p, np.ones(1000) * 1e-9)
    data = p.read_bytes()
    p.write_bytes(data.replace(b"(1000,)", b"(9999999,)", 1))
    with pytest.raises(SizeLimitError, match="declares"):
        load_trace(p, fs=10.0)
    p.write_bytes(data[:20] + b"{'descr': '<f8', 'fortran_order': False, 'shape': (1000,, }" + data[80:])
    with pytest.raises(FormatError, match="npy header"):
        load_trace(p, fs=10.0)


def test_a_line_of_300000_fields_is_refused_cheaply(tmp_path):
    head = ("Nov. 24, 2026\nAmperometric i-t Curve\nInstrument Model:  CHI660E\nInit E (V) = 0.2\n"
            "Sample Interval (s) = 0.1\nSensitivity (A/V) = 1e-8\n\nTime/sec, Current/A\n\n")
    rows = [f"{(k + 1) / 10:.3e}, {1e-9:.3e}" for k in range(5000)]
    rows.insert(2500, ",".join(["1"] * 300_000))
    p = tmp_path / "chi.txt"
    p.write_text(head + "\n".join(rows) + "\n")
    out, peak = _peak_of(lambda: load_trace(p))
    assert isinstance(out, DataError) and "300000 fields" in str(out)
    assert peak is None or peak < 200 * 2**20


def test_text_over_the_budget_is_refused_with_the_way_out(tmp_path, monkeypatch):
    p = tmp_path / "big.csv"
    p.write_text("t (s),I (pA)\n" + "".join(f"{k / 1e3},{k % 17}\n" for k in range(200_000)))
    monkeypatch.setenv(limits.ENV, "1M")
    with pytest.raises(SizeLimitError, match=rf"{limits.ENV}.*\.npy"):
        load_trace(p)
    monkeypatch.delenv(limits.ENV)
    assert len(load_trace(p)) == 200_000


def test_header_lines_are_bounded(tmp_path):
    from nbtools.io._common import read_text_lines

    p = tmp_path / "long.txt"
    p.write_bytes(b"x" * (5 << 20) + b"\nsecond\n")
    lines = read_text_lines(p, 2)
    assert len(lines[0]) == limits.MAX_LINE_BYTES and lines[1] == "second"


def test_scans_from_files_are_validated(tmp_path):
    xr = pytest.importorskip("xarray")
    from nbtools.io.scan import build_scan

    ds = build_scan(np.ones((6, 20)) * 1e-9, np.linspace(0, 0.5, 20), grid=(2, 3), dt=0.01, label=False)
    bad = ds.copy()
    bad.attrs["grid_shape"] = np.array([-2, 3])
    bad.to_netcdf(tmp_path / "neg.nc", engine="h5netcdf")
    with pytest.raises(FormatError, match="grid_shape"):
        load_scan(tmp_path / "neg.nc")
    empty = ds.isel(pixel=slice(0, 0))
    empty.to_netcdf(tmp_path / "empty.nc", engine="h5netcdf")
    with pytest.raises(DataError, match="0 pixel"):
        load_scan(tmp_path / "empty.nc")
    assert isinstance(xr.Dataset, type)


def test_wecspm_channels_of_unequal_length(tmp_path):
    from nptdms import ChannelObject, TdmsWriter

    n = 60
    chans = {"X (um)": np.zeros(n), "Y (um)": np.zeros(n), "V1 (V)": np.zeros(n), "Current1 (A)": np.zeros(n - 7),
             "FeedbackType ": np.r_[[2] * 5, [0] * (n - 5)].astype(float), "dt(s)": np.full(n, 0.01)}
    with TdmsWriter(str(tmp_path / "w.tdms")) as w:
        w.write_segment([ChannelObject("Data", k, v) for k, v in chans.items()])
    with pytest.raises(FormatError, match="different lengths"):
        load_scan(tmp_path / "w.tdms")


def test_tdms_text_channel_is_not_a_current(tmp_path):
    from nptdms import ChannelObject, TdmsWriter

    with TdmsWriter(str(tmp_path / "s.tdms")) as w:
        w.write_segment([ChannelObject("G", "Current (A)", np.array(["a", "b", "c"]))])
    with pytest.raises(FormatError, match="text"):
        load_trace(tmp_path / "s.tdms", fs=10.0)


def test_library_errors_become_nbtools_errors(tmp_path):
    p = tmp_path / "x.h5"
    p.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 4)
    with pytest.raises(NbtoolsError, match=r"x\.h5.*HDF5") as e:
        load(p)
    assert isinstance(e.value, FormatError)
    z = tmp_path / "y.npz"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("current.npy", b"\x93NUMPY garbage")
    with pytest.raises(FormatError, match=r"y\.npz.*'current'"):
        load_trace(z)


def _h5_with_text_attribute(path):
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("current", data=np.ones(100) * 1e-9)
        ds.attrs["units"] = "A"  # a variable-length string: kept in a global heap
        ds.attrs["fs"] = 10.0
    data = bytearray(path.read_bytes())
    gcol = data.find(b"GCOL")
    assert gcol > 0
    return data, gcol


def test_hdf5_damaged_global_heap_does_not_hang(tmp_path):
    """HDF5 itself loops forever on a heap whose free space does not reach its end: refused first."""
    p = tmp_path / "heap.h5"
    data, gcol = _h5_with_text_attribute(p)
    assert load_trace(p).fs == 10.0
    pos = gcol + 16
    while int.from_bytes(data[pos:pos + 2], "little") != 0:  # walk to the free-space object
        pos += 16 + (int.from_bytes(data[pos + 8:pos + 16], "little") + 7) // 8 * 8
    data[pos + 8:pos + 16] = bytes(8)
    p.write_bytes(bytes(data))
    t0 = time.monotonic()
    with pytest.raises(FormatError, match="global heap"):
        load_trace(p)
    assert time.monotonic() - t0 < 5


def test_hdf5_attribute_declaring_gigabytes(tmp_path):
    p = tmp_path / "attr.h5"
    data, gcol = _h5_with_text_attribute(p)
    ref = struct.pack("<IQI", 1, gcol, 1)  # the string's length, heap address and index
    at = data.find(ref)
    assert at > 0
    data[at:at + 4] = struct.pack("<I", 0xFFFFFFFF)
    p.write_bytes(bytes(data))
    out, peak = _peak_of(lambda: load_trace(p))
    assert isinstance(out, FormatError) and "'units'" in str(out)
    assert peak is None or peak < 200 * 2**20
