"""Every reader on synthetic files written like the instruments write them: values, units, fs, meta."""

from __future__ import annotations

import os

import numpy as np
import pytest

from nbtools import Trace
from nbtools.io import FORMATS, list_formats, load_trace, sniff_format

RNG = np.random.default_rng(20261124)
FS = 50.0
N = 400
I_A = 1e-9 * (1.0 + 0.1 * RNG.standard_normal(N))  # ~1 nA with noise, the ground truth in A
T_S = np.arange(N) / FS


def _check(tr: Trace, fmt: str, *, t0=0.0, rtol=1e-6):
    assert isinstance(tr, Trace)
    assert tr.meta["format"] == fmt
    assert tr.fs == pytest.approx(FS, rel=1e-9)
    assert tr.t0 == pytest.approx(t0, abs=1e-9)
    np.testing.assert_allclose(tr.current, I_A, rtol=rtol, atol=0)
    assert isinstance(tr.meta["warnings"], list)


def test_registry_lists_formats():
    df = list_formats()
    assert {"abf", "chi", "gamry-dta", "gamry-xy", "biologic-mpt", "biologic-mpr", "tdms", "hdf5", "npy", "npz", "csv"} <= set(df["name"])
    assert "channel" in FORMATS["abf"].options and "fs" in FORMATS["csv"].options


# ---------------------------------------------------------------- CH Instruments
def write_chi(path, current=I_A, fs=FS, cur_label="Current/A", scale=1.0):
    head = (
        "Nov. 24, 2026   10:11:12\nAmperometric i-t Curve\nFile: C:\\data\\run1.bin\nData Source:  Experiment\n"
        "Instrument Model:  CHI660E\nHeader: \nNote: \n\nInit E (V) = -0.25\n"
        f"Sample Interval (s) = {1 / fs:g}\nRun Time (sec) = {len(current) / fs:g}\nQuiet Time (sec) = 2\n"
        "Scales during Run = 1\nSensitivity (A/V) = 1e-8\n\n\n"
        f"Time/sec, {cur_label}\n\n"
    )
    t = np.arange(1, len(current) + 1) / fs
    rows = "".join(f"{a:.5e}, {b:.5e}\n" for a, b in zip(t, current / scale))
    path.write_text(head + rows, newline="\r\n")
    return path


def test_chi(tmp_path):
    tr = load_trace(write_chi(tmp_path / "chi.txt"))
    _check(tr, "chi", t0=1 / FS, rtol=1e-5)
    assert tr.meta["potential"] == -0.25
    assert tr.meta["instrument"] == "CH Instruments CHI660E"
    assert tr.meta["sensitivity_A_per_V"] == 1e-8
    assert tr.meta["technique"] == "Amperometric i-t Curve"


# ---------------------------------------------------------------- Gamry
def write_dta(path, decimal="."):
    lines = [
        "EXPLAIN", "TAG\tCHRONOA", "TITLE\tLABEL\tChronoamperometry Scan\tTest &Identifier",
        "DATE\tLABEL\t11/24/2026\tDate", "TIME\tLABEL\t10:11:12\tTime", "PSTAT\tPSTAT\tREF600-12345\tPotentiostat",
        "VPRE\tPOTEN\t0.00000E+000\tF\tPre-step &Voltage (V)", "VSTEP1\tPOTEN\t3.00000E-001\tF\tStep 1 V&oltage (V)",
        f"SAMPLETIME\tQUANT\t{1 / FS:.5E}\tSample &Period (s)", "NOTES\tNOTES\t1\t&Notes...", "\t",
        "OCVCURVE\tTABLE\t3", "\tPt\tT\tVf\tVm\tAch", "\t#\ts\tV vs. Ref.\tV\tV",
        "\t0\t0.1\t0.01\t0.01\t0", "\t1\t0.2\t0.01\t0.01\t0", "\t2\t0.3\t0.01\t0.01\t0",
        f"CURVE\tTABLE\t{N}", "\tPt\tT\tVf\tIm\tVu\tSig\tAch\tIERange\tOver",
        "\t#\ts\tV vs. Ref.\tA\tV\tV\tV\t#\tbits",
    ]
    for k in range(N):
        lines.append(f"\t{k}\t{T_S[k]:.6E}\t3.00010E-001\t{I_A[k]:.8E}\t0\t0.3\t0\t8\t...........")
    text = "\r\n".join(lines) + "\r\n"
    if decimal == ",":
        head, _, body = text.partition("CURVE\tTABLE")
        body = "\r\n".join(ln if ln.startswith(("\tPt", "\t#")) else ln.replace(".", ",").replace(",,,,,,,,,,,", "...........")
                           for ln in body.split("\r\n"))
        text = head + "CURVE\tTABLE" + body
    path.write_bytes(text.encode("cp1252"))
    return path


