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
    # float32 sums: exact to the float32 resolution of the samples
    np.testing.assert_allclose(m, ref, rtol=1e-6, atol=1e-6 * x.std())
    out = np.empty(x.size)
    _kernels.baseline_fill(0, x.size, B, m, out)
    np.testing.assert_allclose(out, ref_baseline(x.size, B, m), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16])
@pytest.mark.parametrize("B", [1, 5, 1000, 10_000])
def test_block_stats_match_numpy(dtype, B):
    rng = np.random.default_rng(B)
    x = (rng.normal(scale=30, size=23_457) + 5).astype(dtype)
    m, lo, hi, bad = _kernels.block_stats(x, B)
    pad = -x.size % B
    xp = np.concatenate([x.astype(np.float64), np.full(pad, np.nan)]).reshape(-1, B)
    assert bad == -1
    np.testing.assert_array_equal(lo, np.nanmin(xp, axis=1))
    np.testing.assert_array_equal(hi, np.nanmax(xp, axis=1))
    np.testing.assert_allclose(m, np.nanmean(xp, axis=1), rtol=1e-9, atol=1e-6 * x.std())
    # a strided view takes the plain loop and agrees
    m2, lo2, hi2, _ = _kernels.block_stats(np.repeat(x, 2)[::2], B)
    np.testing.assert_allclose(m2, m, rtol=1e-9, atol=1e-6 * x.std())
    np.testing.assert_array_equal(lo2, lo)
    np.testing.assert_array_equal(hi2, hi)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16])
@pytest.mark.parametrize("B, nsub", [(1000, 8), (9, 8), (7, 3), (2000, 1)])
def test_block_stats_sub_blocks(dtype, B, nsub):
    rng = np.random.default_rng(nsub)
    x = (rng.normal(scale=30, size=10_013) + 5).astype(dtype)
    m, lo, hi, bad = _kernels.block_stats(x, B, nsub=nsub)
    m1 = _kernels.block_stats(x, B)[0]
    S = _kernels.sub_blocks(B, nsub)
    assert lo.size == hi.size == m.size * nsub
    for k in range(m.size):
        for j in range(nsub):
            seg = x[k * B + j * S: min(k * B + (j + 1) * S, (k + 1) * B)]
            if seg.size:
                assert lo[k * nsub + j] == seg.min() and hi[k * nsub + j] == seg.max()
            else:
                assert lo[k * nsub + j] == np.inf and hi[k * nsub + j] == -np.inf
    np.testing.assert_allclose(m, m1, rtol=1e-9, atol=1e-6 * x.std())


def test_block_means_keep_precision_under_a_large_offset():
    # 1 uA offset, 1 pA noise in float32: the mean of each block must be good
    # to a small fraction of the noise (sums are taken relative to the block's
    # first sample, not accumulated on top of the offset)
    rng = np.random.default_rng(0)
    dev = rng.normal(scale=1e-12, size=200_000)
    x = (1e-6 + dev).astype(np.float32)
    m, _ = _kernels.block_means(x, 20_000)
    ref = x.astype(np.float64).reshape(-1, 20_000).mean(axis=1)
    assert np.abs(m - ref).max() < 1e-3 * 1e-12


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
def test_block_stats_report_first_non_finite(dtype, bad_value):
    x = np.zeros(10_000, dtype)
    x[5_037] = bad_value
    x[8_000] = np.nan
    assert _kernels.block_stats(x, 1000)[3] == 5_037
    assert _kernels.block_stats(x, 7)[3] == 5_037


def test_block_means_reports_first_nan():
    x = np.zeros(100)
    x[37] = np.nan
    x[80] = np.inf
    assert _kernels.block_means(x, 10)[1] == 37


@pytest.mark.parametrize("skip", [0, 1, 3, 8])
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
    if skip:  # block min/max in `skip` sub-blocks per block
        _, mins, maxs, _ = _kernels.block_stats(x, B, nsub=min(skip, B))
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


def test_mains_amplitude_recovers_a_known_line():
    from nbtools.impact.noise import mains_amplitude

    fs = 2000.0
    rng = np.random.default_rng(3)
    runs = []
    for k in range(8):
        t = np.arange(2000) / fs
        runs.append(0.3 + 1.5 * np.cos(2 * np.pi * 50 * t + k) + rng.normal(scale=1.0, size=t.size))
    res = np.concatenate(runs)
    cont = np.ones(res.size, bool)
    cont[::2000] = False
    assert mains_amplitude(res, cont, fs, 50.0) == pytest.approx(1.5, rel=0.05)
    assert mains_amplitude(res, cont, fs, 37.0) < 0.15
    # too short for two periods: no estimate
    assert np.isnan(mains_amplitude(res[:30], np.r_[False, np.ones(29, bool)], fs, 50.0))


