"""Materials table for charge <-> particle-size conversion.

Each :class:`Material` gives the molar mass ``M`` (kg/mol, per formula unit),
the density ``rho`` (kg/m^3) and the electrons transferred per formula unit
``n`` for the reaction in ``notes``. A spherical particle of radius ``r`` then
carries ``Q = n F rho (4/3) pi r^3 / M`` for full conversion.

Values for the battery materials are from the project reference
(``kinetics.md`` section 5.2: IUPAC atomic weights, X-ray densities from
typical lattice parameters, +-1-2 %); Ag and Au are bulk metal values.
Prussian blue's water content varies between samples: register your own
entry with the measured M and rho.

Examples
--------
>>> from nbtools.materials import get_material, register_material
>>> get_material("limn2o4").n
1.0
>>> m = register_material("MyOxide", molar_mass=0.1, density=4000.0, electrons=1)
>>> get_material("my oxide").name
'MyOxide'
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import pandas as pd

from .errors import MaterialError, ParameterError

__all__ = ["Material", "get_material", "register_material", "list_materials", "MATERIALS"]

_KINETICS_REF = "nbtools kinetics reference (kinetics.md) section 5.2 [N]: IUPAC atomic weights, X-ray density"


@dataclass(frozen=True)
class Material:
    """A particle material.

    Attributes
    ----------
    name : str
        Display name (lookups ignore case, spaces, '-' and '_').
    formula : str
    molar_mass : float
        kg/mol per formula unit.
    density : float
        kg/m^3 (crystallographic, fully dense).
    electrons : float
        Electrons transferred per formula unit in the reaction of ``notes``.
    notes : str
    reference : str
    """

    name: str
    formula: str
    molar_mass: float
    density: float
    electrons: float
    notes: str = ""
    reference: str = ""

    @property
    def n(self) -> float:
        """Electrons per formula unit (alias of ``electrons``)."""
        return self.electrons

    @property
    def charge_density(self) -> float:
        """Charge per particle volume for full conversion, C/m^3 (n F rho / M)."""
        from scipy.constants import physical_constants

        F = physical_constants["Faraday constant"][0]
        return self.electrons * F * self.density / self.molar_mass


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", str(name)).lower()


MATERIALS: dict[str, Material] = {}
_ALIASES: dict[str, str] = {}


def register_material(name, *, molar_mass, density, electrons, formula=None, notes="",
                      reference="user", aliases=(), overwrite=False) -> Material:
    """Add a material to the table (for this session) and return it.

    Parameters
    ----------
    name : str
    molar_mass : float
        kg/mol per formula unit (e.g. 0.18081 for LiMn2O4).
    density : float
        kg/m^3 (e.g. 4290 for LiMn2O4).
    electrons : float
        Electrons per formula unit.
    formula, notes, reference : str, optional
    aliases : sequence of str
        Other names that find this material.
    overwrite : bool
        Replace an existing entry of the same name.
    """
    for arg, v in (("molar_mass", molar_mass), ("density", density), ("electrons", electrons)):
        try:
            fv = float(v)
        except (TypeError, ValueError):
            raise ParameterError(f"register_material: {arg} must be a positive number, found {v!r}") from None
        if not fv > 0 or fv != fv or fv == float("inf"):
            raise ParameterError(f"register_material: {arg} must be a positive number, found {v!r}")
    if float(molar_mass) > 10:
        raise ParameterError(
            f"register_material: molar_mass is in kg/mol; {molar_mass!r} looks like g/mol "
            f"(use {float(molar_mass) / 1000:g})")
    if float(density) < 100:
        raise ParameterError(
            f"register_material: density is in kg/m^3; {density!r} looks like g/cm^3 "
            f"(use {float(density) * 1000:g})")
    k = _key(name)
    if not k:
        raise ParameterError("register_material: name must be a non-empty string")
    if (k in MATERIALS or k in _ALIASES) and not overwrite:
        raise ParameterError(f"material {name!r} already exists; pass overwrite=True to replace it")
    m = Material(str(name), formula or str(name), float(molar_mass), float(density), float(electrons),
                 notes, reference)
    MATERIALS[k] = m
    for a in aliases:
        _ALIASES[_key(a)] = k
    return m


def get_material(material) -> Material:
    """Look up a material by name (case, spaces, '-' and '_' ignored).

    A :class:`Material` passes through. Raises :class:`MaterialError` listing
    the known names otherwise.
    """
    if isinstance(material, Material):
        return material
    k = _key(material)
    k = _ALIASES.get(k, k)
    if k in MATERIALS:
        return MATERIALS[k]
    names = ", ".join(m.name for m in MATERIALS.values())
    raise MaterialError(
        f"material {material!r} is not in the table; known: {names}. "
        "Add it with nbtools.materials.register_material(name, molar_mass=<kg/mol>, "
        "density=<kg/m^3>, electrons=<n>)")


def list_materials() -> pd.DataFrame:
    """The materials table as a DataFrame (one row per material)."""
    rows = [asdict(m) for m in MATERIALS.values()]
    df = pd.DataFrame(rows, columns=["name", "formula", "molar_mass", "density", "electrons",
                                     "notes", "reference"])
    df.attrs["units"] = {"molar_mass": "kg/mol", "density": "kg/m^3", "electrons": "per formula unit"}
    return df


_BUILTIN = [
    # name, formula, M (g/mol), rho (g/cm3), n, notes, aliases
    ("LiMn2O4", "LiMn2O4", 180.81, 4.29, 1, "LiMn2O4 <-> lambda-MnO2 + Li+ + e- (delithiation, anodic); "
     "Fd-3m a = 8.24 A", ("LMO", "lithium manganese oxide")),
    ("LiFePO4", "LiFePO4", 157.76, 3.60, 1, "LiFePO4 <-> FePO4 + Li+ + e-; Pnma", ("LFP",)),
    ("LiCoO2", "LiCoO2", 97.87, 5.05, 1, "LiCoO2 <-> Li(1-x)CoO2; practical dx ~ 0.5 (use conversion=0.5)",
     ("LCO",)),
    ("TiO2 (anatase)", "TiO2", 79.87, 3.89, 1, "anatase TiO2 + Li+ + e- <-> LiTiO2; practical ~0.5 Li/Ti",
     ("anatase", "TiO2", "anatase TiO2")),
    ("NMC111", "LiNi1/3Mn1/3Co1/3O2", 96.46, 4.76, 1, "LiNi1/3Mn1/3Co1/3O2, 1 Li per f.u.; R-3m",
     ("NMC", "NCM111", "NMC333")),
    ("Ni(OH)2", "Ni(OH)2", 92.71, 3.95, 1, "beta-Ni(OH)2 <-> NiOOH + H+ + e-", ("nickel hydroxide", "NiOH2")),
    ("Prussian blue", "KFe[Fe(CN)6]", 306.90, 1.92, 1,
     "'soluble' PB KFe[Fe(CN)6] <-> K2Fe[Fe(CN)6] (Prussian white), anhydrous density; water content "
     "varies: register measured M and rho", ("PB", "KFeFe(CN)6")),
    ("Prussian blue (insoluble)", "Fe4[Fe(CN)6]3", 859.24, 1.36, 4,
     "Fe4[Fe(CN)6]3 + 4e- + 4K+ -> PW, anhydrous (about 1.76 g/cm3 with 14 H2O)", ("insoluble PB",)),
    ("Ag", "Ag", 107.8682, 10.49, 1, "Ag -> Ag+ + e- (oxidative dissolution)", ("silver",)),
    ("Au", "Au", 196.96657, 19.32, 3, "Au -> Au(III) (e.g. AuCl4-) + 3e-; use electrons=1 for Au(I)",
     ("gold",)),
]

for _name, _formula, _M, _rho, _n, _notes, _aliases in _BUILTIN:
    register_material(_name, formula=_formula, molar_mass=_M / 1000.0, density=_rho * 1000.0, electrons=_n,
                      notes=_notes, aliases=_aliases,
                      reference=_KINETICS_REF if _name not in ("Ag", "Au")
                      else "bulk metal: IUPAC atomic weight, CRC density at 20 C")