@pytest.mark.parametrize("decimal", [".", ","])
def test_gamry_dta(tmp_path, decimal):
    tr = load_trace(write_dta(tmp_path / "CHRONOA.DTA", decimal))
    _check(tr, "gamry-dta", rtol=1e-7)
    assert tr.meta["curve"] == "CURVE" and tr.meta["channel"] == "Im"
    assert tr.meta["potential"] == pytest.approx(0.30001)
    assert tr.meta["instrument"] == "Gamry REF600-12345"
    assert tr.meta["units"] == {"current": "A", "time": "s"}
    assert load_trace(tmp_path / "CHRONOA.DTA", curve="OCVCURVE", channel="Vm", current_unit="A").meta["curve"] == "OCVCURVE"


def test_gamry_xy(tmp_path):
    path = tmp_path / "xy.txt"
    rows = "".join(f"{t:.6e}\t{i:.6e}\r\n" for t, i in zip(T_S, I_A))
    path.write_bytes(("XY\r\n\tCURVE (run1.DTA)\r\n" + rows + "\t\r\n").encode())
    _check(load_trace(path), "gamry-xy")


# ---------------------------------------------------------------- BioLogic
def write_mpt(path, decimal=".", unit="mA", label="<I>"):
    cols = ["mode", "ox/red", "error", "control changes", "time/s", "control/V", "Ewe/V", f"{label}/{unit}",
            "dQ/C", "(Q-Qo)/mA.h", "I Range"]
    head = ["EC-Lab ASCII FILE", "Nb header lines : 14", "", "Chronoamperometry / Chronocoulometry", "",
            "Run on channel : 1 (SN 0001)", "Device : SP-300", "Ei (V)              0.300", "ti (h:m:s)          0:05:0.0000",
            "Record every dt (s) 0.020", "", "Electrode material : C", "Comments : synthetic",
            "\t".join(cols) + "\t"]
    scale = {"mA": 1e-3, "uA": 1e-6, "µA": 1e-6, "A": 1.0}[unit]
    rows = []
    for k in range(N):
        row = ["2", "1", "0", "0", f"{T_S[k]:.15E}", "3.0000000E-001", "2.9990001E-001", f"{I_A[k] / scale:.15E}",
               "0.0", "1.0E-004", "41"]
        rows.append("\t".join(row))
    text = "\n".join(head + rows) + "\n"
    if decimal == ",":
        lines = text.split("\n")
        text = "\n".join(lines[:14] + [ln.replace(".", ",") for ln in lines[14:]])
    path.write_bytes(text.encode("cp1252"))
    return path


@pytest.mark.parametrize("decimal, unit", [(".", "mA"), (",", "mA"), (".", "µA")])
def test_biologic_mpt(tmp_path, decimal, unit):
    tr = load_trace(write_mpt(tmp_path / "ca.mpt", decimal, unit))
    _check(tr, "biologic-mpt", rtol=1e-12)
    assert tr.meta["channel"] == f"<I>/{unit}"
    assert tr.meta["units"]["current"] == unit
    assert tr.meta["potential"] == pytest.approx(0.2999, abs=1e-6)
    assert "SP-300" in tr.meta["instrument"]


