"""The reader registry: one entry per file format and kind, listed by :func:`list_formats`."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from importlib import import_module
from types import MappingProxyType

__all__ = ["KINDS", "ReaderInfo", "FORMATS", "list_formats", "register_reader"]

#: What each kind of reader returns.
KINDS = MappingProxyType({
    "trace": "current-time recording -> nbtools.Trace (A, s)",
    "scan": "SECCM scan -> xarray.Dataset in the nbtools.seccm layout",
    "curve": "voltammetry / potential-step curve -> pandas.DataFrame (t in s, E in V, i in A)",
})


@dataclass(frozen=True)
class ReaderInfo:
    """One file format: what it holds, how to recognise it and which function reads it.

    ``module`` is a module path (relative to ``nbtools.io`` when it starts
    with a dot) defining the reader (``read(path, **options)``, keyword-only
    options) and the sniffer (``sniff(head: bytes, text: str | None) -> int``,
    or ``sniff(head, text, path)`` when it must look inside the file, like
    xarray's ``BackendEntrypoint.guess_can_open``); ``reader``/``sniffer`` name
    them. Sniff scores: 0 no; 1 a generic layout fits (any table of numbers);
    2 the format's signature or column layout was found; 3 the signature and
    content only this reader reads (a WEC-SPM TDMS, an nbtools NetCDF).
    ``kind`` is ``'trace'``, ``'scan'`` or ``'curve'`` (:data:`KINDS`);
    ``folder=True`` for a reader of folders.
    """

    name: str
    description: str
    extensions: tuple[str, ...]
    module: str
    reader: str = "read"
    sniffer: str = "sniff"
    kind: str = "trace"
    folder: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"ReaderInfo {self.name!r}: kind={self.kind!r}; expected one of {', '.join(KINDS)}")

    def _mod(self):
        return import_module(self.module, package=__package__ if self.module.startswith(".") else None)

    def read(self, path, **options):
        return getattr(self._mod(), self.reader)(path, **options)

    def sniff(self, head: bytes, text: str | None, path=None) -> int:
        """Score of the sniffer (0 to 3); ``path`` goes to sniffers that take it."""
        fn = getattr(self._mod(), self.sniffer)
        if path is not None and len(inspect.signature(fn).parameters) >= 3:
            return int(fn(head, text, path))
        return int(fn(head, text))

    @property
    def options(self) -> tuple[str, ...]:
        """Keyword options the reader accepts."""
        sig = inspect.signature(getattr(self._mod(), self.reader))
        return tuple(p.name for p in sig.parameters.values() if p.kind is p.KEYWORD_ONLY)


_FORMATS: dict[str, ReaderInfo] = {}


def register_reader(info: ReaderInfo, *, replace: bool = False) -> None:
    """Add a reader to the registry (plug-in formats); ties in sniffing go to the earlier one."""
    if info.name in _FORMATS and not replace:
        raise ValueError(f"a reader named {info.name!r} is already registered; pass replace=True")
    _FORMATS[info.name] = info


_TEXT = (".csv", ".tsv", ".txt", ".dat")
for _info in (
    # current-time recordings
    ReaderInfo("abf", "Axon ABF1/ABF2 (pCLAMP, Clampex); sample block memory-mapped", (".abf",), ".abf"),
    ReaderInfo("atf", "Axon Text File (pCLAMP/Clampfit text export): signals and sweeps", (".atf",), ".atf"),
    ReaderInfo("chi", "CH Instruments text export (e.g. Amperometric i-t Curve)", (".txt", ".csv"), ".chi"),
    ReaderInfo("gamry-dta", "Gamry Framework DTA file (CURVE tables)", (".dta",), ".gamry"),
    ReaderInfo("gamry-xy", "Gamry Echem Analyst two-column XY export (t [s], I [A])", (".txt",), ".gamry",
               reader="read_xy", sniffer="sniff_xy"),
    ReaderInfo("biologic-mpt", "BioLogic EC-Lab ASCII export (.mpt)", (".mpt",), ".biologic"),
    ReaderInfo("biologic-mpr", "BioLogic EC-Lab binary file (.mpr, needs galvani)", (".mpr",), ".biologic",
               reader="read_mpr", sniffer="sniff_mpr"),
    ReaderInfo("tdms", "LabVIEW TDMS (npTDMS)", (".tdms",), ".tdms"),
    ReaderInfo("hdf5", "HDF5 dataset (h5py)", (".h5", ".hdf5", ".hdf", ".he5"), ".hdf5"),
    ReaderInfo("npy", "NumPy .npy array (current; pass fs=)", (".npy",), ".numpy_", reader="read_npy",
               sniffer="sniff_npy"),
    ReaderInfo("npz", "NumPy .npz archive (current and fs keys)", (".npz",), ".numpy_", reader="read_npz",
               sniffer="sniff_npz"),
    ReaderInfo("csv", "Delimited text: CSV, TSV, semicolon, whitespace; units from the header",
               (".csv", ".tsv", ".txt", ".dat", ".asc", ".tab"), ".trace_csv"),
    # SECCM scans
    ReaderInfo("seccm-tdms", "WEC-SPM hopping-mode SECCM recording (LabVIEW TDMS): one pixel per landing",
               (".tdms",), ".seccm_tdms", reader="read_wecspm_tdms", kind="scan"),
    ReaderInfo("seccm-netcdf", "SECCM Dataset saved by nbtools.seccm.save (NetCDF-4/HDF5)",
               (".nc", ".nc4", ".h5", ".hdf5", ".netcdf"), ".seccm_netcdf", reader="read_netcdf", kind="scan"),
    ReaderInfo("seccm-columns", "SECCM columns: a potential column and one current column per landing (grid=)",
               _TEXT, ".seccm_text", reader="read_columns", sniffer="sniff_columns", kind="scan"),
    ReaderInfo("seccm-folder", "SECCM folder: one text file per landing, x and y in the file names",
               _TEXT, ".seccm_text", reader="read_folder", sniffer="sniff_folder", kind="scan", folder=True),
    # curves
    ReaderInfo("curve-csv", "Curve table: time, potential and current columns with units (CV, potential steps)",
               _TEXT, ".curve_csv", kind="curve"),
    ReaderInfo("gamry-curve", "Gamry DTA voltammogram (TAG CV, LSV...): T, Vf, Im of a CURVE table", (".dta",),
               ".curve_instruments", reader="read_gamry", sniffer="sniff_gamry", kind="curve"),
    ReaderInfo("biologic-curve", "BioLogic EC-Lab .mpt voltammogram: time/s, Ewe/V, <I>/mA", (".mpt",),
               ".curve_instruments", reader="read_biologic", sniffer="sniff_biologic", kind="curve"),
    ReaderInfo("chi-curve", "CH Instruments voltammetry text export: Potential/V, Current/A; time from the header",
               (".txt", ".csv"), ".curve_instruments", reader="read_chi", sniffer="sniff_chi", kind="curve"),
):
    register_reader(_info)

FORMATS = MappingProxyType(_FORMATS)
"""Read-only mapping ``name -> ReaderInfo`` of every registered format."""


def list_formats(kind: str | None = None):
    """Supported formats as a table: name, kind, description, extensions, options.

    Parameters
    ----------
    kind : {'trace', 'scan', 'curve'}, optional
        Only the readers of this kind.

    Examples
    --------
    >>> from nbtools.io import list_formats
    >>> "abf" in list_formats()["name"].tolist()
    True
    >>> list_formats("scan")["name"].tolist()
    ['seccm-tdms', 'seccm-netcdf', 'seccm-columns', 'seccm-folder']
    """
    import pandas as pd

    if kind is not None and kind not in KINDS:
        from ..errors import ParameterError

        raise ParameterError(f"kind={kind!r}: expected one of {', '.join(KINDS)} (or None for all)")
    rows = [
        {
            "name": i.name,
            "kind": i.kind,
            "description": i.description,
            "extensions": ("folder of " if i.folder else "") + " ".join(i.extensions),
            "options": ", ".join(i.options),
        }
        for i in _FORMATS.values()
        if kind in (None, i.kind)
    ]
    return pd.DataFrame(rows, columns=["name", "kind", "description", "extensions", "options"])
