"""A 2 GiB gap-free ABF opens without reading its samples (memory map, not a read)."""

from __future__ import annotations

import struct
import time

import numpy as np
import pytest

from nbtools.io import load_trace


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096


def make_big_abf(path, n_samples: int, head: np.ndarray, fs: float = 100_000.0):
    """ABF1 written by pyabf, then its header counts patched and the file extended sparsely."""
    from pyabf.abfWriter import writeABF1

    writeABF1(head[np.newaxis, :], str(path), sampleRateHz=fs, units="pA")
    with open(path, "r+b") as fh:
        fh.seek(8)
        fh.write(struct.pack("<h", 3))  # nOperationMode: gap-free
        fh.seek(10)
        fh.write(struct.pack("<i", n_samples))  # lActualAcqLength
        fh.seek(16)
        fh.write(struct.pack("<i", 1))  # lActualEpisodes
        fh.seek(138)
        fh.write(struct.pack("<i", n_samples))  # lNumSamplesPerEpisode
        fh.truncate(2048 + 2 * n_samples)  # data start (4 blocks of 512) + int16 samples: a sparse hole
    return path


@pytest.mark.slow
def test_2gib_abf_opens_lazily(tmp_path):
    pytest.importorskip("pyabf")
    n = 2**30  # 2 GiB of int16
    head = np.linspace(-50, 50, 4096)
    path = make_big_abf(tmp_path / "big.abf", n, head)
    assert path.stat().st_size == 2048 + 2 * n
    rss0 = _rss_bytes()
    t = time.perf_counter()
    tr = load_trace(path)
    elapsed = time.perf_counter() - t
    assert elapsed < 1.0, f"opening took {elapsed:.2f} s: samples were read"
    assert _rss_bytes() - rss0 < 200 * 2**20  # nothing near 2 GiB came into memory
    assert tr.is_lazy and len(tr) == n and tr.fs == 100_000.0
    assert tr.duration == pytest.approx(n / 1e5)
    # the first block holds what was written; slicing reads only what it needs
    first = tr[:4096]
    assert first.is_lazy
    step = abs(tr.meta["converted"]["adc_gain"]) * 1e-12
    np.testing.assert_allclose(first.current, head * 1e-12, atol=step)
    assert not np.any(tr[n - 10:].current)  # the sparse tail reads as zeros
    assert tr.is_lazy  # slices did not materialise the whole trace
    del tr, first
    path.unlink()  # do not leave a 2 GiB (sparse) file in pytest's temp folders