# ---------------------------------------------------------------- generic text
UNIT_LABELS = [
    ("Current / pA", 1e-12), ("I/A", 1.0), ("current (nA)", 1e-9), ("Current/A", 1.0), ("[A]", 1.0),
    ("I (µA)", 1e-6), ("I/μA", 1e-6), ("Current (uA)", 1e-6), ("I [mA]", 1e-3), ("current_fA", 1e-15),
]
TIME_LABELS = [("Time/sec", 1.0), ("Time (ms)", 1e-3), ("t/s", 1.0), ("time (min)", 60.0), ("Time [h]", 3600.0)]


def write_table(path, cur_label, cscale, time_label="Time (s)", tscale=1.0, sep=",", decimal=".", preamble=""):
    def fmt(x):
        s = f"{x:.15e}"
        return s.replace(".", ",") if decimal == "," else s

    lines = [preamble] if preamble else []
    if time_label is None:
        lines.append(cur_label)
        lines += [fmt(i / cscale) for i in I_A]
    else:
        lines.append(f"{time_label}{sep}{cur_label}")
        lines += [f"{fmt(t / tscale)}{sep}{fmt(i / cscale)}" for t, i in zip(T_S, I_A)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("label, scale", UNIT_LABELS)
def test_csv_current_unit_spellings(tmp_path, label, scale):
    tr = load_trace(write_table(tmp_path / "x.csv", label, scale))
    _check(tr, "csv", rtol=1e-12)


@pytest.mark.parametrize("label, scale", TIME_LABELS)
def test_csv_time_unit_spellings(tmp_path, label, scale):
    _check(load_trace(write_table(tmp_path / "x.csv", "I/A", 1.0, label, scale)), "csv", rtol=1e-12)


@pytest.mark.parametrize("sep, decimal, ext", [("\t", ".", ".tsv"), (";", ",", ".csv"), ("\t", ",", ".txt"),
                                               ("  ", ".", ".dat"), (";", ".", ".csv")])
def test_csv_delimiters(tmp_path, sep, decimal, ext):
    path = write_table(tmp_path / f"x{ext}", "Current / nA", 1e-9, "Time (s)", 1.0, sep, decimal,
                       preamble="Recorded with a home-made amplifier")
    tr = load_trace(path)
    _check(tr, "csv", rtol=1e-12)
    assert tr.meta["decimal"] == decimal


def test_csv_without_time_needs_fs(tmp_path):
    path = write_table(tmp_path / "x.csv", "Current (pA)", 1e-12, time_label=None)
    _check(load_trace(path, fs=FS), "csv", rtol=1e-12)


def test_csv_quantised_time_rebuilt(tmp_path):
    # 4 significant digits, as many exports print them
    t = np.arange(20000) / 100.0 + 5.0
    path = tmp_path / "q.csv"
    rows = "".join(f"{float(f'{a:.4g}')!r},{1e-9!r}\n" for a in t)
    path.write_text("time (s),I (A)\n" + rows)
    tr = load_trace(path)
    assert tr.fs == 100.0 and tr.t0 == 5.0
    assert any("quantised" in w for w in tr.meta["warnings"])


def test_csv_gaps_reported(tmp_path):
    t = np.arange(1000) / 10.0
    t[500:] += 30.0  # a 30 s pause in the recording
    path = tmp_path / "g.csv"
    path.write_text("t/s,I/nA\n" + "".join(f"{a:.10g},1.0\n" for a in t))
    tr = load_trace(path)
    assert tr.fs == 10.0
    assert any("gap" in w for w in tr.meta["warnings"])


# ---------------------------------------------------------------- binary containers
def test_npy(tmp_path):
    np.save(tmp_path / "x.npy", I_A)
    tr = load_trace(tmp_path / "x.npy", fs=FS)
    _check(tr, "npy", rtol=0)
    tr = load_trace(tmp_path / "x.npy", fs=FS, current_unit="A")
    assert tr.meta["units_source"] == "current_unit option"
    np.save(tmp_path / "p.npy", I_A / 1e-12)
    _check(load_trace(tmp_path / "p.npy", fs=FS, current_unit="pA"), "npy", rtol=1e-12)


def test_npz(tmp_path):
    np.savez(tmp_path / "x.npz", current=I_A / 1e-9, fs=FS, current_unit="nA")
    tr = load_trace(tmp_path / "x.npz")
    _check(tr, "npz", rtol=1e-12)
    assert tr.meta["units"]["current"] == "nA"
    np.savez(tmp_path / "t.npz", i=I_A, time=T_S)
    _check(load_trace(tmp_path / "t.npz"), "npz", rtol=0)


def test_hdf5(tmp_path):
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "x.h5", "w") as f:
        g = f.create_group("run1")
        g.attrs["fs"] = FS
        d = g.create_dataset("current", data=I_A / 1e-12)
        d.attrs["units"] = "pA"
        g.create_dataset("temperature", data=np.ones(N))
    tr = load_trace(tmp_path / "x.h5")
    _check(tr, "hdf5", rtol=1e-12)
    assert tr.meta["channel"] == "/run1/current"
    with h5py.File(tmp_path / "t.h5", "w") as f:
        f.create_dataset("I_nA", data=I_A / 1e-9)
        f.create_dataset("time", data=T_S).attrs["units"] = "s"
    _check(load_trace(tmp_path / "t.h5"), "hdf5", rtol=1e-12)


