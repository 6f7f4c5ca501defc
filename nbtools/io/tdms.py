"""LabVIEW TDMS files (npTDMS): one channel of one group becomes the trace.

The current channel is chosen by ``group=``/``channel=``, by default the first
channel whose ``unit_string`` property or name (``'Current1 (A)'``) says it is a
current. Time comes from the waveform properties ``wf_increment`` and
``wf_start_offset``, else a time channel (``'Time (s)'``) or an interval
channel (``'dt(s)'``, summed), else ``fs=``.
"""

from __future__ import annotations

import logging
import re

import numpy as np

from .. import units as _units
from ..errors import FormatError, ParameterError
from ..trace import Trace
from ._common import check_samples, file_number, new_meta, trace_from_columns
from .limits import check_budget, check_declared

__all__ = ["read", "sniff", "channel_size"]

_TIME = re.compile(r"^(t|time|zeit)\b", re.IGNORECASE)
_DT = re.compile(r"^(dt|delta\s*t|interval)\b", re.IGNORECASE)
_CURRENT = re.compile(r"^(current|i\b|im\b|curr)", re.IGNORECASE)


def sniff(head: bytes, text) -> int:
    return 2 if head[:4] == b"TDSm" else 0


def _unit(ch):
    u = ch.properties.get("unit_string")
    if u:
        return str(u).strip(), "unit_string property"
    return _units.split_label(ch.name)[1], "channel name"


def _find(spec, items, what, path, listing):
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        if 0 <= spec < len(items):
            return items[int(spec)]
    elif isinstance(spec, str):
        hits = [x for x in items if x.name == spec] or \
            [x for x in items if x.name.strip().lower() == spec.strip().lower()]
        if len(hits) == 1:
            return hits[0]
    raise ParameterError(f"{path}: {what} {spec!r} not found (or ambiguous); found: {listing}")


def read(path, *, group=None, channel=None, time_channel=None, current_unit=None, fs=None,
         resample="auto") -> Trace:
    """Read one channel of a TDMS file (see module docstring).

    Parameters
    ----------
    group, channel : int or str, optional
        Group and channel by index or name; default the first current channel.
    time_channel : int or str, optional
        Channel holding time stamps (s), in the same group.
    current_unit : str, optional
        Unit of the current channel when neither its name nor properties say.
    fs : float, optional
        Sampling rate (Hz) when the file has no time base.
    resample : 'auto', 'index' or float
        An irregular time channel (:mod:`nbtools.io.timebase`).
    """
    from nptdms import TdmsFile

    # open() streams: only the channels used are read from disk
    with _LibraryLog("nptdms") as log, TdmsFile.open(str(path)) as f:
        tr = _read(f, path, group=group, channel=channel, time_channel=time_channel,
                   current_unit=current_unit, fs=fs, resample=resample)
    tr.meta["warnings"].extend(f"npTDMS: {m}" for m in log.messages)
    return tr


class _LibraryLog(logging.Handler):
    """Collects a library's logged warnings (npTDMS logs truncated segments) for ``meta['warnings']``."""

    def __init__(self, name):
        super().__init__(logging.WARNING)
        self.name_ = name
        self.messages = []

    def emit(self, record):
        msg = record.getMessage()
        if msg not in self.messages and len(self.messages) < 20:
            self.messages.append(msg)

    def __enter__(self):
        logging.getLogger(self.name_).addHandler(self)
        return self

    def __exit__(self, *exc):
        logging.getLogger(self.name_).removeHandler(self)


