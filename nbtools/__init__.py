"""nbtools: analysis and dashboards for single-entity (nano)electrochemistry.

Public API
----------
Trace
    A current-time recording (:class:`nbtools.trace.Trace`).
io
    Readers: :func:`nbtools.io.load_trace`.
impact
    Nanoimpact: :func:`nbtools.impact.find_events`, sizing, frequency, false-event rate.
seccm
    SECCM scans as xarray Datasets: readers, maps, quality labels, classify, per-pixel fits.
recipes
    The parameters of each analysis as frozen, validated, JSON-serialisable objects.
kinetics, batch, stick
    lmfit kinetic models (``kinetics.MODELS``), parallel batch fits, the particle-on-a-stick workflow.
gitt, bpx
    GITT pulse records (segment, Weppner-Huggins and spherical-diffusion D, OCV, D vs SOC);
    single-particle parameters as a Battery Parameter eXchange (BPX) set and a plain table.
materials, simulate, units, plotting, dashboards, widgets, errors
    Materials table, synthetic data with known answers, unit strings, plot helpers,
    the dashboards' index, ipywidgets, the exception hierarchy.

Submodules are imported on first use, so ``import nbtools`` stays light.
"""

from ._lazy import lazy_module
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
    "batch",
    "stick",
    "units",
    "plotting",
    "dashboards",
    "recipes",
    "gitt",
    "bpx",
]

_LAZY = {"io", "impact", "seccm", "kinetics", "materials", "simulate", "widgets", "batch", "stick", "units", "plotting", "dashboards", "recipes",
         "gitt", "bpx"}

# submodules load on first access (no __dir__: dir(nbtools) stays the default)
__getattr__ = lazy_module(__name__, submodules=_LAZY)[0]
