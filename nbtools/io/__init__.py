"""Readers: every instrument file becomes a :class:`nbtools.Trace` in amperes and seconds.

Public API
----------
load_trace(path, *, format=None, **options)
    Read a current-time recording; the format is sniffed from content, then extension.
sniff_format(path)
    Name of the format load_trace would choose.
FORMATS
    Read-only mapping ``name -> ReaderInfo`` of the supported formats.
list_formats()
    The same as a pandas DataFrame (name, description, extensions, options).
register_reader(info)
    Add a plug-in format.
"""

from ._load import load_trace, sniff_format
from ._registry import FORMATS, ReaderInfo, list_formats, register_reader

__all__ = ["load_trace", "sniff_format", "FORMATS", "ReaderInfo", "list_formats", "register_reader"]
