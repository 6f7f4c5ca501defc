"""Axon Text Files (``.atf``, pCLAMP/Clampfit text export): signals, sweeps and units.

Layout (ATF 1.0)::

    ATF<TAB>1.0
    <number of header records><TAB><number of data columns>
    "AcquisitionMode=Episodic Stimulation"        header records, one per line
    "SweepStartTimesMS=0.000,1000.000,2000.000"
    "Signals="<TAB>"IN 0"<TAB>"IN 1"<TAB>"IN 0"...  the signal of each data column
    "Time (s)"<TAB>"Trace #1 (pA)"<TAB>"Trace #1 (mV)"<TAB>"Trace #2 (pA)"...
    0<TAB>1.25<TAB>...

The first column is time when its unit is a time; every other column is one
sweep of one signal (``Signals=`` says which; without it, the title: ``Trace
#k (unit)`` is sweep k, any other title its own signal). As for ABF, a channel
is read whole (sweeps joined end to end, boundaries in ``meta['sweep_starts']``,
start times from ``SweepStartTimesMS`` in ``meta['sweep_times']``) or one
sweep with ``sweep=``.
"""

from __future__ import annotations

import re

import numpy as np

from .. import units as _units
from ..errors import DataError, FormatError, ParameterError
from ..trace import Trace
from ._common import check_samples, new_meta, read_text_lines, trace_from_columns
from .limits import MAX_FIELDS
from .sanity import check_current_magnitude
from .table import read_numeric

__all__ = ["read", "sniff"]

_SIG = re.compile(r"^\s*\"?ATF\"?[\t ,]+\"?\d+(\.\d+)?\"?\s*$")
_TRACE = re.compile(r"^trace\s*#\s*(\d+)", re.IGNORECASE)


def sniff(head: bytes, text) -> int:
    """2 for a text file whose first line is ``ATF <version>``."""
    if text is None:
        return 0
    return 2 if _SIG.match(text.lstrip("\ufeff").split("\n", 1)[0].rstrip("\r")) else 0


def _unquote(s: str) -> str:
    return s.strip().strip('"').strip()


def _header(path):
    first = read_text_lines(path, 2)
    if len(first) < 2 or not _SIG.match(first[0]):
        raise FormatError(f"{path}: not an Axon Text File: expected 'ATF<TAB>1.0' on the first line")
    counts = re.findall(r"\d+", first[1])
    if len(counts) < 2:
        raise FormatError(f"{path}: ATF line 2 should hold the numbers of header records and columns, "
                          f"found {first[1][:80]!r}")
    n_rec, n_col = int(counts[0]), int(counts[1])
    if not (0 <= n_rec <= 10_000 and 1 <= n_col <= MAX_FIELDS):
        raise FormatError(f"{path}: ATF header declares {n_rec} records and {n_col} columns; expected at most "
                          f"10000 records and 1 to {MAX_FIELDS} columns")
    lines = read_text_lines(path, 3 + n_rec)
    if len(lines) < 3 + n_rec:
        raise FormatError(f"{path}: ATF header declares {n_rec} records but the file ends after {len(lines)} lines")
    records, signals = {}, None
    for ln in lines[2:2 + n_rec]:
        fields = [_unquote(f) for f in ln.split("\t")]
        key, _, val = fields[0].partition("=")
        key = key.strip()
        if key.lower() == "signals":
            signals = [f for f in ([val] if val else []) + fields[1:] if f]
        else:
            records[key] = "\t".join([val] + fields[1:]).strip()
    titles = [_unquote(t) for t in lines[2 + n_rec].split("\t")]
    titles = [t for t in titles if t] or titles
    return n_rec, n_col, records, signals, titles


def _layout(titles, signals, time_first):
    """Per data column: (signal name, unit, sweep index)."""
    cols = titles[1:] if time_first else titles
    out = []
    counts = {}
    for k, title in enumerate(cols):
        name, unit = _units.split_label(title)
        if signals and len(signals) == len(cols):
            sig = signals[k]
        else:
            m = _TRACE.match(name)
            sig = f"({unit})" if m else name
        sweep = counts.get(sig, 0)
        counts[sig] = sweep + 1
        out.append((sig, unit, sweep))
    return out


def _pick(channel, chans, units_of, path):
    listing = ", ".join(f"{i}: {c!r} ({units_of[c]})" for i, c in enumerate(chans))
    if channel is None:
        for c in chans:
            if _units.kind_of(units_of[c] or "") == "current":
                return c
        raise ParameterError(f"{path}: no signal is in a current unit; signals found: {listing}. "
                             "Pass channel=<index or name> and current_unit='...'")
    if isinstance(channel, (int, np.integer)) and not isinstance(channel, bool):
        if 0 <= channel < len(chans):
            return chans[int(channel)]
    elif isinstance(channel, str):
        hits = [c for c in chans if channel.strip().lower() in (c.lower(), f"{c} ({units_of[c]})".lower())]
        if len(hits) == 1:
            return hits[0]
    raise ParameterError(f"{path}: channel {channel!r} not found; signals found: {listing}")


