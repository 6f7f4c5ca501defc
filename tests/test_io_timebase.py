"""Time columns: quantised printing rebuilt from the index; real gaps and irregular sampling keep the file's times."""

from __future__ import annotations

import numpy as np
import pytest

from nbtools.errors import DataError, ParameterError
from nbtools.io import load_trace
from nbtools.io.timebase import print_quantum, uniform_time

DT = 0.01
N_GRID = 20026  # 0 .. 200.25 s at 100 Hz
WIDTHS = [2] * 194 + [1] * 127  # 321 gaps, 515 missing samples: 19,511 samples, 195.11 s end to end


def write_gappy_export(path, *, seed=11, jitter=5e-4):
    """A two-column export like the real one: 'Time / s', 'Current / pA', full-precision times, 321 gaps.

    Spikes (60 pA, 8 samples) at known times, away from the gaps; the stamps
    are jittered by up to ``jitter`` s. Returns the true peak times (s).
    """
    rng = np.random.default_rng(seed)
    t = np.arange(N_GRID) * DT
    i = rng.normal(0.0, 1.0, N_GRID)
    events = np.sort(rng.uniform(3.0, 197.0, 60))
    events = events[np.r_[True, np.diff(events) > 1.5]]
    protect = np.zeros(N_GRID, bool)
    protect[:10] = protect[-10:] = True
    for e in events:
        k = int(round(e / DT))
        i[k:k + 8] += 60.0 * np.exp(-np.arange(8) / 3.0)
        protect[k - 20:k + 30] = True
    keep = np.ones(N_GRID, bool)
    widths = list(WIDTHS)
    rng.shuffle(widths)
    for w in widths:
        while True:
            k = int(rng.integers(10, N_GRID - 10))
            if not protect[k - 1:k + w + 1].any() and keep[k - 1:k + w + 1].all():
                keep[k:k + w] = False
                break
    stamps = t[keep] + rng.uniform(-jitter, jitter, keep.sum())
    stamps[0], stamps[-1] = 0.0, t[-1]
    rows = "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in zip(stamps, i[keep]))
    path.write_text("Time / s,Current / pA\n" + rows)
    return np.round(events / DT) * DT


@pytest.fixture(scope="module")
def gappy(tmp_path_factory):
    path = tmp_path_factory.mktemp("gaps") / "export.csv"
    return path, write_gappy_export(path)


def test_real_gaps_keep_the_file_times(gappy):
    path, truth = gappy
    tr = load_trace(path)
    assert tr.meta["time_base"] == "gaps"
    assert len(tr.meta["gaps"]) == 321
    assert tr.meta["interpolated_samples"] == sum(WIDTHS) == 515
    assert len(tr) == N_GRID and tr.fs == 100.0
    assert tr.duration == pytest.approx(200.26, abs=1e-9)  # the file's span 200.25 s plus one sample
    assert abs(tr.t0) < 1e-3
    assert any("321 gap(s)" in w and "meta['gaps']" in w for w in tr.meta["warnings"])
    # each gap span lies between two file stamps at least 1.5 samples apart
    assert all(b - a > 1.5 * DT for a, b in tr.meta["gaps"])


def test_events_at_the_right_time_and_frequency_over_the_right_duration(gappy):
    from nbtools.impact import find_events, impact_frequency

    path, truth = gappy
    ev = find_events(load_trace(path), polarity="positive")
    assert len(ev) == len(truth)
    err = np.abs(ev["t_peak"].to_numpy() - truth)
    assert err.max() <= 2 * DT
    assert ev.attrs["duration"] == pytest.approx(200.26, abs=1e-6)
    f = impact_frequency(ev)
    assert f["duration"] == pytest.approx(200.26, abs=1e-6)
    assert f["frequency"] == pytest.approx(len(truth) / 200.26, rel=1e-9)
    # the old behaviour, still available, put events up to seconds early over 195.1 s
    old = load_trace(path, resample="index")
    assert old.duration == pytest.approx(195.1, abs=0.3)  # 19,511 samples end to end
    ev_old = find_events(old, polarity="positive")
    assert np.max(np.abs(ev_old["t_peak"].to_numpy() - truth)) > 4.0


