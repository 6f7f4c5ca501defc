"""Whole-voltammogram model of one SECCM landing: Laviron couples + double-layer charging.

Registered in :data:`nbtools.kinetics.MODELS` as ``"CouplesCV"`` (two couples) and
``"CouplesCV1"`` (one couple).

A landing on a LiMn2O4-like particle shows two overlapping couples on top of the
capacitive current of the meniscus; a single-couple model fitted in a window
around one of them is biased by the other couple's tail and by the window-end
background line. :class:`CouplesCVModel` fits the whole cycle instead::

    i(E) = sum_k laviron_cv(E; Q_k, E0_k, ks, alpha) + s(E) v (C + dC (E - E_mid)) + ib

with ``s`` = +1 on anodic and -1 on cathodic sweeps (``E_mid`` the middle of the
potential range). The couples share ``ks`` and ``alpha`` (one particle surface).
``guess_values`` finds every couple's starting E0 and Q from one curve.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ._base import TEMPERATURE, KineticsModel, ParamInfo
from .constants import F, R, T_DEFAULT
from .insertion import LavironCVModel, _check_sampling, _programme, laviron_cv, laviron_lambda, sweep_sign

__all__ = ["CouplesCVModel", "couples_cv", "couple_cv", "couples_cv_average", "couple_cv_average",
           "double_layer_current"]

_P = LavironCVModel.PARAMS
_C = ParamInfo("F", "double-layer capacitance at the middle of the potential range", 1e-12,
               plausible=(-1e-6, 1e-6))
_DC = ParamInfo("F/V", "slope of the capacitance with potential", 0.0, plausible=(-1e-5, 1e-5))
_IB = ParamInfo("A", "constant background current", 0.0, plausible=(-1e-6, 1e-6))


def double_layer_current(E, C, dC, ib, v):
    """Double-layer charging current (A) of a potential programme ``E`` in time order.

    ``s(E) v (C + dC (E - E_mid)) + ib`` with ``s`` = +1 on anodic and -1 on cathodic
    sweeps and ``E_mid`` the middle of the potential range; ``C`` in F, ``dC`` in F/V,
    ``ib`` in A, ``v`` in V/s.
    """
    E = np.ascontiguousarray(E, dtype=float)
    _, _, sign, mid = _programme(E)  # sweep sign and range middle, remembered per curve
    return sign * v * (C + dC * (E - mid)) + ib


def couples_cv(E, Q1=1e-12, E01=4.0, Q2=1e-12, E02=4.15, ks=1.0, alpha=0.5, C=1e-12, dC=0.0, ib=0.0,
               v=0.1, T=T_DEFAULT, *, sampling="point"):
    """Two Laviron couples (shared ks, alpha) plus double-layer charging current (A).

    ``sampling`` ('point' or 'average') applies to the faradaic current (see
    :func:`nbtools.kinetics.laviron_cv`); the double-layer term, constant along
    a sweep, is evaluated at the samples.
    """
    return (laviron_cv(E, Q1, E01, ks, alpha, 0.0, v, T, sampling=sampling)
            + laviron_cv(E, Q2, E02, ks, alpha, 0.0, v, T, sampling=sampling)
            + double_layer_current(E, C, dC, ib, v))


def couple_cv(E, Q1=1e-12, E01=4.0, ks=1.0, alpha=0.5, C=1e-12, dC=0.0, ib=0.0, v=0.1, T=T_DEFAULT, *,
              sampling="point"):
    """One Laviron couple plus double-layer charging current (A); ``sampling`` as in :func:`couples_cv`."""
    return laviron_cv(E, Q1, E01, ks, alpha, 0.0, v, T, sampling=sampling) + double_layer_current(E, C, dC, ib, v)


# model functions of the 'average' option: module-level, so that a model pickles by name and
# nbtools.batch's fast engine (which calls model.func directly) sees the option
def couples_cv_average(E, Q1=1e-12, E01=4.0, Q2=1e-12, E02=4.15, ks=1.0, alpha=0.5, C=1e-12, dC=0.0,
                       ib=0.0, v=0.1, T=T_DEFAULT):
    """:func:`couples_cv` with ``sampling='average'``."""
    return couples_cv(E, Q1, E01, Q2, E02, ks, alpha, C, dC, ib, v, T, sampling="average")


def couple_cv_average(E, Q1=1e-12, E01=4.0, ks=1.0, alpha=0.5, C=1e-12, dC=0.0, ib=0.0, v=0.1, T=T_DEFAULT):
    """:func:`couple_cv` with ``sampling='average'``."""
    return couple_cv(E, Q1, E01, ks, alpha, C, dC, ib, v, T, sampling="average")


_FUNCS = {(2, "point"): couples_cv, (1, "point"): couple_cv,
          (2, "average"): couples_cv_average, (1, "average"): couple_cv_average}


def _branch_peaks(E, y, n, sep):
    """Potentials of the n highest local maxima of y(E) at least ``sep`` apart (smoothed, on a grid)."""
    if E.size < 5:
        return []
    o = np.argsort(E)
    grid = np.linspace(E.min(), E.max(), 200)
    z = np.interp(grid, E[o], y[o])
    k = max(3, int(0.02 / max(grid[1] - grid[0], 1e-9)) | 1)
    z = np.convolve(np.pad(z, k // 2, mode="edge"), np.ones(k) / k, mode="valid")
    loc = np.flatnonzero((z[1:-1] >= z[:-2]) & (z[1:-1] > z[2:])) + 1
    loc = loc[np.argsort(z[loc])[::-1]]
    found = []
    for j in loc:
        if all(abs(grid[j] - g) > sep for g in found):
            found.append(grid[j])
        if len(found) == n:
            break
    return sorted(found)


def _find_couples(E, y, n, T):
    """(E0, dEp) of the n strongest couples of a background-free CV, from paired peaks."""
    s = sweep_sign(E)
    sep = 2.5 * R * T / F  # couples closer than ~64 mV are not resolved
    up, dn = s > 0, s < 0
    ea = _branch_peaks(E[up], y[up], n, sep)
    ec = _branch_peaks(E[dn], -y[dn], n, sep)
    if len(ea) == n and len(ec) == n:
        return [(0.5 * (a + c), max(a - c, 0.0)) for a, c in zip(ea, ec)]
    pk = ea or ec
    lo, hi = np.min(E), np.max(E)
    while len(pk) < n:  # too few maxima: spread over the range
        pk = sorted(pk + [lo + (len(pk) + 1) * (hi - lo) / (n + 1)])
    return [(e, 0.0) for e in pk[:n]]


class CouplesCVModel(KineticsModel):
    """Laviron couples (shared ks, alpha) + double-layer charging over a whole SECCM cycle.

    Parameters
    ----------
    couples : {1, 2}
        Number of redox couples (LiMn2O4: 2, near 4.0 and 4.15 V vs Li/Li+).
    sampling : {'point', 'average'}
        Fixed option (kept when the model is pickled for Dask): faradaic
        current at each sample (``'point'``, default) or averaged over the
        sampling interval ending at each sample (``'average'``, for front ends
        that average the current over the sample period, as
        :func:`nbtools.simulate.seccm_scan` does); see
        :func:`nbtools.kinetics.laviron_cv`. The point model fitted to averaged
        data gives ks too low.
    **kwargs
        Passed to :class:`lmfit.Model`.

    Notes
    -----
    ``v`` (V/s) is fixed and must be the experiment's scan rate. ``ks`` and
    ``alpha`` are identifiable only for ``Lambda = ks/(f v)`` below about 10
    (above it the CV is reversible: only a lower bound of ks).
    """

    PARAMS = {"Q1": _P["Q"], "E01": _P["E0"], "Q2": _P["Q"], "E02": _P["E0"], "ks": _P["ks"],
              "alpha": _P["alpha"], "C": _C, "dC": _DC, "ib": _IB, "v": _P["v"], "T": TEMPERATURE}
    has_background = True

    def __init__(self, couples=2, *, sampling="point", **kwargs):
        if couples not in (1, 2) or isinstance(couples, bool):
            raise ParameterError(f"couples={couples!r}: expected 1 or 2")
        self.couples = int(couples)
        self.sampling = _check_sampling(sampling)
        kwargs.setdefault("entry_name", "CouplesCV" if self.couples == 2 else "CouplesCV1")
        super().__init__(_FUNCS[couples, sampling], independent_vars=["E"], **kwargs)

    def guess_values(self, data, E, v=None, T=T_DEFAULT):
        v = v if v is not None else self.param_hints["v"]["value"]
        E = np.asarray(E, dtype=float)
        y = np.asarray(data, dtype=float)
        s = sweep_sign(E)
        lo, hi = np.min(E), np.max(E)
        span = hi - lo
        # capacitance from the anodic/cathodic difference near both ends of the range
        caps, offs, es = [], [], []
        for end in (lo + 0.06 * span, hi - 0.06 * span):
            near = np.abs(E - end) < 0.04 * span
            up, dn = near & (s > 0), near & (s < 0)
            if up.any() and dn.any():
                caps.append((y[up].mean() - y[dn].mean()) / (2 * v))
                offs.append(0.5 * (y[up].mean() + y[dn].mean()))
                es.append(end)
        C = float(np.mean(caps)) if caps else 0.0
        dC = float((caps[1] - caps[0]) / (es[1] - es[0])) if len(caps) == 2 else 0.0
        ib = float(offs[0]) if offs else 0.0
        yf = y - double_layer_current(E, C, dC, ib, v)
        found = _find_couples(E, yf, self.couples, T)
        e0s = [e for e, _ in found]
        # anodic charge split between the couples at the mid-points
        up = s[:-1] > 0
        seg = 0.5 * (yf[1:] + yf[:-1]) * np.abs(np.diff(E)) / v
        em = 0.5 * (E[1:] + E[:-1])
        cuts = [-np.inf] + [0.5 * (a + b) for a, b in zip(e0s[:-1], e0s[1:])] + [np.inf]
        # alpha starts off the centre of its bounds: a bounded parameter starting exactly there
        # does not move in MINPACK leastsq (internal variable 0)
        out = {"C": C, "dC": dC, "ib": ib, "v": v, "alpha": 0.47}
        for k, e0 in enumerate(e0s, start=1):
            q = float(np.sum(seg[up & (em >= cuts[k - 1]) & (em < cuts[k])]))
            out[f"Q{k}"] = max(q, 1e-18)
            out[f"E0{k}"] = float(e0)
        # ks from the largest peak separation found (Laviron working curve)
        dEp = max(d for _, d in found)
        lam = laviron_lambda(dEp) if dEp > 0 else np.inf
        f = F / (R * T)
        out["ks"] = float(lam * f * v) if np.isfinite(lam) else 10 * f * v
        return out
