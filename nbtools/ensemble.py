"""Single entity vs ensemble: single-particle results against the composite electrode they came from.

Nanoelectrochemistry measures a particle's intrinsic properties (rate constant,
diffusion coefficient, capacity) free of the transport limits of a composite
electrode. :func:`compare_with_ensemble` sets the particle population beside a
composite electrode of the same material (its CV, optional GITT numbers, its
geometry) and says which one limits the rate at a given C-rate:

- particle diffusion: the solid-state diffusion time ``tau = r^2/D`` against the
  discharge time ``t = 3600/C`` s; in a sphere discharged at constant current the
  surface runs ahead of the mean composition by ``tau/(15 t)`` (pseudo-steady
  parabolic profile), so ``tau/t <= 0.15`` costs <= 1 % of composition (fast) and
  ``tau/t >= 1.5`` >= 10 % (limiting);
- the electrode's transport: the ionic transport time through the electrode
  ``L^2/(D_e eps^b)`` (Bruggeman) when its thickness is given, or the extra time the
  composite's apparent D implies (``r^2/D_app - r^2/D``);
- the CV and capacity comparisons: the composite's peak separation against the
  particles' (the difference is the electrode's polarisation: ohmic, contact and
  transport) and its capacity per mass against the particles' (utilisation).

If the particles' diffusion is fast, the electrode's porosity and tortuosity set
the rate; if it is slow, denser electrodes cost nothing and smaller particles help.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import DataError, ParameterError

__all__ = ["EnsembleComparison", "compare_with_ensemble", "diffusion_regime", "FAST", "LIMITING",
           "ELECTROLYTE_D"]

#: tau/t at or below which solid diffusion is fast (the surface leads the mean composition by <= 1 %)
FAST = 0.15
#: tau/t at or above which solid diffusion limits (the surface leads by >= 10 %)
LIMITING = 1.5
#: electrolyte (salt) diffusion coefficient assumed when none is given (m^2/s): 1 M LiPF6 in carbonates
ELECTROLYTE_D = 3e-10

_MAH_PER_G = 3600.0  # C/kg in 1 mAh/g


def _regime(ratio):
    if not np.isfinite(ratio):
        return "undetermined"
    if ratio <= FAST:
        return "fast"
    if ratio >= LIMITING:
        return "limiting"
    return "contributes"


def diffusion_regime(tau, c_rate):
    """Solid-diffusion time against the discharge time, per C-rate.

    Parameters
    ----------
    tau : float or array_like
        Diffusion times r^2/D of the particles (s); the population's median and
        90th percentile are used (the slowest particles are the first to limit).
    c_rate : float or sequence of float
        C-rates (1/h): the discharge time is ``3600/C`` s.

    Returns
    -------
    pandas.DataFrame
        Per C-rate: ``c_rate``, ``t_discharge`` (s), ``tau_median``, ``tau_p90`` (s),
        ``ratio`` (tau_p90 / t), ``surface_lead`` (tau_p90/(15 t): how far the surface
        composition runs ahead of the mean), ``regime`` ('fast', 'contributes', 'limiting').

    Examples
    --------
    >>> diffusion_regime(36.0, [1, 50])["regime"].tolist()
    ['fast', 'contributes']
    """
    tau = np.atleast_1d(np.asarray(tau, dtype=float))
    tau = tau[np.isfinite(tau) & (tau > 0)]
    if tau.size == 0:
        raise DataError("diffusion_regime: no finite, positive diffusion time r^2/D")
    rates = np.atleast_1d(np.asarray(c_rate, dtype=float))
    if np.any(~np.isfinite(rates)) or np.any(rates <= 0):
        raise ParameterError(f"c_rate must be > 0 (1/h: 1 = a full discharge in one hour), found {c_rate!r}")
    med, p90 = float(np.median(tau)), float(np.percentile(tau, 90))
    rows = []
    for c in rates:
        t = 3600.0 / c
        rows.append({"c_rate": float(c), "t_discharge": t, "tau_median": med, "tau_p90": p90, "ratio": p90 / t,
                     "surface_lead": p90 / (15.0 * t), "regime": _regime(p90 / t)})
    df = pd.DataFrame(rows)
    df.attrs["units"] = {"t_discharge": "s", "tau_median": "s", "tau_p90": "s"}
    return df


@dataclass(frozen=True)
class EnsembleComparison:
    """What :func:`compare_with_ensemble` found.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per quantity: ``quantity``, ``single_particle``, ``ensemble``, ``unit``,
        ``ratio`` (ensemble / single particle), ``note``.
    rates : pandas.DataFrame
        Per C-rate: the times, ratios and regimes of particle diffusion
        (:func:`diffusion_regime`) and of the electrode's transport, and ``limiting``.
    limiting : str
        At the first C-rate: 'particle diffusion', 'electrode transport', 'both', 'neither'
        or 'electrode (not particle diffusion)' (particles fast, electrode not characterised).
    verdict : str
        The answer in words, at every C-rate.
    assumptions : tuple of str
        What the verdict rests on.
    """

    table: pd.DataFrame
    rates: pd.DataFrame
    limiting: str
    verdict: str
    assumptions: tuple = field(default_factory=tuple)

    def text(self) -> str:
        """The comparison as a plain-text report: numbers, verdict, assumptions."""
        lines = ["Single particle vs composite electrode", ""]
        for _, r in self.table.iterrows():
            sp = "-" if not np.isfinite(r["single_particle"]) else f"{r['single_particle']:.4g}"
            en = "-" if not np.isfinite(r["ensemble"]) else f"{r['ensemble']:.4g}"
            ra = "" if not np.isfinite(r["ratio"]) else f"  (ratio {r['ratio']:.3g})"
            lines.append(f"  {r['quantity']}: particle {sp}, electrode {en} {r['unit']}{ra}"
                         + (f"  {r['note']}" if r["note"] else ""))
        lines += ["", "Verdict: " + self.verdict, "", "Assumptions:"]
        lines += [f"  - {a}" for a in self.assumptions]
        return "\n".join(lines)

    def __str__(self):
        return self.text()


def _column(df, *names):
    for n in names:
        if n in df.columns:
            return np.asarray(df[n], dtype=float)
    return None


def _population(particles):
    """(DataFrame, radius, D, tau) of the particle population."""
    if isinstance(particles, dict):
        particles = pd.DataFrame({k: np.atleast_1d(v) for k, v in particles.items()})
    if not isinstance(particles, pd.DataFrame):
        raise ParameterError("particles must be a DataFrame (e.g. nbtools.seccm.particle_table(fit)) or a dict of "
                             f"columns (radius in m, D in m^2/s or tau in s), found {type(particles).__name__}")
    if len(particles) == 0:
        raise DataError("particles: the table is empty")
    r = _column(particles, "radius", "r")
    D = _column(particles, "D")
    tau = _column(particles, "tau")
    if tau is None and r is not None and D is not None:
        tau = r**2 / D
    if D is None and r is not None and tau is not None:
        D = r**2 / tau
    if tau is None:
        raise ParameterError(f"particles needs tau (s) or radius (m) with D (m^2/s); found columns "
                             f"{list(particles.columns)}")
    if r is not None and (np.nanmax(r) > 1e-3 or np.nanmin(r) <= 0):
        raise ParameterError(f"particle radius {np.nanmin(r):.3g} .. {np.nanmax(r):.3g} m: expected metres between "
                             "0 and 1 mm (e.g. 2e-7 for 200 nm)")
    return particles, r, D, tau


def _electrode_curve(electrode, scan_rate):
    """(E, i, t or None) of the composite's CV from a path, a DataFrame or arrays."""
    if isinstance(electrode, (str,)) or hasattr(electrode, "__fspath__"):
        from .io import load

        electrode = load(electrode, kind="curve")
    if isinstance(electrode, pd.DataFrame):
        if not {"E", "i"} <= set(electrode.columns):
            raise DataError(f"electrode CV: expected columns E (V) and i (A) (and t, s), found "
                            f"{list(electrode.columns)}")
        t = electrode["t"].to_numpy(float) if "t" in electrode else None
        return electrode["E"].to_numpy(float), electrode["i"].to_numpy(float), t
    if isinstance(electrode, (tuple, list)) and len(electrode) in (2, 3):
        arrs = [np.asarray(a, dtype=float) for a in electrode]
        return (arrs[0], arrs[1], None) if len(arrs) == 2 else (arrs[1], arrs[2], arrs[0])
    raise ParameterError("electrode must be a curve file, a DataFrame with E, i (t) or a tuple (E, i) / (t, E, i)")


