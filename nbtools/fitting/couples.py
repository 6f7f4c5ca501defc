"""Batch form of the SECCM whole-cycle model (:class:`nbtools.kinetics.CouplesCVModel`).

``i = -sum_k Q_k r(E; E0_k, ks, alpha) + s v (C + dC (E - E_mid)) + ib``: the
couples' unit rates ``r`` come from the parallel kernel
(:func:`nbtools.kinetics.laviron_unit_rates`), one row per pixel. The Jacobian is
analytic in the linear parameters (Q_k, C, dC, ib) and uses forward differences
only where a couple depends on the parameter (E0_k: that couple; ks, alpha: each),
reusing the rates of the last evaluation. With a potential programme shared by
every pixel, the starting values are the model's own guess computed for all
pixels at once (:func:`guess_couples`).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d

from ..kinetics import F, R, laviron_lambda, laviron_unit_rates, sweep_sign
from .lm import row_sum

__all__ = ["couples_form", "guess_couples"]

#: relative forward-difference step of E0, ks, alpha (as MINPACK's, sqrt of machine epsilon)
FD_STEP = 1.49e-8


def _rows(x, n):
    x = np.asarray(x, dtype=float)
    return np.broadcast_to(x, (n, x.shape[-1])) if x.ndim == 1 else x


def _programme_rows(X):
    """Per row: sweep sign (n, m) and the middle of the potential range (n, 1)."""
    if X.ndim == 1 or X.strides[0] == 0:
        row = X if X.ndim == 1 else X[0]
        ok = np.isfinite(row)
        s = np.zeros(row.shape)
        s[ok] = sweep_sign(row[ok])
        mid = 0.5 * (np.min(row[ok]) + np.max(row[ok]))
        return s[None, :], np.array([[mid]])
    S = np.zeros(X.shape)
    mid = np.empty((X.shape[0], 1))
    for i, row in enumerate(X):
        ok = np.isfinite(row)
        if ok.any():
            S[i, ok] = sweep_sign(row[ok])
            mid[i, 0] = 0.5 * (np.min(row[ok]) + np.max(row[ok]))
    return S, mid


def _memo_rows(memo, key, X):
    """Rows of the memorised call whose parameters (``key`` rows) and potentials (``X`` rows) are
    the ones asked for, in order; None when any is missing. Exact matches only."""
    kept = memo.get("key")
    if kept is None or kept.shape[1] != key.shape[1] or key.shape[0] > kept.shape[0]:
        return None
    Xm = memo["val"][0]
    if kept.shape == key.shape and np.array_equal(kept, key) and np.array_equal(Xm, X, equal_nan=True):
        return slice(None)
    as_bytes = lambda a: a.view(np.dtype((np.void, a.dtype.itemsize * a.shape[1]))).ravel()  # noqa: E731
    km, kq = as_bytes(kept), as_bytes(key)
    order = np.argsort(km, kind="stable")
    pos = np.minimum(np.searchsorted(km[order], kq), km.size - 1)
    rows = order[pos]
    if not (np.array_equal(km[rows], kq) and np.array_equal(Xm[rows], X, equal_nan=True)):
        return None
    return rows


def couples_form(model):
    """``(names, f, jac)`` of a CouplesCVModel instance for :class:`~nbtools.fitting.models.BatchModel`."""
    names = tuple(model.param_names)
    j = {n: k for k, n in enumerate(names)}
    nc = int(model.couples)
    sampling = model.sampling
    q = [j[f"Q{c}"] for c in range(1, nc + 1)]
    e0 = [j[f"E0{c}"] for c in range(1, nc + 1)]
    memo = {}

    def rates(X, P, c, E0=None, ks=None, alpha=None):
        col = lambda name, given: P[:, j[name]] if given is None else given  # noqa: E731
        return laviron_unit_rates(X, P[:, j["v"]], P[:, j["T"]], col(f"E0{c + 1}", E0), col("ks", ks),
                                  col("alpha", alpha), sampling=sampling)

    def base(x, P):
        """Unit rates of every couple and the background's shape at P. The last call is kept: the
        engine's Jacobian comes at the rows of its last trial that were accepted (a subset of them)."""
        X = _rows(x, P.shape[0])
        key = np.ascontiguousarray(P[:, [*e0, j["ks"], j["alpha"], j["v"], j["T"]]])
        rows = _memo_rows(memo, key, X)
        if rows is not None:
            Xm, rs, S, mid = memo["val"]
            pick = lambda a: a if a.shape[0] == 1 else a[rows]  # noqa: E731 (shared programme rows)
            return X, [r[rows] for r in rs], pick(S), pick(mid)
        S, mid = _programme_rows(x if np.ndim(x) == 1 else X)
        val = (X, [rates(X, P, c) for c in range(nc)], S, mid)
        memo.update(key=key, val=val)
        return val

    def f(x, P, xp=np):
        X, rs, S, mid = base(x, P)
        v = P[:, j["v"], None]
        out = S * v * (P[:, j["C"], None] + P[:, j["dC"], None] * (X - mid)) + P[:, j["ib"], None]
        for c in range(nc):
            out = out + P[:, q[c], None] * rs[c]
        return out

    def jac(x, P, xp=np, cols=None):
        cols = tuple(range(len(names))) if cols is None else cols
        X, rs, S, mid = base(x, P)
        v = P[:, j["v"], None]
        # parameter-major (each column one contiguous block), returned as an (n, m, k) view
        out = np.empty((len(cols),) + X.shape)
        for a, k in enumerate(cols):
            name = names[k]
            if name in ("C", "dC", "ib"):
                out[a] = {"C": S * v, "dC": S * v * (X - mid), "ib": 1.0}[name]
            elif k in q:
                out[a] = rs[q.index(k)]
            elif k in e0 or name in ("ks", "alpha"):
                p = P[:, k]
                h = FD_STEP * np.maximum(np.abs(p), 1e-3 if name == "alpha" else 1e-9)
                which = [e0.index(k)] if k in e0 else range(nc)
                out[a] = 0.0
                for c in which:
                    moved = {"E0": p + h} if k in e0 else {name: p + h}
                    d = rates(X, P, c, **moved)
                    d -= rs[c]
                    d *= (P[:, q[c]] / h)[:, None]
                    out[a] += d
            else:  # v or T varying: differences of the whole model
                P2 = P.copy()
                h = FD_STEP * np.maximum(np.abs(P[:, k]), 1e-9)
                P2[:, k] += h
                memo.clear()
                out[a] = (f(x, P2) - f(x, P)) / h[:, None]
        return out.transpose(1, 2, 0)

    return names, f, jac


