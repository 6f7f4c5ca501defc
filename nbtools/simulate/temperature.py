"""Temperature series with a known activation energy (for Arrhenius fits)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ParameterError

__all__ = ["arrhenius_series"]


def arrhenius_series(T=(278.15, 288.15, 298.15, 308.15, 318.15), *, Ea=40e3, value_ref=1e-14, T_ref=298.15,
                     rel_err=0.05, seed=None, quantity="D"):
    """Values of a thermally activated quantity at several temperatures, with log-normal scatter.

    Parameters
    ----------
    T : sequence of float
        Temperatures (K).
    Ea : float
        Activation energy (J/mol).
    value_ref : float
        The quantity at ``T_ref``.
    rel_err : float
        Relative standard error of each value (the scatter drawn and the ``err`` column).
    seed : int, optional

    Returns
    -------
    pandas.DataFrame
        ``T``, ``value``, ``err``, ``true``; ``attrs['truth']`` = Ea, value_ref, T_ref.
    """
    from ..kinetics.arrhenius import arrhenius

    T = np.asarray(T, dtype=float)
    if np.any(T <= 0) or not rel_err >= 0:
        raise ParameterError(f"T must be > 0 K and rel_err >= 0, got {T.tolist()}, {rel_err!r}")
    true = arrhenius(T, value_ref, Ea, T_ref)
    rng = np.random.default_rng(seed)
    value = true * np.exp(rng.normal(0.0, rel_err, T.size)) if rel_err else true.copy()
    df = pd.DataFrame({"T": T, "value": value, "err": rel_err * value, "true": true})
    df.attrs["truth"] = {"Ea": Ea, "value_ref": value_ref, "T_ref": T_ref, "rel_err": rel_err, "seed": seed,
                         "quantity": quantity}
    df.attrs["source"] = "nbtools.simulate.arrhenius_series"
    return df
