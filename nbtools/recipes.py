"""Recipes: the parameters of one analysis as a frozen, validated, JSON-serialisable object.

A recipe is the single place where an analysis setting is named, checked and
saved. Analysis functions accept one (``find_events(trace, recipe)``; the
keyword form ``find_events(trace, threshold=6)`` builds the same recipe),
results carry the recipe that made them (``events.attrs["recipe"]``,
``map.attrs["recipe"]``, ``fit_result.recipe``), widgets edit one, and a
batch run applies one to many files. Running an analysis on the same input
with a result's recipe reproduces the result.

Writing a recipe class (one per analysis, in the technique's own
``recipe`` module)::

    @register
    @dataclass(frozen=True)
    class ChargeMapRecipe(Recipe):
        kind: ClassVar[str] = "seccm.charge"
        window: tuple | None = param(None, check_window, "potential window", "V")

Each field's ``check(name, value)`` returns the normalised value or raises
:class:`~nbtools.errors.ParameterError`; cross-field rules go in
``_check_together``. The checks below (:func:`check_number`,
:func:`check_choice`, :func:`check_window`, ...) are the one validator per
concept that every recipe reuses.

Public API
----------
Recipe, register, param, from_json, kinds
check_number, check_int, check_choice, check_bool, check_window, check_optional, check_mapping
FrozenDict
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from importlib import import_module
from pathlib import Path
from typing import Any, Callable, ClassVar

from .errors import FormatError, MissingFileError, ParameterError

__all__ = [
    "Recipe", "register", "param", "from_json", "kinds", "SCHEMA_VERSION", "FrozenDict",
    "check_number", "check_int", "check_choice", "check_bool", "check_window", "check_optional",
    "check_mapping", "check_text",
]

#: version of the JSON layout written by :meth:`Recipe.to_json`
SCHEMA_VERSION = 1

#: modules that define recipes (imported by :func:`from_json` to find a kind)
RECIPE_MODULES = ("nbtools.impact.recipe", "nbtools.seccm.recipe", "nbtools.kinetics.recipe",
                  "nbtools.gitt.recipe")

_KINDS: dict[str, type] = {}


# --------------------------------------------------------------------------- values
class FrozenDict(dict):
    """A read-only dict (recipe fields that map names to values)."""

    def _ro(self, *args, **kwargs):
        raise TypeError("recipe values are read-only; use recipe.replace(...) for a changed copy")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _ro

    def __hash__(self):
        return hash(_canonical(self))

    def __deepcopy__(self, memo):
        return self

    def __copy__(self):
        return self

    def __reduce__(self):
        return (FrozenDict, (dict(self),))


def _freeze(value):
    """Nested lists -> tuples, dicts -> FrozenDict (hashable, read-only)."""
    if isinstance(value, dict):
        return FrozenDict({str(k): _freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _jsonable(value):
    """Plain JSON values (tuples -> lists, NumPy scalars -> Python, inf -> 'inf')."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "shape", None) == ():
        value = value.item()  # NumPy scalar
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ParameterError(f"recipe value {value!r} ({type(value).__name__}) cannot be written as JSON")


def _canonical(value) -> str:
    return json.dumps(_jsonable(value), sort_keys=True, separators=(",", ":"))


# --------------------------------------------------------------------------- checks
def _number(name, value, unit=""):
    if isinstance(value, bool):
        raise ParameterError(f"{name} must be a number{_in(unit)}, found {value!r}")
    if isinstance(value, str) and value.strip().lower() in ("inf", "+inf", "-inf", "nan"):
        value = float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number{_in(unit)}, found {value!r}") from None


def _in(unit):
    return f" in {unit}" if unit else ""


