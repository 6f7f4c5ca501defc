"""BioLogic EC-Lab files: ``.mpt`` ASCII exports and binary ``.mpr`` (through galvani).

An ``.mpt`` starts with ``EC-Lab ASCII FILE`` and ``Nb header lines : N``; line
N holds tab-separated column labels such as ``time/s``, ``<I>/mA``, ``I/mA``,
``Ewe/V``; numbers may use a decimal comma.
"""

from __future__ import annotations

import re

import numpy as np

from .. import units as _units
from ..errors import FormatError, ParameterError
from ..trace import Trace
from ._common import new_meta, read_text_lines, trace_from_columns
from .limits import check_declared
from .sanity import refuse_technique
from .table import read_numeric
from .trace_csv import column_scales, pick_columns

__all__ = ["read", "sniff", "read_mpr", "sniff_mpr", "read_mpt_table"]

_NB = re.compile(r"Nb header lines\s*:\s*(\d+)", re.IGNORECASE)
_NOT_CURRENT = ("control", "(q-qo)", "dq", "q charge")


def sniff(head: bytes, text) -> int:
    if text is None:
        return 0
    first = text.lstrip().split("\n", 1)[0].strip()
    return 2 if first in ("EC-Lab ASCII FILE", "BT-Lab ASCII FILE") else 0


def sniff_mpr(head: bytes, text) -> int:
    return 2 if head.startswith(b"BIO-LOGIC MODULAR FILE") else 0


def _meta_from_columns(fmt, names, values, ci, ti, cu, tu, header):
    meta = new_meta(fmt, instrument="BioLogic EC-Lab", units={"current": cu, "time": tu},
                    channel=names[ci], channels=list(names), header=header)
    ei = next((i for i, n in enumerate(names) if n.startswith("Ewe")), None)
    if ei is not None and len(values):
        factor = _units.label_scale(names[ei], "potential", default="V")[1]
        meta["potential"] = float(np.nanmedian(values[:, ei])) * factor
        meta["potential_source"] = f"median of the {names[ei]} column (measured)"
    return meta


def read_mpt_table(path):
    """``(names, values, header, technique)`` of an EC-Lab ``.mpt`` export (numbers in file units)."""
    lines = read_text_lines(path, 5)
    m = next((_NB.search(ln) for ln in lines if _NB.search(ln)), None)
    nhead = int(m.group(1)) if m else 1
    if not 1 <= nhead <= 100_000:
        raise FormatError(f"{path}: EC-Lab header announces {nhead} header lines; expected 1 to 100000")
    lines = read_text_lines(path, nhead + 1)
    if len(lines) < nhead:
        raise FormatError(f"{path}: EC-Lab header announces {nhead} lines but the file has {len(lines)}")
    names = [c.strip() for c in lines[nhead - 1].split("\t")]
    while names and not names[-1]:
        names.pop()
    if not names:
        raise FormatError(f"{path}: EC-Lab header line {nhead} (the column labels) is empty")
    header = {}
    for ln in lines[1:nhead - 1]:
        kv = re.match(r"^\s*([^:]{1,60}?)\s+:\s+(.*?)\s*$", ln)
        if kv:
            header[kv.group(1)] = kv.group(2)
    technique = lines[3].strip() if nhead > 4 and len(lines) > 3 else None
    first = lines[nhead] if len(lines) > nhead else ""
    dec = "," if re.search(r"\d,\d", first) else "."
    values = read_numeric(path, skiprows=nhead, sep="\t", decimal=dec, ncols=len(names))
    return names, values, header, technique or None


