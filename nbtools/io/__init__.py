"""Readers: every file nbtools analyses, through one registry.

Three kinds of data come out, in SI units:

- ``trace``: a current-time recording -> :class:`nbtools.Trace` (A, s);
- ``scan``: an SECCM scan -> ``xarray.Dataset`` in the :mod:`nbtools.seccm` layout
  (one pixel per landing);
- ``curve``: a voltammogram or potential-step series (particle on a stick) ->
  ``pandas.DataFrame`` with ``t`` (s), ``E`` (V), ``i`` (A).

Public API
----------
load(path, *, kind=None, format=None, **options)
    Read any supported file or folder; the reader is sniffed from the content
    (signature, header lines, channels inside the file), then from the
    extension; folders are scans. ``kind=`` keeps to one kind.
load_trace / load_scan / load_curve(path, *, format=None, **options)
    ``load`` for one kind (``nbtools.seccm.load`` is ``load_scan``,
    ``nbtools.stick.read_curve_csv`` reads with ``format='curve-csv'``).
sniff_format(path, *, kind=None)
    Name of the format ``load`` would choose.
FORMATS, KINDS
    Read-only mappings ``name -> ReaderInfo`` and ``kind -> what it returns``.
list_formats(kind=None)
    The formats as a pandas DataFrame (name, kind, description, extensions, options).
register_reader(info)
    Add a plug-in format (a module with a reader and a sniffer, see ReaderInfo).

One table reader (:mod:`nbtools.io.table`: delimiter and decimal sniffing, header
labels, numeric block) and one unit parser (:mod:`nbtools.units`) serve every
text format of every kind.

Formats (one small module each)
-------------------------------
=============  =====  ==================================================  ========================================
name           kind   files                                               options (besides ``format``)
=============  =====  ==================================================  ========================================
abf            trace  Axon ABF1/ABF2; samples memory-mapped, scaled lazily  channel, sweep, current_unit
                      (sweeps from the file's sweep table)
atf            trace  Axon Text File: signals, sweeps, units                channel, sweep, current_unit, fs
chi            trace  CH Instruments text export (Amperometric i-t Curve)   channel, current_unit, fs
gamry-dta      trace  Gamry Framework .DTA (TAG/TABLE structure; FREQ or    curve, channel, current_unit, fs
                      SAMPLETIME when no time column)
gamry-xy       trace  Gamry Echem Analyst two-column XY export              fs, channel
biologic-mpt   trace  BioLogic EC-Lab .mpt text export                      channel, current_unit, fs
biologic-mpr   trace  BioLogic EC-Lab .mpr binary (galvani)                 channel, current_unit, fs
tdms           trace  LabVIEW TDMS (npTDMS)                                 group, channel, time_channel,
                                                                            current_unit, fs
hdf5           trace  HDF5 dataset (h5py; big contiguous ones mem-mapped)   dataset/channel, time_dataset,
                                                                            current_unit, fs
npy / npz      trace  NumPy arrays                                          fs, current_unit, t0 / key/channel, fs
csv            trace  CSV, TSV, semicolon + decimal comma, whitespace       fs, channel, time_column, current_unit,
                                                                            time_unit, delimiter, decimal
(every trace reader with a time column also takes ``resample``: see below)
seccm-tdms     scan   WEC-SPM hopping-mode recording (LabVIEW TDMS)         potential_channel, current_channel,
                                                                            segments, current_sign, label, ...
seccm-netcdf   scan   Dataset written by nbtools.seccm.save (.nc, .h5)      none
seccm-columns  scan   potential column + one current column per landing    grid (required), serpentine, pitch,
                                                                            potential_column, time_column, dt, ...
seccm-folder   scan   folder of per-landing text files, x/y in file names   pattern, position_unit,
                                                                            potential_column, current_column, ...
curve-csv      curve  time, potential and current columns with units        delimiter, decimal
gamry-curve    curve  Gamry DTA voltammogram (TAG CV...): T, Vf, Im         curve
biologic-curve curve  EC-Lab .mpt voltammogram: time/s, Ewe/V, <I>/mA       none
chi-curve      curve  CHI voltammetry export; t from the scan rate          none
=============  =====  ==================================================  ========================================

How a file is recognised: each reader's sniffer scores the file (0 no, 1 a
generic table of numbers, 2 a signature or a column layout, 3 a signature and
content only that reader reads: WEC-SPM channels inside a TDMS, an nbtools
Dataset inside HDF5). The highest score wins; ties go to the reader accepting
the options given, then to the extension. A table naming time, potential and
one current column is a curve; one naming a potential and mostly current
columns is an SECCM column scan; any other table of numbers is a trace.

``channel`` takes an index or a label as listed in ``trace.meta['channels']``.

What a trace records (``trace.meta``)
-------------------------------------
format, instrument, units (as found, e.g. ``{'current': 'pA', 'time': 's'}``),
converted (scale factors applied, e.g. ``current_scale``), potential (V or None)
and potential_source, filter (dict or None), channel, channels, warnings (list
of str: quantised or uneven time columns, gaps, joined sweeps, implausible
magnitudes...), gaps (list of [start, stop] s with no sample in the file, filled
by interpolation), time_base (how a time column became the uniform base, see
:mod:`nbtools.io.timebase`), header (the file's key/value header); plus
format-specific keys (ABF/ATF ``sweep_count``/``sweep_starts``/``sweep_lengths``/
``sweep_times``; Gamry ``curve``; CHI ``technique``/``sensitivity_A_per_V``;
``units_source`` where units are assumed).

Time columns keep every sample at its file time (:mod:`nbtools.io.timebase`):
quantised printing is rebuilt from the index, real gaps are filled by linear
interpolation and listed in ``meta['gaps']``, irregular stamps are interpolated
onto a uniform grid; ``resample=<Hz>`` chooses the rate, ``resample='index'``
joins samples end to end. The technique a file names is checked
(:mod:`nbtools.io.sanity`): voltammograms go to the curve readers, impedance
spectra are refused, implausible currents warn.
A scan records ``source`` and ``units_found_*`` in ``ds.attrs``; a curve
``source``, ``format``, ``columns`` and ``units`` in ``df.attrs``.

Errors are :mod:`nbtools.errors` classes naming the file, what was expected and
what was found; library exceptions are wrapped at the reader boundary. Sizes a
file declares are checked against the file and the memory budget
``NBTOOLS_MAX_LOAD_BYTES`` before anything is allocated (:mod:`nbtools.io.limits`;
:class:`~nbtools.errors.SizeLimitError`). Files that are never data (Git LFS
pointers, web pages, spreadsheets) are named (:mod:`nbtools.io.identify`).
Input files are opened read-only and never written.
"""

from ._load import load, load_curve, load_scan, load_trace, sniff_format
from ._registry import FORMATS, KINDS, ReaderInfo, list_formats, register_reader

__all__ = ["load", "load_trace", "load_scan", "load_curve", "sniff_format", "FORMATS", "KINDS", "ReaderInfo",
           "list_formats", "register_reader"]
