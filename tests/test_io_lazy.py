"""Lazy (memory-mapped) traces: pickling by reference, slicing, streaming, materialising once."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from nbtools import Trace
from nbtools.io import load_trace


@pytest.fixture
def abf_path(tmp_path):
    pytest.importorskip("pyabf")
    from pyabf.abfWriter import writeABF1

    rng = np.random.default_rng(7)
    data = rng.normal(0, 20, size=(3, 4000))  # three sweeps, pA
    path = tmp_path / "lazy.abf"
    writeABF1(data, str(path), sampleRateHz=20000.0, units="pA")
    return path


def test_pickle_lazy_trace_by_reference(abf_path):
    tr = load_trace(abf_path)
    part = tr[1234:9876:3]
    blob = pickle.dumps(part)
    assert len(blob) < 4096  # the file's location, not its samples
    back = pickle.loads(blob)
    assert back.is_lazy and len(back) == len(part) and back.fs == part.fs and back.t0 == part.t0
    np.testing.assert_array_equal(back.current, part.current)
    assert back.meta == part.meta


def test_pickle_eager_and_plain_lazy():
    eager = Trace(np.linspace(0, 1, 11) * 1e-9, fs=5.0, t0=1.0, meta={"a": 1})
    back = pickle.loads(pickle.dumps(eager))
    np.testing.assert_array_equal(back.current, eager.current)
    assert back.meta == {"a": 1} and back.t0 == 1.0
    lazy = Trace.from_raw(np.arange(7, dtype=np.int16), fs=2.0, gain=2e-12)
    back = pickle.loads(pickle.dumps(lazy))  # in-memory raw: pickled as data
    np.testing.assert_array_equal(back.current, np.arange(7) * 2e-12)


def test_materialise_once_and_slices_stay_lazy(abf_path):
    tr = load_trace(abf_path)
    assert tr.is_lazy and "lazy" in repr(tr)
    part = tr.slice_time(0.1, 0.2)
    assert part.is_lazy and len(part) == 2000
    cur = tr.current
    assert not tr.is_lazy and tr.current is cur  # computed once, then kept
    assert cur.dtype == np.float32
    np.testing.assert_array_equal(part.current, cur[2000:4000])


def test_chunks_on_eager_trace_are_views():
    tr = Trace(np.arange(10.0), fs=1.0)
    blocks = list(tr.chunks(4))
    assert [s for s, _ in blocks] == [0, 4, 8]
    assert all(np.shares_memory(b, tr.current) for _, b in blocks)
    with pytest.raises(Exception, match="overlap"):
        list(tr.chunks(4, overlap=4))