# --------------------------------------------------------------------- guess
def _branch_peaks(E, Z, n, sep):
    """Potentials (rows, n) of the n highest local maxima of each row of Z(E) at least ``sep``
    apart, smoothed on a 200-point grid (as the one-curve guess); NaN where fewer exist."""
    rows = Z.shape[0]
    out = np.full((rows, n), np.nan)
    if E.size < 5:
        return out
    o = np.argsort(E)
    Es = E[o]
    grid = np.linspace(E.min(), E.max(), 200)
    # np.interp as a fixed linear map of the samples
    hi = np.clip(np.searchsorted(Es, grid, side="right"), 1, Es.size - 1)
    lo = hi - 1
    with np.errstate(all="ignore"):
        w = np.where(Es[hi] > Es[lo], (grid - Es[lo]) / (Es[hi] - Es[lo]), 1.0)
    w = np.clip(w, 0.0, 1.0)
    Zs = Z[:, o]
    z = Zs[:, lo] * (1 - w) + Zs[:, hi] * w
    z[:, grid <= Es[0]] = Zs[:, :1]
    z[:, grid >= Es[-1]] = Zs[:, -1:]
    k = max(3, int(0.02 / max(grid[1] - grid[0], 1e-9)) | 1)
    z = uniform_filter1d(z, k, axis=1, mode="nearest")
    loc = np.zeros(z.shape, bool)
    loc[:, 1:-1] = (z[:, 1:-1] >= z[:, :-2]) & (z[:, 1:-1] > z[:, 2:])
    score = np.where(loc, z, -np.inf)
    for m in range(n):
        best = np.argmax(score, axis=1)
        ok = np.isfinite(score[np.arange(rows), best])
        out[ok, m] = grid[best[ok]]
        # the next peak must lie more than sep from every one found
        far = np.abs(grid[None, :] - np.where(ok, grid[best], np.inf)[:, None]) > sep
        score = np.where(far, score, -np.inf)
    return np.sort(out, axis=1)  # NaN last


