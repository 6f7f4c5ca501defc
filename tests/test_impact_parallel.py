"""Detection on several threads gives the serial tables exactly (nbtools.impact.parallel).

The pieces are made small here (``MIN_PIECE``) so that short recordings are cut at many seams,
and events are placed across them.
"""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbtools.errors import ParameterError
from nbtools.impact import _kernels, find_events, prepare
from nbtools.impact import parallel
from nbtools.impact.source import SampleSource, chunks as chunk_ranges
from nbtools.impact.stages import heights, hysteresis_scan
from nbtools.simulate import impact_trace
from nbtools.threads import NUM_THREADS_ENV, available_cores, resolve_workers

SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def small_pieces(monkeypatch):
    """Pieces of at least 64 samples (instead of 65536), so that a short trace has many seams."""
    monkeypatch.setattr(parallel, "MIN_PIECE", 64)


def _residual_signal(seed, n=30_000):
    """Noise (SD 1) on a slow baseline, with transients of both signs: short ones, ones that turn
    straight into the other sign, and long ones (thousands of samples, over many seams)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, n)
    base = 3.0 * np.sin(np.arange(n) / 4000.0 + seed)
    for _ in range(rng.integers(20, 60)):
        a = int(rng.integers(0, n - 10))
        L = int(rng.choice([3, 20, 200, 3000, 9000]))
        b = min(n, a + L)
        sg = rng.choice([-1.0, 1.0])
        x[a:b] += sg * rng.uniform(3.0, 20.0) * np.exp(-np.arange(b - a) / max(1.0, L / 3))
        if rng.random() < 0.3 and b + 40 < n:  # overshoot of the other sign at the close
            x[b:b + 40] -= sg * 12.0
    return (x + base).astype(np.float32), base


def _scan_inputs(seed, B):
    x, base = _residual_signal(seed)
    nb = (x.size + B - 1) // B
    bvals = np.array([base[min(k * B + B // 2, x.size - 1)] for k in range(nb)])
    _, mins, maxs, _ = _kernels.block_stats(x, B, nsub=max(1, min(4, B)))
    return x, bvals, mins, maxs


@SETTINGS
@given(seed=st.integers(0, 10_000), B=st.sampled_from([1, 7, 64, 250]), chunk_blocks=st.integers(1, 400),
       workers=st.integers(2, 5), skip=st.booleans())
def test_scan_on_threads_equals_serial(small_pieces, seed, B, chunk_blocks, workers, skip):
    x, bvals, mins, maxs = _scan_inputs(seed, B)
    mm = (mins, maxs) if skip else (None, None)
    src = SampleSource.of(x)
    levels = (4.0, 1.0, 4.0, 1.0)
    ref = hysteresis_scan(src, [(0, x.size)], B, bvals, *levels, *mm, workers=1)
    assert ref[0].size > 10 and np.all(ref[0][1:] >= ref[1][:-1])
    chunks = chunk_ranges(x.size, chunk_blocks * B, B)
    for w in (1, workers):
        got = hysteresis_scan(src, chunks, B, bvals, *levels, *mm, workers=w)
        for a, b in zip(got, ref):
            np.testing.assert_array_equal(a, b)
    # the heights of the same events
    np.testing.assert_array_equal(heights(src, chunks, B, bvals, *ref, workers=workers),
                                  heights(src, [(0, x.size)], B, bvals, *ref, workers=1))


def test_scan_seams_inside_events(small_pieces):
    """Every seam inside an event: one event over the whole trace, and one per seam across it."""
    n, B = 20_000, 50
    x = np.zeros(n, np.float32)
    x[1:-1] = 10.0  # open from sample 1 to the end
    src = SampleSource.of(x)
    bvals = np.zeros((n + B - 1) // B)
    one = hysteresis_scan(src, [(0, n)], B, bvals, 4.0, 1.0, 4.0, 1.0, workers=4)
    assert [a.tolist() for a in one] == [[1], [n - 1], [1]]
    # events straddling each seam; between them the residual sits between the two levels (idle
    # for a scan that starts there, inside an event for the exact scan), then drops
    seams = [a for a, _ in parallel.pieces([(0, n)], B, 4)][1:]
    y = np.zeros(n, np.float32)
    for s in seams:
        y[s - 30:s + 300] = 2.5
        y[s - 30] = -8.0  # opens negative, turns positive at once
        y[s - 29:s - 10] = 9.0
        y[s + 300:s + 310] = -6.0
    src = SampleSource.of(y)
    ref = hysteresis_scan(src, [(0, n)], B, bvals, 4.0, 1.0, 4.0, 1.0, workers=1)
    got = hysteresis_scan(src, [(0, n)], B, bvals, 4.0, 1.0, 4.0, 1.0, workers=4)
    for a, b in zip(got, ref):
        np.testing.assert_array_equal(a, b)
    assert ref[0].size == 3 * len(seams)
    assert all(((ref[0] < s) & (ref[1] > s)).any() for s in seams)  # each seam inside an event


def test_scan_with_more_events_than_the_output_holds(small_pieces):
    """More than 4096 events in one call: the kernel restarts; the result stays the same."""
    n, B = 120_000, 100
    rng = np.random.default_rng(5)
    x = rng.normal(0.0, 1.0, n).astype(np.float32)
    x[::20] += 9.0
    src = SampleSource.of(x)
    bvals = np.linspace(0.0, 0.3, (n + B - 1) // B)
    ref = hysteresis_scan(src, [(0, n)], B, bvals, 4.0, 1.0, 4.0, 1.0, workers=1)
    assert ref[0].size > 5000
    for chunk, w in ((n, 3), (7_000, 1), (7_000, 4)):
        got = hysteresis_scan(src, chunk_ranges(n, chunk, B), B, bvals, 4.0, 1.0, 4.0, 1.0, workers=w)
        for a, b in zip(got, ref):
            np.testing.assert_array_equal(a, b)


def _same_table(got, ref):
    pd.testing.assert_frame_equal(got, ref, check_exact=True)
    pd.testing.assert_frame_equal(got.attrs["rejected"], ref.attrs["rejected"], check_exact=True)
    for key in ("noise", "threshold", "threshold_A", "noise_bandwidth", "n_merged", "masked", "mains",
                "noise_model_check", "decisions"):
        assert got.attrs.get(key) == ref.attrs.get(key), key
    np.testing.assert_array_equal(got.attrs["baseline_curve"]["value"], ref.attrs["baseline_curve"]["value"])


@pytest.fixture(scope="module")
def rec():
    tr, truth = impact_trace(duration=2.0, fs=50e3, rate=40, polarity="both", pink_noise=2e-12, mains=1.5e-12,
                             drift=30e-12, charging_transient=200e-12, seed=16)
    return tr, find_events(tr, workers=1)


@SETTINGS
@given(workers=st.integers(2, 4), chunk=st.one_of(st.none(), st.integers(2_000, 60_000)),
       polarity=st.sampled_from(["auto", "both"]))
def test_find_events_on_threads_equals_serial(small_pieces, rec, workers, chunk, polarity):
    tr, ref = rec
    if polarity != "auto":
        ref = find_events(tr, workers=1, polarity=polarity)
    got = find_events(tr, workers=workers, chunk_size=chunk, polarity=polarity)
    assert len(got) > 15
    assert polarity != "auto" or len(got.attrs["rejected"]) > 10  # the other sign, run beside it
    _same_table(got, ref)


def test_prepare_detect_and_preview_on_threads(small_pieces, rec):
    tr, _ = rec
    one, many = prepare(tr, workers=1), prepare(tr, workers=3)
    assert (one.workers, many.workers) == (1, 3)
    for th in (4.5, "auto", 9.0):
        _same_table(many.detect(th), one.detect(th))
    _same_table(many.preview(6.0), one.preview(6.0))


def test_memory_mapped_file_on_threads(small_pieces, rec, tmp_path):
    tr, ref = rec
    path = tmp_path / "trace.npy"
    np.save(path, np.asarray(tr.current))
    x = np.load(path, mmap_mode="r")
    assert isinstance(x, np.memmap)
    for w, chunk in ((1, 8_192), (3, 8_192), (2, None)):
        _same_table(find_events(x, fs=tr.fs, workers=w, chunk_size=chunk), find_events(tr.current, fs=tr.fs,
                                                                                        workers=1))


def test_steps_on_threads_equal_serial(small_pieces):
    tr, truth = impact_trace(duration=2.0, fs=20e3, kind="step", rate=4, polarity="both", bessel_cutoff=None,
                             seed=3)
    ref = find_events(tr, workers=1, baseline_window=0.1)  # drift median in pieces of 8004 samples and more
    assert ref.attrs["kind"] == "step" and len(truth) > len(ref) > 3  # one sign kept
    _same_table(find_events(tr, workers=3, baseline_window=0.1), ref)
    _same_table(find_events(tr, kind="step", polarity="both", workers=2),
                find_events(tr, kind="step", polarity="both", workers=1))


def test_workers_setting(monkeypatch):
    monkeypatch.delenv(NUM_THREADS_ENV, raising=False)
    assert resolve_workers() == available_cores() >= 1
    assert resolve_workers(3) == 3
    monkeypatch.setenv(NUM_THREADS_ENV, "2")
    assert resolve_workers() == 2 and resolve_workers(1) == 1
    tr, _ = impact_trace(duration=0.5, fs=20e3, rate=5, seed=2)
    assert prepare(tr).workers == 2
    monkeypatch.setenv(NUM_THREADS_ENV, "many")
    with pytest.raises(ParameterError, match="NBTOOLS_NUM_THREADS"):
        resolve_workers()
    for bad in (0, -2, 1.5, "x", True):
        with pytest.raises(ParameterError, match="workers"):
            find_events(tr, workers=bad)
