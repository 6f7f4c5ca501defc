"""Reading a student's answer: a number, a number with its unit, or a word.

A bare number is read in the unit the exercise asks for (``25`` for "in fC"
means 25 fC); a text or a ``(value, unit)`` pair carries its own unit
(``"2.5e-14 C"``, ``"25 fC"``, ``(25, "fC")``). Every value is turned into SI
(C, m, 1/s, A, V, s, m^2/s, mol/m^3) before it is compared.
"""

from __future__ import annotations

import numbers
import re

import numpy as np

from ..errors import ParameterError

__all__ = ["KINDS", "parse_answer", "unit_factor", "Unanswered"]

_SI_PREFIX = {"a": 1e-18, "f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1.0, "k": 1e3, "M": 1e6}


def _prefixed(base: str, prefixes: str = "afpnumk", power: int = 1) -> dict[str, float]:
    return {p + base: _SI_PREFIX[p] ** power for p in [""] + list(prefixes)}


# kind -> {normalised unit: factor to SI}; "" is the dimensionless / count case
KINDS: dict[str, dict[str, float]] = {
    "count": {"": 1.0, "events": 1.0, "event": 1.0, "pixels": 1.0, "pixel": 1.0, "landings": 1.0},
    "number": {"": 1.0},
    "charge": _prefixed("C"),
    "length": {**_prefixed("m", "pnum"), "cm": 1e-2, "Å": 1e-10},
    "current": _prefixed("A"),
    "potential": _prefixed("V", "num"),
    "time": {**_prefixed("s", "pnum"), "min": 60.0, "h": 3600.0},
    "frequency": {**_prefixed("Hz", "munk"), "1/s": 1.0, "/s": 1.0, "s-1": 1.0, "events/s": 1.0,
                  "event/s": 1.0, "persecond": 1.0, "pers": 1.0, "1/min": 1 / 60.0, "/min": 1 / 60.0,
                  "events/min": 1 / 60.0},
    "rate": {"1/s": 1.0, "/s": 1.0, "s-1": 1.0, "Hz": 1.0, "1/ms": 1e3, "ms-1": 1e3, "1/min": 1 / 60.0},
    "diffusion": {"m2/s": 1.0, "cm2/s": 1e-4, "um2/s": 1e-12, "nm2/s": 1e-18, "mm2/s": 1e-6,
                  "m2s-1": 1.0, "cm2s-1": 1e-4},
    "concentration": {"mol/m3": 1.0, "molm-3": 1.0, "mM": 1.0, "M": 1e3, "mol/L": 1e3, "mol/l": 1e3,
                      "uM": 1e-3, "nM": 1e-6, "pM": 1e-9, "fM": 1e-12},
}

_NUMBER = re.compile(r"^\s*([-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:\s*[eE]\s*[-+]?\d+|\s*[x×*]\s*10\s*\^?\s*[-+−]?\d+)?)\s*(.*?)\s*$")


class Unanswered:
    """Marker: the exercise cell still holds ``...`` or ``None``."""


def _normalise_unit(unit: str) -> str:
    u = unit.strip().replace("µ", "u").replace("μ", "u").replace("²", "2").replace("³", "3")
    u = u.replace("⁻¹", "-1").replace("^", "").replace("**", "").replace(" ", "").replace("·", "")
    u = u.replace("per", "/") if u.startswith("events") or u.startswith("event") else u
    return u.replace("−", "-")


def unit_factor(unit: str, kind: str, *, exercise: str = "") -> float:
    """SI factor of ``unit`` for a quantity of ``kind`` (raises ParameterError naming the accepted units)."""
    table = KINDS[kind]
    u = _normalise_unit(unit)
    if u in table:
        return table[u]
    loose = [k for k in table if k.lower() == u.lower()]
    if len(loose) == 1:
        return table[loose[0]]
    where = f"exercise {exercise}: " if exercise else ""
    shown = ", ".join(k for k in table if k) or "no unit (a plain number)"
    raise ParameterError(f"{where}the unit {unit!r} is not one I can read for a {kind}; use one of: {shown}")


def _to_float(text: str) -> float:
    t = text.replace(",", ".").replace("−", "-").replace(" ", "")
    m = re.match(r"^([-+]?[\d.]+)[x×*]10\^?([-+]?\d+)$", t)
    if m:
        return float(m.group(1)) * 10.0 ** int(m.group(2))
    return float(t)


def parse_answer(answer, kind: str, unit: str, *, exercise: str = ""):
    """Turn ``answer`` into ``(value_SI, shown)`` or ``(word, shown)`` for choice questions.

    Parameters
    ----------
    answer : number, str, (number, str) or 1-element array
        What the student gave. ``...`` or ``None`` give ``(Unanswered, "")``.
    kind : str
        A key of :data:`KINDS`, or ``"choice"``.
    unit : str
        The unit a bare number is read in (the one the question asks for).

    Returns
    -------
    (float or str or type, str)
        The value in SI units (or the lower-case word for ``"choice"``) and a short
        text of how it was read (e.g. ``"25 fC"``).
    """
    where = f"exercise {exercise}: " if exercise else ""
    if answer is Ellipsis or answer is None:
        return Unanswered, ""
    if kind == "choice":
        if not isinstance(answer, str):
            raise ParameterError(f"{where}expected a word (text in quotes), found {type(answer).__name__} {answer!r}")
        return answer.strip().lower(), repr(answer.strip())
    given_unit = None
    value = answer
    if isinstance(answer, tuple) and len(answer) == 2 and isinstance(answer[1], str):
        value, given_unit = answer
    if isinstance(value, str):
        m = _NUMBER.match(value)
        if not m:
            raise ParameterError(f"{where}could not read a number in {value!r}; write it like '25', '25 {unit}' "
                                 f"or '2.5e-14'".replace(" ''", ""))
        num = _to_float(m.group(1))
        text_unit = m.group(2)
        if text_unit and given_unit:
            raise ParameterError(f"{where}two units given ({text_unit!r} and {given_unit!r}); give one")
        given_unit = given_unit or text_unit or None
        value = num
    if isinstance(value, bool):
        raise ParameterError(f"{where}expected a number, found {value!r}")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(f"{where}expected a number (or text such as '25 {unit}'), found "
                             f"{type(value).__name__}".replace(" ''", "")) from None
    if arr.size != 1:
        raise ParameterError(f"{where}expected one number, found {arr.size} values (shape {arr.shape}); "
                             "pick the one the question asks for")
    num = float(arr.reshape(()))
    if not np.isfinite(num):
        raise ParameterError(f"{where}the answer is {num}, not a finite number: check the calculation that gave it")
    if kind == "count" and not float(num).is_integer():
        raise ParameterError(f"{where}expected a whole number (a count), found {num:g}")
    if given_unit:
        factor = unit_factor(given_unit, kind, exercise=exercise)
        shown = f"{num:g} {given_unit.strip()}"
    else:
        factor = unit_factor(unit, kind, exercise=exercise) if unit else 1.0
        shown = f"{num:g} {unit}".strip()
    if isinstance(answer, numbers.Integral) and kind == "count":
        shown = f"{int(answer)}"
    return num * factor, shown
