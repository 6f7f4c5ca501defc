"""The tail fit's one-loop form gives the numbers of its definition (normal equations of _normal and
a right-hand side from exp_sum), bit for bit."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nbtools.impact._kernels import tail


def _definition(nb, cnt, rel, ysum, umean, expo, tau, yy):
    G = np.empty((4, 4))
    tail._normal(nb, cnt, rel, umean, expo, tau, 3, G)
    rhs = np.zeros(3)
    for k in range(nb):
        rhs[0] += ysum[k]
        rhs[1] += ysum[k] * umean[k]
        if expo[k]:
            rhs[2] += ysum[k] * tail.exp_sum(rel[k], cnt[k], tau) / cnt[k]
    c = tail._solve(G, rhs, 3)
    if c.shape[0] != 3 or not c[2] > 0.0:
        return np.inf, None
    return yy - (c[0] * rhs[0] + c[1] * rhs[1] + c[2] * rhs[2]), c


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(20, 3000), tau=st.floats(0.5, 500.0))
def test_fit_line_exp_equals_its_definition(seed, n, tau):
    rng = np.random.default_rng(seed)
    ia, ip = 0, int(rng.integers(1, max(2, n // 8)))
    ib = n
    g = np.arange(-n // 2, n + n // 2)
    buf = np.where(g >= ip, rng.uniform(0.5, 5) * np.exp(-np.maximum(g - ip, 0) / tau), 0.0) + rng.normal(0, 0.3, g.size)
    cnt = np.empty(tail.MAX_BLOCKS, np.int64)
    rel = np.empty(tail.MAX_BLOCKS, np.int64)
    ysum = np.empty(tail.MAX_BLOCKS)
    umean = np.empty(tail.MAX_BLOCKS)
    expo = np.empty(tail.MAX_BLOCKS, np.int64)
    nb, n_tail, k_tail = tail.layout(buf, int(g[0]), int(g[0]), ia, min(2 * ip, ib - 1), ib, int(g[-1]) + 1, ip,
                                     cnt, rel, ysum, umean, expo)
    yy = tail.block_yy(nb, cnt, ysum)
    for t in (tau, 0.3 * tau + 0.5, 3.0 * tau):
        coef = np.full(3, np.nan)
        got = tail.fit_line_exp(nb, cnt, rel, ysum, umean, expo, t, yy, coef)
        want, c = _definition(nb, cnt, rel, ysum, umean, expo, t, yy)
        assert got == want or (np.isinf(got) and np.isinf(want))
        if c is not None:
            np.testing.assert_array_equal(coef, c)