def check_number(name, value, *, min=None, max=None, min_open=False, max_open=False, finite=True,
                 unit="", literals=()):
    """``value`` as a float within the limits, or one of ``literals`` (``'auto'``, None ...).

    Examples
    --------
    >>> check_number("threshold", "6", min=0, min_open=True)
    6.0
    >>> check_number("window", "auto", literals=("auto",))
    'auto'
    """
    for lit in literals:
        if value is lit or (isinstance(value, str) and isinstance(lit, str) and value.strip().lower() == lit):
            return lit
    alt = " or " + " / ".join(repr(v) for v in literals) if literals else ""
    v = _number(name, value, unit)
    if math.isnan(v) or (finite and math.isinf(v)):
        raise ParameterError(f"{name} must be a finite number{_in(unit)}{alt}, found {value!r}")
    lo_bad = min is not None and (v <= min if min_open else v < min)
    hi_bad = max is not None and (v >= max if max_open else v > max)
    if lo_bad or hi_bad:
        lo = "" if min is None else f"{'>' if min_open else '>='} {min:g}"
        hi = "" if max is None else f"{'<' if max_open else '<='} {max:g}"
        rng = " and ".join(s for s in (lo, hi) if s)
        raise ParameterError(f"{name} must be {rng}{_in(unit)}{alt}, found {value!r}")
    return v


def check_int(name, value, *, min=None, max=None, literals=()):
    """``value`` as an int within the limits, or one of ``literals``."""
    for lit in literals:
        if value is lit or (isinstance(value, str) and isinstance(lit, str) and value.strip().lower() == lit):
            return lit
    v = check_number(name, value, min=min, max=max, literals=())
    if v != int(v):
        raise ParameterError(f"{name} must be a whole number, found {value!r}")
    return int(v)


def check_choice(name, value, choices):
    """``value`` as one of ``choices`` (a sequence, or a dict alias -> canonical name).

    Strings compare case-insensitively.

    Examples
    --------
    >>> check_choice("polarity", "Anodic", {"positive": "positive", "anodic": "positive"})
    'positive'
    """
    table = choices if isinstance(choices, dict) else {c: c for c in choices}
    key = value.strip().lower() if isinstance(value, str) else value
    for k, v in table.items():
        if k == key or (isinstance(k, str) and isinstance(key, str) and k.lower() == key):
            return v
    shown = ", ".join(repr(c) for c in dict.fromkeys(table.values()))
    raise ParameterError(f"{name} must be one of {shown}, found {value!r}")


def check_bool(name, value):
    """``value`` as a bool (True/False, 1/0, 'true'/'false', 'yes'/'no')."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no", "1", "0"):
        return value.strip().lower() in ("true", "yes", "1")
    raise ParameterError(f"{name} must be True or False, found {value!r}")


def check_text(name, value):
    """``value`` as a non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise ParameterError(f"{name} must be a non-empty text, found {value!r}")
    return value.strip()


def check_window(name, value, *, unit="", allow_none=True):
    """A range ``(low, high)`` of two finite numbers with low < high (given in either order), or None.

    The one check of every window argument (potential windows in V, time windows
    in s, fit ranges in the x unit).

    Examples
    --------
    >>> check_window("window", [4.3, 3.9], unit="V")
    (3.9, 4.3)
    """
    if value is None and allow_none:
        return None
    what = f"{name} must be a range (low, high) of two numbers{_in(unit)}"
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        none = " or None" if allow_none else ""
        raise ParameterError(f"{what}{none}, found {value!r}")
    a, b = (_number(name, v, unit) for v in value)
    if not (math.isfinite(a) and math.isfinite(b)):
        raise ParameterError(f"{what}, both finite, found {value!r}")
    if a == b:
        raise ParameterError(f"{what} with low < high, found an empty range {value!r}")
    return (min(a, b), max(a, b))


def check_optional(check):
    """A check that also accepts None."""

    def checked(name, value, **kwargs):
        return None if value is None else check(name, value, **kwargs)

    checked.__name__ = f"optional_{getattr(check, '__name__', 'check')}"
    return checked


def check_mapping(name, value, *, keys=None, values=None):
    """A dict of ``name -> value`` (None means empty), keys among ``keys`` when given;
    each value passed through ``values(f"{name}[{key}]", value)`` when given."""
    if value is None:
        return FrozenDict()
    if not isinstance(value, dict):
        raise ParameterError(f"{name} must be a mapping of names to values, found {type(value).__name__}")
    out = {}
    for k, v in value.items():
        if keys is not None and k not in keys:
            raise ParameterError(f"{name}: unknown name {k!r}; known: {', '.join(sorted(keys))}")
        out[str(k)] = values(f"{name}[{k!r}]", v) if values else v
    return _freeze(out)


