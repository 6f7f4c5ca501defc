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
    size = path.stat().st_size
    need = start + npts * dtype.itemsize
    if npts <= 0:
        raise DataError(f"{path}: ABF header says the file holds no samples (dataPointCount={npts})")
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

    sweeps = int(abf.sweepCount)
    spc = int(abf.sweepPointCount)
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
        sweep_starts=[i * spc for i in range(sweeps)],
        header={"abf_version": abf.abfVersionString, "protocol": abf.protocol,
                "operation_mode": int(abf.nOperationMode), "date": str(abf.abfDateTime),
                "comment": getattr(abf, "abfFileComment", "")},
    )
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
        raw = raw[sweep * spc:(sweep + 1) * spc]
        t0 = float(sweep) * float(getattr(abf, "sweepIntervalSec", spc / abf.dataRate))
        meta["sweep"] = int(sweep)
    elif sweeps > 1:
        meta["warnings"].append(
            f"{sweeps} sweeps of {spc} samples joined end to end; the pauses between sweeps are not "
            "in the trace (boundaries in meta['sweep_starts']; pass sweep=<n> for one sweep)"
        )
    return Trace.from_raw(
        raw,
        fs=float(abf.dataRate),
        gain=adc_gain * scale,
        offset=adc_offset * scale,
        dtype=np.float32,
        t0=t0,
        meta=meta,
        source=str(path),
    )
