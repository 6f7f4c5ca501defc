"""SECCM (scanning electrochemical cell microscopy) scans: load, map, classify.

Dataset layout
--------------
Every reader and :func:`from_arrays` return one ``xarray.Dataset`` layout,
one *pixel* per landing, in acquisition order:

dims
    ``pixel`` (landings), ``sample`` (points of each landing's curve).
coords (per pixel)
    ``pixel`` (0..n-1), ``x``, ``y`` (landing position, m), ``ix``, ``iy``
    (column and row on the scan grid, int).
data variables
    ``current`` (pixel, sample), A, anodic positive (IUPAC).
    ``potential`` (pixel, sample) or (sample,) when every landing used the same
    waveform, V vs ``attrs['reference_electrode']``.
    ``time`` (pixel, sample) or (sample,), s since the landing started
    (optional: needed for charges).
    Curves of unequal length are padded with NaN; ``n_samples`` (pixel, int)
    keeps the true length.
    ``status`` (pixel, str): one of ``'landed'``, ``'failed_landing'``,
    ``'no_contact'``, ``'saturated'``, ``'noisy'``, ``'empty'``
    (see :func:`quality`); ``noise`` (pixel, A) when labelled.
    Readers may add per-sample ``segment`` and ``line_number`` (pixel,
    sample; programme step within the landing and the instrument's line
    number, NaN-padded) and per-pixel ``t_start`` (s), ``z`` (m).
attrs
    ``source``, ``reference_electrode``, ``current_sign``, ``grid_shape``
    (ny, nx), ``grid_x``/``grid_y`` (grid axes, m), ``units_found_*`` (units
    as written in the source), scan parameters (``scan_rate``, ``dt``...).

Maps are DataArrays on the grid, dims ``('y', 'x')`` with ``x``, ``y`` in m
and ``units`` in attrs: :func:`to_grid` places any per-pixel variable,
:func:`from_grid` reads a map back per pixel.

Recipes and results
-------------------
Every analysis takes the scan and a recipe (:mod:`nbtools.seccm.recipe`) or
its settings as keywords, and its result carries the recipe in
``attrs['recipe']``: ``make_map(ds, m.attrs['recipe'])`` reproduces map ``m``,
``classify(ds, mask.attrs['recipe'])`` the mask, ``fit_pixels(ds,
fits.attrs['recipe'])`` the fits. ``window`` (V) is keyword-only everywhere.

Public API
----------
load, save, from_arrays, to_grid, from_grid, good_pixels
MAPS, make_map, current_at, charge, peak, onset, peak_separation, status_map
quality, label_landings, mark_pixels, classify, group_stats, group_summary, summary, export_groups
fit_pixels, pixel_models, fit_summary, fit_failures, pixel_curve, pixel_fit_curve,
fit_quality, fit_status_text, not_determined_counts, compare_fits, comparison_summary, comparison_text,
fit_steps, step_info, particle_regions, particle_table, polygon_radii (potential-step / PITT scans: tau and D maps),
current_density, footprint_area (current per meniscus footprint),
CouplesCVModel (Laviron couples + double-layer charging over a whole cycle)
MapRecipe, QualityRecipe, ClassifyRecipe, PixelFitRecipe, AnalysisRecipe, StepFitRecipe
read_wecspm_tdms, read_folder, read_columns
load_image, register_image, Registration, warp_to_map, pixels_in_polygon (overlay)
STATUS_VALUES
"""

from .classify import classify, otsu_threshold
from .cv_model import CouplesCVModel
from .dataset import from_arrays
from .export import export_groups
from .fit_report import (compare_fits, comparison_summary, comparison_text, fit_failures, fit_quality,
                         fit_status_text, fit_summary, not_determined_counts)
from .fitting import fit_pixels, pixel_curve, pixel_fit_curve
from .layout import STATUS_VALUES, from_grid, good_pixels, to_grid
from .maps import charge, current_at, current_density, footprint_area, onset, peak, peak_separation, status_map
from .overlay import Registration, load_image, pixels_in_polygon, register_image, warp_to_map
from .pixel_models import pixel_models
from .quality import label_landings, mark_pixels, quality
from .readers import load, read_columns, read_folder, read_wecspm_tdms, save
from .recipe import AnalysisRecipe, ClassifyRecipe, MapRecipe, PixelFitRecipe, QualityRecipe, StepFitRecipe
from .registry import MAPS, make_map
from .stats import group_stats, group_summary, pixel_mask, summary
from .steps import fit_steps, particle_regions, particle_table, polygon_radii, step_info

__all__ = [
    "STATUS_VALUES",
    "load",
    "save",
    "from_arrays",
    "to_grid",
    "from_grid",
    "good_pixels",
    "MAPS",
    "make_map",
    "current_at",
    "charge",
    "peak",
    "onset",
    "peak_separation",
    "status_map",
    "quality",
    "label_landings",
    "mark_pixels",
    "classify",
    "otsu_threshold",
    "group_stats",
    "group_summary",
    "summary",
    "pixel_mask",
    "export_groups",
    "read_wecspm_tdms",
    "read_folder",
    "read_columns",
    "fit_pixels",
    "pixel_fit_curve",
    "fit_quality",
    "fit_status_text",
    "not_determined_counts",
    "compare_fits",
    "comparison_summary",
    "comparison_text",
    "pixel_models",
    "fit_summary",
    "fit_failures",
    "pixel_curve",
    "CouplesCVModel",
    "MapRecipe",
    "QualityRecipe",
    "ClassifyRecipe",
    "PixelFitRecipe",
    "AnalysisRecipe",
    "load_image",
    "register_image",
    "Registration",
    "warp_to_map",
    "pixels_in_polygon",
    "current_density",
    "footprint_area",
    "fit_steps",
    "step_info",
    "particle_regions",
    "particle_table",
    "polygon_radii",
    "StepFitRecipe",
]
