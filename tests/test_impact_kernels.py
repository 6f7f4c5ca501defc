"""numba kernels against their NumPy reference implementations."""

import numpy as np
import pytest

from nbtools.impact import _kernels


def ref_baseline(n, B, bvals):
    c = np.arange(bvals.size) * B + (B - 1) / 2.0
    return np.interp(np.arange(n), c, bvals)


def ref_hysteresis(r, on_pos, off_pos, on_neg, off_neg):
    """Plain-Python reference: list of (start, end, sign) on a residual."""
    out, state, s0 = [], 0, 0
    for i, v in enumerate(r):
        if state == 1 and v <= off_pos:
            out.append((s0, i, 1)); state = 0
        elif state == -1 and -v <= off_neg:
            out.append((s0, i, -1)); state = 0
        if state == 0:
            if v > on_pos:
                state, s0 = 1, i
            elif -v > on_neg:
                state, s0 = -1, i
    if state:
        out.append((s0, len(r), state))
    return out


@pytest.mark.parametrize("B", [1, 7, 64])
def test_block_means_and_baseline(B):
    rng = np.random.default_rng(B)
    x = rng.normal(size=1003).astype(np.float32)
    m, bad = _kernels.block_means(x, B)
    ref = [x[i:i + B].astype(np.float64).mean() for i in range(0, x.size, B)]
    assert bad == -1
    np.testing.assert_allclose(m, ref, rtol=1e-6)
    out = np.empty(x.size)
    _kernels.baseline_fill(0, x.size, B, m, out)
    np.testing.assert_allclose(out, ref_baseline(x.size, B, m), rtol=1e-9, atol=1e-12)


def test_block_means_reports_first_nan():
    x = np.zeros(100)
    x[37] = np.nan
    x[80] = np.inf
    assert _kernels.block_means(x, 10)[1] == 37


@pytest.mark.parametrize("skip", [False, True])
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("B", [1, 16, 333])
def test_hysteresis_matches_reference(seed, B, skip):
    rng = np.random.default_rng(seed)
    n = 5000
    x = rng.normal(size=n) + np.sin(np.arange(n) / 300.0)
    x[rng.integers(0, n, 20)] += 6.0  # isolated spikes among quiet blocks
    bvals = rng.normal(scale=0.3, size=(n + B - 1) // B)
    r = x - ref_baseline(n, B, bvals)
    on_neg = np.inf if seed == 3 else 2.0
    ref = ref_hysteresis(r, 2.5, 0.5, on_neg, 0.7)
    mins = maxs = None
    if skip:
        _, mins, maxs, _ = _kernels.block_stats(x, B)
    cap = 8  # small capacity exercises the restart path
    got = []
    i, state = 0, 0
    while i < n:
        s = np.empty(cap, np.int64); e = np.empty(cap, np.int64); g = np.empty(cap, np.int8)
        cnt, stop, state = _kernels.hysteresis(x, i, n, 0, B, bvals, 2.5, 0.5, on_neg, 0.7, s, e, g, state,
                                                mins, maxs)
        got += list(zip(s[:cnt].tolist(), e[:cnt].tolist(), g[:cnt].tolist()))
        i = stop
    assert got == ref
    assert len(ref) > 5


def ref_mains_segment(r, g0, g1, stride, excluded, omega, nh, clip):
    """NumPy reference of one segment of mains_segments (lstsq on the kept points)."""
    g = np.arange(g0, g1, stride)
    g = g[~excluded[g]]
    v = np.clip(r[g], -clip, clip)
    gc, W = 0.5 * (g0 + g1), 0.5 * (g1 - g0)
    cols = [np.ones(g.size), (g - gc) / W]
    for h in range(1, nh + 1):
        cols += [np.cos(h * omega * g), np.sin(h * omega * g)]
    return np.linalg.lstsq(np.column_stack(cols), v, rcond=None)[0][2:]


@pytest.mark.parametrize("offset", [0, 1234])
def test_mains_segments_matches_reference(offset):
    rng = np.random.default_rng(offset)
    n, B, seg, nh = 30000, 50, 9000, 3
    omega = 2 * np.pi / 1999.3
    g = np.arange(n)
    x = rng.normal(size=n) + 0.7 * np.cos(omega * g + 0.3) + 0.2 * np.sin(3 * omega * g) + 1e-4 * g
    bvals = rng.normal(scale=0.1, size=(n + B - 1) // B)
    ex_a = np.array([2000, 2100, 15000], np.int64)
    ex_b = np.array([2600, 2400, 16000], np.int64)
    ex_b = np.maximum.accumulate(ex_b)
    x[15000:16000] += 50.0  # an "event": excluded, and clipped anyway
    excluded = np.zeros(n, bool)
    for a, b in zip(ex_a, ex_b):
        excluded[a:b] = True
    out = np.full((4, 2 * nh), -1.0)
    segs = np.array([0, 1, 3], np.int64)
    xs = x[offset:]
    _kernels.mains_segments(xs, offset, B, bvals, segs, seg, ex_a, ex_b, omega, nh, 4.0, out)
    r = x - ref_baseline(n, B, bvals)
    for j in segs:
        g0, g1 = max(j * seg, offset), min((j + 1) * seg, n)
        stride = max(1, (g1 - g0) // _kernels.MAINS_POINTS)
        np.testing.assert_allclose(out[j], ref_mains_segment(r, g0, g1, stride, excluded, omega, nh, 4.0),
                                   rtol=1e-6, atol=1e-6)
    assert out[0, 0] == pytest.approx(0.7 * np.cos(0.3), abs=0.15)
    assert (out[2] == -1.0).all()  # segments not asked for are untouched
