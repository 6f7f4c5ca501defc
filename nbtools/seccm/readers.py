"""Opening and saving SECCM scans: thin calls into the reader layer (:mod:`nbtools.io`).

The readers live in :mod:`nbtools.io` (``kind='scan'`` in its registry):
:mod:`nbtools.io.seccm_tdms` (WEC-SPM TDMS), :mod:`nbtools.io.seccm_text`
(column files and folders of per-landing files), :mod:`nbtools.io.seccm_netcdf`
(the NetCDF round trip of :func:`save`).
"""

from __future__ import annotations

from ..io import load_scan
from ..io.seccm_netcdf import read_netcdf, save
from ..io.seccm_tdms import read_wecspm_tdms
from ..io.seccm_text import read_columns, read_folder

__all__ = ["load", "save", "read_columns", "read_folder", "read_netcdf", "read_wecspm_tdms"]


def load(path, **options):
    """Open an SECCM scan as an :mod:`nbtools.seccm` Dataset (:func:`nbtools.io.load_scan`).

    The reader is recognised by content, then by extension:

    - ``.tdms``: WEC-SPM LabVIEW recording (:func:`read_wecspm_tdms`),
    - a folder: one CSV/TXT file per landing with x, y in the file names
      (:func:`read_folder`),
    - ``.csv``/``.txt``/``.tsv``/``.dat``: a potential column and one current
      column per landing, with ``grid=(ny, nx)`` (:func:`read_columns`),
    - ``.nc``/``.h5``/``.nc4``: a Dataset written by :func:`save`.

    Options (and ``format=``, see ``nbtools.io.list_formats('scan')``) are
    passed to the reader; unknown ones raise ParameterError listing the
    accepted ones.

    Raises
    ------
    MissingFileError
        The path does not exist (as :func:`nbtools.io.load_trace`).
    FormatError
        Unknown file type, or content the reader cannot parse.
    DataError
        A text file with no numeric rows, curves that do not fit the grid...
    """
    return load_scan(path, **options)
