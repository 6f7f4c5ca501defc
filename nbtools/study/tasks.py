"""One task of a study, as a Dask worker runs it: analyse one unit, write its outputs, never raise.

The outputs of a unit live in ``OUT/files/<unit id>/``: its tables (Parquet,
with units; their rows are also in the study's CSV tables) and ``result.json``, the record written last. The record holds the key
that decides whether a rerun may reuse the outputs (recipe digest, nbtools
version, study settings, the fingerprint of every input file), the status
(``ok``, ``warning``, ``failed``) with its message, the files-table row, the
recipe of the result and the tables written. A failing file becomes a record
with status ``failed`` and the error's message; it never stops the study.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
import warnings
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from .inputs import HASH_LIMIT, Unit, fingerprint, input_files
from .store import plain, read_json, write_json, write_table

__all__ = ["RECORD", "run_unit", "unit_dir", "job_key", "failed_record", "read_record"]

#: name of the record of a unit (written last: its presence means the unit's outputs are whole)
RECORD = "result.json"
RECORD_VERSION = 1


def unit_dir(out, unit: Unit) -> Path:
    """The folder of a unit's outputs."""
    return Path(out) / "files" / unit.id


def read_record(out, unit: Unit):
    """The record of a unit, or None."""
    return read_json(unit_dir(out, unit) / RECORD)


def job_key(recipe, settings: dict) -> dict:
    """The parts of a unit's key that are the same for every unit of a study."""
    from .. import __version__

    text = json.dumps(plain(settings), sort_keys=True, separators=(",", ":"))
    return {"recipe": recipe.digest(), "nbtools": __version__,
            "settings": hashlib.sha256(text.encode()).hexdigest()}


def _peak_rss() -> int | None:
    try:
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # kB on Linux
    except (ImportError, OSError):
        return None


def _base(unit: Unit, job: dict) -> dict:
    return {"version": RECORD_VERSION, "unit": asdict(unit), "technique": job["technique"],
            "key": dict(job["key"], inputs={}), "status": None, "message": "", "row": {}, "outputs": {},
            "recipe": None}


def failed_record(unit: Unit, job: dict, message: str, error_type: str = "Error") -> dict:
    """The record of a unit that could not run (written by the client: its worker died)."""
    rec = _base(unit, job)
    rec.update(status="failed", message=message, error_type=error_type, elapsed_s=None,
               finished=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    write_json(unit_dir(job["out"], unit) / RECORD, rec)
    return rec


def _clear(folder: Path, keep=()) -> None:
    """Remove the outputs of an earlier run of the unit (the record first: outputs are never half new)."""
    (folder / RECORD).unlink(missing_ok=True)
    if folder.is_dir():
        for p in folder.iterdir():
            if p.is_file() and p.name not in keep:
                p.unlink(missing_ok=True)


def run_unit(unit: Unit, job: dict) -> dict:
    """Analyse ``unit`` with ``job['recipe']`` and write its outputs; returns the record.

    ``job``: ``out`` (study folder), ``technique``, ``recipe`` (a Recipe),
    ``settings`` (reader ``options``, ``detection_limit`` ...), ``key``
    (:func:`job_key`), ``hash_limit``.
    """
    from .techniques import technique_module

    t0 = time.perf_counter()
    folder = unit_dir(job["out"], unit)
    _clear(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rec = _base(unit, job)
    try:
        limit = job.get("hash_limit", HASH_LIMIT)
        rec["key"]["inputs"] = {p: fingerprint(p, hash_limit=limit) for p in input_files(unit)}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            outcome = technique_module(job["technique"]).analyse(unit, job["recipe"], job["settings"])
        meta = {"file": unit.path, "unit": unit.id, "recipe_digest": job["key"]["recipe"],
                "nbtools": job["key"]["nbtools"]}
        for name, (df, units) in outcome.tables.items():
            write_table(df, folder / name, units=units, meta=meta, csv=False)  # CSV: the study's tables
            rec["outputs"][name] = f"{name}.parquet"
        from ..errors import NbtoolsWarning

        msgs = list(dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, NbtoolsWarning)))
        rec.update(status="warning" if msgs else "ok", message="; ".join(msgs), row=outcome.row,
                   recipe=outcome.recipe.to_dict() if outcome.recipe is not None else None)
    except Exception as exc:  # a failing file is a row of the study, never the end of it
        rec.update(status="failed", message=f"{type(exc).__name__}: {exc}", error_type=type(exc).__name__,
                   outputs={}, row={})
    rec.update(elapsed_s=time.perf_counter() - t0, worker=f"{socket.gethostname()}:{os.getpid()}",
               worker_peak_rss=_peak_rss(), finished=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    write_json(folder / RECORD, rec)
    return rec
