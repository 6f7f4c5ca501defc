"""Readers: every instrument file becomes a :class:`nbtools.Trace` in amperes and seconds.

Public API
----------
load_trace(path, *, format=None, **options)
    Read a current-time recording; the format is sniffed from the file's first
    bytes (signature, header lines), then from its extension.
sniff_format(path)
    Name of the format load_trace would choose.
FORMATS
    Read-only mapping ``name -> ReaderInfo`` of the supported formats.
list_formats()
    The same as a pandas DataFrame (name, description, extensions, options).
register_reader(info)
    Add a plug-in format (a module with ``read`` and ``sniff``).

Formats (one small module each)
-------------------------------
=============  =====================================================  ==========================================
name           files                                                  options (besides ``format``)
=============  =====================================================  ==========================================
abf            Axon ABF1/ABF2; samples memory-mapped, scaled lazily   channel, sweep, current_unit
chi            CH Instruments text export (Amperometric i-t Curve)    channel, current_unit, fs
gamry-dta      Gamry Framework .DTA (CURVE TABLE blocks)              curve, channel, current_unit, fs
gamry-xy       Gamry Echem Analyst two-column XY export               fs, channel
biologic-mpt   BioLogic EC-Lab .mpt text export                       channel, current_unit, fs
biologic-mpr   BioLogic EC-Lab .mpr binary (galvani)                  channel, current_unit, fs
tdms           LabVIEW TDMS (npTDMS)                                  group, channel, time_channel, current_unit, fs
hdf5           HDF5 dataset (h5py; big contiguous ones memory-mapped) dataset/channel, time_dataset, current_unit, fs
npy / npz      NumPy arrays                                           fs, current_unit, t0 / key/channel, fs, ...
csv            CSV, TSV, semicolon + decimal comma, whitespace        fs, channel, time_column, current_unit,
                                                                      time_unit, delimiter, decimal
=============  =====================================================  ==========================================

``channel`` takes an index or a label as listed in ``trace.meta['channels']``.

What the trace records (``trace.meta``)
---------------------------------------
format, instrument, units (as found, e.g. ``{'current': 'pA', 'time': 's'}``),
converted (scale factors applied, e.g. ``current_scale``), potential (V or None)
and potential_source, filter (dict or None), channel, channels, warnings (list
of str: quantised or uneven time columns rebuilt from the sample index, gaps,
joined sweeps...), header (the file's key/value header); plus format-specific
keys (ABF ``sweep_count``/``sweep_starts``; Gamry ``curve``; CHI
``technique``/``sensitivity_A_per_V``; ``units_source`` where units are assumed).

Errors are :mod:`nbtools.errors` classes naming the file, what was expected and
what was found. Input files are opened read-only and never written.
"""

from ._load import load_trace, sniff_format
from ._registry import FORMATS, ReaderInfo, list_formats, register_reader

__all__ = ["load_trace", "sniff_format", "FORMATS", "ReaderInfo", "list_formats", "register_reader"]
