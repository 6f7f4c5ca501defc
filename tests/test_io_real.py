"""Readers on real instrument files (skipped when ../shared/realdata is absent)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from nbtools.io import load_trace, sniff_format


def _unchanged(path, fn):
    before = (path.read_bytes(), os.stat(path).st_mtime_ns)
    out = fn()
    assert (path.read_bytes(), os.stat(path).st_mtime_ns) == before
    return out


@pytest.mark.parametrize("name, n, t_end", [("AuNPs_NIE_gamry.txt", 50500, 500.0), ("AuNPs_blank_gamry.txt", 20001, 200.0)])
def test_gamry_xy_aunp(realdata, name, n, t_end):
    path = realdata / "nanoimpact" / name
    tr = _unchanged(path, lambda: load_trace(path))
    assert sniff_format(path) == "gamry-xy"
    assert tr.fs == 100.0
    assert len(tr) == n
    assert tr.time[-1] == pytest.approx(t_end, abs=0.011)
    assert tr.meta["units"] == {"current": "A", "time": "s"}
    # quantised time column is reported, not kept
    assert any("quantised" in w for w in tr.meta["warnings"])
    # nano-impact currents on a microelectrode: tens of pA
    assert 1e-12 < np.median(np.abs(tr.current)) < 1e-9


def test_chi_beads(realdata):
    path = realdata / "nanoimpact" / "beads_steps_chi760e.txt"
    tr = _unchanged(path, lambda: load_trace(path))
    assert tr.meta["format"] == "chi"
    assert tr.fs == 10.0 and len(tr) == 1500
    assert tr.t0 == pytest.approx(0.1)
    assert tr.meta["potential"] == 0.5
    assert "CHI760E" in tr.meta["instrument"]
    assert tr.meta["units"]["current"] == "A"
    assert 1e-10 < np.median(np.abs(tr.current)) < 1e-7  # nA range


def _pyabf_channel(path, channel, scale):
    pyabf = pytest.importorskip("pyabf")
    abf = pyabf.ABF(str(path))
    abf.setSweep(0, channel=channel)
    return abf.sweepY.astype(np.float64) * scale


def test_abf2_gapfree_pA(realdata):
    path = realdata / "abf" / "File_axon_1.abf"
    tr = _unchanged(path, lambda: load_trace(path))
    assert tr.is_lazy  # nothing read yet
    assert tr.fs == 10000.0 and len(tr) == 1912832
    assert tr.meta["units"]["current"] == "pA"
    assert tr.meta["filter"] == {"lowpass_hz": 5000.0}
    ref = _pyabf_channel(path, 0, 1e-12)
    cur = tr.current
    np.testing.assert_allclose(cur, ref, rtol=1e-6, atol=1e-6 * np.abs(ref).max())
    # pyABF-style fingerprint: length, first, last, std (pA)
    fp = (len(cur), cur[0] / 1e-12, cur[-1] / 1e-12, cur.std() / 1e-12)
    assert fp == pytest.approx((1912832, 2.18811, 1.36719, 1.46036), rel=1e-4)


def test_abf1_two_channels(realdata):
    path = realdata / "abf" / "18425108_abf1.abf"
    tr = load_trace(path)
    assert tr.fs == 25000.0 and len(tr) == 250000
    assert tr.meta["channel"] == "Imemb (nA)"
    assert tr.meta["channels"] == ["Imemb (nA)", "10_Vm (mV)"]
    ref = _pyabf_channel(path, 0, 1e-9)
    np.testing.assert_allclose(tr.current, ref, rtol=1e-6, atol=1e-6 * np.abs(ref).max())
    # the same channel by name, and the voltage channel is refused as a current
    assert load_trace(path, channel="Imemb").meta["channel"] == "Imemb (nA)"
    from nbtools.errors import UnitsError

    with pytest.raises(UnitsError, match="mV"):
        load_trace(path, channel="10_Vm")
    # streaming gives the same amperes as the full array
    blocks = np.concatenate([b for _, b in tr.chunks(65536)])
    np.testing.assert_array_equal(blocks, tr.current)


def test_tdms_seccm_channel_choice(realdata):
    path = realdata / "seccm" / "wecspm_x22500_y-4500.tdms"
    tr = _unchanged(path, lambda: load_trace(path))
    assert tr.meta["channel"] == "Data/Current1 (A)"
    assert len(tr) == 8194
    assert "Data/Current 2 (A)" in tr.meta["channels"]
    other = load_trace(path, channel="Current 2 (A)")
    assert other.meta["channel"] == "Data/Current 2 (A)"
    assert not np.array_equal(other.current, tr.current)
    assert 50 < tr.fs < 500  # from the dt(s) channel


def test_abf2_float32_samples(realdata, tmp_path):
    """ABF2 with float32 samples (nDataFormat=1), made from the real file in tmp_path: no ADC scaling."""
    import struct

    pyabf = pytest.importorskip("pyabf")
    src = realdata / "abf" / "File_axon_1.abf"
    ref = pyabf.ABF(str(src)).data[0].astype("<f4")  # pA
    data = src.read_bytes()
    block = -(-len(data) // 512)
    new = bytearray(data) + bytes(block * 512 - len(data)) + ref.tobytes()
    struct.pack_into("<H", new, 30, 1)  # nDataFormat: float32
    struct.pack_into("<II", new, 236, block, 4)  # DataSection: new block, 4 bytes per sample
    path = tmp_path / "float.abf"
    path.write_bytes(bytes(new))
    np.testing.assert_array_equal(pyabf.ABF(str(path)).data[0], ref)  # the crafted file is valid for pyabf
    tr = load_trace(path)
    assert tr.meta["converted"]["sample_dtype"] == "float32" and tr.meta["converted"]["adc_gain"] == 1.0
    np.testing.assert_allclose(tr.current, ref.astype(np.float64) * 1e-12, rtol=1e-6)
