"""Axon ABF1 and ABF2 files: pyabf reads the header, NumPy memory-maps the samples.

Opening never reads the sample block: the trace keeps a read-only
``numpy.memmap`` of the chosen channel (a strided view of the interleaved
block) with pyabf's gain and offset, and converts to amperes on first use of
``trace.current`` or block by block through ``trace.chunks()``. A multi-GB
gap-free file therefore opens in milliseconds. ``trace.current`` is float32
(the file holds 16-bit or float32 samples: float32 keeps every bit). Float32
sample blocks are not checked for NaN/Inf at open (that would read them).
"""

from __future__ import annotations

import numpy as np

from .. import units as _units
from ..errors import DataError, FormatError, ParameterError
from ..trace import Trace
from ._common import new_meta
from .abf_header import check_header, sweep_table
from .sanity import check_current_magnitude

__all__ = ["read", "sniff"]


def sniff(head: bytes, text) -> int:
    return 2 if head[:4] in (b"ABF ", b"ABF2") else 0


def _pick_channel(channel, names, unit_list, path) -> int:
    listing = ", ".join(f"{i}: {n!r} ({u})" for i, (n, u) in enumerate(zip(names, unit_list)))
    if channel is None:
        for i, u in enumerate(unit_list):
            if _units.kind_of(u) == "current":
                return i
        raise ParameterError(
            f"{path}: no channel is in a current unit; channels found: {listing}. "
            "Pass channel=<index or name> and current_unit='...' if a channel holds current."
        )
    if isinstance(channel, (int, np.integer)) and not isinstance(channel, bool):
        if 0 <= channel < len(names):
            return int(channel)
        raise ParameterError(f"{path}: channel={channel} out of range; channels found: {listing}")
    if isinstance(channel, str):
        wanted = channel.strip().lower()
        hits = [i for i, (n, u) in enumerate(zip(names, unit_list))
                if wanted in (n.strip().lower(), f"{n} ({u})".strip().lower())]
        if len(hits) == 1:
            return hits[0]
        what = "ambiguous" if hits else "not found"
        raise ParameterError(f"{path}: channel {channel!r} {what}; channels found: {listing}")
    raise ParameterError(f"channel must be an index or a name, found {channel!r}; channels found: {listing}")


def _filter_settings(abf, idx):
    out = {}
    try:
        if abf.abfVersion["major"] == 2:
            adc = abf._adcSection
            if adc.fSignalLowpassFilter[idx] and adc.fSignalLowpassFilter[idx] < 1e5:
                out["lowpass_hz"] = float(adc.fSignalLowpassFilter[idx])
            if adc.nTelegraphEnable[idx]:
                out["telegraph_lowpass_hz"] = float(adc.fTelegraphFilter[idx])
        else:
            h = abf._headerV1
            phys = h.nADCSamplingSeq[idx]
            if h.nTelegraphEnable[phys]:
                out["telegraph_lowpass_hz"] = float(h.fTelegraphFilter[phys])
    except (AttributeError, IndexError, TypeError):
        pass
    return out or None


