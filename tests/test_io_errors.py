"""Bad input gives an nbtools error naming the file, what was expected and what was found."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from nbtools.errors import DataError, FormatError, MissingFileError, NbtoolsError, ParameterError, UnitsError
from nbtools.io import load_trace


def test_missing_file(tmp_path):
    p = tmp_path / "nope.abf"
    with pytest.raises(MissingFileError, match="no such file") as exc:
        load_trace(p)
    assert "nope.abf" in str(exc.value)
    assert isinstance(exc.value, FileNotFoundError)


def test_folder_is_not_a_file(tmp_path):
    with pytest.raises(MissingFileError, match="folder"):
        load_trace(tmp_path)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.csv"
    p.write_bytes(b"")
    with pytest.raises(DataError, match=r"empty.*0 bytes"):
        load_trace(p)


def _small_abf(path, n=3000):
    from pyabf.abfWriter import writeABF1

    writeABF1(np.linspace(-10, 10, n)[np.newaxis, :], str(path), sampleRateHz=1000.0, units="pA")
    return path


def test_truncated_abf(tmp_path):
    pytest.importorskip("pyabf")
    p = _small_abf(tmp_path / "cut.abf", n=20000)
    data = p.read_bytes()
    p.write_bytes(data[: 2048 + 10000])  # header intact, samples cut short
    with pytest.raises(DataError, match="truncated ABF") as exc:
        load_trace(p)
    msg = str(exc.value)
    assert "cut.abf" in msg and "20000 samples" in msg and "5000 samples" in msg
    p.write_bytes(data[:1000])  # cut inside the header
    with pytest.raises(FormatError, match="truncated inside its header"):
        load_trace(p)


def test_garbage_abf_header(tmp_path):
    p = tmp_path / "bad.abf"
    p.write_bytes(b"ABF2" + bytes(range(200)))
    with pytest.raises(FormatError, match="bad.abf"):
        load_trace(p)


def test_abf_channel_not_found_lists_channels(tmp_path):
    pytest.importorskip("pyabf")
    p = _small_abf(tmp_path / "x.abf")
    with pytest.raises(ParameterError, match=r"channel 'Vm' not found.*channels found") as exc:
        load_trace(p, channel="Vm")
    assert "(pA)" in str(exc.value)
    with pytest.raises(ParameterError, match="out of range"):
        load_trace(p, channel=3)
    with pytest.raises(ParameterError, match="sweep"):
        load_trace(p, sweep=5)


def test_no_numeric_rows(tmp_path):
    p = tmp_path / "words.txt"
    p.write_text("Time (s), Current (A)\nhello, world\nno numbers here\n")
    with pytest.raises(DataError, match="no numeric rows"):
        load_trace(p)


def test_non_numeric_row_in_the_middle(tmp_path):
    p = tmp_path / "x.csv"
    rows = [f"{k / 10},{k}e-9" for k in range(20)]
    rows[12] = "1.2,ERROR"
    p.write_text("t/s,I/A\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"non-numeric value.*ERROR"):
        load_trace(p)


def test_footer_lines_are_dropped(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("t/s,I/A\n" + "\n".join(f"{k / 10},{k}e-9" for k in range(20)) + "\nEnd of file,\n")
    assert len(load_trace(p)) == 20


def test_unknown_unit(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("Time (s),Current (furlongs)\n0,1\n0.1,2\n0.2,3\n")
    with pytest.raises(UnitsError) as exc:
        load_trace(p)
    msg = str(exc.value)
    assert "furlongs" in msg and "x.csv" in msg and "Current (furlongs)" in msg and "pA" in msg


def test_current_unit_missing_and_override(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("Time (s),Current\n0,1\n0.1,2\n0.2,3\n")
    with pytest.raises(UnitsError, match="current_unit"):
        load_trace(p)
    assert load_trace(p, current_unit="nA").current[0] == pytest.approx(1e-9)


def test_voltage_column_is_not_current(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("t/s,E/V,I/mA\n0,0.1,1\n0.1,0.1,2\n0.2,0.1,3\n")
    assert load_trace(p).meta["channel"] == "I/mA"
    with pytest.raises(UnitsError, match="potential unit"):
        load_trace(p, channel="E/V")


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf"])
def test_nan_inf_in_data(tmp_path, bad):
    p = tmp_path / "x.csv"
    rows = [f"{k / 10},{k}e-9" for k in range(30)]
    rows[7] = f"0.7,{bad}"
    rows[9] = f"0.9,{bad}"
    p.write_text("t/s,I/A\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"2 NaN/Inf value\(s\) \(first at sample 7\)"):
        load_trace(p)


def test_nan_in_npz(tmp_path):
    c = np.ones(50)
    c[20] = np.nan
    np.savez(tmp_path / "x.npz", current=c, fs=10.0)
    with pytest.raises(DataError, match="first at sample 20"):
        load_trace(tmp_path / "x.npz")


def test_unknown_format_lists_supported(tmp_path):
    p = tmp_path / "image.xyz"
    p.write_bytes(b"\x00\x01\x02binary stuff" * 10)
    with pytest.raises(FormatError, match="not recognised") as exc:
        load_trace(p)
    assert "abf" in str(exc.value) and "tdms" in str(exc.value) and "csv" in str(exc.value)
    with pytest.raises(FormatError, match="unknown format 'excel'"):
        load_trace(tmp_path / "image.xyz", format="excel")


def test_no_time_column_needs_fs(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("Current (pA)\n1\n2\n3\n")
    with pytest.raises(ParameterError, match="fs="):
        load_trace(p)
    np.save(tmp_path / "x.npy", np.ones(10))
    with pytest.raises(ParameterError, match="fs="):
        load_trace(tmp_path / "x.npy")
    with pytest.raises(ParameterError, match="fs must be a positive"):
        load_trace(tmp_path / "x.npy", fs=-1)


def test_unknown_option(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("t/s,I/A\n0,1\n0.1,2\n")
    with pytest.raises(ParameterError, match=r"sweep.*not understood.*accepts: fs, channel"):
        load_trace(p, sweep=2)


def test_csv_channel_missing_lists_columns(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("t/s,I/A\n0,1\n0.1,2\n")
    with pytest.raises(ParameterError, match=r"'I2' not found; columns found: 0: 't/s', 1: 'I/A'"):
        load_trace(p, channel="I2")


def test_tdms_without_current_channel(tmp_path):
    pytest.importorskip("nptdms")
    from nptdms import ChannelObject, TdmsWriter

    p = tmp_path / "x.tdms"
    with TdmsWriter(str(p)) as w:
        w.write_segment([ChannelObject("G", "Voltage (V)", np.ones(5)), ChannelObject("G", "Z (um)", np.ones(5))])
    with pytest.raises(ParameterError, match=r"no channel looks like a current.*'Voltage \(V\)'"):
        load_trace(p)
    with pytest.raises(ParameterError, match="'Nope' not found"):
        load_trace(p, channel="Nope")


def test_hdf5_dataset_missing(tmp_path):
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "x.h5", "w") as f:
        f.create_dataset("current", data=np.ones(5)).attrs["units"] = "A"
    with pytest.raises(ParameterError, match="/nope.*not found.*/current"):
        load_trace(tmp_path / "x.h5", dataset="/nope")
    with pytest.raises(ParameterError, match="fs="):
        load_trace(tmp_path / "x.h5")


def test_mpr_needs_galvani(tmp_path, monkeypatch):
    p = tmp_path / "x.mpr"
    p.write_bytes(b"BIO-LOGIC MODULAR FILE\x1a" + b"\x00" * 100)
    monkeypatch.setitem(sys.modules, "galvani", None)
    with pytest.raises(FormatError, match="galvani"):
        load_trace(p)


def test_damaged_mpr(tmp_path):
    pytest.importorskip("galvani")
    p = tmp_path / "x.mpr"
    p.write_bytes(b"BIO-LOGIC MODULAR FILE\x1a" + b"\x00" * 100)
    with pytest.raises(FormatError, match="x.mpr"):
        load_trace(p)


def test_chi_without_columns(tmp_path):
    p = tmp_path / "cv.txt"
    p.write_text("Nov. 24, 2026\nCyclic Voltammetry\nInstrument Model:  CHI660E\nInit E (V) = 0\n\n"
                 "Potential/V, Current/A\n0.1, 1e-9\n0.2, 2e-9\n")
    with pytest.raises(FormatError, match=r"voltammogram.*'Cyclic Voltammetry'.*load_curve"):
        load_trace(p)
    p.write_text("Nov. 24, 2026\nAmperometric i-t Curve\nInstrument Model:  CHI660E\nInit E (V) = 0\n\n"
                 "Potential/V, Current/A\n0.1, 1e-9\n0.2, 2e-9\n")
    with pytest.raises(FormatError, match="Potential/V, Current/A"):
        load_trace(p)


def test_every_error_is_an_nbtools_error(tmp_path):
    p = tmp_path / "x.dta"
    p.write_text("EXPLAIN\nTAG\tCHRONOA\n")
    with pytest.raises(NbtoolsError, match="TABLE"):
        load_trace(p)