def read(path, *, channel=None, current_unit=None, fs=None, resample="auto") -> Trace:
    """Read an EC-Lab ``.mpt`` export.

    Parameters
    ----------
    channel : int or str, optional
        Current column (default the first in a current unit: ``'<I>/mA'`` or ``'I/mA'``).
    current_unit : str, optional
        Override the unit of the current column.
    fs : float, optional
        Sampling rate (Hz) instead of the ``time/s`` column.
    resample : 'auto', 'index' or float
        Irregular time columns (:mod:`nbtools.io.timebase`; EC-Lab records
        when a time or current criterion is met, so steps vary).

    Raises
    ------
    FormatError
        The technique line or the columns say voltammetry (read it with
        :func:`nbtools.io.load_curve`) or impedance.
    """
    names, values, header, technique = read_mpt_table(path)
    refuse_technique(path, technique, names, instrument="EC-Lab")
    ci, ti = pick_columns(names, path=path, channel=channel, exclude=_NOT_CURRENT)
    cu, cscale, tu, tscale = column_scales(names, ci, ti, path=path, current_unit=current_unit)
    meta = _meta_from_columns("biologic-mpt", names, values, ci, ti, cu, tu, header)
    device = next((v for k, v in header.items() if k.lower() == "device"), None)
    if device:
        meta["instrument"] = f"BioLogic {device} (EC-Lab)"
    meta["technique"] = technique
    time = values[:, ti] if ti is not None else None
    return trace_from_columns(values[:, ci], path=path, meta=meta, time=time, fs=fs,
                              current_scale=cscale, time_scale=tscale, column=names[ci], resample=resample,
                              instrument="potentiostat")


_MAGIC_LEN = 52  # 'BIO-LOGIC MODULAR FILE\x1a' padded to 48 bytes, then 4 zero bytes
_MODULE_HEAD = 6 + 10 + 25 + 4 + 4 + 8  # 'MODULE', short name, long name, length (u4), version, date


def _check_modules(path) -> None:
    """Each module's declared length against the file size, before galvani reads (allocates) it."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        pos = _MAGIC_LEN
        k = 0
        while pos < size:
            fh.seek(pos)
            head = fh.read(_MODULE_HEAD)
            if len(head) < _MODULE_HEAD or head[:6] != b"MODULE":
                break  # galvani says what is wrong
            length = int.from_bytes(head[6 + 35:6 + 39], "little")
            check_declared(pos + _MODULE_HEAD + length, size, path=path, what=f"the end of .mpr module {k}")
            pos += _MODULE_HEAD + length
            k += 1


def read_mpr(path, *, channel=None, current_unit=None, fs=None, resample="auto") -> Trace:
    """Read an EC-Lab binary ``.mpr`` file with galvani (``pip install galvani``).

    The file is opened here and closed when done (galvani reads from the open file).
    """
    try:
        from galvani import BioLogic
    except ImportError:
        raise FormatError(
            f"{path}: reading EC-Lab .mpr files needs the galvani package (pip install galvani); "
            "or export the file as .mpt text from EC-Lab"
        ) from None
    _check_modules(path)
    with open(path, "rb") as fh:  # galvani leaves a file it opened itself open: give it ours
        mpr = BioLogic.MPRfile(fh)
        data = np.asarray(mpr.data)
        header = {"startdate": str(getattr(mpr, "startdate", "")), "enddate": str(getattr(mpr, "enddate", ""))}
    if data.dtype.names is None:
        raise FormatError(f"{path}: galvani found no data columns in the .mpr file")
    names = list(data.dtype.names)
    refuse_technique(path, None, names, instrument="EC-Lab")
    ci, ti = pick_columns(names, path=path, channel=channel, exclude=_NOT_CURRENT)
    numeric = [n for n in names if data.dtype[n].kind in "fiu"]
    values = np.column_stack([np.asarray(data[n], dtype=np.float64) if n in numeric else
                              np.full(len(data), np.nan) for n in names]) if names else np.empty((0, 0))
    cu, cscale, tu, tscale = column_scales(names, ci, ti, path=path, current_unit=current_unit)
    meta = _meta_from_columns("biologic-mpr", names, values, ci, ti, cu, tu, header)
    if ti is None and fs is None:
        raise ParameterError(f"{path}: no time column among {names}; pass fs=<Hz>")
    time = values[:, ti] if ti is not None else None
    return trace_from_columns(values[:, ci], path=path, meta=meta, time=time, fs=fs,
                              current_scale=cscale, time_scale=tscale, column=names[ci], resample=resample,
                              instrument="potentiostat")