def test_tdms(tmp_path):
    nptdms = pytest.importorskip("nptdms")
    from nptdms import ChannelObject, GroupObject, RootObject, TdmsWriter

    path = tmp_path / "x.tdms"
    with TdmsWriter(str(path)) as w:
        w.write_segment([
            RootObject(properties={"name": "rig"}),
            GroupObject("Measurement"),
            ChannelObject("Measurement", "Voltage", np.full(N, 0.2), properties={"unit_string": "V"}),
            ChannelObject("Measurement", "Amplifier out", I_A / 1e-12,
                          properties={"unit_string": "pA", "wf_increment": 1 / FS, "wf_start_offset": 0.0}),
        ])
    tr = load_trace(path)
    _check(tr, "tdms", rtol=1e-12)
    assert tr.meta["channel"] == "Measurement/Amplifier out"
    # time from a time channel, current unit from the channel name
    path2 = tmp_path / "y.tdms"
    with TdmsWriter(str(path2)) as w:
        w.write_segment([ChannelObject("Data", "Time (s)", T_S), ChannelObject("Data", "Current (nA)", I_A / 1e-9)])
    _check(load_trace(path2), "tdms", rtol=1e-12)


def test_abf1_written_by_pyabf(tmp_path):
    pyabf = pytest.importorskip("pyabf")
    from pyabf.abfWriter import writeABF1

    n = 2000  # pyabf's ABF1 header reader needs a file of a few kB
    i_a = 1e-9 * (1.0 + 0.1 * RNG.standard_normal(n))
    sweeps = np.vstack([i_a / 1e-12, i_a[::-1] / 1e-12])  # two sweeps, in pA
    path = tmp_path / "synthetic.abf"
    writeABF1(sweeps, str(path), sampleRateHz=FS, units="pA")
    tr = load_trace(path)
    assert tr.meta["format"] == "abf" and tr.fs == FS
    assert tr.meta["sweep_count"] == 2 and tr.meta["sweep_starts"] == [0, n]
    assert any("sweeps" in w for w in tr.meta["warnings"])
    # 16-bit ADC: one step of the scale is the tolerance
    step = abs(tr.meta["converted"]["adc_gain"]) * 1e-12
    np.testing.assert_allclose(tr.current[:n], i_a, atol=step)
    np.testing.assert_allclose(load_trace(path, sweep=1).current, i_a[::-1], atol=step)
    abf = pyabf.ABF(str(path))
    abf.setSweep(1)
    np.testing.assert_allclose(load_trace(path, sweep=1).current, abf.sweepY * 1e-12, rtol=1e-6)


