"""Arrhenius fits: activation energy of a rate constant or a diffusion coefficient from a temperature series.

``y(T) = y_ref exp(-(Ea/R)(1/T - 1/T_ref))``, fitted as a straight line of ln y
against ``1/T - 1/T_ref`` (``T_ref`` the mean of 1/T by default, so that the
slope and the intercept are uncorrelated). Points are weighted by their standard
errors (``sigma_ln y = sigma_y / y``); when the scatter exceeds those errors
(reduced chi-square > 1) the covariance is scaled by it (Birge ratio) and the
interval uses Student's t with n - 2 degrees of freedom; without errors the
fit is unweighted with t intervals.

Public API
----------
arrhenius, arrhenius_fit, ArrheniusResult
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import DataError, ParameterError
from .constants import R

__all__ = ["arrhenius", "arrhenius_fit", "ArrheniusResult"]


def arrhenius(T, value_ref, Ea, T_ref=298.15):
    """``value_ref exp(-(Ea/R)(1/T - 1/T_ref))``: T in K, Ea in J/mol.

    Examples
    --------
    >>> round(float(arrhenius(308.15, 1.0, 50e3)), 4)
    1.9291
    """
    T = np.asarray(T, dtype=float)
    return value_ref * np.exp(-(Ea / R) * (1.0 / T - 1.0 / T_ref))


@dataclass
class ArrheniusResult:
    """An Arrhenius fit: activation energy with its interval, the prefactor and the points.

    Attributes
    ----------
    Ea, Ea_err, Ea_low, Ea_high : float
        Activation energy (J/mol), its standard error and interval at ``level``.
    value_ref, value_ref_low, value_ref_high : float
        The quantity at ``T_ref`` (its unit) with interval.
    prefactor : float
        ``A`` of ``A exp(-Ea/RT)`` (unit of the quantity).
    T_ref : float
        Reference temperature (K).
    chi2_red : float
        Reduced chi-square (weighted) or NaN (unweighted).
    n : int
    weighted : bool
    level : float
    quantity, unit : str
    points : pandas.DataFrame
        ``T``, ``value``, ``err``, ``fitted``, ``residual_ln``.
    """

    Ea: float
    Ea_err: float
    Ea_low: float
    Ea_high: float
    value_ref: float
    value_ref_low: float
    value_ref_high: float
    prefactor: float
    T_ref: float
    chi2_red: float
    n: int
    weighted: bool
    level: float
    quantity: str = "k0"
    unit: str = ""
    points: pd.DataFrame = field(default_factory=pd.DataFrame)

    def predict(self, T):
        """The fitted quantity at temperatures ``T`` (K)."""
        return arrhenius(T, self.value_ref, self.Ea, self.T_ref)

    def summary(self) -> str:
        """One line: Ea with its interval, the value at T_ref, how the points were weighted."""
        w = "weighted by the given errors" if self.weighted else "unweighted (no errors given)"
        chi = f", reduced chi-square {self.chi2_red:.2g}" if np.isfinite(self.chi2_red) else ""
        return (f"{self.quantity}: Ea = {self.Ea / 1e3:.1f} kJ/mol ({self.level:.0%} interval "
                f"{self.Ea_low / 1e3:.1f} to {self.Ea_high / 1e3:.1f}); {self.quantity}({self.T_ref:.1f} K) = "
                f"{self.value_ref:.3g} {self.unit}".rstrip() + f"; {self.n} temperatures, {w}{chi}")

    def to_dict(self) -> dict:
        """Plain numbers (JSON)."""
        keys = ("Ea", "Ea_err", "Ea_low", "Ea_high", "value_ref", "value_ref_low", "value_ref_high", "prefactor",
                "T_ref", "chi2_red", "n", "weighted", "level", "quantity", "unit")
        return {k: (float(v) if isinstance(v, (float, np.floating)) else v)
                for k, v in ((k, getattr(self, k)) for k in keys)}

    def __repr__(self):
        return f"<ArrheniusResult {self.summary()}>"


def arrhenius_fit(T, value, err=None, *, quantity="k0", unit="", level=0.95, T_ref=None) -> ArrheniusResult:
    """Activation energy of a quantity (k0, D, i0 ...) from its values at several temperatures.

    Parameters
    ----------
    T : array_like
        Temperatures (K), at least 3 different ones.
    value : array_like
        The quantity at each temperature (> 0), e.g. k0 in m/s or D in m^2/s.
    err : array_like, optional
        Standard errors of ``value`` (> 0); they weight the fit.
    quantity, unit : str
        Names used in the summary.
    level : float
        Confidence level of the intervals.
    T_ref : float, optional
        Reference temperature (K); default ``1/mean(1/T)``.

    Returns
    -------
    ArrheniusResult

    Raises
    ------
    ParameterError
        Arrays of different lengths, T <= 0, value <= 0, err <= 0, or fewer than 3 temperatures.

    Examples
    --------
    >>> import numpy as np
    >>> T = np.array([278.15, 298.15, 318.15, 338.15])
    >>> res = arrhenius_fit(T, arrhenius(T, 1e-14, 40e3), quantity="D", unit="m^2/s")
    >>> round(res.Ea / 1e3, 3)
    40.0
    """
    from scipy.stats import norm
    from scipy.stats import t as student

    try:
        T = np.asarray(T, dtype=float).ravel()
        y = np.asarray(value, dtype=float).ravel()
        e = None if err is None else np.asarray(err, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ParameterError("T, value and err must be arrays of numbers") from None
    if T.size != y.size or (e is not None and e.size != y.size):
        raise ParameterError(f"T, value and err must have one length, found {T.size}, {y.size}"
                             + (f", {e.size}" if e is not None else ""))
    ok = np.isfinite(T) & np.isfinite(y) & (np.isfinite(e) if e is not None else True)
    if not ok.all():
        T, y, e = T[ok], y[ok], (e[ok] if e is not None else None)
    if np.any(T <= 0):
        raise ParameterError(f"T must be in kelvin (> 0), found {T[T <= 0][:3].tolist()}; add 273.15 to Celsius")
    if np.any(y <= 0):
        raise ParameterError(f"{quantity} must be > 0 at every temperature for an Arrhenius fit, found "
                             f"{y[y <= 0][:3].tolist()}")
    if e is not None and np.any(e <= 0):
        raise ParameterError(f"err must be > 0 (standard errors of {quantity}), found {e[e <= 0][:3].tolist()}")
    if np.unique(T).size < 3:
        raise DataError(f"an Arrhenius fit needs at least 3 different temperatures (with finite values), found "
                        f"{np.unique(T).size}")
    if not 0.5 <= level < 1:
        raise ParameterError(f"level must be in [0.5, 1), found {level!r}")
    x_all = 1.0 / T
    T_ref = float(1.0 / np.mean(x_all)) if T_ref is None else float(T_ref)
    x = x_all - 1.0 / T_ref
    ly = np.log(y)
    w = np.ones_like(ly) if e is None else (y / e) ** 2
    X = np.c_[np.ones_like(x), -x / R]  # params: ln y_ref, Ea
    W = w[:, None]
    cov = np.linalg.inv(X.T @ (W * X))
    beta = cov @ (X.T @ (w * ly))
    res = ly - X @ beta
    dof = ly.size - 2
    chi2 = float(res @ (w * res)) / dof if dof > 0 else np.nan
    if e is None:
        cov = cov * (chi2 if dof > 0 else np.nan)
        q = float(student.ppf(0.5 + level / 2, dof)) if dof > 0 else np.nan
        chi2_out = np.nan
    elif chi2 > 1:
        cov = cov * chi2
        q = float(student.ppf(0.5 + level / 2, dof))
        chi2_out = chi2
    else:
        q = float(norm.ppf(0.5 + level / 2))
        chi2_out = chi2
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    lnref, Ea = float(beta[0]), float(beta[1])
    points = pd.DataFrame({"T": T, "value": y, "err": e if e is not None else np.nan,
                           "fitted": np.exp(X @ beta), "residual_ln": res})
    return ArrheniusResult(
        Ea=Ea, Ea_err=float(se[1]), Ea_low=Ea - q * float(se[1]), Ea_high=Ea + q * float(se[1]),
        value_ref=math.exp(lnref), value_ref_low=math.exp(lnref - q * float(se[0])),
        value_ref_high=math.exp(lnref + q * float(se[0])), prefactor=math.exp(lnref + Ea / (R * T_ref)),
        T_ref=T_ref, chi2_red=chi2_out, n=int(ly.size), weighted=e is not None, level=level, quantity=quantity,
        unit=unit, points=points)
