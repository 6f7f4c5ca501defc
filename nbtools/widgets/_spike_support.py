"""Helpers of :class:`~nbtools.widgets.spike_picker.SpikePicker` that need no widgets.

- :class:`CandidateCache`: one :func:`~nbtools.impact.find_events` run at a
  low threshold per setting of everything else; a higher threshold is then
  previewed by keeping the candidates that pass it (milliseconds instead of a
  full run). The preview equals the exact run up to the slightly different
  baseline/noise re-estimate (the core masks the events found at the chosen
  threshold before its second estimate); the picker replaces it with the
  exact run.
- :func:`mark_accepted`: carry accept/reject decisions over to a new table.
- :func:`export_events`: CSV / Parquet / JSON files that never overwrite.
"""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, ParameterError

__all__ = ["CandidateCache", "preview_events", "mark_accepted", "export_events", "free_stem",
           "csv_data_uri", "LOW_THRESHOLD"]

#: threshold (noise SDs) of the candidate run that previews higher thresholds
LOW_THRESHOLD = 4.0


def _score(df: pd.DataFrame) -> np.ndarray:
    """Per-event detection score in noise SDs (the quantity compared with the threshold)."""
    if "z" in df.columns:  # step detection: two-window z score
        return np.abs(df["z"].to_numpy(float))
    noise = float(df.attrs.get("noise", np.nan))
    return np.abs(df["peak"].to_numpy(float)) / noise


def preview_events(candidates: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Candidates (found at a lower threshold) that pass ``threshold`` (noise SDs).

    ``attrs`` are those of the candidate run with ``threshold``,
    ``threshold_A``, ``expected_false_per_s`` and ``params['threshold']``
    updated and ``preview=True``.
    """
    a = candidates.attrs
    keep = _score(candidates) >= threshold
    # index without attrs: pandas would deep-copy them (incl. the rejected-candidates table)
    candidates.attrs = {}
    try:
        df = candidates[keep].reset_index(drop=True)
    finally:
        candidates.attrs = a
    attrs = dict(a)
    th_low = float(a["threshold"])
    attrs["threshold"] = float(threshold)
    attrs["threshold_A"] = float(a["threshold_A"]) * threshold / th_low
    npol = 2 if a["params"].get("polarity") == "both" else 1
    nu = float(a.get("noise_bandwidth", 0.0))
    attrs["expected_false_per_s"] = float(npol * nu * math.exp(-threshold * threshold / 2.0))
    attrs["params"] = dict(a["params"], threshold=float(threshold))
    attrs["preview"] = True
    df.attrs = attrs
    return df


class CandidateCache:
    """Low-threshold candidate tables keyed by every parameter but the threshold.

    Parameters
    ----------
    run : callable
        ``run(**params) -> DataFrame`` (``find_events`` bound to the trace
        and blank).
    low : float
        Threshold (noise SDs) of the candidate runs.
    """

    def __init__(self, run, low: float = LOW_THRESHOLD):
        self.run = run
        self.low = float(low)
        self._store: dict[str, pd.DataFrame] = {}

    @staticmethod
    def key(params: dict) -> str:
        return json.dumps({k: v for k, v in params.items() if k != "threshold"}, sort_keys=True, default=str)

    def clear(self) -> None:
        self._store.clear()

    def candidates(self, params: dict, threshold: float | None = None) -> pd.DataFrame:
        """The candidate table for ``params`` able to preview ``threshold`` (runs if needed)."""
        k = self.key(params)
        have = self._store.get(k)
        need = self.low if threshold is None else min(self.low, float(threshold))
        if have is not None and float(have.attrs["threshold"]) <= need + 1e-12:
            return have
        low = max(need, float(params.get("hysteresis", 1.0)) + 0.5)
        df = self.run(**dict(params, threshold=low))
        self._store[k] = df
        return df

    def has(self, params: dict, threshold: float) -> bool:
        have = self._store.get(self.key(params))
        return have is not None and float(have.attrs["threshold"]) <= float(threshold) + 1e-12

    def preview(self, params: dict, threshold: float) -> pd.DataFrame:
        """Events above ``threshold`` from the cached candidates (runs once if needed)."""
        return preview_events(self.candidates(params, threshold), threshold)


def mark_accepted(events: pd.DataFrame, rejected_at) -> np.ndarray:
    """Boolean ``accepted`` column: False where an event spans a rejected sample index.

    ``rejected_at`` holds the ``i_peak`` sample indices of events the user
    rejected; an event of a new detection is rejected when one of them lies
    within its ``[i_start, i_end]`` (so decisions survive small changes).
    """
    n = len(events)
    acc = np.ones(n, dtype=bool)
    r = np.sort(np.asarray(list(rejected_at), dtype=np.int64))
    if n == 0 or r.size == 0:
        return acc
    a = events["i_start"].to_numpy(np.int64)
    b = np.maximum(events["i_end"].to_numpy(np.int64), events["i_peak"].to_numpy(np.int64))
    lo = np.searchsorted(r, a, side="left")
    hi = np.searchsorted(r, b, side="right")
    acc[hi > lo] = False
    return acc


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
        JSON-serialisable :func:`find_events` parameters.
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
            path.write_text(json.dumps(doc, indent=2, default=_json_default))
        out.append(path)
    return out


def csv_data_uri(events: pd.DataFrame, max_bytes: int = 5_000_000) -> str | None:
    """``data:text/csv;base64,...`` of the table, or None when larger than ``max_bytes``."""
    table = events.copy()
    table.attrs = {}
    data = table.to_csv(index=False).encode()
    if len(data) > max_bytes:
        return None
    return "data:text/csv;base64," + base64.b64encode(data).decode("ascii")
