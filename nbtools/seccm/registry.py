"""The SECCM map registry: every map a batch run or a widget can make, by name.

``MAPS[name]`` is a :class:`MapEntry` (function, label, unit, the recipe
settings it reads); :func:`make_map` runs one from a
:class:`~nbtools.seccm.recipe.MapRecipe`. User interfaces list ``MAPS``;
adding a map is a function ``(ds, recipe) -> DataArray (y, x)`` in
:mod:`nbtools.seccm.maps`, its settings in
:data:`nbtools.seccm.recipe.MAP_OPTIONS` and one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..errors import ParameterError
from . import maps as M
from .recipe import MAP_OPTIONS, MapRecipe

__all__ = ["MapEntry", "MAPS", "ALIASES", "make_map", "resolve_map"]


@dataclass(frozen=True)
class MapEntry:
    """One map of :data:`MAPS`.

    Attributes
    ----------
    name : str
        Registry key (``MapRecipe.map``).
    label : str
        What menus show.
    unit : str
        SI unit of the values ('' for codes).
    func : callable
        ``func(ds, recipe) -> xarray.DataArray`` (y, x).
    description : str
        One line: what the map shows.
    """

    name: str
    label: str
    unit: str
    func: Callable
    description: str = ""

    @property
    def options(self) -> tuple:
        """The recipe settings this map reads."""
        return MAP_OPTIONS[self.name]

    def recipe(self, **settings) -> MapRecipe:
        """A recipe of this map."""
        return MapRecipe(map=self.name, **settings)


def _peak_field(field):
    def make(ds, recipe):
        return M.peak(ds, recipe)[field]

    make.__name__ = f"peak_{field}"
    return make


_ENTRIES = [
    MapEntry("charge", "Charge", "C", M.charge,
             "charge of a branch (in a window), straight-line baseline: high on active material"),
    MapEntry("current_at", "Current at E", "A", M.current_at, "current where the sweep crosses a potential"),
    MapEntry("peak_potential", "Peak potential", "V", _peak_field("potential"),
             "potential of the anodic or cathodic peak (NaN: no peak above the noise)"),
    MapEntry("peak_current", "Peak current", "A", _peak_field("current"), "current at the peak"),
    MapEntry("peak_prominence", "Peak height", "A", _peak_field("prominence"),
             "peak height above the background line"),
    MapEntry("onset", "Onset potential (current threshold)", "V", M.onset,
             "potential where the current first reaches a threshold"),
    MapEntry("peak_separation", "Peak separation", "V", M.peak_separation,
             "anodic minus cathodic peak potential"),
    MapEntry("status", "Landing quality (status)", "", M.status_map, "the landing-quality label of each pixel"),
    MapEntry("current_density", "Current density at E (per footprint)", "A/m^2", M.current_density,
             "current at a potential over the meniscus footprint area: compares landings of different wetted areas"),
]

#: name -> MapEntry, in menu order
MAPS = {e.name: e for e in _ENTRIES}
if set(MAPS) != set(MAP_OPTIONS):  # pragma: no cover - a map added in one place only
    raise RuntimeError(f"nbtools.seccm: MAPS {sorted(MAPS)} and MAP_OPTIONS {sorted(MAP_OPTIONS)} differ")

#: older map names (PixelSelector params of earlier versions) -> (map, settings)
ALIASES = {
    "peak_potential_anodic": ("peak_potential", {"direction": "anodic"}),
    "peak_potential_cathodic": ("peak_potential", {"direction": "cathodic"}),
    "peak_current_anodic": ("peak_current", {"direction": "anodic"}),
    "peak_current_cathodic": ("peak_current", {"direction": "cathodic"}),
    "current": ("current_at", {}),
    "peak": ("peak_potential", {}),
    "quality": ("status", {}),
}


def resolve_map(name, recipe=None) -> MapRecipe:
    """The recipe of map ``name`` (a key of :data:`MAPS` or :data:`ALIASES`), other settings from ``recipe``."""
    base = recipe if recipe is not None else MapRecipe()
    if name in MAPS:
        return base.replace(map=name) if base.map != name else base
    if name in ALIASES:
        key, settings = ALIASES[name]
        return base.replace(map=key, **settings)
    raise ParameterError(f"map={name!r}: expected one of {', '.join(MAPS)}")


def make_map(ds, recipe=None, /, **params):
    """Make the map a recipe describes: ``MAPS[recipe.map].func(ds, recipe)``.

    Parameters
    ----------
    ds : xarray.Dataset
        SECCM Dataset.
    recipe : MapRecipe, dict or JSON, optional
        The map and its settings; keywords override them
        (``make_map(ds, map='current_at', potential=4.0)``).

    Returns
    -------
    xarray.DataArray
        Map (y, x) with ``attrs['recipe']``; ``make_map(ds, m.attrs['recipe'])``
        reproduces it.

    Examples
    --------
    >>> from nbtools.simulate import seccm_scan
    >>> ds, _ = seccm_scan(6, 5, 200, seed=1)
    >>> m = make_map(ds, map="peak_potential", direction="cathodic")
    >>> m.attrs["units"], m.attrs["recipe"].map
    ('V', 'peak_potential')
    """
    r = MapRecipe.coerce(recipe, **params)
    return MAPS[r.map].func(ds, r)