def guess_couples(E, Y, couples, v, T):
    """Starting values of :class:`~nbtools.kinetics.CouplesCVModel` for many curves on one
    potential programme ``E`` (m,): the model's ``guess_values`` for all rows of Y at once."""
    E = np.asarray(E, dtype=float)
    Y = np.asarray(Y, dtype=float)
    n = Y.shape[0]
    s = sweep_sign(E)
    lo, hi = np.min(E), np.max(E)
    span = hi - lo
    caps, offs, es = [], [], []
    for end in (lo + 0.06 * span, hi - 0.06 * span):
        near = np.abs(E - end) < 0.04 * span
        up, dn = near & (s > 0), near & (s < 0)
        if up.any() and dn.any():
            a, b = row_sum(Y[:, up]) / up.sum(), row_sum(Y[:, dn]) / dn.sum()
            caps.append((a - b) / (2 * v))
            offs.append(0.5 * (a + b))
            es.append(end)
    C = np.mean(caps, axis=0) if caps else np.zeros(n)
    dC = (caps[1] - caps[0]) / (es[1] - es[0]) if len(caps) == 2 else np.zeros(n)
    ib = offs[0] if offs else np.zeros(n)
    mid = 0.5 * (lo + hi)
    yf = Y - (s[None, :] * v * (C[:, None] + dC[:, None] * (E - mid)[None, :]) + ib[:, None])
    sep = 2.5 * R * T / F
    up, dn = s > 0, s < 0
    ea = _branch_peaks(E[up], yf[:, up], couples, sep)
    ec = _branch_peaks(E[dn], -yf[:, dn], couples, sep)
    both = np.all(np.isfinite(ea), axis=1) & np.all(np.isfinite(ec), axis=1)
    e0 = np.where(both[:, None], 0.5 * (ea + ec), np.nan)
    dEp = np.where(both[:, None], np.maximum(ea - ec, 0.0), 0.0)
    # too few pairs: the anodic peaks (else the cathodic ones), spread over the range where missing
    pk = np.where(np.isfinite(ea).any(axis=1, keepdims=True), ea, ec)
    for i in np.flatnonzero(~both):
        found = sorted(p for p in pk[i] if np.isfinite(p))
        while len(found) < couples:
            found = sorted(found + [lo + (len(found) + 1) * (hi - lo) / (couples + 1)])
        e0[i] = found[:couples]
    out = {"C": C, "dC": dC, "ib": ib, "v": np.full(n, float(v)), "alpha": np.full(n, 0.47)}
    seg = 0.5 * (yf[:, 1:] + yf[:, :-1]) * np.abs(np.diff(E))[None, :] / v
    em = 0.5 * (E[1:] + E[:-1])
    upm = s[:-1] > 0
    cuts = [np.full(n, -np.inf)] + [0.5 * (e0[:, c] + e0[:, c + 1]) for c in range(couples - 1)] + [np.full(n, np.inf)]
    for c in range(couples):
        inside = upm[None, :] & (em[None, :] >= cuts[c][:, None]) & (em[None, :] < cuts[c + 1][:, None])
        out[f"Q{c + 1}"] = np.maximum(row_sum(np.where(inside, seg, 0.0)), 1e-18)
        out[f"E0{c + 1}"] = e0[:, c]
    d = dEp.max(axis=1)
    lam = np.where(d > 0, laviron_lambda(np.where(d > 0, d, 1.0)), np.inf)
    f = F / (R * T)
    out["ks"] = np.where(np.isfinite(lam), lam * f * v, 10 * f * v)
    return out
