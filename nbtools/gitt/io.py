"""GITT records from files and arrays, and :func:`analyze` (the one call most users make).

Files are read through the reader registry (:func:`nbtools.io.load_curve`):
EC-Lab ``.mpt`` text exports (GITT, GCPL, chronopotentiometry: ``time/s``,
``Ewe/V``, ``I/mA``), Gamry DTA curves (``T``, ``Vf``, ``Im``) and delimited
tables naming time, potential and current with units. EC-Lab binary ``.mpr``
files are read with galvani (optional). Currents are anodic positive, as
EC-Lab and Gamry write them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, FormatError, MissingFileError, ParameterError
from .analysis import analyze_pulses
from .result import GITTResult

__all__ = ["read", "from_arrays", "analyze"]


def from_arrays(t, E, i, *, source="arrays"):
    """A GITT record from arrays: ``t`` (s), ``E`` (V), ``i`` (A, anodic positive).

    Raises
    ------
    ParameterError
        Arrays of different lengths or not 1-D.
    DataError
        Fewer than 10 samples, NaN/inf values, or time not increasing.
    """
    arrs = []
    for name, a in (("t", t), ("E", E), ("i", i)):
        try:
            v = np.asarray(a, dtype=float)
        except (TypeError, ValueError):
            raise ParameterError(f"{name} must be an array of numbers, found {type(a).__name__}") from None
        if v.ndim != 1:
            raise ParameterError(f"{name} must be 1-D, found shape {v.shape}")
        arrs.append(v)
    if not (arrs[0].size == arrs[1].size == arrs[2].size):
        raise ParameterError(f"t, E and i must have one length, found {arrs[0].size}, {arrs[1].size}, "
                             f"{arrs[2].size}")
    df = pd.DataFrame({"t": arrs[0], "E": arrs[1], "i": arrs[2]})
    _check_frame(df, source)
    df.attrs.update(source=str(source), format="arrays")
    return df


def _check_frame(df, source):
    if len(df) < 10:
        raise DataError(f"{source}: a GITT record needs at least 10 samples, found {len(df)}")
    bad = ~np.isfinite(df[["t", "E", "i"]].to_numpy()).all(axis=1)
    if bad.any():
        raise DataError(f"{source}: {int(bad.sum())} rows hold NaN/inf (first at row {int(np.argmax(bad))}); "
                        "drop them first")
    dt = np.diff(df["t"].to_numpy())
    if np.any(dt <= 0):
        k = int(np.argmax(dt <= 0))
        raise DataError(f"{source}: time must increase; it does not at row {k + 1} "
                        f"({df['t'].iat[k]:.6g} -> {df['t'].iat[k + 1]:.6g} s)")


def _read_mpr(path):
    try:
        from galvani import BioLogic
    except ImportError:
        raise FormatError(f"{path}: reading EC-Lab .mpr files needs the galvani package (pip install "
                          "'nbtools-nanoechem[mpr]'); or export the file as .mpt text from EC-Lab") from None
    with open(path, "rb") as fh:
        data = np.asarray(BioLogic.MPRfile(fh).data)
    names = list(data.dtype.names or ())
    pick = {"t": "time/s", "E": "Ewe/V", "i": next((n for n in ("I/mA", "<I>/mA", "control/V/mA") if n in names),
                                                    None)}
    missing = [k for k, v in pick.items() if v not in names]
    if missing:
        raise FormatError(f"{path}: no time/s, Ewe/V and I/mA columns in the .mpr file; columns found: {names}")
    df = pd.DataFrame({"t": np.asarray(data[pick["t"]], float), "E": np.asarray(data[pick["E"]], float),
                       "i": np.asarray(data[pick["i"]], float) * 1e-3})
    df.attrs.update(source=str(path), format="biologic-mpr", columns=dict(pick), technique=None)
    return df


def _is_eclab_text(path):
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError:
        return False
    return head.lstrip().startswith((b"EC-Lab ASCII FILE", b"BT-Lab ASCII FILE"))


def read(path, *, format=None, **options):
    """Read a galvanostatic pulse record (GITT) from a potentiostat export.

    Parameters
    ----------
    path : str or Path
        EC-Lab or BT-Lab text export (``.mpt`` or ``.txt``; ``Ewe/V`` or
        ``Ecell/V``), EC-Lab ``.mpr`` (with galvani), Gamry ``.dta``, or a table
        with time, potential and current columns named with units.
    format : str, optional
        A curve format of :func:`nbtools.io.list_formats` (``'biologic-curve'``,
        ``'gamry-curve'``, ``'curve-csv'``...); default sniffed.
    **options
        Passed to the reader.

    Returns
    -------
    pandas.DataFrame
        ``t`` (s), ``E`` (V), ``i`` (A); ``attrs`` from the reader (source, format,
        columns, units, technique).

    Raises
    ------
    MissingFileError, FormatError (not a galvanostatic record, e.g. a voltammogram), DataError.
    """
    from ..io import load_curve
    from ..io.sanity import technique_kind

    p = Path(os.fspath(path)).expanduser()
    if not p.exists():
        raise MissingFileError(f"{p}: no such file (expected a GITT export: EC-Lab .mpt, Gamry .dta or a table "
                               "with time, potential and current columns)")
    if (format is None and p.suffix.lower() == ".mpr") or format == "biologic-mpr":
        df = _read_mpr(p)
    else:
        if format is None and _is_eclab_text(p):  # EC-Lab/BT-Lab exports, also saved as .txt
            format = "biologic-curve"
        df = load_curve(p, format=format, **options)
    tech = df.attrs.get("technique")
    if technique_kind(tech) == "voltammetry":
        raise FormatError(f"{p}: the file is a voltammogram (technique {tech!r}), not a galvanostatic pulse record; "
                          "analyse it with nbtools.kinetics or nbtools.stick")
    _check_frame(df, p.name)
    return df


def _as_frame(data):
    if isinstance(data, pd.DataFrame):
        missing = [c for c in ("t", "E", "i") if c not in data.columns]
        if missing:
            raise ParameterError(f"data: a DataFrame needs columns t (s), E (V) and i (A); missing {missing} "
                                 f"among {list(data.columns)}")
        _check_frame(data, data.attrs.get("source", "data"))
        return data
    if isinstance(data, (str, os.PathLike)):
        return read(data)
    if isinstance(data, (tuple, list)) and len(data) == 3:
        return from_arrays(*data)
    raise ParameterError(f"data must be a DataFrame (t, E, i), a file path or a (t, E, i) tuple, found "
                         f"{type(data).__name__}")


def analyze(data, recipe=None, /, **settings) -> GITTResult:
    """Segment a GITT record and analyse every pulse: Weppner-Huggins and spherical diffusion D, OCV, D vs SOC.

    Parameters
    ----------
    data : DataFrame, path or (t, E, i)
        The record (``t`` s, ``E`` V, ``i`` A anodic positive), a file for
        :func:`read`, or arrays.
    recipe : GITTRecipe, dict or JSON, optional
        Settings; keywords (``radius=``, ``capacity=``, ``window=``...) override them.

    Returns
    -------
    GITTResult

    Examples
    --------
    >>> from nbtools.simulate import gitt_sequence
    >>> from nbtools import gitt
    >>> df = gitt_sequence(n_pulses=3, points_pulse=60, points_rest=60, seed=0)
    >>> res = gitt.analyze(df, radius=df.attrs["truth"]["radius"])
    >>> len(res.pulses)
    3
    """
    df = _as_frame(data)
    seg, pulses, ocv, info, rec = analyze_pulses(df, recipe, **settings)
    return GITTResult(data=df, segments=seg, pulses=pulses, ocv=ocv, recipe=rec, info=info)
