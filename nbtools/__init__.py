"""nbtools: analysis and dashboards for single-entity (nano)electrochemistry.

Public API
----------
Trace
    A current-time recording (:class:`nbtools.trace.Trace`).
io
    Readers: :func:`nbtools.io.load_trace`.
impact, seccm, kinetics, materials, simulate, widgets, errors
    Submodules, imported on first use.
"""

from importlib import import_module

from .errors import NbtoolsError
from .trace import Trace

__version__ = "0.1.0"
__all__ = [
    "Trace",
    "NbtoolsError",
    "io",
    "impact",
    "seccm",
    "kinetics",
    "materials",
    "simulate",
    "widgets",
    "errors",
]

_LAZY = {"io", "impact", "seccm", "kinetics", "materials", "simulate", "widgets", "batch", "stick", "units", "plotting", "dashboards"}


def __getattr__(name):
    if name in _LAZY:
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module 'nbtools' has no attribute {name!r}")
