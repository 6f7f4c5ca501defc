"""Correlative overlay: register an SEM/optical image to an SECCM map.

Pure functions: load the image, fit an affine transform from three or more
control points (image pixel -> map metres), resample the image on the map
grid, and select map pixels inside a polygon drawn on the image or the map.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from ..errors import DataError, FormatError, ParameterError

__all__ = ["Registration", "load_image", "register_image", "warp_to_map", "pixels_in_polygon"]


def load_image(path):
    """Read a PNG/TIFF/JPEG image as a NumPy array (rows, cols[, channels]).

    Raises
    ------
    FormatError
        Missing file or content Pillow cannot decode (the message says which).
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("I;16", "I;16B", "I", "F"):
                arr = np.asarray(im, dtype=np.float64)
            else:
                arr = np.asarray(im.convert("RGBA" if "A" in im.getbands() else "RGB"))
    except FileNotFoundError:
        raise FormatError(f"{path}: image file not found") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise FormatError(f"{path}: cannot read the image (expected PNG, TIFF or JPEG): {exc}") from None
    if arr.size == 0:
        raise FormatError(f"{path}: the image is empty")
    return arr


def _points(p, name):
    a = np.asarray(p, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != 2:
        raise ParameterError(f"{name}: expected an (n, 2) array of (x, y) points, found shape {a.shape}")
    if not np.isfinite(a).all():
        raise ParameterError(f"{name}: points must be finite numbers")
    return a


@dataclass(frozen=True)
class Registration:
    """Affine transform from image pixels (col, row) to map coordinates (x, y in m).

    ``matrix`` is 3 x 3 so that ``[x, y, 1] = matrix @ [col, row, 1]``;
    ``residuals`` (m) are the distances between each map control point and
    its transformed image point, ``rms`` their root mean square (a measure of
    how far to trust the overlay).
    """

    matrix: np.ndarray
    residuals: np.ndarray = field(repr=False)
    rms: float
    image_shape: tuple

    def to_map(self, points):
        """Image points (col, row) -> map points (x, y) in metres."""
        p = _points(points, "points")
        return p @ self.matrix[:2, :2].T + self.matrix[:2, 2]

    def to_image(self, points):
        """Map points (x, y) in metres -> image points (col, row)."""
        p = _points(points, "points")
        inv = np.linalg.inv(self.matrix)
        return p @ inv[:2, :2].T + inv[:2, 2]


def register_image(image, control_points_image, control_points_map):
    """Fit the affine transform that puts an image on the map.

    Parameters
    ----------
    image : array_like
        The image (rows, cols[, channels]); its shape checks the points.
    control_points_image : (n, 2) array_like
        Feature positions in the image as (col, row) pixels, n >= 3.
    control_points_map : (n, 2) array_like
        The same features on the map as (x, y) in metres.

    Returns
    -------
    Registration
        Least-squares affine transform with residuals (exact for 3 points).

    Raises
    ------
    ParameterError
        Fewer than 3 pairs, different numbers of points, collinear points,
        image points outside the image.
    """
    img = np.asarray(image)
    if img.ndim not in (2, 3) or img.shape[0] < 1 or img.shape[1] < 1:
        raise DataError(f"image: expected a 2-D (rows, cols) or 3-D (rows, cols, channels) array, found {img.shape}")
    pi = _points(control_points_image, "control_points_image")
    pm = _points(control_points_map, "control_points_map")
    if len(pi) != len(pm):
        raise ParameterError(
            f"control points: {len(pi)} in the image but {len(pm)} on the map; give the same features in both"
        )
    if len(pi) < 3:
        raise ParameterError(
            f"control points: {len(pi)} pair(s) given; an affine registration needs at least 3 "
            "non-collinear points"
        )
    rows, cols = img.shape[:2]
    out = (pi[:, 0] < -0.5) | (pi[:, 0] > cols - 0.5) | (pi[:, 1] < -0.5) | (pi[:, 1] > rows - 0.5)
    if out.any():
        raise ParameterError(
            f"control_points_image: point(s) {np.flatnonzero(out).tolist()} lie outside the {cols} x {rows} image"
        )
    for pts, name in ((pi, "control_points_image"), (pm, "control_points_map")):
        c = pts - pts.mean(axis=0)
        s = np.linalg.svd(c, compute_uv=False)
        if s[0] == 0 or s[-1] / s[0] < 1e-6:
            raise ParameterError(f"{name}: the points are collinear (or coincide); choose 3 or more points "
                                 "that span an area")
    A = np.column_stack([pi, np.ones(len(pi))])
    coef, *_ = np.linalg.lstsq(A, pm, rcond=None)  # (3, 2)
    M = np.eye(3)
    M[:2, :2] = coef[:2].T
    M[:2, 2] = coef[2]
    res = np.hypot(*(A @ coef - pm).T)
    return Registration(matrix=M, residuals=res, rms=float(np.sqrt(np.mean(res**2))), image_shape=tuple(img.shape))


def warp_to_map(image, registration, x, y):
    """Resample the image at map coordinates (nearest pixel).

    Parameters
    ----------
    image : array_like
        (rows, cols[, channels]).
    registration : Registration
    x, y : 1-D array_like
        Map axes in metres (e.g. a finer grid than the scan for display).

    Returns
    -------
    xarray.DataArray
        Dims ('y', 'x'[, 'channel']); points outside the image are 0 with
        ``valid`` False in the coordinate ``inside`` (y, x).
    """
    img = np.asarray(image)
    xx, yy = np.meshgrid(np.asarray(x, float), np.asarray(y, float))
    ij = registration.to_image(np.column_stack([xx.ravel(), yy.ravel()]))
    col = np.rint(ij[:, 0]).astype(np.int64)
    row = np.rint(ij[:, 1]).astype(np.int64)
    inside = (col >= 0) & (col < img.shape[1]) & (row >= 0) & (row < img.shape[0])
    vals = np.zeros((col.size,) + img.shape[2:], dtype=img.dtype)
    vals[inside] = img[row[inside], col[inside]]
    dims = ("y", "x") + (("channel",) if img.ndim == 3 else ())
    return xr.DataArray(
        vals.reshape(xx.shape + img.shape[2:]),
        dims=dims,
        coords={"y": np.asarray(y, float), "x": np.asarray(x, float), "inside": (("y", "x"), inside.reshape(xx.shape))},
        attrs={"registration_rms_m": registration.rms},
        name="image",
    )


def pixels_in_polygon(ds, polygon, *, registration=None):
    """Pixels of an SECCM scan inside a polygon.

    Parameters
    ----------
    ds : xarray.Dataset
        SECCM Dataset (uses ``x``, ``y`` of each pixel, m).
    polygon : (n, 2) array_like
        Vertices (x, y) in metres, or (col, row) image pixels when
        ``registration`` is given (a shape drawn on the image).
    registration : Registration, optional

    Returns
    -------
    xarray.DataArray
        Boolean per pixel (dim ``pixel``).
    """
    poly = _points(polygon, "polygon")
    if len(poly) < 3:
        raise ParameterError(f"polygon: {len(poly)} vertices; at least 3 are needed")
    if registration is not None:
        poly = registration.to_map(poly)
    px, py = ds.x.values, ds.y.values
    inside = np.zeros(px.shape, bool)
    xj, yj = poly[-1]
    for xi, yi in poly:  # loop over vertices (few), vectorised over pixels
        cross = ((yi > py) != (yj > py)) & (px < (xj - xi) * (py - yi) / np.where(yj != yi, yj - yi, np.inf) + xi)
        inside ^= cross
        xj, yj = xi, yi
    return xr.DataArray(inside, dims="pixel", coords={"pixel": ds.pixel, "ix": ds.ix, "iy": ds.iy}, name="selected")
