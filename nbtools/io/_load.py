"""load: pick a reader by content, then extension, and run it (load_trace/load_scan/load_curve for one kind)."""

from __future__ import annotations

from ..errors import FormatError, NbtoolsError, ParameterError, SizeLimitError
from ._common import check_path, head_text, read_head, wrap_message
from .identify import describe, not_data
from .limits import ENV
from ._registry import _FORMATS, KINDS, ReaderInfo

__all__ = ["load", "load_trace", "load_scan", "load_curve", "sniff_format"]

_WHAT = {None: "an instrument file or a folder of SECCM landings", "trace": "one instrument file",
         "scan": "an SECCM file (.tdms, .csv/.txt, .nc) or a folder of per-landing files",
         "curve": "a curve table (time, potential and current columns)"}


def _check_kind(kind):
    if kind is not None and kind not in KINDS:
        raise ParameterError(f"kind={kind!r}: expected one of {', '.join(map(repr, KINDS))} or None (any kind)")
    return kind


def _candidates(kind, folder: bool) -> list[ReaderInfo]:
    return [i for i in _FORMATS.values() if kind in (None, i.kind) and i.folder == folder]


def _supported(cands) -> str:
    return ", ".join(f"{i.name} ({'folder' if i.folder else ' '.join(i.extensions)})" for i in cands)


def _accepts(info: ReaderInfo, options) -> bool:
    return set(options) <= set(info.options)


def _by_name(path, fmt, kind) -> ReaderInfo:
    try:
        info = _FORMATS[fmt]
    except KeyError:
        raise FormatError(f"unknown format {fmt!r} for {path}; supported formats: "
                          f"{_supported(_candidates(kind, path.is_dir()))}") from None
    if kind is not None and info.kind != kind:
        raise ParameterError(f"format {fmt!r} reads {info.kind}s, not {kind}s (loading {path}); "
                             f"{kind} formats: {', '.join(i.name for i in _FORMATS.values() if i.kind == kind)}")
    if info.folder != path.is_dir():
        raise ParameterError(f"format {fmt!r} reads {'folders' if info.folder else 'files'}; {path} is "
                             f"{'a folder' if path.is_dir() else 'a file'}")
    return info


def _choose(path, kind, fmt, options) -> ReaderInfo:
    """The reader for ``path``: ``format=``, else the best sniff score, else the extension."""
    if fmt is not None:
        return _by_name(path, fmt, kind)
    folder = path.is_dir()
    cands = _candidates(kind, folder)
    head = b"" if folder else read_head(path)
    text = None if folder else head_text(head)
    ext = "" if folder else path.suffix.lower()
    best = _by_content(path, cands, head, text, options)
    if best is not None:
        return best[1]
    by_ext = [i for i in cands if folder or ext in i.extensions]
    if by_ext:
        # a text file no specific reader recognised goes to the generic reader of its kind
        return max(by_ext, key=lambda i: (_accepts(i, options), i.name == "csv" and text is not None))
    known = None if folder else describe(head, text)
    if known:
        raise FormatError(f"{path}: {known}")
    desc = "folder" if folder else ("binary" if text is None else "text") + f" file, starts with {head[:16]!r}"
    what = f"unknown SECCM file type {ext or 'none'!r}" if kind == "scan" else "format not recognised"
    raise FormatError(
        f"{path}: {what} ({desc}, extension {ext or 'none'!r}); supported formats: {_supported(cands)}. "
        f"Pass format='<name>' if the file is one of these{_other_kind(path, kind) or '.'}"
    )


def _by_content(path, cands, head, text, options):
    """(score, reader) of the best sniff, or None when no sniffer recognises the file.

    Highest score; ties go to the reader taking the options, then the extension, then registration order.
    """
    ext = "" if path.is_dir() else path.suffix.lower()
    scored = [(_score(info, head, text, path), info) for info in cands]
    scored = [(s, info) for s, info in scored if s > 0]
    if not scored:
        return None
    return max(scored, key=lambda si: (si[0], _accepts(si[1], options), ext in si[1].extensions))


