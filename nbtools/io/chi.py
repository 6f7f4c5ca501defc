"""CH Instruments text exports (e.g. "Amperometric i-t Curve").

Layout: a date line, the technique name, ``Key: value`` and ``Key (unit) = value``
lines (``Init E (V)``, ``Sample Interval (s)``, ``Sensitivity (A/V)``), a
blank line, the column line ``Time/sec, Current/A`` and comma-separated rows.
"""

from __future__ import annotations

import re

from ..errors import FormatError
from ..trace import Trace
from ._common import file_number, head_text, new_meta, read_head, read_text_lines, trace_from_columns
from .identify import CHI_TECHNIQUES, describe
from .sanity import refuse_technique
from .table import read_numeric
from .trace_csv import column_scales, pick_columns

__all__ = ["read", "sniff", "read_header"]

_COLS = re.compile(r"^\s*(Time|T)\s*/\s*\w+\s*,", re.IGNORECASE)
_POT_COLS = re.compile(r"^\s*(Potential|E)\s*/\s*\w+\s*,", re.IGNORECASE)
_SIG = re.compile(r"Instrument Model:\s*CHI", re.IGNORECASE)
_TECHNIQUES = re.compile(r"^\s*(" + "|".join(re.escape(t) for t in CHI_TECHNIQUES) + r")\s*$",
                         re.MULTILINE | re.IGNORECASE)
_KEYS = re.compile(r"Sample Interval \((s|V)\)|Init E \(V\)|Sensitivity \(A/V\)|Quiet Time \(sec\)")
_KV_EQ = re.compile(r"^\s*(?P<key>[^=]+?)\s*=\s*(?P<val>.*?)\s*$")
_KV_COLON = re.compile(r"^\s*(?P<key>[A-Za-z][^:]{0,40}?):\s*(?P<val>.*?)\s*$")


def sniff(head: bytes, text) -> int:
    if text is None:
        return 0
    top = "\n".join(text[:8000].splitlines()[:4])
    if _SIG.search(text[:8000]) or (_TECHNIQUES.search(top) and _KEYS.search(text[:8000])):
        return 2
    return 0


def read_header(path):
    """``(header, technique, column line index, column labels, date)`` of a CHI text export."""
    head = read_head(path)
    if head_text(head) is None:
        found = describe(head, None)
        raise FormatError(f"{path}: {found or 'a binary file, not a CH Instruments text export'}")
    lines = read_text_lines(path, 300)
    col_line = next((i for i, ln in enumerate(lines) if _COLS.match(ln) or _POT_COLS.match(ln)), None)
    header = {}
    for ln in lines[:col_line]:
        m = _KV_EQ.match(ln) or _KV_COLON.match(ln)
        if m:
            header[m.group("key")] = m.group("val")
    nonblank = [ln.strip() for ln in lines[:col_line] if ln.strip()]
    technique = next((ln for ln in nonblank[:3] if _TECHNIQUES.match(ln)), None) or \
        next((ln for ln in nonblank[:3] if not _KV_EQ.match(ln) and ":" not in ln[:30]), None)
    names = [c.strip() for c in lines[col_line].split(",") if c.strip()] if col_line is not None else []
    return header, technique, col_line, names, (nonblank[0] if nonblank else None)


def _float(text):
    try:
        return float(text.split()[0])
    except (ValueError, IndexError, AttributeError):
        return None


def read(path, *, channel=None, current_unit=None, fs=None, resample="auto") -> Trace:
    """Read a CH Instruments text export.

    Parameters
    ----------
    channel : int or str, optional
        Current column (multi-channel exports: ``'i1/A'``); default the first.
    current_unit : str, optional
        Override the unit of the current column.
    fs : float, optional
        Sampling rate (Hz) instead of the header's sample interval.
    resample : 'auto', 'index' or float
        Irregular time columns (:mod:`nbtools.io.timebase`).

    Raises
    ------
    FormatError
        A binary ``.bin`` file (save it as text in the CHI software), or a
        voltammogram / impedance technique (voltammograms: :func:`nbtools.io.load_curve`).
    """
    header, technique, col_line, names, date = read_header(path)
    refuse_technique(path, technique, names, instrument="CH Instruments")
    if col_line is None or not _COLS.match(",".join(names) + ","):
        found = ", ".join(names)
        raise FormatError(
            f"{path}: CH Instruments export without a 'Time/sec, Current/A' column line"
            + (f" (found {found!r}: not a current-time recording)" if found else "")
        )
    ci, ti = pick_columns(names, path=path, channel=channel)
    values = read_numeric(path, skiprows=col_line + 1, sep=",", ncols=len(names))
    cu, cscale, tu, tscale = column_scales(names, ci, ti, path=path, current_unit=current_unit)
    header_dt = _float(header.get("Sample Interval (s)"))
    if header_dt is not None:
        header_dt = file_number(header_dt, name="Sample Interval (s)", path=path)
    model = header.get("Instrument Model")
    meta = new_meta(
        "chi",
        instrument=f"CH Instruments {model}" if model else "CH Instruments",
        units={"current": cu, "time": tu},
        potential=_float(header.get("Init E (V)")),
        channel=names[ci],
        channels=names,
        technique=technique,
        date=date,
        header=header,
    )
    if meta["potential"] is not None:
        meta["potential_source"] = "Init E (V) in the header"
    filt = {k: v for k, v in header.items() if "filter" in k.lower()}
    sens = _float(header.get("Sensitivity (A/V)"))
    if sens is not None:
        meta["sensitivity_A_per_V"] = sens
    meta["filter"] = filt or None
    time = values[:, ti] if ti is not None else None
    return trace_from_columns(values[:, ci], path=path, meta=meta, time=time, fs=fs, header_dt=header_dt,
                              current_scale=cscale, time_scale=tscale, column=names[ci], resample=resample,
                              instrument="potentiostat")