def _sweep_times(records, n):
    raw = records.get("SweepStartTimesMS")
    if not raw:
        return None
    try:
        times = [float(v) / 1000.0 for v in re.split(r"[,\t ]+", raw.strip()) if v]
    except ValueError:
        return None
    return times if len(times) == n and all(np.isfinite(times)) else None


def read(path, *, channel=None, sweep=None, current_unit=None, fs=None, resample="auto") -> Trace:
    """Read one signal of an Axon Text File (see module docstring).

    Parameters
    ----------
    channel : int or str, optional
        Signal by index or name (``'IN 0'``); default the first in a current unit.
    sweep : int, optional
        One sweep; default all sweeps joined end to end.
    current_unit : str, optional
        Override the signal's unit.
    fs : float, optional
        Sampling rate (Hz) when the file has no time column.
    resample : 'auto', 'index' or float
        Irregular time columns (:mod:`nbtools.io.timebase`).
    """
    n_rec, n_col, records, signals, titles = _header(path)
    values = read_numeric(path, skiprows=3 + n_rec, sep="\t", ncols=n_col)
    if len(titles) != n_col:
        titles = (titles + [f"column {k}" for k in range(len(titles), n_col)])[:n_col]
    tu = _units.split_label(titles[0])[1]
    time_first = bool(tu) and _units.kind_of(tu) == "time"
    layout = _layout(titles, signals, time_first)
    if not layout:
        raise DataError(f"{path}: the ATF file holds a time column and no signal")
    chans = list(dict.fromkeys(sig for sig, _, _ in layout))
    units_of = {sig: next(u for s, u, _ in layout if s == sig) for sig in chans}
    chosen = _pick(channel, chans, units_of, path)
    offset = 1 if time_first else 0
    cols = [k + offset for k, (sig, _, _) in enumerate(layout) if sig == chosen]
    n_sweeps = len(cols)
    unit = current_unit or units_of[chosen]
    cscale = _units.scale(unit, "current", where=f"{path}, signal {chosen!r}")
    times = _sweep_times(records, n_sweeps)
    meta = new_meta("atf", instrument=f"Axon Text File ({records.get('AcquisitionMode', 'pCLAMP')})",
                    units={"current": unit}, channel=chosen, channels=chans,
                    header=dict(records, signals=", ".join(signals or [])), sweep_count=n_sweeps)
    if sweep is not None:
        if isinstance(sweep, bool) or not isinstance(sweep, (int, np.integer)) or not 0 <= sweep < n_sweeps:
            raise ParameterError(f"{path}: sweep={sweep!r} not available; signal {chosen!r} has sweeps "
                                 f"0..{n_sweeps - 1}")
        picked = [int(sweep)]
        meta["sweep"] = int(sweep)
    else:
        picked = list(range(n_sweeps))
    time = values[:, 0] if time_first else None
    if time_first:
        meta["units"]["time"] = tu
    tscale = _units.scale(tu, "time", where=f"{path}, column {titles[0]!r}") if time_first else 1.0
    pieces, starts, lengths = [], [], []
    tr = None
    for k in picked:
        col = check_samples(values[:, cols[k]], path=path, what=f"column {titles[cols[k]]!r}")
        keep = np.isfinite(col)
        if not keep.any():
            raise DataError(f"{path}: sweep {k} of signal {chosen!r} holds no number")
        last = int(np.flatnonzero(keep)[-1]) + 1  # sweeps of different lengths are padded with empty cells
        sub = dict(meta, warnings=list(meta["warnings"]), converted=dict(meta["converted"]))
        tr = trace_from_columns(col[:last], path=path, meta=sub, fs=fs,
                                time=time[:last] if time is not None else None, current_scale=cscale,
                                time_scale=tscale, column=titles[cols[k]], resample=resample, instrument=None)
        starts.append(sum(lengths))
        lengths.append(len(tr))
        pieces.append(tr.current)
    meta = tr.meta
    current = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
    check_current_magnitude(current, meta=meta, path=path, instrument="patch-clamp or nanopore amplifier")
    meta.update(sweep_starts=starts if sweep is None else [0], sweep_lengths=lengths,
                sweep_times=times if times is not None and sweep is None else None)
    t0 = tr.t0
    if sweep is not None:
        if times is not None:
            t0 = times[sweep] + tr.t0
        return Trace(current, fs=tr.fs, t0=t0, meta=meta, source=str(path))
    if n_sweeps > 1:
        meta["warnings"].append(
            f"{n_sweeps} sweeps of signal {chosen!r} joined end to end; the pauses between sweeps are not in the "
            "trace (boundaries in meta['sweep_starts']; pass sweep=<n> for one sweep)")
    return Trace(current, fs=tr.fs, t0=t0, meta=meta, source=str(path))
