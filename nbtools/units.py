"""Unit strings as instruments write them, turned into SI scale factors.

This is the one unit parser of nbtools: every reader (traces, SECCM scans,
curves) goes through it. A reader finds labels such as ``'Current / pA'``,
``'I/A'``, ``'current (nA)'``, ``'<I>/mA'``, ``'Time/sec'``, ``'X (um)'`` or
``'[A]'``; :func:`split_label` separates the quantity name from the unit,
:func:`scale` gives the factor to SI (A, s, V, m) and :func:`label_scale` does
both for a column label. Unknown units raise :class:`nbtools.errors.UnitsError`
naming where the unit was found, never a silent guess.

Examples
--------
>>> from nbtools.units import split_label, scale
>>> split_label("Current / pA")
('Current', 'pA')
>>> scale("pA", "current")
1e-12
>>> scale("min", "time")
60.0
>>> label_scale("X (µm)", "length")
('µm', 1e-06)
"""

from __future__ import annotations

import re

from .errors import UnitsError

__all__ = ["CURRENT", "TIME", "POTENTIAL", "LENGTH", "UNITS", "normalise", "scale", "split_label", "kind_of",
           "label_scale"]

CURRENT = {"A": 1.0, "mA": 1e-3, "uA": 1e-6, "nA": 1e-9, "pA": 1e-12, "fA": 1e-15}
TIME = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "min": 60.0, "h": 3600.0}
POTENTIAL = {"V": 1.0, "mV": 1e-3, "uV": 1e-6}
LENGTH = {"m": 1.0, "mm": 1e-3, "um": 1e-6, "nm": 1e-9}
UNITS = {"current": CURRENT, "time": TIME, "potential": POTENTIAL, "length": LENGTH}
_SI = {"current": "A", "time": "s", "potential": "V", "length": "m"}

# Spellings seen in exports, mapped to the canonical symbols above.
_ALIASES = {
    "amp": "A", "amps": "A", "ampere": "A", "amperes": "A",
    "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "msec": "ms", "millisecond": "ms", "milliseconds": "ms",
    "usec": "us", "microsecond": "us", "microseconds": "us",
    "mins": "min", "minute": "min", "minutes": "min",
    "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "volt": "V", "volts": "V",
    "ma": "mA", "na": "nA", "pa": "pA", "fa": "fA", "ua": "uA", "mv": "mV", "uv": "uV",
    "micron": "um", "microns": "um",
}
_MICRO = ("\u00c2\u00b5", "\u00b5", "\u03bc")  # micro sign, Greek mu, UTF-8 micro read as latin-1


def normalise(unit: str) -> str:
    """Canonical spelling of a unit string (``'µA'`` -> ``'uA'``, ``'sec'`` -> ``'s'``)."""
    u = str(unit).strip().strip("[]()").strip()
    for m in _MICRO:
        u = u.replace(m, "u")
    u = re.sub(r"\s+vs[.,]?\s.*$", "", u)  # Gamry: 'V vs. Ref.'
    return _ALIASES.get(u, _ALIASES.get(u.lower(), u))


def kind_of(unit: str) -> str | None:
    """``'current'``, ``'time'`` or ``'potential'`` for a known unit, else None."""
    u = normalise(unit)
    for kind, table in UNITS.items():
        if u in table:
            return kind
    return None


def scale(unit: str | None, kind: str, *, where: str = "") -> float:
    """Factor that converts values in ``unit`` to SI for ``kind``.

    Parameters
    ----------
    unit : str
        Unit as found (``'pA'``, ``'µA'``, ``'sec'``, ``'ms'``...).
    kind : {'current', 'time', 'potential', 'length'}
    where : str, optional
        File and column the unit came from, quoted in the error message.

    Raises
    ------
    UnitsError
        The unit is missing or not a known unit of ``kind``.
    """
    if kind not in UNITS:
        raise UnitsError(f"unknown quantity kind {kind!r}; expected one of {sorted(UNITS)}")
    table = UNITS[kind]
    at = f" in {where}" if where else ""
    if unit is None or not str(unit).strip():
        raise UnitsError(
            f"no {kind} unit found{at}; expected one of {', '.join(table)}. "
            f"Pass {kind}_unit='...' to say which unit the values are in."
        )
    u = normalise(unit)
    if u not in table:
        other = kind_of(u)
        hint = f" (that is a {other} unit)" if other else ""
        raise UnitsError(
            f"unknown {kind} unit {unit!r}{at}{hint}; expected one of "
            f"{', '.join(table)} (SI: {_SI[kind]}). Pass {kind}_unit='...' to override."
        )
    return table[u]


# 'Current / pA', 'I/A', '<I>/mA', 'Time/sec'  |  'current (nA)', 'I [pA]', '[A]'  |  'current_pA'
_SLASH = re.compile(r"^(?P<name>.*?)\s*/\s*(?P<unit>[^/()\[\]]+?)\s*$")
_BRACKET = re.compile(r"^(?P<name>.*?)\s*[\[(]\s*(?P<unit>[^\[\]()]+?)\s*[\])]\s*$")
_SUFFIX = re.compile(r"^(?P<name>.*?)[_\s]+(?P<unit>[^_\s]+)$")


def split_label(label: str) -> tuple[str, str | None]:
    """Split a column label into ``(name, unit)``; unit is None when there is none.

    >>> split_label("current (nA)")
    ('current', 'nA')
    >>> split_label("I/A")
    ('I', 'A')
    >>> split_label("[A]")
    ('', 'A')
    >>> split_label("Im")
    ('Im', None)
    """
    text = str(label).strip()
    for pattern in (_BRACKET, _SLASH):
        m = pattern.match(text)
        if m:
            return m.group("name").strip(), m.group("unit").strip()
    m = _SUFFIX.match(text)
    if m and kind_of(m.group("unit")) and normalise(m.group("unit")) != "m":  # 'time_m' is not metres
        return m.group("name").strip(), m.group("unit")
    return text, None


def label_scale(label: str, kind: str, *, default: str | None = None, override: str | None = None,
                where: str = "") -> tuple[str, float]:
    """Unit of a column label and its factor to SI: ``(unit, factor)``.

    Parameters
    ----------
    label : str
        Column or channel label as written (``'E (mV)'``, ``'Current1 (A)'``).
    kind : {'current', 'time', 'potential', 'length'}
    default : str, optional
        Unit assumed when the label states none (the caller documents it);
        without one a label with no unit raises UnitsError.
    override : str, optional
        Unit given by the user: wins over the label.
    where : str, optional
        File and column, quoted in the error message.

    Examples
    --------
    >>> label_scale("I/nA", "current")
    ('nA', 1e-09)
    >>> label_scale("E", "potential", default="V")
    ('V', 1.0)
    """
    unit = override or split_label(label)[1] or default
    return unit, scale(unit, kind, where=where)
