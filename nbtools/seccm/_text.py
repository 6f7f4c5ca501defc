"""Small helpers for text tables: delimiter sniffing and unit scales."""

from __future__ import annotations

import re

import numpy as np

from ..errors import FormatError, UnitsError

SCALE = {
    "a": 1.0, "ma": 1e-3, "ua": 1e-6, "µa": 1e-6, "μa": 1e-6, "na": 1e-9, "pa": 1e-12, "fa": 1e-15,
    "v": 1.0, "mv": 1e-3, "s": 1.0, "ms": 1e-3,
    "m": 1.0, "mm": 1e-3, "um": 1e-6, "µm": 1e-6, "μm": 1e-6, "nm": 1e-9,
}


def scale(unit, what):
    """Factor to SI for a unit string; UnitsError if unknown."""
    u = unit.strip().lower()
    if u not in SCALE:
        raise UnitsError(f"{what}: unknown unit {unit!r}; expected one of A, mA, uA, nA, pA, V, mV, s, ms, m, um, nm")
    return SCALE[u]


def unit_in(header, default=None):
    """Unit written in a column header: 'I (nA)', 'Current/pA', 'E [V]'."""
    m = re.search(r"[\(\[]\s*([^\)\]]+?)\s*[\)\]]", header) or re.search(r"/\s*([A-Za-zµμ]+)\s*$", header)
    return m.group(1) if m else default


def read_table(path):
    """Read a delimited numeric text table with optional header/comment lines.

    Returns (header names, 2-D float array).
    """
    import pandas as pd

    with open(path, "r", encoding="utf-8", errors="replace") as fh:
        head = [fh.readline() for _ in range(50)]
    data_lines = [ln for ln in head if ln.strip() and not ln.lstrip().startswith(("#", "%"))]
    if not data_lines:
        raise FormatError(f"{path}: empty file (no data lines)")
    sample = data_lines[min(len(data_lines) - 1, 3)]
    sep = "\t" if "\t" in sample else ("," if "," in sample else (";" if ";" in sample else r"\s+"))
    splitter = re.compile(r"\s+" if sep == r"\s+" else re.escape(sep))
    skip, names = 0, None
    for ln in head:
        if not ln.strip() or ln.lstrip().startswith(("#", "%")):
            skip += 1
            continue
        first = splitter.split(ln.strip())[0]
        try:
            float(first)
            break
        except ValueError:
            names = [c.strip().strip('"') for c in splitter.split(ln.strip())]
            skip += 1
    try:
        df = pd.read_csv(path, sep=sep, header=None, skiprows=skip, engine="c" if sep != r"\s+" else "python",
                         comment="#")
    except Exception as exc:  # pandas raises many types
        raise FormatError(f"{path}: cannot read as a delimited table ({exc})") from None
    arr = df.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    if arr.size == 0:
        raise FormatError(f"{path}: no numeric rows")
    if names is None or len(names) != arr.shape[1]:
        names = [f"col{i}" for i in range(arr.shape[1])]
    return names, arr