def _read(f, path, *, group, channel, time_channel, current_unit, fs, resample) -> Trace:
    groups = [g for g in f.groups() if g.channels()]
    listing = "; ".join(f"{g.name!r}: " + ", ".join(repr(c.name) for c in g.channels()) for g in groups)
    if not groups:
        raise FormatError(f"{path}: TDMS file holds no channels")
    if group is not None:
        groups = [_find(group, groups, "group", path, listing)]
    chosen = None
    if isinstance(channel, str) and "/" in channel and group is None:
        # a label from meta['channels']: 'group/channel'
        gname, _, cname = channel.partition("/")
        hit = [(g, c) for g in groups if g.name == gname for c in g.channels() if c.name == cname]
        if hit:
            chosen = hit[0]
    if chosen is not None:
        pass
    elif channel is not None:
        if len(groups) > 1 and isinstance(channel, str):
            hits = [(g, c) for g in groups for c in g.channels() if c.name.strip().lower() == channel.strip().lower()]
            if len(hits) != 1:
                raise ParameterError(f"{path}: channel {channel!r} {'ambiguous' if hits else 'not found'}; "
                                     f"found (group: channels): {listing}. Pass group= too.")
            chosen = hits[0]
        else:
            chosen = (groups[0], _find(channel, groups[0].channels(), "channel", path, listing))
    else:
        for g in groups:
            for c in g.channels():
                u, _ = _unit(c)
                if _units.kind_of(u or "") == "current" or (u is None and _CURRENT.match(c.name.strip())):
                    chosen = (g, c)
                    break
            if chosen:
                break
        if chosen is None:
            raise ParameterError(
                f"{path}: no channel looks like a current (unit A/nA/pA... in its name or unit_string); "
                f"found (group: channels): {listing}. Pass channel= and current_unit=."
            )
    g, ch = chosen
    unit, unit_from = _unit(ch)
    cu = current_unit or unit
    cscale = _units.scale(cu, "current", where=f"{path}, channel {g.name}/{ch.name}")
    meta = new_meta(
        "tdms",
        instrument=str(f.properties.get("name") or "LabVIEW TDMS"),
        units={"current": cu},
        channel=f"{g.name}/{ch.name}",
        channels=[f"{gg.name}/{c.name}" for gg in groups for c in gg.channels()],
        units_source=unit_from if current_unit is None else "current_unit option",
        header={k: str(v) for k, v in {**f.properties, **g.properties, **ch.properties}.items()},
    )
    current = _values(ch, path)
    props = ch.properties
    if fs is None and props.get("wf_increment"):
        dt = file_number(props["wf_increment"], name="the channel property wf_increment (s)", path=path)
        meta["units"]["time"] = "s"
        tr = trace_from_columns(current, path=path, meta=meta, fs=1.0 / dt, current_scale=cscale,
                                column=ch.name)
        tr.t0 = file_number(props.get("wf_start_offset", 0.0) or 0.0, name="wf_start_offset", path=path,
                            positive=False)
        return tr
    time = None
    others = [c for c in g.channels() if c is not ch]
    if fs is None:
        tch = None
        if time_channel is not None:
            tch = _find(time_channel, g.channels(), "time_channel", path, listing)
        else:
            tch = next((c for c in others if _TIME.match(c.name.strip())), None)
        if tch is not None:
            tu = _unit(tch)[0] or "s"
            time = _values(tch, path) * _units.scale(tu, "time", where=f"{path}, {tch.name}")
            meta["time_channel"] = tch.name
        else:
            dch = next((c for c in others if _DT.match(c.name.strip())), None)
            if dch is not None:
                tu = _unit(dch)[0] or "s"
                dt = _values(dch, path) * _units.scale(tu, "time", where=f"{path}, {dch.name}")
                time = np.cumsum(dt)
                meta["time_channel"] = f"cumulative sum of {dch.name}"
        if time is not None:
            meta["units"]["time"] = "s"
            if len(time) != len(current):
                raise FormatError(f"{path}: time channel has {len(time)} samples, current {len(current)}")
    return trace_from_columns(current, path=path, meta=meta, time=time, fs=fs, current_scale=cscale,
                              column=ch.name, resample=resample)


def channel_size(ch, path) -> int:
    """Values a TDMS channel declares, checked against the file size and the memory budget."""
    n = len(ch)
    check_declared(n, path.stat().st_size, path=path, what=f"the number of values channel {ch.name!r} declares")
    check_budget(16.0 * n, path=path, what=f"channel {ch.name!r} ({n} values)")
    return n


def _values(ch, path) -> np.ndarray:
    """A numeric channel as float64 (after its declared size is checked)."""
    channel_size(ch, path)
    dtype = getattr(ch, "dtype", None)
    if dtype is None:
        raise FormatError(f"{path}: channel {ch.name!r} holds no typed data (a Void channel); choose another channel")
    check_samples(np.empty(0, dtype), path=path, what=f"channel {ch.name!r}")
    values = np.asarray(ch[:], dtype=np.float64)
    if values.ndim != 1:
        raise FormatError(f"{path}: channel {ch.name!r} has shape {values.shape}; expected 1-D")
    return values
