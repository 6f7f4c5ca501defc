"""Studies: one recipe over many recordings and scans, on Dask, resumable, with statistics and a report.

Public API
----------
run(recipe, inputs, *, out, scheduler=None, workers=None, ...) -> Study
    Apply a recipe saved by a dashboard (or written by hand) to files,
    folders or glob patterns; also ``nbtools.batch.run`` and the
    ``nbtools batch`` command.
Study
    The result: ``files`` (one row per file), ``population`` (one row per
    event or particle), ``statistics``, ``manifest``; ``Study.open(out)``
    reads a study folder back, ``study.tables(file)`` the tables of one file,
    ``study.recipe_for(file)`` the recipe that reproduces them.
bootstrap_ci, describe_groups, compare_groups, proportional_fit, loglog_slope, grouped_histogram
    The statistics (:mod:`nbtools.study.statistics`).
find_units, condition_table, fingerprint
    Inputs, labels and fingerprints (what ``run`` uses).
"""

from .._lazy import lazy_module

_WHERE = {"run": "study", "Study": "study", "bootstrap_ci": "statistics", "describe_groups": "statistics",
          "compare_groups": "statistics", "proportional_fit": "statistics", "loglog_slope": "statistics", "grouped_histogram": "statistics",
          "find_units": "inputs", "condition_table": "conditions", "fingerprint": "inputs"}

# names load on first use: a rerun with nothing to do does not import scipy.stats or Bokeh
__getattr__, __dir__, __all__ = lazy_module(__name__, _WHERE)
