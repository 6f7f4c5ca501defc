"""The tables of a study: one row per file, one row per entity, and the statistics a study reports.

The files table has the unit's name and path, its labels (condition,
concentration ...), its status and message, whether its outputs were reused
from an earlier run, and the technique's summary (events, frequency, noise;
particles, fits; size, tau, k_s). The population table has one row per
entity across all files (an impact event, an SECCM particle, a particle on a
stick), with the file, its labels, the file's status and a ``quality`` flag:
``'ok'``, or why the entity is left out of the statistics (``'below detection
limit'``, ``'touches scan edge'``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .store import read_table

__all__ = ["files_table", "population_table", "study_statistics", "PROPERTIES", "SIZE_RELATIONS"]

#: properties whose distribution a study reports, per technique (first: the one compared across conditions)
PROPERTIES = {"impact": ["radius", "charge", "peak", "duration"],
              "seccm": ["radius", "charge", "area", "map_median"],
              "stick": ["radius", "D", "ks", "k0", "tau", "charge"],
              "gitt": ["D", "tau", "D_wh", "R_ohm"]}
#: (size, property) pairs whose log-log slope a study reports
SIZE_RELATIONS = {"impact": [("radius", "peak"), ("radius", "duration")],
                  "seccm": [("radius", "charge")],
                  "stick": [("radius", "D"), ("radius", "ks")],
                  "gitt": []}
#: signed columns compared as magnitudes
ABSOLUTE = ("charge", "peak", "step_height")

_FRONT = ["file", "name", "condition", "status", "message", "reused"]


def files_table(units, records: dict, labels: pd.DataFrame, reused: set) -> pd.DataFrame:
    """One row per unit, in the order of ``units``."""
    rows = []
    for u in units:
        rec = records.get(u.id) or {}
        row = {"file": u.path, "name": u.name, "unit": u.id, "status": rec.get("status", "missing"),
               "message": rec.get("message", ""), "reused": u.id in reused, "blank": u.blank,
               "elapsed_s": rec.get("elapsed_s"), "worker_peak_rss": rec.get("worker_peak_rss"),
               "size": _size(rec)}
        row.update(labels.loc[u.id].to_dict() if u.id in labels.index else {})
        row.update({k: v for k, v in (rec.get("row") or {}).items() if k not in row})
        rows.append(row)
    df = pd.DataFrame(rows)
    front = [c for c in _FRONT if c in df]
    return df[front + [c for c in df.columns if c not in front]]


def _size(rec) -> float:
    inputs = (rec.get("key") or {}).get("inputs") or {}
    return float(sum(v.get("size", 0) for v in inputs.values())) if inputs else np.nan


def _quality(df: pd.DataFrame) -> pd.Series:
    q = pd.Series("ok", index=df.index, dtype=object)
    if "below_detection_limit" in df:
        q[df["below_detection_limit"].fillna(False).astype(bool)] = "below detection limit"
    if "touches_edge" in df:
        q[df["touches_edge"].fillna(False).astype(bool)] = "touches scan edge"
    return q


def population_table(out, technique: str, files: pd.DataFrame, records: dict, entity: str,
                     label_columns) -> tuple[pd.DataFrame, dict]:
    """All entities of the files that have them, with file, labels, file status and ``quality``.

    Returns the table and the units of its columns (from the entity tables' metadata).
    """
    frames, units = [], {}
    for _, f in files.iterrows():
        rec = records.get(f["unit"]) or {}
        if entity not in (rec.get("outputs") or {}):
            continue
        t = read_table(f"{out}/files/{f['unit']}/{entity}")
        units.update(t.attrs.get("units", {}))
        head = {"file": f["file"], "name": f["name"], **{c: f[c] for c in label_columns if c in f},
                "file_status": f["status"]}
        t = t.assign(**{k: [v] * len(t) for k, v in head.items()})
        frames.append(t)
    if not frames:
        return pd.DataFrame(columns=["file", "name", "condition", "quality"]), units
    pop = pd.concat(frames, ignore_index=True)
    pop["quality"] = _quality(pop)
    first = ["file", "name", *[c for c in label_columns if c in pop], "file_status", "quality"]
    return pop[first + [c for c in pop.columns if c not in first]], units


def study_statistics(technique: str, files: pd.DataFrame, population: pd.DataFrame, *,
                     conf: float = 0.95) -> dict:
    """The statistics of a study (see :mod:`nbtools.study.statistics`).

    Only entities with ``quality == 'ok'`` from files not failed are used.

    Returns
    -------
    dict
        ``distributions`` (DataFrame: per property and condition, n, median and
        mean with bootstrap intervals), ``tests`` (DataFrame: per property, the
        rank test across conditions), ``pairs`` (DataFrame: each pair of
        conditions), ``slopes`` (DataFrame: per size relation, the log-log
        slope with its interval), ``frequency`` (dict, nanoimpact with
        concentrations: :func:`~nbtools.study.statistics.proportional_fit`)
        and ``notes`` (list of str: what could not be computed and why).
    """
    from .statistics import compare_groups, describe_groups, loglog_slope

    pop = population
    if len(pop):
        pop = pop[(pop["quality"] == "ok") & (pop["file_status"] != "failed")]
    props = [p for p in PROPERTIES[technique] if p in pop and np.isfinite(pd.to_numeric(pop[p], errors="coerce")).any()]
    if technique == "seccm":
        props += [c for c in pop.columns if c.startswith(("ks", "E0", "k0")) and not c.endswith("_stderr")]
    notes = []
    dist = describe_groups(pop, props, "condition", conf=conf, absolute=ABSOLUTE)
    tests, pairs = [], []
    n_cond = pop["condition"].nunique() if "condition" in pop else 0
    if n_cond < 2:
        notes.append("one condition only: no comparison between conditions (label the files by folder names "
                     "or with --conditions)")
    else:
        for p in props:
            overall, pr = compare_groups(pop, p, "condition", absolute=p in ABSOLUTE)
            tests.append(overall)
            pairs.append(pr)
    slopes = []
    for x, y in SIZE_RELATIONS[technique]:
        if x in pop and y in pop:
            r = loglog_slope(np.abs(pop[x].to_numpy(float)), np.abs(pop[y].to_numpy(float)), conf=conf)
            slopes.append({"x": x, "y": y, **r})
    out = {"distributions": dist, "tests": pd.DataFrame(tests), "slopes": pd.DataFrame(slopes),
           "pairs": pd.concat(pairs, ignore_index=True) if pairs else pd.DataFrame(), "notes": notes}
    if technique == "impact":
        out["frequency"] = _frequency(files, conf, notes)
    return out


def _frequency(files, conf, notes):
    from .statistics import proportional_fit

    ok = files[files["status"] != "failed"] if len(files) else files
    if "concentration" not in ok or not np.isfinite(pd.to_numeric(ok["concentration"], errors="coerce")).any():
        notes.append("no concentrations: name folders like '10pM' or give --conditions with a "
                     "'concentration / pM' column to fit frequency against concentration")
        return None
    res = proportional_fit(ok["n_events"], ok["observed_time"], pd.to_numeric(ok["concentration"]), conf=conf)
    if res["n_concentrations"] < 2:
        notes.append("one concentration only: the frequency-concentration slope needs two or more")
    return res
