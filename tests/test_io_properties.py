"""Properties: unit invariance of the readers, chunking invariance of lazy traces."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nbtools import Trace
from nbtools.io import load_trace

finite_currents = arrays(np.float64, st.integers(3, 60),
                         elements=st.floats(-1e-6, 1e-6, allow_nan=False, width=64))


@pytest.mark.filterwarnings("ignore:.*99th percentile:nbtools.errors.NbtoolsWarning")  # sub-fA draws
@settings(max_examples=30, deadline=None)
@given(current=finite_currents, fs=st.sampled_from([1.0, 10.0, 2000.0, 25000.0]),
       sep=st.sampled_from([",", "\t", ";"]))
def test_same_amperes_whatever_the_unit(current, fs, sep):
    t = np.arange(current.size) / fs
    loaded = []
    with tempfile.TemporaryDirectory() as d:
        for label, factor in [("Current/A", 1.0), ("I (pA)", 1e-12), ("current / nA", 1e-9), ("I [µA]", 1e-6)]:
            p = Path(d) / f"x_{factor:g}.csv"
            rows = "".join(f"{a!r}{sep}{float(b / factor)!r}\n" for a, b in zip(t.tolist(), current.tolist()))
            p.write_text(f"Time (s){sep}{label}\n" + rows, encoding="utf-8")
            loaded.append(load_trace(p))
    for tr in loaded:
        assert tr.fs == fs
        np.testing.assert_allclose(tr.current, loaded[0].current, rtol=1e-12, atol=1e-30)
    np.testing.assert_allclose(loaded[0].current, current, rtol=0, atol=0)


raw_arrays = arrays(np.int16, st.integers(1, 300), elements=st.integers(-32768, 32767))


@settings(max_examples=50, deadline=None)
@given(raw=raw_arrays, size=st.integers(1, 64), data=st.data())
def test_chunks_concatenate_to_current(raw, size, data):
    overlap = data.draw(st.integers(0, size - 1))
    lazy = Trace.from_raw(raw, fs=10.0, gain=3e-12, offset=-1e-12, dtype=np.float32)
    starts, blocks = zip(*lazy.chunks(size, overlap=overlap))
    assert lazy.is_lazy  # streaming did not materialise it
    rebuilt = np.empty(len(lazy), np.float32)
    for s, b in zip(starts, blocks):
        rebuilt[s:s + len(b)] = b
    np.testing.assert_array_equal(rebuilt, lazy.current)
    eager = Trace(lazy.current.copy(), fs=10.0)
    for (s1, b1), (s2, b2) in zip(lazy[: len(lazy)].chunks(size, overlap=overlap), eager.chunks(size, overlap=overlap)):
        assert s1 == s2
        np.testing.assert_array_equal(b1, b2)


@settings(max_examples=30, deadline=None)
@given(raw=raw_arrays, i0=st.integers(0, 100), i1=st.integers(0, 300), step=st.integers(1, 3))
def test_lazy_slice_equals_eager_slice(raw, i0, i1, step):
    lazy = Trace.from_raw(raw, fs=100.0, gain=1e-9, t0=2.0)
    eager = Trace(raw * 1e-9, fs=100.0, t0=2.0)
    a, b = lazy[i0:i1:step], eager[i0:i1:step]
    assert a.is_lazy and len(a) == len(b) and a.fs == b.fs and a.t0 == b.t0
    np.testing.assert_array_equal(a.current, b.current)


@settings(max_examples=40, deadline=None)
@given(values=arrays(np.float64, st.tuples(st.integers(6, 30), st.integers(2, 5)),
                     elements=st.floats(-1e6, 1e6, allow_nan=False, width=64)),
       layout=st.sampled_from([(",", "."), ("\t", "."), (";", "."), (";", ","), ("\t", ","), (" ", ".")]),
       header=st.booleans())
def test_every_kind_reads_the_same_numbers_from_any_layout(values, layout, header):
    """One table reader: whatever the delimiter and decimal mark, the numbers come back exactly."""
    from nbtools.io.table import read_table

    sep, dec = layout
    labels = [f"c{k}/A" for k in range(values.shape[1])]
    body = "".join(sep.join(repr(float(v)).replace(".", dec) for v in row) + "\n" for row in values)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "t.txt"
        p.write_text((sep.join(labels) + "\n" if header else "") + body, encoding="utf-8")
        t = read_table(p)
    np.testing.assert_array_equal(t.values, values)
    assert t.labelled == header and (t.names == labels) == header