def read(path, *, channel=None, sweep=None, current_unit=None) -> Trace:
    """Read one channel of an ABF file (see module docstring).

    Parameters
    ----------
    channel : int or str, optional
        Index or name (``'Imemb'`` or ``'Imemb (nA)'``); default the first
        channel whose unit is a current.
    sweep : int, optional
        One sweep of an episodic file; default all sweeps end to end
        (boundaries in ``meta['sweep_starts']``).
    current_unit : str, optional
        Override the channel's unit.
    """
    try:
        import pyabf
    except ImportError as exc:  # pragma: no cover - pyabf is a dependency
        raise FormatError(f"{path}: reading ABF files needs pyabf (pip install pyabf)") from exc
    size = path.stat().st_size
    check_header(path, size)  # before pyabf allocates what the header declares
    try:
        abf = pyabf.ABF(str(path), loadData=False)
    except Exception as exc:  # pyabf raises many kinds on damaged headers
        raise FormatError(
            f"{path}: not a readable ABF header ({type(exc).__name__}: {exc}); the file "
            f"({path.stat().st_size} bytes) is damaged, truncated inside its header, or not an Axon ABF"
        ) from exc

    names = [str(n).strip() for n in abf.adcNames]
    unit_list = [str(u).strip() for u in abf.adcUnits]
    nch = int(abf.channelCount)
    idx = _pick_channel(channel, names, unit_list, path)
    unit = current_unit if current_unit is not None else unit_list[idx]
    scale = _units.scale(unit, "current", where=f"{path}, channel {idx} {names[idx]!r}")

    dtype = np.dtype(np.int16 if abf._nDataFormat == 0 else np.float32).newbyteorder("<")
    npts = int(abf.dataPointCount)
    start = int(abf.dataByteStart)
    need = start + npts * dtype.itemsize
    if npts <= 0:
        raise DataError(f"{path}: ABF header says the file holds no samples (dataPointCount={npts})")
    if start < 0:
        raise FormatError(f"{path}: ABF header puts the samples at byte {start}; the header is damaged")
    rate = float(abf.dataRate)
    if not (np.isfinite(rate) and rate > 0):
        raise FormatError(f"{path}: ABF sampling rate {rate!r} Hz in the header; expected a positive number")
    if size < need:
        held = max(size - start, 0) // dtype.itemsize
        raise DataError(
            f"{path}: truncated ABF: the header says {npts} samples ({need} bytes with the header) "
            f"but the file holds {size} bytes ({held} samples); the copy is incomplete, copy it again"
        )
    if npts % nch:
        raise FormatError(f"{path}: ABF sample count {npts} is not a multiple of the {nch} channels")
    block = np.memmap(path, dtype=dtype, mode="r", offset=start, shape=(npts,))
    raw = block[idx::nch]
    # pyabf scales int16 samples by the header's gain/offset; float32 samples are physical already
    adc_gain, adc_offset = (float(abf._dataGain[idx]), float(abf._dataOffset[idx])) if dtype.kind == "i" else (1.0, 0.0)

    table, table_warning = sweep_table(path, abf, size)
    sweeps = len(table.lengths)
    meta = new_meta(
        "abf",
        instrument=f"Axon ABF {abf.abfVersionString} ({abf.creator.strip()})",
        units={"current": unit},
        channel=f"{names[idx]} ({unit_list[idx]})",
        channels=[f"{n} ({u})" for n, u in zip(names, unit_list)],
        filter=_filter_settings(abf, idx),
        converted={"current_scale": scale, "adc_gain": adc_gain,
                   "adc_offset": adc_offset, "sample_dtype": str(dtype)},
        sweep_count=sweeps,
        sweep_starts=table.starts,
        sweep_lengths=table.lengths,
        sweep_times=table.times,
        sweep_table=table.source,
        header={"abf_version": abf.abfVersionString, "protocol": abf.protocol,
                "operation_mode": int(abf.nOperationMode), "date": str(abf.abfDateTime),
                "comment": getattr(abf, "abfFileComment", "")},
    )
    if table_warning:
        meta["warnings"].append(table_warning)
    try:
        dac_unit = str(abf.dacUnits[0]).strip()
        level = float(abf.holdingCommand[0])
        if _units.kind_of(dac_unit) == "potential" and np.isfinite(level):
            meta["potential"] = level * _units.scale(dac_unit, "potential")
            meta["potential_source"] = f"holding level of DAC 0 ({level:g} {dac_unit})"
    except (IndexError, TypeError, ValueError, AttributeError):
        pass

    if dtype.kind == "f":
        meta["warnings"].append("float samples memory-mapped: NaN/Inf not checked at open")
    t0 = 0.0
    if sweep is not None:
        if isinstance(sweep, bool) or not isinstance(sweep, (int, np.integer)) or not 0 <= sweep < sweeps:
            raise ParameterError(f"{path}: sweep={sweep!r} not available; the file has sweeps 0..{sweeps - 1}")
        a = table.starts[sweep]
        raw = raw[a:a + table.lengths[sweep]]
        t0 = float(table.times[sweep])
        meta["sweep"] = int(sweep)
    elif sweeps > 1:
        size_text = (f"{min(table.lengths)} to {max(table.lengths)} samples (variable length)" if table.variable
                     else f"{table.lengths[0]} samples")
        meta["warnings"].append(
            f"{sweeps} sweeps of {size_text} joined end to end; the pauses between sweeps are not in the trace "
            "(boundaries in meta['sweep_starts'], start times in meta['sweep_times']; pass sweep=<n> for one sweep)"
        )
    check_current_magnitude(raw, scale=adc_gain * scale, offset=adc_offset * scale, meta=meta, path=path,
                            instrument="patch-clamp or nanopore amplifier")
    return Trace.from_raw(
        raw,
        fs=rate,
        gain=adc_gain * scale,
        offset=adc_offset * scale,
        dtype=np.float32,
        t0=t0,
        meta=meta,
        source=str(path),
    )