def _score(info: ReaderInfo, head, text, path) -> int:
    """A sniffer's score; a sniffer that fails on a damaged file scores 0 (the reader will say what is wrong)."""
    try:
        return info.sniff(head, text, path)
    except Exception:  # noqa: BLE001 - sniffing never fails
        return 0


def sniff_format(path, *, kind: str | None = None) -> str:
    """Name of the format :func:`load` would use for ``path`` (``kind='trace'``: :func:`load_trace`'s)."""
    kind = _check_kind(kind)
    p = check_path(path, what=_WHAT[kind], folder=False if kind in ("trace", "curve") else None)
    return _choose(p, kind, None, {}).name


def _finish(result, info: ReaderInfo, path):
    """Record the format and source where the result's kind keeps them (never on a scan: it round-trips)."""
    if info.kind == "trace":
        result.meta.setdefault("format", info.name)
        result.meta.setdefault("warnings", [])
        result.source = str(path)
    elif info.kind == "curve":
        result.attrs.setdefault("format", info.name)
        result.attrs.setdefault("source", str(path))
    return result


def load(path, *, kind: str | None = None, format: str | None = None, **options):
    """Read any supported file: a trace, an SECCM scan or a curve.

    The reader is chosen by content first (each reader's sniffer looks at the
    file's first bytes, or inside it, as xarray's ``guess_can_open``), then by
    extension; a folder is an SECCM scan of per-landing files. ``kind=`` keeps
    to one kind of reader, ``format=`` forces one (see :func:`list_formats`).

    Parameters
    ----------
    path : str or os.PathLike
        The file or folder. It is only read, never written.
    kind : {'trace', 'scan', 'curve'}, optional
        What to read it as (default: whatever its content says). A table with
        time, potential and one current column is a curve, one with a potential
        and several current columns an SECCM column scan, any other table of
        numbers a trace: pass ``kind=`` to read it otherwise.
    format : str, optional
        Name of a registered format (``nbtools.io.FORMATS``).
    **options
        Reader options (see ``list_formats()['options']``); unknown ones raise
        ParameterError listing the accepted ones.

    Returns
    -------
    nbtools.Trace, xarray.Dataset or pandas.DataFrame
        As :func:`load_trace`, :func:`load_scan` or :func:`load_curve`.

    Raises
    ------
    MissingFileError, FormatError, UnitsError, DataError, ParameterError

    Examples
    --------
    >>> import tempfile, os
    >>> from nbtools.io import load
    >>> path = os.path.join(tempfile.mkdtemp(), "cv.csv")
    >>> rows = "".join(f"{k},{0.1 * k},{k}\\n" for k in range(6))
    >>> _ = open(path, "w").write("Time / s,Potential / V,Current / nA\\n" + rows)
    >>> df = load(path)
    >>> df.attrs["format"], float(df["i"].iloc[-1])
    ('curve-csv', 5e-09)
    >>> load(path, kind="trace").meta["format"]
    'csv'
    """
    kind = _check_kind(kind)
    p = check_path(path, what=_WHAT[kind], folder=False if kind in ("trace", "curve") else None)
    _refuse_placeholder(p)
    info = _choose(p, kind, format, options)
    allowed = info.options
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        others = [i.name for i in _FORMATS.values() if kind in (None, i.kind) and _accepts(i, options)]
        hint = f"; readers that accept them: {', '.join(others)} (pass format=)" if others else ""
        raise ParameterError(
            f"option(s) {', '.join(unknown)} not understood by the {info.name} reader "
            f"(loading {p}); it accepts: {', '.join(allowed) or 'no options'}{hint}"
        )
    try:
        result = info.read(p, **options)
    except NbtoolsError as exc:
        hint = _other_kind(p, kind)
        if hint:
            raise type(exc)(f"{str(exc).rstrip('.')}{hint}") from exc
        raise
    except Warning:  # a warning raised as an error (filterwarnings) stays itself
        raise
    except MemoryError as exc:
        raise SizeLimitError(f"{p}: ran out of memory reading it as {info.description}; crop or split the file, "
                             f"or lower {ENV} so that such files are refused up front") from exc
    except Exception as exc:  # noqa: BLE001 - the reader boundary: every failure becomes an nbtools error
        raise FormatError(wrap_message(p, info.description, exc) + _other_kind(p, kind)) from exc
    return _finish(result, info, p)


