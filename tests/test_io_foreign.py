"""Files from other laboratories: ABF sweep tables, ATF, Gamry without EXPLAIN, techniques, magnitudes, placeholders."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from nbtools.errors import FormatError, NbtoolsWarning, SizeLimitError, UnitsError
from nbtools.io import load, load_curve, load_trace, sniff_format


# ---------------------------------------------------------------- ABF: event-driven variable-length sweeps
def test_abf_variable_length_sweeps_follow_the_sweep_table(realdata):
    pyabf = pytest.importorskip("pyabf")
    path = realdata / "abf" / "2020_06_16_0000.abf"
    tr = load_trace(path)
    assert tr.meta["header"]["operation_mode"] == 1
    assert tr.meta["sweep_lengths"] == [3540, 70040, 16040]
    assert tr.meta["sweep_starts"] == [0, 3540, 73580]
    assert tr.meta["sweep_times"] == pytest.approx([1.4479, 4.4979, 14.7479])
    assert tr.meta["sweep_table"].startswith("the file's sweep table")
    assert len(tr) == 89620 and any("variable length" in w for w in tr.meta["warnings"])
    abf = pyabf.ABF(str(path))
    for k, n in enumerate([3540, 70040, 16040]):
        one = load_trace(path, sweep=k)
        abf.setSweep(k, absoluteTime=True)
        assert len(one) == n and one.t0 == pytest.approx(abf.sweepX[0])
        np.testing.assert_allclose(one.current, abf.sweepY * 1e-12, rtol=1e-6)
        start = tr.meta["sweep_starts"][k]
        np.testing.assert_array_equal(tr.current[start:start + n], one.current)


def test_abf_equal_sweeps_without_a_table(tmp_path):
    from pyabf.abfWriter import writeABF1

    sweeps = np.random.default_rng(1).normal(0, 5, (3, 1000)).astype(np.float32)
    writeABF1(sweeps, str(tmp_path / "e.abf"), sampleRateHz=1000.0, units="pA")
    tr = load_trace(tmp_path / "e.abf", sweep=2)
    assert len(tr) == 1000 and tr.meta["sweep_lengths"] == [1000] * 3
    assert tr.t0 == pytest.approx(2.0)


def test_abf_header_counts_are_checked_before_pyabf(tmp_path):
    from pyabf.abfWriter import writeABF1

    p = tmp_path / "h.abf"
    writeABF1(np.zeros((1, 1000), np.float32), str(p), sampleRateHz=1000.0, units="pA")
    data = bytearray(p.read_bytes())
    data[16:20] = (2**31 - 1).to_bytes(4, "little")  # lActualEpisodes: two billion sweeps
    p.write_bytes(bytes(data))
    with pytest.raises(SizeLimitError, match="sweep count"):
        load_trace(p)
    data[16:20] = (1).to_bytes(4, "little")
    data[48:52] = (10**8).to_bytes(4, "little")  # lNumTagEntries
    p.write_bytes(bytes(data))
    with pytest.raises(SizeLimitError, match="tag section"):
        load_trace(p)


# ---------------------------------------------------------------- ATF
def write_atf(path, *, sweeps=3, n=200, signals=True):
    t = np.arange(n) / 1000.0
    titles = ['"Time (s)"'] + [f'"Trace #{k + 1} ({u})"' for k in range(sweeps) for u in ("pA", "mV")]
    recs = ['"AcquisitionMode=Episodic Stimulation"', '"SweepStartTimesMS=0.000,500.000,1000.000"']
    if signals:
        recs.append('"Signals="\t' + "\t".join('"IN 0"\t"IN 1"' for _ in range(sweeps)))
    head = ["ATF\t1.0", f"{len(recs)}\t{1 + 2 * sweeps}", *recs, "\t".join(titles)]
    rows = ["\t".join([f"{a:.4f}"] + [f"{v:.3f}" for k in range(sweeps) for v in (10.0 * (k + 1) + a, -60.0)])
            for a in t]
    path.write_text("\r\n".join(head + rows) + "\r\n")
    return path


@pytest.mark.parametrize("signals", [True, False])
def test_atf_sweeps_signals_units(tmp_path, signals):
    p = write_atf(tmp_path / "e.atf", signals=signals)
    assert sniff_format(p) == "atf"
    tr = load_trace(p)
    assert tr.meta["format"] == "atf" and tr.fs == 1000.0
    assert len(tr) == 600 and tr.meta["sweep_starts"] == [0, 200, 400]
    assert tr.meta["units"]["current"] == "pA"
    assert any("3 sweeps" in w for w in tr.meta["warnings"])
    one = load_trace(p, sweep=1)
    assert len(one) == 200 and one.t0 == pytest.approx(0.5)
    np.testing.assert_allclose(one.current, (20.0 + np.arange(200) / 1000.0) * 1e-12, rtol=1e-9)
    with pytest.raises(UnitsError, match="mV"):
        load_trace(p, channel=1)


def test_atf_gap_free(tmp_path):
    p = tmp_path / "g.atf"
    rows = "".join(f"{k / 1e4:.5f}\t{np.sin(k / 10):.4f}\t{-70.0:.2f}\r\n" for k in range(500))
    p.write_text('ATF\t1.0\r\n1\t3\r\n"AcquisitionMode=Gap Free"\r\n"Time (s)"\t"IN 0 (nA)"\t"IN 1 (mV)"\r\n' + rows)
    tr = load_trace(p)
    assert tr.fs == 10000.0 and len(tr) == 500 and tr.meta["channel"] == "IN 0"
    assert tr.meta["channels"] == ["IN 0", "IN 1"]


# ---------------------------------------------------------------- Gamry without EXPLAIN
@pytest.mark.parametrize("lead", ["\t", ""])
def test_gamry_vfp600_rate_from_freq(tmp_path, lead):
    cur = 2e-9 + 1e-11 * np.random.default_rng(0).standard_normal(300)
    lines = ["VFP600", "TAG\tVFP600", "TITLE\tLABEL\tVFP600 run\tTest &Identifier",
             "FREQ\tQUANT\t1.50000E+1\tAcquisition Frequency (Hz)", "", "VFPCURVE\tTABLE",
             f"{lead}Voltage\tCurrent", f"{lead}V\tA"] + [f"{lead}2.0E-001\t{c:.6E}" for c in cur]
    p = tmp_path / "VFP.DTA"
    p.write_text("\r\n".join(lines) + "\r\n")
    assert sniff_format(p) == "gamry-dta"
    tr = load_trace(p)
    assert tr.fs == 15.0 and len(tr) == 300 and tr.meta["channel"] == "Current"
    assert tr.meta["time_source"].startswith("FREQ")
    np.testing.assert_allclose(tr.current, cur, rtol=1e-6)


# ---------------------------------------------------------------- techniques
def _dta(tag, table, cols, units, rows):
    lines = ["EXPLAIN", f"TAG\t{tag}", f"{table}\tTABLE\t{len(rows)}", "\t" + "\t".join(cols), "\t" + "\t".join(units)]
    return "\n".join(lines + ["\t" + "\t".join(r) for r in rows]) + "\n"


def test_gamry_cv_is_a_curve_not_a_trace(tmp_path):
    E = np.r_[np.linspace(-0.2, 0.6, 50), np.linspace(0.6, -0.2, 50)]
    rows = [[str(k), f"{k * 0.01:.4E}", f"{e:.5E}", f"{1e-6 * e:.5E}"] for k, e in enumerate(E)]
    p = tmp_path / "CV.DTA"
    p.write_text(_dta("CV", "CURVE1", ["Pt", "T", "Vf", "Im"], ["#", "s", "V vs. Ref.", "A"], rows))
    with pytest.raises(FormatError, match=r"voltammogram.*'CV'.*load_curve"):
        load_trace(p)
    df = load(p)
    assert df.attrs["format"] == "gamry-curve" and list(df.columns) == ["t", "E", "i"]
    np.testing.assert_allclose(df["E"], E, rtol=1e-5)
    assert load_curve(p).attrs["technique"] == "CV"


def test_impedance_spectra_are_refused(tmp_path):
    f = np.logspace(5, 0, 20)
    rows = [[str(k), f"{k:.2E}", f"{v:.4E}", "1.0E+2", "-5.0E+1"] for k, v in enumerate(f)]
    p = tmp_path / "EIS.DTA"
    p.write_text(_dta("EISPOT", "ZCURVE", ["Pt", "Time", "Freq", "Zreal", "Zimag"], ["#", "s", "Hz", "ohm", "ohm"],
                      rows))
    with pytest.raises(FormatError, match=r"impedance spectrum.*EISPOT"):
        load_trace(p)
    mpt = tmp_path / "peis.mpt"
    head = ["EC-Lab ASCII FILE", "Nb header lines : 6", "", "Potentio Electrochemical Impedance Spectroscopy", "",
            "freq/Hz\tRe(Z)/Ohm\t-Im(Z)/Ohm\ttime/s\t<I>/mA"]
    mpt.write_text("\n".join(head + [f"{v:.4E}\t100\t50\t{k:.1f}\t0.001" for k, v in enumerate(f)]) + "\n")
    with pytest.raises(FormatError, match="impedance spectrum"):
        load_trace(mpt)


def test_eclab_cv_is_a_curve(tmp_path):
    E = np.r_[np.linspace(0, 0.8, 60), np.linspace(0.8, 0, 60)]
    head = ["EC-Lab ASCII FILE", "Nb header lines : 6", "", "Cyclic Voltammetry", "",
            "mode\ttime/s\tcontrol/V\tEwe/V\t<I>/mA\tcycle number"]
    rows = [f"2\t{k * 0.05:.4f}\t{e:.4f}\t{e:.4f}\t{e * 1e-3:.6E}\t1" for k, e in enumerate(E)]
    p = tmp_path / "cv.mpt"
    p.write_text("\n".join(head + rows).replace(".", ",") + "\n")
    with pytest.raises(FormatError, match=r"voltammogram.*'Cyclic Voltammetry'"):
        load_trace(p)
    df = load(p)
    assert df.attrs["format"] == "biologic-curve"
    np.testing.assert_allclose(df["i"], E * 1e-6, rtol=1e-4, atol=1e-12)
    np.testing.assert_allclose(df["t"], np.arange(120) * 0.05, atol=1e-9)


def test_chi_cv_time_from_the_scan_rate(tmp_path):
    E = np.r_[np.linspace(0, 0.5, 501), np.linspace(0.499, 0, 500)]
    p = tmp_path / "cv.txt"
    p.write_text("Nov. 24, 2026\nCyclic Voltammetry\nInstrument Model:  CHI660E\nInit E (V) = 0\n"
                 "Scan Rate (V/s) = 0.1\nSample Interval (V) = 0.001\nSensitivity (A/V) = 1e-6\n\n"
                 "Potential/V, Current/A\n\n" + "".join(f"{e:.3f}, {1e-7 * e:.4e}\n" for e in E))
    df = load(p)
    assert df.attrs["format"] == "chi-curve"
    assert df["t"].iloc[-1] == pytest.approx(1000 * 0.01)
    with pytest.raises(FormatError, match="load_curve"):
        load_trace(p)


# ---------------------------------------------------------------- magnitudes
def test_implausible_current_warns_and_suggests_current_unit(tmp_path):
    rng = np.random.default_rng(0)
    p = tmp_path / "pa_as_a.csv"
    p.write_text("Time (s),Current (A)\n" + "".join(f"{k / 1e3},{v:.3f}\n" for k, v in
                                                     enumerate(-3.6 + rng.normal(0, 0.5, 2000))))
    with pytest.warns(NbtoolsWarning, match=r"implausible.*current_unit="):
        tr = load_trace(p)
    assert any("current_unit=" in w for w in tr.meta["warnings"])
    fixed = load_trace(p, current_unit="pA")  # no warning (warnings are errors in this suite)
    assert np.median(fixed.current) == pytest.approx(-3.6e-12, rel=0.05)


def test_sub_noise_current_warns(tmp_path):
    p = tmp_path / "tiny.csv"
    p.write_text("t (s),I (pA)\n" + "".join(f"{k / 10},{1e-9 * (k % 7)}\n" for k in range(100)))
    with pytest.warns(NbtoolsWarning, match="below any instrument"):
        load_trace(p)


# ---------------------------------------------------------------- files that are not data
def test_chi_binary_says_what_to_do(tmp_path):
    p = tmp_path / "run.bin"
    p.write_bytes(b"\x00\x01\x02CHI\x00" + b"Amperometric i-t Curve".ljust(64, b"\x00") + bytes(range(256)) * 20)
    with pytest.raises(FormatError, match=r"CH Instruments binary.*'Amperometric i-t Curve'.*Save As") as e:
        load_trace(p)
    assert "run.bin" in str(e.value)
    with pytest.raises(FormatError, match="CH Instruments binary"):
        load_trace(p, format="chi")


def test_git_lfs_pointer(tmp_path):
    p = tmp_path / "data.abf"
    p.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1"
                 "258daaa5e2ca24d17e2393\nsize 3830272\n")
    for kw in ({}, {"format": "abf"}, {"kind": "scan"}):
        with pytest.raises(FormatError, match=r"Git LFS pointer.*3830272 bytes.*git lfs pull"):
            load(p, **kw)


@pytest.mark.parametrize("content, what", [(b"<!DOCTYPE html><html><body>GitHub</body></html>", "web page"),
                                           (b"PK\x03\x04" + b"\x00" * 26 + b"[Content_Types].xml", "spreadsheet"),
                                           (b"%PDF-1.7\n" + b"\x00" * 50, "PDF")])
def test_other_foreign_files(tmp_path, content, what):
    p = tmp_path / "file.csv"
    p.write_bytes(content)
    with pytest.raises(FormatError, match=what):
        load_trace(p)


# ---------------------------------------------------------------- EC-Lab .mpr
def test_mpr_file_is_closed_and_modules_checked(tmp_path, monkeypatch):
    opened = []

    class MPRfile:
        def __init__(self, fh):
            assert not isinstance(fh, str), "galvani must get our open file, not a path"
            opened.append(fh)
            fh.read()
            n = 50
            self.data = np.zeros(n, dtype=[("time/s", "<f8"), ("Ewe/V", "<f4"), ("I/mA", "<f4")])
            self.data["time/s"] = np.arange(n) * 0.1
            self.data["I/mA"] = 1e-6
            self.startdate = "2026-01-01"

    fake = types.ModuleType("galvani")
    fake.BioLogic = types.SimpleNamespace(MPRfile=MPRfile)
    monkeypatch.setitem(sys.modules, "galvani", fake)
    magic = b"BIO-LOGIC MODULAR FILE\x1a".ljust(48) + b"\x00" * 4
    body = b"\x00" * 64
    module = b"MODULE" + b"VMP data  " + b"Data".ljust(25) + len(body).to_bytes(4, "little") + b"\x00" * 12 + body
    p = tmp_path / "x.mpr"
    p.write_bytes(magic + module)
    tr = load_trace(p)
    assert tr.fs == 10.0 and len(tr) == 50 and opened and opened[0].closed
    p.write_bytes(magic + module[:41] + (10**9).to_bytes(4, "little") + module[45:])  # a module declaring 1 GB
    with pytest.raises(SizeLimitError, match="module 0"):
        load_trace(p)