def _gitt_D(gitt):
    if gitt is None:
        return None
    if isinstance(gitt, (int, float, np.floating)):
        vals = np.array([float(gitt)])
    elif isinstance(gitt, pd.DataFrame):
        vals = _column(gitt, "D", "D_wh", "D_fit")
        if vals is None:
            raise ParameterError(f"gitt: expected a column D (m^2/s), found {list(gitt.columns)}")
    elif isinstance(gitt, dict):
        vals = np.atleast_1d(np.asarray(gitt.get("D"), dtype=float))
    else:
        vals = np.atleast_1d(np.asarray(gitt, dtype=float))
    vals = vals[np.isfinite(vals) & (vals > 0)]
    if vals.size == 0:
        raise DataError("gitt: no finite, positive diffusion coefficient")
    if np.max(vals) > 1e-6:
        raise ParameterError(f"gitt D up to {np.max(vals):.3g}: expected m^2/s (solids: 1e-20 .. 1e-10; cm^2/s "
                             "values are 1e4 times larger)")
    return vals


def _row(quantity, sp, en, unit, note=""):
    sp = np.nan if sp is None else float(sp)
    en = np.nan if en is None else float(en)
    ratio = en / sp if np.isfinite(sp) and np.isfinite(en) and sp != 0 else np.nan
    return {"quantity": quantity, "single_particle": sp, "ensemble": en, "unit": unit, "ratio": ratio, "note": note}