def test_irregular_stamps_are_interpolated_onto_a_grid(tmp_path):
    rng = np.random.default_rng(2)
    t = np.cumsum(rng.uniform(0.5, 1.5, 3000)) * 1e-3  # steps from 0.5 to 1.5 ms
    i = 1e-9 * np.sin(2 * np.pi * t)
    p = tmp_path / "irregular.csv"
    p.write_text("t/s,I/A\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(t.tolist(), i.tolist())))
    tr = load_trace(p)
    assert tr.meta["time_base"] == "interpolated"
    assert tr.t0 == t[0] and tr.time[-1] == pytest.approx(t[-1], abs=1.01 / tr.fs)
    np.testing.assert_allclose(tr.current, 1e-9 * np.sin(2 * np.pi * tr.time), atol=2e-11)
    assert any("interpolated linearly" in w and f"{tr.fs:.10g} Hz" in w for w in tr.meta["warnings"])
    rs = load_trace(p, resample=500.0)
    assert rs.fs == 500.0 and rs.meta["time_base"] == "resampled"
    assert rs.duration == pytest.approx(t[-1] - t[0], abs=2 / 500.0)


def test_jitter_within_a_tenth_of_a_sample_is_rebuilt_from_the_index(tmp_path):
    """EC-Lab records every 0.9375 s with clock jitter: fs is that rate, the same as in the warning."""
    rng = np.random.default_rng(4)
    n = 500
    t = np.arange(n) * 0.9375 + rng.uniform(-0.02, 0.02, n)
    p = tmp_path / "jitter.csv"
    p.write_text("time/s,I/mA\n" + "".join(f"{a:.6f},{1e-3:.6e}\n" for a in t))
    tr = load_trace(p)
    assert tr.meta["time_base"] == "jitter"
    assert tr.fs == pytest.approx(1 / 0.9375, rel=1e-4)
    assert any(f"{tr.fs:.10g} Hz" in w for w in tr.meta["warnings"])


def test_quantised_printing_is_not_a_gap(tmp_path):
    t = np.arange(20000) / 100.0 + 5.0
    p = tmp_path / "q.csv"
    p.write_text("time (s),I (A)\n" + "".join(f"{float(f'{a:.4g}')!r},{1e-9!r}\n" for a in t))
    tr = load_trace(p)
    assert tr.meta["time_base"] == "quantised" and tr.meta["gaps"] == []
    assert tr.fs == 100.0 and tr.t0 == 5.0 and len(tr) == 20000


def test_a_pause_is_filled_and_listed(tmp_path):
    t = np.arange(1000) / 10.0
    t[500:] += 30.0
    p = tmp_path / "pause.csv"
    p.write_text("t/s,I/nA\n" + "".join(f"{a:.10g},1.0\n" for a in t))
    tr = load_trace(p)
    assert tr.fs == 10.0 and len(tr) == 1300
    assert tr.meta["gaps"] == [[pytest.approx(49.9), pytest.approx(80.0)]]


def test_a_jump_too_far_to_fill_is_refused_with_the_way_out(tmp_path):
    t = np.arange(100) / 1000.0
    t[50:] += 1e6  # a damaged stamp or a day-long pause
    with pytest.raises(DataError, match="resample='index'"):
        uniform_time(t, np.ones(100), path="x.csv")
    tb = uniform_time(t, np.ones(100), path="x.csv", resample="index")
    assert tb.fs == 1000.0 and tb.method == "index"


@pytest.mark.parametrize("bad", ["fast", 0, -5, float("nan"), True])
def test_bad_resample(bad):
    with pytest.raises(ParameterError, match="resample"):
        uniform_time(np.arange(5.0), np.ones(5), path="x", resample=bad)


def test_print_quantum():
    q = print_quantum(np.array([123.4, 1.234, 0.0123]), sample=np.array([123.4, 1.234, 0.0123, 55.55]))
    np.testing.assert_allclose(q, [0.1, 0.001, 1e-4])  # the coarser of 4 digits and 4 decimals
    full = print_quantum(np.array([12.345678901234567]))
    assert full[0] < 1e-13
