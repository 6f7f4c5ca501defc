"""Writing an event table for people and for programs, never overwriting a file.

- CSV, for a spreadsheet: every column with its unit in the header
  (``peak / pA``, ``charge / fC``, ``radius / nm``, ``duration / ms``), the
  values in those units (:func:`spreadsheet_table`).
- Parquet, for programs: the values in SI units (A, C, s, m), the unit of
  each column in the file's metadata (``nbtools.units``, and per field).
- JSON: the detection settings (the recipe) and what the export was made of.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, ParameterError
from ..plotting import current_display_unit

__all__ = ["export_events", "free_stem", "spreadsheet_table", "with_radius", "charge_unit", "column_units", "SI_UNITS"]

#: SI unit of each column of an event table ('' : a number without unit; absent: text)
SI_UNITS = {
    "t_start": "s", "t_peak": "s", "t_end": "s", "peak": "A", "charge": "C", "charge_sd": "C",
    "radius": "m", "duration": "s", "snr": "", "rise_time": "s", "decay_tau": "s", "fwhm": "s",
    "baseline": "A", "step_height": "A", "i_start": "sample", "i_peak": "sample", "i_end": "sample",
    "i_int_start": "sample", "i_int_end": "sample", "z": "",
}
#: plain names of the columns in the spreadsheet (the table's names where they read well)
NAMES = {"snr": "SNR", "charge_sd": "charge SD (noise)", "decay_tau": "decay time", "fwhm": "FWHM",
         "rise_time": "rise time (10-90 %)", "step_height": "step height", "i_start": "start sample",
         "i_peak": "peak sample", "i_end": "end sample", "i_int_start": "integration start sample",
         "i_int_end": "integration end sample", "z": "step score"}
_CHARGE_UNITS = [(1e-18, "aC"), (1e-15, "fC"), (1e-12, "pC"), (1e-9, "nC"), (1e-6, "µC"), (1.0, "C")]
_SHORT_TIMES = ("duration", "rise_time", "decay_tau", "fwhm")


def charge_unit(q_abs: float):
    """``(label, factor)`` for showing charges of about ``q_abs`` C (e.g. ``('fC', 1e15)``).

    Examples
    --------
    >>> charge_unit(3e-14)
    ('fC', 1000000000000000.0)
    """
    q = float(q_abs) if np.isfinite(q_abs) and q_abs > 0 else 1e-15
    for base, label in _CHARGE_UNITS:
        if q < base * 1000.0:
            return label, 1.0 / base
    return "C", 1.0


def _typical(values, how=np.nanmax) -> float:
    v = np.abs(np.asarray(values, float))
    v = v[np.isfinite(v)]
    return float(how(v)) if v.size else float("nan")


def column_units(events) -> dict:
    """``{column: (unit label, factor from SI)}`` of the columns with a unit, the way the dashboard
    shows them: currents in the prefix of the largest peak, charges in that of the median charge,
    radii in nm, durations and time constants in ms, times in s."""
    cur = current_display_unit(_typical(events["peak"]) if "peak" in events and len(events) else 0.0)
    q = charge_unit(_typical(events["charge"], np.nanmedian) if "charge" in events and len(events) else 1e-15)
    out = {}
    for c in events.columns:
        si = SI_UNITS.get(c)
        if si == "A":
            out[c] = cur
        elif si == "C":
            out[c] = q
        elif si == "m":
            out[c] = ("nm", 1e9)
        elif si == "s":
            out[c] = ("ms", 1e3) if c in _SHORT_TIMES else ("s", 1.0)
        elif si == "sample":
            out[c] = ("sample", 1.0)
    return out


def spreadsheet_table(events) -> pd.DataFrame:
    """The table with every header naming its unit (``peak / pA``; a number without unit, such as
    the SNR, keeps its name) and the values in those units; ``accepted`` as yes/no."""
    units = column_units(events)
    out = {}
    for c in events.columns:
        name = NAMES.get(c, c.replace("_", " "))
        v = events[c]
        if c in units:
            label, factor = units[c]
            out[f"{name} / {label}"] = v.to_numpy() if label == "sample" else v.to_numpy(float) * factor
        elif c == "accepted":
            out["accepted"] = np.where(v.to_numpy(bool), "yes", "no")
        else:
            out[name] = v.to_numpy() if v.dtype != "category" else v.astype(str).to_numpy()
    return pd.DataFrame(out)


def free_stem(folder: Path, stem: str, suffixes) -> str:
    """``stem`` or ``stem_2``, ``stem_3`` ...: the first for which no ``stem+suffix`` file exists."""
    cand, k = stem, 1
    while any((folder / f"{cand}{s}").exists() for s in suffixes):
        k += 1
        cand = f"{stem}_{k}"
        if k > 10_000:
            raise DataError(f"too many exports named {stem}_* in {folder}; choose another folder")
    return cand


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, pd.DataFrame):
        return None
    return str(o)


def _parquet(table, path, meta):
    """``table`` (SI values) to ``path``, each field's unit in its metadata and ``meta`` in the file's."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pa.Table.from_pandas(table, preserve_index=False)
    fields = [f.with_metadata({"unit": SI_UNITS[f.name]}) if f.name in SI_UNITS else f for f in t.schema]
    schema = pa.schema(fields, metadata={**(t.schema.metadata or {}),
                                         b"nbtools": json.dumps(meta, default=_json_default).encode()})
    pq.write_table(t.cast(schema), path)


