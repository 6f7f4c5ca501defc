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
from .table import read_numeric
from .trace_csv import column_scales, pick_columns

__all__ = ["read", "sniff", "read_mpr", "sniff_mpr"]

_NB = re.compile(r"Nb header lines\s*:\s*(\d+)", re.IGNORECASE)


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


def read(path, *, channel=None, current_unit=None, fs=None) -> Trace:
    """Read an EC-Lab ``.mpt`` export.

    Parameters
    ----------
    channel : int or str, optional
        Current column (default the first in a current unit: ``'<I>/mA'`` or ``'I/mA'``).
    current_unit : str, optional
        Override the unit of the current column.
    fs : float, optional
        Sampling rate (Hz) instead of the ``time/s`` column.
    """
    lines = read_text_lines(path, 5)
    m = next((_NB.search(ln) for ln in lines if _NB.search(ln)), None)
    nhead = int(m.group(1)) if m else 1
    lines = read_text_lines(path, nhead + 1)
    if len(lines) < nhead:
        raise FormatError(f"{path}: EC-Lab header announces {nhead} lines but the file has {len(lines)}")
    names = [c.strip() for c in lines[nhead - 1].split("\t")]
    while names and not names[-1]:
        names.pop()
    header = {}
    for ln in lines[1:nhead - 1]:
        kv = re.match(r"^\s*([^:]{1,60}?)\s+:\s+(.*?)\s*$", ln)
        if kv:
            header[kv.group(1)] = kv.group(2)
    first = lines[nhead] if len(lines) > nhead else ""
    dec = "," if re.search(r"\d,\d", first) else "."
    values = read_numeric(path, skiprows=nhead, sep="\t", decimal=dec, ncols=len(names))
    ci, ti = pick_columns(names, path=path, channel=channel, exclude=("control", "(q-qo)", "dq", "q charge"))
    cu, cscale, tu, tscale = column_scales(names, ci, ti, path=path, current_unit=current_unit)
    meta = _meta_from_columns("biologic-mpt", names, values, ci, ti, cu, tu, header)
    device = next((v for k, v in header.items() if k.lower() == "device"), None)
    if device:
        meta["instrument"] = f"BioLogic {device} (EC-Lab)"
    technique = lines[3].strip() if nhead > 4 and len(lines) > 3 else None
    meta["technique"] = technique or None
    time = values[:, ti] if ti is not None else None
    return trace_from_columns(values[:, ci], path=path, meta=meta, time=time, fs=fs,
                              current_scale=cscale, time_scale=tscale, column=names[ci])


def read_mpr(path, *, channel=None, current_unit=None, fs=None) -> Trace:
    """Read an EC-Lab binary ``.mpr`` file with galvani (``pip install galvani``)."""
    try:
        from galvani import BioLogic
    except ImportError:
        raise FormatError(
            f"{path}: reading EC-Lab .mpr files needs the galvani package (pip install galvani); "
            "or export the file as .mpt text from EC-Lab"
        ) from None
    mpr = BioLogic.MPRfile(str(path))
    data = mpr.data
    names = list(data.dtype.names)
    ci, ti = pick_columns(names, path=path, channel=channel, exclude=("control", "(q-qo)", "dq", "q charge"))
    cols = [np.asarray(data[n], dtype=np.float64) for n in names]
    values = np.column_stack(cols) if cols else np.empty((0, 0))
    cu, cscale, tu, tscale = column_scales(names, ci, ti, path=path, current_unit=current_unit)
    header = {"startdate": str(getattr(mpr, "startdate", "")), "enddate": str(getattr(mpr, "enddate", ""))}
    meta = _meta_from_columns("biologic-mpr", names, values, ci, ti, cu, tu, header)
    if ti is None and fs is None:
        raise ParameterError(f"{path}: no time column among {names}; pass fs=<Hz>")
    time = values[:, ti] if ti is not None else None
    return trace_from_columns(values[:, ci], path=path, meta=meta, time=time, fs=fs,
                              current_scale=cscale, time_scale=tscale, column=names[ci])
