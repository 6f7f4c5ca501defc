"""Checks of what a file says about itself: the technique recorded, and whether the current is plausible.

- :func:`technique_kind` turns the technique a file names (a Gamry ``TAG``,
  the EC-Lab technique line, the CHI technique line) and its column labels into
  what the data are: ``'current-time'``, ``'voltammetry'`` (current against a
  potential sweep: a curve), ``'galvanostatic'`` (potential under imposed
  currents: GITT, GCPL, chronopotentiometry; a curve), ``'impedance'`` (a
  spectrum against frequency) or None (not said). :func:`refuse_technique` raises for what
  :func:`nbtools.io.load_trace` must not read as a recording.
- :func:`check_current_magnitude` warns when the current is implausible for the
  class of instrument (a channel labelled ``A`` holding pA-scale numbers reads
  as amperes) and suggests ``current_unit=``.
"""

from __future__ import annotations

import re
import warnings

import numpy as np

from ..errors import FormatError, NbtoolsWarning

__all__ = ["technique_kind", "refuse_technique", "check_current_magnitude", "CURRENT_LIMITS"]

_IMPEDANCE = re.compile(r"impedance|(^|[^a-z])(p|g|s)?eis|a\.?\s?c\.?\s+impedance|\bzcurve\b", re.IGNORECASE)
_VOLTAMMETRY = re.compile(
    r"voltammetr|^\s*(cv|lsv|dpv|swv|npv|rpv|acv|cva|cpc|potdyn|tafel|lpr)\s*$|cyclic polari[sz]ation|"
    r"linear polari[sz]ation|potentiodynamic|tafel|sweep", re.IGNORECASE)
_CURRENT_TIME = re.compile(
    r"amperometr|chrono\s*amp|chronoa\b|^\s*chronoa|i-t\b|potentiostatic|bulk electrolysis|multi-potential steps|"
    r"electrochemical noise|^\s*(ecn|vfp600|ca)\s*$|current.{0,10}time", re.IGNORECASE)
_GALVANOSTATIC = re.compile(
    r"galvanostat|chronopotentiometr|intermittent titration|modulo bat|multi-current steps|gitt|"
    r"pwr(charge|discharge)|^\s*(gcpl|chronop|cp)\s*$", re.IGNORECASE)
_FREQ_COL = re.compile(r"^\s*(freq(uency)?|f)\s*([/(\[]\s*hz|$)", re.IGNORECASE)
_Z_COL = re.compile(r"(z\s*(real|imag|re|im|mod)|re\s*\(\s*z\s*\)|im\s*\(\s*z\s*\)|\|z\||zmod|zreal|zimag|ohm)",
                    re.IGNORECASE)

#: Largest plausible |current| (A, 99th percentile) per class of instrument, and the smallest.
CURRENT_LIMITS = {
    "patch-clamp or nanopore amplifier": 1e-5,
    "potentiostat": 3.0,
    "unknown instrument": 1.0,
}
_SMALLEST = 1e-16


def technique_kind(name: str | None, columns=()) -> str | None:
    """``'impedance'``, ``'voltammetry'``, ``'current-time'`` or None from a technique name and column labels.

    >>> technique_kind("Cyclic Voltammetry"), technique_kind("EISPOT"), technique_kind("CHRONOA")
    ('voltammetry', 'impedance', 'current-time')
    >>> technique_kind("Galvanostatic Intermittent Titration Technique")
    'galvanostatic'
    >>> technique_kind(None, ["freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm"])
    'impedance'
    """
    cols = [str(c) for c in columns]
    if any(_FREQ_COL.match(c) for c in cols) and any(_Z_COL.search(c) for c in cols):
        return "impedance"
    if not name:
        return None
    text = str(name).strip()
    if _IMPEDANCE.search(text):
        return "impedance"
    if _CURRENT_TIME.search(text):
        return "current-time"
    if _GALVANOSTATIC.search(text):
        return "galvanostatic"
    if _VOLTAMMETRY.search(text):
        return "voltammetry"
    return None


def refuse_technique(path, name: str | None, columns=(), *, instrument: str = "") -> None:
    """FormatError when the file says it is an impedance spectrum or a voltammogram (not a recording)."""
    kind = technique_kind(name, columns)
    said = f"{instrument} technique {name!r}".strip() if name else "its columns"
    if kind == "impedance":
        raise FormatError(
            f"{path}: the file is an impedance spectrum ({said}: impedance against frequency), not a "
            "current-time recording; nbtools analyses current-time recordings, SECCM scans and curves. "
            "Fit impedance spectra with the instrument software or a package such as impedance.py"
        )
    if kind == "voltammetry":
        raise FormatError(
            f"{path}: the file is a voltammogram ({said}: current against a potential sweep), not a "
            "current-time recording; read it as a curve with nbtools.io.load_curve(path) "
            "(columns t, E, i), or nbtools.io.load(path)"
        )


def _sample(values, limit=200_000, blocks=20):
    """The values, or ``blocks`` contiguous stretches spread over them (a memory map reads few pages)."""
    n = len(values)
    if n <= limit:
        s = np.asarray(values, dtype=np.float64)
    else:
        size = limit // blocks
        starts = np.linspace(0, n - size, blocks).astype(np.int64)
        s = np.concatenate([np.asarray(values[a:a + size], dtype=np.float64) for a in starts])
    return s[np.isfinite(s)]


def check_current_magnitude(values, *, scale: float = 1.0, offset: float = 0.0, meta: dict, path,
                            instrument: str = "unknown instrument") -> str | None:
    """Warn (NbtoolsWarning, and ``meta['warnings']``) when the current is implausible for the instrument.

    Parameters
    ----------
    values : array_like
        The current samples, or raw samples with ``scale``/``offset`` to amperes
        (a memory map is only sampled: at most 200,000 values are read).
    meta : dict
        The trace meta: ``units['current']`` is quoted, the warning appended.
    instrument : str
        A key of :data:`CURRENT_LIMITS`.

    Returns
    -------
    str or None
        The warning given.
    """
    s = _sample(values)
    if s.size == 0:
        return None
    a = np.abs(s * scale + offset)
    top = float(np.percentile(a, 99))
    hi = CURRENT_LIMITS.get(instrument, CURRENT_LIMITS["unknown instrument"])
    unit = (meta.get("units") or {}).get("current") or "A"
    msg = None
    if top > hi:
        in_file = top / scale if scale else top
        msg = (f"{path}: the current reaches {top:.3g} A (99th percentile of |I|), implausible for a "
               f"{instrument} (at most about {hi:g} A); the column says {unit!r}. If the numbers are in another "
               f"unit, pass current_unit= (e.g. current_unit='pA' would make it {in_file * 1e-12:.3g} A)")
    elif 0 < top < _SMALLEST:
        msg = (f"{path}: the current never exceeds {top:.3g} A (99th percentile of |I|), below any instrument's "
               f"noise; the column says {unit!r}. If the numbers are already amperes, pass current_unit='A'")
    if msg:
        meta.setdefault("warnings", []).append(msg)
        warnings.warn(msg, NbtoolsWarning, stacklevel=3)
    return msg
