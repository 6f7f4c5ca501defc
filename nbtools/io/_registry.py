"""The reader registry: one entry per file format, listed by :func:`list_formats`."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from importlib import import_module
from types import MappingProxyType

__all__ = ["ReaderInfo", "FORMATS", "list_formats", "register_reader"]


@dataclass(frozen=True)
class ReaderInfo:
    """One file format: how to recognise it and which function reads it.

    ``module`` is a module path (relative to ``nbtools.io`` when it starts
    with a dot) defining ``read`` (``read(path, **options) -> Trace``) and
    ``sniff`` (``sniff(head: bytes, text: str | None) -> int``: 0 no, 1 maybe,
    2 the file's signature was found); ``reader``/``sniffer`` name them.
    """

    name: str
    description: str
    extensions: tuple[str, ...]
    module: str
    reader: str = "read"
    sniffer: str = "sniff"

    def _mod(self):
        return import_module(self.module, package=__package__ if self.module.startswith(".") else None)

    def read(self, path, **options):
        return getattr(self._mod(), self.reader)(path, **options)

    def sniff(self, head: bytes, text: str | None) -> int:
        return int(getattr(self._mod(), self.sniffer)(head, text))

    @property
    def options(self) -> tuple[str, ...]:
        """Keyword options the reader accepts."""
        sig = inspect.signature(getattr(self._mod(), self.reader))
        return tuple(p.name for p in sig.parameters.values() if p.kind is p.KEYWORD_ONLY)


_FORMATS: dict[str, ReaderInfo] = {}


def register_reader(info: ReaderInfo, *, replace: bool = False) -> None:
    """Add a reader to the registry (plug-in formats); sniffed in registration order."""
    if info.name in _FORMATS and not replace:
        raise ValueError(f"a reader named {info.name!r} is already registered; pass replace=True")
    _FORMATS[info.name] = info


for _info in (
    ReaderInfo("abf", "Axon ABF1/ABF2 (pCLAMP, Clampex); sample block memory-mapped", (".abf",), ".abf"),
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
               (".csv", ".tsv", ".txt", ".dat", ".asc", ".tab"), ".table"),
):
    register_reader(_info)

FORMATS = MappingProxyType(_FORMATS)
"""Read-only mapping ``name -> ReaderInfo`` of every registered format."""


def list_formats():
    """Supported formats as a table: name, description, extensions, options.

    Examples
    --------
    >>> from nbtools.io import list_formats
    >>> "abf" in list_formats()["name"].tolist()
    True
    """
    import pandas as pd

    rows = [
        {
            "name": i.name,
            "description": i.description,
            "extensions": " ".join(i.extensions),
            "options": ", ".join(i.options),
        }
        for i in _FORMATS.values()
    ]
    return pd.DataFrame(rows)
