"""Writing an event table: CSV, Parquet and the parameters (JSON), never overwriting a file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, ParameterError

__all__ = ["export_events", "free_stem"]


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


def export_events(events: pd.DataFrame, params: dict, folder, stem: str = "events", *,
                  formats=("csv", "parquet", "json"), info: dict | None = None) -> list[Path]:
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
        'json' writes the parameters (and ``info``).
    info : dict, optional
        Extra JSON-serialisable results written with the parameters.

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
    table = events.copy()
    table.attrs = {}
    out = []
    for f in formats:
        path = folder / f"{stem}{ends[f]}"
        if f == "csv":
            table.to_csv(path, index=False)
        elif f == "parquet":
            table.to_parquet(path, index=False)
        else:
            doc = {"find_events_params": params, **(info or {})}
            recipe = getattr(events, "attrs", {}).get("recipe")
            if recipe is not None:
                doc["recipe"] = recipe.to_dict()
            path.write_text(json.dumps(doc, indent=2, default=_json_default))
        out.append(path)
    return out