def test_sniffing_ignores_extension(tmp_path):
    chi = write_chi(tmp_path / "chi.dat")
    assert sniff_format(chi) == "chi"
    np.save(tmp_path / "x.npy", I_A)
    os.replace(tmp_path / "x.npy", tmp_path / "x.bin")
    assert sniff_format(tmp_path / "x.bin") == "npy"
    mpt = write_mpt(tmp_path / "renamed.txt")
    assert sniff_format(mpt) == "biologic-mpt"


@pytest.mark.parametrize("fmt", ["chi", "csv", "mpt", "dta", "npz", "h5"])
def test_input_file_never_modified(tmp_path, fmt):
    writers = {
        "chi": lambda: write_chi(tmp_path / "a.txt"),
        "csv": lambda: write_table(tmp_path / "a.csv", "I/A", 1.0),
        "mpt": lambda: write_mpt(tmp_path / "a.mpt"),
        "dta": lambda: write_dta(tmp_path / "a.DTA"),
        "npz": lambda: (np.savez(tmp_path / "a.npz", current=I_A, fs=FS), tmp_path / "a.npz")[1],
        "h5": lambda: _h5(tmp_path / "a.h5"),
    }
    path = writers[fmt]()
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    before = path.read_bytes()
    load_trace(path)
    assert path.read_bytes() == before
    assert os.stat(path).st_mtime_ns == 1_000_000_000
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # nothing written beside it


def _h5(path):
    import h5py

    with h5py.File(path, "w") as f:
        d = f.create_dataset("current", data=I_A)
        d.attrs["units"] = "A"
        d.attrs["fs"] = FS
    return path


def test_large_arrays_are_memory_mapped(tmp_path, monkeypatch):
    """Above a size threshold npy and contiguous HDF5 datasets stay on disk (lazy traces)."""
    import h5py

    from nbtools.io import hdf5, numpy_

    monkeypatch.setattr(numpy_, "_LAZY_BYTES", 0)
    monkeypatch.setattr(hdf5, "_LAZY_BYTES", 0)
    np.save(tmp_path / "x.npy", I_A / 1e-9)
    tr = load_trace(tmp_path / "x.npy", fs=FS, current_unit="nA")
    assert tr.is_lazy
    _check(tr, "npy", rtol=1e-12)
    with h5py.File(tmp_path / "x.h5", "w") as f:
        d = f.create_dataset("current", data=I_A.astype(np.float32))
        d.attrs["units"] = "A"
        d.attrs["sampling_rate"] = FS
    tr = load_trace(tmp_path / "x.h5")
    assert tr.is_lazy
    _check(tr, "hdf5", rtol=1e-6)


def test_gamry_dta_several_curves_without_counts(tmp_path):
    lines = ["EXPLAIN", "TAG\tCHRONOA", "PSTAT\tPSTAT\tIFC1010-1\tPotentiostat"]
    for name, n, offset in [("CURVE1", 50, 0.0), ("CURVE2", 120, 1.0)]:
        lines += [f"{name}\tTABLE", "\tPt\tT\tVf\tIm", "\t#\ts\tV vs. Ref.\tA"]
        lines += [f"\t{k}\t{offset + k / 100:.4f}\t0.2\t{1e-9 * (k + 1):.6e}" for k in range(n)]
    path = tmp_path / "two.DTA"
    path.write_text("\n".join(lines) + "\n")
    tr = load_trace(path)
    assert tr.meta["curve"] == "CURVE2" and len(tr) == 120 and tr.fs == 100.0 and tr.t0 == 1.0
    assert any("several curves" in w for w in tr.meta["warnings"])
    assert len(load_trace(path, curve="CURVE1")) == 50