def export_events(events: pd.DataFrame, params: dict, folder, stem: str = "events", *,
                  formats=("csv", "parquet", "json"), info: dict | None = None, radius=None) -> list[Path]:
    """Write the events table and the parameters; never overwrite a file.

    Parameters
    ----------
    events : DataFrame
        Table to write (``attrs`` are not written to the table files).
    params : dict
        JSON-serialisable :func:`~nbtools.impact.find_events` parameters
        (``events.attrs['params']``); the recipe in ``events.attrs`` is written
        with them (``recipe``, readable by :func:`nbtools.recipes.from_json`).
    folder : str or Path
        Created if missing.
    stem : str
        File names ``<stem>_events.csv``, ``<stem>_events.parquet`` and
        ``<stem>_params.json``; if any exists, ``<stem>_2`` ... is used.
    formats : sequence of {'csv', 'parquet', 'json'}
        'csv': the spreadsheet table (:func:`spreadsheet_table`: units in the
        headers); 'parquet': SI values, units in the metadata; 'json': the
        parameters (and ``info``).
    info : dict, optional
        Extra JSON-serialisable results written with the parameters.
    radius : array, optional
        Particle radius of each event (m), written as a ``radius`` column
        after ``charge_sd`` (default: the radii of the recipe's material,
        :func:`~nbtools.impact.event_radii`, for spikes).

    Returns
    -------
    list of Path
        The files written.
    """
    formats = [f.lower() for f in formats]
    bad = [f for f in formats if f not in ("csv", "parquet", "json")]
    if bad or not formats:
        raise ParameterError(f"formats must be among 'csv', 'parquet', 'json', found {list(formats)!r}")
    text = str(folder).strip()
    if not text:
        raise ParameterError("choose a folder to export to (type its path)")
    folder = Path(text).expanduser()
    if folder.exists() and not folder.is_dir():
        raise ParameterError(f"{folder} is a file, not a folder; choose a folder to export to")
    folder.mkdir(parents=True, exist_ok=True)
    ends = {"csv": "_events.csv", "parquet": "_events.parquet", "json": "_params.json"}
    stem = free_stem(folder, stem, [ends[f] for f in formats])
    table = with_radius(events, radius)
    units = {c: SI_UNITS[c] for c in table.columns if c in SI_UNITS}
    recipe = getattr(events, "attrs", {}).get("recipe")
    out = []
    for f in formats:
        path = folder / f"{stem}{ends[f]}"
        if f == "csv":
            spreadsheet_table(table).to_csv(path, index=False)
        elif f == "parquet":
            _parquet(table, path, {"units": units, "recipe": recipe.to_dict() if recipe is not None else None})
        else:
            doc = {"find_events_params": params, "units": units, **(info or {})}
            if recipe is not None:
                doc["recipe"] = recipe.to_dict()
            path.write_text(json.dumps(doc, indent=2, default=_json_default))
        out.append(path)
    return out


def with_radius(events, radius=None) -> pd.DataFrame:
    """The table without attrs, with a ``radius`` column (m) after ``charge_sd``."""
    table = pd.DataFrame(events)
    table.attrs = {}
    if "radius" in table or "charge" not in table:
        return table
    if radius is None:
        from .summary import event_radii

        try:
            radius = event_radii(events)
        except ParameterError:  # a table without its recipe: no material to size with
            return table
    pos = list(table.columns).index("charge_sd") + 1 if "charge_sd" in table else len(table.columns)
    table.insert(pos, "radius", np.asarray(radius, float))
    return table
