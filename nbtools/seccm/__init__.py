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

Public API
----------
load, save, from_arrays, to_grid, from_grid
current_at, charge, peak, onset, peak_separation
quality, label_landings, classify, group_stats, summary
fit_pixels (per-pixel kinetic fits through nbtools.batch.fit_many -> parameter and error maps),
pixel_curve, CouplesCVModel (Laviron couples + double-layer charging over a whole cycle)
read_wecspm_tdms, read_folder, read_columns
load_image, register_image, Registration, warp_to_map, pixels_in_polygon (overlay)
STATUS_VALUES
"""

from .classify import classify, otsu_threshold
from .dataset import STATUS_VALUES, from_arrays, from_grid, good_pixels, to_grid
from .cv_model import CouplesCVModel
from .fitting import fit_pixels, pixel_curve
from .maps import charge, current_at, onset, peak, peak_separation
from .overlay import Registration, load_image, pixels_in_polygon, register_image, warp_to_map
from .quality import label_landings, quality
from .readers import load, read_columns, read_folder, read_wecspm_tdms, save
from .stats import group_stats, pixel_mask, summary

__all__ = [
    "STATUS_VALUES",
    "load",
    "save",
    "from_arrays",
    "to_grid",
    "from_grid",
    "good_pixels",
    "current_at",
    "charge",
    "peak",
    "onset",
    "peak_separation",
    "quality",
    "label_landings",
    "classify",
    "otsu_threshold",
    "group_stats",
    "summary",
    "pixel_mask",
    "read_wecspm_tdms",
    "read_folder",
    "read_columns",
    "fit_pixels",
    "pixel_curve",
    "CouplesCVModel",
    "load_image",
    "register_image",
    "Registration",
    "warp_to_map",
    "pixels_in_polygon",
]
