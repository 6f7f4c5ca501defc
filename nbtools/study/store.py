"""The study folder on disk: atomic writes, tables with units, per-file records.

Everything a study writes lives under its output folder; inputs are never
written. Each file is written under a temporary name in the same folder and
renamed into place (``os.replace`` is atomic on one file system), so a run
killed at any moment leaves whole files or none; the temporary names
(``.<name>.<random>.part``) of a killed run are removed by the next one.

Tables are written twice: Parquet, whose schema metadata (key ``nbtools``)
holds the SI unit of every column and the provenance, and CSV, whose headers
carry the units (``charge / C``) the way nbtools' table reader reads them.
"""

from __future__ import annotations

import json
import math
import os
import secrets
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["atomic_write", "write_json", "read_json", "write_table", "read_table", "table_units",
           "csv_header", "remove_partial", "PART_SUFFIX"]

#: ending of the temporary names of files being written
PART_SUFFIX = ".part"


def atomic_write(path, write) -> Path:
    """Call ``write(tmp_path)`` and rename the temporary file to ``path`` (atomic on one file system)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}{PART_SUFFIX}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def plain(value):
    """JSON values (NumPy scalars -> Python, NaN/inf -> None, tuples -> lists, recipes -> dicts)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items() if not isinstance(v, (pd.DataFrame, pd.Series))}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "to_dict") and hasattr(value, "digest"):  # a Recipe
        return value.to_dict()
    return str(value)


def write_json(path, data) -> Path:
    """Write ``data`` as indented JSON atomically (NaN written as null)."""
    text = json.dumps(plain(data), indent=1) + "\n"
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def read_json(path):
    """The JSON in ``path``, or None when it is absent or unreadable (a record to redo)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def csv_header(column: str, unit: str | None) -> str:
    """``'charge / C'``: the CSV header of a column with its unit (the name alone without one)."""
    return f"{column} / {unit}" if unit else column


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA


def _for_arrow(df: pd.DataFrame) -> pd.DataFrame:
    """Object columns Arrow can write: flags with gaps as nullable booleans, numbers as floats, mixed
    values as text (JSON for lists and dicts)."""
    out = df.copy(deep=False)
    out.attrs = {}  # provenance goes into the schema metadata written here, not pandas' own
    for c in out.columns:
        if out[c].dtype != object:
            continue
        present = [v for v in out[c] if not _missing(v)]
        if present and all(isinstance(v, (bool, np.bool_)) for v in present):
            out[c] = out[c].astype("boolean")
        elif present and all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in present):
            out[c] = pd.to_numeric(out[c], errors="coerce")
        elif not all(isinstance(v, str) for v in present):
            out[c] = [None if _missing(v) else (v if isinstance(v, str) else json.dumps(plain(v))) for v in out[c]]
    return out


def write_table(df: pd.DataFrame, path, *, units: dict | None = None, meta: dict | None = None,
                csv: bool = True) -> list[Path]:
    """Write ``df`` as ``path.parquet`` (units and ``meta`` in the schema metadata) and ``path.csv``.

    Parameters
    ----------
    df : DataFrame
        The table (its index is not written; reset it first to keep it).
    path : path
        Without suffix: ``out/population`` gives ``population.parquet`` and ``population.csv``.
    units : dict, optional
        Column -> SI unit (``'C'``, ``'m'``, ``'1/s'``; ``''`` for numbers without one).
    meta : dict, optional
        Provenance stored next to the units (recipe, nbtools version ...).
    csv : bool
        Also write the CSV (headers ``name / unit``).

    Returns
    -------
    list of Path
        The files written.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    units = {c: u for c, u in (units or {}).items() if c in df.columns and u}
    table = pa.Table.from_pandas(_for_arrow(df), preserve_index=False)
    fields = [f.with_metadata({"unit": units[f.name]}) if f.name in units else f for f in table.schema]
    info = {"units": units, **(meta or {})}
    schema = pa.schema(fields, metadata={**(table.schema.metadata or {}),
                                         b"nbtools": json.dumps(plain(info)).encode()})
    table = table.cast(schema)
    written = [atomic_write(path.with_name(path.name + ".parquet"), lambda tmp: pq.write_table(table, tmp))]
    if csv:
        shown = df.rename(columns={c: csv_header(c, units.get(c)) for c in df.columns})
        written.append(atomic_write(path.with_name(path.name + ".csv"),
                                    lambda tmp: shown.to_csv(tmp, index=False, lineterminator="\n")))
    return written


def read_table(path) -> pd.DataFrame:
    """A table written by :func:`write_table` (``path.parquet``); units and metadata in ``attrs``."""
    import pyarrow.parquet as pq

    path = Path(path)
    if path.suffix != ".parquet":
        path = path.with_name(path.name + ".parquet")
    table = pq.read_table(path)
    df = table.to_pandas()
    raw = (table.schema.metadata or {}).get(b"nbtools")
    info = json.loads(raw) if raw else {}
    df.attrs["units"] = info.pop("units", {})
    df.attrs.update(info)
    return df


def table_units(path) -> dict:
    """Column -> unit of a Parquet table written by :func:`write_table` (from the field metadata)."""
    import pyarrow.parquet as pq

    path = Path(path)
    if path.suffix != ".parquet":
        path = path.with_name(path.name + ".parquet")
    schema = pq.read_schema(path)
    return {f.name: f.metadata[b"unit"].decode() for f in schema if f.metadata and b"unit" in f.metadata}


def remove_partial(folder) -> int:
    """Delete the temporary files a killed run left under ``folder``; returns how many."""
    n = 0
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    for p in folder.rglob(f".*{PART_SUFFIX}"):
        if p.is_file():
            p.unlink(missing_ok=True)
            n += 1
    return n
