"""Batch forms of the kinetic models: ``f(x, P) -> (n_curves, n_points)``.

``P`` holds one row of parameters per curve, in the model's ``param_names`` order
(fixed ones included); ``x`` is shared ``(m,)`` or per curve ``(n, m)``
(NaN-padded). A model gets, in order of preference:

1. its own array form (Butler-Volmer, Tafel: analytic Jacobian, any array
   namespace, so they also run on a GPU),
2. NumPy broadcasting of its model function with parameter columns (checked
   against the one-curve function on the model's example before it is used),
3. a loop of the one-curve function over the rows (always correct; the
   numba kernels of the CV models run there).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..kinetics import MODELS, CouplesCVModel, get_entry
from .lm import row_sum

__all__ = ["BatchModel", "batch_model"]

F_OVER_R = 96485.33212 / 8.314462618


@dataclass(frozen=True)
class BatchModel:
    """A model evaluated for many curves at once.

    Attributes
    ----------
    names : tuple of str
        Parameter order of the rows of ``P``.
    f : callable
        ``f(x, P, xp) -> (n, m)``.
    jac : callable or None
        ``jac(x, P, xp, cols) -> (n, m, len(cols))``: analytic derivatives by the
        parameters ``cols`` (indices); None: finite differences.
    guess : callable or None
        ``guess(x, Y, known) -> dict name -> (n,) starting values`` for the whole
        batch (it may return None where it does not apply); None: the model's
        one-curve ``guess_values`` in a loop.
    form : str
        "array" (any namespace), "couples" (the SECCM whole-cycle model, parallel
        numba kernel per pixel), "broadcast" (NumPy) or "loop" (NumPy, one curve at a time).
    multimodal : bool
        The model has a landing time ``t0`` (impact transients): its residuals have
        local minima about one sample apart, where every local optimiser may stop;
        ``fit_many(engine="auto")`` fits these curve by curve (MINPACK).
    point : int or None
        Number of the model's point function in the fused CPU kernels
        (:data:`nbtools.fitting._kernels.POINTS`).
    """

    names: tuple
    f: Callable
    jac: Callable | None = None
    guess: Callable | None = None
    form: str = "loop"
    point: int | None = None
    multimodal: bool = False

    @property
    def gpu_ok(self) -> bool:
        return self.form == "array"


def _col(P, j):
    return P[:, j:j + 1]


def _fx(x, P, j_T):
    """f (e/kT) times eta, shaped (n, m)."""
    fT = F_OVER_R / _col(P, j_T)
    return fT * (x[None, :] if x.ndim == 1 else x)


# ----------------------------------------------------------------- Butler-Volmer, Tafel
def _bv_f(x, P, xp):
    u = _fx(x, P, 2)
    i0, a = _col(P, 0), _col(P, 1)
    return i0 * (xp.exp(a * u) - xp.exp(-(1.0 - a) * u))


def _bv_jac(x, P, xp, cols=(0, 1, 2)):
    u = _fx(x, P, 2)
    i0, a, T = _col(P, 0), _col(P, 1), _col(P, 2)
    ea, ec = xp.exp(a * u), xp.exp(-(1.0 - a) * u)
    d = ea - ec
    col = {0: lambda: d, 1: lambda: i0 * u * d, 2: lambda: -i0 * (a * ea + (1.0 - a) * ec) * u / T}
    return xp.stack([col[c]() for c in cols], axis=-1)


def _tafel_f(x, P, xp):
    u = _fx(x, P, 2)
    i0, a = _col(P, 0), _col(P, 1)
    return xp.where(u >= 0, i0 * xp.exp(a * u), -i0 * xp.exp(-(1.0 - a) * u))


def _tafel_jac(x, P, xp, cols=(0, 1, 2)):
    u = _fx(x, P, 2)
    i0, a, T = _col(P, 0), _col(P, 1), _col(P, 2)
    pos = u >= 0
    e = xp.where(pos, xp.exp(a * u), xp.exp(-(1.0 - a) * u))
    col = {0: lambda: xp.where(pos, e, -e), 1: lambda: xp.where(pos, i0 * u * e, -i0 * u * e),
           2: lambda: xp.where(pos, -i0 * e * a * u / T, -i0 * e * (1.0 - a) * u / T)}
    return xp.stack([col[c]() for c in cols], axis=-1)


def _masked_line(X, Y, m):
    """Least-squares slope and intercept of Y on X per row over mask m (NaN where < 2 points)."""
    n = m.sum(axis=1)
    Xz, Yz = np.where(m, X, 0.0), np.where(m, Y, 0.0)
    sx, sy = row_sum(Xz), row_sum(Yz)
    sxx, sxy = row_sum(Xz * Xz), row_sum(Xz * Yz)
    with np.errstate(all="ignore"):
        den = n * sxx - sx * sx
        slope = (n * sxy - sx * sy) / den
        icpt = (sy - slope * sx) / n
    bad = (n < 2) | ~np.isfinite(den) | (den == 0)
    return np.where(bad, np.nan, slope), np.where(bad, np.nan, icpt)


def guess_i0_alpha(x, Y, T):
    """Batch of :func:`nbtools.kinetics.interfacial` 's Tafel-branch guess: ``(i0, alpha)`` arrays.

    Anodic branch (eta > 0, i > 0; >= 3 points) first, then the cathodic one,
    then the linear region ``i ~ i0 f eta``; as the one-curve guess does.
    """
    Y = np.asarray(Y, float)
    X = np.broadcast_to(np.asarray(x, float), Y.shape)
    fT = F_OVER_R / np.asarray(T, float).reshape(-1, 1) * np.ones((Y.shape[0], 1))
    ok = np.isfinite(Y) & np.isfinite(X) & (np.abs(Y) > 0)
    n = Y.shape[0]
    alpha, i0 = np.full(n, 0.5), np.full(n, np.nan)
    with np.errstate(all="ignore"):
        logY = np.log(np.abs(Y))
    an = ok & (X > 0) & (Y > 0)
    ca = ok & (X < 0) & (Y < 0)
    s_an, c_an = _masked_line(X, logY, an)
    s_ca, c_ca = _masked_line(X, logY, ca)
    use_an = (an.sum(axis=1) >= 3) & np.isfinite(s_an)
    use_ca = ~use_an & (ca.sum(axis=1) >= 3) & np.isfinite(s_ca)
    f1 = fT[:, 0]
    alpha = np.where(use_an, np.clip(s_an / f1, 0.1, 0.9), alpha)
    alpha = np.where(use_ca, np.clip(1 + s_ca / f1, 0.1, 0.9), alpha)
    with np.errstate(all="ignore"):
        i0 = np.where(use_an, np.exp(c_an), np.where(use_ca, np.exp(c_ca), np.nan))
    need = ~np.isfinite(i0) | (i0 <= 0)
    if need.any():
        small = ok & (np.abs(X) < 0.5 / fT)
        sl, _ = _masked_line(X, np.where(ok, Y, 0.0), small)
        lin = np.abs(sl) / f1
        fallback = np.max(np.abs(Y), axis=1, where=ok, initial=0.0) / 10
        fallback = np.where(fallback > 0, fallback, 1e-9)
        lin = np.where((small.sum(axis=1) >= 2) & np.isfinite(lin), lin, fallback)
        i0 = np.where(need, lin, i0)
    return np.maximum(i0, 1e-300), alpha


def _i0_alpha_guess(names):
    def guess(x, Y, fixed):
        i0, alpha = guess_i0_alpha(x, Y, fixed.get("T", 298.15))
        out = {"i0": i0}
        if "alpha" in names:
            out["alpha"] = alpha
        if "lam" in names:
            out["lam"] = np.full(i0.shape, 0.3)
        if "il_a" in names:
            fin = np.isfinite(Y)
            out["il_a"] = np.maximum(np.max(Y, axis=1, where=fin, initial=-np.inf), i0) * 1.2
            out["il_c"] = np.minimum(np.min(Y, axis=1, where=fin, initial=np.inf), -i0) * 1.2
        return out

    return guess


_ARRAY_FORMS = {
    "ButlerVolmer": (_bv_f, _bv_jac, "bv_point"),
    "Tafel": (_tafel_f, _tafel_jac, "tafel_point"),
}
_I0_GUESS = {"ButlerVolmer", "ButlerVolmerMT", "Tafel", "MarcusHushChidsey", "MarcusHushChidseyZeng"}


# ----------------------------------------------------------------- generic forms
def _broadcast_f(model):
    xname, names = model.independent_vars[0], list(model.param_names)

    def f(x, P, xp=np):
        xx = x[None, :] if x.ndim == 1 else x
        out = model.func(**{xname: xx}, **{n: P[:, j:j + 1] for j, n in enumerate(names)})
        return np.broadcast_to(out, (P.shape[0], xx.shape[-1]))

    return f


def _loop_f(model):
    xname, names = model.independent_vars[0], list(model.param_names)

    def f(x, P, xp=np):
        n = P.shape[0]
        X = np.broadcast_to(x, (n, x.shape[-1])) if x.ndim == 1 else x
        out = np.full(X.shape, np.nan)
        for i in range(n):
            ok = np.isfinite(X[i])
            try:
                out[i, ok] = model.func(**{xname: X[i, ok]}, **dict(zip(names, P[i].tolist())))
            except Exception:  # a failing curve gets NaN; the engine marks it failed
                pass
        return out

    return f


def _broadcasts(model, entry) -> bool:
    """True when the model function broadcasts parameter columns (checked on its example)."""
    if entry is None or entry.example_spec is None:
        return False
    x = np.asarray(entry.example_spec["x"](), float)[:64]
    names = list(model.param_names)
    base = model.make_params(**entry.example_spec["truth"])
    P = np.array([[base[n].value * (1 + 0.01 * k * (n != "T")) for n in names] for k in range(3)])
    try:
        with np.errstate(all="ignore"):
            b = _broadcast_f(model)(x, P)
            loop = _loop_f(model)(x, P)
    except Exception:
        return False
    return b.shape == loop.shape and bool(np.allclose(b, loop, rtol=1e-12, atol=0, equal_nan=True))


_CACHE: dict = {}


def batch_model(model) -> BatchModel:
    """The batch form of a kinetics model (instance or registry name).

    Examples
    --------
    >>> import numpy as np
    >>> bm = batch_model("ButlerVolmer")
    >>> bm.form, bm.names
    ('array', ('i0', 'alpha', 'T'))
    >>> bm.f(np.array([0.0, 0.05]), np.array([[1e-9, 0.5, 298.15]]), np).shape
    (1, 2)
    """
    if isinstance(model, str):
        entry = get_entry(model)
        model = entry.make_model()
    else:
        entry = get_entry(model)
    key = (entry.name if entry is not None and type(model) is entry.model_class
           and _same_options(model, entry) else None)
    if key is not None and key in _CACHE:
        return _CACHE[key]
    names = tuple(model.param_names)
    guess = _i0_alpha_guess(names) if key in _I0_GUESS else None
    if isinstance(model, CouplesCVModel) and not model.prefix:
        from .couples import couples_form, guess_couples

        cn, f, jac = couples_form(model)

        def guess(x, Y, known, _n=model.couples):  # one shared potential programme: all pixels at once
            if np.ndim(x) != 1 or not np.all(np.isfinite(x)) or not np.all(np.isfinite(Y)):
                return None
            return guess_couples(x, Y, _n, known.get("v", 0.1), known.get("T", 298.15))

        bm = BatchModel(cn, f, jac, guess, "couples")
    elif key in _ARRAY_FORMS:
        from . import _kernels

        f, jac, point = _ARRAY_FORMS[key]
        bm = BatchModel(names, f, jac, guess, "array", _kernels.POINTS[point])
    elif _broadcasts(model, entry):
        bm = BatchModel(names, _broadcast_f(model), None, guess, "broadcast")
    else:
        bm = BatchModel(names, _loop_f(model), None, guess, "loop")
    if "t0" in names:
        bm = dataclasses.replace(bm, multimodal=True)
    if key is not None:
        _CACHE[key] = bm
    return bm


def _same_options(model, entry) -> bool:
    """The model was built with its registry entry's options (so the entry's batch form applies)."""
    ref = entry.make_model()
    return (model.func is ref.func and tuple(model.param_names) == tuple(ref.param_names)
            and model.prefix == ref.prefix)


def registry_names():
    return list(MODELS)