def _verdict(p_reg, e_reg, r_fast):
    """(limiting, reason) from the regimes of particle diffusion and of the electrode's transport."""
    smaller = (f"smaller particles (radius below {r_fast:.3g} m keeps tau/t <= {FAST:g}) or a faster-diffusing "
               "material would help")
    electrode = "the electrode's ionic transport (porosity, tortuosity, thickness)"
    if p_reg == "limiting":
        if e_reg in ("fast", "undetermined"):
            tail = ("the electrode's porosity is not what limits, so denser electrodes are fine" if e_reg == "fast"
                    else "the electrode's transport was not characterised (give thickness= or gitt=)")
            return "particle diffusion", f"solid-state diffusion in the particles limits the rate: {smaller}; {tail}"
        return "both", f"solid-state diffusion in the particles limits the rate ({smaller}), and {electrode} too"
    if p_reg == "fast":
        if e_reg in ("limiting", "contributes"):
            return "electrode transport", (f"particle diffusion is fast: {electrode} limits the rate; more open or "
                                           "thinner electrodes would help, smaller particles would not")
        if e_reg == "fast":
            return "neither", "neither the particles' diffusion nor the electrode's transport limits at this rate"
        return "electrode (not particle diffusion)", (
            f"particle diffusion is fast: what limits the rate is the electrode ({electrode}; electronic wiring), "
            "not the particles; give the electrode's thickness or GITT D to quantify it")
    if e_reg == "limiting":
        return "both", f"{electrode} limits the rate and particle diffusion contributes"
    if e_reg == "contributes":
        return "both", f"particle diffusion and {electrode} both contribute"
    return "particle diffusion (partly)", (
        "particle diffusion contributes (the surface runs noticeably ahead of the mean composition)"
        + ("; the electrode's transport does not limit" if e_reg == "fast" else ""))