def _refuse_placeholder(path) -> None:
    """FormatError for a file that is never data (LFS/annex pointer, web page, spreadsheet, PDF, image, archive)."""
    if path.is_dir():
        return
    head = read_head(path)
    found = not_data(head, head_text(head))
    if found:
        raise FormatError(f"{path}: {found}")


def _other_kind(path, kind) -> str:
    """When a reader of one kind failed on a file whose content says another kind: a hint naming it."""
    if kind is None:
        return ""
    head = b"" if path.is_dir() else read_head(path)
    best = _by_content(path, _candidates(None, path.is_dir()), head, None if path.is_dir() else head_text(head), {})
    if best is None or best[0] < 2 or best[1].kind == kind:  # only a signature or a column layout is a hint
        return ""
    other = best[1]
    return (f". The file's content says it is a {other.kind} ({other.name}): read it with "
            f"nbtools.io.load_{other.kind}() or nbtools.io.load()")


def load_trace(path, *, format: str | None = None, **options):
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
        Name of a registered trace format (``nbtools.io.FORMATS``).
    **options
        Reader options, all optional. Common ones: ``channel`` (index or name),
        ``fs`` (Hz, when the file has no time base), ``current_unit`` /
        ``time_unit`` (override the units in the file); ABF: ``sweep``;
        TDMS: ``group``; HDF5/NPZ: ``dataset``/``key``; Gamry DTA: ``curve``;
        readers of time columns: ``resample`` (``'auto'``: every sample at
        its file time, gaps filled and listed in ``meta['gaps']``; a rate in
        Hz; ``'index'``: samples end to end, see :mod:`nbtools.io.timebase`).
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
        FormatError also for a voltammogram (read it with :func:`load_curve`)
        or an impedance spectrum; SizeLimitError (a DataError) when the file
        declares more than it holds or than the memory budget allows.

    Warns
    -----
    NbtoolsWarning
        The current is implausible for the instrument (pass ``current_unit=``).

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
    return load(path, kind="trace", format=format, **options)


def load_scan(path, *, format: str | None = None, **options):
    """Read an SECCM scan as an :mod:`nbtools.seccm` Dataset (one pixel per landing).

    ``.tdms`` (WEC-SPM), a folder of per-landing text files, a column file
    (``grid=(ny, nx)`` required) or a NetCDF file written by
    :func:`nbtools.seccm.save`; recognised by content, then extension. The
    same as :func:`nbtools.seccm.load`.

    Parameters
    ----------
    path : str or os.PathLike
        File or folder, only read.
    format : {'seccm-tdms', 'seccm-folder', 'seccm-columns', 'seccm-netcdf'}, optional
    **options
        Options of the reader (:func:`~nbtools.io.seccm_tdms.read_wecspm_tdms`,
        :func:`~nbtools.io.seccm_text.read_folder`,
        :func:`~nbtools.io.seccm_text.read_columns`).

    Returns
    -------
    xarray.Dataset
    """
    return load(path, kind="scan", format=format, **options)


def load_curve(path, *, format: str | None = None, **options):
    """Read a voltammetry or potential-step curve as a DataFrame ``t`` (s), ``E`` (V), ``i`` (A).

    See :func:`nbtools.io.curve_csv.read`; ``attrs`` record the source, the
    columns and units found and the format.
    """
    return load(path, kind="curve", format=format, **options)
