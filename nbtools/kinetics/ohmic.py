"""Uncompensated resistance R_u: the iR drop in CV and potential-step models.

The electrode sees ``E_eff = E - i R_u`` (IUPAC signs: an anodic current lowers
the potential the particle sees). The CV models (:func:`~nbtools.kinetics.laviron_cv`,
:func:`~nbtools.kinetics.frumkin_cv`) and the PITT models
(:func:`~nbtools.kinetics.pitt_sphere`, :func:`~nbtools.kinetics.pitt_sphere_biot`)
take ``Ru`` (ohm) as a parameter, fixed at 0 by default (then their results are
exactly those without it); free it (``params={"Ru": {"value": 1e6, "vary": True}}``)
to fit it, or fix it at a measured value (impedance, positive feedback).

- :func:`ir_corrected_potential`: ``E - i R_u``, the potential axis to plot a CV against;
- :func:`ir_drop`: how large the drop is at the measured currents compared with the
  thermal voltage RT/F, and whether it matters (:data:`IR_LIMIT`);
- :func:`check_ir_drop`: the same, with a warning only when it matters;
- :func:`step_biot`: a resistor in series with a Nernstian (or kinetic) sphere after
  a small potential step is a Robin boundary: its Biot number.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..errors import DataError, NbtoolsWarning, ParameterError
from ._base import ParamInfo
from .constants import F, R, T_DEFAULT

__all__ = ["RU", "DE_STEP", "IR_LIMIT", "ir_corrected_potential", "ir_drop", "check_ir_drop", "step_biot"]

#: the uncompensated resistance parameter of every CV and step model (fixed 0: no iR drop)
RU = ParamInfo("ohm", "uncompensated resistance in series (fixed; 0 = none; free it to fit)", 0.0, 0.0, np.inf,
               vary=False, plausible=(0.0, 1e13))
#: the step height of the PITT models: sets the scale of the iR drop (fixed; used only when Ru > 0)
DE_STEP = ParamInfo("V", "height of the potential step (fixed; used only with Ru > 0)", 0.01, -2.0, 2.0,
                    vary=False, plausible=(-0.5, 0.5))
#: an iR drop above this fraction of RT/F (0.1: 2.6 mV at 298 K) at the largest measured current matters
IR_LIMIT = 0.1


def check_ru(Ru):
    """``Ru`` as a float >= 0 (ohm); ParameterError otherwise."""
    try:
        ru = float(Ru)
    except (TypeError, ValueError):
        raise ParameterError(f"Ru (uncompensated resistance, ohm) must be a number >= 0, found {Ru!r}") from None
    if not (np.isfinite(ru) and ru >= 0):
        raise ParameterError(f"Ru (uncompensated resistance, ohm) must be finite and >= 0, found {Ru!r}")
    return ru


def ir_corrected_potential(E, i, Ru):
    """The potential the electrode sees, ``E - i R_u`` (V): the axis to plot an iR-affected CV against.

    Parameters
    ----------
    E : array_like
        Applied potential (V).
    i : array_like
        Current (A), anodic positive (measured or a model's).
    Ru : float
        Uncompensated resistance (ohm).

    Examples
    --------
    >>> ir_corrected_potential([4.0, 4.1], [1e-9, -1e-9], 1e6).round(4).tolist()
    [3.999, 4.101]
    """
    E = np.asarray(E, dtype=float)
    i = np.asarray(i, dtype=float)
    if E.shape != i.shape:
        raise DataError(f"E has shape {E.shape} but i has {i.shape}; pass one current per potential")
    return E - i * check_ru(Ru)


def ir_drop(i, Ru, *, T=T_DEFAULT, limit=IR_LIMIT):
    """How large the iR drop is at the measured currents, and whether it matters.

    Parameters
    ----------
    i : array_like
        Current (A).
    Ru : float
        Uncompensated resistance (ohm).
    T : float
        Temperature (K): the scale is the thermal voltage RT/F.
    limit : float
        The drop matters above ``limit`` x RT/F at the largest |i| (default
        :data:`IR_LIMIT`: 2.6 mV at 298 K). Peak potentials move by about the drop
        at the peak, and a kinetic analysis (Laviron, Tafel) reads every mV of it
        as slower kinetics.

    Returns
    -------
    pandas.Series
        ``Ru`` (ohm), ``i_max`` (A, largest |i|), ``drop_max`` (V, i_max R_u),
        ``thermal_voltage`` (V), ``ratio`` (drop_max / (RT/F)), ``matters`` (bool),
        ``note`` (one sentence).
    """
    ru = check_ru(Ru)
    a = np.abs(np.asarray(i, dtype=float))
    a = a[np.isfinite(a)]
    if a.size == 0:
        raise DataError("ir_drop: the current has no finite value")
    i_max = float(a.max())
    vt = R * T / F
    drop = i_max * ru
    ratio = drop / vt
    matters = bool(ratio > limit)
    if ru == 0:
        note = "no uncompensated resistance given (Ru = 0): no iR drop is modelled"
    elif matters:
        note = (f"iR drop up to {drop * 1e3:.3g} mV at the largest current ({ratio:.2g} RT/F > {limit:g}): it shifts "
                "peaks and mimics slow kinetics; fit or fix Ru, and plot against E - i Ru")
    else:
        note = f"iR drop at most {drop * 1e3:.2g} mV ({ratio:.2g} RT/F <= {limit:g}): negligible at these currents"
    return pd.Series({"Ru": ru, "i_max": i_max, "drop_max": drop, "thermal_voltage": vt, "ratio": ratio,
                      "matters": matters, "note": note})


def check_ir_drop(i, Ru, *, T=T_DEFAULT, limit=IR_LIMIT, warn=True, stacklevel=2):
    """:func:`ir_drop`, with an :class:`~nbtools.errors.NbtoolsWarning` only when the drop matters."""
    out = ir_drop(i, Ru, T=T, limit=limit)
    if warn and out["matters"]:
        warnings.warn(out["note"], NbtoolsWarning, stacklevel=stacklevel + 1)
    return out


def step_biot(tau, Q, dE, Ru, biot=np.inf):
    """Biot number of a sphere after a small potential step ``dE`` through a series resistance ``Ru``.

    In linear response a resistor in series with the surface is a Robin boundary,
    exactly as linearised kinetics are (charge-transfer resistance): the current
    right after the step is ``dE/Ru`` and equals ``3 L Q/tau``, so
    ``L_Ru = tau |dE| / (3 Ru |Q|)``; resistances in series add as ``1/L = 1/L_kin + 1/L_Ru``.

    Parameters
    ----------
    tau : float
        r^2/D (s).
    Q : float
        Charge of the step (C).
    dE : float
        Step height (V).
    Ru : float
        Series resistance (ohm).
    biot : float
        Biot number of the surface kinetics (inf: Nernstian).

    Returns
    -------
    float
        The combined Biot number (inf when ``Ru == 0`` and ``biot`` is inf).
    """
    inv = 0.0 if not np.isfinite(biot) else 1.0 / biot
    if Ru > 0:
        if dE == 0 or Q == 0:
            return 0.0
        inv += 3.0 * Ru * abs(Q) / (tau * abs(dE))
    return np.inf if inv == 0 else 1.0 / inv
