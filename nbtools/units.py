"""Unit strings as instruments write them, turned into SI scale factors.

A reader finds labels such as ``'Current / pA'``, ``'I/A'``, ``'current (nA)'``,
``'<I>/mA'``, ``'Time/sec'`` or ``'[A]'``; :func:`split_label` separates the
quantity name from the unit and :func:`scale` gives the factor to SI
(A, s, V). Unknown units raise :class:`nbtools.errors.UnitsError` naming where
the unit was found, never a silent guess.

Examples
--------
>>> from nbtools.units import split_label, scale
>>> split_label("Current / pA")
('Current', 'pA')
>>> scale("pA", "current")
1e-12
>>> scale("min", "time")
60.0
"""

from __future__ import annotations

import re

from .errors import UnitsError

__all__ = ["CURRENT", "TIME", "POTENTIAL", "UNITS", "normalise", "scale", "split_label", "kind_of"]

CURRENT = {"A": 1.0, "mA": 1e-3, "uA": 1e-6, "nA": 1e-9, "pA": 1e-12, "fA": 1e-15}
TIME = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "min": 60.0, "h": 3600.0}
POTENTIAL = {"V": 1.0, "mV": 1e-3, "uV": 1e-6}
UNITS = {"current": CURRENT, "time": TIME, "potential": POTENTIAL}
_SI = {"current": "A", "time": "s", "potential": "V"}

# Spellings seen in exports, mapped to the canonical symbols above.
_ALIASES = {
    "amp": "A", "amps": "A", "ampere": "A", "amperes": "A",
    "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "msec": "ms", "millisecond": "ms", "milliseconds": "ms",
    "usec": "us", "microsecond": "us", "microseconds": "us",
    "mins": "min", "minute": "min", "minutes": "min",
    "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "volt": "V", "volts": "V",
    "na": "nA", "pa": "pA", "fa": "fA", "ua": "uA",
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
    kind : {'current', 'time', 'potential'}
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
    if m and kind_of(m.group("unit")):
        return m.group("name").strip(), m.group("unit")
    return text, None
