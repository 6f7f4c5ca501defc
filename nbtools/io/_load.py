"""load_trace: pick a reader by content, then extension, and run it."""

from __future__ import annotations

import struct

from ..errors import FormatError, NbtoolsError, ParameterError
from ..trace import Trace
from ._common import check_file, head_text, read_head
from ._registry import _FORMATS, ReaderInfo

__all__ = ["load_trace", "sniff_format"]


def _supported() -> str:
    return ", ".join(f"{i.name} ({' '.join(i.extensions)})" for i in _FORMATS.values())


def sniff_format(path) -> str:
    """Name of the format :func:`load_trace` would use for ``path``."""
    p = check_file(path)
    return _choose(p, read_head(p), None).name


def _choose(path, head: bytes, fmt: str | None) -> ReaderInfo:
    if fmt is not None:
        try:
            return _FORMATS[fmt]
        except KeyError:
            raise FormatError(f"unknown format {fmt!r} for {path}; supported formats: {_supported()}") from None
    text = head_text(head)
    ext = path.suffix.lower()
    best, best_key = None, (0, 0)
    for info in _FORMATS.values():
        score = info.sniff(head, text)
        key = (score, int(ext in info.extensions))
        if score and key > best_key:
            best, best_key = info, key
    if best is not None:
        return best
    by_ext = [info for info in _FORMATS.values() if ext in info.extensions]
    if by_ext:
        # a text file no specific reader recognised goes to the generic table reader
        generic = [i for i in by_ext if i.name == "csv"]
        return generic[0] if generic and text is not None else by_ext[0]
    kind = "binary" if text is None else "text"
    raise FormatError(
        f"{path}: format not recognised ({kind} file, extension {ext or 'none'!r}, starts with {head[:16]!r}); "
        f"supported formats: {_supported()}. Pass format='<name>' if the file is one of these."
    )


def load_trace(path, *, format: str | None = None, **options) -> Trace:
    """Read a current-time recording from an instrument file.

    The format is recognised from the first bytes of the file (signature,
    header lines), then from the extension; ``format=`` forces one (see
    :func:`list_formats`). Every reader converts to amperes and seconds and
    records what it converted from in ``trace.meta``.

    Parameters
    ----------
    path : str or os.PathLike
        The file. It is only read, never written.
    format : str, optional
        Name of a registered format (``nbtools.io.FORMATS``).
    **options
        Reader options, all optional. Common ones: ``channel`` (index or name),
        ``fs`` (Hz, when the file has no time base), ``current_unit`` /
        ``time_unit`` (override the units in the file); ABF: ``sweep``;
        TDMS: ``group``; HDF5/NPZ: ``dataset``/``key``; Gamry DTA: ``curve``.
        Unknown options raise ParameterError listing the accepted ones.

    Returns
    -------
    Trace
        ``current`` in A (possibly lazily scaled from a memory map, see
        :meth:`Trace.from_raw`), ``fs`` in Hz, ``t0`` in s and ``meta`` with
        keys ``format``, ``instrument``, ``units`` (as found), ``potential``
        (V or None), ``filter``, ``channel``, ``channels``, ``converted``
        (scale factors applied), ``warnings`` (list of str) and ``header``.

    Raises
    ------
    MissingFileError, FormatError, UnitsError, DataError, ParameterError

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from nbtools.io import load_trace
    >>> path = os.path.join(tempfile.mkdtemp(), "demo.csv")
    >>> _ = open(path, "w").write("Time (s),Current / pA\\n0,1\\n0.01,2\\n0.02,3\\n")
    >>> tr = load_trace(path)
    >>> tr.fs, tr.current.tolist(), tr.meta["units"] == {"current": "pA", "time": "s"}
    (100.0, [1e-12, 2e-12, 3e-12], True)
    """
    p = check_file(path)
    info = _choose(p, read_head(p), format)
    allowed = info.options
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ParameterError(
            f"option(s) {', '.join(unknown)} not understood by the {info.name} reader "
            f"(loading {p}); it accepts: {', '.join(allowed) or 'no options'}"
        )
    try:
        trace = info.read(p, **options)
    except NbtoolsError:
        raise
    except (ValueError, OSError, KeyError, IndexError, EOFError, struct.error, UnicodeDecodeError) as exc:
        raise FormatError(
            f"{p}: could not be read as {info.description} ({type(exc).__name__}: {exc}); "
            f"check that the file is complete, or pass format= (supported: {', '.join(_FORMATS)})"
        ) from exc
    trace.meta.setdefault("format", info.name)
    trace.meta.setdefault("warnings", [])
    trace.source = str(p)
    return trace
