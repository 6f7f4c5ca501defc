"""Correlative overlay: register a microscope image (SEM, optical) onto a scan.

Pure NumPy functions, no widget:

- :func:`load_image` reads a PNG/TIFF/JPEG into an RGBA ``uint8`` array
  (16-bit and float greyscale images are stretched to 8 bits).
- :func:`fit_affine` fits the affine map from image pixel coordinates to scan
  coordinates (m) through three or more control points (least squares) and
  reports the residual, so the user sees how well the points agree.
- :func:`apply_affine` maps points with it; :func:`warp_to_grid` resamples the
  image onto a regular grid in scan coordinates (for drawing under or over a
  map), transparent outside the image.

Image coordinates are ``(column, row)`` in pixels, the origin at the centre of
the top-left pixel, rows counted downwards (as image viewers show them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import DataError, FormatError, ParameterError

__all__ = ["load_image", "fit_affine", "apply_affine", "warp_to_grid", "Affine"]

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp")


def _to_uint8(a):
    """Stretch a numeric image to 0..255 (0.5-99.5 percentiles when not 8-bit)."""
    if a.dtype == np.uint8:
        return a
    a = a.astype(np.float64)
    fin = np.isfinite(a)
    if not fin.any():
        raise DataError("image: no finite pixel value")
    lo, hi = np.percentile(a[fin], [0.5, 99.5])
    if not hi > lo:
        lo, hi = float(a[fin].min()), float(a[fin].max()) + 1e-12
    out = np.clip((np.nan_to_num(a, nan=lo) - lo) / (hi - lo), 0, 1) * 255
    return out.round().astype(np.uint8)


def load_image(path):
    """Read an image file into an RGBA array.

    Parameters
    ----------
    path : str or pathlib.Path
        PNG, TIFF (8/16-bit, greyscale or colour; the first page of a stack),
        JPEG or BMP.

    Returns
    -------
    numpy.ndarray
        ``(rows, columns, 4)`` ``uint8``, row 0 at the top of the image.

    Raises
    ------
    FormatError
        Missing file, a file Pillow cannot read, or an empty image.
    """
    import warnings

    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    if not p.is_file():
        raise FormatError(f"{p}: no such image file; give the path of a PNG or TIFF image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's notes on odd metadata: the pixels are what matter
            im = Image.open(p)
            with im:
                im.seek(0)
                if im.mode in ("RGB", "RGBA", "L", "LA", "P", "CMYK", "1"):
                    arr = np.asarray(im.convert("RGBA"))
                else:  # I;16, I, F: numeric greyscale
                    g = _to_uint8(np.asarray(im))
                    if g.ndim == 3:
                        g = g[..., 0]
                    arr = np.dstack([g, g, g, np.full_like(g, 255)])
    except UnidentifiedImageError:
        raise FormatError(
            f"{p}: not an image Pillow can read (expected PNG, TIFF, JPEG or BMP; "
            f"found {p.suffix or 'no extension'})"
        ) from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise FormatError(f"{p}: the image could not be read ({exc}); is the file complete?") from None
    if arr.ndim != 3 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise FormatError(f"{p}: empty image (shape {arr.shape})")
    return np.ascontiguousarray(arr, dtype=np.uint8)


class Affine:
    """An affine map ``dst = A @ src + b`` with its fit residuals.

    Attributes
    ----------
    matrix : numpy.ndarray
        3 x 3 homogeneous matrix (last row ``0, 0, 1``).
    rms : float
        Root-mean-square distance between the mapped control points and their
        targets, in destination units (m); 0 for exactly three points.
    residuals : numpy.ndarray
        Distance per control point (destination units).
    """

    def __init__(self, matrix, residuals=None):
        self.matrix = np.asarray(matrix, dtype=np.float64)
        self.residuals = np.zeros(0) if residuals is None else np.asarray(residuals, dtype=np.float64)
        self.rms = float(np.sqrt(np.mean(self.residuals**2))) if self.residuals.size else 0.0

    def __call__(self, points):
        return apply_affine(self, points)

    def inverse(self):
        """The inverse map (destination -> source)."""
        return Affine(np.linalg.inv(self.matrix))

    def __repr__(self):
        return f"Affine(matrix={self.matrix[:2].round(12).tolist()}, rms={self.rms:.3g})"


def _points(a, name):
    try:
        p = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}: expected numbers as (n, 2) pairs") from None
    if p.ndim != 2 or p.shape[1] != 2:
        raise ParameterError(f"{name}: expected an (n, 2) array of (x, y) pairs, found shape {p.shape}")
    if not np.isfinite(p).all():
        raise ParameterError(f"{name}: control points must be finite numbers (NaN or Inf found)")
    return p


def fit_affine(src_points, dst_points):
    """Affine map from ``src_points`` to ``dst_points`` (least squares).

    Parameters
    ----------
    src_points : array_like, (n, 2)
        Control points in the source frame, e.g. image ``(column, row)`` px.
    dst_points : array_like, (n, 2)
        The same points in the destination frame, e.g. scan ``(x, y)`` in m.
        At least three, not all on one line.

    Returns
    -------
    Affine
        Callable on (n, 2) points; ``.rms`` tells how well the points agree.

    Raises
    ------
    ParameterError
        Fewer than three points, unequal numbers, non-finite values, or points
        on one line (the map would be undetermined).

    Examples
    --------
    >>> a = fit_affine([[0, 0], [100, 0], [0, 100]], [[0, 0], [1e-5, 0], [0, -1e-5]])
    >>> a([[50, 50]]).round(9).tolist()
    [[5e-06, -5e-06]]
    """
    src, dst = _points(src_points, "src_points"), _points(dst_points, "dst_points")
    if len(src) != len(dst):
        raise ParameterError(
            f"src_points has {len(src)} points but dst_points has {len(dst)}: give each control point in both frames"
        )
    if len(src) < 3:
        raise ParameterError(
            f"{len(src)} control point(s) given: an affine registration needs at least 3 "
            "(not on one line); add points seen in both the image and the map"
        )
    X = np.column_stack([src, np.ones(len(src))])
    scale = np.ptp(src, axis=0).max() or 1.0
    Xn = np.column_stack([(src - src.mean(0)) / scale, np.ones(len(src))])
    if np.linalg.matrix_rank(Xn, tol=1e-6) < 3:
        raise ParameterError(
            "the control points lie on one line in the image: the affine map is undetermined; "
            "choose at least three points that form a triangle"
        )
    sol, *_ = np.linalg.lstsq(X, dst, rcond=None)  # (3, 2)
    M = np.eye(3)
    M[:2, :] = sol.T
    if abs(np.linalg.det(M[:2, :2])) == 0 or np.linalg.matrix_rank(
        (dst - dst.mean(0)) / (np.ptp(dst, axis=0).max() or 1.0), tol=1e-6
    ) < 2:
        raise ParameterError(
            "the control points lie on one line on the map: the affine map would be singular; "
            "choose at least three points that form a triangle"
        )
    res = np.hypot(*(X @ sol - dst).T)
    return Affine(M, res)


def apply_affine(affine, points):
    """Map (n, 2) points with an :class:`Affine` (or a 3 x 3 / 2 x 3 matrix)."""
    M = affine.matrix if isinstance(affine, Affine) else np.asarray(affine, dtype=np.float64)
    p = _points(points, "points")
    return p @ M[:2, :2].T + M[:2, 2]


def warp_to_grid(image, affine, x, y):
    """Resample an image onto a regular grid of scan coordinates.

    Parameters
    ----------
    image : numpy.ndarray
        ``(rows, columns, 4)`` RGBA from :func:`load_image`.
    affine : Affine
        Image ``(column, row)`` -> scan ``(x, y)``, from :func:`fit_affine`.
    x, y : array_like
        1-D ascending coordinates (m) of the output columns and rows.

    Returns
    -------
    numpy.ndarray
        ``(len(y), len(x), 4)`` uint8, row ``i`` at ``y[i]`` (nearest
        neighbour); fully transparent where the image does not reach.
    """
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 4:
        raise ParameterError(f"image: expected an (rows, columns, 4) RGBA array, found shape {img.shape}")
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    inv = np.linalg.inv(affine.matrix if isinstance(affine, Affine) else np.asarray(affine))
    X, Y = np.meshgrid(x, y)
    col = inv[0, 0] * X + inv[0, 1] * Y + inv[0, 2]
    row = inv[1, 0] * X + inv[1, 1] * Y + inv[1, 2]
    ci, ri = np.rint(col).astype(np.int64), np.rint(row).astype(np.int64)
    inside = (ci >= 0) & (ci < img.shape[1]) & (ri >= 0) & (ri < img.shape[0])
    out = np.zeros((len(y), len(x), 4), dtype=np.uint8)
    out[inside] = img[ri[inside], ci[inside]]
    return out
