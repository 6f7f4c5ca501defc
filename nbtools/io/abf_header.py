"""ABF header checks before pyabf reads it, and the sweep table (synch array) of episodic files.

pyabf trusts the counts in the header: a damaged section map can make it build
lists of billions of entries. :func:`check_header` reads the few fields that
size what pyabf allocates (the ABF2 section map; the ABF1 sample, episode,
channel and tag counts) and checks each against the file size first.

:func:`sweep_table` gives each sweep's first sample, length and start time.
Event-driven variable-length files (operation mode 1) hold sweeps of different
lengths: their table is the synch array (ABF2: pyabf's ``SynchArraySection``;
ABF1: the array at ``lSynchArrayPtr``, which pyabf does not read), each entry
the sweep's start time (``fSynchTimeUnit`` microseconds, or samples when 0, as
pyabf reads it) and its length in samples of all channels.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from ..errors import FormatError
from .limits import check_declared

__all__ = ["check_header", "sweep_table", "SweepTable"]

BLOCK = 512
# ABF2 section map: byte position of each section descriptor pyabf reads (uint32 block, uint32 bytes, int32 count)
_SECTIONS = {"protocol": 76, "ADC": 92, "DAC": 108, "epoch": 124, "epoch-per-DAC": 156, "user list": 172,
             "strings": 220, "data": 236, "tag": 252, "synch array": 316}
_MAX_CHANNELS = 16


def _unpack(head: bytes, fmt: str, pos: int, path):
    try:
        return struct.unpack_from("<" + fmt, head, pos)[0]
    except struct.error:
        raise FormatError(f"{path}: ABF header cut short ({len(head)} bytes); the file is truncated or not an ABF"
                          ) from None


def _sections(head: bytes, path) -> dict:
    return {name: (_unpack(head, "I", pos, path), _unpack(head, "I", pos + 4, path), _unpack(head, "i", pos + 8, path))
            for name, pos in _SECTIONS.items()}


def check_header(path, size: int) -> None:
    """FormatError/SizeLimitError when the header declares more than the file of ``size`` bytes holds."""
    with open(path, "rb") as fh:
        head = fh.read(6144)
    sig = head[:4]
    if sig == b"ABF2":
        for name, (block, nbytes, count) in _sections(head, path).items():
            if count <= 0 or name == "data":  # the reader checks the sample block (and says 'truncated')
                continue
            if nbytes == 0:
                raise FormatError(f"{path}: ABF2 {name} section declares {count} entries of 0 bytes; damaged header")
            check_declared(block * BLOCK + nbytes * count, size, path=path, what=f"the end of the ABF2 {name} section")
        n_adc = _unpack(head, "i", 92 + 8, path)
        if not 1 <= n_adc <= _MAX_CHANNELS:
            raise FormatError(f"{path}: ABF2 header declares {n_adc} ADC channels; expected 1 to {_MAX_CHANNELS}")
        data_bytes = _unpack(head, "I", 236 + 4, path)
        if data_bytes not in (2, 4):
            raise FormatError(f"{path}: ABF2 samples of {data_bytes} bytes; expected 2 (int16) or 4 (float32)")
        episodes = _unpack(head, "I", 12, path)
        check_declared(episodes, size // data_bytes, path=path, what="the ABF2 sweep count (lActualEpisodes)")
    elif sig == b"ABF ":
        check_declared(_unpack(head, "i", 16, path), size // 2, path=path,
                       what="the ABF1 sweep count (lActualEpisodes)")
        nch = _unpack(head, "h", 120, path)
        if not 1 <= nch <= _MAX_CHANNELS:
            raise FormatError(f"{path}: ABF1 header declares {nch} ADC channels; expected 1 to {_MAX_CHANNELS}")
        interval = _unpack(head, "f", 122, path)
        if not (np.isfinite(interval) and interval > 0):
            raise FormatError(f"{path}: ABF1 sample interval is {interval!r} us; expected a positive number")
        for what, ptr, count, entry in (("tag", 44, 48, 64), ("synch array", 92, 96, 8)):
            n = _unpack(head, "i", count, path)
            if n > 0:
                check_declared(_unpack(head, "i", ptr, path) * BLOCK + n * entry, size, path=path,
                               what=f"the end of the ABF1 {what} section")
    else:
        raise FormatError(f"{path}: not an Axon ABF file (starts with {sig!r}; expected 'ABF ' or 'ABF2')")


@dataclass(frozen=True)
class SweepTable:
    """Per sweep: first sample in the joined trace, length (samples per channel), start time (s); ``source``."""

    starts: list
    lengths: list
    times: list
    source: str

    @property
    def variable(self) -> bool:
        return len(set(self.lengths)) > 1


def _abf1_synch(path, abf, size):
    h = abf._headerV1
    n, ptr = int(h.lSynchArraySize), int(h.lSynchArrayPtr)
    if n <= 0 or ptr <= 0:
        return None, None
    check_declared(ptr * BLOCK + 8 * n, size, path=path, what="the end of the ABF1 synch array")
    raw = np.fromfile(path, dtype="<i4", count=2 * n, offset=ptr * BLOCK).reshape(n, 2)
    return raw[:, 0].tolist(), raw[:, 1].tolist()


def sweep_table(path, abf, size: int) -> tuple[SweepTable, str | None]:
    """The sweeps of ``abf`` (a header-only ``pyabf.ABF``), and a warning when the file's table is unusable."""
    nch = int(abf.channelCount)
    sweeps = int(abf.sweepCount)
    npts = int(abf.dataPointCount)
    rate = float(abf.dataRate)
    spc = npts // nch // max(sweeps, 1)
    fixed = SweepTable([i * spc for i in range(sweeps)], [spc] * sweeps,
                       [i * float(getattr(abf, "sweepIntervalSec", spc / rate)) for i in range(sweeps)],
                       "equal sweeps at the protocol's sweep interval")
    if sweeps <= 1:
        return fixed, None
    if abf.abfVersion["major"] == 2:
        sec = getattr(abf, "_synchArraySection", None)
        lstart, llen = (list(sec.lStart), list(sec.lLength)) if sec is not None else (None, None)
        unit = float(abf._protocolSection.fSynchTimeUnit)
    else:
        lstart, llen = _abf1_synch(path, abf, size)
        unit = float(abf._headerV1.fSynchTimeUnit)
    if not lstart:
        if int(abf.nOperationMode) == 1:
            return fixed, ("event-driven variable-length ABF without a sweep table (synch array): sweeps taken "
                           "as equal, boundaries may be wrong")
        return fixed, None
    lengths = [int(v) for v in llen]
    if len(lengths) != sweeps or any(v <= 0 or v % nch for v in lengths) or sum(lengths) != npts:
        return fixed, (f"the ABF sweep table (synch array: {len(lengths)} entries, {sum(lengths)} samples) does not "
                       f"match the header ({sweeps} sweeps, {npts} samples); sweeps taken as equal")
    per_ch = [v // nch for v in lengths]
    starts = np.concatenate([[0], np.cumsum(per_ch)[:-1]]).astype(int).tolist()
    # pyabf: start in fSynchTimeUnit microseconds, or in samples when the unit is 0
    times = [float(v) * unit * 1e-6 if unit > 0 else float(v) / rate for v in lstart]
    return SweepTable(starts, per_ch, times, "the file's sweep table (synch array)"), None
