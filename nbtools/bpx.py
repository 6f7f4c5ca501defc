"""Single-particle parameters as a Battery Parameter eXchange (BPX) set and as a plain table.

What one particle (or a population) measures, nbtools fills in: the particle
radius, D(stoichiometry) from GITT, the OCP from the relaxed potentials, the
reaction rate constant from k0, the maximum concentration, and the activation
energies of D and k0 from Arrhenius fits. Their uncertainties (BPX has no field
for them) go to the BPX ``User-defined`` section and to the plain table.

What a particle cannot measure (electrode thickness, surface area per volume,
stoichiometry window of the cell, porosity, the other electrode, the
electrolyte, the cell) is **never invented**: you pass it (``electrode_fields``,
``cell``, ``electrolyte``, ``other_electrode``, ``separator``), and
:func:`to_bpx` raises naming every missing field. :func:`template` lists them
with the BPX descriptions. ``model="Partial"`` (BPX >= 1.0) writes only the
particle's electrode, for exchange and for completing later; ``"SPM"``,
``"SPMe"`` and ``"DFN"`` need the whole cell; with the fields of :data:`PYBAMM_FIELDS`
they load in PyBaMM's BPX reader (checked with PyBaMM 26.10).

Conversions
-----------
- Stoichiometry: GITT gives SOC; ``stoichiometry=(x at SOC 0, x at SOC 1)`` maps
  it linearly (for a cathode charged by delithiation, e.g. ``(x0, x0 - 1)`` with the
  particle's own capacity) and is a required argument.
- Reaction rate constant: BPX's exchange current density is
  ``j0 = F K sqrt(c_e c_s (c_max - c_s))``; nbtools' is
  ``i0 = F k0 c_max (c_e/c_e,ref)^0.5 sqrt(x (1 - x))`` (alpha = 0.5), so
  ``K = k0 / sqrt(c_e,ref)`` with ``c_e,ref`` the electrolyte concentration of
  the measurement (required with k0).

Public API
----------
ParticleParameters, particle_from_gitt, to_bpx, template, validate, write_bpx,
parameter_table, write_table, reaction_rate_constant, BPX_VERSION, ELECTRODE_USER_FIELDS,
ELECTRODE_FULL_FIELDS, SECTION_FIELDS, PYBAMM_FIELDS
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ParameterError

__all__ = ["ParticleParameters", "particle_from_gitt", "to_bpx", "template", "validate", "write_bpx",
           "parameter_table", "write_table", "BPX_VERSION", "reaction_rate_constant"]

#: BPX schema version written
BPX_VERSION = "1.0.0"

_ELECTRODE = {"positive": "Positive electrode", "negative": "Negative electrode"}
_OTHER = {"positive": "Negative electrode", "negative": "Positive electrode"}

#: electrode fields a particle does not give: BPX name -> what it is (from the BPX schema)
ELECTRODE_USER_FIELDS = {
    "Thickness [m]": "electrode coating thickness",
    "Surface area per unit volume [m-1]": "active surface per electrode volume (3 eps_s / r for spheres)",
    "Minimum stoichiometry": "particle stoichiometry at the cell's 0 % or 100 % SOC (the lower one)",
    "Maximum stoichiometry": "particle stoichiometry at the other end of the cell's window",
}
#: extra electrode fields of the full models (SPMe, DFN)
ELECTRODE_FULL_FIELDS = {
    "Porosity": "electrolyte volume fraction of the electrode",
    "Transport efficiency": "inverse MacMullin number of the electrode",
    "Conductivity [S.m-1]": "effective electronic conductivity of the electrode",
}
#: sections the cell models need and their required BPX fields
SECTION_FIELDS = {
    "Cell": {
        "Electrode area [m2]": "electrode cross-sectional area",
        "Number of electrode pairs connected in parallel to make a cell": "an integer",
        "Lower voltage cut-off [V]": "minimum allowed voltage",
        "Upper voltage cut-off [V]": "maximum allowed voltage",
        "Nominal cell capacity [A.h]": "used to convert between current and C-rate",
    },
    "Electrolyte": {
        "Cation transference number": "",
        "Diffusivity [m2.s-1]": "constant, expression in x (mol/m^3) or table",
        "Conductivity [S.m-1]": "constant, expression or table",
    },
    "Separator": {"Thickness [m]": "", "Porosity": "", "Transport efficiency": ""},
}
#: optional in BPX but read by PyBaMM's BPX reader (``ParameterValues.create_from_bpx``) or its thermal terms
PYBAMM_FIELDS = {
    "cell": {"External surface area [m2]": "cooling surface", "Volume [m3]": "cell volume",
             "Reference temperature [K]": "filled with the measurement temperature when absent"},
    "electrodes": {"Entropic change coefficient [V.K-1]": "dOCP/dT (both electrodes) for DFN/SPMe solves"},
}
_PARTICLE_FIELDS = ("Minimum stoichiometry", "Maximum stoichiometry", "Maximum concentration [mol.m-3]",
                    "Particle radius [m]", "Surface area per unit volume [m-1]", "Diffusivity [m2.s-1]",
                    "OCP [V]", "Reaction rate constant [mol.m-2.s-1]")


def reaction_rate_constant(k0, c_e_ref):
    """BPX reaction rate constant ``K = k0 / sqrt(c_e,ref)`` from k0 (m/s) and the electrolyte concentration
    of the measurement (mol/m^3)."""
    if not (k0 > 0 and c_e_ref > 0):
        raise ParameterError(f"k0 (m/s) and c_e_ref (mol/m^3) must be > 0, found {k0!r}, {c_e_ref!r}")
    return k0 / math.sqrt(c_e_ref)


@dataclass
class ParticleParameters:
    """What one particle (or a population) measured, in SI units, with uncertainties.

    Attributes
    ----------
    radius : float
        Particle radius (m); ``radius_err`` its standard error.
    diffusivity : pandas.DataFrame
        ``sto`` (stoichiometry x), ``D`` (m^2/s), ``D_low``, ``D_high`` (interval).
    ocp : pandas.DataFrame
        ``sto``, ``E`` (V), optionally ``E_err``.
    c_max : float
        Maximum (site) concentration (mol/m^3).
    k0, k0_err : float, optional
        Heterogeneous rate constant (m/s) and its standard error.
    c_e_ref : float, optional
        Electrolyte concentration at which k0 was measured (mol/m^3); needed with k0.
    Ea_D, Ea_D_err, Ea_k0, Ea_k0_err : float, optional
        Activation energies (J/mol) and standard errors (Arrhenius fits).
    T_ref : float
        Temperature of the measurement (K).
    level : float
        Confidence level of the D interval.
    source : str
        Where the numbers come from (files, analyses).
    """

    radius: float
    diffusivity: pd.DataFrame
    ocp: pd.DataFrame
    c_max: float
    radius_err: float | None = None
    k0: float | None = None
    k0_err: float | None = None
    c_e_ref: float | None = None
    Ea_D: float | None = None
    Ea_D_err: float | None = None
    Ea_k0: float | None = None
    Ea_k0_err: float | None = None
    T_ref: float = 298.15
    level: float = 0.95
    source: str = ""
    notes: list = field(default_factory=list)

    def __post_init__(self):
        for name in ("radius", "c_max"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float, np.floating)) and v > 0):
                raise ParameterError(f"{name} must be > 0, found {v!r}")
        if self.k0 is not None and self.c_e_ref is None:
            raise ParameterError("c_e_ref (mol/m^3), the electrolyte concentration at which k0 was measured, is "
                                 "needed to turn k0 into BPX's reaction rate constant")
        for name, cols in (("diffusivity", ("sto", "D")), ("ocp", ("sto", "E"))):
            df = getattr(self, name)
            if not isinstance(df, pd.DataFrame) or any(c not in df for c in cols):
                raise ParameterError(f"{name} must be a DataFrame with columns {cols}")
            df = df[np.isfinite(df[list(cols)].to_numpy()).all(axis=1)].sort_values("sto").reset_index(drop=True)
            if len(df) < 2 and name == "ocp":
                raise ParameterError(f"{name} needs at least 2 points with finite values, found {len(df)}")
            if len(df) < 1:
                raise ParameterError(f"{name} has no point with finite values")
            if ((df["sto"] < 0) | (df["sto"] > 1)).any():
                raise ParameterError(f"{name}: stoichiometry must lie in [0, 1], found {df['sto'].min():.3g} to "
                                     f"{df['sto'].max():.3g}; check stoichiometry=")
            object.__setattr__(self, name, df)


def particle_from_gitt(result, *, c_max, stoichiometry, radius=None, radius_err=None, k0=None, k0_err=None,
                       c_e_ref=None, arrhenius_D=None, arrhenius_k0=None, T_ref=298.15, method="fit",
                       source="") -> ParticleParameters:
    """Particle parameters from a GITT analysis (and optionally k0 and Arrhenius fits).

    Parameters
    ----------
    result : nbtools.gitt.GITTResult
        Analysed with ``radius=`` (D needs it).
    c_max : float
        Maximum concentration (mol/m^3), e.g. from :mod:`nbtools.materials`.
    stoichiometry : (float, float)
        Stoichiometry at SOC 0 and at SOC 1 of the GITT's SOC axis (required: the
        SOC axis of a GITT record is not a stoichiometry by itself).
    radius, radius_err : float, optional
        Default: the GITT recipe's.
    k0, k0_err, c_e_ref : float, optional
        Rate constant (m/s), its standard error, and the electrolyte concentration of
        that measurement (mol/m^3).
    arrhenius_D, arrhenius_k0 : nbtools.kinetics.ArrheniusResult, optional
        Activation energies.
    method : {'fit', 'wh'}
        Which D of the GITT result.
    """
    try:
        s0, s1 = (float(v) for v in stoichiometry)
    except (TypeError, ValueError):
        raise ParameterError(f"stoichiometry must be (x at SOC 0, x at SOC 1), found {stoichiometry!r}") from None
    radius = radius if radius is not None else result.recipe.radius
    radius_err = radius_err if radius_err is not None else result.recipe.radius_err
    if radius is None:
        raise ParameterError("the GITT result has no radius (analyse with radius=) and none was given")
    d = result.d_vs_soc(method)
    ok = d["status"].eq("ok") & np.isfinite(d["D"])
    diff = pd.DataFrame({"sto": s0 + d.loc[ok, "soc"] * (s1 - s0), "D": d.loc[ok, "D"],
                         "D_low": d.loc[ok, "D_low"], "D_high": d.loc[ok, "D_high"]})
    o = result.ocv
    ocp = pd.DataFrame({"sto": s0 + o["soc"] * (s1 - s0), "E": o["E"], "E_err": o["E_err"]})
    notes = [f"D from GITT ({'spherical diffusion fit' if method == 'fit' else 'Weppner-Huggins'}), "
             f"SOC axis {result.info.get('soc_axis')}; stoichiometry = {s0:g} + SOC x ({s1 - s0:g})"]
    return ParticleParameters(
        radius=float(radius), radius_err=radius_err, diffusivity=diff, ocp=ocp, c_max=float(c_max), k0=k0,
        k0_err=k0_err, c_e_ref=c_e_ref,
        Ea_D=arrhenius_D.Ea if arrhenius_D is not None else None,
        Ea_D_err=arrhenius_D.Ea_err if arrhenius_D is not None else None,
        Ea_k0=arrhenius_k0.Ea if arrhenius_k0 is not None else None,
        Ea_k0_err=arrhenius_k0.Ea_err if arrhenius_k0 is not None else None,
        T_ref=T_ref, level=result.recipe.level, source=source or str(result.data.attrs.get("source", "")),
        notes=notes)


def _table(x, y):
    return {"x": [float(v) for v in x], "y": [float(v) for v in y]}


def _particle_section(p: ParticleParameters):
    out = {"Maximum concentration [mol.m-3]": float(p.c_max), "Particle radius [m]": float(p.radius)}
    D = p.diffusivity
    out["Diffusivity [m2.s-1]"] = float(D["D"].iloc[0]) if len(D) == 1 else _table(D["sto"], D["D"])
    out["OCP [V]"] = _table(p.ocp["sto"], p.ocp["E"])
    if p.k0 is not None:
        out["Reaction rate constant [mol.m-2.s-1]"] = reaction_rate_constant(p.k0, p.c_e_ref)
    if p.Ea_D is not None:
        out["Diffusivity activation energy [J.mol-1]"] = float(p.Ea_D)
    if p.Ea_k0 is not None:
        out["Reaction rate constant activation energy [J.mol-1]"] = float(p.Ea_k0)
    return out


def _uncertainties(p: ParticleParameters, name):
    u = {}
    if p.radius_err is not None:
        u[f"{name}: particle radius standard error [m]"] = float(p.radius_err)
    D = p.diffusivity
    if {"D_low", "D_high"} <= set(D) and np.isfinite(D[["D_low", "D_high"]].to_numpy()).all() and len(D) > 1:
        u[f"{name}: diffusivity lower bound ({p.level:.0%}) [m2.s-1]"] = _table(D["sto"], D["D_low"])
        u[f"{name}: diffusivity upper bound ({p.level:.0%}) [m2.s-1]"] = _table(D["sto"], D["D_high"])
    if p.k0 is not None and p.k0_err is not None:
        u[f"{name}: reaction rate constant standard error [mol.m-2.s-1]"] = reaction_rate_constant(
            p.k0_err, p.c_e_ref)
    if p.Ea_D_err is not None:
        u[f"{name}: diffusivity activation energy standard error [J.mol-1]"] = float(p.Ea_D_err)
    if p.Ea_k0_err is not None:
        u[f"{name}: reaction rate constant activation energy standard error [J.mol-1]"] = float(p.Ea_k0_err)
    return u


def template(model="Partial", electrode="positive"):
    """The fields you supply (not measurable on one particle), as ``{section: {field: description}}``.

    Fill the values and pass the sections to :func:`to_bpx` (``electrode_fields``,
    ``cell``, ``electrolyte``, ``other_electrode``, ``separator``).
    """
    model = _check_model(model)
    _check_electrode(electrode)
    fields = dict(ELECTRODE_USER_FIELDS)
    if model in ("SPMe", "DFN"):
        fields.update(ELECTRODE_FULL_FIELDS)
    out = {"electrode_fields": fields}
    if model != "Partial":
        other = {k: "" for k in _PARTICLE_FIELDS}
        other["Thickness [m]"] = ""
        if model in ("SPMe", "DFN"):
            other.update({k: "" for k in ELECTRODE_FULL_FIELDS})
        out["cell"] = dict(SECTION_FIELDS["Cell"])
        out["other_electrode"] = other
        if model in ("SPMe", "DFN"):
            out["electrolyte"] = dict(SECTION_FIELDS["Electrolyte"])
            out["separator"] = dict(SECTION_FIELDS["Separator"])
        out["also read by PyBaMM"] = {k: dict(v) for k, v in PYBAMM_FIELDS.items()}
    return out


def _check_model(model):
    models = ("Partial", "SPM", "SPMe", "DFN")
    if model not in models:
        raise ParameterError(f"model must be one of {models}, found {model!r}")
    return model


def _check_electrode(electrode):
    if electrode not in _ELECTRODE:
        raise ParameterError(f"electrode must be 'positive' or 'negative', found {electrode!r}")


def _missing(given, needed, where):
    given = given or {}
    return [f"{where}: {k!r}" for k in needed if given.get(k) is None]


def to_bpx(particle: ParticleParameters, *, electrode="positive", model="Partial", electrode_fields=None,
           cell=None, electrolyte=None, other_electrode=None, separator=None, state=None,
           title="Single-particle parameters (nbtools)", references="") -> dict:
    """A BPX parameter set (dict) with the particle's electrode filled from measurements.

    Parameters
    ----------
    particle : ParticleParameters
    electrode : {'positive', 'negative'}
        Which electrode the particle's material is.
    model : {'Partial', 'SPM', 'SPMe', 'DFN'}
        BPX model type; all but 'Partial' need the whole cell.
    electrode_fields : dict
        Your values of :data:`ELECTRODE_USER_FIELDS` (and :data:`ELECTRODE_FULL_FIELDS`
        for SPMe/DFN); may also override measured fields.
    cell, electrolyte, other_electrode, separator, state : dict, optional
        Whole BPX sections you supply (see :func:`template`).
    title, references : str

    Returns
    -------
    dict
        Ready for ``json.dump``; validate with :func:`validate`.

    Raises
    ------
    ParameterError
        Naming every required field that is missing (nbtools never invents cell parameters).
    """
    model = _check_model(model)
    _check_electrode(electrode)
    name = _ELECTRODE[electrode]
    missing = _missing(electrode_fields, ELECTRODE_USER_FIELDS, f"electrode_fields ({name})")
    if model in ("SPMe", "DFN"):
        missing += _missing(electrode_fields, ELECTRODE_FULL_FIELDS, f"electrode_fields ({name})")
    section = _particle_section(particle)
    section.update({k: v for k, v in (electrode_fields or {}).items() if v is not None})
    if "Reaction rate constant [mol.m-2.s-1]" not in section:
        missing.append(f"{name}: 'Reaction rate constant [mol.m-2.s-1]' (pass k0 and c_e_ref in the particle "
                       "parameters, or the value in electrode_fields)")
    if model != "Partial":
        missing += _missing(cell, SECTION_FIELDS["Cell"], "cell")
        if other_electrode is None:
            missing.append(f"other_electrode ({_OTHER[electrode]}): the whole section")
        if model in ("SPMe", "DFN"):
            missing += _missing(electrolyte, SECTION_FIELDS["Electrolyte"], "electrolyte")
            missing += _missing(separator, SECTION_FIELDS["Separator"], "separator")
    if missing:
        raise ParameterError(
            "a BPX set needs values a single particle does not measure; nbtools does not invent them. Missing: "
            + "; ".join(missing) + ". See nbtools.bpx.template(model=...) for what each is")
    param = {name: section}
    if cell is not None:
        # the measured parameters hold at the measurement temperature: the Arrhenius reference
        cell = dict(cell)
        t_ref = cell.setdefault("Reference temperature [K]", float(particle.T_ref))
        if (particle.Ea_D is not None or particle.Ea_k0 is not None) and abs(t_ref - particle.T_ref) > 0.01:
            raise ParameterError(f"cell 'Reference temperature [K]' = {t_ref:g} K differs from the temperature of "
                                 f"the particle's measurement ({particle.T_ref:g} K), to which its activation "
                                 "energies refer; give the same temperature")
    if model != "Partial":
        param["Cell"] = dict(cell)
        param[_OTHER[electrode]] = dict(other_electrode)
        if model in ("SPMe", "DFN"):
            param["Electrolyte"] = dict(electrolyte)
            param["Separator"] = dict(separator)
    else:
        for key, sec in (("Cell", cell), ("Electrolyte", electrolyte), (_OTHER[electrode], other_electrode),
                         ("Separator", separator)):
            if sec is not None:
                param[key] = dict(sec)
    measured = ", ".join(k for k in _particle_section(particle))
    supplied = ", ".join(k for k in (electrode_fields or {}))
    desc = (f"{name}: measured on single particles by nbtools ({measured}); supplied by the user ({supplied}"
            f"{'; and the sections ' + ', '.join(k for k in param if k != name) if len(param) > 1 else ''}). "
            f"Reference temperature {particle.T_ref:g} K. " + " ".join(particle.notes))
    user = _uncertainties(particle, name)
    if user:
        # no 'description' key: PyBaMM's reader turns every User-defined entry into a number or a table
        param["User-defined"] = user
        desc += (" Uncertainties of the measured parameters (standard errors, interval bounds) are in "
                 "'User-defined'.")
    out = {"Header": {"BPX": BPX_VERSION, "Title": title, "Description": desc, "Model": model},
           "Parameterisation": param}
    if references or particle.source:
        out["Header"]["References"] = "; ".join(s for s in (references, f"data: {particle.source}") if s.strip())
    if state is not None:
        out["State"] = dict(state)
    return json.loads(json.dumps(out))  # plain JSON types


def _bpx_module():
    import warnings

    try:
        with warnings.catch_warnings():  # bpx's pyparsing use warns on import
            warnings.simplefilter("ignore", DeprecationWarning)
            import bpx
    except ImportError:
        raise ParameterError("validating a BPX set needs the bpx package: pip install 'nbtools-nanoechem[bpx]' "
                             "(or pip install bpx)") from None
    return bpx


def validate(obj):
    """Validate a BPX set (dict, JSON text or a .json path) with the ``bpx`` package; returns the parsed model.

    Raises
    ------
    ParameterError
        The bpx package is missing, or the set is not valid BPX (with bpx's reasons).
    """
    bpx = _bpx_module()
    if isinstance(obj, (str, os.PathLike)) and not str(obj).lstrip().startswith("{"):
        p = Path(os.fspath(obj)).expanduser()
        if not p.exists():
            from .errors import MissingFileError

            raise MissingFileError(f"{p}: no such BPX file")
        obj = json.loads(p.read_text(encoding="utf-8"))
    elif isinstance(obj, str):
        obj = json.loads(obj)
    try:
        return bpx.parse_bpx_obj(json.loads(json.dumps(obj)))
    except Exception as exc:  # pydantic ValidationError and bpx's ValueErrors
        raise ParameterError(f"not a valid BPX parameter set: {exc}") from None


def write_bpx(path, obj, *, check=True, overwrite=False):
    """Write a BPX set as JSON (validated first unless ``check=False``); returns the path."""
    p = Path(os.fspath(path)).expanduser()
    if p.exists() and not overwrite:
        raise ParameterError(f"{p}: file exists; choose another name or pass overwrite=True")
    if check:
        validate(obj)
    p.write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8")
    return p


def parameter_table(particle: ParticleParameters) -> pd.DataFrame:
    """Every measured parameter as rows: ``quantity``, ``sto``, ``value``, ``unit``, ``std_err``, ``low``,
    ``high``, ``source``."""
    p = particle
    rows = [dict(quantity="particle radius", value=p.radius, unit="m", std_err=p.radius_err),
            dict(quantity="maximum concentration", value=p.c_max, unit="mol/m^3")]
    for r in p.diffusivity.itertuples():
        rows.append(dict(quantity="diffusivity", sto=r.sto, value=r.D, unit="m^2/s",
                         low=getattr(r, "D_low", np.nan), high=getattr(r, "D_high", np.nan)))
    for r in p.ocp.itertuples():
        rows.append(dict(quantity="OCP", sto=r.sto, value=r.E, unit="V", std_err=getattr(r, "E_err", np.nan)))
    if p.k0 is not None:
        rows.append(dict(quantity="k0", value=p.k0, unit="m/s", std_err=p.k0_err))
        rows.append(dict(quantity="BPX reaction rate constant", value=reaction_rate_constant(p.k0, p.c_e_ref),
                         unit="m^2.5 mol^-0.5 s^-1 (BPX 'mol.m-2.s-1')",
                         std_err=reaction_rate_constant(p.k0_err, p.c_e_ref) if p.k0_err else np.nan))
    if p.Ea_D is not None:
        rows.append(dict(quantity="diffusivity activation energy", value=p.Ea_D, unit="J/mol", std_err=p.Ea_D_err))
    if p.Ea_k0 is not None:
        rows.append(dict(quantity="k0 activation energy", value=p.Ea_k0, unit="J/mol", std_err=p.Ea_k0_err))
    df = pd.DataFrame(rows, columns=["quantity", "sto", "value", "unit", "std_err", "low", "high"])
    df["std_err"] = pd.to_numeric(df["std_err"], errors="coerce")
    df["source"] = p.source
    df.attrs.update(level=p.level, T_ref=p.T_ref, notes=list(p.notes))
    return df


def write_table(path, particle: ParticleParameters, *, overwrite=False):
    """Write :func:`parameter_table` as CSV (``.csv``) or JSON records (``.json``); returns the path."""
    p = Path(os.fspath(path)).expanduser()
    if p.suffix.lower() not in (".csv", ".json"):
        raise ParameterError(f"{p}: the table is written as .csv or .json, found {p.suffix!r}")
    if p.exists() and not overwrite:
        raise ParameterError(f"{p}: file exists; choose another name or pass overwrite=True")
    df = parameter_table(particle)
    if p.suffix.lower() == ".csv":
        df.to_csv(p, index=False)
    else:
        p.write_text(json.dumps({"level": particle.level, "T_ref": particle.T_ref, "notes": particle.notes,
                                 "parameters": json.loads(df.to_json(orient="records"))}, indent=2) + "\n",
                     encoding="utf-8")
    return p
