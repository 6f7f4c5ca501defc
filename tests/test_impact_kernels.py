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
