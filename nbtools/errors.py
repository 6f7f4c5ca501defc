"""Exceptions and warnings raised by nbtools.

Every error names the file or argument, what was expected and what was found,
so that a dashboard can show the message to the user as it is.

Hierarchy::

    NbtoolsError
    ├── MissingFileError (also FileNotFoundError) an input path does not exist
    ├── FormatError      (also ValueError)  a file is not in the expected format
    ├── UnitsError       (also ValueError)  a unit is unknown or inconsistent
    ├── DataError        (also ValueError)  empty, constant, NaN/Inf or too-short data
    │   └── SizeLimitError                  a file declares or needs more memory than the load budget
    ├── ParameterError   (also ValueError)  a bad argument value
    │   └── PathRefusedError                a path outside a workshop's data folder, an upload too big
    ├── MaterialError    (also LookupError) a material not in the table
    └── FitError         (also RuntimeError) a fit that cannot run or failed
    NbtoolsWarning       (UserWarning)      something the user should know
"""

from __future__ import annotations

__all__ = [
    "NbtoolsError",
    "MissingFileError",
    "FormatError",
    "UnitsError",
    "DataError",
    "SizeLimitError",
    "ParameterError",
    "PathRefusedError",
    "MaterialError",
    "FitError",
    "NbtoolsWarning",
]


class NbtoolsError(Exception):
    """Base class of every error raised on purpose by nbtools."""


class MissingFileError(NbtoolsError, FileNotFoundError):
    """An input path does not exist or is not a file."""


class FormatError(NbtoolsError, ValueError):
    """A file is not in the format its reader expects (or no reader fits)."""


class UnitsError(NbtoolsError, ValueError):
    """A unit string is unknown, or units are inconsistent."""


class DataError(NbtoolsError, ValueError):
    """The data cannot be analysed: empty, constant, NaN/Inf, or too short."""


class SizeLimitError(DataError):
    """A file declares more data than it holds, or more than the memory budget allows.

    The budget is ``NBTOOLS_MAX_LOAD_BYTES`` (bytes; default a quarter of the
    machine's memory); the message says how to proceed (crop, memory-map, raise
    the budget).
    """


class ParameterError(NbtoolsError, ValueError):
    """An argument has a value outside what the function accepts."""


class PathRefusedError(ParameterError):
    """A typed path leads outside the data folder of a workshop server, or an upload is over its limit.

    The message names the file as the user typed it, never the server's folders
    (see :mod:`nbtools.safety`).
    """


class MaterialError(NbtoolsError, LookupError):
    """A material name is not in :mod:`nbtools.materials`."""


class FitError(NbtoolsError, RuntimeError):
    """A fit could not be set up or did not converge."""


class NbtoolsWarning(UserWarning):
    """A result is usable but the user should know something about it."""