def compare_with_ensemble(particles, electrode=None, *, c_rate=1.0, scan_rate=None, particle_scan_rate=None,
                          electrode_mass=None, gitt=None, material=None, density=None, thickness=None, porosity=0.35,
                          bruggeman=1.5, electrolyte_D=ELECTROLYTE_D):
    """Compare a single-particle population with a composite electrode of the same material.

    Parameters
    ----------
    particles : pandas.DataFrame or dict
        The population, one row per particle: ``radius`` (m) and ``D`` (m^2/s) or
        ``tau`` (s) (e.g. :func:`nbtools.seccm.particle_table`); optional ``dEp``
        (V, CV peak separation), ``Q`` (C, the charge of the particle's full
        conversion, e.g. from its CV).
    electrode : str, path, DataFrame or tuple, optional
        The composite electrode's CV: a curve file (:func:`nbtools.io.load`), a
        DataFrame with ``E`` (V), ``i`` (A) and ``t`` (s), or ``(E, i)`` / ``(t, E, i)``.
    c_rate : float or sequence of float
        C-rate(s) of the verdict (1/h).
    scan_rate : float, optional
        Scan rate of the electrode's CV (V/s; needed without ``t``).
    particle_scan_rate : float, optional
        Scan rate of the particles' CVs (V/s) for the peak-separation comparison
        (a note says when the two differ or are unknown).
    electrode_mass : float, optional
        Active-material mass of the electrode (kg): capacity per mass.
    gitt : float, array, dict or DataFrame, optional
        Apparent diffusion coefficient(s) of the composite from GITT (m^2/s; column ``D``).
    material : str, optional
        A name in :mod:`nbtools.materials` (density, theoretical capacity).
    density : float, optional
        kg/m^3 (overrides the material's): particle masses from their radii.
    thickness : float, optional
        Electrode thickness (m): the ionic transport time ``L^2 / (electrolyte_D porosity^bruggeman)``.
    porosity, bruggeman, electrolyte_D
        Of that estimate (defaults 0.35, 1.5, :data:`ELECTROLYTE_D`).

    Returns
    -------
    EnsembleComparison
        ``table``, ``rates``, ``limiting``, ``verdict``, ``assumptions``; ``text()`` is the report.

    Examples
    --------
    >>> res = compare_with_ensemble({"radius": [2e-7, 3e-7], "D": [1e-15, 2e-15]}, c_rate=1)
    >>> res.limiting
    'electrode (not particle diffusion)'
    """
    pop, r, D, tau = _population(particles)
    rates = diffusion_regime(tau, c_rate)
    assumptions = [
        "particles are spheres of radius r with one constant chemical diffusion coefficient D (tau = r^2/D); "
        "the slowest tenth of the population (90th percentile of tau) sets the limit",
        f"a galvanostatic discharge at C-rate C lasts t = 3600/C s; at constant current the particle surface runs "
        f"ahead of its mean composition by tau/(15 t) (pseudo-steady profile): tau/t <= {FAST:g} is fast "
        f"(<= 1 %), >= {LIMITING:g} limiting (>= 10 %)",
        "every particle in the electrode carries the same current (no gradient of reaction across the electrode "
        "unless its transport time says otherwise); the single particles represent the electrode's particles",
    ]
    rows = []
    med = lambda a: None if a is None or not np.any(np.isfinite(a)) else float(np.nanmedian(a))  # noqa: E731
    rows.append(_row("radius (median)", med(r), None, "m"))
    rows.append(_row("diffusion time r^2/D (median)", med(tau), None, "s"))
    D_gitt = _gitt_D(gitt)
    note_D = ""
    if D_gitt is not None:
        note_D = ("apparent D of the composite lumps the particles' D with the electrode's transport and an assumed "
                  "diffusion length")
        assumptions.append("the composite's GITT D uses the particle radius as diffusion length (Weppner-Huggins "
                           "on spheres); its excess time r^2/D_app - r^2/D is taken as the electrode's transport")
    rows.append(_row("diffusion coefficient D (median)", med(D), med(D_gitt), "m^2/s", note_D))
    # the electrode's transport time
    t_el, el_source = np.nan, ""
    if thickness is not None:
        if not (0 < thickness < 0.01):
            raise ParameterError(f"thickness must be in metres (0 .. 1 cm), found {thickness!r}")
        if not 0 < porosity < 1:
            raise ParameterError(f"porosity must be a fraction in (0, 1), found {porosity!r}")
        t_el = thickness**2 / (electrolyte_D * porosity**bruggeman)
        el_source = (f"ionic transport through the electrode: L^2/(D_e eps^{bruggeman:g}) with L = {thickness:.3g} m, "
                     f"eps = {porosity:g}, D_e = {electrolyte_D:.3g} m^2/s")
        assumptions.append("electrode transport time L^2/(D_e eps^b): salt diffusion across the electrode thickness "
                           "with a Bruggeman tortuosity (eps^(1-b)); electronic conduction assumed fast")
    elif D_gitt is not None and D is not None and r is not None:
        extra = float(np.nanmedian(r) ** 2 / np.median(D_gitt) - np.nanmedian(tau))
        t_el = max(extra, 0.0)
        el_source = "the composite's apparent D: r^2/D_app - r^2/D"
    rows.append(_row("electrode transport time", None, t_el, "s", el_source))
    # CV of the composite
    dEp_p = med(_column(pop, "dEp"))
    dEp_e, q_e = None, None
    if electrode is not None:
        from .kinetics.cv import find_cv_peaks

        E, i, t = _electrode_curve(electrode, scan_rate)
        if t is None and scan_rate is None:
            raise ParameterError("the electrode CV has no time column: give scan_rate= (V/s)")
        peaks = find_cv_peaks(E, i, t=t, v=None if t is not None else scan_rate)
        an = peaks[peaks["direction"] == "anodic"]
        ca = peaks[peaks["direction"] == "cathodic"]
        if len(an) and len(ca):
            dEp_e = float(an["E_peak"].iloc[0] - ca["E_peak"].iloc[0])
        if len(an):
            q_e = float(an["charge"].iloc[0])
    note = ""
    if dEp_p is not None and dEp_e is not None:
        if scan_rate is None or particle_scan_rate is None:
            note = "scan rates not both given: compare at equal scan rate"
        elif not np.isclose(scan_rate, particle_scan_rate, rtol=0.05):
            note = f"different scan rates ({scan_rate:g} vs {particle_scan_rate:g} V/s)"
        else:
            note = f"excess {1e3 * (dEp_e - dEp_p):.3g} mV: the electrode's ohmic, contact and transport polarisation"
    rows.append(_row("CV peak separation", dEp_p, dEp_e, "V", note))
    # capacity per mass
    rho = density
    theo = None
    if material is not None:
        from .kinetics.constants import F
        from .materials import get_material

        m = get_material(material)
        rho = m.density if rho is None else rho
        theo = m.electrons * F / m.molar_mass / _MAH_PER_G
    cap_p = None
    Qp = _column(pop, "Q")
    if Qp is not None and r is not None and rho is not None:
        mass = rho * 4.0 / 3.0 * np.pi * r**3
        cap_p = med(np.abs(Qp) / mass / _MAH_PER_G)
    elif theo is not None:
        cap_p = theo
    cap_e = None
    if q_e is not None and electrode_mass is not None:
        if not 0 < electrode_mass < 1:
            raise ParameterError(f"electrode_mass is the active-material mass in kg (e.g. 2e-6 for 2 mg), found "
                                 f"{electrode_mass!r}")
        cap_e = abs(q_e) / electrode_mass / _MAH_PER_G
    rows.append(_row("capacity per mass", cap_p, cap_e, "mAh/g",
                     "particle: measured Q over its mass" if Qp is not None and rho is not None else
                     ("particle: theoretical (material)" if theo is not None else "")))
    if cap_p is not None and cap_e is not None:
        assumptions.append("capacity per mass of the electrode: the anodic charge of its first CV sweep over the "
                           "active-material mass given (a CV at a finite rate may not reach the full capacity)")
    table = pd.DataFrame(rows, columns=["quantity", "single_particle", "ensemble", "unit", "ratio", "note"])

    # the verdict per C-rate
    verdicts, limiting_all = [], []
    el_ratio, el_regime = [], []
    for _, row in rates.iterrows():
        t_dis = row["t_discharge"]
        e_ratio = t_el / t_dis if np.isfinite(t_el) else np.nan
        el_ratio.append(e_ratio)
        el_regime.append(_regime(e_ratio))
        p_reg, e_reg = row["regime"], _regime(e_ratio)
        head = (f"at {row['c_rate']:g}C (t = {t_dis:.4g} s): particle diffusion r^2/D = {row['tau_p90']:.3g} s "
                f"(90th percentile; median {row['tau_median']:.3g} s), tau/t = {row['ratio']:.2g}, surface leads "
                f"the mean by {100 * row['surface_lead']:.2g} %")
        if np.isfinite(e_ratio):
            head += f"; electrode transport {t_el:.3g} s, t_el/t = {e_ratio:.2g}"
        lim, why = _verdict(p_reg, e_reg, np.sqrt(FAST * np.nanmedian(D) * t_dis) if D is not None else np.nan)
        limiting_all.append(lim)
        verdicts.append(f"{head}: {why}.")
    rates = rates.assign(t_electrode=t_el, electrode_ratio=el_ratio, electrode_regime=el_regime,
                         limiting=limiting_all)
    return EnsembleComparison(table=table, rates=rates, limiting=limiting_all[0], verdict=" ".join(verdicts),
                              assumptions=tuple(assumptions))