def test_csv_from_excel_with_bom_and_quotes(tmp_path):
    path = tmp_path / "excel.csv"
    rows = "".join(f"{t:.4f};{i / 1e-9:.10f}\r\n".replace(".", ",") for t, i in zip(T_S, I_A))
    path.write_bytes('\ufeff"Time (s)";"Current (nA)"\r\n'.encode("utf-8") + rows.encode())
    tr = load_trace(path)
    _check(tr, "csv", rtol=1e-9)
    assert tr.meta["channels"] == ["Time (s)", "Current (nA)"]


def test_channel_labels_in_meta_reload(tmp_path):
    """Every label a reader lists in meta['channels'] for the current is accepted back as channel=."""
    from nptdms import ChannelObject, TdmsWriter

    paths = [write_chi(tmp_path / "a.txt"), write_dta(tmp_path / "a.DTA"), write_mpt(tmp_path / "a.mpt"),
             write_table(tmp_path / "a.csv", "I/A", 1.0)]
    xy = tmp_path / "xy.txt"
    xy.write_text("XY\n\tCURVE (a.DTA)\n" + "".join(f"{t}\t{i}\n" for t, i in zip(T_S, I_A)))
    np.savez(tmp_path / "a.npz", current=I_A, fs=FS)
    _h5(tmp_path / "a.h5")
    with TdmsWriter(str(tmp_path / "a.tdms")) as w:
        w.write_segment([ChannelObject("G", "V (V)", np.ones(N)),
                         ChannelObject("G", "I (A)", I_A, properties={"wf_increment": 1 / FS})])
    np.save(tmp_path / "a.npy", I_A)
    paths += [xy, tmp_path / "a.npz", tmp_path / "a.h5", tmp_path / "a.tdms"]
    for p in paths:
        tr = load_trace(p)
        assert tr.meta["channel"] in tr.meta["channels"], p
        again = load_trace(p, channel=tr.meta["channel"])
        np.testing.assert_array_equal(again.current, tr.current)
    assert load_trace(tmp_path / "a.npy", fs=FS, channel="array").meta["channel"] == "array"


@pytest.mark.parametrize("delimiter", [";", "semicolon"])
def test_csv_forced_delimiter_and_decimal(tmp_path, delimiter):
    path = write_table(tmp_path / "x.txt", "I (nA)", 1e-9, "t (s)", 1.0, sep=";", decimal=",")
    tr = load_trace(path, delimiter=delimiter, decimal=",")
    _check(tr, "csv", rtol=1e-12)


def test_register_a_plugin_reader(tmp_path, monkeypatch):
    import sys
    import types

    from nbtools.io import ReaderInfo, register_reader
    from nbtools.io import _registry

    mod = types.ModuleType("nbtools_test_plugin")
    mod.sniff = lambda head, text: 2 if head.startswith(b"MYFMT") else 0
    mod.read = lambda path, *, fs=1.0: Trace(np.frombuffer(path.read_bytes()[5:], dtype="<f8"), fs=fs)
    monkeypatch.setitem(sys.modules, "nbtools_test_plugin", mod)
    monkeypatch.setattr(_registry, "_FORMATS", dict(_registry._FORMATS))
    monkeypatch.setattr("nbtools.io._load._FORMATS", _registry._FORMATS)
    register_reader(ReaderInfo("myfmt", "test format", (".my",), "nbtools_test_plugin"))
    path = tmp_path / "x.bin"
    path.write_bytes(b"MYFMT" + I_A.astype("<f8").tobytes())
    tr = load_trace(path, fs=FS)
    assert tr.meta["format"] == "myfmt" and tr.source == str(path)
    np.testing.assert_array_equal(tr.current, I_A)
    with pytest.raises(ValueError, match="already registered"):
        register_reader(ReaderInfo("myfmt", "again", (".my",), "nbtools_test_plugin"))