def test_charge_noise_curve_on_white_noise():
    """The charge noise of white noise: the standard estimator's SD is sigma |w| (its weights'
    norm), measured at every length and extrapolated beyond."""
    from nbtools.impact.noise import charge_noise_curve, charge_noise_sd

    rng = np.random.default_rng(7)
    res = rng.normal(size=1 << 17)
    cont = np.ones(res.size, bool)
    cont[::2048] = False  # 64 runs, as the noise sample has
    lengths, sd = charge_noise_curve(res, cont)
    assert lengths[0] == 4 and lengths[-1] >= 256
    norms = np.array([_kernels.standard_norm(int(N)) for N in lengths])
    np.testing.assert_allclose(sd, norms, rtol=0.12)
    # the weights' norm: their squares summed
    st, ln, wt = _kernels.standard_pieces(256)
    np.testing.assert_allclose(np.sqrt(np.sum(ln * wt**2)), _kernels.standard_norm(256), rtol=1e-9)
    # interpolated, and extrapolated as white noise (a N + b N^2 fitted, b ~ 0)
    for N in (48, 8 * int(lengths[-1])):
        np.testing.assert_allclose(charge_noise_sd((lengths, sd), [N])[0], _kernels.standard_norm(N), rtol=0.15)
    assert charge_noise_curve(res[:10], cont[:10])[0].size == 0


def test_charge_noise_of_long_integrals_with_1f_noise():
    """The charge-noise curve of a prepared trace, for windows far longer
    than the default noise segments (2048 samples), against the scatter of
    the same estimator over the whole event-free trace."""
    from nbtools.impact import prepare
    from nbtools.impact.noise import charge_noise_sd
    from nbtools.simulate import impact_trace

    tr, _ = impact_trace(duration=10, fs=100e3, rate=0, seed=3, noise_rms=5e-12, pink_noise=5e-12)
    bg = prepare(tr).background
    n = len(tr)
    base = np.empty(n)
    _kernels.fill_base(0, n, bg.B, bg.bvals, base)
    c = np.concatenate([[0.0], np.cumsum(tr.current.astype(np.float64) - base)])
    for N in (1024, 8192):
        st, ln, wt = _kernels.standard_pieces(N)
        p = np.arange(-st.min(), n - (st + ln).max(), N // 4)
        q = sum(w * (c[p + s0 + n0] - c[p + s0]) for s0, n0, w in zip(st, ln, wt))
        measured = 1.4826 * np.median(np.abs(q - np.median(q)))
        predicted = charge_noise_sd(bg.charge_curve_for(N), [N])[0]
        assert 0.8 < predicted / measured < 1.25, (N, predicted / measured)


def test_window_charges_equal_the_numpy_sum_over_pieces():
    """The estimator of the charge-noise curve on many windows: bit-identical to the NumPy loop it replaced."""
    rng = np.random.default_rng(3)
    res = rng.normal(size=5000)
    c = np.concatenate([[0.0], np.cumsum(res)])
    for N in (4, 32, 256):
        st, ln, wt = _kernels.standard_pieces(N)
        lo, hi = int(st.min()), int((st + ln).max())
        p = np.arange(-lo, res.size - hi + 1, max(4, N // 4))
        ref = np.zeros(p.size)
        for s0, n0, w0 in zip(st, ln, wt):
            ref += w0 * (c[p + s0 + n0] - c[p + s0])
        out = np.empty(p.size)
        _kernels.window_charges(c, p, st, ln, wt, out)
        assert np.array_equal(out, ref)
        # and each window is the estimator applied to its own samples
        i = p[p.size // 2]
        direct = sum(w0 * res[i + s0:i + s0 + n0].sum() for s0, n0, w0 in zip(st, ln, wt))
        assert out[p.size // 2] == pytest.approx(direct, rel=1e-9, abs=1e-9)


def test_mains_eval_matches_the_harmonic_sum_per_segment():
    rng = np.random.default_rng(4)
    seg_len, nh, omega = 100, 3, 2 * np.pi * 50 / 10e3
    coef = rng.normal(size=(6, 2 * nh))
    coef[2] = np.nan  # a segment not fitted: no pickup there
    i0, i1, j0 = 130, 540, 1
    out = np.empty(i1 - i0)
    _kernels.mains_eval(i0, i1, coef[j0:], j0, seg_len, omega, nh, out)
    g = np.arange(i0, i1)
    c = np.nan_to_num(coef)[g // seg_len]
    ref = sum(c[:, 2 * h] * np.cos((h + 1) * omega * g) + c[:, 2 * h + 1] * np.sin((h + 1) * omega * g)
              for h in range(nh))
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    assert np.all(out[(g // seg_len) == 2] == 0.0)


@pytest.mark.parametrize("n, h, nan_share", [(60, 10, 0.0), (60, 10, 0.3), (9, 10, 0.0), (5, 2, 1.0)])
def test_edge_medians_are_the_symmetric_window_medians(n, h, nan_share):
    rng = np.random.default_rng(n + h)
    v = rng.normal(size=n).cumsum()
    v[rng.random(n) < nan_share] = np.nan
    out = np.full(n, -1.0)
    _kernels.blocks.edge_medians(v, h, out)
    for i in range(n):
        if h <= i < n - h:
            assert out[i] == -1.0  # the interior is left alone
            continue
        r = min(i, n - 1 - i)
        seg = v[i - r:i + r + 1]
        seg = seg[np.isfinite(seg)]
        assert (np.isnan(out[i]) and seg.size == 0) or out[i] == np.median(seg)
