"""A study: one recipe over many files, resumable, with a population table, statistics and a report.

:func:`run` finds the inputs, reuses the outputs of an earlier run whose key
still matches (recipe digest, nbtools version, study settings, input
fingerprints), analyses the rest on Dask, then writes the study's tables,
``study.json`` and ``report.html``. :class:`Study` is the result, also read
back from a folder with :meth:`Study.open`.

The study folder::

    OUT/study.json                  the manifest (recipe, settings, counts, outputs)
    OUT/recipe.json                 the recipe, as a dashboard saves it
    OUT/files.parquet, files.csv    one row per file: labels, status, message, summary
    OUT/population.parquet, .csv    one row per event / particle across the files
    OUT/statistics.json             distributions, condition comparisons, slopes, frequency fit
    OUT/report.html                 the self-contained report (works offline)
    OUT/files/<unit>/               per file: its tables (events, pixels, particles ...) and result.json
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from datetime import datetime, timezone
from importlib import import_module
from pathlib import Path

import pandas as pd

from ..errors import DataError, ParameterError
from .conditions import condition_table
from .execute import default_workers, execute
from .inputs import BLANK_PATTERN, HASH_LIMIT, find_units, input_files, same_input, technique_of
from .population import files_table, population_table, study_statistics
from .progress import Progress
from .store import plain, read_json, read_table, remove_partial, write_json, write_table
from .tasks import RECORD, job_key, read_record, unit_dir

__all__ = ["run", "Study", "MANIFEST"]

#: name of the manifest of a study folder
MANIFEST = "study.json"
MANIFEST_VERSION = 1


#: recipe kind prefix -> the module defining it (imported alone: reading a recipe stays quick)
_RECIPE_MODULES = {"impact": "nbtools.impact.recipe", "seccm": "nbtools.seccm.recipe",
                   "stick": "nbtools.kinetics.recipe", "kinetics": "nbtools.kinetics.recipe",
                   "gitt": "nbtools.gitt.recipe"}


def _kind_of(source) -> str | None:
    """The recipe kind named in a dict, JSON text or file (None when it cannot be read: from_json says why)."""
    try:
        if isinstance(source, dict):
            data = source
        elif isinstance(source, str) and source.lstrip().startswith("{"):
            data = json.loads(source)
        else:
            data = json.loads(Path(os.fspath(source)).expanduser().read_text(encoding="utf-8"))
        return data.get("recipe") if isinstance(data, dict) else None
    except (OSError, ValueError, TypeError):
        return None


def _as_recipe(recipe):
    from ..recipes import Recipe, from_json

    if isinstance(recipe, Recipe):
        return recipe
    if isinstance(recipe, (str, os.PathLike, dict)):
        kind = _kind_of(recipe)
        module = _RECIPE_MODULES.get(str(kind).split(".")[0])
        if module:
            import_module(module)
        return from_json(recipe)
    raise ParameterError(f"recipe must be a Recipe, a dict or the path of a recipe .json (Save recipe in a "
                         f"dashboard), found {type(recipe).__name__}")


def _check_out(out) -> Path:
    out = Path(out).expanduser().resolve()
    if out.exists() and not out.is_dir():
        raise ParameterError(f"out: {out} is a file; give a folder for the study's outputs")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).exists():
        raise ParameterError(f"out: {out} is not empty and holds no study ({MANIFEST}); give a new or empty folder "
                             "(a study writes only there, and never into a folder of other files)")
    out.mkdir(parents=True, exist_ok=True)
    if not (out / MANIFEST).exists():  # marks the folder as a study's from the start: a killed run resumes there
        write_json(out / MANIFEST, {"nbtools_study": MANIFEST_VERSION, "status": "running",
                                    "created": datetime.now(timezone.utc).isoformat(timespec="seconds")})
    return out


def _reusable(unit, rec, key, *, hash_limit, retry_failed) -> bool:
    """May ``rec`` (an earlier run's record) stand for ``unit`` now?"""
    if not rec or rec.get("version") != 1:
        return False
    old = rec.get("key") or {}
    if any(old.get(k) != key[k] for k in ("recipe", "nbtools", "settings")):
        return False
    if rec.get("status") == "failed" and (retry_failed or rec.get("error_type") in ("KilledWorker",)):
        return False
    files = input_files(unit)
    inputs = old.get("inputs") or {}
    if sorted(inputs) != sorted(files):
        return False
    if not all(same_input(inputs[p], p, hash_limit=hash_limit) for p in files):
        return False
    return all((unit_dir(key["out"], unit) / name).is_file() for name in (rec.get("outputs") or {}).values())


def run(recipe, inputs, *, out, scheduler=None, workers: int | None = None, blank=None, blanks="auto",
        blank_pattern: str = BLANK_PATTERN, conditions="folders", options: dict | None = None, force: bool = False,
        retry_failed: bool = False, detection_limit: bool = False, hash_limit: int = HASH_LIMIT, retries: int = 2,
        progress=True, report: bool = True, conf: float = 0.95) -> "Study":
    """Apply one recipe to many files; resumable; returns the :class:`Study`.

    Parameters
    ----------
    recipe : Recipe, dict or path
        A nanoimpact ``EventRecipe``, an SECCM ``AnalysisRecipe`` (or
        ``MapRecipe``) or a ``StickRecipe``, or the ``.json`` a dashboard's
        *Save recipe* wrote.
    inputs : path, glob or list of them
        Files, folders (searched recursively for the formats of the recipe's
        kind of data) or glob patterns. Particle on a stick: each folder of
        curve files is one particle.
    out : path
        The study folder (created; only ever written there).
    scheduler : None, 'sync', address or distributed.Client
        None: a local Dask cluster of ``workers`` processes (default: one per
        core; ``workers=1``: this process, as ``'sync'``); ``'tcp://host:port'`` or a Client: an existing cluster (inputs
        and ``out`` must be on a file system its workers share);
        ``'sync'``: in this process, one file after the other.
    blank, blanks, blank_pattern
        Nanoimpact blanks: one blank file for all recordings; or a CSV/dict
        ``file -> blank``; by default (``'auto'``) files matching
        ``blank_pattern`` are blanks and each recording takes the one of its
        folder (see :mod:`nbtools.study.inputs`). ``blanks=None``: no pairing.
    conditions : 'folders', path of a CSV, or DataFrame
        Condition labels (see :mod:`nbtools.study.conditions`).
    options : dict, optional
        Reader options (``fs=`` for ``.npy`` files, ``channel=`` ...), given to
        the readers that accept them.
    force : bool
        Recompute every file (default: reuse what an earlier run did with the
        same recipe, settings, nbtools version and input contents).
    retry_failed : bool
        Recompute files that failed before although nothing changed.
    detection_limit : bool
        Nanoimpact: an injection-recovery test per recording for its 90 %
        detection limit (slow: several detections per file).
    hash_limit : int
        Inputs up to this many bytes are identified by SHA-256, larger ones by
        size and modification time.
    retries : int
        Resubmissions of a file whose worker died (beyond Dask's own).
    progress : bool or callable
        A terminal progress bar, or ``progress(done, total, record)``.
    report : bool
        Write ``report.html``.
    conf : float
        Confidence level of the statistics.

    Returns
    -------
    Study
    """
    t0 = time.perf_counter()
    recipe = _as_recipe(recipe)
    technique = technique_of(recipe)
    out = _check_out(out)
    remove_partial(out)
    units, notes = find_units(inputs, technique, out=out, blank=blank, blanks=blanks, blank_pattern=blank_pattern)
    if not units:
        raise DataError(f"inputs: no {technique} input found in {inputs!r}"
                        + (f" ({len(notes['other_kind'])} file(s) of another kind of data)" if notes["other_kind"]
                           else "") + "; give files, folders or glob patterns of recordings")
    labels, label_units, unmatched = condition_table(units, conditions)
    settings = {"technique": technique, "options": dict(options or {}), "detection_limit": bool(detection_limit)}
    key = job_key(recipe, settings)
    job = {"out": str(out), "technique": technique, "recipe": recipe, "settings": settings,
           "key": key, "hash_limit": int(hash_limit)}
    records, reused, todo = {}, set(), []
    for u in units:
        rec = None if force else read_record(out, u)
        if rec is not None and _reusable(u, rec, {**key, "out": out}, hash_limit=hash_limit,
                                         retry_failed=retry_failed):
            records[u.id] = rec
            reused.add(u.id)
        else:
            todo.append(u)
    bar = Progress(len(todo), progress)
    bar.log(f"nbtools batch: {len(units)} {technique} input(s) in {out}: {len(reused)} done before, "
            f"{len(todo)} to analyse")
    records.update(execute(todo, job, scheduler=scheduler, workers=workers, progress=bar, retries=retries))
    state = _state(units, records, labels, conf, report)
    unchanged = _unchanged(out, state, report) if not todo else None
    if unchanged is not None:
        bar.log("nbtools batch: nothing changed since the last run; the study's tables and report are up to date")
        return unchanged
    study = _assemble(out, recipe, technique, units, records, reused, labels, label_units, conf=conf)
    manifest = _manifest(out, recipe, technique, inputs, settings, study, notes, unmatched, label_units,
                         scheduler=scheduler, workers=workers, blank=blank, blanks=blanks,
                         blank_pattern=blank_pattern, conditions=conditions, hash_limit=hash_limit,
                         elapsed=time.perf_counter() - t0)
    manifest["state"] = state
    write_json(out / MANIFEST, manifest)
    study.manifest = manifest
    if report:
        from .report import write_report

        write_report(study)
    return study


def _state(units, records, labels, conf, report) -> str:
    """A digest of everything the study's tables and report are made from (not the reuse counts)."""
    parts = [[u.id, u.name, u.blank, (records.get(u.id) or {}).get("finished"),
              (records.get(u.id) or {}).get("status")] for u in units]
    text = json.dumps([parts, labels.to_json(), conf, bool(report)], default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _unchanged(out, state, report):
    """The study as it stands when no file was analysed and nothing else changed since its last run; else None."""
    manifest = read_json(out / MANIFEST)
    names = ["files.parquet", "population.parquet", "statistics.json"] + (["report.html"] if report else [])
    if not manifest or manifest.get("state") != state or not all((out / n).is_file() for n in names):
        return None
    study = Study.open(out)
    study.files["reused"] = True  # this run reused every file; the report stays that of the run that wrote it
    write_table(study.files, out / "files", units=read_table(out / "files").attrs["units"],
                meta={"recipe": manifest["recipe"], "technique": manifest["technique"]})
    counts = manifest.setdefault("counts", {})
    counts.update(reused=len(study.files), computed=0)
    manifest["updated"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    write_json(out / MANIFEST, manifest)
    study.manifest = manifest
    return study


def _assemble(out, recipe, technique, units, records, reused, labels, label_units, *, conf):
    from .techniques import technique_module

    mod = technique_module(technique)
    files = files_table(units, records, labels, reused)
    label_cols = [c for c in labels.columns]
    population, pop_units = population_table(out, technique, files, records, mod.ENTITY, label_cols)
    meta = {"recipe": recipe.to_dict(), "technique": technique}
    from .columns import units_for

    write_table(files, out / "files", units={**units_for(technique), **label_units}, meta=meta)
    write_table(population, out / "population", units={**pop_units, **label_units}, meta=meta)
    stats = study_statistics(technique, files, population, conf=conf)
    write_json(out / "statistics.json", _stats_json(stats))
    write_json(out / "recipe.json", recipe.to_dict())
    study = Study(out, recipe=recipe, files=files, population=population, statistics=stats, manifest={})
    study.units = {**pop_units, **label_units}
    return study


def _stats_json(stats: dict) -> dict:
    out = {}
    for k, v in stats.items():
        if isinstance(v, pd.DataFrame):
            out[k] = v.to_dict(orient="records")
        elif isinstance(v, dict):
            out[k] = {kk: (vv.to_dict(orient="records") if isinstance(vv, pd.DataFrame) else vv)
                      for kk, vv in v.items()}
        else:
            out[k] = v
    return plain(out)


def _manifest(out, recipe, technique, inputs, settings, study, notes, unmatched, label_units, *, elapsed, **given):
    from .. import __version__

    old = read_json(out / MANIFEST) or {}
    f = study.files
    counts = {"files": len(f), **{s: int((f["status"] == s).sum()) for s in ("ok", "warning", "failed")},
              "reused": int(f["reused"].sum()), "computed": int((~f["reused"]).sum()),
              "entities": len(study.population)}
    sched = given["scheduler"]
    given["scheduler"] = sched if isinstance(sched, (str, type(None))) else f"Client({sched.scheduler.address})"
    given["workers"] = given["workers"] or (default_workers() if sched is None else None)
    for k in ("conditions", "blanks", "blank"):
        if not isinstance(given[k], (str, type(None), bool)):
            given[k] = str(type(given[k]).__name__)
    inputs = [os.fspath(i) for i in ([inputs] if isinstance(inputs, (str, os.PathLike)) else inputs)]
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return {"nbtools_study": MANIFEST_VERSION, "status": "complete", "nbtools": __version__,
            "created": old.get("created", now), "updated": now, "technique": technique, "recipe": recipe.to_dict(), "recipe_digest": recipe.digest(),
            "inputs": inputs, "out": str(out), "settings": {**settings, **given},
            "fingerprints": f"SHA-256 of inputs up to {given['hash_limit']} bytes, size + modification time above",
            "counts": counts, "elapsed_s": elapsed, "label_units": label_units,
            "other_kind": notes["other_kind"], "blanks": notes["blanks"], "unpaired": notes["unpaired"],
            "conditions_unmatched": unmatched,
            "outputs": {"files": "files.parquet", "population": "population.parquet",
                        "statistics": "statistics.json", "recipe": "recipe.json", "report": "report.html",
                        "per_file": "files/<unit>/"}}


class Study:
    """The result of :func:`run`: the study folder and its tables.

    Attributes
    ----------
    out : Path
        The study folder.
    recipe : Recipe
        The recipe applied to every file.
    files : DataFrame
        One row per file (status, message, labels, summary).
    population : DataFrame
        One row per entity (event, particle ...) across the files.
    statistics : dict
        Distributions, tests, pairs, slopes, frequency fit, notes
        (:func:`~nbtools.study.population.study_statistics`).
    manifest : dict
        ``study.json``.
    """

    def __init__(self, out, *, recipe, files, population, statistics, manifest):
        self.out = Path(out)
        self.recipe, self.files, self.population = recipe, files, population
        self.statistics, self.manifest = statistics, manifest
        self.units = dict(population.attrs.get("units", {}))

    @classmethod
    def open(cls, out) -> "Study":
        """Read a study folder written by :func:`run`."""
        from ..recipes import from_json

        out = Path(out).expanduser()
        manifest = read_json(out / MANIFEST)
        if manifest is None:
            raise DataError(f"{out}: no {MANIFEST}; not a study folder written by nbtools batch")
        if manifest.get("status") == "running":
            raise DataError(f"{out}: the study's first run did not finish (stopped or still running); run it "
                            "again with the same inputs: what was done is reused")
        stats = read_json(out / "statistics.json") or {}
        for k in ("distributions", "tests", "slopes", "pairs"):
            stats[k] = pd.DataFrame(stats.get(k) or [])
        if stats.get("frequency"):
            stats["frequency"]["table"] = pd.DataFrame(stats["frequency"].get("table") or [])
        return cls(out, recipe=from_json(manifest["recipe"]), files=read_table(out / "files"),
                   population=read_table(out / "population"), statistics=stats, manifest=manifest)

    # ------------------------------------------------------------------ per file
    @property
    def technique(self) -> str:
        """'impact', 'seccm', 'stick' or 'gitt'."""
        return technique_of(self.recipe)

    @property
    def report(self) -> Path:
        """Path of ``report.html``."""
        return self.out / "report.html"

    def _row(self, file) -> pd.Series:
        f = self.files
        hit = f[(f["file"] == str(file)) | (f["name"] == str(file)) | (f["unit"] == str(file))]
        if hit.empty:
            p = str(Path(file).expanduser().resolve())
            hit = f[f["file"] == p]
        if hit.empty:
            raise ParameterError(f"file {str(file)!r} is not in this study; its files: "
                                 f"{', '.join(f['name'].head(5))}{' ...' if len(f) > 5 else ''}")
        return hit.iloc[0]

    def record(self, file) -> dict:
        """The record (``result.json``) of one file: key, status, message, summary, outputs."""
        return read_json(self.out / "files" / self._row(file)["unit"] / RECORD) or {}

    def tables(self, file) -> dict:
        """The tables written for one file (``events``, ``pixels``, ``particles`` ...) by name."""
        unit = self._row(file)["unit"]
        rec = self.record(file)
        return {name: read_table(self.out / "files" / unit / name) for name in (rec.get("outputs") or {})}

    def recipe_for(self, file):
        """The recipe of one file's result: the single-file API with it reproduces the file's tables."""
        from ..recipes import from_json

        rec = self.record(file)
        return from_json(rec["recipe"]) if rec.get("recipe") else self.recipe

    # ------------------------------------------------------------------ summary
    def counts(self) -> dict:
        """Files, ok, warning, failed, reused, computed, entities."""
        return dict(self.manifest.get("counts", {}))

    def summary(self) -> str:
        """What the study did, in one paragraph."""
        c = self.counts()
        failed = f", {c.get('failed', 0)} failed (see files.csv)" if c.get("failed") else ""
        return (f"{c.get('files', 0)} file(s): {c.get('ok', 0)} ok, {c.get('warning', 0)} with warnings{failed}; "
                f"{c.get('reused', 0)} reused from an earlier run, {c.get('computed', 0)} analysed; "
                f"{c.get('entities', 0)} {_ENTITY_NAMES.get(self.technique, 'entities')} in the population. "
                f"Study folder: {self.out}")

    def __repr__(self) -> str:
        return f"<Study {self.technique} ({self.recipe.kind}) {self.summary()}>"


_ENTITY_NAMES = {"impact": "events", "seccm": "particles", "stick": "particles", "gitt": "pulses"}