# --------------------------------------------------------------------------- base
def param(default, check: Callable | None = None, doc: str = "", unit: str = "", **check_kwargs):
    """A recipe field: its default, its check, a one-line description and its unit.

    ``check(name, value, **check_kwargs)`` returns the normalised value or raises
    ParameterError. Mutable defaults (dict, list) are frozen.
    """
    meta = dict(check=check, doc=doc, unit=unit, check_kwargs=check_kwargs)
    default = _freeze(default)
    return dataclasses.field(default=default, metadata=meta)


@dataclasses.dataclass(frozen=True)
class Recipe:
    """Base class of every recipe: frozen, validated at construction, JSON round trip.

    Subclasses are frozen dataclasses whose fields are made by :func:`param`,
    with a class attribute ``kind`` (``"impact.events"``, ``"seccm.charge"``,
    ...) and :func:`register` as decorator.
    """

    kind: ClassVar[str] = ""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            check = f.metadata.get("check")
            value = getattr(self, f.name)
            if check is not None:
                value = check(f.name, value, **f.metadata.get("check_kwargs", {}))
            object.__setattr__(self, f.name, _freeze(value))
        self._check_together()

    def _check_together(self) -> None:
        """Rules between fields (override); raise ParameterError."""

    # ------------------------------------------------------------- building
    @classmethod
    def fields(cls) -> tuple[str, ...]:
        """Names of the recipe's settings, in order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def coerce(cls, recipe=None, /, **params):
        """The recipe an analysis function runs with.

        ``recipe`` is an instance (of this class), a dict or JSON text/path of
        one, or None (defaults); keyword ``params`` override its settings.
        Unknown names raise ParameterError listing the known ones.
        """
        if recipe is None:
            base = None
        elif isinstance(recipe, cls):
            base = recipe
        elif isinstance(recipe, Recipe):
            raise ParameterError(
                f"expected a {cls.__name__} ({cls.kind!r}), found a {type(recipe).__name__} ({recipe.kind!r})")
        elif isinstance(recipe, (dict, str, os.PathLike)):
            base = from_json(recipe)
            if not isinstance(base, cls):
                raise ParameterError(
                    f"expected a {cls.__name__} ({cls.kind!r}) recipe, found {type(base).__name__} ({base.kind!r})")
        else:
            raise ParameterError(
                f"recipe must be a {cls.__name__}, a dict, JSON text or a .json file, found {type(recipe).__name__}")
        cls._check_names(params)
        if base is None:
            return cls(**params)
        return base.replace(**params) if params else base

    @classmethod
    def _check_names(cls, params):
        unknown = sorted(set(params) - set(cls.fields()))
        if unknown:
            raise ParameterError(
                f"unknown {cls.__name__} setting(s) {unknown}; known: {', '.join(cls.fields())}")

    def replace(self, **changes):
        """A copy with some settings changed (validated again)."""
        self._check_names(changes)
        return dataclasses.replace(self, **changes)

    def as_kwargs(self) -> dict:
        """Settings as keyword arguments (``find_events(trace, **recipe.as_kwargs())``)."""
        return {name: _thaw(getattr(self, name)) for name in self.fields()}

    def changed(self) -> dict:
        """Settings that differ from the defaults."""
        default = type(self)()
        return {k: v for k, v in self.as_kwargs().items() if _canonical(v) != _canonical(getattr(default, k))}

    # ------------------------------------------------------------- JSON
    def to_dict(self) -> dict:
        """``{"recipe": kind, "schema": ..., "nbtools": version, "params": {...}}`` (plain JSON values)."""
        from . import __version__

        return {"recipe": self.kind, "schema": SCHEMA_VERSION, "nbtools": __version__,
                "params": _jsonable(self.as_kwargs())}

    def to_json(self, path=None, *, indent: int = 2, overwrite: bool = False) -> str:
        """The recipe as JSON text; also written to ``path`` when given.

        An existing file is never replaced unless ``overwrite=True``.
        """
        text = json.dumps(self.to_dict(), indent=indent, sort_keys=False) + "\n"
        if path is not None:
            p = Path(os.fspath(path)).expanduser()
            if p.exists() and not overwrite:
                raise ParameterError(f"{p}: file exists; choose another name or pass overwrite=True")
            if not p.parent.is_dir():
                raise ParameterError(f"{p}: folder {p.parent} does not exist")
            tmp = p.with_name(p.name + ".part")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(p)
        return text

    @classmethod
    def from_json(cls, source):
        """Read a recipe of this class (see :func:`from_json`)."""
        return cls.coerce(source)

    def digest(self) -> str:
        """SHA-256 of the kind and settings (not the nbtools version): same digest, same analysis."""
        return hashlib.sha256(_canonical({"recipe": self.kind, "params": self.as_kwargs()}).encode()).hexdigest()

    def describe(self):
        """Settings as a table: name, value, unit, description, changed from default."""
        import pandas as pd

        default = type(self)()
        rows = []
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            rows.append(dict(name=f.name, value=_thaw(v), unit=f.metadata.get("unit", ""),
                             description=f.metadata.get("doc", ""),
                             changed=_canonical(v) != _canonical(getattr(default, f.name))))
        return pd.DataFrame(rows)

    def __hash__(self):
        return hash((self.kind, _canonical(self.as_kwargs())))


def _thaw(value):
    if isinstance(value, dict):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_thaw(v) for v in value)
    return value


def register(cls):
    """Class decorator: make a recipe class known to :func:`from_json` by its ``kind``."""
    if not cls.kind:
        raise TypeError(f"{cls.__name__} needs a class attribute kind (e.g. 'impact.events')")
    other = _KINDS.get(cls.kind)
    if other is not None and other.__qualname__ != cls.__qualname__:
        raise TypeError(f"recipe kind {cls.kind!r} is already used by {other.__name__}")
    # frozen dataclasses with eq=True would set __hash__ = None in the subclass
    cls.__hash__ = Recipe.__hash__
    _KINDS[cls.kind] = cls
    return cls


def kinds() -> dict[str, type]:
    """Every recipe kind -> its class (importing the technique modules)."""
    for mod in RECIPE_MODULES:
        try:
            import_module(mod)
        except ModuleNotFoundError as exc:  # a technique without recipes yet
            if exc.name != mod:
                raise
    return dict(_KINDS)


def _read_source(source) -> dict:
    if isinstance(source, dict):
        return source
    if isinstance(source, os.PathLike) or (isinstance(source, str) and not source.lstrip().startswith("{")):
        p = Path(os.fspath(source)).expanduser()
        if not p.is_file():
            raise MissingFileError(f"{p}: no such recipe file; expected a .json file saved by nbtools")
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise FormatError(f"{p}: not a text file; expected a recipe (.json) saved by nbtools") from None
        where = str(p)
    else:
        text, where = source, "recipe text"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(f"{where}: not valid JSON ({exc.msg} at line {exc.lineno}); "
                          "expected a recipe saved by nbtools") from None
    if not isinstance(data, dict):
        raise FormatError(f"{where}: expected a JSON object with 'recipe' and 'params', found {type(data).__name__}")
    return data


def from_json(source) -> Recipe:
    """Read any recipe: JSON text, a path of a ``.json`` file, or a dict from :meth:`Recipe.to_dict`.

    Examples
    --------
    >>> from nbtools.impact.recipe import EventRecipe  # doctest: +SKIP
    >>> from_json(EventRecipe(threshold=6).to_json()) == EventRecipe(threshold=6)  # doctest: +SKIP
    True
    """
    data = _read_source(source)
    kind = data.get("recipe")
    if not isinstance(kind, str):
        raise FormatError(f"not an nbtools recipe: no 'recipe' kind among its keys {sorted(data)}")
    schema = data.get("schema", SCHEMA_VERSION)
    if not isinstance(schema, int) or schema > SCHEMA_VERSION:
        raise FormatError(f"recipe schema {schema!r} is newer than this nbtools understands "
                          f"({SCHEMA_VERSION}); update nbtools (it was written by nbtools {data.get('nbtools')})")
    cls = _KINDS.get(kind) or kinds().get(kind)
    if cls is None:
        raise FormatError(f"unknown recipe kind {kind!r}; known: {', '.join(sorted(kinds()))}")
    params = data.get("params", {})
    if not isinstance(params, dict):
        raise FormatError(f"recipe {kind!r}: 'params' must be a JSON object, found {type(params).__name__}")
    cls._check_names(params)
    return cls(**params)
