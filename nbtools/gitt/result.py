"""The result of a GITT analysis: segments, per-pulse table, OCV curve, D vs SOC, and how far to trust them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .recipe import GITTRecipe

__all__ = ["GITTResult"]


@dataclass
class GITTResult:
    """Everything :func:`nbtools.gitt.analyze` found.

    Attributes
    ----------
    data : pandas.DataFrame
        The record (``t`` s, ``E`` V, ``i`` A).
    segments : pandas.DataFrame
        Pulses and rests (:func:`nbtools.gitt.segment_pulses`).
    pulses : pandas.DataFrame
        One row per pulse: SOC, current, charge, ``dE_s``, ``dE_t``, the sqrt(t)
        window (``window_lo``/``window_hi`` s, ``window_chi2``), ``tau_wh``/``D_wh``
        (Weppner-Huggins), ``tau``/``D`` (spherical fit) with ``*_low``/``*_high``
        intervals, ``R_ohm``, ``status`` and ``note``.
    ocv : pandas.DataFrame
        Relaxed potential at the end of each rest against SOC (``relaxed`` says
        whether the rest had levelled off).
    recipe : GITTRecipe
    info : dict
        ``noise`` (V), current ``levels``, ``soc_axis`` (what SOC means here), ``level``.
    """

    data: pd.DataFrame
    segments: pd.DataFrame
    pulses: pd.DataFrame
    ocv: pd.DataFrame
    recipe: GITTRecipe
    info: dict = field(default_factory=dict)

    def d_vs_soc(self, method="fit"):
        """D (or tau without a radius) against SOC with its interval.

        Parameters
        ----------
        method : {'fit', 'wh'}
            Spherical diffusion fit or Weppner-Huggins.

        Returns
        -------
        pandas.DataFrame
            ``soc`` (the mean surface SOC during the pulse: the composition the D belongs to),
            ``D``, ``D_low``, ``D_high`` (m^2/s), ``tau`` (s), ``soc_charge`` (charge midpoint of
            the pulse), ``status``, ``note``.
        """
        from ..errors import ParameterError

        if method not in ("fit", "wh"):
            raise ParameterError(f"method must be 'fit' or 'wh', found {method!r}")
        p = self.pulses
        key, tkey, skey = ("D", "tau", "soc_probe") if method == "fit" else ("D_wh", "tau_wh", "soc_probe_wh")
        soc = p[skey] if skey in p else pd.Series(np.nan, index=p.index)
        out = pd.DataFrame({"soc": soc.fillna(p["soc"]), "D": p[key], "D_low": p[f"{key}_low"],
                            "D_high": p[f"{key}_high"], "tau": p[tkey], "soc_charge": p["soc"],
                            "status": p["status"], "note": p["note"]})
        out.attrs.update(method=method, soc_axis=self.info.get("soc_axis"), level=self.recipe.level)
        return out

    def pulse_curves(self, pulse):
        """One pulse and its rest with the fitted sphere model and the sqrt(t) line (``t`` from the pulse start)."""
        from .analysis import pulse_curves

        return pulse_curves(self.data, self.segments, self.pulses, self.ocv, pulse)

    def mean_D(self, method="fit"):
        """Geometric mean of D over the analysed pulses and its standard error (for a temperature series).

        Returns
        -------
        dict
            ``D`` (m^2/s), ``D_err`` (``D x SE of ln D``: the scatter between pulses over sqrt(n),
            or the pulses' own errors when larger), ``n``.
        """
        d = self.d_vs_soc(method)
        key = "D" if self.recipe.radius is not None else "tau"
        v = d[key].to_numpy(float)
        v = v[np.isfinite(v) & (v > 0)]
        if v.size == 0:
            return {"D": np.nan, "D_err": np.nan, "n": 0}
        ln = np.log(v)
        se = float(np.std(ln, ddof=1) / np.sqrt(v.size)) if v.size > 1 else np.nan
        col = "tau_ln_err" if method == "fit" else "tau_wh_ln_err"
        own = self.pulses[col].to_numpy(float)
        own = own[np.isfinite(own)]
        if own.size:
            se = float(np.nanmax([se, np.sqrt(np.sum(own**2)) / own.size]))
        m = float(np.exp(ln.mean()))
        return {"D" if key == "D" else "tau": m, ("D" if key == "D" else "tau") + "_err": m * se, "n": int(v.size)}

    @property
    def warnings(self):
        """Notes of the pulses that have any, as ``'pulse k: ...'`` lines."""
        return [f"pulse {r.pulse}: {r.note}" for r in self.pulses.itertuples() if r.note]

    def summary(self) -> str:
        """A few lines for people: pulses found, D range, windows, warnings."""
        p = self.pulses
        n_ok = int((p["status"] == "ok").sum())
        lines = [f"GITT: {len(p)} pulses ({n_ok} analysed), {int((self.segments['kind'] == 'rest').sum())} rests; "
                 f"SOC {self.info.get('soc_axis')}; noise of E {self.info.get('noise', np.nan) * 1e3:.3g} mV"]
        if self.recipe.radius is not None and np.isfinite(p["D"]).any():
            lines.append(f"D (sphere fit) {np.nanmin(p['D']):.3g} to {np.nanmax(p['D']):.3g} m^2/s; "
                         f"Weppner-Huggins {np.nanmin(p['D_wh']):.3g} to {np.nanmax(p['D_wh']):.3g} m^2/s")
        elif np.isfinite(p["tau"]).any():
            lines.append(f"tau = r^2/D (sphere fit) {np.nanmin(p['tau']):.3g} to {np.nanmax(p['tau']):.3g} s "
                         "(give radius= for D)")
        if "window_lo" in p:
            lines.append(f"sqrt(t) windows from {np.nanmin(p['window_lo']):.3g} s to {np.nanmax(p['window_hi']):.3g} s "
                         f"({int(p['window_accepted'].fillna(False).sum())} of {len(p)} within the noise)")
        lines += self.warnings[:10]
        if len(self.warnings) > 10:
            lines.append(f"... and {len(self.warnings) - 10} more notes (result.warnings)")
        return "\n".join(lines)

    def __repr__(self):
        return f"<GITTResult {len(self.pulses)} pulses>\n{self.summary()}"
